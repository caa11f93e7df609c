"""What every command shares: exit codes, consoles, user errors, loading a spec.

A `UserError` is anything the user can fix (missing file, bad flag value, unreadable
CSV); it prints one message with a location and a hint and exits 2, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from synspec import ir

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class UserError(Exception):
    """An input or usage error: what went wrong, where, and how to fix it."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def print(self) -> None:
        err_console.print(f"error: {self.message}", style="bold red", markup=False)
        if self.where:
            err_console.print(f"  --> {self.where}", markup=False)
        if self.hint:
            err_console.print(f"  = help: {self.hint}", markup=False)


def require_file(path: Path, what: str, hint: str | None = None) -> Path:
    """The path if it is a readable file; a UserError naming it otherwise."""
    if not path.exists():
        raise UserError(f"{what} not found: {path}", where=str(path),
                        hint=hint or "check the path (relative paths start in the current directory)")
    if not path.is_file():
        raise UserError(f"{what} is not a file: {path}", where=str(path), hint=hint)
    return path


def print_diagnostics(diagnostics, *, stream=None) -> None:
    """Render diagnostics for a terminal (coloured) or a pipe (plain)."""
    target = err_console if stream is sys.stderr else console
    for diag in diagnostics:
        text = diag.render()
        head, _, rest = text.partition("\n")
        style = "bold red" if diag.is_error else "bold yellow"
        target.print(head, style=style, markup=False)
        target.print(rest, markup=False)
        target.print()


def load_spec(path: Path) -> ir.Spec:
    """Check a spec for a command that needs a valid one.

    A missing file is a usage error (exit 2); a spec with errors prints its
    diagnostics and exits 1, as `synspec check` would.
    """
    from synspec.passes import check_file

    require_file(path, "spec file", "pass the path of a .synspec file, e.g. specs/diabetes.synspec")
    result = check_file(path)
    if result.spec is None:
        print_diagnostics(result.diagnostics, stream=sys.stderr)
        n = len(result.errors)
        err_console.print(f"error: {path} has {n} error{'s' if n != 1 else ''}; "
                          "fix them first (synspec check shows them)", style="bold red", markup=False)
        raise SystemExit(EXIT_FINDINGS)
    return result.spec
