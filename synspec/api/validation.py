"""`Spec.validate`: a table checked against a spec, as a `ValidationReport`.

Owns turning `synspec.validate`'s report (the figures `synspec validate --format json` prints)
into an object: `.ok`, `.counts` (one row per check), `.failure_cases()` (one row per (row,
check) failure, as pandera's `failure_cases`) and `.to_dict()`. Files (and tables of a
`connect`ed database) go to the engine `synspec.validation_engines` picks (pandas chunks, DuckDB
or Spark, with identical figures); a DataFrame is checked in one chunk by the pandas path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, cast

from synspec import validate as _validate

if TYPE_CHECKING:
    import pandas as pd

    from synspec.api.spec import Spec

__all__ = ["ValidationReport", "validate"]

_COUNT_COLUMNS = ("check", "kind", "severity", "columns", "applicable", "failed", "passed",
                  "failed_share", "observed_share", "mostly", "ok")
_CASE_COLUMNS = ("row", "check", "kind", "severity", "columns", "values")


class ValidationReport:
    """What `synspec validate` reports, for Python: figures per check and every failure."""

    def __init__(self, report: dict[str, Any], failures: list[tuple[Any, ...]] | None) -> None:
        self._report = report
        self._failures = failures

    @property
    def ok(self) -> bool:
        """No hard check fails and every soft expectation meets its declared share."""
        return bool(self._report["ok"])

    @property
    def rows(self) -> int:
        return int(self._report["rows"])

    @property
    def rows_passing(self) -> int:
        """Rows that pass every hard check."""
        return int(self._report["rows_passing_hard_checks"])

    @property
    def counts(self) -> pd.DataFrame:
        """One row per check (column constraints, then rules): how many rows it applies to,
        fail and pass, the shares, the declared `mostly` of a soft rule, and whether it holds."""
        rows = [{"check": c["name"], **{k: c[k] for k in _COUNT_COLUMNS[1:]}} for c in self._report["checks"]]
        for row in rows:
            row["columns"] = ";".join(row["columns"])
        import pandas as pd

        return pd.DataFrame(rows, columns=list(_COUNT_COLUMNS))

    def failure_cases(self) -> pd.DataFrame:
        """One row per (row, check) failure: row (the DataFrame's index label, or the data row
        counted from 1 in a file), check, kind, severity, columns (`;`-joined) and values
        (`column=value; ...` as written, `(missing)` for a missing cell)."""
        if self._failures is None:
            raise ValueError("failures were not kept: validate with keep_failures=True")
        import pandas as pd

        return pd.DataFrame(self._failures, columns=list(_CASE_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """Every figure, as `synspec validate --format json` prints it."""
        return self._report

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else "failed"
        return (f"<ValidationReport {verdict}: {self.rows} rows, {self.rows_passing} pass every hard check, "
                f"{len(self._report['summary']['hard_failures'])} hard checks fail>")


def validate(spec: Spec, table: pd.DataFrame | str | os.PathLike[str], *, max_examples: int = 5,
             chunk_rows: int = _validate.DEFAULT_CHUNK_ROWS, violations: str | os.PathLike[str] | None = None,
             keep_failures: bool = True, on_rows: Any = None, stats: str | None = None,
             engine: str = "auto", connect: str | None = None) -> ValidationReport:
    """See `Spec.validate`; `on_rows(n)` is called after each chunk of n rows.

    `stats="fail"` (or `"warn"`) also compares every declared statistic with the table
    (`synspec.drift`): the report gains a `"stats"` entry, and with `"fail"` a drifted statistic
    makes the report not ok."""
    from synspec.files import require_output
    from synspec.validation_engines import validate_with

    kept: list[tuple[Any, ...]] | None = [] if keep_failures else None
    out = Path(violations) if violations is not None else None
    if out is not None:  # overwritten, as pandas' to_csv would; never the table being read
        inputs = () if _is_frame(table) or connect is not None else (Path(_path_of(table)),)
        require_output(out, "violations file", force=True, flag="violations", inputs=inputs)
    if _is_frame(table):
        if engine not in ("auto", "pandas"):
            from synspec.errors import UserError

            raise UserError(f"a DataFrame is validated by the pandas engine, not {engine}",
                            hint="write the table to Parquet and pass its path, or use engine='pandas'")
        from synspec.api.frames import to_cells

        index = table.index
        collect = None if kept is None else _collector(kept, lambda row: index[row - 1])
        cells = to_cells(spec._ir, table)
        report = _validate.validate_chunks([cells], spec._ir, label="DataFrame", csv_lines=False,
                                           max_examples=max_examples, violations=out, on_rows=on_rows,
                                           on_failures=collect)
    else:
        collect = None if kept is None else _collector(kept, lambda row: row)
        report = validate_with(engine, _path_of(table), spec._ir, connect=connect, max_examples=max_examples,
                               chunk_rows=chunk_rows, violations=out, on_rows=on_rows, on_failures=collect)
    if stats is not None:
        report = _with_drift(report, spec, table, cells if _is_frame(table) else None,
                             chunk_rows, stats, connect)
    return ValidationReport(report, kept)


STATS_MODES = ("fail", "warn")


def _is_frame(table: object) -> TypeGuard[pd.DataFrame]:
    """`table` is a pandas DataFrame, asked without importing pandas (a path needs no pandas:
    the SQL engines never load it, 0.22 s of each run): no frame exists before pandas is loaded."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(table, pandas.DataFrame)


def _path_of(table: object) -> str:
    """A table that is not a DataFrame, as the path (or table name) it is."""
    return os.fspath(cast("str | os.PathLike[str]", table))


def _with_drift(report: dict[str, Any], spec: Spec, table: Any, cells: pd.DataFrame | None, chunk_rows: int,
                mode: str, connect: str | None = None) -> dict[str, Any]:
    """The report with the drift of every declared statistic under "stats" (a separate pass over
    the table's files in bounded chunks, so it works whichever engine checked the rows)."""
    from synspec.drift import drift_chunks
    from synspec.errors import UserError
    from synspec.validation_engines.pandas_engine import raw_chunks
    from synspec.validation_engines.sources import resolve

    if mode not in STATS_MODES:
        raise UserError(f"--stats takes fail or warn, not {mode!r}", where="--stats",
                        hint="--stats (drift is a finding) or --stats warn (drift is reported only)")
    if cells is not None:
        chunks: Any = [cells]
    else:
        source = resolve(os.fspath(table), spec._ir, tables=connect is not None)
        if source.kind == "table":
            raise UserError("--stats reads files: a table named with --connect is not measured",
                            where=source.label, hint="export the table to Parquet and validate that file "
                                                     "with --stats, or drop --stats")
        chunks = raw_chunks(source.paths, spec._ir, chunk_rows)
    drift = drift_chunks(chunks, spec._ir, spec.text)
    drift["mode"] = mode
    out = {**report, "stats": drift}
    if mode == "fail" and not drift["ok"]:
        out["ok"] = False
    return out


def _collector(kept: list[tuple[Any, ...]], row_label: Any) -> Any:
    def collect(found: list[_validate.Failure]) -> None:
        kept.extend((row_label(row), check, kind, severity, columns, values)
                    for row, _line, check, kind, severity, columns, values in found)
    return collect
