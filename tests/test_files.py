"""Checks on user-named files: inputs that must exist, outputs that may be written."""

from __future__ import annotations

from pathlib import Path

import pytest

from synspec.errors import UserError
from synspec.files import require_file, require_output


def test_require_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    with pytest.raises(UserError, match="data file not found") as info:
        require_file(path, "data file")
    assert info.value.where == str(path) and info.value.hint
    with pytest.raises(UserError, match="spec file is not a file"):
        require_file(tmp_path, "spec file", "pass a .synspec file")
    path.write_text("a\n")
    assert require_file(path, "data file") == path


def test_require_output(tmp_path: Path) -> None:
    data, out = tmp_path / "d.csv", tmp_path / "o.csv"
    data.write_text("a\n")
    assert require_output(out, "report", force=False, flag="-o", inputs=(data,)) == out
    out.write_text("old\n")
    with pytest.raises(UserError, match="report already exists") as info:
        require_output(out, "report", force=False, flag="-o")
    assert "--force" in (info.value.hint or "")
    assert require_output(out, "report", force=True, flag="-o", inputs=(data,)) == out
    # Even --force never overwrites an input (here through another spelling of its path).
    with pytest.raises(UserError, match="would overwrite the input file"):
        require_output(tmp_path / "." / "d.csv", "report", force=True, flag="-o", inputs=(data,))
    with pytest.raises(UserError, match="folder of the report does not exist"):
        require_output(tmp_path / "missing" / "o.csv", "report", force=False, flag="-o")
