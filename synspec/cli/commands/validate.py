"""`synspec validate DATA --spec SPEC`: every column constraint and rule of a spec, on every row.

Argument wiring, printing and the exit code only; the checking and the report's figures are
`synspec.Spec.validate` (over `synspec.validate`). Prints one line per failing check with
examples, soft expectations against their declared share, and a summary; or the whole
report as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, UserError, console, err_console, load_checked
from synspec.files import require_output

if TYPE_CHECKING:
    from rich.progress import Progress


class Format(StrEnum):
    text = "text"
    json = "json"


def validate(
    data_path: Path = typer.Argument(..., metavar="DATA", help="CSV (UTF-8, BOM and CRLF allowed), Parquet "
                                     "file (.parquet) or glob ('parts/*.parquet'), or with --connect a "
                                     "table name.", show_default=False),
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
    stats: str | None = typer.Option(None, "--stats", metavar="[fail|warn]",
                                     help="Also compare every declared statistic with the data (drift, "
                                          "judged against sampling error); a drift is a finding, or only "
                                          "reported with --stats warn."),
    engine: str = typer.Option("auto", "--engine", metavar="[auto|pandas|duckdb|spark]",
                               help="Who runs the checks: pandas (chunks), duckdb, spark, or auto (pandas "
                                    "below 64 MB, duckdb above). Same report from every engine."),
    connect: str | None = typer.Option(None, "--connect", metavar="DB|MASTER",
                                       help="A DuckDB database file (--engine duckdb) or a Spark master URL "
                                            "such as local[2] or spark://host:7077 (--engine spark); DATA "
                                            "may then name a table."),
) -> None:
    """Check a table against a spec: types, ranges, decimal places, levels, missing values, rules.

    Exit 0 when no hard rule or column constraint fails and every soft expectation meets its
    share; 1 when something fails; 2 for input errors (missing file, column missing or extra,
    unreadable file, unknown engine, bad --connect, missing table).

    Example: synspec validate ../shared/data/diabetes.csv --spec specs/diabetes.synspec

    Example: synspec validate new-extract.csv --spec specs/diabetes.synspec --stats
    """
    from synspec.api.validation import validate as validate_api

    spec = load_checked(spec_path)
    from synspec.validation_engines import ENGINES

    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}", where="--engine", hint="one of: " + ", ".join(ENGINES))
    if violations is not None:
        require_output(violations, "violations file", force=force, flag="--violations", inputs=(data_path,))
    with _progress(data_path) as advance:
        result = validate_api(spec, data_path, max_examples=max_examples, chunk_rows=chunk_size,
                              violations=violations, keep_failures=False, on_rows=advance,
                              stats=stats, engine=engine, connect=connect).to_dict()
    if format is Format.json:
        # Plain write: rich would replace ":name:" emoji codes inside cell values.
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _print_text(result)
        if "stats" in result:
            _print_drift(result["stats"])
    raise typer.Exit(EXIT_OK if result["ok"] else EXIT_FINDINGS)


def _print_drift(drift: dict[str, Any]) -> None:
    """One line per drifted statistic: where it is declared, declared and observed, the band."""
    warn = drift["mode"] == "warn"
    for m in drift["drifted"]:
        low, high = m["allowed"]
        share = m["scale"] == "share"
        observed = _figure(m["observed"], share)
        if m["statistic"].startswith("quantile"):
            observed = f"{observed} of values <= {m['declared'].rpartition(' ')[2]}"
        head = "warn" if warn else "DRIFT"
        console.print(f"{head} {m['column']} {m['statistic']} ({m['location']}): declared "
                      f"{m['declared']}, observed {observed} over {m['n']:,} values (allowed "
                      f"{_figure(low, share)} to {_figure(high, share)}; p = {m['p_value']:.2g})",
                      style="yellow" if warn else "bold red", markup=False, emoji=False)
    n = len(drift["drifted"])
    console.print(f"statistics: {drift['tested'] - n} of {drift['tested']} declared statistics hold at "
                  f"{drift['rows']:,} rows ({n} drifted; family-wise false-drift rate {drift['alpha']:.0%})",
                  style="bold green" if not n else ("yellow" if warn else "bold red"), markup=False,
                  emoji=False)


def _figure(value: float | None, share: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{min(max(value, 0.0), 1.0):.2%}" if share else f"{value:.4g}"


# ---- progress ------------------------------------------------------------------------
class _progress:
    """A rows-read counter on stderr when it is a terminal; nothing in a pipe or a test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bar: Progress | None = None

    def __enter__(self) -> Callable[[int], None]:
        if not err_console.is_terminal:
            return lambda n: None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("validating {task.description}"), BarColumn(),
                       TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                       console=err_console, transient=True)
        self.bar = bar
        bar.start()
        task = bar.add_task(self.path.name, total=None)
        return lambda n: bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _text(value: Any) -> str:
    return "(missing)" if value is None else str(value)


# ---- reporting -----------------------------------------------------------------------
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
