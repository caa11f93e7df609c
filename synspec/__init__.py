"""synspec: a compiler from dataset specs to synthetic medical tables.

The public Python API (docs/api.md) is importable from here; names load on first use, so
`import synspec` (and the command line's start-up) stays light.

>>> import synspec
>>> spec = synspec.Spec.from_text("dataset tiny\\ncolumn x: integer\\n  range 1 to 3\\n")
>>> spec.columns
['x']
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synspec.api.errors import Diagnostic, SpecError, UserError
    from synspec.api.evaluation import EvaluationResult, evaluate
    from synspec.api.formatting import format_spec
    from synspec.api.generation import RunSummary
    from synspec.api.inference import infer
    from synspec.api.spec import Spec
    from synspec.api.validation import ValidationReport
    from synspec.generate.engines.server import ServerSettings

__all__ = [
    "Diagnostic",
    "EvaluationResult",
    "RunSummary",
    "ServerSettings",
    "Spec",
    "SpecError",
    "UserError",
    "ValidationReport",
    "__version__",
    "evaluate",
    "format_spec",
    "infer",
]

# public name -> the module that defines it
_HOMES = {
    "Diagnostic": "synspec.api.errors",
    "SpecError": "synspec.api.errors",
    "UserError": "synspec.errors",
    "EvaluationResult": "synspec.api.evaluation",
    "evaluate": "synspec.api.evaluation",
    "format_spec": "synspec.api.formatting",
    "RunSummary": "synspec.api.generation",
    "infer": "synspec.api.inference",
    "ServerSettings": "synspec.generate.engines.server",
    "Spec": "synspec.api.spec",
    "ValidationReport": "synspec.api.validation",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("synspec")
        except metadata.PackageNotFoundError:
            return "0+unknown"
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'synspec' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# `synspec.evaluate` and `synspec.infer` are API functions and also subpackages. Importing a
# subpackage sets the parent's attribute to it; this keeps the function there (the subpackage
# stays importable by name: `from synspec.infer import infer_spec` reads sys.modules).
_FUNCTIONS_OVER_PACKAGES = frozenset({"evaluate", "infer"})


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS_OVER_PACKAGES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
