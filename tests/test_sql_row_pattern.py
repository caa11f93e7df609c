"""The row-wide number pattern (`synspec.targets.sql.cells`), run in DuckDB: each cell's pattern
results (`w`, `k`) must be exactly what the cell's own patterns say, whether the row pattern
matched the row or not.

The engine agreement tests compare whole reports, where a wrong `k` on a missing cell is hidden
by the typed layer's guards. Here the raw layer itself is compared with Python's `re.fullmatch`
per cell, on rows that mix plain numbers, missing tokens (some of them regex syntax, some that
read as numbers), commas (the row pattern's separator), NULLs and text a pattern could
mistake for a token.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec import ir
from synspec.targets.sql import cells as sql_cells
from synspec.targets.sql.cells import ROW_PATTERN_CELLS, cells_of, plain_groups, raw_layer, source_layer
from synspec.targets.sql.dialect import DECIMAL_PATTERN, DIALECTS, INTEGER_PATTERN, decimal_pattern_within

D = DIALECTS["duckdb"]
LOC = ir.Location(path="row.synspec", line=1, column=1)
TOKENS = [None, "", "NA", "N/A", "not done", "-999", "999", "-99.999", "n.a.", "?", "1,0"]
CELLS = [None, "", "1", "-3", "2.5", "2.55", "2.555", "+.5", "5.", "007", "1e5", " 1", "abc",
         "NA", "N/A", "not done", "-999", "999", "-99.999", "n.a.", "nxa-", "?", "", "1,0", "1,", ",", "1,5"]


@st.composite
def number_columns(draw: Any) -> list[ir.Column]:
    out = []
    for position in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from([ir.ColumnKind.INTEGER, ir.ColumnKind.DECIMAL]))
        places = draw(st.one_of(st.none(), st.integers(0, 2))) if kind is ir.ColumnKind.DECIMAL else None
        out.append(ir.Column(name=f"c{position}", position=position, kind=kind, location=LOC, places=places,
                             missing_token=draw(st.sampled_from(TOKENS))))
    return out


def _spec(columns: list[ir.Column]) -> ir.Spec:
    return ir.Spec(name="row", columns=tuple(columns), path="row.synspec")


def _expected(column: ir.Column, cell: str | None) -> tuple[bool, bool]:
    """(within the places, plain number text), as the cell's own patterns say."""
    if cell is None:
        return False, False
    plain = INTEGER_PATTERN if column.kind is ir.ColumnKind.INTEGER else DECIMAL_PATTERN
    within = decimal_pattern_within(column.places) if column.places is not None else plain
    return re.fullmatch(within, cell) is not None, re.fullmatch(plain, cell) is not None


Answers = list[list[tuple[bool, bool]]]  # per row, per column: (within the places, plain text)


def _raw_layer_answers(columns: list[ir.Column], rows: list[list[str | None]]) -> Answers:
    spec_cells = cells_of(_spec(columns))
    groups = plain_groups(spec_cells)
    names = [f"s{i}" for i in range(len(columns))]
    table = pa.table({name: pa.array([row[i] for row in rows], pa.string()) for i, name in enumerate(names)})
    source = _select(source_layer(spec_cells, [D.ident(n) for n in names], groups, D), "t")
    raw = _select(raw_layer(spec_cells, groups, D), "source")
    answers = ", ".join(f"{c.within_places if c.has_places else c.matched}, {c.matched}" for c in spec_cells)
    con = duckdb.connect()
    try:
        con.register("t", table)
        got = con.execute(f"WITH source AS ({source}), raw AS ({raw}) SELECT {answers} FROM raw").fetchall()
    finally:
        con.close()
    return [[(bool(row[2 * i]), bool(row[2 * i + 1])) for i in range(len(columns))] for row in got]


def _select(items: list[str], source: str) -> str:
    return f"SELECT {', '.join(items)} FROM {source}"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data())
def test_each_cell_matches_as_its_own_patterns_say(data: st.DataObject) -> None:
    columns = data.draw(number_columns())
    pools = [CELLS + [c.missing_token] * 3 for c in columns]  # tokens often, so rows match
    rows = data.draw(st.lists(st.tuples(*(st.sampled_from(pool) for pool in pools)).map(list),
                              min_size=1, max_size=30))
    got = _raw_layer_answers(columns, rows)
    for row, answers in zip(rows, got, strict=True):
        for column, cell, answer in zip(columns, row, answers, strict=True):
            within, plain = _expected(column, cell)
            assert answer == (within if column.places is not None else plain, plain), (column, cell, row)


def _column(position: int, token: str | None = None,
            kind: ir.ColumnKind = ir.ColumnKind.INTEGER) -> ir.Column:
    return ir.Column(name=f"c{position}", position=position, kind=kind, location=LOC, missing_token=token)


def _groups(columns: list[ir.Column]) -> list[list[int]]:
    spec = _spec(columns)
    return [[cell.index for cell in group.cells] for group in plain_groups(cells_of(spec))]


def test_groups_take_number_cells_whose_tokens_are_literal_and_not_numbers() -> None:
    columns = [_column(0), _column(1, kind=ir.ColumnKind.CATEGORICAL), _column(2, "NA"), _column(3, "-999"),
               _column(4, "n.a."), _column(5, "1,0"), _column(6, "")]
    assert _groups(columns) == [[0, 2, 6]]


def test_a_lone_number_cell_is_no_group_and_wide_rows_are_split() -> None:
    assert _groups([_column(0), _column(1, "-999")]) == []
    wide = [_column(i) for i in range(2 * ROW_PATTERN_CELLS + 1)]
    assert [len(g) for g in _groups(wide)] == [ROW_PATTERN_CELLS, ROW_PATTERN_CELLS]


def test_no_row_part_matches_the_separator() -> None:
    """The exactness argument's premise, for every kind of part a row pattern is made of."""
    columns = [_column(0), _column(1, "N/A", ir.ColumnKind.DECIMAL),
               _column(2, "not done", ir.ColumnKind.DECIMAL),
               ir.Column(name="c3", position=3, kind=ir.ColumnKind.DECIMAL, location=LOC, places=2,
                         missing_token="NA")]
    for cell in cells_of(_spec(columns)):
        part = sql_cells._row_part(cell)
        assert part is not None
        for text in [",", "1,", ",1", "1,5", "N/A,", "not done,"]:
            assert re.fullmatch(part, text) is None, (part, text)


@pytest.mark.parametrize("token", ["?", "n.a.", "(x)", "a|b", "1,0", "\\d"])
def test_a_token_that_is_regex_syntax_keeps_its_cell_out(token: str) -> None:
    assert _groups([_column(0), _column(1), _column(2, token)]) == [[0, 1]]
