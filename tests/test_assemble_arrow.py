"""Reading the SQL engines' failing rows from Arrow buffers (`validation_engines.assemble`).

The report reads each check's column as "where FALSE" and the row numbers as int64, straight
from the Arrow bitmaps and buffers (pyarrow's own conversions import pandas). Arrays handed over
by an engine may be slices (an offset into shared buffers) and may hold nulls; the property test
compares the buffer reading with the values themselves on both.
"""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec.validation_engines.assemble import _false, _int64s


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.booleans()), min_size=0, max_size=70),
       cut=st.tuples(st.integers(0, 70), st.integers(0, 70)))
def test_false_is_exactly_the_false_cells_of_any_slice(values: list[bool | None],
                                                       cut: tuple[int, int]) -> None:
    start = min(cut[0], len(values))
    length = min(cut[1], len(values) - start)
    array = pa.array(values, pa.bool_()).slice(start, length)
    assert _false(array).tolist() == [v is False for v in values[start:start + length]]


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(-(2 ** 63), 2 ** 63 - 1), max_size=40), start=st.integers(0, 40))
def test_int64s_reads_any_slice(values: list[int], start: int) -> None:
    start = min(start, len(values))
    assert _int64s(pa.array(values, pa.int64()).slice(start)).tolist() == values[start:]
