"""The API's exceptions: `SpecError` (a spec with errors) and its diagnostics.

A `SpecError` is a `synspec.errors.UserError` (something the user can fix), so one
`except synspec.UserError` catches every input problem the API reports; `.diagnostics`
holds what `synspec check` prints, one `Diagnostic` per problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from synspec import diagnostics as _diagnostics
from synspec.errors import UserError

__all__ = ["Diagnostic", "SpecError", "UserError"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a spec: a stable code (e.g. S301), where, what, and how to fix it."""

    code: str
    severity: Literal["error", "warning"]
    message: str
    path: str
    line: int
    column: int
    hint: str | None
    rendered: str  # the rustc-style text `synspec check` prints (source line and carets)
    _fields: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def location(self) -> str:
        """`path:line:column`."""
        return f"{self.path}:{self.line}:{self.column}"

    def __str__(self) -> str:
        return f"{self.location}: {self.severity} {self.code}: {self.message}"

    def to_dict(self) -> dict:
        """The fields `synspec check --format json` prints (also end line and column, notes)."""
        return dict(self._fields)

    @classmethod
    def _of(cls, diag: _diagnostics.Diagnostic) -> Diagnostic:
        d = diag.to_dict()
        return cls(code=d["code"], severity=d["severity"], message=d["message"], path=d["file"],
                   line=d["line"], column=d["column"], hint=d["help"], rendered=diag.render(), _fields=d)


class SpecError(UserError):
    """A spec that does not check: `.diagnostics` lists every problem (errors and warnings)."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...], *, where: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, where=where, hint=hint)
        self.diagnostics = diagnostics

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {d}" for d in self.errors)])
