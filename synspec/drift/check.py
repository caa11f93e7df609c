"""Judging drift: each declared statistic against the data, with a tolerance from sampling error.

Owns the tests and the threshold. A declared statistic has drifted when the data would be
implausible had it been drawn from a population where the statistic holds (widened by the
rounding of the written number): every statistic gets a p-value from its sampling distribution
at the observed row count, and a drift is reported when p < ALPHA / m, m the number of
statistics tested (Bonferroni). Why this tolerance:
- it is sampling error, not a fixed percentage: 0.5 points on a share is noise at 400 rows and
  a real shift at 100,000, and the test knows which;
- Bonferroni keeps the chance that a table drawn from the declared population raises any false
  drift at most ALPHA (1%) whatever the statistics' dependence, so a spec with 600 statistics
  does not cry wolf on every run; the price is power on very small tables, where a shift has to
  be large to be told from noise anyway;
- shares (frequencies, values, missing shares) and quantiles use exact binomial tails (a
  quantile as the share of values at or below its value: P% X says P% of values are <= X, and
  a point mass, where that share jumps, passes when P lies anywhere in the jump), so rare
  levels are judged without a normal approximation that would overstate their surprise;
- means, sds and correlations use normal approximations with standard errors estimated from
  the data's own moments (the sd's from the kurtosis, r's by the delta method from the mixed
  fourth moments), valid for skewed and binary columns, not only normal ones.
Measured on the real files (docs/cli.md, "Drift"): 100 bootstrap resamples of each raise at
most a few false drifts in total, while a 0.5 sd shift of one mean or a 5-point shift of one
level's share in 10,000 rows is reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as st

from synspec.drift.accumulate import StatsAccumulator
from synspec.drift.targets import Target

ALPHA = 0.01  # the chance that a table drawn from the declared statistics raises any drift


@dataclass(frozen=True)
class Measured:
    """One statistic: declared, observed, over how many values, how surprising, and the verdict."""

    column: str
    statistic: str
    location: str
    declared: str
    observed: float | None
    n: int
    p_value: float | None
    allowed: tuple[float, float] | None  # the band of observed values that would not be a drift
    drifted: bool = False
    note: str | None = None
    # "share" when declared, observed and allowed are shares (frequencies, values, missing shares,
    # and quantiles, judged by the share of values at or below the declared value), else "value".
    scale: str = "value"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _binomial_p(k: int, n: int, low: float, high: float) -> float:
    """Two-sided p-value of k successes in n when the share lies anywhere in [low, high]."""
    low, high = max(0.0, low), min(1.0, high)
    if low * n <= k <= high * n:
        return 1.0
    if k < low * n:
        return min(1.0, 2 * float(st.binom.cdf(k, n, low)))
    return min(1.0, 2 * float(st.binom.sf(k - 1, n, high)))


def _normal_p(distance: float, se: float) -> float:
    if distance <= 0:
        return 1.0
    if se <= 0:
        return 0.0
    return min(1.0, 2 * float(st.norm.sf(distance / se)))


def _share_band(p: float, n: int, z: float) -> tuple[float, float]:
    se = math.sqrt(max(p * (1 - p), 1e-12) / n)
    return max(0.0, p - z * se), min(1.0, p + z * se)


def measure(acc: StatsAccumulator, alpha: float = ALPHA) -> list[Measured]:
    """Every target measured and judged (see the module docstring)."""
    raw: list[tuple[Target, float | None, int, float | None, float | None, str | None]] = []
    for index, t in enumerate(acc.targets):
        raw.append((t, *_one(acc, index, t)))
    tested = [r for r in raw if r[3] is not None]
    m = max(1, len(tested))
    threshold = alpha / m
    z = float(st.norm.isf(threshold / 2))
    out = []
    for t, observed, n, p_value, se, note in raw:
        allowed = None
        if p_value is not None and n:
            if t.kind in ("share", "missing"):
                low, high = _share_band(t.declared, n, z)
                allowed = (low - t.rounding, high + t.rounding)
            elif t.kind == "quantile" and t.percent is not None:
                low, high = _share_band(t.percent, n, z)
                allowed = (low - t.percent_rounding, high + t.percent_rounding)
            elif se is not None:
                allowed = (t.declared - t.rounding - z * se, t.declared + t.rounding + z * se)
        declared = t.text
        if t.kind == "quantile" and t.percent is not None:
            declared = f"{t.statistic.split()[1]} of values <= {t.text}"
        scale = "share" if t.kind in ("share", "missing", "quantile") else "value"
        out.append(Measured(t.column, t.statistic, t.location, declared, observed, n, p_value, allowed,
                            p_value is not None and p_value < threshold, note, scale))
    return out


def _one(acc: StatsAccumulator, index: int, t: Target
         ) -> tuple[float | None, int, float | None, float | None, str | None]:
    """(observed, n, p-value, standard error, note); p-value None when not measurable."""
    if t.kind == "share":
        counts = acc.shares[acc.share_key(t)]
        n = sum(counts.values())
        if not n:
            return None, 0, None, None, "no listed value among the rows it describes"
        k = counts.get(t.key, 0)
        return k / n, n, _binomial_p(k, n, t.declared - t.rounding, t.declared + t.rounding), None, None
    if t.kind == "missing":
        n = acc.rows
        if not n:
            return None, 0, None, None, "no rows"
        k = acc.missing[t.column]
        return k / n, n, _binomial_p(k, n, t.declared - t.rounding, t.declared + t.rounding), None, None
    if t.kind == "quantile":
        below, upto, n = acc.quantiles.get(index, [0, 0, 0])
        if not n:
            return None, 0, None, None, "no present value among the rows it describes"
        assert t.percent is not None
        low, high = t.percent - t.percent_rounding, t.percent + t.percent_rounding
        # P% X holds when P lies in [share below X, share at or below X] (a point mass is a jump).
        if high * n < below:
            p_value = min(1.0, 2 * float(st.binom.sf(below - 1, n, max(0.0, min(1.0, high)))))
        elif low * n > upto:
            p_value = min(1.0, 2 * float(st.binom.cdf(upto, n, max(0.0, min(1.0, low)))))
        else:
            p_value = 1.0
        observed = below / n if high * n < below else upto / n
        return observed, n, p_value, None, None
    if t.kind in ("mean", "sd"):
        power = acc.power[t.column]
        n = power.n
        if n < 2:
            return None, n, None, None, "fewer than 2 present values"
        mean, m2, m4 = power.central()
        sd = math.sqrt(m2 * n / (n - 1))
        if t.kind == "mean":
            se = sd / math.sqrt(n)
            return mean, n, _normal_p(abs(mean - t.declared) - t.rounding, se), se, None
        # Var(s) ~ sigma^2 (kurtosis - 1) / (4 n): no normality assumed. sigma is the declared sd
        # (the hypothesis tested, as the declared share is for a share): a sample missing the rare
        # extremes of a heavy-tailed column has both a small sd and a small kurtosis, and its own sd
        # would make the band narrowest exactly where it is most wrong.
        kurtosis = m4 / (m2 * m2) if m2 > 0 else 3.0
        se = t.declared * math.sqrt(max(kurtosis - 1, 0.0) / (4 * n))
        return sd, n, _normal_p(abs(sd - t.declared) - t.rounding, se), se, None
    if t.kind == "correlation" and t.other is not None:
        return _correlation(acc, t)
    return None, 0, None, None, "not measured"


def _correlation(acc: StatsAccumulator, t: Target
                 ) -> tuple[float | None, int, float | None, float | None, str | None]:
    assert t.other is not None
    if t.method == "spearman":
        kept = acc.pairs[(t.column, t.other)]
        x = np.concatenate([a for a, _ in kept]) if kept else np.array([])
        y = np.concatenate([b for _, b in kept]) if kept else np.array([])
        n = len(x)
        if n < 4:
            return None, n, None, None, "fewer than 4 rows with both present"
        r = float(st.spearmanr(x, y).statistic)
        # Fieller et al.'s variance of Fisher's z for Spearman's rho.
        se = math.sqrt(1.06 / (n - 3)) * (1 - r * r)
        return r, n, _normal_p(abs(r - t.declared) - t.rounding, se), se, None
    cross = acc.cross[(t.column, t.other)]
    n = cross.n
    if n < 4:
        return None, n, None, None, "fewer than 4 rows with both present"
    mu = cross.central()
    m20, m02, m11 = mu[(2, 0)], mu[(0, 2)], mu[(1, 1)]
    if m20 <= 0 or m02 <= 0:
        return None, n, None, None, "a constant column"
    r = m11 / math.sqrt(m20 * m02)
    # Delta method (no normality): Var(r) = [mu22/(m20 m02) + r^2/4 (mu40/m20^2 + mu04/m02^2
    # + 2 mu22/(m20 m02)) - r (mu31/(m20^1.5 m02^0.5) + mu13/(m20^0.5 m02^1.5))] / n.
    var = (mu[(2, 2)] / (m20 * m02)
           + r * r / 4 * (mu[(4, 0)] / m20 ** 2 + mu[(0, 4)] / m02 ** 2 + 2 * mu[(2, 2)] / (m20 * m02))
           - r * (mu[(3, 1)] / (m20 ** 1.5 * m02 ** 0.5) + mu[(1, 3)] / (m20 ** 0.5 * m02 ** 1.5))) / n
    se = math.sqrt(max(var, 0.0))
    return r, n, _normal_p(abs(r - t.declared) - t.rounding, se), se, None
