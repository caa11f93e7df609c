"""`synspec docs SPEC... -o site/`: a static HTML data dictionary (argument wiring only)."""

from __future__ import annotations

from pathlib import Path

import typer

from synspec.cli.common import EXIT_OK, console, load_checked


def docs(
    specs: list[Path] = typer.Argument(..., metavar="SPEC...", show_default=False,
                                       help="The specs to document."),
    output: Path = typer.Option(..., "-o", "--output", metavar="DIR", show_default=False,
                                help="The folder to write the pages into (created if missing)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing pages."),
) -> None:
    """Write a data dictionary: one HTML page per spec (each column with its description, unit,
    type, range, levels, statistics and a plot of its declared distribution; each rule with its
    message, citation and columns; what the row grammar enforces) and an index.html.

    Exit 0 when written, 1 when a spec has errors, 2 for an input error (missing spec, existing
    pages without --force).

    Example: synspec docs specs/*.synspec -o site/
    """
    from synspec.dictionary import write_dictionary

    checked = [load_checked(path)._ir for path in specs]
    paths = write_dictionary(checked, output, force=force)
    console.print(f"wrote {len(paths)} pages to {output} (open {output / 'index.html'})", markup=False)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("docs")(docs)
