"""Three-valued (Kleene) evaluation of a typed rule expression on a partial row.

Some columns are known (`known` maps them to a value: a number for integer and decimal
columns, the level text for categorical ones, True or False for booleans); every other
column is unknown, and so is whether it is missing. The result is True, False or None
(unknown). Kleene's strong tables are monotone: filling in an unknown cell, with a value or
with a missing one, never turns True or False into the other. So a rule that evaluates to
False here is broken by every row that agrees with `known` — what `contradictions` needs to
prove that a declared statistic describes rows a hard rule forbids.

>>> from synspec import ir
>>> rule = ir.Implies(condition=ir.Compare(op=">", left=ir.ColumnRef(column="glucose"),
...                                        right=ir.Const(value=200)),
...                   consequence=ir.IsTrue(column="diabetes"))
>>> evaluate(rule, {"glucose": 250.0, "diabetes": False}), evaluate(rule, {"glucose": 250.0})
(False, None)
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from synspec import ir

Known = float | str | bool
Truth = bool | None  # None: unknown

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}


def evaluate(expr: ir.BoolExpr, known: Mapping[str, Known]) -> Truth:
    """True, False, or None when the known cells do not decide it."""
    if isinstance(expr, ir.BoolConst):
        return expr.value
    if isinstance(expr, ir.IsTrue):
        value = known.get(expr.column)
        return value if isinstance(value, bool) else None
    if isinstance(expr, ir.IsMissing):
        # A known cell is present; an unknown one may or may not be missing.
        return (expr.negated if expr.column in known else None)
    if isinstance(expr, ir.Compare):
        left, right = _value(expr.left, known), _value(expr.right, known)
        if left is None or right is None:
            return None
        return _COMPARE[expr.op](left, right)
    if isinstance(expr, ir.InSet):
        operand = _value(expr.operand, known)
        if operand is None:
            return None
        hit = operand in [v.value for v in expr.values]
        return not hit if expr.negated else hit
    if isinstance(expr, ir.Not):
        inner = evaluate(expr.operand, known)
        return None if inner is None else not inner
    if isinstance(expr, ir.And):
        return _and([evaluate(item, known) for item in expr.items])
    if isinstance(expr, ir.Or):
        return _or([evaluate(item, known) for item in expr.items])
    if isinstance(expr, ir.Implies):
        condition = evaluate(expr.condition, known)
        return _or([None if condition is None else not condition, evaluate(expr.consequence, known)])
    if isinstance(expr, ir.Iff):
        left, right = evaluate(expr.left, known), evaluate(expr.right, known)
        return None if left is None or right is None else left == right
    raise TypeError(f"not a condition: {expr.kind}")


def _and(values: list[Truth]) -> Truth:
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def _or(values: list[Truth]) -> Truth:
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def _value(expr: ir.ValueExpr, known: Mapping[str, Known]) -> float | str | None:
    """A number or a level text, None when unknown (an unknown column, a division by zero)."""
    if isinstance(expr, ir.Level):
        return expr.value
    if isinstance(expr, ir.Const):
        return float(expr.value)
    if isinstance(expr, ir.ColumnRef):
        value = known.get(expr.column)
        return None if value is None or isinstance(value, bool) else value
    if isinstance(expr, ir.Neg):
        inner = _value(expr.operand, known)
        return -inner if isinstance(inner, float) else None
    if isinstance(expr, ir.Arith):
        left, right = _value(expr.left, known), _value(expr.right, known)
        if not isinstance(left, float) or not isinstance(right, float):
            return None
        if expr.op == "/" and right == 0:
            return None  # as in the checker: x / 0 is unknown
        out = _ARITH[expr.op](left, right)
        return out if math.isfinite(out) else None
    raise TypeError(f"not a value: {expr.kind}")
