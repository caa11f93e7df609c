"""Boundary excess and top values on hand-made tables where the answer is known."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from synspec import ir
from synspec.cli import main
from synspec.cli.common import load_spec
from synspec.data import to_typed
from synspec.evaluate import boundary
from synspec.evaluate.fidelity import column_fidelity

SPEC_TEXT = """\
dataset toy

column glucose: integer
  range 80 to 300
  quantiles 25% 100, 50% 140, 75% 159

column hba1c: decimal(1)
  range 3.5 to 9

column sex: categorical
  levels F, M

column flag: boolean 1/0

rule glucose_flag: glucose > 200 -> flag
rule hba1c_flag: hba1c > 6.6 -> flag
rule raised: flag -> hba1c >= 5.7 and glucose >= 126
rule low: hba1c < 4.05 -> not flag
expect high_tail: 250 < glucose -> glucose in {260, 270}
  mostly 0.5
"""
N = 1000


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "toy.synspec"
    path.write_text(SPEC_TEXT)
    return path


@pytest.fixture(scope="module")
def spec(spec_path) -> ir.Spec:
    return load_spec(spec_path)


def _table(at_max: int) -> pd.DataFrame:
    """N rows: `at_max` of them with glucose at the range maximum (300), the others spread
    evenly over 80..299; hba1c spread over 3.5..8.9, sex alternating, flag following the rules."""
    glucose = [300] * at_max + [80 + i % 220 for i in range(N - at_max)]
    hba1c = [round(3.5 + (i % 55) / 10, 1) for i in range(N)]
    flag = [int(g > 200 or h > 6.6) for g, h in zip(glucose, hba1c, strict=True)]
    return pd.DataFrame(
        {
            "glucose": [str(g) for g in glucose],
            "hba1c": [f"{h:.1f}" for h in hba1c],
            "sex": ["F" if i % 3 else "M" for i in range(N)],
            "flag": [str(f) for f in flag],
        }
    )


@pytest.fixture(scope="module")
def real(spec):
    return to_typed(_table(at_max=50), spec).frame  # 5% at the range max


@pytest.fixture(scope="module")
def piled(spec):
    return to_typed(_table(at_max=500), spec).frame  # 50% at the range max


def _points(spec: ir.Spec, name: str) -> dict[float, str]:
    column = spec.column(name)
    return {p.steps / boundary.scale(column): p.kind for p in boundary.boundary_points(spec, column)}


def test_points_of_an_integer_column(spec):
    assert _points(spec, "glucose") == {
        80: "range",
        300: "range",
        200: "rule:glucose_flag",  # `> 200`: the cut lies between 200 and 201
        201: "rule:glucose_flag",
        125: "rule:raised",  # `>= 126`: between 125 and 126
        126: "rule:raised",
        250: "rule:high_tail",  # `250 < glucose` reads as `glucose > 250`
        251: "rule:high_tail",
        260: "rule:high_tail",  # every value of `in {...}`
        270: "rule:high_tail",
        100: "quantile",
        140: "quantile",
        159: "quantile",
    }


def test_points_of_a_decimal_column(spec):
    assert _points(spec, "hba1c") == {
        3.5: "range",
        9.0: "range",
        6.6: "rule:hba1c_flag",
        6.7: "rule:hba1c_flag",
        5.6: "rule:raised",
        5.7: "rule:raised",
        4.0: "rule:low",  # a constant between grid values: the grid values around it
        4.1: "rule:low",
    }


def test_pile_on_the_range_max(spec, real, piled):
    found = boundary.column_boundaries(spec, spec.column("glucose"), real["glucose"], piled["glucose"])
    c = 5 / N
    assert found["boundary_excess"] == pytest.approx((0.5 + c) / (0.05 + c))
    top = next(p for p in found["boundary_points"] if p["value"] == 300)
    assert top == {
        "value": 300,
        "real_share": pytest.approx(0.05),
        "synthetic_share": pytest.approx(0.5),
        "ratio": pytest.approx(found["boundary_excess"]),
        "kind": "range",
    }


def test_identical_tables_have_ratio_one(spec, real):
    for name in ("glucose", "hba1c"):
        found = boundary.column_boundaries(spec, spec.column(name), real[name], real[name])
        assert all(p["ratio"] == pytest.approx(1.0) for p in found["boundary_points"])
        assert found["boundary_excess"] == pytest.approx(1.0)


def test_a_few_rows_where_the_real_table_has_none_are_no_pile(spec, real):
    # Two synthetic rows at a point the real table never reaches: ratio (2/N + c) / c = 1.4.
    real_without = real["glucose"].where(real["glucose"] != 201, 202)
    glucose = real_without.copy()
    glucose.iloc[:2] = 201
    found = boundary.column_boundaries(spec, spec.column("glucose"), real_without, glucose)
    point = next(p for p in found["boundary_points"] if p["value"] == 201)
    assert point["real_share"] == 0
    assert point["ratio"] == pytest.approx(1 + 2 / boundary.SMOOTHING_ROWS)


def test_noise_is_what_resampled_real_rows_score(spec, real, piled):
    """Resampled real rows put about 5% at the range max, like the real table: the noise sits
    above 1 (each of the many points can move), a table with half its rows there is far above
    it (a pile), and a real table compared with itself is within it."""
    found = boundary.column_boundaries(spec, spec.column("glucose"), real["glucose"], piled["glucose"])
    assert 1.0 < found["boundary_noise"] < 2.0
    assert found["boundary_excess"] > 3 * found["boundary_noise"]
    assert boundary.is_pile(found["boundary_excess"], found["boundary_noise"])
    same = boundary.column_boundaries(spec, spec.column("glucose"), real["glucose"], real["glucose"])
    assert same["boundary_excess"] <= same["boundary_noise"]
    assert not boundary.is_pile(same["boundary_excess"], same["boundary_noise"])


def test_noise_is_reproducible_and_flags_need_both_conditions(spec, real):
    column = spec.column("hba1c")
    first = boundary.column_boundaries(spec, column, real["hba1c"], real["hba1c"].iloc[:300])
    again = boundary.column_boundaries(spec, column, real["hba1c"], real["hba1c"].iloc[:300])
    assert first["boundary_noise"] == again["boundary_noise"] > 1.0
    assert not boundary.is_pile(2.5, 3.0)  # above 2, within chance
    assert not boundary.is_pile(1.9, 1.0)  # beyond chance, below the flag
    assert boundary.is_pile(2.5, 2.4)


def test_declared_values_rate_only_range_and_rule_points(spec, real, piled):
    glucose = spec.column("glucose").model_copy(update={"values": ((100.0, 0.5), (300.0, 0.5))})
    found = boundary.column_boundaries(spec, glucose, real["glucose"], piled["glucose"])
    kinds = {p["kind"]: p["ratio"] for p in found["boundary_points"]}
    assert kinds["quantile"] is None  # listed, not rated: the TVD judges a discrete column
    assert kinds["range"] is not None and kinds["rule:glucose_flag"] is not None
    assert found["boundary_excess"] > 9


def test_conditional_quantiles_are_points(spec):
    where = ir.Location(path="toy", line=1, column=1)
    cond = ir.Conditional(given="sex", level="F", quantiles=((50.0, 171.0),), location=where)
    glucose = spec.column("glucose").model_copy(update={"conditionals": (cond,)})
    points = {p.steps: p.kind for p in boundary.boundary_points(spec, glucose)}
    assert points[171] == "quantile"


def test_top_values(spec, real, piled):
    top = boundary.top_values(spec.column("glucose"), real["glucose"], piled["glucose"])
    assert top[0] == {"value": 300, "real_share": pytest.approx(0.05), "synthetic_share": pytest.approx(0.5)}
    assert len(top) <= 2 * boundary.TOP_VALUES
    flags = boundary.top_values(spec.column("flag"), real["flag"], real["flag"])
    assert {row["value"] for row in flags} == {"1", "0"}  # booleans as their file tokens
    assert all(row["real_share"] == row["synthetic_share"] for row in flags)
    levels = column_fidelity(spec, real, piled)["sex"]["top_values"]
    assert [row["value"] for row in levels] == ["F", "M"]


def _eval(spec_path: Path, tmp_path: Path, synthetic: pd.DataFrame, *extra: str) -> tuple[int, dict, str]:
    real_csv, syn_csv = tmp_path / "real.csv", tmp_path / "syn.csv"
    _table(at_max=50).to_csv(real_csv, index=False)
    synthetic.to_csv(syn_csv, index=False)
    js, html = tmp_path / "r.json", tmp_path / "r.html"
    args = ["eval", "--spec", str(spec_path), "--real", str(real_csv), "--synthetic", str(syn_csv)]
    code = main([*args, "--json", str(js), "-o", str(html), "--fail-on", "boundary_excess>1.5", *extra])
    return code, json.loads(js.read_text()), html.read_text()


def test_fail_on_boundary_excess(spec_path, tmp_path, capsys):
    code, data, html = _eval(spec_path, tmp_path, _table(at_max=500))
    assert code == 1
    assert data["figures"]["boundary_excess"]["synthetic"] == pytest.approx(0.505 / 0.055)
    glucose = data["columns"]["synthetic"]["glucose"]
    assert glucose["boundary_excess"] == pytest.approx(0.505 / 0.055)
    assert glucose["top_values"][0]["value"] == 300
    assert {p["kind"] for p in glucose["boundary_points"]} >= {"range", "rule:glucose_flag", "quantile"}
    out = capsys.readouterr().out
    assert "FAILED: boundary_excess>1.5" in out
    assert re.search(r"glucose\s*│\s*9\.182 !", out)  # the text summary flags the column
    # The HTML report flags the column and draws one histogram per column.
    assert 'class="card flagged"><img' in html and "piled on a boundary" in html
    for name in ("glucose", "hba1c", "sex", "flag"):
        assert (
            len(re.findall(rf'<img src="data:image/png;base64,[^"]+" alt="distribution of {name}"', html))
            == 1
        )


def test_identical_tables_pass_the_gate(spec_path, tmp_path):
    code, data, html = _eval(spec_path, tmp_path, _table(at_max=50))
    assert code == 0
    assert data["figures"]["boundary_excess"]["synthetic"] == pytest.approx(1.0)
    assert 'class="card flagged"' not in html and "piled on a boundary" not in html
