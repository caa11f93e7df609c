"""Generation order: the order in which a row's columns are written (and generated).

Read by the row format, the prompts and the row grammar. It lives beside them, not inside
the grammar package, so `row_format` can import it without an import cycle (the grammar
package itself renders the row format).
"""

from __future__ import annotations

from synspec import ir
from synspec.tree import walk


def mentioned_columns(expr: ir.Expr) -> set[str]:
    """Every column an expression names, at any depth (any node with a `column` field)."""
    # A model's field values live in its __dict__; getattr of a missing field is slow in pydantic.
    return {column for node in walk(expr) if isinstance(column := vars(node).get("column"), str)}


def _condition_columns(expr: ir.Expr) -> tuple[set[str], set[str]]:
    if isinstance(expr, ir.Implies):
        return mentioned_columns(expr.condition), mentioned_columns(expr.consequence)
    return set(), set()


def generation_order(spec: ir.Spec) -> tuple[str, ...]:
    """Generated columns, antecedents of implications before consequents, else file order.

    A stable topological order (Kahn's algorithm, lowest file position first); a cycle
    (e.g. a -> b and b -> a) is broken by taking the earliest column left.
    """
    names = [c.name for c in spec.generated_columns]
    before: dict[str, set[str]] = {n: set() for n in names}
    for rule in spec.rules:
        conds, cons = _condition_columns(rule.expr)
        for q in cons & set(names):
            before[q] |= (conds & set(names)) - {q}
    order: list[str] = []
    left = list(names)
    while left:
        ready = [n for n in left if not (before[n] - set(order))]
        pick = ready[0] if ready else left[0]
        order.append(pick)
        left.remove(pick)
    return tuple(order)
