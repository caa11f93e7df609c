"""Evaluation of a synthetic table against the real one it imitates (`synspec eval`).

One module per job: `tables` (loading typed inputs), `manifest_inputs` (what the run manifest
beside a synthetic table tells eval), `split` (train/holdout), `encode` (numeric matrices for
models and distances), `fidelity`, `boundary` (boundary excess, top values), `consistency`,
`privacy`, `utility`, `baseline` (the no-model comparison table), `thresholds` (`--fail-on`),
`result` (the typed `EvalResult`, the JSON document), `plots` and `report` (HTML), and
`pipeline`, which runs them all and returns one `EvalResult`.
"""
