"""Numeric columns that declare their values (`Column.values`), and conditional statistics
(`Column.conditionals`): the row grammar allows exactly the declared values, and the
statguide prompt states them. The IR is built with `model_copy` (the spec syntax for both
is the language's, and lands separately)."""

from __future__ import annotations

import lark
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from synspec import ir
from synspec.errors import UserError
from synspec.passes import check_file, check_text
from synspec.targets import grammar as gm
from synspec.targets.prompt import MAX_LISTED_VALUES, render_prompt
from tests.conftest import SPECS

TEXT = """dataset d
  target flag
column x: integer
  range 0 to 30
column flag: boolean 1/0
column h: decimal(1)
  range 3.5 to 9
  missing 0.1 as "NA"
rule r: x >= 12 -> flag
"""


def _with(spec: ir.Spec, **updates: dict) -> ir.Spec:
    """`spec` with column fields replaced: _with(spec, h={"values": ...})."""
    columns = tuple(c.model_copy(update=updates[c.name]) if c.name in updates else c for c in spec.columns)
    return spec.model_copy(update={"columns": columns})


def _base() -> ir.Spec:
    result = check_text(TEXT)
    assert result.spec is not None, result.diagnostics
    return result.spec


def _row(g: gm.RowGrammar, **cells: str) -> str:
    return ",".join(cells[name] for name in g.order)


def _accepts(grammar: str, line: str) -> bool:
    try:
        lark.Lark(grammar, parser="lalr").parse(line)
    except lark.exceptions.LarkError:
        return False
    return True


H_VALUES = ((5.7, 0.3), (6.6, 0.4), (6.8, 0.2), (9.0, 0.1))


def test_a_values_column_admits_exactly_its_declared_values() -> None:
    spec = _with(_base(), h={"values": H_VALUES})
    g = gm.row_grammar(spec)
    assert g.order == ("x", "flag", "h")
    assert '"5.7" | "6.6" | "6.8" | "9.0" | "NA"' in g.lark
    for h in ("5.7", "6.6", "6.8", "9.0", "NA"):
        assert _accepts(g.lark, f"3,0,{h}"), h
    for h in ("5.8", "6.7", "3.5", "9.1", "6.60", "66"):
        assert not _accepts(g.lark, f"3,0,{h}"), h


def test_values_split_by_a_rule_keep_only_classes_that_hold_a_value() -> None:
    # h >= 6.5 -> flag cuts h at 65: the classes below and above each hold declared values;
    # with values only above the cut the lower class disappears from the grammar.
    spec = _with(check_text(TEXT + "rule s: h >= 6.5 -> flag\n").spec, h={"values": H_VALUES})
    g = gm.row_grammar(spec)
    assert g.order == ("x", "h", "flag")
    assert _accepts(g.lark, _row(g, x="3", flag="0", h="5.7"))
    assert _accepts(g.lark, _row(g, x="3", flag="1", h="6.8"))
    assert not _accepts(g.lark, _row(g, x="3", flag="0", h="6.6"))
    assert not _accepts(g.lark, _row(g, x="3", flag="1", h="6.7"))
    high_only = _with(spec, h={"values": ((6.6, 0.5), (6.8, 0.5)), "missing_token": None})
    g = gm.row_grammar(high_only)
    assert not _accepts(g.lark, _row(g, x="3", flag="0", h="6.6"))
    assert _accepts(g.lark, _row(g, x="3", flag="1", h="6.6"))
    assert '"6.6" | "6.8"' in g.lark and "5.7" not in g.lark


def test_within_and_fixed_respect_the_declared_values() -> None:
    spec = _with(_base(), h={"values": H_VALUES})
    g = gm.row_grammar(spec, fixed={"h": gm.Within(60, 70)})
    assert [h for h in ("5.7", "6.6", "6.7", "6.8", "9.0") if _accepts(g.lark, f"1,1,{h}")] == ["6.6", "6.8"]
    assert not _accepts(g.lark, "1,1,NA")
    with pytest.raises(UserError, match="none of its declared values"):
        gm.row_grammar(spec, fixed={"h": gm.Within(70, 85)})
    g = gm.row_grammar(spec, fixed={"h": "6.8"})
    assert _accepts(g.lark, "1,1,6.8") and not _accepts(g.lark, "1,1,6.6")
    with pytest.raises(UserError, match="declared values"):
        gm.row_grammar(spec, fixed={"h": "6.7"})
    g = gm.row_grammar(spec, fixed={"h": "NA"})
    assert _accepts(g.lark, "1,1,NA") and not _accepts(g.lark, "1,1,6.6")


def test_an_integer_value_that_prefixes_another_still_lexes() -> None:
    # "1" is a prefix of "10" (one terminal, below the rule's cut at 12): "10" is read whole.
    spec = _with(_base(), x={"values": ((1, 0.4), (10, 0.4), (100, 0.2)), "high": 200.0})
    g = gm.row_grammar(spec)
    assert '"1" | "10"' in g.lark
    assert _accepts(g.lark, "10,0,NA") and _accepts(g.lark, "1,0,NA") and _accepts(g.lark, "100,1,NA")
    assert not _accepts(g.lark, "100,0,NA") and not _accepts(g.lark, "11,0,NA")


