"""`synspec run SPEC -n N -o OUT`: generate a synthetic table on the offline default model.

Argument wiring and printing; the run is `synspec.Spec.generate_file` (the API's one code path)."""

from __future__ import annotations

from pathlib import Path

import typer

from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, console, err_console, load_checked
from synspec.generate import engines
from synspec.generate import seeding as _seeding
from synspec.generate.engines.server import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_S,
    SERVER_KINDS,
    ServerSettings,
)

_ENGINE_HELP = "Decoding engine: " + "; ".join(
    f"{e.name} ({e.summary}{', alias ' + ', '.join(e.aliases) if e.aliases else ''})"
    for e in engines.REGISTRY) + "."
_SERVER_KIND_HELP = ("--engine server: " + "; ".join(f"{kind.name} ({kind.summary})"
                                                     for kind in SERVER_KINDS.values())
                     + "; auto asks the server.")
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
                              help="`default` (SmolLM2-135M-Instruct) or a .gguf file / transformers dir; "
                                   "with --engine server, the served model's name."),
    batch_size: int | None = typer.Option(
        None, "--batch-size", show_default=False,
        help="Rows decoded together (at most -n). Default: from the row length, 128 rows for short "
             "rows and fewer for wide ones, down to 8 (a batch is written when its longest row is done)."),
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
    base_url: str | None = typer.Option(None, "--base-url", metavar="URL", show_default=False,
                                        help="--engine server: the OpenAI-compatible server, e.g. "
                                             "http://127.0.0.1:8080 (--model names the served model)."),
    server_kind: str = typer.Option("auto", "--server-kind",
                                    help=_SERVER_KIND_HELP),
    api_key_env: str | None = typer.Option(None, "--api-key-env", metavar="VAR", show_default=False,
                                           help="--engine server: the environment variable holding the "
                                                "API key (the key is never written anywhere)."),
    concurrency: int = typer.Option(DEFAULT_CONCURRENCY, "--concurrency", metavar="K",
                                    help="--engine server: requests in flight at once (one row each)."),
    timeout: float = typer.Option(DEFAULT_TIMEOUT_S, "--timeout", metavar="SECONDS",
                                  help="--engine server: seconds to wait for one row's answer; failed "
                                       "requests are retried 4 times with backoff."),
) -> None:
    """Generate N rows that pass every hard rule, constrained by the spec's row grammar.

    Writes OUT batch by batch (durably, so --resume continues after Ctrl-C or kill -9)
    and OUT.manifest.json beside it. Exit 0 when N rows were written, 1 when rules
    rejected so many rows that the retry budget ran out (OUT holds what was accepted),
    2 on a usage or input error.

    Example: synspec run specs/diabetes.synspec -n 500 -o diabetes_synth.csv --seed 1

    On a server: synspec run SPEC -n 500 -o OUT --engine server --base-url http://127.0.0.1:8080 --model NAME
    """
    from synspec.generate.threads import parse_threads

    spec = load_checked(spec_path)
    server = None
    if base_url is not None:
        server = ServerSettings(base_url=base_url, kind=server_kind, api_key_env=api_key_env,
                                concurrency=concurrency, timeout_s=timeout)
    result = spec.generate_file(out, n, style=style, seed=seed, engine=engine, seeding=seeding, model=model,
                                batch_size=batch_size, temperature=temperature, examples=examples,
                                resume=resume, force=force, progress=True, dtype=dtype,
                                threads=parse_threads(threads), server=server)
    yield_ = result.yield_
    summary = (f"{out}: {result.rows} of {n} rows ({result.generated} generated, "
               f"yield {yield_ if yield_ is not None else 0:.1%}, {result.seconds:.1f} s)")
    console.print(summary, markup=False)
    for reason, count in sorted(result.rejected.items(), key=lambda kv: -kv[1]):
        if count:
            console.print(f"  rejected {count}: {reason}", markup=False)
    if result.status == "starved":
        err_console.print(f"error: the retry budget ran out after {result.generated} generated rows; "
                          f"rule `{result.starving_rule}` rejected the most", style="bold red", markup=False)
        err_console.print("  = help: check the rule against the prompt statistics, or let the grammar "
                          "enforce it (synspec compile shows which rules are checked after generation)",
                          markup=False)
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
