"""`synspec.evaluate`: fidelity, clinical consistency, privacy and utility, from Python.

Owns reading the tables eval compares (DataFrames or CSV/Parquet paths, typed per the spec,
refusing cells that do not parse), the run manifest beside a synthetic file (its warnings are
kept on the result), the `fail_on` thresholds, and `EvaluationResult` (`.figures`, `.failed`,
`.to_json()`, `.to_html()`). The metrics are `synspec.evaluate.pipeline.evaluate`'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synspec.errors import UserError

if TYPE_CHECKING:
    from synspec import ir
    from synspec.api.spec import Spec
    from synspec.data import TypedTable
    from synspec.evaluate.result import EvalResult

__all__ = ["EvaluationResult", "evaluate"]

Table = pd.DataFrame | str | os.PathLike[str]


class EvaluationResult:
    """Every figure of one evaluation, for the synthetic table and a no-model baseline."""

    def __init__(self, spec: Spec, detail: EvalResult, warnings: list[str]) -> None:
        self._spec = spec
        self.detail = detail  # the full typed result (columns, pairs, privacy, utility, ...)
        self.warnings = warnings  # e.g. the synthetic file's manifest names another spec

    @property
    def figures(self) -> pd.DataFrame:
        """The headline figures: one row per figure, columns `synthetic` and `baseline`."""
        rows = {name: {"synthetic": pair.synthetic, "baseline": pair.baseline}
                for name, pair in self.detail.figures.items()}
        return pd.DataFrame.from_dict(rows, orient="index", columns=["synthetic", "baseline"])

    @property
    def verdict(self) -> list[dict[str, Any]]:
        """One entry per `fail_on` threshold: threshold, metric, value, failed."""
        return [v.model_dump() for v in self.detail.verdict]

    @property
    def failed(self) -> bool:
        """Whether a `fail_on` threshold failed (what makes `synspec eval` exit 1)."""
        return any(v.failed for v in self.detail.verdict)

    def to_json(self) -> str:
        """The JSON document `synspec eval --json` writes."""
        return self.detail.to_json()

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """The HTML report `synspec eval -o` writes; written (atomically) to `path` if given."""
        from synspec.atomic import write_text
        from synspec.evaluate import report

        html = report.to_html(self._spec._ir, self.detail)
        if path is not None:
            write_text(Path(path), html)
        return html

    def __repr__(self) -> str:
        return f"<EvaluationResult {self.detail.spec}: {len(self.detail.figures)} figures" \
               f"{', a threshold failed' if self.failed else ''}>"


def _table(spec: ir.Spec, table: Table, what: str) -> TypedTable:
    from synspec.api.frames import to_cells
    from synspec.data import require_parseable, to_typed
    from synspec.evaluate.tables import load_table
    from synspec.files import require_file

    if not isinstance(table, pd.DataFrame):
        return load_table(require_file(Path(table), f"{what} table"), spec, what)
    cells = to_cells(spec, table, f"the {what} DataFrame")
    if cells.empty:
        raise UserError(f"the {what} table has no rows", hint="eval needs at least a few rows in every table")
    typed = to_typed(cells, spec)
    require_parseable(typed, cells, spec, f"the {what} DataFrame", what)
    return typed


def evaluate(spec: Spec, *, real: Table, synthetic: Table, holdout: Table | None = None,
             holdout_frac: float = 0.2, seed: int = 0, fail_on: Iterable[str] = (),
             progress: Callable[[str], None] | None = None) -> EvaluationResult:
    """Evaluate `synthetic` against `real` (DataFrames or CSV/Parquet paths) beside a baseline.

    `holdout`: an explicit real holdout (then `real` is the train split), else `holdout_frac`
    of `real` is held out with `seed`. `fail_on`: thresholds such as `"exact_copy_rate>0"`,
    judged into `.verdict` / `.failed`. `progress(stage)` is called as each stage starts.
    With a synthetic file written by `synspec run` and a spec read from a file, the run's
    manifest is read as `synspec eval` does (prompt rows count towards the prompt-copy rate).
    """
    from synspec.evaluate import thresholds
    from synspec.evaluate.manifest_inputs import ManifestRead, read_manifest
    from synspec.evaluate.pipeline import evaluate as run_metrics
    from synspec.files import require_file

    gates = [thresholds.parse_threshold(text) for text in fail_on]
    if not 0 < holdout_frac < 1:
        raise UserError(f"--holdout-frac must be between 0 and 1 (exclusive), got {holdout_frac}",
                        where="--holdout-frac", hint="e.g. --holdout-frac 0.2")
    checked = spec._ir
    for table, what in ((real, "real"), (synthetic, "synthetic"), (holdout, "holdout")):
        if table is not None and not isinstance(table, pd.DataFrame):
            require_file(Path(table), f"{what} table")
    run = ManifestRead()
    if not isinstance(synthetic, pd.DataFrame) and spec.path is not None:
        run = read_manifest(Path(synthetic), checked, spec.path)
    real_table = _table(checked, real, "real")
    syn_table = _table(checked, synthetic, "synthetic")
    hold_table = _table(checked, holdout, "holdout") if holdout is not None else None
    if hold_table is None and len(real_table) < 10:
        raise UserError(f"the real table has {len(real_table)} rows; eval needs at least 10 to hold some out",
                        where=str(real) if not isinstance(real, pd.DataFrame) else None,
                        hint="pass a larger real table, or a holdout")
    result = run_metrics(checked, real_table, syn_table, holdout=hold_table, holdout_frac=holdout_frac,
                         seed=seed, prompt_examples=run.prompt_examples, manifest=run.record,
                         progress=progress)
    verdict = thresholds.judge(gates, result.synthetic_figures())
    return EvaluationResult(spec, result.model_copy(update={"verdict": verdict}), list(run.warnings))
