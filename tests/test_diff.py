"""`synspec diff`: the semantic diff, its golden files over this repository's spec history,
the git diff driver (textconv and external command) in a temporary repository, and its errors.

Golden files: `tests/golden/diff/OLD..NEW.SPEC.txt`, one per consecutive pair of commits that
changed `specs/*.synspec` (and per spec present in both). Regenerate with
`SYNSPEC_UPDATE_GOLDEN=1 python -m pytest tests/test_diff.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synspec.cli import main
from synspec.diff import diff_texts, render_text, textconv
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "diff"
UPDATE = os.environ.get("SYNSPEC_UPDATE_GOLDEN") == "1"


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def _history() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("no git history")
    commits = _git("log", "--reverse", "--format=%h", "--abbrev=7", "--", "specs/").split()
    if len(commits) < 2:
        pytest.skip("shallow clone: no spec history")
    return commits


def _pairs() -> list[tuple[str, str, str]]:
    out = []
    commits = _history()
    for old, new in zip(commits, commits[1:], strict=False):
        for spec in ("diabetes", "cirrhosis", "stroke"):
            present = [subprocess.run(["git", "cat-file", "-e", f"{c}:specs/{spec}.synspec"], cwd=ROOT,
                                      capture_output=True).returncode == 0 for c in (old, new)]
            if all(present):
                out.append((old, new, spec))
    return out


def test_every_consecutive_spec_change_matches_its_golden(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    pairs = _pairs()
    assert pairs
    for old, new, spec in pairs:
        code = main(["diff", f"{old}:specs/{spec}.synspec", f"{new}:specs/{spec}.synspec"])
        out = capsys.readouterr().out
        path = GOLDEN / f"{old}..{new}.{spec}.txt"
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(out, encoding="utf-8")
        assert path.exists(), f"no golden diff for {old}..{new} {spec}: SYNSPEC_UPDATE_GOLDEN=1, then review"
        assert out == path.read_text(encoding="utf-8"), f"{path} differs (SYNSPEC_UPDATE_GOLDEN=1 to accept)"
        assert code == (0 if out.endswith("no semantic change\n") else 1)


def test_json_golden(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON form of one pair of the history (columns, constraints and a range dropped)."""
    monkeypatch.chdir(ROOT)
    pairs = [p for p in _pairs() if p[2] == "cirrhosis"]
    old, new, _ = pairs[0]
    assert main(["diff", f"{old}:specs/cirrhosis.synspec", f"{new}:specs/cirrhosis.synspec",
                 "--format", "json"]) == 1
    out = capsys.readouterr().out
    path = GOLDEN / "json" / f"{old}..{new}.cirrhosis.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8"), f"{path} differs (SYNSPEC_UPDATE_GOLDEN=1 to accept)"


def test_golden_pairs_cover_the_history() -> None:
    pairs = {f"{old}..{new}.{spec}.txt" for old, new, spec in _pairs()}
    stored = {p.name for p in GOLDEN.glob("*.txt")}
    assert pairs <= stored


# ---- units -------------------------------------------------------------------------------
OLD = """\
dataset d
  rows 100

column age: integer
  description "Age in years."
  range 0 to 90
  mean 40
  sd 10
  quantiles 25% 30, 50% 40, 75% 50

column sex: categorical
  description "Sex."
  levels F, M
  frequencies F 0.5, M 0.5

column smoker: boolean Y/N
  description "Smokes."
  frequencies Y 0.2, N 0.8

correlation age, smoker: 0.1

rule adult: age >= 18
  message "adults only"

expect old_smoke: age > 80 -> not smoker
  mostly 0.9
"""


def _new() -> str:
    return (OLD.replace("rows 100", "rows 120")
            .replace("column sex: categorical", "column gender: categorical")
            .replace("levels F, M", "levels F, M, X").replace("F 0.5, M 0.5", "F 0.48, M 0.5, X 0.02")
            .replace("mean 40", "mean 45").replace("sd 10", "sd 12").replace("50% 40", "50% 41")
            .replace("correlation age, smoker: 0.1", "correlation age, smoker: 0.15")
            .replace("rule adult: age >= 18", "rule adult: age >= 21")
            .replace("expect old_smoke", "rule old_smoke").replace("  mostly 0.9\n", "")
            + "\ncolumn bmi: decimal(1)\n  range 10 to 60\n")


def test_changes_are_grouped_and_sized() -> None:
    report = diff_texts(OLD, _new().replace("column bmi: decimal(1)\n  range 10 to 60\n", ""))
    text = render_text(report)
    got = {(c.section, c.subject, c.what): c for c in report.changes}
    assert got[("columns", "gender", "renamed")].old == "sex"
    assert got[("constraints", "gender", "levels")].note == "added X"
    mean = got[("statistics", "age", "mean")]
    assert (mean.old, mean.new, mean.move, mean.unit) == ("40", "45", 0.5, "sd")
    assert got[("statistics", "age", "sd")].move == pytest.approx(20.0)
    assert got[("statistics", "age", "quantile 50%")].move == pytest.approx(0.1)
    share = got[("statistics", "gender", "frequency of F")]
    assert (share.move, share.unit) == (pytest.approx(-2.0), "pts")
    assert got[("statistics", "gender", "frequency of X")].new == "0.02"
    assert got[("correlations", "age, smoker", "correlation")].move == pytest.approx(0.05)
    assert got[("rules", "adult", "expression")].new == "age >= 21"
    assert got[("rules", "old_smoke", "severity")].new == "hard"
    assert got[("grammar", "old_smoke", "new hard rule")].new == "enforced by the grammar"
    sections = [c.section for c in report.changes]
    order = ["dataset", "columns", "constraints", "statistics", "correlations", "rules", "grammar"]
    assert sections == sorted(sections, key=order.index)
    assert "mean: 40 -> 45 (+0.50 sd)" in text
    assert "frequency of F: 0.5 -> 0.48 (-2.00 pts)" in text


