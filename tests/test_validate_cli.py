"""`synspec validate` end to end: exit codes, text and JSON output, violations file, BOM/CRLF, Parquet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from synspec.cli import main
from tests.conftest import SPECS, real_csv
from tests.test_data import HEADER, SMALL

GOOD = f"{HEADER}\n1,12.5,3,low,Y,0\n2,NA,,N/A,NA,1\n3,95,10,high,N,1\n"
# row 2: score.places; row 3: grade.level + high_score_sick (95 -> sick, sick 0)
BAD = f"{HEADER}\n1,12.5,3,low,Y,0\n2,12.55,3,low,N,0\n3,95,1,top,N,0\n"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "small.synspec"
    path.write_text(SMALL, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str, name: str = "t.csv", bom: bool = False, crlf: bool = False) -> Path:
    path = tmp_path / name
    body = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8"))
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["validate", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("bom,crlf", [(False, False), (True, True), (True, False), (False, True)])
def test_clean_file_exits_0(tmp_path, spec, capsys, bom, crlf):
    code, out, _ = run(capsys, write(tmp_path, GOOD, bom=bom, crlf=crlf), "--spec", spec)
    assert code == 0
    assert "3 rows, 3 pass every hard check" in out and "1 of 1 soft expectations met" in out


def test_failures_exit_1_with_locations_and_examples(tmp_path, spec, capsys):
    code, out, _ = run(capsys, write(tmp_path, BAD), "--spec", spec)
    assert code == 1
    lines = out.splitlines()
    places = next(line for line in lines if line.startswith("FAIL score.places"))
    assert f"({spec}:7)" in places and "1 of 3 rows (33.33%)" in places
    rule = lines.index(next(line for line in lines if line.startswith("FAIL high_score_sick")))
    assert f"({spec}:24)" in lines[rule] and "1 of 1 rows" in lines[rule]
    assert lines[rule + 1].strip() == "row 3, line 4: score=95, sick=0"
    assert "FAIL grade.level" in out and "1 pass every hard check" in out


def test_max_examples_limits_examples(tmp_path, spec, capsys):
    rows = "".join(f"{i},1,1,top,N,0\n" for i in range(1, 11))
    code, out, _ = run(capsys, write(tmp_path, f"{HEADER}\n{rows}"), "--spec", spec, "--max-examples", "2")
    assert code == 1
    assert [line.strip() for line in out.splitlines() if line.startswith("    row")] == [
        "row 1, line 2: grade=top", "row 2, line 3: grade=top"]


def test_soft_expectation_below_share_exits_1(tmp_path, spec, capsys):
    rows = "".join(f"{i},{10 if i < 3 else 70},1,high,N,0\n" for i in range(1, 11))  # 8 of 10 < 0.9
    code, out, _ = run(capsys, write(tmp_path, f"{HEADER}\n{rows}"), "--spec", spec)
    assert code == 1
    assert "FAIL grade_high_score" in out
    assert "observed 80.00% of 10 applicable rows, declared mostly 90.00%" in out


def test_json_has_every_figure(tmp_path, spec, capsys):
    code, out, _ = run(capsys, write(tmp_path, BAD), "--spec", spec, "--format", "json")
    assert code == 1
    result = json.loads(out)
    assert (result["rows"], result["rows_passing_hard_checks"], result["ok"]) == (3, 1, False)
    checks = {c["name"]: c for c in result["checks"]}
    assert set(checks) >= {"id.type", "id.range", "score.type", "score.places", "score.range", "grade.level",
                           "flag.type", "sick.type", "sick.missing", "high_score_sick", "grade_high_score"}
    rule = checks["high_score_sick"]
    assert {k: rule[k] for k in ("kind", "severity", "applicable", "failed", "passed", "ok")} == {
        "kind": "rule", "severity": "hard", "applicable": 1, "failed": 1, "passed": 0, "ok": False}
    assert rule["examples"] == [{"row": 3, "line": 4, "values": {"score": "95", "sick": "0"}}]
    assert rule["location"] == f"{spec}:24"
    assert checks["grade_high_score"]["mostly"] == 0.9
    assert result["columns"]["score"] == {"missing": 0, "bad": 1, "failed_rows": 1}
    assert result["summary"]["hard_failures"] == ["score.places", "grade.level", "high_score_sick"]


def test_violations_file(tmp_path, spec, capsys):
    out_csv = tmp_path / "v.csv"
    code, _, _ = run(capsys, write(tmp_path, BAD), "--spec", spec, "--violations", out_csv,
                     "--chunk-size", "2")
    assert code == 1
    with out_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["line"], r["check"], r["kind"], r["columns"], r["values"]) for r in rows] == [
        ("2", "3", "score.places", "type", "score", "score=12.55"),
        ("3", "4", "grade.level", "level", "grade", "grade=top"),
        ("3", "4", "high_score_sick", "rule", "score;sick", "score=95; sick=0"),
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # an existing file is kept unless --force
    code, _, err = run(capsys, write(tmp_path, GOOD, name="g.csv"), "--spec", spec, "--violations", out_csv)
    assert code == 2 and "already exists" in err and "--force" in err
    assert len(out_csv.read_text().splitlines()) == 4
    code, _, _ = run(capsys, tmp_path / "g.csv", "--spec", spec, "--violations", out_csv, "--force")
    assert code == 0 and out_csv.read_text().splitlines() == ["row,line,check,kind,severity,columns,values"]


def test_chunked_results_equal_whole(tmp_path, spec, capsys):
    rows = "".join(f"{i},{i % 120},{i % 60},{['low', 'mid', 'high', 'top'][i % 4]},Y,{i % 2}\n"
                   for i in range(1, 501))
    path = write(tmp_path, f"{HEADER}\n{rows}")
    results = []
    for size in ("7", "500", "100000"):
        code, out, _ = run(capsys, path, "--spec", spec, "--format", "json", "--chunk-size", size)
        assert code == 1
        results.append(json.loads(out))
    assert results[0] == results[1] == results[2]


def test_parquet(tmp_path, spec, capsys):
    frame = pd.DataFrame({"id": [1, 2, 3], "score": [12.5, None, 95.0], "dose": [3, None, 10],
                          "grade": ["low", None, "high"], "flag": ["Y", None, "N"], "sick": [0, 1, 0]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    code, out, _ = run(capsys, path, "--spec", spec, "--format", "json")
    assert code == 1
    result = json.loads(out)
    assert result["summary"]["hard_failures"] == ["high_score_sick"]
    examples = {c["name"]: c for c in result["checks"]}["high_score_sick"]["examples"]
    assert examples == [{"row": 3, "line": None, "values": {"score": "95", "sick": "0"}}]


@pytest.mark.parametrize("text,needle", [
    ("id,score,dose,grade,flag\n1,1,1,low,Y\n", "lacks column sick"),
    (HEADER + ",x\n1,1,1,low,Y,1,2\n", "x is not declared"),
    ("", "empty"),
])
def test_input_errors_exit_2(tmp_path, spec, capsys, text, needle):
    code, out, err = run(capsys, write(tmp_path, text), "--spec", spec)
    assert code == 2 and needle in err and "Traceback" not in err + out
    assert "-->" in err and "help:" in err


def test_usage_errors_exit_2(tmp_path, spec, capsys):
    data_path = write(tmp_path, GOOD)
    assert run(capsys, tmp_path / "missing.csv", "--spec", spec)[0] == 2
    assert run(capsys, data_path, "--spec", tmp_path / "missing.synspec")[0] == 2
    assert run(capsys, data_path, "--spec", spec, "--chunk-size", "0")[0] == 2
    assert run(capsys, data_path, "--spec", spec, "--max-examples", "-1")[0] == 2
    assert run(capsys, data_path, "--spec", spec, "--format", "xml")[0] == 2
    assert run(capsys, data_path, "--spec", spec, "--violations", tmp_path / "no" / "v.csv")[0] == 2
    assert run(capsys, data_path, "--spec", spec, "--violations", data_path, "--force")[0] == 2
    assert data_path.read_text() == GOOD


def test_real_diabetes_validates(capsys):
    code, out, _ = run(capsys, real_csv("diabetes"), "--spec", SPECS / "diabetes.synspec")
    assert code == 0 and "100,000 rows, 100,000 pass every hard check" in out


def test_cell_text_is_printed_literally(tmp_path, spec, capsys):
    text = f"{HEADER}\n1,1,1,[bold]:smile:[/bold],Y,0\n"
    code, out, _ = run(capsys, write(tmp_path, text), "--spec", spec)
    assert code == 1 and "grade=[bold]:smile:[/bold]" in out
    code, out, _ = run(capsys, write(tmp_path, text), "--spec", spec, "--format", "json")
    examples = {c["name"]: c for c in json.loads(out)["checks"]}["grade.level"]["examples"]
    assert examples[0]["values"] == {"grade": "[bold]:smile:[/bold]"}


def test_subprocess_pipe_output_is_plain(tmp_path, spec):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "synspec", "validate", str(write(tmp_path, BAD)),
                           "--spec", str(spec)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "\x1b[" not in done.stdout and "FAIL high_score_sick" in done.stdout
    assert done.stderr == ""
