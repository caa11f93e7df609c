"""Metric sanity on known cases: identical, disjoint, shuffled and independent tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SPECS, real_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec.cli.common import load_spec
from synspec.data import to_typed
from synspec.errors import UserError
from synspec.evaluate import fidelity, privacy
from synspec.evaluate.baseline import baseline_raw
from synspec.evaluate.pipeline import evaluate
from synspec.evaluate.result import SCHEMA_VERSION, EvalResult
from synspec.evaluate.tables import load_table
from synspec.evaluate.thresholds import METRICS, parse_threshold


@pytest.fixture(scope="module")
def spec():
    return load_spec(SPECS / "cirrhosis.synspec")


@pytest.fixture(scope="module")
def real(spec):
    return load_table(real_csv("cirrhosis"), spec, "real")


@pytest.fixture(scope="module")
def identical(spec, real):
    return evaluate(spec, real, real, seed=0)


def test_identical_tables(identical):
    figures = identical.synthetic_figures()
    assert figures["mean_ks"] == 0
    assert figures["max_tvd"] == 0
    assert figures["max_missing_diff"] == 0
    assert figures["pearson_diff"] == pytest.approx(0, abs=1e-12)
    assert figures["exact_copy_rate"] == 1.0
    assert figures["dcr_median"] == 0
    assert figures["boundary_excess"] == pytest.approx(1.0)
    # The baseline is a different table: it does not copy everyone.
    assert identical.figures["exact_copy_rate"].baseline < 0.05
    assert identical.figures["mean_ks"].baseline > 0


def test_shuffled_copy_is_undetectable_but_fully_copied(spec, real):
    order = np.random.default_rng(7).permutation(len(real))
    shuffled = to_typed(real.raw.iloc[order].reset_index(drop=True), spec)
    x = real.frame
    assert fidelity.detection_auc(spec, x, shuffled.frame, seed=0) == pytest.approx(0.5, abs=0.1)
    assert privacy.copy_rate(spec, shuffled.frame, x) == 1.0


def test_detection_tells_the_baseline_apart(identical):
    # Independent marginals break cirrhosis' joint missingness: easy to detect.
    assert identical.figures["detection_auc"].baseline > 0.75


def test_result_round_trips_through_its_json(identical):
    data = json.loads(identical.to_json())
    assert data["schema_version"] == SCHEMA_VERSION
    back = EvalResult.model_validate(data)
    assert back.model_dump() == identical.model_dump()
    assert back.plot_data == {}  # plot arrays are never serialised


def test_disjoint_supports_have_tvd_one():
    a = pd.Series(["x", "y", None, "x"], dtype=object)
    b = pd.Series(["z", "w", "z"], dtype=object)
    assert fidelity.tvd(a, b) == 1.0
    assert fidelity.tvd(a, a) == 0.0


def test_independent_marginals_lose_correlations(spec, real):
    rng = np.random.default_rng(3)
    # Each column shuffled on its own: marginals exact (KS 0), correlations gone.
    raw = real.raw.copy()
    for name in raw.columns:
        raw[name] = raw[name].to_numpy()[rng.permutation(len(raw))]
    independent = to_typed(raw.reset_index(drop=True), spec)
    cols = fidelity.column_fidelity(spec, real.frame, independent.frame)
    assert max(c.get("ks", 0) or 0 for c in cols.values()) == 0
    pairs = fidelity.correlation_diffs(spec, real.frame, independent.frame)
    real_corr = np.abs(np.asarray(pairs["pearson"]["real"]))
    indep_corr = np.abs(np.asarray(pairs["pearson"]["synthetic"]))
    strong = real_corr > 0.3
    np.fill_diagonal(strong, False)
    assert strong.any()
    assert indep_corr[strong].max() < 0.25
    assert pairs["pearson"]["max_abs_diff"] > 0.25


def test_baseline_follows_the_spec(spec):
    raw = baseline_raw(spec, 2000, seed=1)
    typed = to_typed(raw, spec)
    assert not any(mask.any() for mask in typed.bad.values())
    assert list(raw["ID"][:3]) == ["1", "2", "3"]
    for column in spec.columns:
        if column.is_numeric and column.low is not None and not column.is_key:
            values = typed.frame[column.name].dropna()
            assert values.min() >= column.low and values.max() <= column.high
        if column.may_be_missing and not column.is_key:
            assert typed.frame[column.name].isna().mean() == pytest.approx(column.missing_rate, abs=0.04)
    drug = spec.column("Drug")
    assert set(typed.frame["Drug"].dropna()) <= set(drug.levels)


def test_baseline_draws_declared_values(spec):
    stage = spec.column("Stage").model_copy(update={"values": ((1.0, 0.1), (3.0, 0.9))})
    columns = tuple(stage if c.name == "Stage" else c for c in spec.columns)
    declared = spec.model_copy(update={"columns": columns})
    typed = to_typed(baseline_raw(declared, 4000, seed=2), declared)
    shares = typed.frame["Stage"].dropna().value_counts(normalize=True)
    assert set(shares.index) == {1.0, 3.0}
    assert shares[3.0] == pytest.approx(0.9, abs=0.02)


def test_privacy_distances_and_membership(spec, real):
    train, hold = real.frame.iloc[:300], real.frame.iloc[300:]
    # Releasing the train rows themselves: DCR 0 and a membership attack that works.
    found = privacy.privacy_metrics(privacy.PrivacyReference(spec, real.frame, train, hold, seed=0), train)
    assert found["exact_copy_rate"] == 1.0
    assert found["mia_auc"] > 0.9
    assert found["dcr_close_share"] == 1.0


def test_privacy_figures_can_fail_on_a_table_with_duplicate_rows(spec, real):
    """When a tenth of the holdout duplicates train rows the holdout's 5th-percentile distance
    is 0: a strict "closer than" share could never fail. The close share counts ties, and the
    holdout's own share and copy rate say what chance gives."""
    frame = real.frame
    train = frame.iloc[:300].reset_index(drop=True)
    fresh = frame.iloc[300:].reset_index(drop=True)
    hold = pd.concat([fresh, train.iloc[: len(fresh) // 9]], ignore_index=True)
    reference = privacy.PrivacyReference(spec, pd.concat([train, hold]), train, hold, seed=0)
    assert reference.holdout_dcr_p5 == 0
    assert reference.holdout_copy_rate == pytest.approx(0.1, abs=0.02)
    assert reference.holdout_close_share == pytest.approx(0.1, abs=0.02)
    copies = privacy.privacy_metrics(reference, train.iloc[:100])
    assert copies["dcr_close_share"] == 1.0 > copies["holdout_dcr_close_share"]
    assert copies["exact_copy_rate"] == 1.0 > copies["holdout_copy_rate"]
    new = privacy.privacy_metrics(reference, fresh)
    assert new["dcr_close_share"] < 0.05  # rows from the same population, none a duplicate


def test_load_table_rejects_bad_cells(spec, tmp_path):
    path = tmp_path / "bad.csv"
    raw = baseline_raw(spec, 5, seed=0)
    raw.loc[2, "Age"] = "old"
    raw.to_csv(path, index=False)
    with pytest.raises(UserError, match="Age"):
        load_table(path, spec, "synthetic")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.sampled_from("abcd"), min_size=1, max_size=30),
    st.lists(st.sampled_from("abcd"), min_size=1, max_size=30),
)
def test_tvd_is_a_bounded_symmetric_distance(a, b):
    sa, sb = pd.Series(a, dtype=object), pd.Series(b, dtype=object)
    value = fidelity.tvd(sa, sb)
    assert 0 <= value <= 1 + 1e-12
    assert value == pytest.approx(fidelity.tvd(sb, sa))


@pytest.mark.parametrize("text", ["exact_copy_rate", "exact_copy_rate >> 0", "exact_copy_rate>x"])
def test_bad_threshold_syntax(text):
    with pytest.raises(UserError, match="cannot read"):
        parse_threshold(text)


def test_unknown_metric_suggests_one():
    with pytest.raises(UserError) as info:
        parse_threshold("exact_copy_rat>0")
    assert "exact_copy_rate" in info.value.hint


def test_threshold_semantics():
    gate = parse_threshold(" tstr_trtr_auroc < 0.9 ")
    assert gate.fails(0.8) and not gate.fails(0.95)
    assert gate.fails(None)  # not measured: fails


def test_docs_name_every_threshold_metric_and_result_field():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "metrics.md").read_text(encoding="utf-8")
    thresholds = docs[docs.index("## Thresholds") :]
    assert [m for m in METRICS if f"`{m}`" not in thresholds] == []
    schema = docs[docs.index("## The JSON result") :]
    assert [f for f in EvalResult.model_fields if f"| `{f}` |" not in schema] == []
