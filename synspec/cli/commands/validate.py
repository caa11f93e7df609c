"""`synspec validate DATA --spec SPEC`: every column constraint and rule of a spec, on every row.

Reads the table in chunks (memory stays bounded for files larger than memory), runs the
compiled checker on each chunk and adds the figures up (`CheckTally`). Prints one line per
failing check with examples, soft expectations against their declared share, and a summary;
or all figures as JSON; optionally every (row, check) failure to a CSV. Row numbers are data
rows counted from 1 (the first row under the header); CSV reports also give the file line
(row + 1, exact when no quoted field spans lines).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import typer

from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, UserError, console, err_console, load_spec


class Format(StrEnum):
    text = "text"
    json = "json"


VIOLATION_FIELDS = ("row", "line", "check", "kind", "severity", "columns", "values")


def validate(
    data_path: Path = typer.Argument(..., metavar="DATA", help="CSV (UTF-8, BOM and CRLF allowed) or "
                                     "Parquet (.parquet) table.", show_default=False),
    spec_path: Path = typer.Option(..., "--spec", help="The .synspec file the table should follow.",
                                   show_default=False),
    format: Format = typer.Option(Format.text, "--format", help="text (for people) or json (every figure)."),
    violations: Path | None = typer.Option(None, "--violations", metavar="OUT.csv",
                                           help="Write one CSV line per (row, check) failure."),
    max_examples: int = typer.Option(5, "--max-examples", metavar="K",
                                     help="Example rows shown per failing check."),
    chunk_size: int = typer.Option(100_000, "--chunk-size", metavar="N",
                                   help="Rows read at a time (bounds memory)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --violations file."),
) -> None:
    """Check a table against a spec: types, ranges, decimal places, levels, missing values, rules.

    Exit 0 when no hard rule or column constraint fails and every soft expectation meets its
    share; 1 when something fails; 2 for input errors (missing file, column missing or extra,
    unreadable file).

    Example: synspec validate ../shared/data/diabetes.csv --spec specs/diabetes.synspec
    """
    from synspec import data
    from synspec.targets.checker import CheckTally, compile_checker

    if max_examples < 0:
        raise UserError(f"--max-examples must be 0 or more, got {max_examples}", hint="e.g. --max-examples 5")
    if chunk_size < 1:
        raise UserError(f"--chunk-size must be at least 1, got {chunk_size}", hint="e.g. --chunk-size 100000")
    if violations is not None:
        if violations.exists() and not force:
            raise UserError(f"violations file already exists: {violations}", where=str(violations),
                            hint="pass --force to overwrite it, or choose another path")
        if violations.exists() and data_path.exists() and violations.samefile(data_path):
            raise UserError(f"--violations would overwrite the data file: {violations}",
                            where=str(violations), hint="choose another path, e.g. violations.csv")
        if not violations.parent.is_dir():
            raise UserError(f"folder of the violations file does not exist: {violations.parent}",
                            where=str(violations), hint="create the folder first")
    spec = load_spec(spec_path)
    if not data_path.exists():
        raise UserError(f"data file not found: {data_path}", where=str(data_path),
                        hint="check the path (relative paths start in the current directory)")
    checker = compile_checker(spec)
    tally = CheckTally(checker, max_examples=max_examples)
    csv_lines = not data.is_parquet(data_path)
    writer = _ViolationWriter(violations, csv_lines) if violations is not None else None
    try:
        with _progress(data_path) as advance:
            for raw in data.iter_raw(data_path, spec, chunk_rows=chunk_size):
                table = data.to_typed(raw, spec)
                report = checker.run(table)
                tally.add(report, table)
                if writer is not None:
                    writer.add(report, table)
                advance(len(raw))
        if writer is not None:
            writer.commit()
    finally:
        if writer is not None:
            writer.discard()
    result = _summary(tally, data_path, csv_lines, violations)
    if format is Format.json:
        # Plain write: rich would replace ":name:" emoji codes inside cell values.
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _print_text(result)
    raise typer.Exit(EXIT_OK if tally.ok else EXIT_FINDINGS)


# ---- progress ------------------------------------------------------------------------
class _progress:
    """A rows-read counter on stderr when it is a terminal; nothing in a pipe or a test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bar = None

    def __enter__(self):
        if not err_console.is_terminal:
            return lambda n: None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("validating {task.description}"), BarColumn(),
                            TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                            console=err_console, transient=True)
        self.bar.start()
        task = self.bar.add_task(self.path.name, total=None)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# ---- violations file -----------------------------------------------------------------
