"""Values and conditional statistics: the IR they fill, the Kleene evaluator behind S417, and
the `<column>.value` check as `synspec validate` reports it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec import data, ir
from synspec.cli import main
from synspec.passes import check_text
from synspec.passes.kleene import evaluate
from synspec.targets import reference_checker
from tests.test_checker import CELLS, bool_expr, frames, small  # noqa: F401 (fixture)

SPEC = """\
dataset d
  target diabetes

column diabetes: boolean 1/0
  frequencies 1 0.2, 0 0.8

column sex: categorical
  levels F, M
  frequencies given diabetes == 1: M 0.6, F 0.4

column glucose: integer
  range 80 to 300
  values 300 0.1, 80 0.5, 140 0.4
  values given diabetes == 1: 140 0.5, 300 0.5
  quantiles given diabetes == 1: 10% 140, 90% 300
  quantiles given sex == F: 50% 100
"""


def test_ir_holds_values_and_one_record_per_level() -> None:
    spec = check_text(SPEC).spec
    glucose = spec.column("glucose")
    assert glucose.values == ((80.0, 0.5), (140.0, 0.4), (300.0, 0.1))  # ascending by value
    given_diabetic = glucose.conditional("diabetes", "1")
    assert given_diabetic.values == ((140.0, 0.5), (300.0, 0.5))
    assert given_diabetic.quantiles == ((10.0, 140.0), (90.0, 300.0))
    assert (given_diabetic.location.line, given_diabetic.location.column) == (14, 3)
    assert glucose.conditional("sex", "F").quantiles == ((50.0, 100.0),)
    assert [(c.given, c.level) for c in glucose.conditionals] == [("diabetes", "1"), ("sex", "F")]
    assert glucose.conditional("diabetes", "0") is None
    assert spec.column("sex").conditional("diabetes", "1").frequencies == (("M", 0.6), ("F", 0.4))
    # The IR is still a plain dump that loads back.
    assert ir.Spec.model_validate_json(spec.model_dump_json()) == spec


def test_contradiction_names_the_rule_and_where_it_is() -> None:
    text = SPEC + ("\n# The low readings are never diabetic.\n"
                   "rule low_not_diabetic: glucose < 150 -> not diabetes\n")
    diag, quantile = check_text(text, "d.synspec").diagnostics
    assert diag.code == "S417" and diag.is_error
    assert diag.message == ("`values given diabetes == 1` of `glucose` declares rows with 140 (share 0.5), "
                            "which hard rule `low_not_diabetic` forbids")
    assert diag.notes[0].location == "d.synspec:19:6"
    rendered = diag.render()
    assert "14 |   values given diabetes == 1: 140 0.5, 300 0.5" in rendered
    assert "^^^^^^^ forbidden by `low_not_diabetic`" in rendered
    # The quantile 10% 140 of the same rows breaks it too: a second diagnostic, on its own line.
    assert quantile.code == "S417" and quantile.source.position(quantile.span.start).line == 15
    assert "declares rows with 10% 140" in quantile.message


def test_soft_rules_and_undecided_rules_are_no_contradiction() -> None:
    soft = SPEC + "expect low_not_diabetic: glucose < 150 -> not diabetes\n  mostly 0.9\n"
    assert check_text(soft).diagnostics == ()
    # `bmi` is unknown on every statistic of glucose, so this rule cannot be decided on one.
    other = SPEC.replace("column glucose", "column bmi: integer\n\ncolumn glucose") + \
        "rule r: glucose > 200 -> bmi > 30\n"
    assert check_text(other).diagnostics == ()


# ---- the evaluator is sound: a decided rule is decided the same on every full row ------------
def _known(row: dict, spec: ir.Spec, columns: list[str]) -> dict:
    known = {}
    for name in columns:
        value = row[name]
        if value is None:
            continue
        column = spec.column(name)
        known[name] = value == 1.0 if column.kind is ir.ColumnKind.BOOLEAN else value
    return known


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(expr=bool_expr, rows=frames, chosen=st.lists(st.sampled_from(list(CELLS)), unique=True))
def test_partial_evaluation_agrees_with_every_row(small, expr, rows, chosen):  # noqa: F811
    typed = data.to_typed(pd.DataFrame(rows, columns=list(CELLS), dtype=object), small)
    full_rows, missing = reference_checker.rows_of(typed, small)
    for row, miss in zip(full_rows, missing, strict=True):
        decided = evaluate(expr, _known(row, small, chosen))
        if decided is not None:
            assert reference_checker.evaluate(expr, row, miss, small) is decided


# ---- validate reports the value check like every other column check ---------------------------
def test_validate_reports_an_undeclared_value(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "d.synspec"
    spec.write_text(SPEC, encoding="utf-8")
    table = tmp_path / "d.csv"
    table.write_text("diabetes,sex,glucose\n1,F,140\n0,M,80\n0,M,95\n", encoding="utf-8")
    assert main(["validate", str(table), "--spec", str(spec), "--format", "json"]) == 1
    result = json.loads(capsys.readouterr().out)
    check = next(c for c in result["checks"] if c["name"] == "glucose.value")
    assert (check["kind"], check["severity"], check["failed"], check["applicable"]) == ("value", "hard", 1, 3)
    assert check["examples"] == [{"row": 3, "line": 4, "values": {"glucose": "95"}}]
    assert result["summary"]["hard_failures"] == ["glucose.value"]
    assert main(["validate", str(table), "--spec", str(spec)]) == 1
    assert "FAIL glucose.value" in capsys.readouterr().out
