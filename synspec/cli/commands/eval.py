"""`synspec eval`: fidelity, clinical consistency, privacy and utility of a synthetic table."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, console, err_console, load_spec
from synspec.errors import UserError


def _refuse_overwrite(path: Path | None, force: bool, flag: str) -> None:
    if path is not None and path.exists() and not force:
        raise UserError(
            f"{path} exists; not overwriting it",
            where=flag,
            hint="pass --force to replace it, or choose another path",
        )


def _write_atomic(path: Path, text: str) -> None:
    # A temp file beside the target, then os.replace: readers never see a half-written report.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(
            f"cannot write {path}: {exc.strerror}",
            where=str(path),
            hint="check that the folder exists and is writable",
        ) from None


def _prompt_examples(synthetic: Path, spec):
    """The run manifest's prompt examples as a typed frame, or None when there are none.

    `prompt_examples` (the rows the prompts showed, as file text) is preferred. A manifest that
    only names its examples file (`examples.path`) gets that whole file instead: a superset of
    the rows sampled into the prompt, so the copy rate is an upper bound.
    """
    import pandas as pd

    from synspec.data import read_raw, to_typed

    manifest = synthetic.with_name(synthetic.name + ".manifest.json")
    if not manifest.is_file():
        return None
    try:
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        examples = saved.get("prompt_examples")
        named = (saved.get("examples") or {}).get("path")
    except (OSError, ValueError, AttributeError) as exc:
        raise UserError(
            f"cannot read the run manifest: {exc}",
            where=str(manifest),
            hint="delete or repair the manifest beside the synthetic file",
        ) from None
    if examples:
        raw = pd.DataFrame(
            [{c: row.get(c) for c in spec.column_names} for row in examples],
            columns=list(spec.column_names),
            dtype=object,
        )
        return to_typed(raw, spec).frame
    if named and Path(named).is_file():
        return to_typed(read_raw(Path(named), spec), spec).frame
    if named:
        err_console.print(
            f"warning: the run's examples file {named} is gone; prompt copies are not counted",
            style="yellow",
            markup=False,
        )
    return None


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

    from synspec.cli.common import require_file
    from synspec.evaluate import report, thresholds
    from synspec.evaluate.pipeline import evaluate
    from synspec.evaluate.tables import load_table

    gates = [thresholds.parse_threshold(text) for text in fail_on]
    if not 0 < holdout_frac < 1:
        raise UserError(
            f"--holdout-frac must be between 0 and 1 (exclusive), got {holdout_frac}",
            where="--holdout-frac",
            hint="e.g. --holdout-frac 0.2",
        )
    _refuse_overwrite(output, force, "-o")
    _refuse_overwrite(json_path, force, "--json")
    parsed = load_spec(spec)
    for path, what in ((real, "real table"), (synthetic, "synthetic table"), (holdout, "holdout table")):
        if path is not None:
            require_file(path, what)
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

        real_table = load_table(real, parsed, "real")
        syn_table = load_table(synthetic, parsed, "synthetic")
        hold_table = load_table(holdout, parsed, "holdout") if holdout is not None else None
        if hold_table is None and len(real_table) < 10:
            raise UserError(
                f"the real table has {len(real_table)} rows; eval needs at least 10 to hold some out",
                where=str(real),
                hint="pass a larger real table, or --holdout",
            )
        result = evaluate(
            parsed,
            real_table,
            syn_table,
            holdout=hold_table,
            holdout_frac=holdout_frac,
            seed=seed,
            prompt_examples=_prompt_examples(synthetic, parsed),
            progress=step,
        )
        step("report")
        verdict = thresholds.judge(gates, {k: v["synthetic"] for k, v in result["figures"].items()})
        if json_path is not None:
            _write_atomic(json_path, report.to_json(result, verdict))
        if output is not None:
            _write_atomic(output, report.to_html(parsed, result, verdict))
    summary = Table(title=f"synspec eval: {parsed.name}")
    for head in ("figure", "synthetic", "baseline"):
        summary.add_column(head, justify="left" if head == "figure" else "right")
    for name, values in result["figures"].items():
        summary.add_row(name, report.fmt(values["synthetic"]), report.fmt(values["baseline"]))
    console.print(summary)
    for v in verdict:
        style = "bold red" if v["failed"] else "green"
        console.print(
            f"{'FAILED' if v['failed'] else 'passed'}: {v['threshold']} (value {report.fmt(v['value'])})",
            style=style,
            markup=False,
        )
    for path in (json_path, output):
        if path is not None:
            console.print(f"wrote {path}", markup=False)
    raise typer.Exit(EXIT_FINDINGS if any(v["failed"] for v in verdict) else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
