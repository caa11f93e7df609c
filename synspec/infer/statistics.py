"""Which statistics `synspec infer` publishes for a column, under the k rule.

Every published cell must hold at least k rows (k = `--min-count`, the same bound as for
rare levels), so no statistic can describe a handful of people:
- quantiles are deciles when each tenth of the present values holds k rows, else quartiles,
  else the median, else none; with deciles also the 5% and 95% (and 1% and 99%) quantiles
  where those tails hold k rows; a value that holds at least `POINT_MASS_SHARE` of the rows
  (an imputed bmi, ages top-coded at 80; the `MAX_JUMPS` heaviest) also gets the two
  quantiles that bound its jump,
  e.g. `40.74% 27.32, 66.23% 27.32`, because interpolating between deciles would smear it;
- a numeric column with at most `MAX_DISTINCT_VALUES` distinct values, each seen k times
  (or any number of times with `--keep-rare`), lists them with their shares (`values`)
  instead of quantiles;
- statistics given one level of the target are written only for levels seen k times, with
  the same rules inside the level's rows; a level of a categorical column seen fewer than k
  times there is left out of its conditional frequencies (always: `--keep-rare` is for the
  unconditional declarations that validation needs).
Functions return the text after the keyword (`10% 21.5, 20% 23.1`), or None when nothing
may be published.

>>> import numpy as np
>>> fixed = lambda value: f"{value:.4g}"
>>> quantile_items(np.arange(100.0), k=5, fixed=fixed)
'5% 4.95, 10% 9.9, 20% 19.8, 30% 29.7, 40% 39.6, 50% 49.5, 60% 59.4, 70% 69.3, 80% 79.2, 90% 89.1, 95% 94.05'
>>> quantile_items(np.arange(12.0), k=5, fixed=fixed)
'50% 5.5'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from synspec.infer import emit

# Up to this many distinct values a column is a lattice (ages in whole years, a laboratory
# value on a coarse scale) that quantiles would blur into values no record has: measured,
# ages drawn between deciles let a classifier tell synthetic rows from real ones by age
# alone (AUC 0.86 on diabetes, where ages are whole years from 2 up).
MAX_DISTINCT_VALUES = 120
# A single value holding this share of the present rows is declared as a jump in the
# quantiles; at most MAX_JUMPS of them (the heaviest), so that a lab value measured on a
# coarse scale does not turn its quantiles into a list of every value.
POINT_MASS_SHARE = 0.05
MAX_JUMPS = 3
# Quantile resolutions, finest first: the number of cells and the percentages that bound them.
_RESOLUTIONS = (10, 4, 2)


def quantile_cells(n_present: int, k: int) -> int | None:
    """The finest resolution (10, 4 or 2 cells) whose every cell holds at least k rows."""
    for cells in _RESOLUTIONS:
        if n_present >= cells * k:
            return cells
    return None


def quantile_items(values: np.ndarray, k: int, fixed: Callable[[float], str]) -> str | None:
    """`10% x, ..., 90% x` (or quartiles, or the median) of present values, plus the bounds of
    every point mass (see the module docstring); `fixed` writes a number."""
    cells = quantile_cells(len(values), k)
    if cells is None:
        return None
    percents = [100 * i // cells for i in range(1, cells)]
    if cells == 10:
        # The outer tenths run from a decile to the range end, usually an outlier: linear
        # there puts far too much mass near the extremes, so finer tails where k rows allow.
        for tail in (5, 1):
            if len(values) * tail / 100 >= k:
                percents = [tail, *percents, 100 - tail]
    measured = np.quantile(values, [p / 100 for p in percents])
    jumps = _point_masses(values, k)
    knots = [(share, value) for lo, hi, value in jumps for share in (lo, hi)
             if 0 < round(share * 100, 2) < 100]
    # A regular quantile inside a jump, or closer than k rows to one of its bounds, would
    # only describe a handful of rows between them: the jump's bounds replace it.
    gap = k / len(values)
    regular = [(p / 100, float(q)) for p, q in zip(percents, measured, strict=True)
               if all(abs(p / 100 - share) >= gap for share, _ in knots)
               and not any(lo <= p / 100 <= hi for lo, hi, _ in jumps)]
    items = _supported(sorted(regular + knots), len(values), k)
    if not items:
        return None
    return ", ".join(f"{_percent(share)}% {fixed(value)}" for share, value in items)


SLIVER = 0.0001  # one hundredth of a percentage point


def _supported(knots: list[tuple[float, float]], n: int, k: int) -> list[tuple[float, float]]:
    """Knots whose every cell (between neighbours, and from 0% and to 100%) holds k rows.

    Two heavy neighbours meet at one share (P(X <= a) = P(X < b)); percentages must rise, so
    the second starts a sliver later: a cell of no rows, allowed because it describes nobody.
    """
    kept: list[tuple[float, float]] = []
    for share, value in knots:
        last = kept[-1][0] if kept else 0.0
        if kept and round(share * 100, 2) <= round(last * 100, 2):
            if value != kept[-1][1] and round((last + SLIVER) * 100, 2) < 100:
                kept.append((last + SLIVER, value))
            continue
        if (share - last) * n >= k - 1e-9:
            kept.append((share, value))
    while kept and (1.0 - kept[-1][0]) * n < k - 1e-9:
        kept.pop()
    return kept


def _point_masses(values: np.ndarray, k: int) -> list[tuple[float, float, float]]:
    """(share below, share at or below, value) of each value holding at least
    `POINT_MASS_SHARE` of the rows and k rows. Shares are rounded to the two decimals of
    a written percentage; a bound at 0% or 100% is a range end and is not written."""
    uniques, counts = np.unique(values, return_counts=True)
    n = len(values)
    heavy = counts >= max(k, POINT_MASS_SHARE * n)
    heavy &= counts >= np.sort(counts)[-min(MAX_JUMPS, len(counts))]
    below = np.concatenate([[0], np.cumsum(counts)[:-1]]) / n
    return [(round(lo, 4), round(lo + count / n, 4), float(value))
            for value, lo, count in zip(uniques[heavy], below[heavy], counts[heavy], strict=True)]


def _percent(share: float) -> str:
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return text


def distinct_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(values ascending, counts) when there are at most `MAX_DISTINCT_VALUES`, else None."""
    uniques, counts = np.unique(values, return_counts=True)
    if len(uniques) > MAX_DISTINCT_VALUES or len(uniques) == 0:
        return None
    return uniques, counts


