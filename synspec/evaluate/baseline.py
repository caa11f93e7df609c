"""The baseline table: rows drawn independently from the spec's declared marginals, no model.

Same size as the synthetic table. Numerics follow the declared quantiles (piecewise-linear
inverse CDF through the range ends and the quantiles), else a normal from mean/sd, else a
uniform over the range; clipped to the range and rounded to the declared places. Categoricals
and booleans follow the declared frequencies (uniform over the levels when none are declared).
Each column is missing at its declared rate; key columns are numbered 1..n. Every column is
independent of every other, so whatever the model beats this table by is what it adds.
The table is returned as file text (a raw frame) so it goes through `data.to_typed` like a file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synspec import ir


def _numeric(column: ir.Column, n: int, rng: np.random.Generator) -> np.ndarray:
    low = column.low if column.low is not None else -np.inf
    high = column.high if column.high is not None else np.inf
    if column.quantiles:
        probs = [q / 100 for q, _ in column.quantiles]
        values = [v for _, v in column.quantiles]
        # Anchor the tails at the range ends (or extrapolate by the outer quantile gaps).
        if probs[0] > 0:
            first = column.low if column.low is not None else values[0] - (values[-1] - values[0])
            probs, values = [0.0, *probs], [first, *values]
        if probs[-1] < 1:
            last = column.high if column.high is not None else values[-1] + (values[-1] - values[0])
            probs, values = [*probs, 1.0], [*values, last]
        drawn = np.interp(rng.random(n), probs, values)
    elif column.mean is not None and column.sd is not None:
        drawn = rng.normal(column.mean, column.sd, n)
    elif column.low is not None and column.high is not None:
        drawn = rng.uniform(column.low, column.high, n)
    else:
        drawn = np.full(n, column.mean if column.mean is not None else 0.0)
    places = column.places if column.kind is ir.ColumnKind.DECIMAL and column.places is not None else 0
    rounded = np.round(np.clip(drawn, low, high), places)
    # Rounding can step outside the range by half a unit: step back inside it.
    step = 10.0**-places
    if column.low is not None:
        rounded = np.where(rounded < column.low, rounded + step, rounded)
    if column.high is not None:
        rounded = np.where(rounded > column.high, rounded - step, rounded)
    return np.round(rounded, places)


def _text(column: ir.Column, values: np.ndarray) -> np.ndarray:
    if column.kind is ir.ColumnKind.DECIMAL:
        return np.array([f"{v:.{column.places or 0}f}" for v in values], dtype=object)
    return np.array([str(int(v)) for v in values], dtype=object)


def _choice(column: ir.Column, n: int, rng: np.random.Generator) -> np.ndarray:
    options: list[str]
    if column.kind is ir.ColumnKind.BOOLEAN:
        assert column.true_token is not None and column.false_token is not None
        options = [column.true_token, column.false_token]
    else:
        options = list(column.levels)
    shares = dict(column.frequencies)
    weights = np.array([shares.get(o, 0.0) for o in options], dtype=float)
    if weights.sum() <= 0:
        weights = np.ones(len(options))
    return rng.choice(np.array(options, dtype=object), size=n, p=weights / weights.sum())


def baseline_raw(spec: ir.Spec, n: int, seed: int) -> pd.DataFrame:
    """`n` rows of file text drawn from the spec's marginals (see the module docstring)."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for column in spec.columns:
        if column.is_key:
            data[column.name] = np.array([str(i) for i in range(1, n + 1)], dtype=object)
            continue
        if column.is_numeric:
            cells = _text(column, _numeric(column, n, rng))
        else:
            cells = _choice(column, n, rng)
        if column.may_be_missing and column.missing_rate > 0:
            cells[rng.random(n) < column.missing_rate] = column.missing_token
        data[column.name] = cells
    return pd.DataFrame(data, columns=list(spec.column_names))
