"""Rule expressions compiled to SQL: the IR's three-valued logic is SQL's own.

docs/language.md ("Missing values in rules") is Kleene's logic, which is how SQL treats NULL:
a comparison with a missing or unparseable operand is NULL (unknown), `is missing` is never
NULL, and AND/OR/NOT follow the same tables. So each IR node maps to one SQL operator over the
typed cells (`synspec.targets.sql.cells`), with two deliberate guards that mirror the checker:
division by zero and any non-finite arithmetic result are NULL, never an infinity.
"""

from __future__ import annotations

from synspec import ir
from synspec.targets.sql.cells import ColumnCells
from synspec.targets.sql.dialect import Dialect

__all__ = ["ExpressionCompiler"]

_SQL_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class ExpressionCompiler:
    """IR rule expressions -> SQL text over the `typed` relation's cell names."""

    def __init__(self, cells: list[ColumnCells], d: Dialect) -> None:
        self.cells = {cell.column.name: cell for cell in cells}
        self.d = d

    def is_text(self, expr: ir.ValueExpr) -> bool:
        if isinstance(expr, ir.Level):
            return True
        return (isinstance(expr, ir.ColumnRef)
                and self.cells[expr.column].column.kind is ir.ColumnKind.CATEGORICAL)

    def value(self, expr: ir.ValueExpr) -> str:
        if isinstance(expr, ir.Level):
            return self.d.string(expr.value)
        if isinstance(expr, ir.Const):
            return self.d.double(expr.value)
        if isinstance(expr, ir.ColumnRef):
            cell = self.cells[expr.column]
            return cell.text if self.is_text(expr) else cell.number
        if isinstance(expr, ir.Neg):
            return f"(- {self.value(expr.operand)})"
        if isinstance(expr, ir.Arith):
            left, right = self.value(expr.left), self.value(expr.right)
            if expr.op == "/":
                right = f"NULLIF({right}, 0)"
            return self.d.finite(f"({left} {expr.op} {right})")
        raise TypeError(f"the SQL target does not handle value expression {expr.kind!r}")

    def boolean(self, expr: ir.BoolExpr) -> str:
        if isinstance(expr, ir.BoolConst):
            return "TRUE" if expr.value else "FALSE"
        if isinstance(expr, ir.IsTrue):
            return f"({self.cells[expr.column].number} = {self.d.double(1)})"
        if isinstance(expr, ir.IsMissing):
            missing = self.cells[expr.column].missing
            return f"(NOT {missing})" if expr.negated else missing
        if isinstance(expr, ir.Compare):
            if (self.is_text(expr.left) or self.is_text(expr.right)) and expr.op not in ("==", "!="):
                raise TypeError(f"levels compare only with == and !=, not {expr.op}")
            return f"({self.value(expr.left)} {_SQL_OPS[expr.op]} {self.value(expr.right)})"
        if isinstance(expr, ir.InSet):
            return self._in_set(expr)
        if isinstance(expr, ir.Not):
            return f"(NOT {self.boolean(expr.operand)})"
        if isinstance(expr, ir.And | ir.Or):
            joiner = " AND " if isinstance(expr, ir.And) else " OR "
            return "(" + joiner.join(self.boolean(item) for item in expr.items) + ")"
        if isinstance(expr, ir.Implies):
            return f"((NOT {self.boolean(expr.condition)}) OR {self.boolean(expr.consequence)})"
        if isinstance(expr, ir.Iff):
            return f"({self.boolean(expr.left)} = {self.boolean(expr.right)})"
        raise TypeError(f"the SQL target does not handle rule expression {expr.kind!r}")

    def _in_set(self, expr: ir.InSet) -> str:
        operand = self.value(expr.operand)
        if self.is_text(expr.operand):
            members = [self.d.string(v.value) for v in expr.values if isinstance(v, ir.Level)]
        else:
            members = [self.d.double(v.value) for v in expr.values if isinstance(v, ir.Const)]
        if not members:  # `x in {}` is known false (true when negated) wherever x is known
            verdict = "TRUE" if expr.negated else "FALSE"
            return f"CASE WHEN {operand} IS NULL THEN NULL ELSE {verdict} END"
        return self.d.member_of(operand, members, negated=expr.negated)
