"""The pure helpers of benchmarks/bench_quality.py (no sdv or sdmetrics needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synspec.data import to_typed
from synspec.passes import check_text

ROOT = Path(__file__).resolve().parent.parent


def _load_bench():
    # By path: the benchmarks folder is not a package and may not be on sys.path under CI.
    found = importlib.util.spec_from_file_location("bench_quality", ROOT / "benchmarks" / "bench_quality.py")
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    sys.modules["bench_quality"] = module
    found.loader.exec_module(module)
    return module


bq = _load_bench()

SPEC = """
dataset toy
  target sick
  key id

column id: integer

column age: integer
  range 0 to 120

column weight: decimal(1)
  range 1 to 300
  missing 0.1 as "NA"

column smoker: boolean Y/N
  missing 0.1 as "NA"

column sick: boolean 1/0

column sex: categorical
  levels F, M

rule adults_only: age >= 18 -> weight > 30 or weight is missing
"""


@pytest.fixture(scope="module")
def spec():
    result = check_text(SPEC, "toy.synspec")
    assert result.spec is not None, [d.message for d in result.diagnostics]
    return result.spec


def test_metadata_skips_keys_and_types_columns(spec) -> None:
    meta = bq.sdmetrics_metadata(spec)
    assert meta == {
        "columns": {
            "age": {"sdtype": "numerical"},
            "weight": {"sdtype": "numerical"},
            "smoker": {"sdtype": "categorical"},
            "sick": {"sdtype": "categorical"},
            "sex": {"sdtype": "categorical"},
        }
    }


def _raw_rows(ids: list[str]) -> pd.DataFrame:
    """Two rows as a real file holds them (texts, missing as "NA"), keyed by `ids`."""
    return pd.DataFrame(
        {
            "id": ids,
            "age": ["40", "12"],
            "weight": ["70.5", "NA"],
            "smoker": ["Y", "NA"],
            "sick": ["0", "1"],
            "sex": ["F", "M"],
        },
        dtype=object,
    )


def test_model_frame_types_and_missing(spec) -> None:
    raw = _raw_rows(["7", "8"])
    frame = bq.model_frame(raw, spec)
    assert list(frame.columns) == ["age", "weight", "smoker", "sick", "sex"]
    assert frame["age"].tolist() == [40.0, 12.0]
    assert frame["weight"].iloc[0] == 70.5 and np.isnan(frame["weight"].iloc[1])
    assert frame["smoker"].iloc[0] == "Y" and pd.isna(frame["smoker"].iloc[1])
    assert frame["sick"].tolist() == ["0", "1"]  # boolean tokens as text, not numbers
    assert frame["sex"].tolist() == ["F", "M"]


def test_to_file_format_writes_the_spec_s_text(spec) -> None:
    peer = pd.DataFrame(
        {
            "sex": ["M", "F", np.nan],  # column order of a peer need not be the spec's
            "age": [40.4, 17.6, 3.0],
            "weight": [70.26, np.nan, -0.04],
            "smoker": ["Y", np.nan, "N"],
            "sick": [True, "0", 1.0],  # bools, tokens or numbers: all become tokens
        }
    )
    text = bq.to_file_format(peer, spec)
    assert list(text.columns) == ["id", "age", "weight", "smoker", "sick", "sex"]
    assert text["id"].tolist() == ["1", "2", "3"]
    assert text["age"].tolist() == ["40", "18", "3"]
    assert text["weight"].tolist() == ["70.3", "NA", "0.0"]  # rounded to places; no "-0.0"
    assert text["smoker"].tolist() == ["Y", "NA", "N"]
    assert text["sick"].tolist() == ["1", "0", "1"]
    assert text["sex"].tolist() == ["M", "F", ""]  # sex may not be missing: an empty cell, a failure
    typed = to_typed(text, spec)
    assert not any(typed.bad[c].any() for c in spec.column_names)
    assert typed.missing["sex"].tolist() == [False, False, True]


def test_to_file_format_refuses_a_missing_column(spec) -> None:
    with pytest.raises(ValueError, match="no column 'sex'"):
        bq.to_file_format(pd.DataFrame({"age": [1], "weight": [2.0], "smoker": ["Y"], "sick": ["1"]}), spec)


def test_round_trip_of_a_real_table(spec) -> None:
    raw = _raw_rows(["1", "2"])
    assert bq.to_file_format(bq.model_frame(raw, spec), spec).equals(raw)


def test_rule_failure_share_counts_rows_once_and_only_hard_rules() -> None:
    lines = [
        {"row": "1", "kind": "rule", "severity": "hard"},
        {"row": "1", "kind": "rule", "severity": "hard"},  # a second rule on the same row
        {"row": "2", "kind": "range", "severity": "hard"},  # a column constraint, not a rule
        {"row": "3", "kind": "rule", "severity": "soft"},
        {"row": "4", "kind": "rule", "severity": "hard"},
    ]
    assert bq.rule_failure_share(lines, 10) == pytest.approx(0.2)
    assert bq.rule_failure_share([], 0) is None


def test_eval_summary_reads_synthetic_figures_and_tolerates_absent_ones() -> None:
    figures = {
        "mean_ks": {"synthetic": 0.3, "baseline": 0.1},
        "mia_auc": {"synthetic": None, "baseline": 0.5},
        "boundary_excess": {"synthetic": 2.5, "baseline": 1.0},
    }
    summary = bq.eval_summary(figures)
    assert summary["mean_ks"] == 0.3
    assert summary["mia_auc"] is None
    assert summary["boundary_excess"] == 2.5
    assert summary["detection_auc"] is None


def test_holdout_references_come_from_the_privacy_section() -> None:
    document = {"privacy": {"synthetic": {"holdout_copy_rate": 0.04, "holdout_dcr_close_share": 0.061}}}
    assert bq.holdout_references(document) == {"holdout_copy_rate": 0.04, "holdout_dcr_close_share": 0.061}
    assert bq.holdout_references({}) == {"holdout_copy_rate": None, "holdout_dcr_close_share": None}


def test_settings_key_is_stable_and_sensitive() -> None:
    a = bq.settings_key({"peer": "ctgan", "epochs": 30, "rows": 2000})
    assert a == bq.settings_key({"rows": 2000, "epochs": 30, "peer": "ctgan"})
    assert a != bq.settings_key({"peer": "ctgan", "epochs": 31, "rows": 2000})


def test_markdown_tables_report_failures_and_missing_figures() -> None:
    results = [
        {
            "dataset": "toy",
            "generator": "synspec",
            "rows": 10,
            "timings": {"generate": 1.5, "eval": 2.0},
            "scores": {"quality": 0.81234, "rule_failure_share": 0.0, "rows_per_s": 12.3},
        },
        {
            "dataset": "toy",
            "generator": "ctgan",
            "rows": 10,
            "timings": {},
            "error": "boom | bang",
            "failed_step": "generate",
        },
    ]
    text = bq.markdown_tables(results)
    lines = text.splitlines()
    assert lines[2].startswith("| toy | synspec | 10 | 0.812 |")
    assert "| 0.0% |" in lines[2] and "| 12.30 |" in lines[2] and "| - |" in lines[2]
    assert "FAILED at generate: boom / bang" in lines[3]
    assert all(line.count("|") == lines[0].count("|") for line in lines[:4])
    assert "| toy | synspec | 1.5 | 2.0 | - | - |" in text


def test_machine_facts_name_the_cpu_flag_and_command() -> None:
    facts = bq.machine_facts(["--rows", "10"])
    assert facts["command"] == "python -m benchmarks.bench_quality --rows 10"
    assert isinstance(facts["avx512_bf16"], bool)
    assert facts["cores"] >= 1
    assert "avx512_bf16" in bq.machine_markdown(facts)


def test_ctgan_epochs_auto_caps_batches_not_small_files() -> None:
    assert bq.ctgan_epochs("auto", 80_000) == 15  # 160 batches an epoch, 2,400 at most
    assert bq.ctgan_epochs("auto", 4_088) == 300  # 8 batches an epoch: SDV's 300 epochs fit
    assert bq.ctgan_epochs("auto", 334) == 300  # fewer rows than a batch: one batch an epoch
    assert bq.ctgan_epochs("auto", 10_000_000) == 1
    assert bq.ctgan_epochs("42", 80_000) == 42
