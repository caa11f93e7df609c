"""The Python API against the command line: same rows, same reports, exceptions for exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import SPECS, real_csv

import synspec
from synspec.cli import main


def test_readme_quick_start_rows_match_the_cli_byte_for_byte(tmp_path: Path) -> None:
    # README: synspec run specs/diabetes.synspec -n 100 -o out/diabetes.csv --force
    out = tmp_path / "diabetes.csv"
    assert main(["run", str(SPECS / "diabetes.synspec"), "-n", "100", "-o", str(out), "--force"]) == 0
    spec = synspec.Spec.load(SPECS / "diabetes.synspec")
    text = spec.generate(100, as_text=True)
    assert text.to_csv(index=False, lineterminator="\n").encode("utf-8") == out.read_bytes()
    typed = spec.generate(100)
    from_file = pd.read_csv(out, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(typed, spec.generate(100))
    assert spec.validate(from_file).ok == spec.validate(typed).ok
    assert typed["blood_glucose_level"].dtype == "Int64" and typed["diabetes"].dtype == "boolean"


def test_batches_are_the_rows_of_generate_and_of_generate_file(tmp_path: Path) -> None:
    spec = synspec.Spec.load(SPECS / "diabetes.synspec")
    batches = list(spec.generate_batches(50, seed=3, batch_size=16, as_text=True))
    assert sum(len(b) for b in batches) == 50 and all(0 < len(b) <= 16 for b in batches)
    whole = spec.generate(50, seed=3, batch_size=16, as_text=True)
    pd.testing.assert_frame_equal(pd.concat(batches), whole)
    summary = spec.generate_file(tmp_path / "d.csv", 50, seed=3, batch_size=16)
    assert summary.complete and summary.rows == 50
    assert whole.to_csv(index=False, lineterminator="\n") == (tmp_path / "d.csv").read_text()
    with pytest.raises(synspec.UserError, match="output exists"):
        spec.generate_file(tmp_path / "d.csv", 50)


def test_generate_errors_are_raised_before_the_first_batch() -> None:
    spec = synspec.Spec.load(SPECS / "diabetes.synspec")
    with pytest.raises(synspec.UserError, match="unknown style"):
        spec.generate_batches(5, style="nope")
    with pytest.raises(synspec.UserError, match="-n must be at least 1"):
        spec.generate(0)
    with pytest.raises(synspec.UserError, match="needs a spec read from a file"):
        synspec.Spec.from_text(spec.text).generate_file("x.csv", 5)


def test_spec_error_carries_the_diagnostics_of_check(tmp_path: Path) -> None:
    bad = tmp_path / "bad.synspec"
    bad.write_text("dataset d\ncolumn a: integer\n  range 5 to 1\ncolumn a: integer\n")
    with pytest.raises(synspec.SpecError) as caught:
        synspec.Spec.load(bad)
    codes = [d.code for d in caught.value.errors]
    assert len(codes) >= 2 and all(d.location.startswith(str(bad)) for d in caught.value.errors)
    assert main(["check", "--format", "json", str(bad)]) == 1
    with pytest.raises(synspec.SpecError, match="cannot read spec"):
        synspec.Spec.load(tmp_path / "missing.synspec")


def test_validate_a_file_and_its_frame_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = real_csv("cirrhosis")
    spec = synspec.Spec.load(SPECS / "cirrhosis.synspec")
    from_file = spec.validate(data, violations=tmp_path / "v.csv")
    args = ["validate", str(data), "--spec", str(SPECS / "cirrhosis.synspec"), "--format", "json"]
    assert main(args) in (0, 1)
    cli = json.loads(capsys.readouterr().out)
    assert from_file.to_dict()["checks"] == cli["checks"]
    frame = spec.validate(pd.read_csv(data))
    assert frame.counts.equals(from_file.counts)
    cases, by_file = frame.failure_cases(), from_file.failure_cases()
    assert list(cases["row"] + 1) == list(by_file["row"])  # index labels vs data rows from 1
    written = pd.read_csv(tmp_path / "v.csv", dtype=str, keep_default_na=False)
    assert list(written["check"]) == list(by_file["check"])


def test_validate_refuses_a_frame_with_other_columns() -> None:
    spec = synspec.Spec.load(SPECS / "diabetes.synspec")
    with pytest.raises(synspec.UserError, match="lacks column"):
        spec.validate(pd.DataFrame({"age": [1]}))


def test_infer_from_a_path_is_what_the_cli_writes(tmp_path: Path) -> None:
    data = real_csv("cirrhosis")
    out = tmp_path / "c.synspec"
    assert main(["infer", str(data), "-o", str(out), "--target", "Status", "--key", "ID"]) == 0
    assert synspec.infer(data, target="Status", keys=["ID"]) == out.read_text()


def test_format_spec_and_compile_match_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = synspec.Spec.load(SPECS / "cirrhosis.synspec")
    assert synspec.format_spec(spec.text) == spec.text  # the specs are kept formatted
    assert main(["compile", str(SPECS / "cirrhosis.synspec"), "-o", str(tmp_path)]) == 0
    for name, text in spec.compile().items():
        assert (tmp_path / name).read_text() == text, name


def test_evaluate_paths_like_the_cli(tmp_path: Path) -> None:
    spec_path = SPECS / "diabetes.synspec"
    spec = synspec.Spec.load(spec_path)
    spec.generate_file(tmp_path / "real.csv", 120, seed=1)
    spec.generate_file(tmp_path / "syn.csv", 120, seed=2)
    result = synspec.evaluate(spec, real=tmp_path / "real.csv", synthetic=tmp_path / "syn.csv",
                              fail_on=["exact_copy_rate>0.9"])
    assert main(["eval", "--spec", str(spec_path), "--real", str(tmp_path / "real.csv"), "--synthetic",
                 str(tmp_path / "syn.csv"), "--json", str(tmp_path / "r.json")]) == 0
    ours, cli = json.loads(result.to_json()), json.loads((tmp_path / "r.json").read_text())
    assert ours["figures"] == cli["figures"] and not result.failed
    html = result.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == html
