"""Tests of the joint seeding draw (synspec/generate/joint): declared marginals, conditional
statistics and correlations are reproduced within sampling error, and no drawn row breaks a
hard rule. No model is loaded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SPECS
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec import data, ir
from synspec.generate.joint import JointSampler
from synspec.generate.joint.correlation import nearest_correlation
from synspec.generate.joint.marginals import QuantileMarginal
from synspec.passes import check_file, check_text
from synspec.targets import checker
from synspec.targets.grammar.automaton import column_classes

N = 20_000


def _spec(text: str) -> ir.Spec:
    result = check_text(text)
    assert result.spec is not None, [str(d) for d in result.diagnostics]
    return result.spec


def _hard_failures(spec: ir.Spec, frame: pd.DataFrame) -> dict[str, int]:
    raw = frame.copy()
    for column in spec.columns:
        if column.is_key:
            raw[column.name] = [str(i + 1) for i in range(len(raw))]
        elif column.name not in raw:
            raw[column.name] = column.missing_token or ""
    report = checker.compile_checker(spec).run(data.to_typed(raw[list(spec.column_names)], spec))
    return {o.name: o.n_failed for o in report.outcomes if o.hard and o.n_failed}


def _share_tolerance(p: float, n: int) -> float:
    return 4.5 * np.sqrt(p * (1 - p) / n) + 1e-3


BASIC = """
dataset basic
column sex: categorical
  levels F, M
  frequencies F 0.7, M 0.3
column age: integer
  range 18 to 90
  quantiles 25% 35, 50% 50, 75% 64
column smoker: boolean Y/N
  frequencies Y 0.2, N 0.8
  missing 0.1 as "NA"
column bmi: decimal(1)
  range 15 to 50
  quantiles 10% 20.1, 50% 26.0, 90% 34.5
correlation age, bmi: 0.4
correlation age, smoker: -0.2
"""


def test_marginals_match_declared_frequencies_quantiles_and_missing_rate() -> None:
    spec = _spec(BASIC)
    drawn = JointSampler(spec).draw(N, np.random.default_rng(3))
    sex = drawn.texts["sex"]
    assert abs(np.mean(sex == "F") - 0.7) < _share_tolerance(0.7, N)
    smoker = drawn.texts["smoker"]
    assert abs(np.mean(smoker == "NA") - 0.1) < _share_tolerance(0.1, N)
    present = smoker[smoker != "NA"]
    assert abs(np.mean(present == "Y") - 0.2) < _share_tolerance(0.2, len(present))
    for name, quantiles in (
        ("age", [(25, 35), (50, 50), (75, 64)]),
        ("bmi", [(10, 20.1), (50, 26.0), (90, 34.5)]),
    ):
        values = drawn.numbers[name]
        assert values.min() >= spec.column(name).low and values.max() <= spec.column(name).high
        for percent, value in quantiles:
            # The share at or below the declared quantile, within sampling error plus one grid cell.
            below = np.mean(values <= value)
            assert abs(below - percent / 100) < _share_tolerance(percent / 100, N) + 0.015, (
                name,
                percent,
                below,
            )


def test_declared_correlations_are_reproduced_through_skewed_and_binary_marginals() -> None:
    spec = _spec(BASIC)
    sampler = JointSampler(spec)
    observed = sampler.observed_correlations(sampler.draw(N, np.random.default_rng(5)))
    assert observed[("age", "bmi")] == pytest.approx(0.4, abs=0.03)
    assert observed[("age", "smoker")] == pytest.approx(-0.2, abs=0.03)


def test_values_pile_only_where_the_statistics_say() -> None:
    """No range end or threshold gets more than its share (the edge piling of masked decoding)."""
    spec = _spec(
        BASIC
        + """
rule old_not_smoking: age > 80 -> not smoker
"""
    )
    drawn = JointSampler(spec).draw(N, np.random.default_rng(9))
    age = drawn.numbers["age"]
    # CDF mass of one integer cell at 80 and at the range ends: a few tenths of a percent.
    for point in (18, 80, 81, 90):
        assert np.mean(age == point) < 0.01, point
    assert not _hard_failures(spec, drawn.frame())


MISSING_TOGETHER = """
dataset trial
column Drug: categorical
  levels A, B
  frequencies A 0.5, B 0.5
  missing 0.25 as "NA"
column Ascites: boolean Y/N
  frequencies Y 0.1, N 0.9
  missing 0.25 as "NA"
column Spiders: boolean Y/N
  frequencies Y 0.3, N 0.7
  missing 0.25 as "NA"
