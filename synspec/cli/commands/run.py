"""`synspec run SPEC -n N -o OUT`: generate a synthetic table on the offline default model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, UserError, console, err_console, load_spec
from synspec.generate import engines
from synspec.generate import seeding as _seeding

if TYPE_CHECKING:
    from synspec.generate.pipeline import RunConfig, RunResult

_ENGINE_HELP = "Decoding engine: " + "; ".join(
    f"{e.name} ({e.summary}{', alias ' + ', '.join(e.aliases) if e.aliases else ''})"
    for e in engines.REGISTRY) + "."
_SEEDING_HELP = ("What is drawn before decoding: none (the prompt alone), levels (categorical and boolean "
                 "columns), marginals (levels and numeric quantile bins) or joint (the default: every "
                 "declared column, drawn together; the model writes the rest).")


def run(
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="The .synspec file.", show_default=False),
    n: int = typer.Option(..., "-n", "--rows", help="Rows to generate.", show_default=False),
    out: Path = typer.Option(..., "-o", "--output", help="Output .csv or .parquet file.",
                             show_default=False),
    style: str = typer.Option("clin_rule", "--style",
                              help="Prompt style: clin_rule, statguide, featdesc or seed_ex."),
    examples: Path | None = typer.Option(None, "--examples",
                                         help="Real rows for the seed_ex style (CSV or Parquet)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; same seed, same bytes."),
    model: str = typer.Option("default", "--model",
                              help="`default` (SmolLM2-135M-Instruct) or a .gguf file / transformers dir."),
    batch_size: int = typer.Option(128, "--batch-size", help="Rows decoded together (at most -n)."),
    temperature: float = typer.Option(1.0, "--temperature", help="Sampling temperature; 0 is greedy."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run of OUT."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT (or an interrupted run of it)."),
    engine: str = typer.Option("local", "--engine", help=_ENGINE_HELP),
    seeding: str = typer.Option(_seeding.DEFAULT_MODE, "--seeding", help=_SEEDING_HELP),
    dtype: str = typer.Option("auto", "--dtype",
                              help="auto (bfloat16 on a GPU or a CPU with native bf16, else float32), "
                                   "float32, bfloat16, or int8 (CPU: float32 with int8 linear layers)."),
    threads: str = typer.Option("auto", "--threads",
                                help="Torch threads: auto (the allowed cores not busy with other work "
                                     "when decoding starts) or a positive integer. Output bytes do not "
                                     "depend on it."),
) -> None:
    """Generate N rows that pass every hard rule, constrained by the spec's row grammar.

    Writes OUT batch by batch (durably, so --resume continues after Ctrl-C or kill -9)
    and OUT.manifest.json beside it. Exit 0 when N rows were written, 1 when rules
    rejected so many rows that the retry budget ran out (OUT holds what was accepted),
    2 on a usage or input error.

    Example: synspec run specs/diabetes.synspec -n 500 -o diabetes_synth.csv --seed 1
    """
    from synspec.generate import pipeline
    from synspec.generate.sink import output_format
    from synspec.generate.threads import parse_threads, prepare_environment

    prepare_environment()  # before anything imports torch

    if resume and force:
        raise UserError("--resume and --force contradict each other", where="--resume/--force",
                        hint="--resume continues an interrupted run; --force starts over")
    spec = load_spec(spec_path)
    config = pipeline.RunConfig(
        spec=spec, spec_path=spec_path, n=n, out=out, style=style, examples=examples, seed=seed,
        model=model, batch_size=batch_size, temperature=temperature, resume=resume, force=force,
        engine=engine, seeding=seeding, dtype=dtype, threads=parse_threads(threads))
    pipeline.validate_config(config)
    output_format(out)  # an unknown extension fails before the model loads
    result = _run_with_progress(config)
    counts = result.manifest.counts
    yield_ = result.manifest.yield_
    summary = (f"{out}: {result.rows} of {n} rows ({counts.generated} generated, "
               f"yield {yield_ if yield_ is not None else 0:.1%}, {result.seconds:.1f} s)")
    console.print(summary, markup=False)
    for reason, count in sorted(result.rejected.items(), key=lambda kv: -kv[1]):
        if count:
            console.print(f"  rejected {count}: {reason}", markup=False)
    if result.status == "starved":
        err_console.print(f"error: the retry budget ran out after {counts.generated} generated rows; "
                          f"rule `{result.starving_rule}` rejected the most", style="bold red", markup=False)
        err_console.print("  = help: check the rule against the prompt statistics, or let the grammar "
                          "enforce it (synspec compile shows which rules are checked after generation)",
                          markup=False)
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _run_with_progress(config: RunConfig) -> RunResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from synspec.generate import pipeline

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} rows/s"), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task("starting", total=config.n, rate="-")
        # The rate counts from the first update on, so model loading does not dilute it.
        start = time.perf_counter()
        first: int | None = None

        def update(accepted: int, generated: int) -> None:
            nonlocal start, first
            if first is None:
                first = accepted
                start = time.perf_counter()
            elapsed = time.perf_counter() - start
            rate = (accepted - first) / elapsed if elapsed > 0 else 0.0
            bar.update(task, completed=accepted, rate=f"{rate:.1f}")

        def phase(text: str) -> None:
            bar.update(task, description=text)

        return pipeline.run(config, pipeline.Progress(config.n, update, phase))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
