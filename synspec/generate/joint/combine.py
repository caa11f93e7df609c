"""One column's distribution given the levels of several columns at once.

Owns `combine`: a spec declares a column's statistics given one other column at a time
(`quantiles given stroke == 1`, `quantiles given work_type == children`); a row drawn after
both stroke and work type should follow both. Assuming the given columns are independent of
each other once the column's value is known (stroke and work type are related through age),
Bayes' rule gives

    p(x | a, b, ...) is proportional to p(x | a) * p(x | b) * ... / p(x) ** (k - 1)

for k givens, which needs only the declared statistics. The product is taken cell by cell on
the column's own grid: its levels, its declared `values`, or every scaled-integer value
between the range ends, so rule classes (`constraints`) still restrict the result exactly as
they restrict a declared marginal.

For numbers the same rule is written p(x | a_1) * prod_{i>1} [p(x | a_i) / p_i(x)], where
p_i is the mixture of given i's own declared statistics (sum over its levels l of
P(l) * p(x | l)). Conditional quantiles are smooth (interpolated between a few knots) while
an overall `values` line is exact per value (stroke's ages: 8 years holds 1.1% of patients,
10 years 0.7%); each factor is then a ratio of two curves smoothed alike, where dividing by
the exact p(x) would multiply the noise of every value's share (age 10 drew twice its real
share that way). The first part is kept whole, so the caller puts first the given whose
statistics matter most (the target's: utility rests on them). Levels are exact on both sides
and use p(x) itself. When the assumption does not hold the structure search in
`JointSampler` sees it: it keeps a second given only when drawn rows then reproduce the
declared statistics better.
"""

from __future__ import annotations

import numpy as np

from synspec.generate.joint.marginals import LevelMarginal, Marginal, QuantileMarginal, ValuesMarginal

# A quantile column with more grid cells than this is not combined (the first given is used):
# the product is held cell by cell, and a fine decimal over a wide range has millions of cells.
MAX_GRID_CELLS = 250_000


Mixture = list[tuple[float, Marginal]]  # (share of a level, the column given that level)


def combine(whole: Marginal, parts: list[Marginal], mixtures: list[Mixture]) -> Marginal:
    """The marginal given every part's level (each part is `whole`'s column given one level of
    one column; `mixtures[i]` is the column given each declared level of part i's column, with
    the level's share); `parts[0]` when the product cannot be formed or leaves no mass."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(whole, LevelMarginal):
        return _combine_levels(whole, parts)
    points = _grid(whole)
    if points is None:
        return parts[0]
    # p(x | a1) * prod over i > 1 of p(x | ai) / p_i(x), p_i the mixture of given i's statistics.
    mass = _cell_mass(parts[0], points)
    for part, mixture in zip(parts[1:], mixtures[1:], strict=True):
        weight = sum(share for share, _ in mixture)
        divisor = sum(share * _cell_mass(m, points) for share, m in mixture) / weight
        mass = _ratio(mass * _cell_mass(part, points), divisor)
    total = mass.sum()
    if total <= 0:
        return parts[0]
    keep = mass > 0
    return ValuesMarginal.from_points(whole.column, whole.classes, points[keep], mass[keep] / total)


def _ratio(numerator: np.ndarray, divisor: np.ndarray | float) -> np.ndarray:
    """Cell-wise numerator / divisor, 0 where the divisor has no mass."""
    divisor = np.broadcast_to(np.asarray(divisor, dtype=float), numerator.shape)
    out = np.zeros_like(numerator)
    np.divide(numerator, divisor, out=out, where=divisor > 0)
    return out


def _product(parts: list[np.ndarray], whole: np.ndarray) -> np.ndarray | None:
    """Cell-wise product of the parts over whole ** (k - 1); None when nothing is left."""
    mass = _ratio(np.prod(np.vstack(parts), axis=0), whole ** (len(parts) - 1))
    total = mass.sum()
    return mass / total if total > 0 else None


def _combine_levels(whole: LevelMarginal, parts: list[Marginal]) -> Marginal:
    levels = list(whole.shares)
    for m in parts:
        levels += [level for level in m.shares if level not in whole.shares]  # type: ignore[attr-defined]
    table = [np.array([m.shares.get(level, 0.0) for level in levels]) for m in parts]  # type: ignore[attr-defined]
    mass = _product(table, np.array([whole.shares.get(level, 0.0) for level in levels]))
    if mass is None:
        return parts[0]
    frequencies = tuple((level, float(share)) for level, share in zip(levels, mass, strict=True) if share > 0)
    return LevelMarginal(whole.column, whole.classes, frequencies)


def _grid(whole: Marginal) -> np.ndarray | None:
    """Every value (scaled integer) the column can take under its declared statistics; the
    same array object on every call, so `_cell_mass` can cache by it."""
    if isinstance(whole, ValuesMarginal):
        return whole.points
    if isinstance(whole, QuantileMarginal) and whole.high - whole.low + 1 <= MAX_GRID_CELLS:
        grid = getattr(whole, "_grid", None)
        if grid is None:
            grid = np.arange(whole.low, whole.high + 1, dtype=np.int64)
            whole._grid = grid  # type: ignore[attr-defined]
        return grid
    return None


def _cell_mass(m: Marginal, points: np.ndarray) -> np.ndarray:
    """Each grid point's probability under `m` (present values only); cached on `m` per grid,
    since every combination of levels asks for the same parts and mixtures again."""
    cache: dict[int, np.ndarray] = m.__dict__.setdefault("_cell_mass_cache", {})
    found = cache.get(id(points))
    if found is not None:
        return found
    if isinstance(m, ValuesMarginal):
        at = np.clip(np.searchsorted(m.points, points), 0, len(m.points) - 1)
        mass = np.where(m.points[at] == points, m.shares[at], 0.0)
    elif isinstance(m, QuantileMarginal):
        lower = np.clip(points - 0.5, m.low, m.high).astype(float)
        upper = np.clip(points + 0.5, m.low, m.high).astype(float)
        mass = m.cdf(upper) - m.cdf_below(lower)
    else:
        raise TypeError(f"no cell masses for {type(m).__name__}")
    cache[id(points)] = mass
    return mass
