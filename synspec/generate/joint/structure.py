"""The conditioning structure of the joint draw: which columns each column is drawn given.

Owns choosing, for every drawn column, the other drawn columns whose declared
statistics-given-a-level it follows (`quantiles given work_type == children: ...`), and the
order that draws those columns first. A spec may declare statistics of one column given
several others (the target, and the columns `synspec infer` found it depends on most); a
column drawn given several follows all of them at once (`combine`). Choice, greedily over
candidate (column, given) pairs, best first:
1. a pair that shares a hard rule, since the rule is kept by drawing inside its classes,
   which bends the marginals unless the two columns' dependence is drawn too (stroke:
   `work_type == children -> age <= 16` with age drawn given work type);
2. then the stronger dependence, measured on the spec's own statistics: the share-weighted
   distance between each level's distribution and the whole column's (total variation for
   levels, Kolmogorov-Smirnov for numbers);
a pair that would close a cycle (a given b, b given a) is skipped. `JointSampler` then
tries adding or removing one given at a time and keeps a change when rows drawn that way
reproduce the declared statistics better (`fidelity_loss`): whether a rule's truncation bends
a marginal, or two givens overstate what they say together, depends on the whole structure,
which no pairwise score sees.
"""

from __future__ import annotations

import numpy as np

from synspec import ir
from synspec.generate.joint.marginals import Marginal

_GRID = (np.arange(512) + 0.5) / 512  # fixed quantile points: the score is deterministic

Structure = dict[str, tuple[str, ...]]  # column -> the columns it is drawn given, best first

# At most this many givens per column (`infer` writes the target and up to two partners).
MAX_GIVENS = 3


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
    spec: ir.Spec,
    drawn: list[str],
    marginals: dict[tuple[str, str | None], Marginal],
    max_givens: int = MAX_GIVENS,
) -> Structure:
    """The columns each drawn column is drawn given (empty: its statistics over all rows),
    at most `max_givens` each: a start for the structure search."""
    drawn_set = set(drawn)
    shared = {
        frozenset((a, b)) for rule in spec.hard_rules for a in rule.columns for b in rule.columns if a != b
    }
    candidates = []
    for name in drawn:
        for given in declared_givens(spec, name, drawn_set):
            score = dependence(spec, name, given, marginals)
            candidates.append((frozenset((name, given)) in shared, score, name, given))
    parents: Structure = {name: () for name in drawn}
    # Best first; ties fall back to file order so the choice never depends on set order.
    position = {c.name: c.position for c in spec.columns}
    for _, _, name, given in sorted(
        candidates, key=lambda c: (not c[0], -c[1], position[c[2]], position[c[3]])
    ):
        trial = {**parents, name: (*parents[name], given)}
        if len(trial[name]) <= max_givens and acyclic(trial):
            parents = trial
    return parents


def declared_givens(spec: ir.Spec, name: str, drawn: set[str]) -> list[str]:
    """The drawn columns whose levels `name`'s statistics are declared given, in file order."""
    givens = dict.fromkeys(c.given for c in spec.column(name).conditionals)
    return [g for g in givens if g in drawn and g != name]


def draw_order(spec: ir.Spec, parents: Structure) -> list[str]:
    """Every column after the columns it is drawn given; file order otherwise."""
    order: list[str] = []
    placed: set[str] = set()
    pending = sorted(parents, key=lambda n: spec.column(n).position)
    while pending:
        for name in pending:
            if all(g in placed for g in parents[name]):
                order.append(name)
                placed.add(name)
                pending.remove(name)
                break
    return order


def acyclic(parents: Structure) -> bool:
    """Whether no column is (through its givens) drawn given itself."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str) -> bool:
        if state.get(node) == 2:
            return True
        if state.get(node) == 1:
            return False
        state[node] = 1
        ok = all(visit(g) for g in parents.get(node, ()))
        state[node] = 2
        return ok

    return all(visit(node) for node in parents)


def toggle(parents: Structure, name: str, given: str) -> Structure | None:
    """`parents` with `given` added to or removed from `name`'s givens; None when that would
    leave the column with none (declared conditionals carry the dependence on the target that
    utility needs), exceed MAX_GIVENS or close a cycle."""
    current = parents[name]
    if given in current:
        if len(current) == 1:
            return None
        trial = {**parents, name: tuple(g for g in current if g != given)}
    elif len(current) < MAX_GIVENS:
        trial = {**parents, name: (*current, given)}
    else:
        return None
    return trial if acyclic(trial) else None


def moves(spec: ir.Spec, parents: Structure) -> list[tuple[str, str]]:
    """Every (column, given) pair the structure search may toggle, in file order."""
    drawn = set(parents)
    return [(name, given) for name in parents for given in declared_givens(spec, name, drawn)]
