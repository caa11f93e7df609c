"""End-to-end `synspec eval`: exit codes, JSON shape, HTML report with plots, input errors."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from conftest import SPECS, real_csv

from synspec.cli import main
from synspec.cli.common import load_spec
from synspec.evaluate.baseline import baseline_raw

SPEC = SPECS / "cirrhosis.synspec"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "synthetic.csv"
    baseline_raw(load_spec(SPEC), 200, seed=5).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def outputs(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    html, js = out / "report.html", out / "report.json"
    code = main(
        [
            "eval",
            "--spec",
            str(SPEC),
            "--real",
            str(real_csv("cirrhosis")),
            "--synthetic",
            str(synthetic),
            "-o",
            str(html),
            "--json",
            str(js),
            "--fail-on",
            "exact_copy_rate>0.5",
            "--fail-on",
            "detection_auc>0.6",
        ]
    )
    return code, html, js


def test_exit_one_when_a_threshold_fails(outputs):
    code, _, js = outputs
    assert code == 1  # the baseline-made table is easy to detect
    verdict = {v["threshold"]: v["failed"] for v in json.loads(js.read_text())["verdict"]}
    assert verdict == {"exact_copy_rate>0.5": False, "detection_auc>0.6": True}


def test_json_shape(outputs):
    data = json.loads(outputs[2].read_text())
    assert {"figures", "columns", "pairs", "consistency", "privacy", "utility", "split", "verdict"} <= set(
        data
    )
    for name, pair in data["figures"].items():
        assert set(pair) == {"synthetic", "baseline"}, name
    assert data["figures"]["prompt_copy_rate"]["synthetic"] is None  # no manifest
    assert data["split"]["stratified"] is True and data["split"]["holdout_rows"] == 84
    assert "ID" not in data["columns"]["synthetic"]  # keys are not compared
    util = data["utility"]
    assert util["target"] == "Status" and set(util["classes"]) == {"C", "CL", "D"}
    assert 0.5 < util["trtr"]["gradient_boosting"]["auroc"] <= 1
    names = {row["name"] for row in data["consistency"]}
    assert "trial_ascites" in names


def test_html_report_is_self_contained_with_plots(outputs):
    html = outputs[1].read_text()
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)
    # One overlay per non-key column, two heatmaps, rule bars, DCR histograms.
    assert len(images) == 19 + 4
    assert "http://" not in html and "https://" not in html
    assert html.index("Verdict") < html.index("Summary")
    assert "detection_auc&gt;0.6: " in html and "FAILED" in html


def test_passing_thresholds_exit_zero_and_refuse_overwrite(outputs, synthetic, capsys):
    _, html, _ = outputs
    args = ["eval", "--spec", str(SPEC), "--real", str(real_csv("cirrhosis")), "--synthetic", str(synthetic)]
    assert main([*args, "-o", str(html)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--fail-on", "exact_copy_rate>0.5", "--seed", "1"]) == 0


def _eval_json(synthetic: Path, out: Path, *extra: str) -> tuple[int, dict]:
    args = ["eval", "--spec", str(SPEC), "--real", str(real_csv("cirrhosis")), "--synthetic", str(synthetic)]
    code = main([*args, "--json", str(out), *extra])
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_prompt_examples_are_the_manifest_rows_used(synthetic, tmp_path, capsys):
    # The run manifest names the examples file and which of its rows the prompts showed
    # (`examples.rows_used`); only those rows count as prompt copies.
    syn = tmp_path / "syn.csv"
    syn.write_bytes(synthetic.read_bytes())
    lines = synthetic.read_text().splitlines()
    examples = tmp_path / "examples.csv"
    # Row 0 is not in the synthetic table; rows 1 and 2 are its first two rows.
    other = lines[3].split(",")
    other[1] = "41" if other[1] != "41" else "42"  # N_Days changed: equal to no synthetic row
    examples.write_text("\n".join([lines[0], ",".join(other), lines[1], lines[2]]) + "\n")
    manifest = {
        "spec": {"hash": "sha256:" + hashlib.sha256(SPEC.read_bytes()).hexdigest()},
        "style": "seed_ex",
        "examples": {"path": str(examples), "rows": 2, "rows_used": [0, 1]},
    }
    (tmp_path / "syn.csv.manifest.json").write_text(json.dumps(manifest))
    code, data = _eval_json(syn, tmp_path / "r.json", "--fail-on", "prompt_copy_rate>=0.01")
    assert code == 0
    assert data["figures"]["prompt_copy_rate"]["synthetic"] == pytest.approx(1 / 200)
    assert data["manifest"] == {
        "path": str(tmp_path / "syn.csv.manifest.json"),
        "spec_hash": manifest["spec"]["hash"],
        "spec_matches": True,
        "style": "seed_ex",
        "examples_path": str(examples),
        "prompt_examples": "rows_used",
    }
    assert "warning" not in capsys.readouterr().err


def test_manifest_of_another_spec_warns(synthetic, tmp_path, capsys):
    syn = tmp_path / "syn.csv"
    syn.write_bytes(synthetic.read_bytes())
    (tmp_path / "syn.csv.manifest.json").write_text(json.dumps({"spec": {"hash": "sha256:00"}}))
    code, data = _eval_json(syn, tmp_path / "r.json")
    assert code == 0 and data["manifest"]["spec_matches"] is False
    assert data["manifest"]["prompt_examples"] is None
    assert "another version of the spec" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "cannot read the run manifest"),
        ('{"examples": {"path": "x.csv", "rows_used": [-1]}}', "rows_used"),
        ('{"examples": "x.csv"}', "not an object"),
    ],
)
def test_unreadable_manifest_is_a_user_error(manifest, message, synthetic, tmp_path, capsys):
    syn = tmp_path / "syn.csv"
    syn.write_bytes(synthetic.read_bytes())
    (tmp_path / "syn.csv.manifest.json").write_text(manifest)
    code, _ = _eval_json(syn, tmp_path / "r.json")
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_rows_used_beyond_the_examples_file(synthetic, tmp_path, capsys):
    syn = tmp_path / "syn.csv"
    syn.write_bytes(synthetic.read_bytes())
    examples = tmp_path / "examples.csv"
    examples.write_text("\n".join(synthetic.read_text().splitlines()[:3]) + "\n")
    (tmp_path / "syn.csv.manifest.json").write_text(
        json.dumps({"examples": {"path": str(examples), "rows_used": [0, 5]}})
    )
    code, _ = _eval_json(syn, tmp_path / "r.json")
    assert code == 2 and "example row 5" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--synthetic", "missing.csv"], "not found"),
        (["--fail-on", "exact_copy>0"], "unknown metric"),
        (["--fail-on", "exact_copy_rate"], "cannot read the threshold"),
        (["--holdout-frac", "1.5"], "--holdout-frac"),
    ],
)
def test_user_errors_exit_two(args, message, synthetic, capsys):
    base = {"--spec": str(SPEC), "--real": str(real_csv("cirrhosis")), "--synthetic": str(synthetic)}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["eval"] + [x for pair in base.items() for x in pair]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_columns_not_matching_the_spec(tmp_path, capsys):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    code = main(
        ["eval", "--spec", str(SPEC), "--real", str(real_csv("cirrhosis")), "--synthetic", str(other)]
    )
    assert code == 2
    assert "lacks column" in capsys.readouterr().err


def test_explicit_holdout_file(synthetic, tmp_path):
    lines = real_csv("cirrhosis").read_text(encoding="utf-8-sig").splitlines()
    train, hold = tmp_path / "train.csv", tmp_path / "hold.csv"
    train.write_text("\n".join([lines[0], *lines[1:300]]) + "\n")
    hold.write_text("\n".join([lines[0], *lines[300:]]) + "\n")
    js = tmp_path / "r.json"
    args = [
        "eval",
        "--spec",
        str(SPEC),
        "--real",
        str(train),
        "--holdout",
        str(hold),
        "--synthetic",
        str(synthetic),
    ]
    assert main([*args, "--json", str(js)]) == 0
    data = json.loads(js.read_text())
    assert data["split"] == {
        "source": "file",
        "stratified": False,
        "train_rows": 299,
        "holdout_rows": 119,
        "seed": 0,
    }
    assert data["rows"]["real"] == 418


def test_spec_without_target_skips_utility(tmp_path):
    text = (SPECS / "diabetes.synspec").read_text().replace("  target diabetes\n", "")
    spec = tmp_path / "notarget.synspec"
    spec.write_text(text)
    lines = real_csv("diabetes").read_text(encoding="utf-8-sig").splitlines()[:401]
    real = tmp_path / "real.csv"
    real.write_text("\n".join(lines) + "\n")
    syn = tmp_path / "syn.csv"
    baseline_raw(load_spec(spec), 100, seed=2).to_csv(syn, index=False)
    js = tmp_path / "r.json"
    code = main(
        [
            "eval",
            "--spec",
            str(spec),
            "--real",
            str(real),
            "--synthetic",
            str(syn),
            "--json",
            str(js),
            "-o",
            str(tmp_path / "r.html"),
            "--fail-on",
            "tstr_trtr_auroc<0.9",
        ]
    )
    assert code == 1  # a gate on a figure that cannot be measured fails
    data = json.loads(js.read_text())
    assert data["utility"] is None and data["figures"]["tstr_trtr_auroc"]["synthetic"] is None
    assert "utility not measured" in (tmp_path / "r.html").read_text()


def test_manifest_naming_only_the_examples_file(synthetic, tmp_path):
    syn = tmp_path / "syn.csv"
    syn.write_bytes(synthetic.read_bytes())
    examples = tmp_path / "examples.csv"
    lines = synthetic.read_text().splitlines()
    examples.write_text("\n".join(lines[:3]) + "\n")  # header + 2 rows that are in the synthetic table
    (tmp_path / "syn.csv.manifest.json").write_text(
        json.dumps({"examples": {"path": str(examples), "rows": 2}})
    )
    js = tmp_path / "r.json"
    args = ["eval", "--spec", str(SPEC), "--real", str(real_csv("cirrhosis")), "--synthetic", str(syn)]
    assert main([*args, "--json", str(js)]) == 0
    data = json.loads(js.read_text())
    # Without rows_used the whole examples file stands in for the prompt rows (an upper bound).
    assert data["figures"]["prompt_copy_rate"]["synthetic"] == pytest.approx(2 / 200)
    assert data["manifest"]["prompt_examples"] == "whole_file"
    assert data["manifest"]["spec_matches"] is None
