"""Pass: type-check rule expressions and lower them to typed `ir` expressions.

Resolves every bare name (a column, or a level of the column it is compared with),
rejects comparisons that mix types, and normalises booleans: a boolean column is a
condition in its own right, so `diabetes == 1` (encoding 1/0) becomes
`IsTrue("diabetes")`. Unknown columns and levels get "did you mean" help.

>>> from synspec.passes import check_text
>>> spec = check_text('dataset d\\ncolumn sex: categorical\\n levels Female, Male\\n'
...                   'column pregnant: boolean Y/N\\nrule p: pregnant -> sex == Female').spec
>>> spec.rules[0].expr.consequence.right
Level(kind='level', column='sex', value='Female')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Note, did_you_mean
from synspec.passes.context import Context, unique_props

_CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
_ArithOp = Literal["+", "-", "*", "/"]
_ORDERING = {"<", "<=", ">", ">="}
_FLIP: dict[str, _CompareOp] = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class _Literal:
    """A literal whose meaning (number, level, encoding token) depends on its partner."""

    text: str
    node: n.Expr
    number: float | None = None  # set for number literals
    boolean: bool | None = None  # set for true/false
    bare: bool = False  # a bare word that is not a column name


@dataclass(frozen=True)
class _ColumnOperand:
    column: ir.Column
    node: n.Expr


@dataclass(frozen=True)
class _NumericOperand:
    expr: ir.NumExpr
    node: n.Expr


class _RuleTyper:
    def __init__(self, ctx: Context, rule_name: str) -> None:
        self.ctx = ctx
        self.rule_name = rule_name
        self.mentioned: list[str] = []

    # -- helpers ------------------------------------------------------------
    def _mention(self, name: str) -> None:
        if name not in self.mentioned:
            self.mentioned.append(name)

    def _unknown_column(self, ident: n.Ident) -> None:
        guess = did_you_mean(ident.name, self.ctx.columns)
        owners = [c.name for c in self.ctx.columns.values()
                  if c.kind is ir.ColumnKind.CATEGORICAL and ident.name in c.levels]
        if guess:
            help_text = f"did you mean `{guess}`?"
        elif owners:
            help_text = f"`{ident.name}` is a level of `{owners[0]}`: write `{owners[0]} == {ident.name}`"
        else:
            help_text = "declare the column first, or check the spelling"
        notes = (Note(f"`{guess}` declared here", str(self.ctx.columns[guess].location)),) if guess else ()
        self.ctx.report("S201", f"unknown column `{ident.name}` in rule `{self.rule_name}`", ident.span,
                        label="not a declared column", help=help_text, notes=notes)

    def _type_error(self, node: n.Expr, message: str, help_text: str | None = None) -> None:
        self.ctx.report("S301", f"{message} in rule `{self.rule_name}`", node.span, help=help_text)

    # -- conditions -----------------------------------------------------------
    def condition(self, node: n.Expr):
        if isinstance(node, n.Implies):
            c, q = self.condition(node.condition), self.condition(node.consequence)
            return ir.Implies(condition=c, consequence=q) if c is not None and q is not None else None
        if isinstance(node, n.Iff):
            a, b = self.condition(node.left), self.condition(node.right)
            return ir.Iff(left=a, right=b) if a is not None and b is not None else None
        if isinstance(node, (n.And, n.Or)):
            a, b = self.condition(node.left), self.condition(node.right)
            if a is None or b is None:
                return None
            cls = ir.And if isinstance(node, n.And) else ir.Or
            items: list[ir.BoolExpr] = []
            for part in (a, b):
                items.extend(part.items if isinstance(part, cls) else (part,))
            return cls(items=tuple(items))
        if isinstance(node, n.Not):
            inner = self.condition(node.operand)
            return ir.Not(operand=inner) if inner is not None else None
        if isinstance(node, n.BoolLit):
            return ir.BoolConst(value=node.value)
        if isinstance(node, n.Ref):
            column = self.ctx.columns.get(node.ident.name)
            if column is None:
                self._unknown_column(node.ident)
                return None
            self._mention(column.name)
            if column.kind is ir.ColumnKind.BOOLEAN:
                return ir.IsTrue(column=column.name)
            article = "an" if column.kind is ir.ColumnKind.INTEGER else "a"
            self._type_error(node, f"`{column.name}` is {article} {column.kind.value} column, "
                             "not a condition",
                             f"compare it with something, e.g. `{column.name} == ...`")
            return None
        if isinstance(node, n.Compare):
            return self.compare(node)
        if isinstance(node, n.Member):
            return self.member(node)
        if isinstance(node, n.MissingTest):
            if isinstance(node.operand, n.Ref):
                column = self.ctx.columns.get(node.operand.ident.name)
                if column is None:
                    self._unknown_column(node.operand.ident)
                    return None
                self._mention(column.name)
                return ir.IsMissing(column=column.name, negated=node.negated)
            self.ctx.report("S306", f"only a column can be missing, in rule `{self.rule_name}`",
                            node.operand.span, help="write `COLUMN is missing` or `COLUMN is not missing`")
            return None
        what = {n.StringLit: "a string", n.NumberLit: "a number"}.get(type(node), "arithmetic")
        self._type_error(node, f"{what} is not a condition", "compare it, e.g. `x > 5`")
        return None

    # -- operands -------------------------------------------------------------
    def operand(self, node: n.Expr):
        if isinstance(node, n.Ref):
            column = self.ctx.columns.get(node.ident.name)
            if column is not None:
                self._mention(column.name)
                return _ColumnOperand(column, node)
            return _Literal(node.ident.name, node, bare=True)
        if isinstance(node, n.NumberLit):
            return _Literal(node.number.text, node, number=node.number.value)
        if isinstance(node, n.StringLit):
            return _Literal(node.text.value, node)
        if isinstance(node, n.BoolLit):
            return _Literal("true" if node.value else "false", node, boolean=node.value)
        if isinstance(node, n.Neg) and isinstance(node.operand, n.NumberLit):
            num = node.operand.number
            return _Literal("-" + num.text, node, number=-num.value)
        if isinstance(node, (n.Arith, n.Neg)):
            expr = self.numeric(node)
            return _NumericOperand(expr, node) if expr is not None else None
        self._type_error(node, "a condition cannot be compared", "put parentheses around arithmetic only")
        return None

    def numeric(self, node: n.Expr):
        """Lower an arithmetic expression; every leaf must be numeric."""
        if isinstance(node, n.NumberLit):
            return ir.Const(value=node.number.value)
        if isinstance(node, n.Ref):
            column = self.ctx.columns.get(node.ident.name)
            if column is None:
                self._unknown_column(node.ident)
                return None
            self._mention(column.name)
            if not column.is_numeric:
                self.ctx.report("S302", f"arithmetic on {column.kind.value} column `{column.name}` in rule "
                                f"`{self.rule_name}`", node.span,
                                help="only integer and decimal columns take part in arithmetic")
                return None
            return ir.ColumnRef(column=column.name)
        if isinstance(node, n.Neg):
            inner = self.numeric(node.operand)
            return ir.Neg(operand=inner) if inner is not None else None
        if isinstance(node, n.Arith):
            a, b = self.numeric(node.left), self.numeric(node.right)
            # The parser only builds these four operators (pydantic checks it again).
            op = cast(_ArithOp, node.op)
            return ir.Arith(op=op, left=a, right=b) if a is not None and b is not None else None
        self._type_error(node, "expected a number here")
        return None

    def _as_numeric(self, op: _Literal | _ColumnOperand | _NumericOperand) -> ir.NumExpr | None:
        if isinstance(op, _NumericOperand):
            return op.expr
        if isinstance(op, _ColumnOperand):
            if op.column.is_numeric:
                return ir.ColumnRef(column=op.column.name)
            self._type_error(op.node, f"`{op.column.name}` is {op.column.kind.value}, not a number")
            return None
        if op.number is not None:
            return ir.Const(value=op.number)
        if op.bare and isinstance(op.node, n.Ref):
            self._unknown_column(op.node.ident)
            return None
        self._type_error(op.node, f"\"{op.text}\" is text, not a number")
        return None

    def _level(self, column: ir.Column, lit: _Literal) -> str | None:
        """The level of a categorical column that a literal names (S202 otherwise)."""
        if lit.boolean is not None:
            self._type_error(lit.node, f"`{column.name}` is categorical; compare it with one of its levels")
            return None
        if lit.text in column.levels:
            return lit.text
        self._unknown_level(column, lit)
        return None

    def _unknown_level(self, column: ir.Column, lit: _Literal) -> None:
        guess = did_you_mean(lit.text, column.levels)
        elsewhere = [c.name for c in self.ctx.columns.values()
                     if c.name != column.name and lit.text in c.levels]
        what = "encoding" if column.kind is ir.ColumnKind.BOOLEAN else "level"
        listing = f"{what}s of `{column.name}` are: " + ", ".join(column.levels)
        if guess:
            help_text = f"did you mean `{guess}`?"
        elif column.kind is ir.ColumnKind.CATEGORICAL and lit.number is not None:
            # A number that is not one of the levels: a type error, not a typo.
            self._type_error(lit.node, f"cannot compare categorical `{column.name}` with the number "
                             f"{lit.text}", listing)
            return
        elif elsewhere:
            self._type_error(lit.node, f"`{lit.text}` is a level of `{elsewhere[0]}`, not of "
                             f"`{column.name}`", listing)
            return
        else:
            help_text = listing
        self.ctx.report("S202", f"`{lit.text}` is not a {what} of `{column.name}` in rule `{self.rule_name}`",
                        lit.node.span, label=f"unknown {what}", help=help_text)

    def _truth(self, column: ir.Column, lit: _Literal) -> bool | None:
        """Which truth value a literal means for a boolean column."""
        if lit.boolean is not None:
            return lit.boolean
        if lit.text == column.true_token:
            return True
        if lit.text == column.false_token:
            return False
        self._unknown_level(column, lit)
        return None

    # -- comparisons and membership --------------------------------------------
    def compare(self, node: n.Compare):
        left, right = self.operand(node.left), self.operand(node.right)
        if left is None or right is None:
            return None
        op = cast(_CompareOp, node.op)  # the parser only builds the six comparison operators
        # Put a categorical/boolean column on the left so the cases below are few.
        if isinstance(right, _ColumnOperand) and not right.column.is_numeric and not (
                isinstance(left, _ColumnOperand) and not left.column.is_numeric):
            left, right, op = right, left, _FLIP[op]
        if isinstance(left, _ColumnOperand) and not left.column.is_numeric:
            column = left.column
            if op in _ORDERING:
                self._type_error(node, f"`{column.name}` is {column.kind.value} and has no order",
                                 f"use == or != , or `{column.name} in {{...}}`")
                return None
            if isinstance(right, _ColumnOperand):
                other = right.column
                if other.kind is not column.kind or other.is_numeric:
                    self._type_error(node, f"cannot compare {column.kind.value} `{column.name}` with "
                                     f"{other.kind.value} `{other.name}`")
                    return None
                if column.kind is ir.ColumnKind.BOOLEAN:
                    same = ir.Iff(left=ir.IsTrue(column=column.name), right=ir.IsTrue(column=other.name))
                    return same if op == "==" else ir.Not(operand=same)
                return ir.Compare(op=op, left=ir.ColumnRef(column=column.name),
                                  right=ir.ColumnRef(column=other.name))
            if isinstance(right, _NumericOperand):
                self._type_error(node, f"cannot compare {column.kind.value} `{column.name}` with arithmetic")
                return None
            if column.kind is ir.ColumnKind.BOOLEAN:
                truth = self._truth(column, right)
                if truth is None:
                    return None
                is_true = ir.IsTrue(column=column.name)
                return is_true if (truth == (op == "==")) else ir.Not(operand=is_true)
            level = self._level(column, right)
            if level is None:
                return None
            return ir.Compare(op=op, left=ir.ColumnRef(column=column.name),
                              right=ir.Level(column=column.name, value=level))
        a, b = self._as_numeric(left), self._as_numeric(right)
        if a is None or b is None:
            return None
        return ir.Compare(op=op, left=a, right=b)

    def member(self, node: n.Member):
        operand = self.operand(node.operand)
        if operand is None:
            return None
        items = [self.operand(item) for item in node.items]
        if any(item is None for item in items):
            return None
        for item in items:
            if not isinstance(item, _Literal):
                self._type_error(item.node, "a set may only hold literal values",
                                 "write the values themselves, e.g. `{Female, Male}` or `{1, 2}`")
                return None
        if isinstance(operand, _ColumnOperand) and operand.column.kind is ir.ColumnKind.BOOLEAN:
            column = operand.column
            truths = {self._truth(column, item) for item in items}
            if None in truths:
                return None
            result: ir.BoolExpr
            if truths == {True, False}:
                result = ir.IsMissing(column=column.name, negated=True)
            else:
                result = ir.IsTrue(column=column.name)
                if truths == {False}:
                    result = ir.Not(operand=result)
            return ir.Not(operand=result) if node.negated else result
        if isinstance(operand, _ColumnOperand) and operand.column.kind is ir.ColumnKind.CATEGORICAL:
            column = operand.column
            levels = [self._level(column, item) for item in items]
            known = [lv for lv in levels if lv is not None]
            if len(known) < len(levels):
                return None
            values = tuple(ir.Level(column=column.name, value=lv) for lv in dict.fromkeys(known))
            return ir.InSet(operand=ir.ColumnRef(column=column.name), values=values, negated=node.negated)
        expr = self._as_numeric(operand)
        if expr is None:
            return None
        consts = []
        for item in items:
            if item.number is None:
                self._type_error(item.node, f"\"{item.text}\" is not a number")
                return None
            consts.append(ir.Const(value=item.number))
        return ir.InSet(operand=expr, values=tuple(consts), negated=node.negated)


def rules(ctx: Context) -> None:
    seen: set[str] = set()
    for item in ctx.tree.items:
        if not isinstance(item, n.Rule):
            continue
        typer = _RuleTyper(ctx, item.name.name)
        expr = typer.condition(item.expr)
        props = unique_props(ctx, item.props, f"rule `{item.name.name}`")
        mostly = props.get(n.Mostly)
        share = None
        if item.kind == "expect" and mostly is None:
            ctx.report("S411", f"expectation `{item.name.name}` does not say how often it holds",
                       item.name.span,
                       help="add a line such as `mostly 0.95`, or write `rule` for a rule that always holds")
        elif item.kind == "rule" and mostly is not None:
            ctx.report("S411", f"rule `{item.name.name}` must hold on every row, so it takes no `mostly`",
                       mostly.span, help=f"write `expect {item.name.name}: ...` for a soft expectation")
        elif mostly is not None:
            share = mostly.share.value
            if not 0 < share <= 1:
                ctx.report("S408", "`mostly` must be a share above 0 and at most 1, found "
                           f"{mostly.share.text}",
                           mostly.share.span, help="write 0.95 for 95% of rows")
        if expr is None or item.name.name in seen:
            continue
        seen.add(item.name.name)
        message, cite = props.get(n.Message), props.get(n.Cite)
        ctx.rules.append(ir.Rule(
            name=item.name.name,
            kind=ir.RuleKind.SOFT if item.kind == "expect" else ir.RuleKind.HARD,
            expr=expr,
            text=ctx.source.text[item.expr.span.start:item.expr.span.end],
            columns=tuple(typer.mentioned),
            mostly=share,
            message=message.text.value if message else None,
            cite=cite.text.value if cite else None,
            location=ctx.location(item.name.span),
        ))
