"""Sufficient statistics of a table for every declared statistic, gathered chunk by chunk.

Owns `StatsAccumulator`: fed typed chunks (`synspec.data.TypedTable`, as `to_typed` makes them
from the string chunks any reader or engine yields), it keeps only counts and power sums, so a
file of any size is measured in bounded memory and the figures do not depend on the chunking:
- shares: per (column, given level, listed keys), the count of each listed level or value
  among present cells holding a listed one (shares are among the listed, as infer declares);
- missing shares: missing cells and rows;
- quantiles: per declared quantile, the present values below it and at or below it (its value
  widened by its rounding), with the number of present values: the empirical CDF around it;
- means and sds: power sums up to the fourth (for the sd's standard error) about a shift;
- correlations: mixed power sums up to order four over rows where both are present (for
  the standard error of r without assuming normality); a Spearman correlation keeps the pairs
  (ranks need the whole column).
Unparseable cells count as missing here: validation reports them as type failures.
"""

from __future__ import annotations

from collections import Counter
from math import comb

import numpy as np
import pandas as pd

from synspec import ir
from synspec.data import TypedTable
from synspec.drift.targets import Target

# Mixed moments E[x^a y^b], a + b <= 4, for the correlation's standard error.
_MONOMIALS = tuple((a, b) for a in range(5) for b in range(5) if a + b <= 4)


class _Power:
    """n and sums of (x - shift)^k, k = 1..4; the shift (the first chunk's mean) keeps them exact."""

    def __init__(self) -> None:
        self.shift: float | None = None
        self.n = 0
        self.sums = np.zeros(5)

    def add(self, x: np.ndarray) -> None:
        if not len(x):
            return
        if self.shift is None:
            self.shift = float(x.mean())
        d = x - self.shift
        self.n += len(x)
        self.sums += [len(x), d.sum(), (d ** 2).sum(), (d ** 3).sum(), (d ** 4).sum()]

    def central(self) -> tuple[float, float, float]:
        """(mean, m2, m4): the mean and the second and fourth central moments (1/n)."""
        n = self.n
        raw = self.sums / n  # raw moments of d
        mu = raw[1]
        m2 = raw[2] - mu ** 2
        m4 = raw[4] - 4 * mu * raw[3] + 6 * mu ** 2 * raw[2] - 3 * mu ** 4
        return float(mu + (self.shift or 0.0)), float(m2), float(m4)


class _Cross:
    """Mixed power sums of two columns about a shift, over rows where both are present."""

    def __init__(self) -> None:
        self.shift: tuple[float, float] | None = None
        self.n = 0
        self.sums = dict.fromkeys(_MONOMIALS, 0.0)

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        if not len(x):
            return
        if self.shift is None:
            self.shift = (float(x.mean()), float(y.mean()))
        dx, dy = x - self.shift[0], y - self.shift[1]
        self.n += len(x)
        powers_x = [np.ones_like(dx), dx, dx ** 2, dx ** 3, dx ** 4]
        powers_y = [np.ones_like(dy), dy, dy ** 2, dy ** 3, dy ** 4]
        for a, b in _MONOMIALS:
            self.sums[(a, b)] += float((powers_x[a] * powers_y[b]).sum())

    def central(self) -> dict[tuple[int, int], float]:
        """Central moments mu_ij (1/n), i + j <= 4."""
        raw = {k: v / self.n for k, v in self.sums.items()}
        mx, my = raw[(1, 0)], raw[(0, 1)]
        out = {}
        for i, j in _MONOMIALS:
            out[(i, j)] = sum(comb(i, a) * comb(j, b) * raw[(a, b)] * (-mx) ** (i - a) * (-my) ** (j - b)
                              for a in range(i + 1) for b in range(j + 1))
        return out


