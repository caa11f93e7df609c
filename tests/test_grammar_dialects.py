"""The row grammar's dialects agree: Lark and GBNF accept and reject the same strings.

Lark acceptance is the `lark` package's parser (the same text llguidance reads: see
test_grammar.py); GBNF acceptance is llama.cpp's own grammar engine (`GbnfOracle`) and
xgrammar's (`XgrammarOracle`: SGLang's `ebnf` and vLLM's default backend read the GBNF text). Strings
are rows sampled from the grammar, the same rows with one column redrawn from its whole
domain (often breaking a rule the grammar enforces), and character-level corruptions.
"""

from __future__ import annotations

import functools
import random
import re

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec.passes import check_file
from synspec.targets import grammar as gm
from synspec.targets import row_format as rf
from synspec.targets.grammar import Within
from tests.conftest import SPECS
from tests.llama_support import GbnfOracle, XgrammarOracle
from tests.test_grammar import ODD_SPEC, sample
from tests.test_prompt import GOLDEN, check_golden

NAMES = ["diabetes", "stroke", "cirrhosis"]


@functools.cache
def _spec(name: str):
    return check_file(SPECS / f"{name}.synspec").spec


@pytest.fixture(scope="module")
def oracle() -> GbnfOracle:
    return GbnfOracle()


@pytest.fixture(scope="module")
def xgrammar_oracle() -> XgrammarOracle:
    return XgrammarOracle()


@functools.lru_cache(maxsize=64)
def _lark_parser(text: str) -> lark.Lark:
    return lark.Lark(text, parser="lalr")


def lark_accepts(text: str, row: str) -> bool:
    try:
        _lark_parser(text).parse(row)
        return True
    except lark.exceptions.UnexpectedInput:
        return False


def _redraw(spec, values: dict, rnd: random.Random, order: tuple[str, ...]) -> dict:
    """`values` with one column drawn from its whole domain, ignoring the rules."""
    column = spec.column(rnd.choice(order))
    if column.may_be_missing and rnd.random() < 0.2:
        return {**values, column.name: None}
    if column.is_numeric and column.values:
        places = column.places or 0
        value = rnd.choice(column.values)[0]
        return {**values, column.name: f"{value:.{places}f}"}
    if column.is_numeric:
        low, high = gm.scaled_bounds(column)
        scaled = rnd.randint(max(low, -10**6), min(high, 10**6))
        return {**values, column.name: gm.number_text(column, scaled)}
    if column.kind is column.kind.BOOLEAN:
        return {**values, column.name: rnd.choice([column.true_token, column.false_token])}
    return {**values, column.name: rnd.choice(column.levels)}


def _corrupt(row: str, rnd: random.Random) -> str:
    """A character-level change: delete, duplicate, insert a digit or quote, or cut the row."""
    if not row:
        return "0"
    at = rnd.randrange(len(row))
    kind = rnd.randrange(4)
    if kind == 0:
        return row[:at] + row[at + 1:]
    if kind == 1:
        return row[:at] + row[at] + row[at:]
    if kind == 2:
        return row[:at] + rnd.choice('0123456789".,-') + row[at:]
    return row[:at]


def _candidates(spec, text: str, order: tuple[str, ...], seed: int) -> list[str]:
    rnd = random.Random(seed)
    row = sample(text, rnd)
    values = rf.parse_row(spec, row)
    redrawn = _redraw(spec, values, rnd, order)
    try:
        mutant = rf.render_row(spec, redrawn)
    except ValueError:
        mutant = row
    return [row, mutant, _corrupt(row, rnd), _corrupt(mutant, rnd)]


def _assert_agree(oracle: GbnfOracle, grammar: gm.RowGrammar, rows: list[str],
                  xgrammar: XgrammarOracle | None = None) -> int:
    """Both dialects give the same verdict on every row; how many rows they reject."""
    gbnf = grammar.text("gbnf")
    rejected = 0
    for row in rows:
        by_lark = lark_accepts(grammar.lark, row)
        assert oracle.accepts(gbnf, row) == by_lark, (row, by_lark)
        if xgrammar is not None:
            assert xgrammar.accepts(gbnf, row) == by_lark, ("xgrammar", row, by_lark)
        rejected += not by_lark
    return rejected


@pytest.mark.parametrize("name", NAMES)
def test_gbnf_golden_and_parsed_by_llama_cpp(name: str, oracle: GbnfOracle) -> None:
    text = gm.row_grammar(_spec(name)).text("gbnf")
    check_golden(GOLDEN / name / "row.gbnf", text)
    assert oracle.parses(text)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_dialects_agree_on_sampled_and_mutated_rows(name: str, seed: int, oracle: GbnfOracle,
                                                    xgrammar_oracle: XgrammarOracle) -> None:
    spec = _spec(name)
    grammar = gm.row_grammar(spec)
    _assert_agree(oracle, grammar, _candidates(spec, grammar.lark, grammar.order, seed), xgrammar_oracle)


