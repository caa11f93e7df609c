"""The parser: text -> nodes, spans, comments, precedence, and syntax errors as diagnostics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from synspec import nodes as n
from synspec.parse import _describe_expected, parse, parse_text, unescape
from synspec.source import Source, Span

SPECS = Path(__file__).parent.parent / "specs"
HEAD = "dataset d\n"


def rule_expr(expr: str) -> n.Expr:
    result = parse_text(HEAD + f"rule r: {expr}\n")
    assert result.tree is not None, [d.render() for d in result.diagnostics]
    return result.tree.items[0].expr


def ref(name: str) -> n.Ref:
    return n.Ref(n.Ident(name))


def num(text: str) -> n.NumberLit:
    return n.NumberLit(n.Number(float(text), text))


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.synspec")), ids=lambda p: p.stem)
def test_real_specs_parse(path: Path) -> None:
    result = parse(Source.read(path))
    assert result.diagnostics == ()
    assert result.tree.dataset.name.name == path.stem


def test_spans_point_at_the_text() -> None:
    text = HEAD + "column `weight (kg)`: decimal(1)\n  range 2 to 250\n"
    tree = parse_text(text).tree
    column = tree.items[0]
    assert column.name.name == "weight (kg)"
    assert text[column.name.span.start:column.name.span.end] == "`weight (kg)`"
    rng = column.props[0]
    assert text[rng.span.start:rng.span.end] == "range 2 to 250"
    assert (rng.low.text, rng.high.value) == ("2", 250.0)


def test_equality_ignores_spans_and_quoting() -> None:
    a = parse_text(HEAD + 'column s: categorical\n  levels "Female", Male\n').tree
    b = parse_text(HEAD + "\n\ncolumn   s :categorical levels Female,\n Male").tree
    assert a == b
    assert a.items[0].span != b.items[0].span


def test_properties_are_stored_in_canonical_order() -> None:
    a = parse_text(HEAD + "column x: integer\n  sd 2\n  mean 5\n  range 0 to 10\n").tree
    assert [type(p) for p in a.items[0].props] == [n.Range, n.Mean, n.Sd]


def test_precedence_and_associativity() -> None:
    assert rule_expr("a -> b -> c") == n.Implies(ref("a"), n.Implies(ref("b"), ref("c")))
    assert rule_expr("a or b and c") == n.Or(ref("a"), n.And(ref("b"), ref("c")))
    assert rule_expr("not a and b") == n.And(n.Not(ref("a")), ref("b"))
    assert rule_expr("a - b - c > 1") == n.Compare(
        ">", n.Arith("-", n.Arith("-", ref("a"), ref("b")), ref("c")), num("1"))
    assert rule_expr("a + b * c == 2") == n.Compare(
        "==", n.Arith("+", ref("a"), n.Arith("*", ref("b"), ref("c"))), num("2"))
    assert rule_expr("a <-> b or c") == n.Iff(ref("a"), n.Or(ref("b"), ref("c")))
    assert rule_expr("(a -> b) -> c") == n.Implies(n.Implies(ref("a"), ref("b")), ref("c"))


def test_membership_missingness_and_literals() -> None:
    assert rule_expr('x not in {-1, 2.5, "No Info", true}') == n.Member(
        ref("x"), (n.Neg(num("1")), num("2.5"), n.StringLit(n.Text("No Info")), n.BoolLit(True)), True)
    assert rule_expr("x is not missing") == n.MissingTest(ref("x"), True)
    assert rule_expr("-x < 3") == n.Compare("<", n.Neg(ref("x")), num("3"))


def test_values_and_given_statistics() -> None:
    text = (HEAD + "column g: integer\n  values 80 0.07, 85 0.93\n"
            "  values given diabetes == 1: 140 1\n  quantiles given `work type` == \"Self-employed\": 50% 9\n"
            "column s: categorical\n  frequencies given diabetes == 0: F 0.5, M 0.5\n")
    tree = parse_text(text).tree
    values, given_values, given_quantiles = tree.items[0].props
    assert values == n.Values((n.ValueShare(n.Number(80.0, "80"), n.Number(0.07, "0.07")),
                               n.ValueShare(n.Number(85.0, "85"), n.Number(0.93, "0.93"))))
    assert given_values.given == n.Given(n.Ident("diabetes"), n.LevelLit("1"))
    assert text[given_values.given.span.start:given_values.given.span.end] == "given diabetes == 1"
    assert text[given_values.span.start:given_values.span.end] == "values given diabetes == 1: 140 1"
    assert given_quantiles.given == n.Given(n.Ident("work type"), n.LevelLit("Self-employed"))
    assert given_quantiles.items == (n.Quantile(n.Number(50.0, "50"), n.Number(9.0, "9")),)
    (freq,) = tree.items[1].props
    assert isinstance(freq, n.GivenFrequencies) and [f.level.value for f in freq.items] == ["F", "M"]


def test_given_asks_for_equality() -> None:
    (diag,) = parse_text(HEAD + "column g: integer\n  values given d != 1: 1 1\n").diagnostics
    assert diag.code == "S100" and diag.help == "expected `==`"
    (diag,) = parse_text(HEAD + "column g: integer\n  values given d == 1 2 1\n").diagnostics
    assert diag.code == "S100" and "`:`" in diag.help
    # `==` in a rule is still one of the comparisons.
    assert _describe_expected({"COMP_OP", "EQ_OP"}) == "a comparison (== != < <= > >=)"


def test_keywords_are_names_where_no_keyword_fits() -> None:
    tree = parse_text(HEAD + "column range: categorical\n  levels unit, rule, and\n"
                             "rule r: range == unit\n").tree
    assert tree.items[0].name.name == "range"
    assert [lit.value for lit in tree.items[0].props[0].items] == ["unit", "rule", "and"]


def test_comments_are_collected_outside_strings() -> None:
    text = HEAD + '# lead\ncolumn x: integer  # trail\n  description "not # a comment"\n'
    comments = parse_text(text).tree.comments
    assert [c.text for c in comments] == ["# lead", "# trail"]
    assert text[comments[1].span.start:comments[1].span.end] == "# trail"


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.synspec"
    path.write_bytes(b"\xef\xbb\xbfdataset d\r\ncolumn x: integer\r\n  range 0 to 1\r\n")
    result = parse(Source.read(path))
    assert result.diagnostics == () and result.tree.items[0].name.name == "x"


def test_unescape_never_evaluates() -> None:
    assert unescape(r"a \"b\" \\ \n \u0041 \q") == 'a "b" \\ \n A q'


def test_syntax_error_says_what_was_expected() -> None:
    result = parse_text(HEAD + "column age integer\n")
    (diag,) = result.diagnostics
    assert diag.code == "S100" and "expected `:`" in diag.help
    assert diag.source.position(diag.span.start).line == 2
    assert result.tree is None


def test_one_error_per_broken_block() -> None:
    text = HEAD + "column a: integer\n  range 0 to\ncolumn b: integer\nrule r: a >\nrule s: b > 1\n"
    result = parse_text(text)
    lines = [d.source.position(d.span.start).line for d in result.diagnostics]
    assert lines == [3, 5]


def test_missing_header_and_empty_file() -> None:
    for text in ("", "# only a comment\n", "column x: integer\n"):
        (diag,) = parse_text(text).diagnostics
        assert diag.code == "S100" and "dataset" in diag.help


def test_unterminated_string_and_stray_character() -> None:
    assert [d.code for d in parse_text(HEAD + 'column x: integer\n  unit "mg\n').diagnostics] == ["S101"]
    (diag,) = parse_text(HEAD + "column x: integer\n  range 0 to 1 $\n").diagnostics
    assert diag.code == "S101" and "'$'" in diag.message


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    from synspec.parse import MAX_EXPRESSION_DEPTH

    fine = " and ".join(["x > 1"] * (MAX_EXPRESSION_DEPTH // 2))
    assert parse_text(HEAD + f"rule r: {fine}\n").diagnostics == ()
    for chain in (MAX_EXPRESSION_DEPTH * 2, 5000):
        result = parse_text(HEAD + "rule r: " + " and ".join(["x > 1"] * chain) + "\n")
        assert result.tree is None and [d.code for d in result.diagnostics] == ["S100"]
        assert "nested" in result.diagnostics[0].message
    # Parentheses alone add no depth to the tree.
    assert parse_text(HEAD + "rule r: " + "(" * 500 + "x" + ")" * 500 + " > 1\n").diagnostics == ()


def test_span_cover() -> None:
    assert Span(3, 5).cover(Span(1, 4)) == Span(1, 5)


def test_examples_in_the_language_reference_parse() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", doc, flags=re.S)
    checked = 0
    for block in blocks:
        first = next((line.split()[0] for line in block.splitlines()
                      if line.strip() and not line.lstrip().startswith("#")), "")
        if first == "dataset":
            text = block
        elif first in ("column", "rule", "expect", "correlation"):
            text = HEAD + block
        else:
            continue  # diagnostics and shell sessions
        result = parse_text(text)
        assert result.diagnostics == (), (block, [d.render() for d in result.diagnostics])
        checked += 1
    assert checked >= 6


def test_misspelt_keywords_get_a_suggestion() -> None:
    result = parse_text(HEAD + "colum x: integer\ncolumn y: integer\n  rnage 0 to 1\n")
    helps = [d.help for d in result.diagnostics]
    assert helps[0].startswith("did you mean `column`?")
    assert helps[1].startswith("did you mean `range`?") and "`sd`" in helps[1]
    # Only what can really follow is listed (no operators after a dataset name).
    assert "+" not in helps[0]
