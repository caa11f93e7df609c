"""Every IR expression kind reaches every target, and the trees are walkable generically.

For each class of `ir.BoolExpr` and `ir.ValueExpr` (read from the unions, so a new kind is
picked up), an example rule goes through the grammar's rule analyser, the row grammar, the
vectorised checker, the reference checker and the prompt; the checkers and the analyser
must agree row by row. A kind without an example here fails the first test: add one, and
handle the kind in each target.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Literal

import pandas as pd
import pytest

from synspec import data, ir, nodes, tree
from synspec.parse import parse_text
from synspec.passes import check_text
from synspec.targets import reference_checker
from synspec.targets.checker import compile_checker
from synspec.targets.grammar import (
    MISSING_CLASS,
    RuleAnalyzer,
    Unsupported,
    class_of,
    column_classes,
    mentioned_columns,
    row_grammar,
)
from synspec.targets.prompt import STYLES, render_prompt

SPEC = """dataset kinds
column x: integer
  range 0 to 100
  missing 0.1 as "NA"
column y: decimal(1)
  range 0 to 10
column flag: boolean 1/0
column sex: categorical
  levels Female, Male
column partner: categorical
  levels Female, Male
"""
ROWS = {
    "x": ["5", "NA", "50", "0", "99", "3"],
    "y": ["2.5", "1.0", "9.9", "0.0", "5.0", "3.0"],
    "flag": ["1", "0", "1", "0", "1", "0"],
    "sex": ["Female", "Male", "Male", "Female", "Female", "Male"],
    "partner": ["Male", "Male", "Female", "Female", "Male", "Female"],
}

x, y, sex, partner = (ir.ColumnRef(column=c) for c in ("x", "y", "sex", "partner"))
female = ir.Level(column="sex", value="Female")
flag, x_missing = ir.IsTrue(column="flag"), ir.IsMissing(column="x")
x_big = ir.Compare(op=">=", left=x, right=ir.Const(value=50))

BOOL_EXAMPLES: dict[type, list[ir.Expr]] = {
    ir.BoolConst: [ir.BoolConst(value=True), ir.BoolConst(value=False)],
    ir.IsTrue: [flag],
    ir.Compare: [x_big, ir.Compare(op="!=", left=sex, right=female)],
    ir.InSet: [ir.InSet(operand=sex, values=(female,)),
               ir.InSet(operand=x, values=(ir.Const(value=5), ir.Const(value=0)), negated=True)],
    ir.IsMissing: [x_missing, ir.IsMissing(column="x", negated=True)],
    ir.And: [ir.And(items=(flag, x_big, x_missing))],
    ir.Or: [ir.Or(items=(flag, x_big))],
    ir.Not: [ir.Not(operand=x_big)],
    ir.Implies: [ir.Implies(condition=flag, consequence=x_big)],
    ir.Iff: [ir.Iff(left=x_missing, right=flag)],
}
VALUE_EXAMPLES: dict[type, list[ir.Expr]] = {
    ir.ColumnRef: [ir.Compare(op="<", left=x, right=y), ir.Compare(op="==", left=sex, right=partner)],
    ir.Const: [ir.Compare(op="<", left=ir.Const(value=2), right=y)],
    ir.Level: [ir.Compare(op="==", left=partner, right=ir.Level(column="partner", value="Male"))],
    ir.Arith: [ir.Compare(op=">", left=ir.Arith(op="/", left=x, right=y), right=ir.Const(value=3))],
    ir.Neg: [ir.Compare(op="<", left=ir.Neg(operand=x), right=ir.Const(value=-3))],
}


def _kinds(union: object) -> set[type]:
    """The classes of an `Annotated[A | B | ..., Field(discriminator=...)]` union."""
    return set(typing.get_args(typing.get_args(union)[0]))


def test_every_expression_kind_has_an_example() -> None:
    assert set(BOOL_EXAMPLES) == _kinds(ir.BoolExpr), "add an example of the new kind (and handle it)"
    assert set(VALUE_EXAMPLES) == _kinds(ir.ValueExpr) | _kinds(ir.NumExpr)
    for kind, examples in (BOOL_EXAMPLES | VALUE_EXAMPLES).items():
        assert all(any(isinstance(node, kind) for node in tree.walk(e)) for e in examples), kind


def _spec_with(expr: ir.Expr) -> ir.Spec:
    base = check_text(SPEC).spec
    rule = ir.Rule(name="r", kind=ir.RuleKind.HARD, expr=expr, text="r as written",
                   columns=tuple(sorted(mentioned_columns(expr))), location=base.columns[0].location)
    return base.model_copy(update={"rules": (rule,)})


EXAMPLES = [e for examples in (BOOL_EXAMPLES | VALUE_EXAMPLES).values() for e in examples]


@pytest.mark.parametrize("expr", EXAMPLES, ids=lambda e: repr(e)[:60])
def test_every_target_handles_the_expression(expr: ir.Expr) -> None:
    spec = _spec_with(expr)
    table = data.to_typed(pd.DataFrame(ROWS, dtype=object), spec)

    # Checkers: the vectorised one and the per-row oracle agree on every row.
    outcome = next(o for o in compile_checker(spec).run(table).outcomes if o.name == "r")
    failed, applicable = reference_checker.check_rules(table, spec)["r"]
    assert list(outcome.failed) == list(failed) and list(outcome.applicable) == list(applicable)

    # Grammar: the rule is compiled or explicitly checked after, never dropped.
    grammar = row_grammar(spec)
    assert ("r" in grammar.enforced) != ("r" in grammar.checked_after)

    # The analyser's Kleene value on each row's classes is the oracle's value on the row.
    analyzer = RuleAnalyzer(spec)
    cuts: dict[str, set[int]] = {}
    try:
        analyzer.cuts(expr, cuts)
    except Unsupported:
        assert "r" in grammar.checked_after
    else:
        rows, missing = reference_checker.rows_of(table, spec)
        for i, (row, miss) in enumerate(zip(rows, missing, strict=True)):
            env = {}
            for name in cuts:
                column = spec.column(name)
                text = ROWS[name][i]
                env[name] = (MISSING_CLASS if miss[name] else
                             class_of(column, column_classes(column, cuts[name]), text))
            assert analyzer.value(expr, env) == reference_checker.evaluate(expr, row, miss, spec), i

    # Prompts: every style renders the rule (seed_ex with the rows as examples).
    for style in STYLES:
        text = render_prompt(spec, style, examples=pd.DataFrame(ROWS, dtype=object))
        assert text.endswith("\n")


def test_an_unknown_expression_kind_fails_loudly() -> None:
    class Between(ir.Expr):
        kind: Literal["between"] = "between"
        operand: ir.ColumnRef
        low: float
        high: float

    spec = check_text(SPEC).spec
    with pytest.raises(tree.UnhandledNode, match="cuts_Between"):
        RuleAnalyzer(spec).cuts(Between(operand=x, low=1, high=2), {})
    with pytest.raises(tree.UnhandledNode, match="value_Between"):
        RuleAnalyzer(spec).value(Between(operand=x, low=1, high=2), {})
    # ... also inside a comparison, where it would otherwise pass for an inexpressible operand.
    odd = ir.Compare.model_construct(op=">", left=Between(operand=x, low=1, high=2), right=ir.Const(value=1))
    with pytest.raises(tree.UnhandledNode):
        RuleAnalyzer(spec).cuts(odd, {})
    # A new kind is walked without anyone listing its fields.
    assert Between(operand=x, low=1, high=2).children() == (x,)


# ---- children() and walk() -----------------------------------------------------------------
def test_every_node_class_is_walkable() -> None:
    for _, cls in inspect.getmembers(nodes, inspect.isclass):
        if dataclasses.is_dataclass(cls) and cls.__module__ == nodes.__name__:
            assert issubclass(cls, nodes.Node), f"{cls.__name__} must derive from nodes.Node"
    for kind in _kinds(ir.BoolExpr) | _kinds(ir.ValueExpr):
        assert issubclass(kind, ir.Expr), f"{kind.__name__} must derive from ir.Expr"


def test_children_follow_field_order() -> None:
    implies = BOOL_EXAMPLES[ir.Implies][0]
    assert implies.children() == (flag, x_big)
    assert ir.InSet(operand=sex, values=(female,)).children() == (sex, female)
    assert [type(n).__name__ for n in tree.walk(implies)] == [
        "Implies", "IsTrue", "Compare", "ColumnRef", "Const"]

    parsed = parse_text(SPEC + "# note\nrule r: flag -> x in {1, 2}\n").tree
    rule = parsed.items[-1]
    assert [type(c).__name__ for c in rule.children()] == ["Ident", "Implies"]
    assert [type(c).__name__ for c in rule.expr.consequence.children()] == ["Ref", "NumberLit", "NumberLit"]
    assert not any(isinstance(c, nodes.Comment) for c in parsed.children())  # comments are not the tree
    assert len(list(tree.walk(parsed))) > 20


def test_walk_is_not_limited_by_recursion_depth() -> None:
    expr: ir.Expr = flag
    for _ in range(5000):
        expr = ir.Not(operand=expr)
    assert sum(1 for _ in tree.walk(expr)) == 5001


def test_generation_order_and_groups_see_columns_at_any_depth() -> None:
    nested = ir.Implies(condition=ir.Not(operand=ir.And(items=(flag, x_missing))),
                        consequence=ir.Or(items=(ir.InSet(operand=sex, values=(female,)), x_big)))
    assert mentioned_columns(nested) == {"flag", "x", "sex"}
    order = row_grammar(_spec_with(nested)).order
    assert order.index("flag") < order.index("x") < order.index("sex")