def test_dialects_reject_the_same_rule_breaking_rows(oracle: GbnfOracle) -> None:
    """Not only agreement on accepted rows: rows that break enforced rules are among those seen."""
    rejected = 0
    for name in NAMES:
        spec = _spec(name)
        grammar = gm.row_grammar(spec)
        for seed in range(40):
            rows = _candidates(spec, grammar.lark, grammar.order, seed)
            rejected += _assert_agree(oracle, grammar, rows[:2])  # the sampled row and its redrawn twin
    assert rejected >= 5  # 9 with these seeds


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), low=st.integers(0, 120), width=st.integers(0, 60))
def test_dialects_agree_with_fixed_values(seed: int, low: int, width: int, oracle: GbnfOracle) -> None:
    """Seeded grammars (a fixed level, a numeric column held in an interval) agree too."""
    spec = _spec("stroke")
    rnd = random.Random(seed)
    fixed: dict = {"gender": rf.quote(rnd.choice(spec.column("gender").levels)),
                   "age": Within(low * 100, (low + width) * 100)}
    try:
        grammar = gm.row_grammar(spec, fixed=fixed)
    except Exception:  # the interval leaves no row the rules allow: nothing to compare
        return
    _assert_agree(oracle, grammar, _candidates(spec, grammar.lark, grammar.order, seed))


def test_dialects_agree_on_odd_names_levels_and_ranges(tmp_path, oracle: GbnfOracle,
                                                       xgrammar_oracle: XgrammarOracle) -> None:
    """Quotes, backslashes, commas and unicode in levels, a backticked column name, 4 decimal
    places, negatives and a [0, 1e9] range."""
    path = tmp_path / "odd.synspec"
    odd_name = 'column `o"th\\er`: integer'
    path.write_text(ODD_SPEC.replace("column other: integer", odd_name)
                    .replace("big > other", 'big > `o"th\\er`').replace("big + other", 'big + `o"th\\er`'),
                    encoding="utf-8")
    spec = check_file(path).spec
    grammar = gm.row_grammar(spec)
    assert oracle.parses(grammar.text("gbnf"))
    rows = [row for seed in range(60) for row in _candidates(spec, grammar.lark, grammar.order, seed)]
    ok = {"big": "1000000000", "fine": "-2.5", "kind": 'say "hi"', "flag": "N", 'o"th\\er': "-50"}
    rows.append(rf.render_row(spec, ok))
    rows += [rf.render_row(spec, {**ok, "kind": level}) for level in spec.column("kind").levels]
    assert _assert_agree(oracle, grammar, rows, xgrammar_oracle) > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(low=st.integers(-10**7, 10**7), width=st.integers(0, 10**6), places=st.integers(0, 4),
       probes=st.lists(st.integers(-10**7 - 10, 2 * 10**7), min_size=1, max_size=6))
def test_regex_to_gbnf_matches_the_regex(low: int, width: int, places: int, probes: list[int],
                                         oracle: GbnfOracle) -> None:
    """The translated digit-range regex accepts exactly the numbers the regex does."""
    regex = gm.scaled_range_regex(low, low + width, places)
    grammar = "root ::= " + gm.regex_to_gbnf(regex)
    texts = [_number(p, places) for p in [low, low + width, low - 1, low + width + 1, *probes]]
    texts += ["0" + _number(abs(low), places), "-0", "1.", ".5"]
    for text in texts:
        assert oracle.accepts(grammar, text) == bool(re.fullmatch(regex, text)), (regex, text)


def _number(scaled: int, places: int) -> str:
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**places)
    return sign + str(whole) + (f".{str(frac).zfill(places)}" if places else "")


def test_regex_to_gbnf_refuses_what_it_cannot_translate() -> None:
    for pattern in ["a+", "[a-z]", r"\d", "(a)", "x{1,2}"]:
        with pytest.raises(ValueError):
            gm.regex_to_gbnf(pattern)


def test_gbnf_literals_escape_everything_llama_cpp_needs(oracle: GbnfOracle) -> None:
    hostile = ['say "hi"', "back\\slash", "tab\there", "new\nline", "naïve é", "bell\x07", "#not a comment"]
    for text in hostile:
        grammar = "root ::= " + gm.gbnf_literal(text)
        assert oracle.accepts(grammar, text), text
        assert not oracle.accepts(grammar, text + "x")
