"""`synspec fmt`: golden output, idempotence and meaning preservation (also on random specs).

Regenerate the golden file after an intended layout change with
`SYNSPEC_UPDATE_GOLDEN=1 python -m pytest tests/test_fmt.py` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec import nodes as n
from synspec.cli import main
from synspec.fmt import expression, format_text, format_tree, keywords, level, name, quote
from synspec.parse import parse_text
from synspec.source import Source

FIXTURES = Path(__file__).parent / "fixtures" / "check"
GOLDEN_IN = FIXTURES / "fmt" / "messy.synspec"
GOLDEN_OUT = FIXTURES / "fmt" / "messy.expected.synspec"
SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.synspec"))


def test_golden() -> None:
    result = format_text(GOLDEN_IN.read_text(encoding="utf-8"), str(GOLDEN_IN))
    if os.environ.get("SYNSPEC_UPDATE_GOLDEN"):
        GOLDEN_OUT.write_text(result.text, encoding="utf-8")
    assert result.text == GOLDEN_OUT.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [*SPECS, FIXTURES / "valid.synspec", GOLDEN_IN], ids=lambda p: p.stem)
def test_idempotent_and_meaning_preserving(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = format_text(text).text
    assert format_text(once).text == once
    assert parse_text(once).tree == parse_text(text).tree
    # Every comment survives.
    assert [c.text.rstrip() for c in parse_text(once).tree.comments] == \
        [c.text.rstrip() for c in parse_text(text).tree.comments]


@pytest.mark.parametrize("path", [*SPECS, FIXTURES / "valid.synspec"], ids=lambda p: p.stem)
def test_committed_specs_are_formatted(path: Path) -> None:
    assert main(["fmt", "--check", str(path)]) == 0


def test_comments_stay_with_what_they_precede() -> None:
    text = ("dataset d\ncolumn x: integer\n  # about the range\n  range 0 to 9 # why 9\n"
            "  # about the mean\n  mean 3\n")
    out = format_text(text).text
    assert "  # about the range\n  range 0 to 9  # why 9\n  mean 3" not in out  # mean comment kept
    assert "  # about the range\n  range 0 to 9  # why 9\n  # about the mean\n  mean 3\n" in out


def test_atoms() -> None:
    assert quote('say "hi"\\\n') == '"say \\"hi\\"\\\\\\n"'
    assert name(n.Ident("age")) == "age"
    assert name(n.Ident("weight (kg)")) == "`weight (kg)`"
    assert name(n.Ident("range")) == "`range`"  # a keyword
    assert level(n.LevelLit("No Info")) == '"No Info"'
    assert level(n.LevelLit("-1")) == "-1" and level(n.LevelLit("never")) == "never"
    assert level(n.LevelLit("D-penicillamine")) == '"D-penicillamine"'
    assert {"dataset", "column", "rule", "expect", "and", "missing", "spearman"} <= keywords()


def test_cli_in_place_check_and_syntax_errors(tmp_path: Path) -> None:
    messy = tmp_path / "messy.synspec"
    messy.write_text(GOLDEN_IN.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["fmt", "--check", str(messy)]) == 1
    assert messy.read_text(encoding="utf-8") == GOLDEN_IN.read_text(encoding="utf-8")  # untouched
    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text(encoding="utf-8") == GOLDEN_OUT.read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(messy)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["messy.synspec"]  # no temp file left behind

    broken = tmp_path / "broken.synspec"
    broken.write_text("dataset d\ncolumn x integer\n", encoding="utf-8")
    assert main(["fmt", str(broken)]) == 1
    assert broken.read_text(encoding="utf-8") == "dataset d\ncolumn x integer\n"
    assert main(["fmt", str(tmp_path / "absent.synspec")]) == 2
    latin1 = tmp_path / "latin1.synspec"
    latin1.write_bytes(b"dataset caf\xe9\n")
    assert main(["fmt", str(latin1)]) == 2


def test_crlf_file_is_rewritten_with_newlines(tmp_path: Path) -> None:
    path = tmp_path / "crlf.synspec"
    path.write_bytes(b"dataset d\r\n\r\ncolumn x: integer\r\n")
    assert main(["fmt", "--check", str(path)]) == 1
    assert main(["fmt", str(path)]) == 0
    assert path.read_bytes() == b"dataset d\n\ncolumn x: integer\n"


# ---- random valid specs --------------------------------------------------------------
_WORD = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
_ODD_NAME = st.text(st.characters(blacklist_characters="`\n\r", blacklist_categories=("Cs",)),
                    min_size=1, max_size=6).filter(lambda s: s.strip() == s and s)
_IDENT = st.builds(n.Ident, st.one_of(_WORD, st.sampled_from(["range", "and", "missing"]), _ODD_NAME))
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=12)
_UNSIGNED = st.from_regex(r"\d{1,3}(\.\d{1,2})?([eE][+-]?\d)?", fullmatch=True)
_SIGNED = st.from_regex(r"[+-]?\d{1,3}(\.\d{1,2})?", fullmatch=True)
_LEVEL = st.builds(n.LevelLit, st.one_of(_WORD, _SIGNED, _TEXT.filter(bool)))


def _number(strategy):
    return strategy.map(lambda text: n.Number(float(text), text))


_LEAF = st.one_of(
    st.builds(n.Ref, _IDENT),
    st.builds(n.NumberLit, _number(_UNSIGNED)),
    st.builds(n.StringLit, st.builds(n.Text, _TEXT)),
    st.builds(n.BoolLit, st.booleans()),
)
_SET_ITEM = st.one_of(_LEAF, st.builds(lambda num: n.Neg(n.NumberLit(num)), _number(_UNSIGNED)))


def _grow(children):
    return st.one_of(
        st.builds(n.Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), children, children),
        st.builds(n.Arith, st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.builds(n.Neg, children),
        st.builds(n.Member, children, st.lists(_SET_ITEM, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(n.MissingTest, children, st.booleans()),
        st.builds(n.And, children, children),
        st.builds(n.Or, children, children),
        st.builds(n.Not, children),
        st.builds(n.Implies, children, children),
        st.builds(n.Iff, children, children),
    )


_EXPR = st.recursive(_LEAF, _grow, max_leaves=12)
_COLUMN_TYPE = st.one_of(
    st.builds(n.IntegerType),
    st.builds(n.DecimalType, _number(_SIGNED)),
    st.builds(n.CategoricalType),
    st.builds(n.BooleanType, _LEVEL, _LEVEL),
)
_COLUMN_PROP = st.one_of(
    st.builds(n.Description, st.builds(n.Text, _TEXT)),
    st.builds(n.Unit, st.builds(n.Text, _TEXT)),
    st.builds(n.Range, _number(_SIGNED), _number(_SIGNED)),
    st.builds(n.Levels, st.lists(_LEVEL, min_size=1, max_size=4).map(tuple)),
    st.builds(n.Missing, _number(_SIGNED), st.none() | st.builds(n.Text, _TEXT)),
    st.builds(n.Mean, _number(_SIGNED)),
    st.builds(n.Sd, _number(_SIGNED)),
    st.builds(n.Quantiles, st.lists(st.builds(n.Quantile, _number(st.from_regex(r"\d{1,2}", fullmatch=True)),
                                              _number(_SIGNED)), min_size=1, max_size=3).map(tuple)),
    st.builds(n.Frequencies, st.lists(st.builds(n.Frequency, _LEVEL, _number(_SIGNED)),
                                      min_size=1, max_size=3).map(tuple)),
)
# The statements that say more about a column: `values` and the statistics `given` a level.
_PERCENT = _number(st.from_regex(r"\d{1,2}(\.\d)?", fullmatch=True))
_QUANTILE_ITEMS = st.lists(st.builds(n.Quantile, _PERCENT, _number(_SIGNED)), min_size=1, max_size=3)
_FREQUENCY_ITEMS = st.lists(st.builds(n.Frequency, _LEVEL, _number(_SIGNED)), min_size=1, max_size=3)
_VALUE_ITEMS = st.lists(st.builds(n.ValueShare, _number(_SIGNED), _number(_SIGNED)), min_size=1, max_size=3)
_GIVEN = st.builds(n.Given, _IDENT, _LEVEL)
_STATISTIC_PROP = st.one_of(
    st.builds(n.Values, _VALUE_ITEMS.map(tuple)),
    st.builds(n.GivenFrequencies, _GIVEN, _FREQUENCY_ITEMS.map(tuple)),
    st.builds(n.GivenQuantiles, _GIVEN, _QUANTILE_ITEMS.map(tuple)),
    st.builds(n.GivenValues, _GIVEN, _VALUE_ITEMS.map(tuple)),
)
_COLUMN_PROP = st.one_of(_COLUMN_PROP, _STATISTIC_PROP)
_DATASET_PROP = st.one_of(
    st.builds(n.Description, st.builds(n.Text, _TEXT)),
    st.builds(n.SourceProp, st.builds(n.Text, _TEXT)),
    st.builds(n.Rows, _number(_SIGNED)),
    st.builds(n.Target, _IDENT),
    st.builds(n.Key, st.lists(_IDENT, min_size=1, max_size=3).map(tuple)),
    st.builds(n.MissingDefault, st.builds(n.Text, _TEXT)),
)
_RULE_PROP = st.one_of(
    st.builds(n.Mostly, _number(_SIGNED)),
    st.builds(n.Message, st.builds(n.Text, _TEXT)),
    st.builds(n.Cite, st.builds(n.Text, _TEXT)),
)
_ITEM = st.one_of(
    st.builds(n.Column, _IDENT, _COLUMN_TYPE,
              st.lists(_COLUMN_PROP, max_size=4)
              .map(lambda p: n.canonical_order(tuple(p), n.COLUMN_PROP_ORDER))),
    st.builds(n.Rule, st.sampled_from(["rule", "expect"]), _IDENT, _EXPR,
              st.lists(_RULE_PROP, max_size=3).map(lambda p: n.canonical_order(tuple(p), n.RULE_PROP_ORDER))),
    st.builds(n.Correlation, _IDENT, _IDENT, _number(_SIGNED), st.sampled_from(["pearson", "spearman"])),
)
_SPEC = st.builds(
    n.SpecFile,
    st.builds(n.Dataset, _IDENT, st.lists(_DATASET_PROP, max_size=4)
              .map(lambda p: n.canonical_order(tuple(p), n.DATASET_PROP_ORDER))),
    st.lists(_ITEM, max_size=6).map(tuple),
)

_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_SETTINGS
@given(_SPEC)
def test_random_trees_print_and_parse_back(tree: n.SpecFile) -> None:
    text = format_tree(Source("<random>", ""), tree)
    parsed = parse_text(text)
    assert parsed.diagnostics == (), (text, [d.render() for d in parsed.diagnostics])
    assert parsed.tree == tree, text
    assert format_text(text).text == text


@_SETTINGS
@given(_COLUMN_TYPE, st.lists(_STATISTIC_PROP, min_size=1, max_size=5))
def test_values_and_given_statistics_round_trip(ctype, props) -> None:
    column = n.Column(n.Ident("x"), ctype, n.canonical_order(tuple(props), n.COLUMN_PROP_ORDER))
    tree = n.SpecFile(n.Dataset(n.Ident("d"), ()), (column,))
    text = format_tree(Source("<random>", ""), tree)
    parsed = parse_text(text)
    assert parsed.tree == tree, text
    assert format_text(text).text == text
    # The conditional statistics keep the order they were written in, whatever their kind.
    given = [p for p in props if isinstance(p, n.GivenStatistic)]
    assert [p for p in parsed.tree.items[0].props if isinstance(p, n.GivenStatistic)] == given


@_SETTINGS
@given(_EXPR)
def test_expressions_print_with_minimal_parentheses(expr: n.Expr) -> None:
    text = expression(expr)
    assert parse_text(f"dataset d\nrule r: {text}\n").tree.items[0].expr == expr
    # Removing any one pair of parentheses either breaks the parse or changes the tree.
    for match in re.finditer(r"\(", text):
        start = match.start()
        depth = 0
        for end in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        if text[start - 1:start] == "-" or '"' in text or "`" in text:
            continue  # -(-x) is a deliberate readability choice; strings may hold parentheses
        stripped = text[:start] + text[start + 1:end] + text[end + 1:]
        again = parse_text(f"dataset d\nrule r: {stripped}\n").tree
        assert again is None or again.items[0].expr != expr, (text, stripped)


@st.composite
def _messy_layouts(draw):
    """A formatted random spec, re-spaced at random and given comments at line ends."""
    tree = draw(_SPEC)
    canonical = format_tree(Source("<random>", ""), tree)
    lines = []
    for line in canonical.split("\n")[:-1]:
        indent = " " * draw(st.integers(0, 6))
        spaced = re.sub(r"(?<=[,:]) ", lambda _: " " * draw(st.integers(1, 3)), line.strip()) \
            if '"' not in line and "`" not in line else line.strip()
        comment = draw(st.sampled_from(["", "", "  # note", " #x"]))
        lines.append(indent + spaced + comment)
        if draw(st.booleans()):
            lines.append("")
    return "\n".join(lines) + "\n", tree


@_SETTINGS
@given(_messy_layouts())
def test_random_layouts_format_to_the_same_tree(case) -> None:
    text, tree = case
    once = format_text(text).text
    assert once is not None
    assert parse_text(once).tree == tree
    assert format_text(once).text == once
    comments = [c.text for c in parse_text(text).tree.comments]
    assert [c.text for c in parse_text(once).tree.comments] == comments
