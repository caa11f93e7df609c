"""Each column's cells as the checker sees them, in SQL: missing, parsed, unparseable, too many places.

Mirrors `synspec.data.to_typed` exactly, column by column, so every later check reads the same
masks the pandas path computes:
- missing (`m`): NULL (a Parquet null), empty, or the column's missing token; never NULL itself;
- plain number text (`k`) and, for a decimal(p) column, plain text with at most p places (`w`);
- numbers (`n`, DOUBLE): integer/decimal text matching the plain-notation patterns, cast; boolean
  cells as 1.0 / 0.0 from their tokens; NULL where missing or unparseable;
- unparseable (`u`): present but not a value of the declared type (places aside);
- too many places (`p`): a decimal(p) number written with more than p places (value kept in `n`);
- text (`t`): a categorical cell, NULL where missing.
The names are positional (`m0`, `n3`...), so no spec name is ever spelled as an identifier here
except the source column itself, quoted by the dialect.

Number cells are tested a row at a time first (`source_layer`): one pattern over the row's number
cells joined by commas says whether every one of them is either missing or plain text within its
places (`q0`, `q1`... per group of at most `ROW_PATTERN_CELLS` cells). There, a cell matches its
patterns exactly when it is not missing. Only the other rows pay for a pattern per cell. One
regular-expression call per row instead of one per cell saved 6.3% of DuckDB's instructions on the
diabetes file and 14% on the cirrhosis file (docs/benchmarks.md). It is exact because no cell's
part of the joined pattern matches a comma: a joined row matches only if it holds no commas but
the separators, so it splits back into its own cells, each matching its own part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synspec import ir
from synspec.targets.sql.dialect import DECIMAL_PATTERN, INTEGER_PATTERN, Dialect, decimal_pattern_within

__all__ = ["ROW_PATTERN_CELLS", "ColumnCells", "PlainGroup", "cells_of", "plain_groups"]

ROW_PATTERN_CELLS = 8  # number cells per row-wide pattern: keeps each pattern's automaton small
_SEPARATOR = ","  # joins a row's number cells; no cell's part of a row pattern matches it
# Missing tokens written into a row pattern as they are: literal text in RE2, Java and POSIX ARE.
_LITERAL_TOKEN = re.compile(r"[A-Za-z0-9_ /]+")


@dataclass(frozen=True)
class ColumnCells:
    """The SQL names of one column's cell expressions (in the `typed` relation)."""

    column: ir.Column
    index: int

    @property
    def missing(self) -> str:
        return f"m{self.index}"

    @property
    def number(self) -> str:
        return f"n{self.index}"

    @property
    def text(self) -> str:
        return f"t{self.index}"

    @property
    def unparsed(self) -> str:
        return f"u{self.index}"

    @property
    def has_places(self) -> bool:
        return self.column.kind is ir.ColumnKind.DECIMAL and self.column.places is not None

    @property
    def places(self) -> str:
        """Too many decimal places; the constant FALSE for columns without declared places."""
        return f"p{self.index}" if self.has_places else "FALSE"

    @property
    def raw(self) -> str:
        return f"r{self.index}"

    @property
    def matched(self) -> str:
        return f"k{self.index}"

    @property
    def within_places(self) -> str:
        """Plain number text with at most the declared places (decimal(p) columns only)."""
        return f"w{self.index}"


def cells_of(spec: ir.Spec) -> list[ColumnCells]:
    return [ColumnCells(column, i) for i, column in enumerate(spec.columns)]


def _pattern(column: ir.Column) -> str:
    return INTEGER_PATTERN if column.kind is ir.ColumnKind.INTEGER else DECIMAL_PATTERN


def _first_pattern(cell: ColumnCells) -> str:
    """The pattern a number cell is tried against first: plain text, within the places if declared."""
    column = cell.column
    if cell.has_places:
        assert column.places is not None
        return decimal_pattern_within(column.places)
    return _pattern(column)


def _row_part(cell: ColumnCells) -> str | None:
    """The cell's part of a row pattern: its first pattern, its missing token, or nothing (an
    empty cell; a NULL one too in DuckDB and Postgres, whose `concat` reads NULL as '').

    None (the cell keeps its own patterns on every row) when a missing cell might match the
    first pattern, or when the token is not plain literal text in every regex dialect.
    """
    token = cell.column.missing_token
    if not token:
        return f"(?:{_first_pattern(cell)})?"
    if token_reads_as_number(cell.column) or not _LITERAL_TOKEN.fullmatch(token):
        return None
    return f"(?:{_first_pattern(cell)}|{token})?"


@dataclass(frozen=True)
class PlainGroup:
    """Number cells tested together: `flag` is TRUE where each is missing or matches its first pattern."""

    flag: str
    cells: tuple[ColumnCells, ...]
    parts: tuple[str, ...]  # each cell's part of the row pattern (`_row_part`)

    def test(self, source: list[str], d: Dialect) -> str:
        """The row-wide test over the `source` columns (one per spec column): the cells joined
        by the separator match their parts joined by it. `concat` is spelled alike in the three
        dialects (Spark's is NULL when a cell is: then each cell gets its own patterns).
        """
        joined = f", {d.string(_SEPARATOR)}, ".join(source[cell.index] for cell in self.cells)
        return f"COALESCE({d.full_match(f'concat({joined})', _SEPARATOR.join(self.parts))}, FALSE)"


