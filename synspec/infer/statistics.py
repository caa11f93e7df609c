"""Which statistics `synspec infer` publishes for a column, under the k rule.

Every published cell must hold at least k rows (k = `--min-count`, the same bound as for
rare levels), so no statistic can describe a handful of people:
- quantiles are deciles when each tenth of the present values holds k rows, else quartiles,
  else the median, else none;
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
'10% 9.9, 20% 19.8, 30% 29.7, 40% 39.6, 50% 49.5, 60% 59.4, 70% 69.3, 80% 79.2, 90% 89.1'
>>> quantile_items(np.arange(12.0), k=5, fixed=fixed)
'50% 5.5'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from synspec.infer import emit

MAX_DISTINCT_VALUES = 30
# Quantile resolutions, finest first: the number of cells and the percentages that bound them.
_RESOLUTIONS = (10, 4, 2)


def quantile_cells(n_present: int, k: int) -> int | None:
    """The finest resolution (10, 4 or 2 cells) whose every cell holds at least k rows."""
    for cells in _RESOLUTIONS:
        if n_present >= cells * k:
            return cells
    return None


def quantile_items(values: np.ndarray, k: int, fixed: Callable[[float], str]) -> str | None:
    """`10% x, ..., 90% x` (or quartiles, or the median) of present values; `fixed` writes a number."""
    cells = quantile_cells(len(values), k)
    if cells is None:
        return None
    percents = [100 * i // cells for i in range(1, cells)]
    measured = np.quantile(values, [p / 100 for p in percents])
    return ", ".join(f"{pct}% {fixed(float(q))}" for pct, q in zip(percents, measured, strict=True))


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
