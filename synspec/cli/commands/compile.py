"""`synspec compile SPEC -o DIR`: write every compiler artifact (prompts, row grammar, IR,
enforcement report), or print one of them with --emit."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import partial
from pathlib import Path

import typer

from synspec.atomic import write_text
from synspec.cli.common import EXIT_OK, UserError, console, err_console, load_spec, require_file


class Emit(str, Enum):
    prompt = "prompt"
    grammar = "grammar"
    ir = "ir"
    enforcement = "enforcement"


class Style(str, Enum):
    seed_ex = "seed_ex"
    featdesc = "featdesc"
    statguide = "statguide"
    clin_rule = "clin_rule"


def _examples(spec, path: Path | None, k: int, seed: int):
    if path is None:
        return None
    import numpy as np

    from synspec import data

    require_file(path, "examples file", "pass a CSV file with the spec's columns")
    raw = data.read_complete(path, spec, "examples file")
    if raw.empty:
        raise UserError(f"examples file has no rows: {path}", where=str(path))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(raw), size=min(k, len(raw)), replace=False))
    err_console.print(f"warning: putting {len(pick)} real rows from {path} into the seed_ex prompt; "
                      "do not share this prompt where the data may not go", style="bold yellow", markup=False)
    return raw.iloc[pick].reset_index(drop=True)


def compile(
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="The .synspec file.", show_default=False),
    out: Path | None = typer.Option(None, "-o", "--out", help="Folder for every artifact."),
    emit: Emit | None = typer.Option(None, "--emit", help="Print one artifact to stdout instead."),
    style: Style | None = typer.Option(None, "--style", help="Prompt style for --emit prompt."),
    examples: Path | None = typer.Option(None, "--examples",
                                         help="CSV with real rows for the seed_ex prompt."),
    n_examples: int = typer.Option(5, "--n-examples", min=1, help="How many example rows seed_ex shows."),
    seed: int = typer.Option(0, "--seed", help="Seed for choosing the example rows."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing artifacts."),
) -> None:
    """Compile a spec into prompts (4 styles), the row grammar, ir.json and the enforcement report.

    Example: synspec compile specs/diabetes.synspec -o build/diabetes
    """
    from synspec.targets import enforcement as enf
    from synspec.targets.grammar import row_grammar
    from synspec.targets.prompt import render_prompt

    if (out is None) == (emit is None):
        raise UserError("pass exactly one of -o DIR and --emit ARTIFACT",
                        hint="e.g. synspec compile SPEC -o build/  or  synspec compile SPEC --emit grammar")
    if emit is Emit.prompt and style is None:
        raise UserError("--emit prompt needs --style", hint="one of: seed_ex, featdesc, statguide, clin_rule")
    if style is Style.seed_ex and examples is None:
        raise UserError("the seed_ex style needs example rows", hint="pass --examples DATA.csv")
    spec = load_spec(spec_path)
    rows = _examples(spec, examples, n_examples, seed)
    grammar = row_grammar(spec)
    report = enf.enforcement(spec, grammar)
    artifacts: dict[str, Callable[[], str]] = {
        f"prompt.{s.value}.txt": partial(render_prompt, spec, s.value, examples=rows)
        for s in Style if s is not Style.seed_ex or rows is not None}
    artifacts.update({
        "row.lark": lambda: grammar.lark,
        "ir.json": lambda: spec.model_dump_json(indent=2) + "\n",
        "enforcement.json": lambda: enf.to_json(report),
        "enforcement.md": lambda: enf.to_markdown(report),
    })
    if emit is not None:
        name = {Emit.grammar: "row.lark", Emit.ir: "ir.json", Emit.enforcement: "enforcement.json",
                Emit.prompt: f"prompt.{style.value if style else ''}.txt"}[emit]
        console.file.write(artifacts[name]())
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
    console.print(f"wrote {len(artifacts)} artifacts to {out} (grammar enforces "
                  f"{report['hard_rules_enforced_by_grammar']} of {report['hard_rules']} hard rules)",
                  markup=False)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("compile")(compile)
