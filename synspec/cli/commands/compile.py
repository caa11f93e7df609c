"""`synspec compile SPEC -o DIR`: write every compiler artifact (prompts, row grammar, IR,
enforcement report), or print one of them with --emit. Targets and prompt styles are read
from `synspec.targets.registry`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import typer

from synspec.atomic import write_text
from synspec.cli.common import EXIT_OK, UserError, console, err_console, load_checked
from synspec.targets.registry import DIALECTS, PROMPT_STYLES, STYLES, TARGETS


def _choices(names: Iterable[str]) -> str:
    return "[" + "|".join(names) + "]"


def _one_of(names: Iterable[str]) -> Callable[[str | None], str | None]:
    """A flag callback accepting only registered names (a usage error, exit 2, otherwise)."""
    known = tuple(names)

    def check(value: str | None) -> str | None:
        if value is not None and value not in known:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(known)}")
        return value
    return check


def _examples(spec, path: Path | None, k: int, seed: int):
    if path is None:
        return None
    # The sampler `synspec run` uses, so `compile --seed S` shows the prompt `run --seed S` decodes.
    from synspec.api.compiling import example_rows

    rows = example_rows(spec, path, k, seed)
    assert rows is not None
    err_console.print(f"warning: putting {len(rows)} real rows from {path} into the seed_ex prompt; "
                      "do not share this prompt where the data may not go", style="bold yellow", markup=False)
    return rows


def compile(
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="The .synspec file.", show_default=False),
    out: Path | None = typer.Option(None, "-o", "--out", help="Folder for every artifact."),
    emit: str | None = typer.Option(None, "--emit", metavar=_choices(TARGETS), callback=_one_of(TARGETS),
                                    help="Print one artifact to stdout instead."),
    style: str | None = typer.Option(None, "--style", metavar=_choices(STYLES), callback=_one_of(STYLES),
                                     help="Prompt style for --emit prompt."),
    dialect: str | None = typer.Option(None, "--dialect", metavar="NAME",
                                       help="Dialect of the emitted artifact: for --emit sql one of "
                                            + ", ".join(DIALECTS["sql"]) + " (default duckdb)."),
    examples: Path | None = typer.Option(None, "--examples",
                                         help="CSV with real rows for the seed_ex prompt."),
    n_examples: int = typer.Option(5, "--n-examples", min=1, help="How many example rows seed_ex shows."),
    seed: int = typer.Option(0, "--seed", help="Seed for choosing the example rows."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing artifacts."),
) -> None:
    """Compile a spec into prompts (4 styles), the row grammar, ir.json and the enforcement report.

    Example: synspec compile specs/diabetes.synspec -o build/diabetes
    """
    if (out is None) == (emit is None):
        raise UserError("pass exactly one of -o DIR and --emit ARTIFACT",
                        hint="e.g. synspec compile SPEC -o build/  or  synspec compile SPEC --emit grammar")
    if emit == "prompt" and style is None:
        raise UserError("--emit prompt needs --style", hint="one of: " + ", ".join(STYLES))
    if style is not None and PROMPT_STYLES[style].needs_examples and examples is None:
        raise UserError(f"the {style} style needs example rows", hint="pass --examples DATA.csv")
    _check_dialect(emit, dialect)
    spec = load_checked(spec_path)
    from synspec.api.compiling import builders

    artifacts, enforcement = builders(spec, _examples(spec, examples, n_examples, seed))
    if emit is not None:
        console.file.write(artifacts[TARGETS[emit].emitted(dialect if emit in DIALECTS else style)]())
        console.file.flush()
        raise typer.Exit(EXIT_OK)
    assert out is not None
    if out.exists() and not out.is_dir():
        raise UserError(f"output is not a folder: {out}", where=str(out), hint="pass a folder path to -o")
    existing = [n for n in artifacts if (out / n).exists()]
    if existing and not force:
        raise UserError(f"{out} already holds {', '.join(existing)}", where=str(out),
                        hint="pass --force to overwrite, or choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    for name, make in artifacts.items():
        write_text(out / name, make())
    report = enforcement()
    console.print(f"wrote {len(artifacts)} artifacts to {out} (grammar enforces "
                  f"{report['hard_rules_enforced_by_grammar']} of {report['hard_rules']} hard rules)",
                  markup=False)
    raise typer.Exit(EXIT_OK)


def _check_dialect(emit: str | None, dialect: str | None) -> None:
    """--dialect's allowed values depend on --emit (a usage error, exit 2, otherwise)."""
    if dialect is None:
        return
    offered = DIALECTS.get(emit or "")
    if offered is None:
        with_dialects = ", ".join(f"--emit {name}" for name in DIALECTS)
        raise UserError(f"--dialect applies only to {with_dialects}", where="--dialect",
                        hint=f"e.g. synspec compile SPEC --emit sql --dialect {DIALECTS['sql'][0]}")
    if dialect not in offered:
        raise UserError(f"--emit {emit} has no dialect {dialect!r}", where="--dialect",
                        hint="one of: " + ", ".join(offered))


def register(app: typer.Typer) -> None:
    app.command("compile")(compile)
