"""Boundary excess and top values: does a table pile rows on the values a spec singles out?

Masked sampling renormalises a model's next-token distribution over what the grammar allows, so
mass that pointed outside an interval lands on its edge. The edges a spec creates are the range
ends, the two values on either side of every rule's cut on the column (`glucose > 200`: 200 and
201), and the declared quantiles (the bins seeding draws from, conditional quantiles included).
At each such point the share of present values equal to it (at the column's precision) is
compared between the two tables as a smoothed ratio

    ratio = (synthetic_share + c) / (real_share + c),   c = SMOOTHING_ROWS / n_synthetic_present

so a handful of rows at a point the real table never reaches is not called a pile. A column's
boundary excess is its largest ratio. A column with declared `values` is discrete by design
(its fit is the TVD's job): its quantile points are listed without a ratio.

Noise: a column with many boundary points, compared on a small table, shows a large largest
ratio by chance alone (cirrhosis' 418 rows and 60 points per column). `boundary_noise` is the
95th percentile of the same largest ratio over NOISE_DRAWS tables of as many rows drawn with
replacement from the real values: what real rows score. A pile is an excess above it.

Top values: the most common values of each table side by side, at the column's precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from synspec import ir

SMOOTHING_ROWS = 5  # c = SMOOTHING_ROWS / n: a ratio needs more than a couple of rows to move
NOISE_DRAWS = 100  # resamples of the real values behind `boundary_noise`
NOISE_SEED = 0xB0B
TOP_VALUES = 5  # per table; the union of both tables' top values is reported
FLAG_ABOVE = 2.0  # the HTML report and the text summary flag a column above this excess
_EPS = 1e-6  # how far a scaled constant may sit from the grid and still count as on it


@dataclass(frozen=True)
class Point:
    """A boundary point as a whole number of precision steps (value = steps / scale)."""

    steps: int
    kind: str  # "range", "rule:<name>" or "quantile"


def scale(column: ir.Column) -> int:
    """Precision steps per unit: 1 for integers, 10**places for decimals."""
    if column.kind is ir.ColumnKind.DECIMAL:
        return 10 ** (column.places if column.places is not None else 0)
    return 1


def _constant(expr: Any) -> float | None:
    if isinstance(expr, ir.Const):
        return expr.value
    if isinstance(expr, ir.Neg) and isinstance(expr.operand, ir.Const):
        return -expr.operand.value
    return None


# `c OP col` reads as `col FLIP(OP) c`.
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _walk(node: Any) -> Iterator[Any]:
    """Every IR expression under `node` (itself included), found through its pydantic fields,
    so a new expression kind's children are never skipped."""
    yield node
    for name in type(node).model_fields:
        value = getattr(node, name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, BaseModel):
                yield from _walk(child)


def rule_cuts(spec: ir.Spec, column: str) -> list[tuple[str, str, float]]:
    """(rule name, operator, constant) for every `column OP constant` in the spec's rules,
    constants on the left flipped to the right; `column in {...}` gives one `==` per value."""
    cuts: list[tuple[str, str, float]] = []
    for rule in spec.rules:
        for node in _walk(rule.expr):
            if isinstance(node, ir.Compare):
                left, right = node.left, node.right
                op: str
                if isinstance(left, ir.ColumnRef) and left.column == column:
                    value, op = _constant(right), node.op
                elif isinstance(right, ir.ColumnRef) and right.column == column:
                    value, op = _constant(left), _FLIP[node.op]
                else:
                    continue
                if value is not None:
                    cuts.append((rule.name, op, value))
            elif isinstance(node, ir.InSet):
                if isinstance(node.operand, ir.ColumnRef) and node.operand.column == column:
                    cuts.extend((rule.name, "==", v.value) for v in node.values if isinstance(v, ir.Const))
    return cuts


def _cut_steps(op: str, value: float, per_unit: int) -> list[int]:
    """The grid values on either side of the cut a comparison makes (the value itself for ==/!=)."""
    scaled = value * per_unit
    nearest = round(scaled)
    on_grid = abs(scaled - nearest) < _EPS
    if op in ("==", "!="):
        return [nearest] if on_grid else []
    # `> c` and `<= c` cut just above c; `>= c` and `< c` just below it.
    if op in (">", "<="):
        below = nearest if on_grid else math.floor(scaled)
        return [below, below + 1]
    above = nearest if on_grid else math.ceil(scaled)
    return [above - 1, above]


def boundary_points(spec: ir.Spec, column: ir.Column) -> list[Point]:
    """The column's boundary points, ascending; one per value (range, then rule, then quantile
    names the kind when a value is several), only those inside the declared range."""
    per_unit = scale(column)
    low = math.ceil(column.low * per_unit - _EPS) if column.low is not None else None
    high = math.floor(column.high * per_unit + _EPS) if column.high is not None else None
    found: list[Point] = []
    found += [Point(end, "range") for end in (low, high) if end is not None]
    for name, op, value in rule_cuts(spec, column.name):
        found += [Point(steps, f"rule:{name}") for steps in _cut_steps(op, value, per_unit)]
    quantiles = [*column.quantiles]
    for conditional in column.conditionals:
        quantiles += conditional.quantiles
    found += [Point(round(value * per_unit), "quantile") for _, value in quantiles]
    points: dict[int, Point] = {}
    for point in found:
        inside = (low is None or point.steps >= low) and (high is None or point.steps <= high)
        if inside and point.steps not in points:
            points[point.steps] = point
    return sorted(points.values(), key=lambda p: p.steps)


