"""`synspec infer DATA --update SPEC`: only the numbers of the statistics change.

The real specs are refreshed from a bootstrap resample of their real file (so most numbers
move): the text with every number masked must be byte-identical, the result must check
clean, and a refresh on the very file the spec was measured on must change (almost) nothing.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from synspec.cli import main
from synspec.infer.read import RawTable, read_csv_text
from synspec.infer.update import update_text
from synspec.passes import check_text
from tests.conftest import SPECS, real_csv

# A number token outside a word (names like HbA1c_level keep their digits), with its `%`.
_NUMBER = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?%?(?![\w])")


def masked(text: str) -> str:
    return _NUMBER.sub("#", text)


def resample(table: RawTable, seed: int) -> RawTable:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, table.n_rows, table.n_rows)
    columns = tuple(tuple(col[i] for i in picks) for col in table.columns)
    return RawTable(table.path, table.header, columns)


@pytest.mark.parametrize("name", ["diabetes", "cirrhosis", "stroke"])
def test_refresh_changes_only_numbers_and_checks_clean(name: str) -> None:
    table = resample(read_csv_text(real_csv(name)), seed=7)
    old = (SPECS / f"{name}.synspec").read_text()
    result = update_text(old, table, path=f"specs/{name}.synspec")
    assert result.n_numbers > 10  # a resample moves most statistics
    assert result.text != old
    assert masked(result.text) == masked(old)
    checked = check_text(result.text, f"{name}.synspec")
    assert not checked.errors, [d.message for d in checked.errors]
    assert not result.added and not result.removed
    from synspec.fmt import format_text

    assert format_text(result.text).text == result.text  # still in `synspec fmt`'s layout


@pytest.mark.parametrize("name", ["diabetes", "stroke"])
def test_refresh_on_the_measured_file_changes_nothing(name: str) -> None:
    old = (SPECS / f"{name}.synspec").read_text()
    result = update_text(old, read_csv_text(real_csv(name)))
    assert result.text == old


def test_refresh_is_idempotent() -> None:
    table = resample(read_csv_text(real_csv("cirrhosis")), seed=3)
    once = update_text((SPECS / "cirrhosis.synspec").read_text(), table).text
    assert update_text(once, table).text == once


SMALL = """\
# A hand-written header comment.
dataset small
  description "Two columns."
  rows 4

# The first column.
column a: integer
  description "A count."  # trailing comment
  range 0 to 100
  mean 2
  sd 1
  quantiles 50% 2

column b: categorical
  levels x, y
  missing 0.25 as "NA"
  frequencies x 0.5, y 0.5

rule a_positive: a >= 0
  message "never negative"
"""


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> RawTable:
    return RawTable(Path("t.csv"), header, tuple(tuple(r[i] for r in rows) for i in range(len(header))))


def test_small_spec_numbers_and_nothing_else() -> None:
    rows = [("1", "x"), ("2", "x"), ("3", "y"), ("10", "x"), ("4", "NA"), ("6", "y")]
    result = update_text(SMALL, _table(("a", "b"), rows))
    expected = (SMALL.replace("rows 4", "rows 6").replace("mean 2", "mean 4.333")
                .replace("sd 1", "sd 3.266").replace("quantiles 50% 2", "quantiles 50% 3.5")
                .replace("missing 0.25", "missing 0.1667").replace("x 0.5, y 0.5", "x 0.6, y 0.4"))
    assert result.text == expected
    assert masked(result.text) == masked(SMALL)


def test_new_column_is_drafted_in_file_order_and_removed_one_is_reported() -> None:
    rows = [("1", "7.5"), ("2", "8.25"), ("3", "9"), ("4", "7"), ("5", "8"), ("6", "9.5")]
    result = update_text(SMALL, _table(("a", "c"), rows))
    assert result.added == ["c"]
    assert result.removed == ["b"]
    text = result.text
    assert text.index("column a:") < text.index("column c: decimal(2)") < text.index("column b:")
    assert 'description "TODO: describe c"' in text
    assert "column b: categorical" in text  # kept, not deleted
    # A comment at the end of the column before stays on its line.
    trailing = update_text(SMALL.replace("quantiles 50% 2", "quantiles 50% 2  # median"),
                           _table(("a", "c"), rows)).text
    assert "quantiles 50% 3.5  # median\n\n# TODO: a column new in the data" in trailing
    checked = check_text(text)
    assert not checked.errors, [d.message for d in checked.errors]


def test_statistics_given_a_level_keep_the_k_rule() -> None:
    given = "  quantiles given b == y: 50% 3\n  quantiles given b == x: 50% 2\n"
    spec = SMALL.replace("  quantiles 50% 2\n", "  quantiles 50% 2\n" + given)
    rows = [("1", "x"), ("2", "x"), ("3", "y"), ("10", "x"), ("4", "NA"), ("6", "y")]
    result = update_text(spec, _table(("a", "b"), rows), min_count=5)
    # Two rows hold b == y, three b == x: fewer than 5, so the lines stay as written, with a note.
    assert "quantiles given b == y: 50% 3\n" in result.text
    assert "quantiles given b == x: 50% 2\n" in result.text
    assert sum("fewer than 5 rows" in note for note in result.notes) == 2
    assert "quantiles given b == y: 50% 4.5" in update_text(spec, _table(("a", "b"), rows), min_count=1).text


def test_what_numbers_cannot_fix_is_noted() -> None:
    rows = [("", "x"), ("2", "z"), ("3", "y"), ("4", "x")]
    result = update_text(SMALL, _table(("a", "b"), rows))
    notes = " ".join(result.notes)
    assert "`a` has 1 missing cell but declares no `missing` line" in notes
    assert "1 cell of `b` hold a level the spec does not list" in notes


def test_spec_with_errors_is_refused() -> None:
    from synspec.errors import UserError

    with pytest.raises(UserError, match="checks clean"):
        update_text(SMALL.replace("mean 2", "mean 200"), _table(("a", "b"), [("1", "x")]))


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_cli_update_in_place_check_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "small.synspec"
    spec.write_text(SMALL)
    data = _write_csv(tmp_path / "d.csv", ("a", "b"), [("1", "x"), ("2", "y"), ("5", "NA"), ("4", "x")])
    assert main(["infer", str(data), "--update", str(spec), "--check"]) == 1
    out = capsys.readouterr().out
    assert "would change" in out
    assert spec.read_text() == SMALL  # --check writes nothing
    assert main(["infer", str(data), "--update", str(spec)]) == 0
    assert "mean 3" in spec.read_text()
    assert main(["infer", str(data), "--update", str(spec), "--check"]) == 0  # now up to date
    out_path = tmp_path / "copy.synspec"
    assert main(["infer", str(data), "--update", str(spec), "-o", str(out_path)]) == 0
    assert out_path.read_text() == spec.read_text()
    assert main(["infer", str(data), "--update", str(spec), "-o", str(out_path)]) == 2  # exists: --force
    assert main(["infer", str(data), "--check"]) == 2
    assert main(["infer", str(data), "--update", str(spec), "--target", "a"]) == 2
    assert main(["infer", str(data)]) == 2
    assert main(["infer", str(data), "--update", str(tmp_path / "nope.synspec")]) == 2
    err = capsys.readouterr().err
    assert "spec file not found" in err and "Traceback" not in err