rule trial_fields_together: Drug is missing <-> Ascites is missing
rule spiders_with_drug: Drug is missing <-> Spiders is missing
"""


def test_rules_coupling_missingness_keep_every_declared_rate() -> None:
    """Rejecting rows where independent draws disagree would keep missing rates near 0.25**2;
    drawing inside the rule classes keeps them at 0.25 and the Y shares among present rows."""
    spec = _spec(MISSING_TOGETHER)
    drawn = JointSampler(spec).draw(N, np.random.default_rng(1))
    assert not _hard_failures(spec, drawn.frame())
    for name in ("Drug", "Ascites", "Spiders"):
        assert abs(np.mean(drawn.texts[name] == "NA") - 0.25) < _share_tolerance(0.25, N), name
    ascites = drawn.texts["Ascites"]
    present = ascites[ascites != "NA"]
    assert abs(np.mean(present == "Y") - 0.1) < _share_tolerance(0.1, len(present))


def test_arithmetic_rules_are_kept_by_redrawing() -> None:
    spec = _spec("""
dataset bp
column systolic: integer
  range 80 to 200
  quantiles 50% 125
column diastolic: integer
  range 40 to 130
  quantiles 50% 80
correlation systolic, diastolic: 0.6
rule pulse_pressure: systolic - diastolic >= 20
""")
    drawn = JointSampler(spec).draw(5000, np.random.default_rng(2))
    assert not _hard_failures(spec, drawn.frame())
    assert np.all(drawn.numbers["systolic"] - drawn.numbers["diastolic"] >= 20)


def test_conditional_statistics_are_used_per_level_of_the_given_column() -> None:
    spec = _spec("""
dataset dm
  target diabetes
column glucose: integer
  range 80 to 300
  quantiles 50% 140
column diabetes: boolean 1/0
  frequencies 1 0.1, 0 0.9
rule glucose_means_diabetes: glucose > 200 -> diabetes
""")
    column = spec.column("glucose")
    location = column.location
    conditionals = (
        ir.Conditional(
            given="diabetes", level="1", quantiles=((10, 150), (50, 210), (90, 280)), location=location
        ),
        ir.Conditional(
            given="diabetes", level="0", values=((100, 0.3), (130, 0.4), (160, 0.3)), location=location
        ),
    )
    columns = tuple(
        c.model_copy(update={"conditionals": conditionals}) if c.name == "glucose" else c
        for c in spec.columns
    )
    spec = spec.model_copy(update={"columns": columns})
    sampler = JointSampler(spec)
    assert sampler.columns.index("diabetes") < sampler.columns.index("glucose")
    drawn = sampler.draw(N, np.random.default_rng(4))
    diabetic = drawn.texts["diabetes"] == "1"
    assert abs(diabetic.mean() - 0.1) < _share_tolerance(0.1, N)
    glucose = drawn.numbers["glucose"]
    assert set(np.unique(glucose[~diabetic])) == {100.0, 130.0, 160.0}
    assert abs(np.mean(glucose[~diabetic] == 130) - 0.4) < _share_tolerance(0.4, int((~diabetic).sum()))
    below = np.mean(glucose[diabetic] <= 210)
    assert abs(below - 0.5) < _share_tolerance(0.5, int(diabetic.sum())) + 0.01
    assert not _hard_failures(spec, drawn.frame())


def test_batches_are_deterministic_and_independent_of_each_other() -> None:
    spec = _spec(BASIC)
    sampler = JointSampler(spec)
    assert sampler.draw_batch(16, 7, 3) == JointSampler(spec).draw_batch(16, 7, 3)
    assert sampler.draw_batch(16, 7, 3) != sampler.draw_batch(16, 7, 4)


def test_quantile_marginal_turns_repeated_quantiles_into_a_point_mass() -> None:
    spec = _spec("""
dataset imputed
column bmi: decimal(2)
  range 10 to 60
  quantiles 25% 22.5, 40% 27.32, 60% 27.32, 75% 30
""")
    column = spec.column("bmi")
    m = QuantileMarginal(column, column_classes(column, set()), column.quantiles)
    n = 10_000
    _, texts, numbers = m.draw(np.random.default_rng(0).random(n), np.zeros(n), np.ones((n, 1), dtype=bool))
    assert abs(np.mean(numbers == 27.32) - 0.2) < _share_tolerance(0.2, n)
    assert texts is not None and set(texts[:50]) <= {f"{v:.2f}" for v in numbers[:50]}


def test_nearest_correlation_repairs_an_inconsistent_matrix() -> None:
    bad = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    fixed = nearest_correlation(bad)
    assert np.all(np.linalg.eigvalsh(fixed) > 0)
    assert np.allclose(np.diag(fixed), 1.0)
    np.linalg.cholesky(fixed)


@pytest.mark.parametrize("name", ["diabetes", "stroke", "cirrhosis"])
def test_real_specs_draw_rows_that_pass_every_hard_rule(name: str) -> None:
    spec = check_file(SPECS / f"{name}.synspec").spec
    assert spec is not None
    drawn = JointSampler(spec, calibration_rows=4000).draw(3000, np.random.default_rng(0))
    assert not _hard_failures(spec, drawn.frame())


@st.composite
def _random_spec(draw: st.DrawFn) -> str:
    p = draw(st.floats(0.05, 0.95))
    m = draw(st.sampled_from([0.0, 0.2]))
    lo = draw(st.integers(0, 50))
    hi = lo + draw(st.integers(10, 200))
    cuts = sorted(draw(st.lists(st.integers(lo, hi), min_size=3, max_size=3)))
    threshold = draw(st.integers(lo, hi))
    rho = draw(st.floats(-0.6, 0.6))
    op = draw(st.sampled_from([">", ">=", "<", "<="]))
    missing = f'\n  missing {m} as "NA"' if m else ""
    return f"""
