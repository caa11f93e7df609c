"""The compact one-line row format shared by the grammar, the prompts and the generator.

A row is the generated (non-key) columns' values in GENERATION order (`column_order`),
separated by ",", with no spaces:
- numbers as plain decimal text, decimals with exactly the declared places (`12` in a
  decimal(1) column is written `12.0`), so one value has one spelling;
- categorical levels always in double quotes, `"` and `\\` escaped with a backslash, so a
  level may hold commas, quotes or any unicode;
- boolean tokens bare when they are plain words (`1`, `Y`, `Yes`), quoted like levels otherwise;
- a missing value as the bare token `NA` (never ambiguous: numbers never read `NA` and
  levels are quoted).
docs/row-format.md documents the format for people; the grammar enforces exactly this.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from synspec import ir
from synspec.targets.order import generation_order

SEPARATOR = ","
MISSING = "NA"
_BARE = re.compile(r"[A-Za-z0-9_]+")


def column_order(spec: ir.Spec) -> tuple[str, ...]:
    """Generated columns in generation order (antecedents of the rules before consequents);
    computed once per spec object (`generation_order` is memoised), since `render_row` and
    `parse_row` need it for every row."""
    return generation_order(spec)


def quote(text: str) -> str:
    """A level as it appears in a row: in double quotes, `"` and `\\` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def boolean_is_bare(token: str) -> bool:
    """Boolean tokens are written bare when that cannot be confused with anything else."""
    return bool(_BARE.fullmatch(token)) and token != MISSING


def render_value(column: ir.Column, value: str | None) -> str:
    """One cell (file text, None for missing) in the row format."""
    if value is None:
        if not column.may_be_missing:
            raise ValueError(f"column {column.name} may not be missing")
        return MISSING
    if column.kind is ir.ColumnKind.CATEGORICAL:
        return quote(value)
    if column.kind is ir.ColumnKind.BOOLEAN:
        return value if boolean_is_bare(value) else quote(value)
    if column.kind is ir.ColumnKind.DECIMAL:
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"column {column.name}: not a number: {value!r}") from exc
        return f"{number:.{column.places or 0}f}"
    text = value.strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError(f"column {column.name}: not an integer: {value!r}")
    return str(int(text))  # drops leading zeros and "-0": one spelling per value


def render_row(spec: ir.Spec, values: dict[str, str | None]) -> str:
    """The row line for `values` (column -> file text, None or the missing token for missing)."""
    cells = []
    for name in column_order(spec):
        column = spec.column(name)
        value = values.get(name)
        if value is not None and column.may_be_missing and value == column.missing_token:
            value = None
        cells.append(render_value(column, value))
    return SEPARATOR.join(cells)


def _split(line: str) -> list[tuple[str, bool]]:
    """Cells of a line as (text, was_quoted); ValueError on a malformed line."""
    cells: list[tuple[str, bool]] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            out = []
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unterminated quoted value")
                ch = line[i]
                if ch == "\\":
                    if i + 1 >= n or line[i + 1] not in '"\\':
                        raise ValueError(f"bad escape at character {i + 1}")
                    out.append(line[i + 1])
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                else:
                    out.append(ch)
                    i += 1
            cells.append(("".join(out), True))
        else:
            j = line.find(SEPARATOR, i)
            j = n if j < 0 else j
            cells.append((line[i:j], False))
            i = j
        if i == n:
            return cells
        if line[i] != SEPARATOR:
            raise ValueError(f"expected {SEPARATOR!r} at character {i + 1}")
        i += 1


def parse_row(spec: ir.Spec, line: str) -> dict[str, str | None]:
    """Column -> file text (None for missing) of a row line; ValueError if malformed."""
    order = column_order(spec)
    cells = _split(line)
    if len(cells) != len(order):
        raise ValueError(f"expected {len(order)} values, got {len(cells)}")
    out: dict[str, str | None] = {}
    for name, (text, quoted) in zip(order, cells, strict=True):
        column = spec.column(name)
        if not quoted and text == MISSING:
            if not column.may_be_missing:
                raise ValueError(f"column {name} may not be missing")
            out[name] = None
        elif column.kind is ir.ColumnKind.CATEGORICAL:
            if not quoted:
                raise ValueError(f"column {name}: levels are quoted")
            out[name] = text
        elif column.kind is ir.ColumnKind.BOOLEAN:
            if quoted == boolean_is_bare(text):
                raise ValueError(f"column {name}: badly quoted boolean {text!r}")
            out[name] = text
        else:
            if quoted:
                raise ValueError(f"column {name}: numbers are not quoted")
            out[name] = text
    return out
