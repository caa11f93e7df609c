"""`synspec compile` end to end: artifacts, golden grammars and reports, --emit, errors."""

from __future__ import annotations

import json
import os
import stat

import pytest

from synspec.cli import main
from tests.conftest import SPECS, real_csv
from tests.test_prompt import GOLDEN, check_golden

NAMES = ["diabetes", "stroke", "cirrhosis"]


def _spec_path(name: str):
    return SPECS / f"{name}.synspec"


@pytest.mark.parametrize("name", NAMES)
def test_compile_writes_every_artifact(name: str, tmp_path) -> None:
    out = tmp_path / "out"
    assert main(["compile", str(_spec_path(name)), "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checks.duckdb.sql", "checks.postgres.sql", "checks.spark.sql", "enforcement.json",
                     "enforcement.md", "ir.json", "prompt.clin_rule.txt", "prompt.featdesc.txt",
                     "prompt.statguide.txt", "row.gbnf", "row.lark"]
    report = json.loads((out / "enforcement.json").read_text())
    assert report["hard_rules"] == report["hard_rules_enforced_by_grammar"]  # none is arithmetic
    assert json.loads((out / "ir.json").read_text())["name"] == name
    for artifact in ("row.lark", "row.gbnf", "enforcement.json", "enforcement.md"):
        check_golden(GOLDEN / name / artifact, (out / artifact).read_text(encoding="utf-8"))
    assert (out / "prompt.clin_rule.txt").read_text() == (GOLDEN / name / "prompt.clin_rule.txt").read_text()


def test_existing_outputs_need_force(tmp_path, capsys) -> None:
    spec = str(_spec_path("diabetes"))
    assert main(["compile", spec, "-o", str(tmp_path)]) == 0
    assert main(["compile", spec, "-o", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["compile", spec, "-o", str(tmp_path), "--force"]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_artifacts_are_ordinary_files_under_the_umask(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        assert main(["compile", str(_spec_path("diabetes")), "-o", str(tmp_path)]) == 0
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o644}


@pytest.mark.parametrize("emit,needle", [("grammar", "start:"), ("ir", '"columns"'),
                                         ("enforcement", '"hard_rules"')])
def test_emit_prints_one_artifact(emit: str, needle: str, capsys) -> None:
    assert main(["compile", str(_spec_path("diabetes")), "--emit", emit]) == 0
    assert needle in capsys.readouterr().out


def test_emit_prompt_and_seed_ex_warns(capsys) -> None:
    spec = str(_spec_path("stroke"))
    assert main(["compile", spec, "--emit", "prompt", "--style", "featdesc"]) == 0
    assert "Row format" in capsys.readouterr().out
    csv = str(real_csv("stroke"))
    assert main(["compile", spec, "--emit", "prompt", "--style", "seed_ex", "--examples", csv,
                 "--n-examples", "3"]) == 0
    captured = capsys.readouterr()
    assert "Example rows (3)" in captured.out and "real rows" in captured.err


def test_seed_ex_choice_is_seeded(capsys) -> None:
    spec, csv = str(_spec_path("stroke")), str(real_csv("stroke"))
    outs = []
    for seed in ("1", "1", "2"):
        main(["compile", spec, "--emit", "prompt", "--style", "seed_ex", "--examples", csv, "--seed", seed])
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] != outs[2]


@pytest.mark.parametrize("argv,message", [
    (["--emit", "prompt"], "--style"),
    (["--emit", "prompt", "--style", "seed_ex"], "--examples"),
    ([], "exactly one"),
    (["--emit", "prompt", "--style", "seed_ex", "--examples", "nope.csv"], "not found"),
])
def test_usage_errors_exit_2(argv: list[str], message: str, capsys) -> None:
    assert main(["compile", str(_spec_path("diabetes")), *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_spec_and_bad_spec(tmp_path, capsys) -> None:
    assert main(["compile", str(tmp_path / "none.synspec"), "--emit", "grammar"]) == 2
    bad = tmp_path / "bad.synspec"
    bad.write_text("dataset x\ncolumn a: integer\n  range 5 to 1\nrule r: b > 1\n")
    assert main(["compile", str(bad), "--emit", "grammar"]) == 1
    assert "error" in capsys.readouterr().err


def test_emit_grammar_in_each_dialect(capsys) -> None:
    spec = str(_spec_path("stroke"))
    for dialect, first_rule in ((None, "start: "), ("lark", "start: "), ("gbnf", "root ::= ")):
        extra = [] if dialect is None else ["--dialect", dialect]
        assert main(["compile", spec, "--emit", "grammar", *extra]) == 0
        assert capsys.readouterr().out.splitlines()[2].startswith(first_rule)


@pytest.mark.parametrize(("args", "message"), [
    (["--emit", "grammar", "--dialect", "sql"], "unknown dialect 'sql' for --emit grammar"),
    (["--emit", "ir", "--dialect", "gbnf"], "--emit ir has no dialects"),
    (["-o", "OUT", "--dialect", "gbnf"], "--dialect goes with --emit"),
])
def test_bad_dialects_are_usage_errors(args: list[str], message: str, tmp_path, capsys) -> None:
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    assert main(["compile", str(_spec_path("stroke")), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