def value_items(uniques: np.ndarray, counts: np.ndarray, places: int) -> str:
    """`v share, ...` ascending by value; shares among the listed (present) values."""
    shares = counts / counts.sum()
    return ", ".join(f"{emit.number(float(v), places)} {emit.share(float(s))}"
                     for v, s in zip(uniques, shares, strict=True))


def declares_values(values: np.ndarray, k: int, keep_rare: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct values to list for a whole column, or None to describe it by quantiles."""
    found = distinct_values(values)
    if found is None or (not keep_rare and int(found[1].min()) < k):
        return None
    return found


def frequency_items(counts: Mapping[str, int], levels: Sequence[str], k: int) -> str | None:
    """Shares of the declared `levels` given their `counts`, leaving out levels seen fewer than k times."""
    kept = [(level, counts.get(level, 0)) for level in levels if counts.get(level, 0) >= k]
    total = sum(count for _, count in kept)
    if not kept:
        return None
    return ", ".join(f"{emit.level(level)} {emit.share(count / total)}" for level, count in kept)


def given_numeric(values: np.ndarray, k: int, as_values: bool, places: int,
                  fixed: Callable[[float], str]) -> tuple[str, str] | None:
    """(keyword, items) of a numeric column among one level's rows: `values` when the column
    lists values and every one seen here is seen k times, else quantiles; None if neither may be."""
    if as_values:
        found = distinct_values(values)
        if found is not None and int(found[1].min()) >= k:
            return "values", value_items(*found, places)
    items = quantile_items(values, k, fixed)
    return ("quantiles", items) if items is not None else None
