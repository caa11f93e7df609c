"""`synspec check SPEC...`: parse and check specs, print every diagnostic."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from synspec.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, console, print_diagnostics, require_file
from synspec.diagnostics import to_json


class Format(str, Enum):
    text = "text"
    json = "json"


def check(
    specs: list[Path] = typer.Argument(..., metavar="SPEC", help="One or more .synspec files.",
                                       show_default=False),
    format: Format = typer.Option(Format.text, "--format", help="text (for people) or json (for CI)."),
) -> None:
    """Check specs: syntax, names, types, statistics and rule sanity.

    Reports every problem of every file in one run. Exit 0 when no file has an
    error (warnings allowed), 1 when one has, 2 when a file cannot be read.

    Example: synspec check specs/*.synspec --format json
    """
    from synspec.passes import check_file

    for path in specs:
        require_file(path, "spec file", "pass the path of a .synspec file")
    results = [check_file(path) for path in specs]
    diagnostics = [d for r in results for d in r.diagnostics]
    if format is Format.json:
        console.print(to_json(diagnostics), markup=False)
    else:
        print_diagnostics(diagnostics)
        for result in results:
            errors, warnings = len(result.errors), len(result.warnings)
            status = "ok" if not errors else "failed"
            console.print(f"{result.source.path}: {status} ({errors} error{'s' * (errors != 1)}, "
                          f"{warnings} warning{'s' * (warnings != 1)})", markup=False)
    # A file that exists but cannot be decoded (S102) is an input error, not a finding.
    if any(d.code == "S102" for d in diagnostics):
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_FINDINGS if any(r.errors for r in results) else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
