"""synspec.data: reading tables as written, header checks, typing, chunking, Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synspec import data
from synspec.errors import UserError
from synspec.passes import check_file

SMALL = """\
dataset small
  rows 10

column id: integer
  range 1 to 1000000

column score: decimal(1)
  range 0 to 100
  missing 0.1 as "NA"

column dose: integer
  range 0 to 50
  missing 0.1 as ""

column grade: categorical
  levels low, mid, high
  missing 0.1 as "N/A"

column flag: boolean Y/N
  missing 0.1 as "NA"

column sick: boolean 1/0

rule high_score_sick: score > 90 -> sick
rule flag_needs_dose: flag -> dose is not missing and dose >= 1
expect grade_high_score: grade == high -> score >= 50
  mostly 0.9
"""
HEADER = "id,score,dose,grade,flag,sick"


@pytest.fixture
def spec(tmp_path: Path):
    path = tmp_path / "small.synspec"
    path.write_text(SMALL, encoding="utf-8")
    result = check_file(path)
    assert result.spec is not None, [d.render() for d in result.diagnostics]
    return result.spec


def write(tmp_path: Path, text: str, name: str = "t.csv", bom: bool = False, crlf: bool = False) -> Path:
    if crlf:
        text = text.replace("\n", "\r\n")
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


ROWS = f"{HEADER}\n1,12.5,3,low,Y,0\n2,NA,,N/A,NA,1\n3,7,10,\"high\",N,1\n"


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("final_newline", [False, True])
def test_read_raw_keeps_text_exactly(tmp_path, spec, bom, crlf, final_newline):
    text = ROWS if final_newline else ROWS.rstrip("\n")
    raw = data.read_raw(write(tmp_path, text, bom=bom, crlf=crlf), spec)
    assert list(raw.columns) == list(spec.column_names)
    assert raw.values.tolist() == [["1", "12.5", "3", "low", "Y", "0"],
                                   ["2", "NA", "", "N/A", "NA", "1"],
                                   ["3", "7", "10", "high", "N", "1"]]


def test_to_typed_frame_and_masks(tmp_path, spec):
    typed = data.to_typed(data.read_raw(write(tmp_path, ROWS), spec), spec)
    frame = typed.frame
    assert frame["score"].tolist()[0] == 12.5 and np.isnan(frame["score"].iloc[1])
    assert frame["grade"].tolist() == ["low", None, "high"]
    assert frame["flag"].iloc[0] == 1.0 and frame["flag"].iloc[2] == 0.0 and np.isnan(frame["flag"].iloc[1])
    assert typed.missing["score"].tolist() == [False, True, False]
    assert typed.missing["dose"].tolist() == [False, True, False]
    assert typed.missing["grade"].tolist() == [False, True, False]
    assert not any(mask.any() for mask in typed.bad.values())


@pytest.mark.parametrize("column,cell,bad", [
    ("id", "1.5", True), ("id", "1e5", True), ("id", " 7", True), ("id", "-3", False),
    ("score", "12.25", True), ("score", "12", False), ("score", "12.", False), ("score", "inf", True),
    ("score", "nan", True), ("score", "x", True), ("flag", "yes", True), ("flag", "N", False),
    ("sick", "2", True), ("grade", "unknown", False),  # undeclared levels are a level failure, not bad
])
def test_bad_cells(tmp_path, spec, column, cell, bad):
    row = {"id": "1", "score": "1.0", "dose": "1", "grade": "low", "flag": "Y", "sick": "1"}
    row[column] = cell
    raw = pd.DataFrame([row], dtype=object)
    typed = data.to_typed(raw, spec)
    assert bool(typed.bad[column][0]) is bad
    if column == "score" and cell == "12.25":
        assert typed.too_many_places["score"][0] and typed.frame["score"].iloc[0] == 12.25


def test_none_is_missing(spec):
    raw = pd.DataFrame([{"id": "1", "score": None, "dose": None, "grade": None, "flag": None, "sick": None}])
    typed = data.to_typed(raw, spec)
    assert all(typed.missing[c][0] for c in ("score", "dose", "grade", "flag", "sick"))


@pytest.mark.parametrize("header,message", [
    ("id,score,dose,grade,flag", "lacks column sick"),
    (HEADER + ",extra", "extra is not declared"),
    ("id,score,dose,grade,sick,flag", "different order"),
    (HEADER + ",sick", "sick appears more than once"),
])
def test_header_errors(tmp_path, spec, header, message):
    path = write(tmp_path, header + "\n")
    with pytest.raises(UserError) as err:
        data.read_raw(path, spec)
    assert message in err.value.message
    assert err.value.where == f"{path}:1" and "declare" in err.value.hint


def test_unreadable_files(tmp_path, spec):
    with pytest.raises(UserError, match="not found"):
        data.read_raw(tmp_path / "none.csv", spec)
    with pytest.raises(UserError, match="empty"):
        data.read_raw(write(tmp_path, ""), spec)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(HEADER.encode() + b"\n1,1,1,l\xe9w,Y,1\n")
    with pytest.raises(UserError, match="not UTF-8"):
        data.read_raw(bad, spec)
    with pytest.raises(UserError, match="CSV line 3 has 3 fields, the header has 6") as err:
        data.read_raw(write(tmp_path, f"{HEADER}\n1,1,1,low,Y,1\n2,1,1\n", name="short.csv"), spec)
    assert err.value.where.endswith("short.csv:3")
    with pytest.raises(UserError, match="CSV line 5 has 8 fields"):
        data.read_raw(write(tmp_path, f"{HEADER}\n1,1,1,low,Y,1\n\"a\nb\",1,1,low,Y,1\n1,1,1,low,Y,1,9,9\n"),
                      spec)
    late = tmp_path / "late.csv"
    late.write_bytes(HEADER.encode() + b"\n" + b"1,1,1,low,Y,1\n" * 3 + b"2,1,1,l\xe9w,Y,1\n")
    with pytest.raises(UserError, match="line 5 has byte 0xe9") as err:
        data.read_raw(late, spec)
    assert err.value.where.endswith("late.csv:5")
    with pytest.raises(UserError, match="Parquet"):
        data.read_raw(write(tmp_path, "not parquet", name="x.parquet"), spec)


def test_header_only_file_has_no_rows(tmp_path, spec):
    for name in ("a.csv", "b.csv"):
        raw = data.read_raw(write(tmp_path, HEADER + ("\n" if name == "a.csv" else ""), name=name), spec)
        assert raw.shape == (0, 6) and list(raw.columns) == list(spec.column_names)
        assert len(data.to_typed(raw, spec)) == 0


def test_chunks_cover_the_file_in_order(tmp_path, spec):
    lines = [HEADER] + [f"{i},{i % 100}.5,{i % 50},mid,N,0" for i in range(1, 1001)]
    path = write(tmp_path, "\n".join(lines))
    chunks = list(data.iter_raw(path, spec, chunk_rows=300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert [c.index[0] for c in chunks] == [0, 300, 600, 900]
    whole = pd.concat(chunks)
    assert whole.equals(data.read_raw(path, spec))
    assert data.to_typed(chunks[1], spec).row_numbers[0] == 301


def test_parquet_reads_like_csv(tmp_path, spec):
    frame = pd.DataFrame({"id": [1, 2, 3], "score": [12.5, None, 7.0], "dose": [3.0, None, 10.0],
                          "grade": ["low", None, "high"], "flag": ["Y", None, "N"],
                          "sick": [False, True, True]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    raw = data.read_raw(path, spec)
    assert raw.values.tolist() == [["1", "12.5", "3", "low", "Y", "0"],
                                   ["2", None, None, None, None, "1"],
                                   ["3", "7", "10", "high", "N", "1"]]
    typed = data.to_typed(raw, spec)
    assert not any(mask.any() for mask in typed.bad.values())
    assert typed.missing["score"].tolist() == [False, True, False]
    chunks = list(data.iter_raw(path, spec, chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 1] and chunks[1].index[0] == 2


def test_read_typed_names_the_first_bad_cell(tmp_path, spec):
    path = write(tmp_path, f"{HEADER}\n1,12.5,3,low,Y,0\n2,1,x,mid,N,1\n")
    with pytest.raises(UserError) as err:
        data.read_typed(path, spec)
    assert "data row 2, column dose" in err.value.message and "an integer" in err.value.message
    assert err.value.where == f"{path}:3"
    good = data.read_typed(write(tmp_path, ROWS, name="ok.csv"), spec)
    assert good["id"].tolist() == [1.0, 2.0, 3.0]


def test_read_complete_refuses_any_cell_a_row_cannot_hold(tmp_path, spec):
    # Rows used as they are (prompt examples) must be rows the spec allows, cell by cell.
    raw = data.read_complete(write(tmp_path, ROWS), spec, "examples file")
    assert raw.values.tolist()[1] == ["2", "NA", "", "N/A", "NA", "1"]  # declared missing is fine
    bad_type = write(tmp_path, f"{HEADER}\n1,12.5,3,low,Y,0\n2,1,3,mid,maybe,1\n", name="b.csv")
    with pytest.raises(UserError) as err:
        data.read_complete(bad_type, spec, "examples file")
    assert err.value.message.startswith("examples file data row 2, column flag: 'maybe'")
    assert err.value.where == f"{bad_type}:3"
    empty = write(tmp_path, f"{HEADER}\n1,12.5,3,low,Y,0\n2,1,3,mid,N,\n", name="e.csv")
    with pytest.raises(UserError) as err:
        data.read_complete(empty, spec, "examples file")
    assert "data row 2, column sick: the cell is empty" in err.value.message
    assert err.value.where == f"{empty}:3"
