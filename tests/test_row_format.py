"""The one-line row format: every real row round-trips; quoting survives any level text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synspec import data
from synspec.passes import check_file
from synspec.targets import row_format as rf
from tests.conftest import SPECS, real_csv


def _spec(name: str):
    return check_file(SPECS / f"{name}.synspec").spec


@pytest.mark.parametrize("name", ["diabetes", "stroke", "cirrhosis"])
def test_real_rows_round_trip(name: str) -> None:
    spec = _spec(name)
    raw = data.read_raw(real_csv(name), spec).drop_duplicates()
    order = rf.column_order(spec)
    for record in raw.to_dict("records"):
        line = rf.render_row(spec, record)
        back = rf.parse_row(spec, line)
        assert rf.render_row(spec, back) == line
        for col in order:
            column = spec.column(col)
            original = record[col]
            if column.may_be_missing and original == column.missing_token:
                assert back[col] is None
            elif column.kind is column.kind.DECIMAL:
                assert float(back[col]) == float(original)
            else:
                assert back[col] == original


@given(st.text())
def test_quote_round_trips_any_text(text: str) -> None:
    cells = rf._split(rf.quote(text) + "," + rf.quote(text))
    assert cells == [(text, True), (text, True)]


def test_malformed_lines_are_rejected() -> None:
    spec = _spec("diabetes")
    good = rf.render_row(spec, {"gender": "Male", "age": "50", "hypertension": "0", "heart_disease": "0",
                                "smoking_history": "never", "bmi": "27.1", "HbA1c_level": "5",
                                "blood_glucose_level": "100", "diabetes": "0"})
    assert rf.parse_row(spec, good)["age"] == "50.00"
    for bad in (good + ",1", good.replace('"Male"', "Male"), good.replace(",", ";"), '"unterminated'):
        with pytest.raises(ValueError):
            rf.parse_row(spec, bad)
    with pytest.raises(ValueError):  # bmi may never be missing in diabetes
        rf.parse_row(spec, good.replace("27.10", rf.MISSING))


def test_column_order_is_computed_once_per_spec() -> None:
    import gc

    from synspec.targets.grammar import generation_order

    diabetes, stroke = _spec("diabetes"), _spec("stroke")
    assert rf.column_order(diabetes) is rf.column_order(diabetes)  # memoised
    assert rf.column_order(diabetes) == generation_order(diabetes)
    assert rf.column_order(stroke) == generation_order(stroke) != rf.column_order(diabetes)
    # An equal spec that is another object gets its own entry; the cache never keeps a spec alive.
    import weakref

    again = _spec("diabetes")
    assert rf.column_order(again) == rf.column_order(diabetes)
    ref = weakref.ref(again)
    del again
    gc.collect()
    assert ref() is None
