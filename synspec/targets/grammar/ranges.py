"""Numbers in the row grammar: scaled integer bounds, declared values and digit-range regexes.

A numeric column's values are handled as integers scaled by 10**places (`12.5` in a
decimal(1) column is 125), so every interval is exact. `scaled_range_regex` writes an
interval of such integers as a regex over their file text, whose size follows the number
of digits, never the width of the interval.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

from synspec import ir

# Open numeric ranges are bounded so that one value stays a bounded number of tokens.
UNBOUNDED = 10**15 - 1


# ---- scaled values -------------------------------------------------------------------
def decimal_places(column: ir.Column) -> int:
    """Digits after the point in the column's file text (0 for integers)."""
    return column.places or 0 if column.kind is ir.ColumnKind.DECIMAL else 0


def scaled_bounds(column: ir.Column) -> tuple[int, int]:
    """The column's range as integers scaled by 10**places (open ends bounded)."""
    return _scaled_bounds(column.low, column.high, decimal_places(column))


@functools.lru_cache(maxsize=4096)
def _scaled_bounds(low: float | None, high: float | None, places: int) -> tuple[int, int]:
    # Cached: the rule analyser asks once per comparison, and exact Fractions are not cheap.
    unit = 10 ** places
    lo = -UNBOUNDED if low is None else math.ceil(Fraction(str(low)) * unit)
    hi = UNBOUNDED if high is None else math.floor(Fraction(str(high)) * unit)
    return lo, hi


def scale_value(column: ir.Column, text: str) -> int:
    """File text of a numeric column as a scaled integer (digits past the places dropped)."""
    return int(Fraction(text.strip()) * 10 ** decimal_places(column))


def scaled_values(column: ir.Column) -> tuple[int, ...]:
    """The declared values of a values-column (`Column.values`) as scaled integers, ascending.

    ValueError if one cannot be written with the column's decimal places or lies outside
    its range: the grammar could never produce it.
    """
    unit = 10 ** decimal_places(column)
    lo, hi = scaled_bounds(column)
    out = []
    for value, _share in column.values:
        scaled = Fraction(str(value)) * unit
        if scaled.denominator != 1:
            raise ValueError(f"value {value:g} of column {column.name} has more than its "
                             f"{decimal_places(column)} decimal places")
        if not lo <= scaled.numerator <= hi:
            raise ValueError(f"value {value:g} of column {column.name} is outside its range")
        out.append(scaled.numerator)
    return tuple(sorted(out))


def number_text(column: ir.Column, scaled: int) -> str:
    """The file text of a scaled integer: exactly the column's decimal places, no leading zeros."""
    places = decimal_places(column)
    whole, frac = divmod(abs(scaled), 10**places)
    sign = "-" if scaled < 0 else ""
    return sign + str(whole) + (f".{str(frac).zfill(places)}" if places else "")


# ---- digit-range regexes ---------------------------------------------------------------
def _digit_class(a: int, b: int) -> str:
    return str(a) if a == b else ("[0-9]" if (a, b) == (0, 9) else f"[{a}-{b}]")


def _any_digits(n: int) -> str:
    return "" if n == 0 else ("[0-9]" if n == 1 else f"[0-9]{{{n}}}")


def _same_width(lo: str, hi: str) -> list[str]:
    """Patterns for the digit strings of len(lo) between lo and hi (inclusive, zeros allowed)."""
    if lo == hi:
        return [lo]
    i = next(k for k in range(len(lo)) if lo[k] != hi[k])
    prefix, a, b, rest = lo[:i], int(lo[i]), int(hi[i]), len(lo) - i - 1
    out: list[str] = []
    start, end, tail = a, b, []
    if rest and lo[i + 1:] != "0" * rest:
        out += [prefix + str(a) + s for s in _same_width(lo[i + 1:], "9" * rest)]
        start = a + 1
    if rest and hi[i + 1:] != "9" * rest:
        tail = [prefix + str(b) + s for s in _same_width("0" * rest, hi[i + 1:])]
        end = b - 1
    if start <= end:
        out.append(prefix + _digit_class(start, end) + _any_digits(rest))
    return out + tail


def natural_range(lo: int, hi: int) -> list[str]:
    """Patterns for the canonical spellings (no leading zeros) of the integers lo..hi >= 0."""
    out: list[str] = []
    # Widest first: a regex alternation takes the first branch that matches, and lexers
    # (Lark's among them) must see the longest number, not a prefix of it.
    for width in range(len(str(hi)), len(str(lo)) - 1, -1):
        a = max(lo, 10 ** (width - 1) if width > 1 else 0)
        b = min(hi, 10**width - 1)
        if a <= b:
            out += _same_width(str(a), str(b))
    return out


def fixed_range(lo: int, hi: int, width: int) -> list[str]:
    """Patterns for lo..hi written with exactly `width` digits (leading zeros)."""
    return _same_width(str(lo).zfill(width), str(hi).zfill(width))


def _alt(patterns: list[str]) -> str:
    return patterns[0] if len(patterns) == 1 else "(?:" + "|".join(patterns) + ")"


def _magnitude(lo: int, hi: int, places: int) -> list[str]:
    """Patterns for lo..hi (>= 0, scaled by 10**places) written with exactly `places` places."""
    if places == 0:
        return natural_range(lo, hi)
    unit = 10**places
    (ilo, flo), (ihi, fhi) = divmod(lo, unit), divmod(hi, unit)
    if ilo == ihi:
        return [_alt(natural_range(ilo, ilo)) + r"\." + _alt(fixed_range(flo, fhi, places))]
    out = [_alt(natural_range(ilo, ilo)) + r"\." + _alt(fixed_range(flo, unit - 1, places))]
    if ilo + 1 <= ihi - 1:
        out.append(_alt(natural_range(ilo + 1, ihi - 1)) + r"\." + _any_digits(places))
    out.append(_alt(natural_range(ihi, ihi)) + r"\." + _alt(fixed_range(0, fhi, places)))
    return out


def scaled_range_regex(lo: int, hi: int, places: int) -> str:
    """A regex for the values lo..hi (integers scaled by 10**places), signs included."""
    parts: list[str] = []
    if lo < 0:
        parts.append("-" + _alt(_magnitude(max(1, -hi), -lo, places)))
    if hi >= 0:
        parts += _magnitude(max(lo, 0), hi, places)
    return _alt(parts)
