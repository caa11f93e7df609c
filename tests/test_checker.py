"""The vectorised checker: column checks, Kleene logic, planted faults, agreement with the reference."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec import data, ir
from synspec.passes import check_file
from synspec.targets import reference_checker
from synspec.targets.checker import compile_checker, compile_expr
from tests.conftest import SPECS, real_csv
from tests.test_data import HEADER, SMALL


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> ir.Spec:
    path = tmp_path_factory.mktemp("spec") / "small.synspec"
    path.write_text(SMALL, encoding="utf-8")
    spec = check_file(path).spec
    assert spec is not None
    return spec


def table(spec: ir.Spec, rows: list[list[str]]) -> data.TypedTable:
    return data.to_typed(pd.DataFrame(rows, columns=list(spec.column_names), dtype=object), spec)


def test_column_checks_each_fail_once(small):
    rows = [
        ["1", "12.5", "3", "low", "Y", "0"],      # 0 clean
        ["2", "12.55", "3", "low", "Y", "0"],     # 1 score.places
        ["3", "abc", "3", "low", "Y", "0"],       # 2 score.type
        ["4", "101", "3", "low", "Y", "0"],       # 3 score.range (and high_score_sick fails: sick 0)
        ["5", "1", "3", "top", "Y", "0"],         # 4 grade.level
        ["6", "1", "3", "low", "maybe", "0"],     # 5 flag.type
        ["7", "1", "3", "low", "Y", ""],          # 6 sick.missing
        ["0", "1", "3", "low", "Y", "0"],         # 7 id.range
    ]
    report = compile_checker(small).run(table(small, rows))
    failed = {o.name: np.flatnonzero(o.failed).tolist() for o in report.outcomes if o.failed.any()}
    assert failed == {"score.places": [1], "score.type": [2], "score.range": [3], "grade.level": [4],
                      "flag.type": [5], "sick.missing": [6], "id.range": [7], "high_score_sick": [3]}
    assert report.row_ok.tolist() == [True] + [False] * 7
    assert report.columns["score"].n_bad == 2 and report.columns["score"].n_failed_rows == 3
    kinds = {o.name: o.kind for o in report.outcomes}
    assert kinds["score.places"] == "type" and kinds["grade.level"] == "level"
    assert kinds["sick.missing"] == "missing" and kinds["high_score_sick"] == "rule"


def test_kleene_unknown_and_vacuous(small):
    rows = [
        ["1", "95", "3", "low", "Y", "1"],    # condition true, consequence true: applicable, passed
        ["2", "95", "3", "low", "Y", "0"],    # fails
        ["3", "NA", "3", "low", "Y", "0"],    # score missing: unknown, not applicable
        ["4", "50", "3", "low", "Y", "0"],    # condition false: holds vacuously, not applicable
    ]
    outcome = compile_checker(small).run(table(small, rows)).outcome("high_score_sick")
    assert outcome.failed.tolist() == [False, True, False, False]
    assert outcome.applicable.tolist() == [True, True, False, False]
    assert (outcome.n_applicable, outcome.n_failed, outcome.observed) == (2, 1, 0.5)


def test_is_missing_is_never_unknown(small):
    rows = [["1", "1", "", "low", "Y", "0"], ["2", "1", "", "low", "NA", "0"],
            ["3", "1", "0", "low", "Y", "0"]]
    outcome = compile_checker(small).run(table(small, rows)).outcome("flag_needs_dose")
    # row 0: flag Y, dose missing -> false; row 1: flag missing, "dose is not missing" false -> And false
    # -> implication unknown; row 2: dose 0 < 1 -> false.
    assert outcome.failed.tolist() == [True, False, True]
    assert outcome.applicable.tolist() == [True, False, True]


def test_soft_expectation_share(small):
    rows = [[str(i), "70" if i < 9 else "10", "1", "high", "N", "0"] for i in range(1, 11)]
    outcome = compile_checker(small).run(table(small, rows)).outcome("grade_high_score")
    assert (outcome.hard, outcome.mostly, outcome.n_applicable, outcome.n_failed) == (False, 0.9, 10, 2)
    assert not outcome.ok
    rows[-2][1] = "70"
    assert compile_checker(small).run(table(small, rows)).outcome("grade_high_score").ok  # 9 of 10


def test_empty_table(small):
    report = compile_checker(small).run(table(small, []))
    assert report.ok and report.n_rows == 0 and report.row_ok.shape == (0,)


# ---- real files: zero hard failures; planted faults found exactly ---------------------
@pytest.mark.parametrize("name", ["diabetes", "cirrhosis", "stroke"])
def test_real_files_have_no_hard_failures(name):
    spec = check_file(SPECS / f"{name}.synspec").spec
    typed = data.to_typed(data.read_raw(real_csv(name), spec), spec)
    report = compile_checker(spec).run(typed)
    assert [o.name for o in report.outcomes if o.hard and o.n_failed] == []
    assert report.row_ok.all() and report.ok


# row -> cells to write; every hard check of the diabetes spec is broken on known rows
DIABETES_FAULTS = {
    "gender.level": {10: {"gender": "Unknown"}, 11: {"gender": "female"}},
    "age.type": {30: {"age": "old"}},
    "age.places": {40: {"age": "12.345"}},
    "age.range": {50: {"age": "95"}, 51: {"age": "0.01"}},
    "hypertension.type": {60: {"hypertension": "2"}},
    "bmi.missing": {70: {"bmi": ""}},
    "smoking_history.level": {75: {"smoking_history": "No info"}},
    "blood_glucose_level.type": {77: {"blood_glucose_level": "140.5"}},
    "hba1c_means_diabetes": {80: {"HbA1c_level": "7.0", "blood_glucose_level": "155", "diabetes": "0"}},
    # 220 is the lowest declared glucose value above the rule's 200.
    "glucose_means_diabetes": {90: {"blood_glucose_level": "260", "HbA1c_level": "5.0", "diabetes": "0"},
                               91: {"blood_glucose_level": "220", "HbA1c_level": "6.0", "diabetes": "0"}},
    "diabetes_has_raised_hba1c": {100: {"diabetes": "1", "HbA1c_level": "5.0",
                                        "blood_glucose_level": "155"}},
    "diabetes_has_raised_glucose": {110: {"diabetes": "1", "HbA1c_level": "6.0",
                                          "blood_glucose_level": "100"}},
    # Both laboratory columns list their values: anything else fails `.value`, inside the range too.
    "blood_glucose_level.value": {120: {"blood_glucose_level": "150"}},
    "HbA1c_level.value": {121: {"HbA1c_level": "6.3"}},
}


def test_planted_faults_are_found_exactly(tmp_path):
    spec = check_file(SPECS / "diabetes.synspec").spec
    copy = tmp_path / "diabetes.csv"
    shutil.copy(real_csv("diabetes"), copy)
    raw = data.read_raw(copy, spec)
    for rows in DIABETES_FAULTS.values():
        for row, cells in rows.items():
            for column, value in cells.items():
                raw.loc[row, column] = value
    raw.to_csv(copy, index=False)
    report = compile_checker(spec).run(data.to_typed(data.read_raw(copy, spec), spec))
    found = {o.name: np.flatnonzero(o.failed).tolist() for o in report.outcomes if o.hard and o.n_failed}
    assert found == {name: sorted(rows) for name, rows in DIABETES_FAULTS.items()}
    broken = sorted(row for rows in DIABETES_FAULTS.values() for row in rows)
    assert np.flatnonzero(~report.row_ok).tolist() == broken


# ---- property: vectorised checker == per-row reference ---------------------------------
CELLS = {
    "id": ["1", "2", "500", "x"],
    "score": ["0", "12.5", "50", "90", "90.5", "100", "NA", "", "1.25", "bad"],
    "dose": ["0", "1", "3", "50", "", "2.5"],
    "grade": ["low", "mid", "high", "N/A", "", "other"],
    "flag": ["Y", "N", "NA", "x"],
    "sick": ["1", "0", "", "2"],
}
NUMERIC = ["id", "score", "dose"]
LOC = ir.Location(path="gen", line=1, column=1)

num_leaf = st.one_of(st.sampled_from(NUMERIC).map(lambda c: ir.ColumnRef(column=c)),
                     st.sampled_from([0.0, 1.0, 12.5, 50.0, 90.0]).map(lambda v: ir.Const(value=v)))
num_expr = st.recursive(num_leaf, lambda inner: st.one_of(
    st.builds(ir.Arith, op=st.sampled_from(["+", "-", "*", "/"]), left=inner, right=inner),
    st.builds(ir.Neg, operand=inner)), max_leaves=3)
atoms = st.one_of(
    st.builds(ir.Compare, op=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
              left=num_expr, right=num_expr),
    st.builds(lambda op, level: ir.Compare(op=op, left=ir.ColumnRef(column="grade"),
                                           right=ir.Level(column="grade", value=level)),
              st.sampled_from(["==", "!="]), st.sampled_from(["low", "mid", "high"])),
    st.builds(lambda levels, neg: ir.InSet(operand=ir.ColumnRef(column="grade"),
                                           values=tuple(ir.Level(column="grade", value=v) for v in levels),
                                           negated=neg),
              st.lists(st.sampled_from(["low", "mid", "high"]), min_size=1, max_size=2), st.booleans()),
    st.builds(lambda col, values, neg: ir.InSet(operand=ir.ColumnRef(column=col),
                                                values=tuple(ir.Const(value=v) for v in values), negated=neg),
              st.sampled_from(NUMERIC),
              st.lists(st.sampled_from([0.0, 1.0, 3.0, 50.0]), min_size=1, max_size=3),
              st.booleans()),
    st.builds(ir.IsTrue, column=st.sampled_from(["flag", "sick"])),
    st.builds(ir.IsMissing, column=st.sampled_from(list(CELLS)), negated=st.booleans()),
    st.builds(ir.BoolConst, value=st.booleans()),
)
bool_expr = st.recursive(atoms, lambda inner: st.one_of(
    st.builds(ir.And, items=st.lists(inner, min_size=2, max_size=3).map(tuple)),
    st.builds(ir.Or, items=st.lists(inner, min_size=2, max_size=3).map(tuple)),
    st.builds(ir.Not, operand=inner),
    st.builds(ir.Implies, condition=inner, consequence=inner),
    st.builds(ir.Iff, left=inner, right=inner)), max_leaves=6)
frames = st.lists(st.fixed_dictionaries({c: st.sampled_from(v) for c, v in CELLS.items()}),
                  min_size=1, max_size=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=bool_expr, rows=frames)
def test_checker_agrees_with_reference(small, expr, rows):
    rule = ir.Rule(name="r", kind=ir.RuleKind.HARD, expr=expr, text="generated", columns=(), location=LOC)
    spec = small.model_copy(update={"rules": (rule,)})
    typed = data.to_typed(pd.DataFrame(rows, columns=list(CELLS), dtype=object), spec)
    outcome = compile_checker(spec).run(typed).outcome("r")
    failed, applicable = reference_checker.check_rules(typed, spec)["r"]
    assert outcome.failed.tolist() == failed.tolist()
    assert outcome.applicable.tolist() == applicable.tolist()
    value, known = compile_expr(spec, expr)(typed)
    assert not (value & ~known).any()  # value is False wherever unknown


def with_values(spec: ir.Spec, **values: tuple[float, ...]) -> ir.Spec:
    """`spec` with `values` declared (equal shares) for the named numeric columns."""
    def declare(column: ir.Column) -> ir.Column:
        listed = values.get(column.name)
        if not listed:
            return column
        return column.model_copy(update={"values": tuple((v, 1 / len(listed)) for v in sorted(listed))})
    return spec.model_copy(update={"columns": tuple(declare(c) for c in spec.columns)})


def test_value_check_admits_only_declared_values(small):
    spec = with_values(small, dose=(1.0, 3.0), score=(12.5, 90.0))
    rows = [
        ["1", "12.5", "3", "low", "N", "0"],   # 0 clean
        ["2", "12.5", "2", "low", "N", "0"],   # 1 dose.value
        ["3", "NA", "", "low", "N", "0"],      # 2 missing: not applicable
        ["4", "90.0", "x", "low", "N", "0"],   # 3 dose.type only; 90.0 is the value 90
        ["5", "12.50", "1", "low", "N", "0"],  # 4 score.places, but 12.50 is a declared value
        ["6", "13", "1", "low", "N", "0"],     # 5 score.value
    ]
    report = compile_checker(spec).run(table(spec, rows))
    failed = {o.name: np.flatnonzero(o.failed).tolist() for o in report.outcomes if o.failed.any()}
    assert failed == {"dose.value": [1], "dose.type": [3], "score.places": [4], "score.value": [5]}
    value = report.outcome("dose.value")
    assert (value.kind, value.hard, value.n_applicable) == ("value", True, 4)
    assert value.description == "dose is one of 1, 3"
    assert report.row_ok.tolist() == [True, False, True, False, False, False]
    assert report.columns["dose"].n_failed_rows == 2
    assert "value" not in {o.kind for o in compile_checker(small).run(table(small, rows)).outcomes}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=frames,
       dose=st.lists(st.sampled_from([0.0, 1.0, 3.0, 50.0]), min_size=1, max_size=3, unique=True),
       score=st.lists(st.sampled_from([0.0, 12.5, 50.0, 90.5, 100.0]), min_size=1, max_size=3, unique=True))
def test_value_check_agrees_with_reference(small, rows, dose, score):
    spec = with_values(small, dose=tuple(dose), score=tuple(score))
    typed = data.to_typed(pd.DataFrame(rows, columns=list(CELLS), dtype=object), spec)
    report = compile_checker(spec).run(typed)
    reference = reference_checker.check_values(typed, spec)
    assert set(reference) == {"dose.value", "score.value"}
    for name, (failed, applicable) in reference.items():
        assert report.outcome(name).failed.tolist() == failed.tolist()
        assert report.outcome(name).applicable.tolist() == applicable.tolist()


def test_header_constant_matches_small_spec(small):
    assert HEADER.split(",") == list(small.column_names)


def test_reference_agrees_on_real_rows():
    spec = check_file(SPECS / "diabetes.synspec").spec
    raw = data.read_raw(real_csv("diabetes"), spec).iloc[:3000]
    typed = data.to_typed(raw, spec)
    report = compile_checker(spec).run(typed)
    for name, (failed, applicable) in reference_checker.check_rules(typed, spec).items():
        assert report.outcome(name).failed.tolist() == failed.tolist()
        assert report.outcome(name).applicable.tolist() == applicable.tolist()

