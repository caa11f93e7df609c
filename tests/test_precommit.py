"""The pre-commit hooks (`.pre-commit-hooks.yaml`), run by pre-commit itself on a temporary repository.

pre-commit installs this checkout into a hook environment the way it would for a user (a
virtualenv and `pip install .`); offline, the environment sees the packages already installed
(`VIRTUALENV_SYSTEM_SITE_PACKAGES`) and pip reads no index, so the test needs no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

MESSY = "dataset d\ncolumn x: integer\n     mean 2   # kept\n"
BROKEN = "dataset d\ncolumn x: integer\nrule r: y > 1\n"


def test_hooks_manifest_names_both_hooks() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for hook in ("id: synspec-fmt", "entry: synspec fmt", "id: synspec-check", "entry: synspec check"):
        assert hook in text
    assert text.count(r"files: \.synspec$") == 2


@pytest.mark.slow
def test_pre_commit_runs_fmt_and_check(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit; .ci/setup installs it)")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "VIRTUALENV_SYSTEM_SITE_PACKAGES": "1",
           "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
           "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True, timeout=600)

    run("git", "init", "-q")
    (repo / "messy.synspec").write_text(MESSY)
    (repo / "broken.synspec").write_text(BROKEN)
    (repo / "notes.txt").write_text("not a spec\n")
    run("git", "add", ".")
    # Every hook of the manifest, from this working tree, as a user's config would run them.
    done = run("pre-commit", "try-repo", str(ROOT), "--all-files")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "synspec fmt" in out and "files were modified by this hook" in out
    assert "synspec check" in out and "S201" in out and "unknown column `y`" in out
    assert "notes.txt" not in out  # only .synspec files are handed to the hooks
    assert (repo / "messy.synspec").read_text() == "dataset d\n\ncolumn x: integer\n  mean 2  # kept\n"
    assert (repo / "notes.txt").read_text() == "not a spec\n"
    # Fixed, the same hooks pass.
    (repo / "broken.synspec").write_text("dataset d\n\ncolumn y: integer\n\nrule r: y > 1\n")
    done = run("pre-commit", "try-repo", str(ROOT), "--all-files")
    assert done.returncode == 0, done.stdout + done.stderr
