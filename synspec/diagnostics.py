"""Diagnostics: every problem synspec finds in what a user wrote.

One registry (`CODES`) holds every stable code with its severity and summary; a
`Diagnostic` points at a span and renders as rustc-style text or as JSON. The
"did you mean" helper lives here so every pass suggests names the same way.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from synspec.source import Source, Span


class Severity(str, Enum):  # noqa: UP042 (str() must stay as before for users)
    ERROR = "error"
    WARNING = "warning"


# Stable codes. S1xx: syntax; S2xx: names; S3xx: types; S4xx: declarations and
# statistics; S5xx: rule sanity. Never renumber a code: users grep for them.
CODES: dict[str, tuple[Severity, str]] = {
    "S100": (Severity.ERROR, "syntax error"),
    "S101": (Severity.ERROR, "unterminated string or unexpected character"),
    "S102": (Severity.ERROR, "file cannot be read"),
    "S103": (Severity.ERROR, "unknown escape in a string"),
    "S201": (Severity.ERROR, "unknown column"),
    "S202": (Severity.ERROR, "unknown category level"),
    "S203": (Severity.ERROR, "duplicate column"),
    "S204": (Severity.ERROR, "duplicate rule"),
    "S205": (Severity.ERROR, "target or key is not a declared column"),
    "S206": (Severity.ERROR, "duplicate property"),
    "S207": (Severity.ERROR, "duplicate level"),
    "S208": (Severity.WARNING, "name is both a column and a level"),
    "S301": (Severity.ERROR, "type mismatch in rule"),
    "S302": (Severity.ERROR, "arithmetic on a non-numeric column"),
    "S303": (Severity.ERROR, "property not allowed for this column type"),
    "S304": (Severity.ERROR, "categorical column without levels"),
    "S305": (Severity.ERROR, "invalid boolean encoding"),
    "S306": (Severity.ERROR, "missingness test on a non-column"),
    "S401": (Severity.ERROR, "range minimum is greater than maximum"),
    "S402": (Severity.ERROR, "mean outside the declared range"),
    "S403": (Severity.ERROR, "standard deviation must be positive"),
    "S404": (Severity.ERROR, "frequencies name an unknown level"),
    "S405": (Severity.ERROR, "frequencies or values do not sum to 1"),
    "S406": (Severity.ERROR, "correlation outside [-1, 1]"),
    "S407": (Severity.ERROR, "correlation on a non-numeric column"),
    "S408": (Severity.ERROR, "share outside [0, 1]"),
    "S409": (Severity.ERROR, "value must be a non-negative integer"),
    "S410": (Severity.ERROR, "quantiles out of order or outside the range"),
    "S411": (Severity.ERROR, "soft expectation without a share, or hard rule with one"),
    "S412": (Severity.ERROR, "duplicate correlation"),
    "S413": (Severity.WARNING, "missing token also used as a level"),
    "S414": (Severity.ERROR, "a declared value outside the range or finer than the column's type"),
    "S415": (Severity.ERROR, "a value listed twice"),
    "S416": (Severity.ERROR, "a statistic given a column that is not categorical or boolean, or itself"),
    "S417": (Severity.ERROR, "a declared statistic contradicts a hard rule"),
    "S418": (Severity.ERROR, "a number too large to be finite"),
    "S419": (Severity.ERROR, "no value of the column's type lies in its range"),
    "S501": (Severity.WARNING, "rule can never be true"),
    "S502": (Severity.WARNING, "rule is always true"),
    "S503": (Severity.WARNING, "literal outside the column's range"),
    "S504": (Severity.ERROR, "no row can satisfy the hard rules"),
}


@dataclass(frozen=True)
class Note:
    """A secondary location that helps explain a diagnostic."""

    message: str
    location: str


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    source: Source
    span: Span
    label: str = ""
    help: str | None = None
    notes: tuple[Note, ...] = field(default=())

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict:
        start = self.source.position(self.span.start)
        end = self.source.position(self.span.end)
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.source.path,
            "line": start.line,
            "column": start.column,
            "end_line": end.line,
            "end_column": end.column,
            "label": self.label,
            "help": self.help,
            "notes": [{"message": n.message, "location": n.location} for n in self.notes],
        }

    def render(self) -> str:
        """rustc-style text: header, location, source line with carets, help."""
        start = self.source.position(self.span.start)
        end = self.source.position(self.span.end)
        line_text = self.source.line_text(start.line)
        width = len(str(start.line))
        pad = " " * width
        if end.line == start.line:
            caret_len = max(1, end.column - start.column)
        else:
            caret_len = max(1, len(line_text) - start.column + 1)
        caret = " " * (start.column - 1) + "^" * caret_len
        lines = [
            f"{self.severity.value}[{self.code}]: {self.message}",
            f"{pad}--> {self.source.path}:{start.line}:{start.column}",
            f"{pad} |",
            f"{start.line} | {line_text}",
            f"{pad} | {caret}{(' ' + self.label) if self.label else ''}",
        ]
        for note in self.notes:
            lines.append(f"{pad} = note: {note.message} ({note.location})")
        if self.help:
            lines.append(f"{pad} = help: {self.help}")
        return "\n".join(lines)


def make(code: str, message: str, source: Source, span: Span, *, label: str = "",
         help: str | None = None, notes: Iterable[Note] = ()) -> Diagnostic:
    """Build a diagnostic with a registered code (unknown codes are a bug)."""
    if code not in CODES:
        raise KeyError(f"unregistered diagnostic code {code}")
    return Diagnostic(code, message, source, span, label, help, tuple(notes))


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt name, or None when nothing is close.

    Case is ignored when matching so `hba1c_level` finds `HbA1c_level`.
    """
    pool = list(dict.fromkeys(candidates))
    if not pool:
        return None
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def render_all(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n\n".join(d.render() for d in diagnostics)


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)


def sort_key(d: Diagnostic) -> tuple:
    return (d.source.path, d.span.start, d.code)
