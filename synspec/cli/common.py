"""What every command shares: exit codes, consoles, printing user errors, loading a spec.

A `UserError` (`synspec.errors`) is anything the user can fix; `synspec.cli.main` prints it
as one message with a location and a hint and exits 2. File checks live in `synspec.files`
(library code raises them too); `UserError` and `require_file` are importable from here as
well because commands use them next to the consoles.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from synspec.errors import UserError
from synspec.files import require_file

if TYPE_CHECKING:
    from synspec import ir
    from synspec.api.spec import Spec

__all__ = ["EXIT_FINDINGS", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "UserError", "console", "err_console",
           "load_checked", "load_spec", "print_diagnostics", "print_user_error", "require_file"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_user_error(err: UserError) -> None:
    err_console.print(f"error: {err.message}", style="bold red", markup=False)
    if err.where:
        err_console.print(f"  --> {err.where}", markup=False)
    if err.hint:
        err_console.print(f"  = help: {err.hint}", markup=False)


def print_diagnostics(diagnostics, *, stream=None) -> None:
    """Render diagnostics (the checker's, or the API's `Diagnostic`s) for a terminal
    (coloured) or a pipe (plain)."""
    target = err_console if stream is sys.stderr else console
    for diag in diagnostics:
        text = diag.rendered if hasattr(diag, "rendered") else diag.render()
        head, _, rest = text.partition("\n")
        error = diag.severity == "error" if hasattr(diag, "rendered") else diag.is_error
        style = "bold red" if error else "bold yellow"
        target.print(head, style=style, markup=False)
        target.print(rest, markup=False)
        target.print()


def load_spec(path: Path) -> ir.Spec:
    """`load_checked`'s IR (for tests and benchmarks that work on the IR)."""
    return load_checked(path)._ir


def load_checked(path: Path) -> Spec:
    """Check a spec for a command that needs a valid one (`synspec.Spec.load`).

    A missing or unreadable file (not UTF-8 text, binary, no permission) is an input error
    (exit 2, as in every command); a spec with errors prints its diagnostics and exits 1, as
    `synspec check` would.
    """
    from synspec.api.errors import SpecError
    from synspec.api.spec import Spec

    require_file(path, "spec file", "pass the path of a .synspec file, e.g. specs/diabetes.synspec")
    try:
        return Spec.load(path)
    except SpecError as err:
        unreadable = next((d for d in err.diagnostics if d.code == "S102"), None)
        if unreadable is not None:
            reason = unreadable.message.removeprefix("cannot read spec: ")
            raise UserError(f"cannot read spec {path}: {reason}", where=str(path),
                            hint=unreadable.hint or "check the path and that the file is UTF-8 text",
                            ) from None
        print_diagnostics(err.diagnostics, stream=sys.stderr)
        n = len(err.errors)
        err_console.print(f"error: {path} has {n} error{'s' if n != 1 else ''}; "
                          "fix them first (synspec check shows them)", style="bold red", markup=False)
        raise SystemExit(EXIT_FINDINGS) from None
