"""DataFrames in and out of the API: user frames to the cell texts synspec checks, and
generated cell texts to typed columns.

`to_cells` accepts what people hold in a notebook: strings as read with `dtype=str`, numbers,
bools, pandas' nullable dtypes, categoricals, the frames `Spec.generate` returns; missing is
None/NaN/NA (or the column's missing token as text). Decimal columns given as floats are
written with the declared places when that keeps the value, else as `repr` (then the places
check reports them). `typed` is the other way: integer -> Int64, decimal -> float64,
boolean -> boolean, categorical -> category with the declared levels.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synspec import data, ir

__all__ = ["to_cells", "typed"]


def to_cells(spec: ir.Spec, frame: pd.DataFrame, what: str = "DataFrame") -> pd.DataFrame:
    """The frame's cells as text (None where missing), columns checked against the spec,
    rows renumbered 0..n-1 (the caller keeps `frame.index` to name rows)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame or a path, got {type(frame).__name__}")
    data.check_header([str(c) for c in frame.columns], spec, Path(what))
    cells = {}
    for column in spec.columns:
        values = frame[column.name].to_numpy(dtype=object)
        cells[column.name] = pd.Series([_cell(column, v) for v in values], dtype=object)
    return pd.DataFrame(cells, index=pd.RangeIndex(len(frame)))


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _cell(column: ir.Column, value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, str):
        return value
    kind = column.kind
    if isinstance(value, bool | np.bool_):
        if kind is ir.ColumnKind.BOOLEAN:
            return column.true_token if value else column.false_token
        return str(bool(value))
    if isinstance(value, Integral):
        if kind is ir.ColumnKind.BOOLEAN and int(value) in (0, 1):
            return _boolean_number(column, int(value))
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        if kind is ir.ColumnKind.BOOLEAN and number in (0.0, 1.0):
            return _boolean_number(column, int(number))
        if kind is ir.ColumnKind.INTEGER and number.is_integer():
            return str(int(number))
        if kind is ir.ColumnKind.DECIMAL and column.places is not None and math.isfinite(number):
            text = f"{number:.{column.places}f}"
            if float(text) == number:
                return text
        return repr(number)
    return str(value)


def _boolean_number(column: ir.Column, value: int) -> str:
    """1/0 in a boolean column: the tokens themselves when they are 1/0, else true/false."""
    text = str(value)
    if text in (column.true_token, column.false_token):
        return text
    assert column.true_token is not None and column.false_token is not None
    return column.true_token if value else column.false_token


def typed(spec: ir.Spec, cells: pd.DataFrame) -> pd.DataFrame:
    """Cell texts (as `synspec run` writes them) as typed columns."""
    frame = data.to_typed(cells, spec).frame
    out: dict[str, Any] = {}
    for column in spec.columns:
        values = frame[column.name]
        if column.kind is ir.ColumnKind.INTEGER:
            out[column.name] = values.astype("Int64")
        elif column.kind is ir.ColumnKind.DECIMAL:
            out[column.name] = values.astype("float64")
        elif column.kind is ir.ColumnKind.BOOLEAN:
            out[column.name] = values.map({1.0: True, 0.0: False}).astype("boolean")
        else:
            out[column.name] = pd.Categorical(values, categories=list(column.levels))
    return pd.DataFrame(out, index=cells.index)
