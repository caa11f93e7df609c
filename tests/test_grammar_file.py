"""The grammar is found from a checkout and from an installed wheel (grammar_file.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from synspec.grammar_file import grammar_path, grammar_text

ROOT = Path(__file__).resolve().parent.parent


def test_checkout_finds_the_repository_grammar() -> None:
    assert grammar_path() == ROOT / "grammar" / "synspec.lark"
    assert grammar_text() == (ROOT / "grammar" / "synspec.lark").read_text(encoding="utf-8")


@pytest.mark.slow
def test_wheel_carries_the_grammar(tmp_path: Path) -> None:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling (the build backend in pyproject.toml) is not installed")
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("synspec-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "synspec/_grammar/synspec.lark" in archive.namelist()
        archive.extractall(unpacked)
    # Only the unpacked wheel on sys.path (-I: no user site, no current directory, no PYTHONPATH);
    # the dependencies come from the interpreter's own site-packages, which holds no grammar.
    probe = (
        "import sys; sys.path = [p for p in sys.path if 'site-packages' in p or 'lib/python' in p]; "
        f"sys.path.insert(0, {str(unpacked)!r}); "
        "import synspec, synspec.grammar_file as g; "
        f"assert synspec.__file__.startswith({str(unpacked)!r}), synspec.__file__; "
        "print(g.grammar_path()); "
        "from synspec.passes import check_text; "
        "assert check_text('dataset d\\ncolumn x: integer\\n').spec is not None"
    )
    run = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()) == unpacked / "synspec" / "_grammar" / "synspec.lark"


def test_missing_grammar_is_a_clear_error(monkeypatch, tmp_path: Path) -> None:
    import synspec.grammar_file as g

    monkeypatch.setattr(g, "_CANDIDATES", (tmp_path / "a.lark", tmp_path / "b.lark"))
    with pytest.raises(FileNotFoundError, match="reinstall synspec"):
        g.grammar_path()