class StatsAccumulator:
    """Feed it typed chunks with `add`; `Target`s are measured from what it kept (`drift.check`)."""

    def __init__(self, spec: ir.Spec, targets: list[Target]) -> None:
        self.spec = spec
        self.targets = targets
        self.rows = 0
        self.shares: dict[tuple, Counter] = {}
        self.missing: Counter = Counter()
        self.quantiles: dict[int, list[int]] = {}  # target index -> [below, at or below, present]
        self.power: dict[str, _Power] = {}
        self.cross: dict[tuple[str, str], _Cross] = {}
        self.pairs: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
        for t in targets:
            if t.kind == "share":
                self.shares.setdefault(self.share_key(t), Counter())
            elif t.kind in ("mean", "sd"):
                self.power.setdefault(t.column, _Power())
            elif t.kind == "correlation" and t.other is not None:
                if t.method == "spearman":
                    self.pairs.setdefault((t.column, t.other), [])
                else:
                    self.cross.setdefault((t.column, t.other), _Cross())

    @staticmethod
    def share_key(t: Target) -> tuple:
        return (t.column, t.given, t.keys)

    # ---- one chunk ---------------------------------------------------------------------------
    def _present(self, table: TypedTable, name: str) -> np.ndarray:
        return ~table.missing[name] & ~table.bad[name]

    def _group(self, table: TypedTable, given: tuple[str, str] | None,
               cache: dict[tuple[str, str], np.ndarray]) -> np.ndarray | None:
        if given is None:
            return None
        if given not in cache:
            column = self.spec.column(given[0])
            cells = table.frame[given[0]].to_numpy()
            if column.kind is ir.ColumnKind.BOOLEAN:
                truth = 1.0 if given[1] == column.true_token else 0.0
                cache[given] = np.asarray(cells.astype(float) == truth)
            else:
                cache[given] = np.asarray(cells == given[1], dtype=bool)
            cache[given] &= self._present(table, given[0])
        return cache[given]

    def _cells(self, table: TypedTable, name: str, mask: np.ndarray | None) -> np.ndarray:
        """Present cells of a column (restricted to `mask`): numbers as floats, levels as text."""
        keep = self._present(table, name)
        if mask is not None:
            keep = keep & mask
        column = self.spec.column(name)
        cells = table.frame[name].to_numpy()[keep]
        if column.kind is ir.ColumnKind.BOOLEAN:
            tokens = np.array([column.false_token, column.true_token], dtype=object)
            return tokens[(cells.astype(float) == 1.0).astype(int)]
        if column.is_numeric:
            return np.asarray(cells, dtype=float)
        return cells

    def add(self, table: TypedTable) -> None:
        """Add one typed chunk."""
        self.rows += len(table)
        groups: dict[tuple[str, str], np.ndarray] = {}
        for (name, given, keys), counts in self.shares.items():
            cells = self._cells(table, name, self._group(table, given, groups))
            if self.spec.column(name).is_numeric:
                cells = np.round(cells, 9)
            found = pd.Series(cells, dtype=object if cells.dtype == object else float).value_counts()
            listed = set(keys)
            counts.update({k: int(c) for k, c in found.items() if k in listed})
        for name in {t.column for t in self.targets if t.kind == "missing"}:
            self.missing[name] += int(table.missing[name].sum())
        for index, t in enumerate(self.targets):
            if t.kind != "quantile":
                continue
            values = self._cells(table, t.column, self._group(table, t.given, groups))
            tally = self.quantiles.setdefault(index, [0, 0, 0])
            tally[0] += int(np.count_nonzero(values < t.declared - t.rounding))
            tally[1] += int(np.count_nonzero(values <= t.declared + t.rounding))
            tally[2] += len(values)
        for name, power in self.power.items():
            power.add(self._cells(table, name, None))
        for (left, right), cross in self.cross.items():
            x, y, both = self._both(table, left, right)
            cross.add(x[both], y[both])
        for (left, right), kept in self.pairs.items():
            x, y, both = self._both(table, left, right)
            kept.append((x[both], y[both]))

    def _both(self, table: TypedTable, left: str, right: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = np.asarray(table.frame[left].to_numpy(), dtype=float)
        y = np.asarray(table.frame[right].to_numpy(), dtype=float)
        both = self._present(table, left) & self._present(table, right) & ~np.isnan(x) & ~np.isnan(y)
        return x, y, both
