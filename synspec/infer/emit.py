"""Writing inferred facts as spec text in the canonical layout.

Owns quoting: every name, level and string taken from the data is escaped here, so
nothing from a CSV can change the meaning of the emitted spec. The layout is the one
`synspec fmt` produces: 2-space indent, one property per line, a blank line between
blocks.
"""

from __future__ import annotations

import math
import re

from synspec.parse import keywords

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")
# Words of the language, read from its grammar: written quoted even where the parser would
# accept them bare, so a spec never depends on where a keyword happens to be allowed.
KEYWORDS = keywords()


def string(text: str) -> str:
    """A "string" literal whose unescaped value is exactly `text`."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def name(text: str) -> str:
    """A column or dataset name: bare when it is a plain word, `quoted` otherwise."""
    if _NAME.fullmatch(text) and text not in KEYWORDS:
        return text
    return f"`{text}`"


def level(text: str) -> str:
    """A level as it must be written so that its value is exactly `text`."""
    if (_NAME.fullmatch(text) and text not in KEYWORDS) or _NUMBER.fullmatch(text):
        return text
    return string(text)


def number(value: float, places: int) -> str:
    """`value` rounded to `places` decimals, without trailing zeros or a negative zero."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def share(value: float) -> str:
    """A share in [0, 1]: 4 decimals, more when that would hide a small nonzero share."""
    if value == 0 or value == 1:
        return str(int(value))
    places = 4
    while round(value, places) == 0 and places < 12:
        places += 1
    return number(value, places)


def stat_places(places: int, scale: float) -> int:
    """Decimals for a mean, sd or quantile: two beyond the data's, enough for small scales."""
    out = places + 2
    if scale > 0 and math.isfinite(scale):
        out = max(out, 3 - math.floor(math.log10(scale)))
    return min(out, 12)