def plain_groups(cells: list[ColumnCells]) -> list[PlainGroup]:
    """The number cells that can take part, in groups of at most ROW_PATTERN_CELLS; a lone cell
    is no group (its own pattern costs as much as a row pattern)."""
    parts = [(cell, part) for cell in cells
             if cell.column.is_numeric and (part := _row_part(cell)) is not None]
    chunks = [parts[i:i + ROW_PATTERN_CELLS] for i in range(0, len(parts), ROW_PATTERN_CELLS)]
    return [PlainGroup(f"q{j}", tuple(cell for cell, _ in chunk), tuple(part for _, part in chunk))
            for j, chunk in enumerate(chunks) if len(chunk) > 1]


def token_reads_as_number(column: ir.Column) -> bool:
    """The column's missing token is itself plain number text (e.g. `-999`).

    Only then can a missing cell match the number pattern; otherwise `k` (matched) implies
    "not missing" and the typed layer drops its `NOT m` guards (fewer operations per row).
    """
    token = column.missing_token
    return bool(token) and re.fullmatch(_pattern(column), token or "") is not None


def source_layer(cells: list[ColumnCells], source: list[str], groups: list[PlainGroup],
                 d: Dialect) -> list[str]:
    """SELECT items over the source: each cell as raw text `r`, missing `m`, each group's row test."""
    items: list[str] = []
    for cell, ref in zip(cells, source, strict=True):
        tests = [f"{ref} IS NULL", f"{ref} = ''"]
        if cell.column.missing_token not in (None, ""):
            assert cell.column.missing_token is not None
            tests.append(f"{ref} = {d.string(cell.column.missing_token)}")
        items.append(f"{ref} AS {cell.raw}")
        items.append(f"({' OR '.join(tests)}) AS {cell.missing}")
    return items + [f"{group.test(source, d)} AS {group.flag}" for group in groups]


def raw_layer(cells: list[ColumnCells], groups: list[PlainGroup], d: Dialect) -> list[str]:
    """SELECT items over the source layer: `r`, `m`, and pattern matched `k` (and `w`) for numbers."""
    flag_of = {cell.index: group.flag for group in groups for cell in group.cells}
    items: list[str] = []
    for cell in cells:
        column, r = cell.column, cell.raw
        items += [r, cell.missing]
        if not column.is_numeric:
            continue
        # Where the row pattern matched, a cell matches its patterns exactly when it is not
        # missing; the CASE tries the cell's own patterns only on the other rows (the engines
        # evaluate a branch only for the rows that reach it).
        flag = flag_of.get(cell.index)
        row_wide = f"WHEN {flag} THEN NOT {cell.missing} " if flag else ""
        first = f"COALESCE({d.full_match(r, _first_pattern(cell))}, FALSE)"
        first_where_needed = f"CASE {row_wide}ELSE {first} END" if flag else first
        if not cell.has_places:
            items.append(f"{first_where_needed} AS {cell.matched}")
            continue
        # One pattern answers both questions for the cells most files hold: plain text within
        # the places is plain text. Only the other cells pay for the second pattern (in place
        # of a LIKE on every cell: 0.1 s per column on 13 M rows in DuckDB).
        plain = f"COALESCE({d.full_match(r, _pattern(column))}, FALSE)"
        items.append(f"{first_where_needed} AS {cell.within_places}")
        items.append(f"CASE {row_wide}WHEN {first} THEN TRUE ELSE {plain} END AS {cell.matched}")
    return items


def typed_layer(cells: list[ColumnCells], d: Dialect) -> list[str]:
    """SELECT items over the raw layer: `m`, and `n`/`u`/`p` or `t` by the column's kind."""
    items: list[str] = []
    for cell in cells:
        column, r, m = cell.column, cell.raw, cell.missing
        items.append(m)
        if column.kind is ir.ColumnKind.CATEGORICAL:
            items.append(f"CASE WHEN {m} THEN NULL ELSE {r} END AS {cell.text}")
        elif column.kind is ir.ColumnKind.BOOLEAN:
            assert column.true_token is not None and column.false_token is not None
            true, false = d.string(column.true_token), d.string(column.false_token)
            # A missing cell is NULL, empty or the missing token: its number is NULL without an
            # `m` guard unless a token is empty or the missing token (S413 only warns of that).
            shadowed = {"", column.missing_token} & {column.true_token, column.false_token}
            guard = f"WHEN {m} THEN NULL " if shadowed else ""
            items.append(f"CASE {guard}WHEN {r} = {true} THEN {d.double(1)} "
                         f"WHEN {r} = {false} THEN {d.double(0)} END AS {cell.number}")
            items.append(f"(NOT {m} AND NOT ({r} = {true} OR {r} = {false})) AS {cell.unparsed}")
        else:
            # `parsed`: a present cell in plain notation. Without a number-like missing token a
            # matched cell is never missing, so `k` alone says it.
            k = cell.matched
            parsed = f"NOT {m} AND {k}" if token_reads_as_number(column) else k
            items.append(f"CASE WHEN {parsed} THEN {d.to_double(r)} END AS {cell.number}")
            items.append(f"NOT ({m} OR {k}) AS {cell.unparsed}")
            if cell.has_places:
                items.append(f"({parsed} AND NOT {cell.within_places}) AS {cell.places}")
    return items
