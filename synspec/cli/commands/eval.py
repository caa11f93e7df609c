"""`synspec eval`: fidelity, clinical consistency, privacy and utility of a synthetic table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from synspec.atomic import write_text
from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, console, err_console, load_checked
from synspec.errors import UserError

if TYPE_CHECKING:  # the evaluation stack is imported only when eval runs
    from rich.table import Table

    from synspec.evaluate.result import EvalResult


def _check_outputs(outputs: dict[str, Path | None], inputs: tuple[Path | None, ...], force: bool) -> None:
    """Every report path can be written (a file, not an input, in a folder that exists and can
    be written; existing only with --force), checked before the evaluation's work."""
    from synspec.files import require_output

    named = {flag: path for flag, path in outputs.items() if path is not None}
    for flag, path in named.items():
        require_output(path, f"{flag} report", force=force, flag=flag,
                       inputs=tuple(p for p in inputs if p is not None))
    if len(named) == 2 and len({p.resolve() for p in named.values()}) == 1:
        raise UserError("-o and --json name the same file", where="-o/--json",
                        hint="write the HTML report and the JSON figures to two paths")


def _boundary_summary(result: EvalResult) -> Table:
    """Per numeric column: boundary excess, its worst point, and the most common synthetic value."""
    from rich.table import Table
    from rich.text import Text

    from synspec.evaluate.boundary import FLAG_ABOVE
    from synspec.evaluate.report import fmt
    from synspec.evaluate.result import NumericColumn

    table = Table(
        title=f"boundary excess (flagged above {FLAG_ABOVE:g} and above what real rows score by chance)"
    )
    heads = ("column", "excess", "chance", "worst point", "real", "synthetic", "top value: synthetic/real")
    for head in heads:
        table.add_column(head, justify="left" if head in ("column", "worst point") else "right")
    for name, c in result.columns["synthetic"].items():
        if not isinstance(c, NumericColumn):
            continue
        worst = c.worst_point()
        top = c.top_values[0] if c.top_values else None
        flagged = c.piled
        cells = [
            name,
            fmt(c.boundary_excess) + (" !" if flagged else ""),
            fmt(c.boundary_noise),
            "–" if worst is None else f"{worst.value} ({worst.kind})",
            "–" if worst is None else fmt(worst.real_share),
            "–" if worst is None else fmt(worst.synthetic_share),
            "–" if top is None else f"{top.value}: {fmt(top.synthetic_share)}/{fmt(top.real_share)}",
        ]
        # Text, not markup: a column or rule name from the spec may hold square brackets.
        table.add_row(*(Text(cell) for cell in cells), style="bold red" if flagged else None)
    return table


def eval_command(
    spec: Path = typer.Option(
        ..., "--spec", help="The .synspec file both tables follow.", show_default=False
    ),
    real: Path = typer.Option(..., "--real", help="The real table (CSV or Parquet).", show_default=False),
    synthetic: Path = typer.Option(..., "--synthetic", help="The synthetic table.", show_default=False),
    holdout: Path | None = typer.Option(
        None,
        "--holdout",
        help="An explicit real holdout file (then --real is the train split).",
        show_default=False,
    ),
    holdout_frac: float = typer.Option(
        0.2, "--holdout-frac", help="Share of REAL held out when no --holdout."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for the split, subsamples, baseline and models."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write the HTML report here.", show_default=False
    ),
    json_path: Path | None = typer.Option(
        None, "--json", help="Write every figure as JSON here.", show_default=False
    ),
    fail_on: list[str] = typer.Option(
        [],
        "--fail-on",
        metavar="CONDITION",
        help='A failing condition, e.g. "exact_copy_rate>0" (repeatable); exit 1 when one holds.',
        show_default=False,
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing report files."),
) -> None:
    """Evaluate a synthetic table against the real one, beside a no-model baseline.

    Exit 0 when every --fail-on threshold passes, 1 when one fails, 2 on an input error.

    Example: synspec eval --spec specs/diabetes.synspec --real diabetes.csv --synthetic syn.csv
    -o report.html --json report.json --fail-on "exact_copy_rate>0" --fail-on "tstr_trtr_auroc<0.9"
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from synspec.api.evaluation import evaluate
    from synspec.evaluate import report, thresholds

    for text in fail_on:  # a bad threshold is reported before anything is read
        thresholds.parse_threshold(text)
    _check_outputs({"-o": output, "--json": json_path}, (spec, real, synthetic, holdout), force)
    parsed = load_checked(spec)
    stages = ["reading", "fidelity", "detection", "clinical consistency", "privacy", "utility", "report"]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("eval: reading", total=len(stages))

        def step(name: str) -> None:
            bar.update(task, advance=1, description=f"eval: {name}")

        evaluation = evaluate(parsed, real=real, synthetic=synthetic, holdout=holdout,
                              holdout_frac=holdout_frac, seed=seed, fail_on=fail_on, progress=step)
        step("report")
        result = evaluation.detail
        if json_path is not None:
            write_text(json_path, evaluation.to_json())
        if output is not None:
            evaluation.to_html(output)
    for warning in evaluation.warnings:
        err_console.print(f"warning: {warning}", style="yellow", markup=False)
    verdict = result.verdict
    summary = Table(title=f"synspec eval: {parsed.name}")
    for head in ("figure", "synthetic", "baseline"):
        summary.add_column(head, justify="left" if head == "figure" else "right")
    for name, values in result.figures.items():
        summary.add_row(name, report.fmt(values.synthetic), report.fmt(values.baseline))
    console.print(summary)
    console.print(_boundary_summary(result))
    for v in verdict:
        style = "bold red" if v.failed else "green"
        console.print(
            f"{'FAILED' if v.failed else 'passed'}: {v.threshold} (value {report.fmt(v.value)})",
            style=style,
            markup=False,
        )
    for path in (json_path, output):
        if path is not None:
            console.print(f"wrote {path}", markup=False)
    raise typer.Exit(EXIT_FINDINGS if any(v.failed for v in verdict) else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
