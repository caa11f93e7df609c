"""Pass: warn about rules that can never be true or are always true, and out-of-range literals.

Interval reasoning over what the spec declares: each numeric column lies in its
`range` (or anywhere, without one), a categorical column takes one of its `levels`,
a boolean column is true or false, and a column with a `missing` line may be
missing. Every expression is abstracted to the set of outcomes it can have:
true, false, or unknown (a comparison involving a missing value). The abstraction
over-approximates, so the warnings are sound: S501 (never true) is given only when
every possible outcome is false, S502 (always true) only when every possible
outcome is true; a rule that may be unknown on some row gets neither, whatever the
checker does with unknown. S503 flags a number compared with a column outside that
column's declared range.

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\ncolumn age: integer\\n range 0 to 80\\nrule r: age < 200')
>>> sorted(d.code for d in r.diagnostics)
['S502', 'S503']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

from synspec import ir
from synspec import nodes as n
from synspec.passes.context import Context
from synspec.tree import walk

# Three-valued outcomes of a condition.
T, F, U = "true", "false", "unknown"
_ALL = frozenset({T, F, U})
_TRUE_OR_FALSE = frozenset({T, F})

# Integer columns with at most this many values in their range are enumerated for `in {...}`.
_MAX_ENUMERATED = 10_000


@dataclass(frozen=True)
class Interval:
    """The values a numeric expression can take: [low, high], whole numbers only if `integral`.

    `missing` says the expression may have no value (a missing column, or a division by 0).
    """

    low: float
    high: float
    integral: bool = False
    missing: bool = False

    @classmethod
    def point(cls, value: float) -> Interval:
        return cls(value, value, integral=float(value).is_integer())


_ANYTHING = Interval(-math.inf, math.inf, missing=True)


def _column_interval(column: ir.Column) -> Interval:
    low = column.low if column.low is not None else -math.inf
    high = column.high if column.high is not None else math.inf
    return Interval(low, high, column.kind is ir.ColumnKind.INTEGER, column.may_be_missing)


def _safe(values: list[float]) -> tuple[float, float]:
    """Min and max of products/sums, treating inf*0 (NaN) as unbounded."""
    if any(math.isnan(v) for v in values):
        return -math.inf, math.inf
    return min(values), max(values)


def _arith(op: str, a: Interval, b: Interval) -> Interval:
    missing = a.missing or b.missing
    integral = a.integral and b.integral and op != "/"
    if op == "+":
        low, high = _safe([a.low + b.low, a.high + b.high])
    elif op == "-":
        low, high = _safe([a.low - b.high, a.high - b.low])
    elif op == "*":
        low, high = _safe([a.low * b.low, a.low * b.high, a.high * b.low, a.high * b.high])
    else:
        if b.low <= 0 <= b.high:
            # A division by zero has no value; and the quotient is unbounded near zero.
            return Interval(-math.inf, math.inf, missing=True)
        low, high = _safe([a.low / b.low, a.low / b.high, a.high / b.low, a.high / b.high])
    return Interval(low, high, integral, missing)


class _Abstract:
    """Evaluates typed rule expressions over declared domains instead of over rows."""

    def __init__(self, columns: dict[str, ir.Column]) -> None:
        self.columns = columns

    def number(self, expr) -> Interval:
        if isinstance(expr, ir.Const):
            return Interval.point(expr.value)
        if isinstance(expr, ir.ColumnRef):
            column = self.columns.get(expr.column)
            return _column_interval(column) if column is not None and column.is_numeric else _ANYTHING
        if isinstance(expr, ir.Neg):
            inner = self.number(expr.operand)
            return Interval(-inner.high, -inner.low, inner.integral, inner.missing)
        if isinstance(expr, ir.Arith):
            return _arith(expr.op, self.number(expr.left), self.number(expr.right))
        return _ANYTHING

    def outcomes(self, expr) -> frozenset[str]:
        if isinstance(expr, ir.BoolConst):
            return frozenset({T if expr.value else F})
        if isinstance(expr, ir.IsTrue):
            return self._maybe_unknown(_TRUE_OR_FALSE, expr.column)
        if isinstance(expr, ir.IsMissing):
            column = self.columns.get(expr.column)
            if column is None or column.may_be_missing:
                return _TRUE_OR_FALSE
            return frozenset({T if expr.negated else F})
        if isinstance(expr, ir.Not):
            return frozenset(_not(v) for v in self.outcomes(expr.operand))
        if isinstance(expr, (ir.And, ir.Or)):
            combine = _and if isinstance(expr, ir.And) else _or
            result = self.outcomes(expr.items[0])
            for item in expr.items[1:]:
                result = frozenset(combine(a, b) for a, b in product(result, self.outcomes(item)))
            return result
        if isinstance(expr, ir.Implies):
            return frozenset(_or(_not(a), b) for a, b in
                             product(self.outcomes(expr.condition), self.outcomes(expr.consequence)))
        if isinstance(expr, ir.Iff):
            return frozenset(_iff(a, b) for a, b in
                             product(self.outcomes(expr.left), self.outcomes(expr.right)))
        if isinstance(expr, ir.Compare):
            return self._compare(expr)
        if isinstance(expr, ir.InSet):
            return self._in_set(expr)
        return _ALL

    def _maybe_unknown(self, values: frozenset[str], *column_names: str) -> frozenset[str]:
        for name in column_names:
            column = self.columns.get(name)
            if column is None or column.may_be_missing:
                return values | {U}
        return values

    def _compare(self, expr: ir.Compare) -> frozenset[str]:
        left, right = expr.left, expr.right
        if isinstance(right, ir.Level):
            column = self.columns.get(right.column)
            levels = column.levels if column is not None else ()
            equal = frozenset({T}) if levels == (right.value,) else _TRUE_OR_FALSE
            values = equal if expr.op == "==" else frozenset(_not(v) for v in equal)
            return self._maybe_unknown(values, right.column)
        if isinstance(left, ir.ColumnRef) and isinstance(right, ir.ColumnRef) and (
                not self._numeric(left.column) or not self._numeric(right.column)):
            return self._maybe_unknown(_TRUE_OR_FALSE, left.column, right.column)
        a, b = self.number(left), self.number(right)
        values = _interval_compare(expr.op, a, b)
        return values | {U} if a.missing or b.missing else values

    def _in_set(self, expr: ir.InSet) -> frozenset[str]:
        if expr.values and isinstance(expr.values[0], ir.Level):
            column = self.columns.get(expr.values[0].column)
            chosen = {v.value for v in expr.values if isinstance(v, ir.Level)}
            covers = column is not None and set(column.levels) <= chosen
            inside = frozenset({T}) if covers else _TRUE_OR_FALSE
            name = column.name if column is not None else ""
        else:
            interval = self.number(expr.operand)
            consts = [v.value for v in expr.values if isinstance(v, ir.Const)]
            inside = _interval_in(interval, consts)
            if interval.missing:
                inside = inside | {U}
            return frozenset(_not(v) for v in inside) if expr.negated else inside
        values = frozenset(_not(v) for v in inside) if expr.negated else inside
        return self._maybe_unknown(values, name)

    def _numeric(self, name: str) -> bool:
        column = self.columns.get(name)
        return column is not None and column.is_numeric


def _not(v: str) -> str:
    return {T: F, F: T}.get(v, U)


def _and(a: str, b: str) -> str:
    if F in (a, b):
        return F
    return T if a == b == T else U


def _or(a: str, b: str) -> str:
    if T in (a, b):
        return T
    return F if a == b == F else U


def _iff(a: str, b: str) -> str:
    if U in (a, b):
        return U
    return T if a == b else F


def _interval_compare(op: str, a: Interval, b: Interval) -> frozenset[str]:
    """Which of true/false `a op b` can be for some a in A and b in B (values present)."""
    if op in (">", ">="):
        a, b, op = b, a, "<" if op == ">" else "<="
    if op == "<":
        can_true, can_false = a.low < b.high, a.high >= b.low
    elif op == "<=":
        can_true, can_false = a.low <= b.high, a.high > b.low
    else:
        single = a.low == a.high == b.low == b.high
        overlap = a.low <= b.high and b.low <= a.high
        can_true, can_false = overlap, not single
        if op == "!=":
            can_true, can_false = can_false, can_true
    return frozenset(v for v, ok in ((T, can_true), (F, can_false)) if ok)


def _interval_in(interval: Interval, consts: list[float]) -> frozenset[str]:
    can_true = any(interval.low <= c <= interval.high for c in consts)
    if interval.low == interval.high:
        can_false = interval.low not in consts
    elif (interval.integral and math.isfinite(interval.low) and math.isfinite(interval.high)
          and interval.high - interval.low <= _MAX_ENUMERATED):
        wanted = set(consts)
        whole = range(math.ceil(interval.low), math.floor(interval.high) + 1)
        can_false = any(float(v) not in wanted for v in whole)
    else:
        can_false = True
    return frozenset(v for v, ok in ((T, can_true), (F, can_false)) if ok)


# ---- S503: literals outside a column's range, found on the syntax tree (it has the spans) ----
def _literal_value(node: n.Expr) -> float | None:
    if isinstance(node, n.NumberLit):
        return node.number.value
    if isinstance(node, n.Neg) and isinstance(node.operand, n.NumberLit):
        return -node.operand.number.value
    return None


def _ranged_column(ctx: Context, node: n.Expr) -> ir.Column | None:
    if not isinstance(node, n.Ref):
        return None
    column = ctx.columns.get(node.ident.name)
    if column is None or not column.is_numeric or column.low is None or column.high is None:
        return None
    return column


def _out_of_range(ctx: Context, rule_name: str, column: ir.Column, literal: n.Expr) -> None:
    value = _literal_value(literal)
    if value is None or column.low is None or column.high is None or column.low <= value <= column.high:
        return
    ctx.report("S503", f"{value:g} is outside the range of `{column.name}` ({column.low:g} to "
               f"{column.high:g}) in rule `{rule_name}`", literal.span,
               label="outside the declared range", notes=(),
               help=f"check the number, or widen `range` of `{column.name}` at {column.location}")


def _literals(ctx: Context, rule: n.Rule) -> None:
    for node in walk(rule.expr):
        if isinstance(node, n.Compare):
            for col_side, lit_side in ((node.left, node.right), (node.right, node.left)):
                column = _ranged_column(ctx, col_side)
                if column is not None:
                    _out_of_range(ctx, rule.name.name, column, lit_side)
        elif isinstance(node, n.Member):
            column = _ranged_column(ctx, node.operand)
            if column is not None:
                for item in node.items:
                    _out_of_range(ctx, rule.name.name, column, item)


def rule_sanity(ctx: Context) -> None:
    nodes_by_name: dict[str, n.Rule] = {}
    for item in ctx.tree.items:
        if isinstance(item, n.Rule):
            nodes_by_name.setdefault(item.name.name, item)
            _literals(ctx, item)
    abstract = _Abstract(ctx.columns)
    for rule in ctx.rules:
        node = nodes_by_name.get(rule.name)
        if node is None:
            continue
        outcomes = abstract.outcomes(rule.expr)
        what = "rule" if rule.kind is ir.RuleKind.HARD else "expectation"
        if outcomes == {F}:
            ctx.report("S501", f"{what} `{rule.name}` can never be true given the declared ranges "
                       "and levels", node.expr.span, label="false on every possible row",
                       help="check the numbers and levels against the columns' declarations; "
                            "as written, every row would break it")
        elif outcomes == {T}:
            vacuous = (isinstance(rule.expr, ir.Implies)
                       and abstract.outcomes(rule.expr.condition) == {F})
            ctx.report("S502", f"{what} `{rule.name}` is always true given the declared ranges "
                       "and levels", node.expr.span, label="true on every possible row",
                       help=("its condition (before `->`) can never hold, so it never applies; "
                             "check the numbers and levels" if vacuous else
                             "it constrains nothing: tighten it or remove it"))
