"""The target and prompt-style registries: the CLI and docs/cli.md read them, nothing else lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from synspec.cli import main
from synspec.passes import check_file
from synspec.targets import prompt
from synspec.targets.registry import (
    PROMPT_STYLES,
    STYLES,
    TARGETS,
    Compilation,
    prompt_file,
    styles_table,
    targets_table,
)
from tests.conftest import ROOT, SPECS


def test_docs_show_the_registries_verbatim() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert targets_table() in text, "docs/cli.md: paste synspec.targets.registry.targets_table()"
    assert styles_table() in text, "docs/cli.md: paste synspec.targets.registry.styles_table()"


def test_one_list_of_styles() -> None:
    assert STYLES == prompt.STYLES == tuple(PROMPT_STYLES)
    assert [s.name for s in PROMPT_STYLES.values() if s.needs_examples] == ["seed_ex"]


def test_compile_writes_what_the_targets_declare(tmp_path: Path) -> None:
    spec = check_file(SPECS / "stroke.synspec").spec
    expected = {name for t in TARGETS.values() for name in t.artifacts(Compilation(spec))}
    assert expected == {prompt_file(s) for s in STYLES if s != "seed_ex"} | {
        "row.lark", "row.gbnf", "ir.json", "enforcement.json", "enforcement.md",
        "checks.duckdb.sql", "checks.spark.sql", "checks.postgres.sql"}
    assert main(["compile", str(SPECS / "stroke.synspec"), "-o", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == expected


@pytest.mark.parametrize("target", list(TARGETS))
def test_every_target_emits_its_first_artifact(target: str, capsys) -> None:
    args = ["compile", str(SPECS / "diabetes.synspec"), "--emit", target]
    assert main(args + (["--style", "clin_rule"] if target == "prompt" else [])) == 0
    artifacts = TARGETS[target].artifacts(Compilation(check_file(SPECS / "diabetes.synspec").spec))
    expected = artifacts["prompt.clin_rule.txt"] if target == "prompt" else next(iter(artifacts.values()))
    assert capsys.readouterr().out == expected()


def test_unknown_target_or_style_is_a_usage_error(capsys) -> None:
    spec = str(SPECS / "diabetes.synspec")
    assert main(["compile", spec, "--emit", "gbnf"]) == 2
    assert main(["compile", spec, "--emit", "prompt", "--style", "fewshot"]) == 2
    err = capsys.readouterr().err
    assert "grammar" in err and "clin_rule" in err