def _steps(values: pd.Series, per_unit: int) -> pd.Series:
    """Present values as whole precision steps (so 6.6 and 6.6000001 are the same value)."""
    present = values.dropna().to_numpy(float)
    return pd.Series(np.round(present * per_unit).astype(np.int64))


def _value(steps: int, per_unit: int) -> int | float:
    if per_unit == 1:
        return int(steps)
    return round(steps / per_unit, int(round(math.log10(per_unit))))


def column_boundaries(
    spec: ir.Spec, column: ir.Column, real: pd.Series, synthetic: pd.Series
) -> dict[str, Any]:
    """`boundary_excess` (None when the synthetic column has no present value), its
    `boundary_noise` (what resampled real rows score) and `boundary_points` ({value,
    real_share, synthetic_share, ratio, kind}) of a numeric column."""
    per_unit = scale(column)
    r, s = _steps(real, per_unit), _steps(synthetic, per_unit)
    real_shares = r.value_counts(normalize=True) if len(r) else pd.Series(dtype=float)
    syn_shares = s.value_counts(normalize=True) if len(s) else pd.Series(dtype=float)
    smoothing = SMOOTHING_ROWS / len(s) if len(s) else 0.0
    discrete = bool(column.values)
    points: list[dict[str, Any]] = []
    rated_steps: list[int] = []
    for point in boundary_points(spec, column):
        real_share = float(real_shares.get(point.steps, 0.0))
        syn_share = float(syn_shares.get(point.steps, 0.0))
        rated = len(s) > 0 and not (discrete and point.kind == "quantile")
        if rated:
            rated_steps.append(point.steps)
        points.append(
            {
                "value": _value(point.steps, per_unit),
                "real_share": real_share,
                "synthetic_share": syn_share,
                "ratio": (syn_share + smoothing) / (real_share + smoothing) if rated else None,
                "kind": point.kind,
            }
        )
    ratios = [p["ratio"] for p in points if p["ratio"] is not None]
    noise = _noise(r.to_numpy(), real_shares, np.array(rated_steps, dtype=np.int64), len(s), smoothing)
    return {
        "boundary_excess": max(ratios) if ratios else None,
        "boundary_noise": noise if ratios else None,
        "boundary_points": points,
    }


def _noise(
    real: np.ndarray, real_shares: pd.Series, steps: np.ndarray, n: int, smoothing: float
) -> float | None:
    """95th percentile of the largest ratio at `steps` over tables of `n` rows resampled from
    the real values (see the module docstring)."""
    if len(real) == 0 or n == 0:
        return None
    rng = np.random.default_rng(NOISE_SEED)
    base = np.array([float(real_shares.get(int(k), 0.0)) for k in steps])
    order = np.sort(steps)
    position = np.searchsorted(order, steps)
    largest = np.empty(NOISE_DRAWS)
    for i in range(NOISE_DRAWS):
        sample = real[rng.integers(0, len(real), n)]
        at = np.searchsorted(order, sample)
        hit = (at < len(order)) & (order[np.minimum(at, len(order) - 1)] == sample)
        counts = np.bincount(at[hit], minlength=len(order))[position]
        largest[i] = np.max((counts / n + smoothing) / (base + smoothing))
    return float(np.percentile(largest, 95))


def is_pile(excess: float | None, noise: float | None) -> bool:
    """A column is flagged as piled when its excess is above FLAG_ABOVE and above its noise."""
    return excess is not None and excess > FLAG_ABOVE and (noise is None or excess > noise)


def level_labels(column: ir.Column, values: pd.Series) -> pd.Series:
    """Present values of a categorical or boolean column as text (booleans as their tokens)."""
    present = values.dropna()
    if column.kind is ir.ColumnKind.BOOLEAN:
        return present.map({1.0: column.true_token, 0.0: column.false_token})
    return present.astype(str)


def _shares(column: ir.Column, values: pd.Series) -> pd.Series:
    """Share of each present value; numerics keyed by precision steps (counted before labelling:
    a label per row would cost more than the counting)."""
    keys = _steps(values, scale(column)) if column.is_numeric else level_labels(column, values)
    return keys.value_counts(normalize=True)


def top_values(
    column: ir.Column, real: pd.Series, synthetic: pd.Series, k: int = TOP_VALUES
) -> list[dict[str, Any]]:
    """The union of both tables' `k` most common present values, with each table's share;
    ordered by synthetic share, then real share (largest first)."""
    real_shares, syn_shares = _shares(column, real), _shares(column, synthetic)
    chosen = list(dict.fromkeys([*syn_shares.index[:k], *real_shares.index[:k]]))
    rows = [
        {
            "value": _value(int(key), scale(column)) if column.is_numeric else key,
            "real_share": float(real_shares.get(key, 0.0)),
            "synthetic_share": float(syn_shares.get(key, 0.0)),
        }
        for key in chosen
    ]
    return sorted(rows, key=lambda row: (-row["synthetic_share"], -row["real_share"]))