def test_added_and_removed_columns_and_equal_texts() -> None:
    report = diff_texts(OLD, OLD.replace("column smoker", "column smokes") + "\ncolumn bmi: decimal(1)\n")
    whats = {(c.subject, c.what) for c in report.changes if c.section == "columns"}
    assert ("bmi", "added") in whats
    # Same description and type: a rename, not a removal and an addition.
    assert ("smokes", "renamed") in whats
    commented = "# a comment\n" + OLD.replace("rows 100", "rows 100  # trailing").replace("\n\n", "\n\n\n")
    assert diff_texts(OLD, commented).equal


def test_cli_files_json_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tmp_path / "old.synspec", tmp_path / "new.synspec"
    old.write_text(OLD)
    new.write_text(_new())
    assert main(["diff", str(old), str(new), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["equal"] is False and data["old"] == str(old)
    assert {"section", "subject", "what", "old", "new", "move", "unit", "old_line", "new_line", "note"} \
        <= set(data["changes"][0])
    assert main(["diff", str(old), str(old)]) == 0
    assert "no semantic change" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["missing.synspec", "other.synspec"], "spec file not found"),
    (["one.synspec"], "diff compares two versions"),
    (["nosuchrev:specs/diabetes.synspec", "one.synspec"], "cannot read nosuchrev:specs/diabetes.synspec"),
    (["HEAD:specs/nope.synspec", "one.synspec"], "cannot read HEAD:specs/nope.synspec"),
    (["HEAD:specs", "one.synspec"], "HEAD:specs is a folder"),
    (["broken.synspec", "one.synspec"], "has a syntax error"),
    (["--textconv", "one.synspec", "one.synspec"], "--textconv takes one file"),
])
def test_user_errors_exit_2_with_location_and_hint(args: list[str], message: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "one.synspec").write_text(OLD)
    (tmp_path / "broken.synspec").write_text("dataset d\ncolumn x: integr\n")
    monkeypatch.chdir(ROOT if any(":" in a for a in args) else tmp_path)  # REV:path reads this repository
    args = [str(tmp_path / a) if a.endswith(".synspec") and ":" not in a else a for a in args]
    assert main(["diff", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "--> " in err and "= help:" in err and "Traceback" not in err


def test_not_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    (tmp_path / "one.synspec").write_text(OLD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["diff", "HEAD:one.synspec", "one.synspec"]) == 2
    assert "not in a git repository" in capsys.readouterr().err


def test_a_version_that_does_not_check_is_still_diffed() -> None:
    broken = OLD.replace("rule adult: age >= 18", "rule adult: agee >= 18")
    report = diff_texts(OLD, broken)
    assert [(c.subject, c.what) for c in report.changes] == [("adult", "expression")]
    assert report.notes and "does not check clean" in report.notes[0]


def test_git_external_protocol_new_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "new.synspec"
    new.write_text(OLD)
    assert main(["diff", "--git", "d.synspec", "/dev/null", ".", ".", str(new), "abc", "100644"]) == 0
    assert "d.synspec: new spec" in capsys.readouterr().out
    assert main(["diff", "--git", "d.synspec", str(new), ".", ".", str(new), "abc", "100644"]) == 0
    assert capsys.readouterr().out == ""


def test_textconv_is_one_fact_per_line() -> None:
    facts = textconv(OLD, "old").splitlines()
    assert "column age: mean = 40" in facts
    assert "column age: quantiles 25% = 30" in facts
    assert "column sex: frequencies F = 0.5" in facts
    assert "rule adult: age >= 18" in facts


# ---- the git driver, in a temporary repository -----------------------------------------------
def _wrapper(tmp_path: Path) -> Path:
    """A `synspec` on PATH for git: this checkout's package, whatever is installed."""
    script = tmp_path / "bin" / "synspec"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m synspec \"$@\"\n")
    script.chmod(0o755)
    return script


def test_git_diff_driver_textconv_and_command(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    synspec = _wrapper(tmp_path)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "GIT_PAGER": "cat", "PAGER": "cat"}

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                              check=True).stdout

    git("init", "-q")
    # The setup docs/cli.md documents ("A git diff driver").
    (repo / ".gitattributes").write_text("*.synspec diff=synspec\n")
    git("config", "diff.synspec.textconv", f"{synspec} diff --textconv")
    spec = repo / "d.synspec"
    spec.write_text(OLD)
    git("add", ".")
    git("commit", "-qm", "first")
    spec.write_text(OLD.replace("mean 40", "mean 45").replace("# ", "#"))
    git("commit", "-qam", "second")
    log = git("log", "-p", "-1")
    assert "-column age: mean = 40" in log and "+column age: mean = 45" in log
    # The external command shows the whole semantic diff in `git diff`.
    git("config", "diff.synspec.command", f"{synspec} diff --git")
    out = git("diff", "HEAD~1", "HEAD")
    assert "mean: 40 -> 45 (+0.50 sd)" in out
    assert "+0.50 sd" in git("log", "-p", "--ext-diff", "-1")
