"""Validating a table against a spec: every column constraint and rule, on every row.

Owns what `synspec validate` reports, so other front ends (a notebook, a CI script) get the
same figures: `validate_table` reads the table in chunks (memory stays bounded for files
larger than memory), runs the compiled checker on each chunk, adds the figures up
(`CheckTally`), optionally streams every (row, check) failure into a CSV, and returns the
report as plain data (`report["ok"]` says whether the table passes). Row numbers are data
rows counted from 1 (the first row under the header); for CSV files `line` is the file line
(row + 1, exact when no quoted field spans lines).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from synspec import data, ir
from synspec.atomic import AtomicWriter
from synspec.errors import UserError
from synspec.files import require_file
from synspec.targets.checker import CheckReport, CheckTally, compile_checker

if TYPE_CHECKING:
    import pandas as pd

# Columns of the violations CSV, one line per (row, check) failure.
VIOLATION_FIELDS = ("row", "line", "check", "kind", "severity", "columns", "values")
DEFAULT_CHUNK_ROWS = data.DEFAULT_CHUNK_ROWS


def validate_table(data_path: Path, spec: ir.Spec, *, max_examples: int = 5,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS, violations: Path | None = None,
                   on_rows: Callable[[int], None] | None = None,
                   on_failures: Callable[[list[Failure]], None] | None = None) -> dict[str, Any]:
    """The validation report of the table at `data_path` (see `summarize` for its fields).

    `violations`: where to write the failures CSV (atomically, once the whole table is read;
    nothing is left there if reading fails). `on_rows(n)` is called after each chunk of n rows,
    `on_failures(rows)` with each chunk's failures (the violations CSV's lines).
    """
    _check_limits(max_examples, chunk_rows)
    require_file(data_path, "data file")
    return validate_chunks(data.iter_raw(data_path, spec, chunk_rows=chunk_rows), spec, label=str(data_path),
                           csv_lines=not data.is_parquet(data_path), max_examples=max_examples,
                           violations=violations, on_rows=on_rows, on_failures=on_failures)


def _check_limits(max_examples: int, chunk_rows: int) -> None:
    if max_examples < 0:
        raise UserError(f"--max-examples must be 0 or more, got {max_examples}", hint="e.g. --max-examples 5")
    if chunk_rows < 1:
        raise UserError(f"--chunk-size must be at least 1, got {chunk_rows}", hint="e.g. --chunk-size 100000")


def validate_chunks(chunks: Iterable[pd.DataFrame], spec: ir.Spec, *, label: str, csv_lines: bool,
                    max_examples: int = 5, violations: Path | None = None,
                    on_rows: Callable[[int], None] | None = None,
                    on_failures: Callable[[list[Failure]], None] | None = None) -> dict[str, Any]:
    """The report of a table given as raw string chunks (`data.iter_raw`'s, or a frame's);
    `label` names the table in the report, `csv_lines` says whether rows have file lines."""
    _check_limits(max_examples, 1)
    checker = compile_checker(spec)
    tally = CheckTally(checker, max_examples=max_examples)
    writer = ViolationWriter(violations) if violations is not None else None
    try:
        for raw in chunks:
            table = data.to_typed(raw, spec)
            report = checker.run(table)
            tally.add(report, table)
            if writer is not None or on_failures is not None:
                found = failures(report, table, csv_lines)
                if writer is not None:
                    writer.add(found)
                if on_failures is not None:
                    on_failures(found)
            if on_rows is not None:
                on_rows(len(raw))
        if writer is not None:
            writer.commit()
    finally:
        if writer is not None:
            writer.discard()
    return summarize(tally, label, csv_lines, violations)


# One (row, check) failure: the fields of VIOLATION_FIELDS, in order.
Failure = tuple[int, int | str, str, str, str, str, str]


def failures(report: CheckReport, table: data.TypedTable, csv_lines: bool) -> list[Failure]:
    """Every (row, check) failure of a checked chunk, rows first, then checks in spec order."""
    rows = table.row_numbers
    raw = table.raw
    assert raw is not None, "tables read from a file keep their raw text"
    entries = []
    for order, outcome in enumerate(report.outcomes):
        for position in np.flatnonzero(outcome.failed):
            entries.append((int(position), order, outcome))
    entries.sort(key=lambda e: (e[0], e[1]))
    found: list[Failure] = []
    for i, _, outcome in entries:
        values = "; ".join(f"{c}={_text(raw[c].iat[i])}" for c in outcome.columns)
        row = int(rows[i])
        found.append((row, row + 1 if csv_lines else "", outcome.name, outcome.kind,
                      "hard" if outcome.hard else "soft", ";".join(outcome.columns), values))
    return found


class ViolationWriter:
    """Streams failures into a temp file beside the target; `commit` puts it in place."""

    def __init__(self, path: Path) -> None:
        self.out = AtomicWriter(path)
        self.writer = csv.writer(self.out)
        self.writer.writerow(VIOLATION_FIELDS)
        self.count = 0
        self.committed = False

    def add(self, found: list[Failure]) -> None:
        self.writer.writerows(found)
        self.count += len(found)

    def commit(self) -> None:
        self.out.commit()
        self.committed = True

    def discard(self) -> None:
        """Remove the temp file unless it was committed (an error stopped the run)."""
        if not self.committed:
            self.out.discard()


def _text(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def _location(loc: ir.Location | None) -> str | None:
    return f"{loc.path}:{loc.line}" if loc is not None else None


def summarize(tally: CheckTally, label: str, csv_lines: bool, violations: Path | None) -> dict[str, Any]:
    """The report as plain data: one entry per check, per-column counts, and a summary.

    Keys: data, spec, ok, rows, rows_passing_hard_checks, row_numbers (how rows are counted),
    checks (name, kind, severity, columns, check, location, message, rows, applicable,
    failed, passed, failed_share, observed_share, mostly, ok, examples), columns (missing,
    bad, failed_rows per column) and summary (checks, hard_failures, soft_unmet,
    violations_file). This is also `synspec validate --format json`'s output.
    """
    checks = []
    for o in tally.outcomes.values():
        checks.append({
            "name": o.name,
            "kind": o.kind,
            "severity": "hard" if o.hard else "soft",
            "columns": list(o.columns),
            "check": o.description,
            "location": _location(o.location),
            "message": o.message,
            "rows": o.n_rows,
            "applicable": o.n_applicable,
            "failed": o.n_failed,
            "passed": o.n_passed,
            "failed_share": o.failed_share,
            "observed_share": o.observed,
            "mostly": o.mostly,
            "ok": o.ok,
            "examples": [{"row": e.row, "line": e.row + 1 if csv_lines else None, "values": e.values}
                         for e in o.examples],
        })
    columns = {name: {"missing": c.n_missing, "bad": c.n_bad, "failed_rows": c.n_failed_rows}
               for name, c in tally.columns.items()}
    hard_failures = [c["name"] for c in checks if c["severity"] == "hard" and not c["ok"]]
    soft_unmet = [c["name"] for c in checks if c["severity"] == "soft" and not c["ok"]]
    return {
        "data": label,
        "spec": tally.spec.path,
        "ok": tally.ok,
        "rows": tally.n_rows,
        "rows_passing_hard_checks": tally.n_rows_ok,
        "row_numbers": "data rows counted from 1 (first row under the header); line = file line",
        "checks": checks,
        "columns": columns,
        "summary": {"checks": len(checks), "hard_failures": hard_failures, "soft_unmet": soft_unmet,
                    "violations_file": str(violations) if violations is not None else None},
    }