dataset random
column flag: boolean 1/0
  frequencies 1 {p:.3f}, 0 {1 - p:.3f}{missing}
column x: integer
  range {lo} to {hi}
  quantiles 25% {cuts[0]}, 50% {cuts[1]}, 75% {cuts[2]}
column y: integer
  range {lo} to {hi}
  quantiles 50% {cuts[1]}
correlation x, y: {rho:.2f}
rule r1: x {op} {threshold} -> flag
rule r2: flag is missing -> y <= {cuts[1]}
"""


@settings(max_examples=25, deadline=None)
@given(_random_spec())
def test_random_specs_never_break_a_hard_rule(text: str) -> None:
    result = check_text(text)
    if result.spec is None:  # a random rule set can be unsatisfiable: the check says so
        return
    spec = result.spec
    try:
        sampler = JointSampler(spec, calibration_rows=2000)
    except Exception as exc:  # pragma: no cover - shown by hypothesis with the spec
        raise AssertionError(text) from exc
    drawn = sampler.draw(500, np.random.default_rng(0))
    assert not _hard_failures(spec, drawn.frame()), text


def test_correlations_hold_when_the_draw_order_differs_from_the_file_order() -> None:
    """Columns drawn given a later column are drawn after it: the latent slots must still
    pair the declared columns (a mix-up once calibrated the wrong pairs)."""
    spec = _spec("""
dataset order
  target flag
column x: integer
  range 0 to 100
  quantiles 50% 50
column y: integer
  range 0 to 100
  quantiles 50% 50
column flag: boolean 1/0
  frequencies 1 0.3, 0 0.7
correlation x, y: 0.5
correlation y, flag: 0.3
""")
    location = spec.column("x").location
    conditionals = (
        ir.Conditional(given="flag", level="1", quantiles=((50, 70),), location=location),
        ir.Conditional(given="flag", level="0", quantiles=((50, 40),), location=location),
    )
    columns = tuple(
        c.model_copy(update={"conditionals": conditionals}) if c.name == "x" else c for c in spec.columns
    )
    spec = spec.model_copy(update={"columns": columns})
    sampler = JointSampler(spec)
    assert sampler.columns.index("flag") < sampler.columns.index("x")
    observed = sampler.observed_correlations(sampler.draw(N, np.random.default_rng(8)))
    assert observed[("x", "y")] == pytest.approx(0.5, abs=0.03)
    assert observed[("y", "flag")] == pytest.approx(0.3, abs=0.03)


def test_rule_coupled_columns_keep_their_declared_frequencies_on_stroke() -> None:
    """`work_type == children -> age <= 16` and `age < 18 -> ever_married == No` couple three
    columns; drawn without their dependence, the rule would bend work_type (children fell to
    a fifth of its share). The structure search draws age given work type instead."""
    spec = check_file(SPECS / "stroke.synspec").spec
    assert spec is not None
    sampler = JointSampler(spec, calibration_rows=4000)
    drawn = sampler.draw(N, np.random.default_rng(6))
    for name in ("work_type", "ever_married", "smoking_status"):
        declared = dict(spec.column(name).frequencies)
        texts = pd.Series(drawn.texts[name]).value_counts(normalize=True)
        tv = 0.5 * sum(abs(texts.get(level, 0.0) - share) for level, share in declared.items())
        assert tv < 0.03, (name, tv, sampler.given)
    assert not _hard_failures(spec, drawn.frame())


def test_a_batch_holds_each_declared_share_to_within_a_row() -> None:
    """Latent draws are scrambled Sobol points: with no correlation to mix them, each column's
    128 uniforms fall one in each 1/128 of the unit interval, so a batch's level counts are
    the declared shares to within one row (independent draws are off by ~4 rows)."""
    spec = _spec("""
dataset strata
column sex: categorical
  levels F, M, X
  frequencies F 0.61, M 0.37, X 0.02
column smoker: boolean Y/N
  frequencies Y 0.23, N 0.77
""")
    sampler = JointSampler(spec)
    for batch in range(5):
        rows = sampler.draw_batch(128, seed=7, batch_index=batch)
        for name in ("sex", "smoker"):
            counts = pd.Series([r[name] for r in rows]).value_counts()
            for level, share in spec.column(name).frequencies:
                assert abs(counts.get(level, 0) - 128 * share) <= 1.0, (batch, name, level, counts.to_dict())
    assert sampler.draw_batch(128, 7, 3) == sampler.draw_batch(128, 7, 3)
    assert sampler.draw_batch(128, 7, 3) != sampler.draw_batch(128, 7, 4)
