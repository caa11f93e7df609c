"""Source text and spans: where a piece of a spec was written.

A `Span` is a pair of character offsets into one `Source`; line and column are
computed on demand, so nodes stay small and spans stay exact.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """Half-open character range [start, end) in a source text."""

    start: int
    end: int

    def cover(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.end, other.end))


@dataclass(frozen=True)
class Position:
    """A 1-based line and column, as editors show them."""

    line: int
    column: int


@dataclass(frozen=True)
class Source:
    """The text of one spec file and the path it was read from (for messages)."""

    path: str
    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                starts.append(i + 1)
        object.__setattr__(self, "_line_starts", tuple(starts))

    @classmethod
    def read(cls, path: str | Path) -> Source:
        """Read a spec file as UTF-8 (a BOM is dropped). OSError when it cannot be read,
        ValueError (UnicodeDecodeError among them) when it is not UTF-8 text: a NUL byte
        means a binary file even where the bytes happen to decode."""
        raw = Path(path).read_bytes()
        text = raw.decode("utf-8-sig")
        if "\x00" in text:
            raise ValueError("a binary file (it holds NUL bytes), not a text spec")
        return cls(str(path), text)

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line_index + 1, offset - self._line_starts[line_index] + 1)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line break."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def location(self, span: Span) -> str:
        """`path:line:column` of a span's start."""
        pos = self.position(span.start)
        return f"{self.path}:{pos.line}:{pos.column}"