class _ViolationWriter:
    """Streams failures into a temp file beside the target; `commit` renames it into place."""

    def __init__(self, path: Path, csv_lines: bool) -> None:
        self.path = path
        self.csv_lines = csv_lines
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.tmp = Path(tmp)
        self.handle: TextIO | None = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(VIOLATION_FIELDS)
        self.count = 0

    def add(self, report, table) -> None:
        rows = table.row_numbers
        raw = table.raw
        # Rows first, then checks in spec order, so the file reads like the table.
        entries = []
        for order, outcome in enumerate(report.outcomes):
            for i in np.flatnonzero(outcome.failed):
                entries.append((int(i), order, outcome))
        entries.sort(key=lambda e: (e[0], e[1]))
        for i, _, outcome in entries:
            values = "; ".join(f"{c}={_text(raw[c].iat[i])}" for c in outcome.columns)
            row = int(rows[i])
            self.writer.writerow((row, row + 1 if self.csv_lines else "", outcome.name, outcome.kind,
                                  "hard" if outcome.hard else "soft", ";".join(outcome.columns), values))
        self.count += len(entries)

    def commit(self) -> None:
        assert self.handle is not None
        self.handle.close()
        self.handle = None
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        """Remove the temp file unless it was committed (an error stopped the run)."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.tmp.exists():
            self.tmp.unlink()


def _text(value: Any) -> str:
    return "(missing)" if value is None else str(value)


# ---- reporting -----------------------------------------------------------------------
def _location(loc) -> str | None:
    return f"{loc.path}:{loc.line}" if loc is not None else None


def _summary(tally, data_path: Path, csv_lines: bool, violations: Path | None) -> dict[str, Any]:
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
        "data": str(data_path),
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


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _print_text(result: dict[str, Any]) -> None:
    out = console
    for check in result["checks"]:
        if check["ok"] or check["severity"] == "soft":
            continue
        where = f" ({check['location']})" if check["location"] else ""
        out.print(f"FAIL {check['name']}{where}: {check['failed']:,} of {check['applicable']:,} rows "
                  f"({_share(check['failed_share'])}) fail: {check['check']}", style="bold red",
                  markup=False, emoji=False)
        _print_examples(check)
    soft = [c for c in result["checks"] if c["severity"] == "soft"]
    for check in soft:
        where = f" ({check['location']})" if check["location"] else ""
        status, style = ("ok  ", "green") if check["ok"] else ("FAIL", "bold red")
        out.print(f"{status} {check['name']}{where}: observed {_share(check['observed_share'])} of "
                  f"{check['applicable']:,} applicable rows, declared mostly {check['mostly']:.2%}: "
                  f"{check['check']}", style=style, markup=False, emoji=False)
        if not check["ok"]:
            _print_examples(check)
    summary = result["summary"]
    hard = [c for c in result["checks"] if c["severity"] == "hard"]
    failing_hard = len(summary["hard_failures"])
    out.print()
    out.print(f"{result['data']}: {result['rows']:,} rows, {result['rows_passing_hard_checks']:,} pass every "
              f"hard check; {len(hard) - failing_hard} of {len(hard)} hard checks pass, "
              f"{len(soft) - len(summary['soft_unmet'])} of {len(soft)} soft expectations met",
              style="bold green" if result["ok"] else "bold red", markup=False, emoji=False)
    if summary["violations_file"]:
        out.print(f"wrote {summary['violations_file']}", markup=False, emoji=False)
    sys.stdout.flush()


def _print_examples(check: dict[str, Any]) -> None:
    for example in check["examples"]:
        line = f", line {example['line']}" if example["line"] is not None else ""
        values = ", ".join(f"{c}={_text(v)}" for c, v in example["values"].items())
        console.print(f"    row {example['row']}{line}: {values}", markup=False, emoji=False)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
