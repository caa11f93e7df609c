"""Generation order: the order in which a row's columns are written (and generated).

Read by the row format, the prompts and the row grammar. It lives beside them, not inside
the grammar package, so `row_format` can import it without an import cycle (the grammar
package itself renders the row format).
"""

from __future__ import annotations

import heapq

from synspec import ir
from synspec.memo import by_identity
from synspec.tree import walk


def mentioned_columns(expr: ir.Expr) -> set[str]:
    """Every column an expression names, at any depth (any node with a `column` field)."""
    # A model's field values live in its __dict__; getattr of a missing field is slow in pydantic.
    return {column for node in walk(expr) if isinstance(column := vars(node).get("column"), str)}


def _condition_columns(expr: ir.Expr) -> tuple[set[str], set[str]]:
    if isinstance(expr, ir.Implies):
        return mentioned_columns(expr.condition), mentioned_columns(expr.consequence)
    return set(), set()


@by_identity
def generation_order(spec: ir.Spec) -> tuple[str, ...]:
    """Generated columns, antecedents of implications before consequents, else file order.

    A stable topological order (Kahn's algorithm, lowest file position first); a cycle
    (e.g. a -> b and b -> a) is broken by taking the earliest column left.
    """
    names = [c.name for c in spec.generated_columns]
    position = {n: i for i, n in enumerate(names)}
    before: list[set[int]] = [set() for _ in names]
    for rule in spec.rules:
        conds, cons = _condition_columns(rule.expr)
        conds_here = {position[n] for n in conds if n in position}
        for consequent in cons:
            if consequent in position:
                at = position[consequent]
                before[at] |= conds_here - {at}
    # Kahn's algorithm with a heap of ready columns: linear in columns plus edges (times log),
    # where re-scanning every column at each step was quadratic on wide specs.
    after: list[list[int]] = [[] for _ in names]
    waiting = [len(b) for b in before]
    for q, preds in enumerate(before):
        for p in preds:
            after[p].append(q)
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    placed = [False] * len(names)
    order: list[str] = []
    earliest = 0  # every column before it is placed
    while len(order) < len(names):
        while ready and placed[ready[0]]:
            heapq.heappop(ready)
        if ready:
            pick = heapq.heappop(ready)
        else:  # a cycle: take the earliest column left
            while placed[earliest]:
                earliest += 1
            pick = earliest
        placed[pick] = True
        order.append(names[pick])
        for q in after[pick]:
            waiting[q] -= 1
            if waiting[q] == 0 and not placed[q]:
                heapq.heappush(ready, q)
    return tuple(order)
