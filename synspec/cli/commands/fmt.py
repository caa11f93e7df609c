"""`synspec fmt SPEC... [--check]`: rewrite specs in the canonical layout."""

from __future__ import annotations

from pathlib import Path

import typer

from synspec.atomic import write_text
from synspec.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    UserError,
    console,
    err_console,
    print_diagnostics,
    require_file,
)


def fmt(
    specs: list[Path] = typer.Argument(..., help="One or more .synspec files.", show_default=False,
                                       metavar="SPEC"),
    check: bool = typer.Option(False, "--check",
                               help="Write nothing; list the files that would change and exit 1."),
) -> None:
    """Rewrite specs in the canonical layout (comments kept, meaning unchanged).

    In place by default. With --check nothing is written: files that would change
    are listed and the exit code is 1. A file with syntax errors is left untouched,
    its diagnostics are printed and the exit code is 1.

    Example: synspec fmt --check specs/*.synspec
    """
    from synspec.fmt import FormatError, format_source
    from synspec.source import Source

    for path in specs:
        require_file(path, "spec file", "pass the path of a .synspec file")
    findings = False
    for path in specs:
        try:
            source = Source.read(path)
        except (OSError, ValueError) as err:  # not UTF-8 text (UnicodeDecodeError), or binary
            raise UserError(f"cannot read spec {path}: {err}", where=str(path),
                            hint="check the permissions and that the file is UTF-8 text") from err
        try:
            result = format_source(source)
        except FormatError as err:
            # The formatter refuses to write a file whose meaning it would change.
            raise RuntimeError(f"{err}; the file was left unchanged") from err
        if result.text is None:
            print_diagnostics(result.diagnostics)
            console.print(f"{path}: not formatted (syntax errors)", markup=False)
            findings = True
            continue
        # A file that differs only in its BOM or line endings is already formatted in substance,
        # but its bytes still change: compare the bytes that would be written.
        on_disk = path.read_bytes()
        wanted = result.text.encode("utf-8")
        if on_disk == wanted:
            continue
        if check:
            console.print(f"would reformat {path}", markup=False)
            findings = True
        else:
            write_text(path, result.text)
            err_console.print(f"reformatted {path}", markup=False)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("fmt")(fmt)
