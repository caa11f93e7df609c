"""The conditioning structure of the joint draw: which column each column is drawn given.

Owns choosing, for every drawn column, at most one other drawn column whose declared
statistics-given-a-level it follows (`quantiles given work_type == children: ...`), and the
order that draws each such column first. A spec may declare statistics of one column given
several others (the target, and the column `synspec infer` found it depends on most); the
draw can follow one. Choice, greedily over candidate (column, given) pairs, best first:
1. a pair that shares a hard rule, since the rule is kept by drawing inside its classes,
   which bends the marginals unless the two columns' dependence is drawn too (stroke:
   `work_type == children -> age <= 16` with age drawn given work type);
2. then the stronger dependence, measured on the spec's own statistics: the share-weighted
   distance between each level's distribution and the whole column's (total variation for
   levels, Kolmogorov-Smirnov for numbers);
a pair that would close a cycle (a given b, b given a) is skipped. `JointSampler` then
tries each column's other declared givens one at a time and keeps a change when rows drawn
that way reproduce the declared statistics better (`fidelity_loss`): whether a rule's
truncation bends a marginal depends on the whole structure, which no pairwise score sees.
"""

from __future__ import annotations

import numpy as np

from synspec import ir
from synspec.generate.joint.marginals import Marginal

_GRID = (np.arange(512) + 0.5) / 512  # fixed quantile points: the score is deterministic


def _quantile_points(m: Marginal) -> tuple[np.ndarray, np.ndarray]:
    """(class index, sorted numbers) at fixed quantile points of a marginal's present values;
    computed once per marginal (the structure search compares against them many times)."""
    cached = getattr(m, "_quantile_points", None)
    if cached is None:
        n = len(_GRID)
        cls, _, x = m.draw(_GRID, np.ones(n), np.ones((n, len(m.classes)), dtype=bool), render=False)
        k = len(m.classes)
        cached = (cls, np.sort(x), np.bincount(cls, minlength=k) / n)
        m._quantile_points = cached  # type: ignore[attr-defined]
    return cached[0], cached[1]


def sample_distance(m: Marginal, cls: np.ndarray, numbers: np.ndarray) -> float:
    """Distance between drawn cells (class indices and numbers, missing cells included) and a
    marginal's declared distribution of present values: KS for numbers, TV for levels."""
    _, b = _quantile_points(m)
    present = cls != m.missing_index if m.missing_index is not None else np.ones(len(cls), dtype=bool)
    if not present.any():
        return 0.0
    if m.column.is_numeric:
        a = np.sort(numbers[present])
        points = np.concatenate([a, b])
        fa = np.searchsorted(a, points, side="right") / len(a)
        fb = np.searchsorted(b, points, side="right") / len(b)
        return float(np.max(np.abs(fa - fb)))
    k = len(m.classes)
    drawn = np.bincount(cls[present], minlength=k) / present.sum()
    return 0.5 * float(np.abs(drawn - m._quantile_points[2]).sum())  # type: ignore[attr-defined]


def _distance(a: Marginal, b: Marginal) -> float:
    cls, x = _quantile_points(a)
    return sample_distance(b, cls, x)


def dependence(
    spec: ir.Spec, column: str, given: str, marginals: dict[tuple[str, str | None], Marginal]
) -> float:
    """Share-weighted distance between `column`'s statistics given each level of `given` and
    its statistics overall (0 when nothing is declared given `given`)."""
    shares = dict(spec.column(given).frequencies)
    whole = marginals[(column, None)]
    score = 0.0
    for cond in spec.column(column).conditionals:
        key = (column, f"{given}\0{cond.level}")
        if cond.given == given and key in marginals:
            score += shares.get(cond.level, 0.0) * _distance(marginals[key], whole)
    return score


def choose_givens(
    spec: ir.Spec, drawn: list[str], marginals: dict[tuple[str, str | None], Marginal]
) -> dict[str, str | None]:
    """The column each drawn column is drawn given (None: its statistics over all rows)."""
    drawn_set = set(drawn)
    shared = {
        frozenset((a, b)) for rule in spec.hard_rules for a in rule.columns for b in rule.columns if a != b
    }
    candidates = []
    for name in drawn:
        for given in dict.fromkeys(c.given for c in spec.column(name).conditionals):
            if given in drawn_set and given != name:
                score = dependence(spec, name, given, marginals)
                candidates.append((frozenset((name, given)) in shared, score, name, given))
    parent: dict[str, str | None] = dict.fromkeys(drawn)
    # Best first; ties fall back to file order so the choice never depends on set order.
    position = {c.name: c.position for c in spec.columns}
    for _, _, name, given in sorted(
        candidates, key=lambda c: (not c[0], -c[1], position[c[2]], position[c[3]])
    ):
        if parent[name] is not None:
            continue
        ancestor: str | None = given
        while ancestor is not None and ancestor != name:
            ancestor = parent[ancestor]
        if ancestor is None:  # no cycle
            parent[name] = given
    return parent


def draw_order(spec: ir.Spec, parent: dict[str, str | None]) -> list[str]:
    """Every column after the column it is drawn given; file order otherwise."""
    order: list[str] = []
    placed: set[str] = set()
    pending = sorted(parent, key=lambda n: spec.column(n).position)
    while pending:
        for name in pending:
            if parent[name] is None or parent[name] in placed:
                order.append(name)
                placed.add(name)
                pending.remove(name)
                break
    return order


def acyclic(parent: dict[str, str | None]) -> bool:
    for start in parent:
        seen, node = set(), parent[start]
        while node is not None:
            if node == start or node in seen:
                return False
            seen.add(node)
            node = parent[node]
    return True


def alternatives(spec: ir.Spec, parent: dict[str, str | None]) -> list[dict[str, str | None]]:
    """Structures that differ from `parent` in one column's given (another column whose levels
    its statistics are declared given; never none, since declared conditionals carry the
    dependence on the target that utility needs), each acyclic."""
    out = []
    for name in parent:
        for given in dict.fromkeys(c.given for c in spec.column(name).conditionals):
            if given == parent[name] or (given is not None and (given not in parent or given == name)):
                continue
            trial = {**parent, name: given}
            if acyclic(trial):
                out.append(trial)
    return out