def test_declared_values_the_column_cannot_hold_are_a_user_error() -> None:
    for values in (((6.65, 1.0),), ((12.0, 1.0),)):  # too many places; outside the range
        with pytest.raises(UserError, match="h"):
            gm.row_grammar(_with(_base(), h={"values": values}))


def test_llguidance_reads_a_values_grammar() -> None:
    import llguidance

    spec = _with(_base(), h={"values": H_VALUES}, x={"values": ((6, 0.5), (12, 0.25), (20, 0.25))})
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(
        llguidance.grammar_from("lark", gm.row_grammar(spec).lark))
    assert not is_error, messages


@settings(max_examples=40, deadline=None)
@given(values=st.sets(st.integers(0, 30), min_size=1, max_size=8), threshold=st.integers(1, 30),
       bounds=st.tuples(st.integers(0, 30), st.integers(0, 30)))
@example(values={2, 10, 20}, threshold=11, bounds=(0, 20))  # "2" and "20" in different terminals
def test_grammar_and_checker_agree_on_a_values_column(values: set[int], threshold: int,
                                                      bounds: tuple[int, int]) -> None:
    """Every (x, flag) the grammar accepts is a declared value inside the bound that satisfies
    the rule, and the reverse: the grammar is exact, not merely sound."""
    low, high = min(bounds), max(bounds)
    base = check_text(TEXT.replace("x >= 12", f"x >= {threshold}")).spec
    spec = _with(base, x={"values": tuple((float(v), 1 / len(values)) for v in sorted(values))})
    inside = {v for v in values if low <= v <= high}
    if not inside:
        with pytest.raises(UserError):
            gm.row_grammar(spec, fixed={"x": gm.Within(low, high)})
        return
    g = gm.row_grammar(spec, fixed={"x": gm.Within(low, high)})
    # Earley's dynamic lexer reads the grammar as the decoding engines do (llguidance's
    # longest-match lexer, GBNF's characters). LALR's lexer takes the first terminal that
    # matches: with values {2, 10, 20} and the rule's cut at 11, `"2" | "10"` is tried before
    # `"20"` and reads "20" as "2" (a falsifying example hypothesis found).
    parser = lark.Lark(g.lark, parser="earley")
    for x in range(0, 31):
        for flag in (0, 1):
            try:
                parser.parse(f"{x},{flag},NA")
                accepted = True
            except lark.exceptions.LarkError:
                accepted = False
            assert accepted == (x in inside and (x < threshold or flag == 1)), (x, flag)


# ---- the statguide prompt --------------------------------------------------------------
def _diabetes() -> ir.Spec:
    spec = check_file(SPECS / "diabetes.synspec").spec
    assert spec is not None
    return spec


def test_statguide_states_a_values_column_with_shares() -> None:
    spec = _diabetes()
    hba1c = ((5.7, 0.25), (6.6, 0.5), (6.8, 0.25))
    text = render_prompt(_with(spec, HbA1c_level={"values": hba1c}), "statguide")
    assert "only the values 5.7 (25.0% of rows), 6.6 (50.0%), 6.8 (25.0%)." in text
    # Only statguide carries statistics.
    assert "only the values" not in render_prompt(_with(spec, HbA1c_level={"values": hba1c}), "clin_rule")


def test_a_long_values_list_is_capped_at_the_most_common() -> None:
    spec = _diabetes()
    many = tuple((v / 10, 0.03) for v in range(35, 55)) + ((9.0, 0.4),)  # 3.5..5.4, and 9.0
    text = render_prompt(_with(spec, HbA1c_level={"values": many}), "statguide")
    line = next(x for x in text.splitlines() if x.startswith("- HbA1c_level: average"))
    listed = [f"{v / 10:.1f} (" for v in range(35, 35 + MAX_LISTED_VALUES - 1)] + ["9.0 (40.0%)"]
    assert all(item in line for item in listed), line
    assert f"{(35 + MAX_LISTED_VALUES - 1) / 10:.1f} (" not in line
    assert line.endswith(f" and {21 - MAX_LISTED_VALUES} rarer values (27.0% of rows together).")


def test_statguide_states_conditionals_given_the_target() -> None:
    spec = _diabetes()
    at = spec.columns[0].location
    given_target = ir.Conditional(given="diabetes", level="1", values=((6.6, 0.12), (6.8, 0.1)),
                                  quantiles=((50.0, 6.6),), location=at)
    given_gender = ir.Conditional(given="gender", level="Male", quantiles=((50.0, 5.5),), location=at)
    by_level = ir.Conditional(given="diabetes", level="0", frequencies=(("Female", 0.6), ("Male", 0.4)),
                              location=at)
    text = render_prompt(_with(spec, HbA1c_level={"conditionals": (given_target, given_gender)},
                               gender={"conditionals": (by_level,)}), "statguide")
    assert ("- HbA1c_level, among rows where diabetes == 1: 50% of values below about 6.6, "
            "only the values 6.6 (12.0% of rows), 6.8 (10.0%).") in text
    assert ('- gender, among rows where diabetes == 0: "Female" in 60.0% of rows; '
            '"Male" in 40.0% of rows.') in text
    assert "gender == Male" not in text  # conditionals given other columns stay out of the prompt
