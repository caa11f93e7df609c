"""Which other column each column depends on most, for statistics given its levels.

Owns choosing, for every column, at most `MAX_PARTNERS` categorical or boolean partners whose
levels `synspec infer` also conditions the column's statistics on (besides the target's);
the joint draw then picks the structure that keeps the declared statistics best. A joint
draw from marginals, correlations and statistics given the target alone misses strong
links between columns, for instance the stroke data's work type `children` and age: drawn
apart, the rule `work_type == children -> age <= 16` can only keep the marginals by bending
them. Dependence is measured by Cramér's V between the column (numeric columns cut at their
deciles, missing as its own category) and the candidate's levels; a partner is kept when V
is at least `MIN_DEPENDENCE` and above the column's V with the target, strongest first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from synspec.infer.profile import Profile

MIN_DEPENDENCE = 0.3
MAX_PARTNERS = 2  # statistics are also given the levels of at most this many other columns
MAX_PARTNER_LEVELS = 12  # a partner with more levels splits the rows too thin to publish


@dataclass(frozen=True)
class Partner:
    name: str
    v: float
    groups: list[tuple[str, np.ndarray]]  # (level, row mask), levels seen at least k times


def cramers_v(x: np.ndarray, y: np.ndarray) -> float:
    """Cramér's V of two integer-coded columns (0 when either has a single category).

    >>> round(cramers_v(np.array([0, 0, 1, 1] * 5), np.array([0, 0, 1, 1] * 5)), 3)
    1.0
    >>> round(cramers_v(np.array([0, 1, 0, 1] * 5), np.array([0, 0, 1, 1] * 5)), 3)
    0.0
    """
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    r, c = xi.max() + 1, yi.max() + 1
    if r < 2 or c < 2:
        return 0.0
    table = np.bincount(xi * c + yi, minlength=r * c).reshape(r, c).astype(float)
    n = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / np.where(expected > 0, expected, 1.0)).sum())
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1))))


def _binned(prof: Profile, codes: Callable[[Profile], tuple[np.ndarray, list[str]]]) -> np.ndarray:
    values = prof.values if prof.is_numeric else None
    if values is None:
        return codes(prof)[0]
    present = ~np.isnan(values)
    out = np.full(len(values), -1, dtype=np.int64)
    if present.any():
        edges = np.unique(np.quantile(values[present], np.linspace(0.1, 0.9, 9)))
        out[present] = np.searchsorted(edges, values[present], side="left")
    return out


def strongest_partners(
    profiles: list[Profile],
    codes: Callable[[Profile], tuple[np.ndarray, list[str]]],
    groups: Callable[[Profile], list[tuple[str, np.ndarray]]],
    *,
    target: str | None,
    keys: set[str],
) -> dict[str, list[Partner]]:
    """For each column, the partners whose levels its statistics are also given, strongest
    first (see the module docstring); columns without one are absent. `groups(prof)` gives a
    candidate's levels seen at least k times with their row masks."""
    candidates = [
        p
        for p in profiles
        if p.kind in ("categorical", "boolean")
        and p.name not in keys
        and p.name != target
        and 2 <= len(p.level_counts) <= MAX_PARTNER_LEVELS
    ]
    by_name = {p.name: p for p in profiles}
    target_codes = (
        codes(by_name[target])[0]
        if target in by_name and by_name[target].kind in ("categorical", "boolean")
        else None
    )
    out: dict[str, list[Partner]] = {}
    for prof in profiles:
        if prof.name in keys or prof.name == target or prof.kind == "empty":
            continue
        x = _binned(prof, codes)
        floor = max(MIN_DEPENDENCE, cramers_v(x, target_codes) if target_codes is not None else 0.0)
        scored = sorted(
            (
                (cramers_v(x, codes(cand)[0]), cand.position, cand)
                for cand in candidates
                if cand.name != prof.name
            ),
            key=lambda t: (-t[0], t[1]),
        )
        partners: list[Partner] = []
        for v, _, cand in scored:
            level_groups = groups(cand)
            if v > floor and len(level_groups) >= 2 and len(partners) < MAX_PARTNERS:
                partners.append(Partner(cand.name, round(v, 3), level_groups))
        if partners:
            out[prof.name] = partners
    return out
