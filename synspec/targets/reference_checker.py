"""A plain per-row evaluator of the same IR: the oracle the vectorised checker is tested against.

Covers the rules and the `<column>.value` check (a column with `values` admits only those).

Deliberately naive: one row at a time, Python values, `None` for unknown, Kleene's tables
written out literally. It shares no code with `synspec.targets.checker` beyond reading the IR
and the typed table, so an agreement between the two is evidence, not a tautology. It is also
the baseline of `benchmarks/bench_validate.py`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from synspec import ir
from synspec.data import TypedTable

Row = dict[str, Any]  # column -> float | str | None (None: missing or unparseable)


def _num(expr: ir.ValueExpr, row: Row) -> float | None:
    if isinstance(expr, ir.Const):
        return float(expr.value)
    if isinstance(expr, ir.ColumnRef):
        value = row[expr.column]
        return None if value is None else float(value)
    if isinstance(expr, ir.Neg):
        inner = _num(expr.operand, row)
        return None if inner is None else -inner
    if isinstance(expr, ir.Arith):
        left, right = _num(expr.left, row), _num(expr.right, row)
        if left is None or right is None:
            return None
        if expr.op == "+":
            out = left + right
        elif expr.op == "-":
            out = left - right
        elif expr.op == "*":
            out = left * right
        else:
            if right == 0:
                return None
            out = left / right
        return out if math.isfinite(out) else None
    raise TypeError(expr.kind)


def _value(expr: ir.ValueExpr, row: Row, spec: ir.Spec) -> Any:
    if isinstance(expr, ir.Level):
        return expr.value
    if isinstance(expr, ir.ColumnRef) and spec.column(expr.column).kind is ir.ColumnKind.CATEGORICAL:
        return row[expr.column]
    return _num(expr, row)


def evaluate(expr: ir.BoolExpr, row: Row, missing: dict[str, bool], spec: ir.Spec) -> bool | None:
    """True, False, or None (unknown) for one row."""
    if isinstance(expr, ir.BoolConst):
        return expr.value
    if isinstance(expr, ir.IsTrue):
        value = row[expr.column]
        return None if value is None else value == 1.0
    if isinstance(expr, ir.IsMissing):
        return (not missing[expr.column]) if expr.negated else missing[expr.column]
    if isinstance(expr, ir.Compare):
        left, right = _value(expr.left, row, spec), _value(expr.right, row, spec)
        if left is None or right is None:
            return None
        if expr.op == "==":
            return left == right
        if expr.op == "!=":
            return left != right
        if expr.op == "<":
            return left < right
        if expr.op == "<=":
            return left <= right
        if expr.op == ">":
            return left > right
        return left >= right
    if isinstance(expr, ir.InSet):
        operand = _value(expr.operand, row, spec)
        if operand is None:
            return None
        members = [v.value if isinstance(v, ir.Level) else float(v.value) for v in expr.values]
        hit = operand in members
        return (not hit) if expr.negated else hit
    if isinstance(expr, ir.Not):
        inner = evaluate(expr.operand, row, missing, spec)
        return None if inner is None else not inner
    if isinstance(expr, ir.And):
        values = [evaluate(item, row, missing, spec) for item in expr.items]
        if any(v is False for v in values):
            return False
        return True if all(v is True for v in values) else None
    if isinstance(expr, ir.Or):
        values = [evaluate(item, row, missing, spec) for item in expr.items]
        if any(v is True for v in values):
            return True
        return False if all(v is False for v in values) else None
    if isinstance(expr, ir.Implies):
        condition = evaluate(expr.condition, row, missing, spec)
        consequence = evaluate(expr.consequence, row, missing, spec)
        if condition is False or consequence is True:
            return True
        if condition is True and consequence is False:
            return False
        return None
    if isinstance(expr, ir.Iff):
        left = evaluate(expr.left, row, missing, spec)
        right = evaluate(expr.right, row, missing, spec)
        if left is None or right is None:
            return None
        return left == right
    raise TypeError(expr.kind)


def rows_of(table: TypedTable, spec: ir.Spec) -> tuple[list[Row], list[dict[str, bool]]]:
    """The table as Python rows (None for unknown cells) and per-row missing flags."""
    names = list(spec.column_names)
    columns = {}
    for name in names:
        values = table.frame[name].to_numpy(dtype=object)
        columns[name] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v
                         for v in values]
    n = len(table)
    rows = [{name: columns[name][i] for name in names} for i in range(n)]
    missing = [{name: bool(table.missing[name][i]) for name in names} for i in range(n)]
    return rows, missing


def rule_outcome(rule: ir.Rule, spec: ir.Spec, rows: list[Row], missing: list[dict[str, bool]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(failed, applicable) masks of one rule, row by row (same semantics as the checker)."""
    failed = np.zeros(len(rows), dtype=bool)
    applicable = np.zeros(len(rows), dtype=bool)
    for i, (row, miss) in enumerate(zip(rows, missing, strict=True)):
        value = evaluate(rule.expr, row, miss, spec)
        if value is None:
            continue
        failed[i] = value is False
        # A rule written as an implication does not apply where its condition is false.
        if isinstance(rule.expr, ir.Implies):
            applicable[i] = evaluate(rule.expr.condition, row, miss, spec) is not False
        else:
            applicable[i] = True
    return failed, applicable


def check_rules(table: TypedTable, spec: ir.Spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every rule's (failed, applicable) masks."""
    rows, missing = rows_of(table, spec)
    return {rule.name: rule_outcome(rule, spec, rows, missing) for rule in spec.rules}


def value_outcome(column: ir.Column, rows: list[Row],
                  too_many_places: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(failed, applicable) masks of `<column>.value`, row by row: a known value inside the
    range, with no more than the declared places, must be declared (other values are the range
    and places checks' findings)."""
    allowed = [float(value) for value, _ in column.values]
    failed = np.zeros(len(rows), dtype=bool)
    applicable = np.zeros(len(rows), dtype=bool)
    for i, row in enumerate(rows):
        value = row[column.name]
        if value is None:
            continue  # missing or unparseable: the type and missing checks speak for it
        if (column.low is not None and float(value) < column.low) or \
                (column.high is not None and float(value) > column.high):
            continue
        if too_many_places is not None and too_many_places[i]:
            continue
        applicable[i] = True
        failed[i] = not any(float(value) == declared for declared in allowed)
    return failed, applicable


def check_values(table: TypedTable, spec: ir.Spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`<column>.value` masks for every numeric column that declares `values`."""
    rows, _ = rows_of(table, spec)
    return {f"{column.name}.value": value_outcome(column, rows, table.too_many_places.get(column.name))
            for column in spec.columns if column.is_numeric and column.values}
