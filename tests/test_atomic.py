"""The one atomic-write helper: content, file mode, symlinks, and nothing left behind on error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from synspec import atomic
from synspec.errors import UserError


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_umask_default_mode(tmp_path: Path, umask_022) -> None:
    target = tmp_path / "a.txt"
    atomic.write_text(target, "x\n")
    assert mode(target) == 0o644
    os.umask(0o077)
    atomic.write_text(tmp_path / "b.txt", "y\n")
    assert mode(tmp_path / "b.txt") == 0o600


def test_existing_file_keeps_its_mode(tmp_path: Path, umask_022) -> None:
    target = tmp_path / "private.synspec"
    target.write_text("old\n")
    target.chmod(0o640)
    atomic.write_text(target, "new\n")
    assert target.read_text() == "new\n" and mode(target) == 0o640


def test_text_is_written_exactly_and_bytes_too(tmp_path: Path) -> None:
    text = "é,\r\nline\nlast"  # no newline translation, UTF-8
    atomic.write_text(tmp_path / "t.csv", text)
    assert (tmp_path / "t.csv").read_bytes() == text.encode("utf-8")
    atomic.write_bytes(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "t.csv"]


def test_error_inside_the_block_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic.AtomicWriter(target) as out:
        out.write("half of a new fi")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_discard_and_commit_are_explicit_for_streaming_writers(tmp_path: Path) -> None:
    target = tmp_path / "v.csv"
    writer = atomic.AtomicWriter(target)
    writer.write("row\n")
    assert not target.exists()  # nothing visible until commit
    writer.commit()
    writer.discard()  # after commit: a no-op, the file stays
    assert target.read_text() == "row\n"
    with pytest.raises(ValueError, match="already committed"):
        writer.write("more")
    other = atomic.AtomicWriter(tmp_path / "w.csv")
    other.write("row\n")
    other.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.csv"]


def test_a_symlink_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.synspec"
    real.write_text("old\n")
    link = tmp_path / "link.synspec"
    link.symlink_to(real)
    atomic.write_text(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_unwritable_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot write") as info:
        atomic.write_text(tmp_path / "no" / "such" / "dir.txt", "x")
    assert info.value.where == str(tmp_path / "no" / "such" / "dir.txt")
