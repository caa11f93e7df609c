"""Evaluation of a synthetic table against the real one it imitates (`synspec eval`).

One module per job: `tables` (loading typed inputs), `split` (train/holdout), `encode`
(numeric matrices for models and distances), `fidelity`, `consistency`, `privacy`, `utility`,
`baseline` (the no-model comparison table), `thresholds` (`--fail-on`), `plots` and `report`
(HTML), and `pipeline`, which runs them all and returns one JSON-ready result.
"""
