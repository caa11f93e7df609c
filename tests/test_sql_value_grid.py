"""The value grid (`synspec.targets.sql.value_grid`), run in DuckDB: the same answer as the checker.

The checker asks `np.isin(number, allowed)` on doubles. The grid asks for a bit at the number's
count of 10^-places steps. The property test draws allowed lists and numbers written with at
most `places` places (what reaches a value check), near one another and far away, and compares
the two answers.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec.targets.sql.dialect import DIALECTS
from synspec.targets.sql.value_grid import MAX_BITS, ValueGrid

D = DIALECTS["duckdb"]


def _decimal_text(units: int, places: int) -> str:
    """`units` steps of 10^-places, written with exactly `places` places."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10 ** places)
    return f"{sign}{whole}.{fraction:0{places}d}" if places else f"{sign}{whole}"


def _grid_answers(grid: ValueGrid, cells: list[str], low: float | None = None,
                  high: float | None = None) -> list[bool | None]:
    """The grid's answer per cell; with bounds, asked only within them (as a value check guarded
    by its range is), and None outside."""
    lookup = grid.sql("n", D, low, high)
    if low is not None and high is not None:
        lookup = f"CASE WHEN n BETWEEN {D.double(low)} AND {D.double(high)} THEN {lookup} END"
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (i INTEGER, n DOUBLE)")
        con.executemany("INSERT INTO t VALUES (?, CAST(? AS DOUBLE))", list(enumerate(cells)))
        rows = con.execute(f"SELECT i, {lookup} FROM t ORDER BY i").fetchall()
    finally:
        con.close()
    return [None if hit is None else bool(hit) for _, hit in rows]


@settings(max_examples=150, deadline=None)
@given(places=st.integers(0, 3),
       allowed=st.lists(st.tuples(st.integers(-2000, 2000), st.integers(0, 9)), min_size=1, max_size=20),
       probes=st.lists(st.integers(-2100, 2100), min_size=1, max_size=30))
def test_the_grid_answers_as_the_checker(places: int, allowed: list[tuple[int, int]],
                                         probes: list[int]) -> None:
    # Counts of 10^-places steps; a nonzero extra digit gives the value one place more than the
    # column allows, so it can match nothing.
    values = [float(_decimal_text(count * 10 + extra, places + 1)) for count, extra in allowed]
    grid = ValueGrid.of(values, places)
    assert (grid is None) == all(extra for _, extra in allowed)
    if grid is None:
        return
    near = [count + step for count, _ in allowed for step in (-1, 0, 1)]
    cells = [_decimal_text(count, places) for count in probes + near]
    cells += ["1" + "0" * 25, "-1" + "0" * 25]  # far beyond any grid: clamped onto a clear bit
    expected = np.isin(np.array([float(c) for c in cells]), np.array(values)).tolist()
    assert _grid_answers(grid, cells) == expected


@settings(max_examples=150, deadline=None)
@given(places=st.integers(0, 3),
       allowed=st.lists(st.integers(-300, 300), min_size=1, max_size=12),
       margins=st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
       probes=st.lists(st.integers(-500, 500), min_size=1, max_size=30))
def test_within_a_guarding_range_the_grid_answers_as_the_checker(
        places: int, allowed: list[int], margins: tuple[int, int], probes: list[int]) -> None:
    """Bounds inside the grid drop its clamps; bounds outside it keep them. Either way every number
    the range lets through gets the checker's answer, and no index leaves the grid. The bounds lie
    a few steps either side of the grid's edges (its guard bits), where a clamp is or is not due."""
    low_count = min(allowed) - margins[0]
    high_count = max(low_count, max(allowed) + margins[1])
    low, high = float(_decimal_text(low_count, places)), float(_decimal_text(high_count, places))
    values = [float(_decimal_text(count, places)) for count in allowed]
    grid = ValueGrid.of(values, places)
    assert grid is not None
    near = [low_count - 1, low_count, high_count, high_count + 1]
    cells = [_decimal_text(count, places) for count in probes + near + allowed]
    numbers = np.array([float(c) for c in cells])
    inside = (numbers >= low) & (numbers <= high)
    expected = [bool(hit) if ok else None for hit, ok in zip(np.isin(numbers, values), inside, strict=True)]
    assert _grid_answers(grid, cells, low, high) == expected


def test_a_side_bounded_inside_the_grid_is_not_clamped() -> None:
    grid = ValueGrid.of([1.0, 2.0, 5.0], places=1)  # counts 10..50: bits for 9..51
    assert grid is not None
    assert "greatest" not in grid.sql("n", D, 0.9, 5.1) and "least" not in grid.sql("n", D, 0.9, 5.1)
    assert "greatest" in grid.sql("n", D, 0.8, 5.1) and "least" not in grid.sql("n", D, 0.8, 5.1)
    assert "least" in grid.sql("n", D, 1.0, 5.2) and "greatest" in grid.sql("n", D, None, None)


def test_values_with_more_places_than_the_column_match_nothing() -> None:
    grid = ValueGrid.of([2.5, 2.55, 3.0], places=1)
    assert grid is not None and grid.first == 24 and grid.bits == "01000010"
    assert ValueGrid.of([2.55, 0.125], places=1) is None  # nothing to look up: the caller keeps the list


def test_lists_too_wide_or_too_large_keep_the_semi_join() -> None:
    assert ValueGrid.of([0.0, MAX_BITS / 100], places=2) is None
    assert ValueGrid.of([1e16, 1e16 + 2], places=0) is None
    assert ValueGrid.of([0.0, (MAX_BITS - 3) / 100], places=2) is not None


@pytest.mark.parametrize("places", [None, 0, 2])
def test_value_in_uses_the_grid_only_for_duckdb_numbers_with_known_places(places: int | None) -> None:
    values = [float(v) for v in range(10)]
    sql = D.value_in("n1", values, places)
    assert ("get_bit" in sql) == (places is not None)
    assert "get_bit" not in DIALECTS["spark"].value_in("n1", values, places)
    assert "get_bit" not in D.value_in("n1", values[:3], places)  # a short list stays a list
