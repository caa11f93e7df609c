"""The library/CLI layering: import-linter's contracts in pyproject.toml hold.

`synspec.cli` wires arguments, prints and picks exit codes; the library (data, infer,
generate, evaluate, targets, ...) never imports it, directly or through another module, so
importing the library builds no consoles and a library error is never a CLI detail.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_import_contracts_are_kept() -> None:
    # A subprocess with the checkout first on sys.path, so the graph is built from this tree.
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env=_env(), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}
