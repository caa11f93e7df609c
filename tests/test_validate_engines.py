"""`synspec validate --engine pandas|duckdb|spark`: the same report, violations file and exit code.

The pandas engine (chunks through the vectorised checker) is the reference: every other engine
must print byte-identical JSON and write a byte-identical violations file on the real files, on
tables with planted faults of every kind, on Parquet files and globs, and on database tables.
Spark cases are marked `spark` (one local session for the run, tests/spark_session.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec.cli import main
from synspec.errors import UserError
from synspec.validation_engines import AUTO_DUCKDB_BYTES, choose_engine
from synspec.validation_engines.sources import DataSource
from tests.conftest import SPECS, real_csv
from tests.spark_session import spark  # noqa: F401 (a fixture)
from tests.test_data import HEADER, SMALL

ENGINES = ["pandas", "duckdb", pytest.param("spark", marks=pytest.mark.spark)]
SQL_ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]

# Faults planted in rows 2-12, one or two kinds each (spec: tests/test_data.SMALL).
PLANTED = f"""{HEADER}
1,12.5,3,low,Y,0
2,12.55,3,low,N,0
3,95,1,top,N,0
4,abc,3,mid,Y,1
5,101,3,mid,maybe,1
,NA,,N/A,NA,1
7,99.0,60,high,Y,0
8,,0,,Y,0
9,1e5,2.5,low,Y,x
10,+5,007,mid,N,
11,.5,3,"l,ow",Y,1
12,95.5,,high,Y,1
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "small.synspec"
    path.write_text(SMALL, encoding="utf-8")
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["validate", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def use(engine: str, request: pytest.FixtureRequest) -> list[str]:
    if engine == "spark":
        request.getfixturevalue("spark")
    return ["--engine", engine]


def report(capsys, request, engine: str, *args) -> tuple[int, dict]:
    code, out, err = run(capsys, *args, "--format", "json", *use(engine, request))
    assert code in (0, 1), err
    return code, json.loads(out)


@pytest.mark.parametrize("engine", SQL_ENGINES)
@pytest.mark.parametrize("name", ["diabetes", "cirrhosis", "stroke"])
def test_real_files_same_report(name: str, engine: str, capsys, request) -> None:
    path, spec_path = real_csv(name), SPECS / f"{name}.synspec"
    expected = report(capsys, request, "pandas", path, "--spec", spec_path)
    assert report(capsys, request, engine, path, "--spec", spec_path) == expected


@pytest.mark.parametrize("engine", SQL_ENGINES)
def test_planted_faults_same_report_and_violations(engine: str, spec: Path, tmp_path: Path, capsys,
                                                     request) -> None:
    data = tmp_path / "planted.csv"
    data.write_text(PLANTED, encoding="utf-8")
    ref_out, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    expected = report(capsys, request, "pandas", data, "--spec", spec, "--violations", ref_out)
    got = report(capsys, request, engine, data, "--spec", spec, "--violations", out)
    assert got[0] == expected[0] == 1
    got[1]["summary"]["violations_file"] = expected[1]["summary"]["violations_file"]
    assert got == expected
    assert out.read_bytes() == ref_out.read_bytes()
    failed = {c["name"] for c in expected[1]["checks"] if c["failed"]}
    assert {"score.type", "score.places", "score.range", "dose.type", "dose.range", "grade.level",
            "flag.type", "sick.type", "sick.missing", "id.missing", "high_score_sick"} <= failed
    # the text report too, line for line
    assert run(capsys, data, "--spec", spec, "--engine", "pandas")[1] == \
        run(capsys, data, "--spec", spec, *use(engine, request))[1]


@pytest.mark.parametrize("engine", SQL_ENGINES)
@pytest.mark.parametrize("max_examples", ["0", "1", "3"])
def test_examples_are_the_first_failing_rows(engine: str, max_examples: str, spec: Path, tmp_path: Path,
                                             capsys, request) -> None:
    rows = "".join(f"{i},{i % 120},{i % 60},{['low', 'mid', 'high', 'top'][i % 4]},Y,{i % 2}\n"
                   for i in range(1, 2001))
    data = tmp_path / "many.csv"
    data.write_text(f"{HEADER}\n{rows}", encoding="utf-8")
    args = (data, "--spec", spec, "--max-examples", max_examples)
    assert report(capsys, request, engine, *args) == report(capsys, request, "pandas", *args)


def _typed_frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "score": [12.5, None, 95.0, 12.55, 30.0, 101.0],
                         "dose": [3.0, None, 10.0, 2.0, 60.0, 1.0],
                         "grade": ["low", None, "high", "top", "mid", ""],
                         "flag": [True, None, False, True, True, False], "sick": [0, 1, 0, 1, 0, None]})


@pytest.mark.parametrize("engine", SQL_ENGINES)
def test_parquet_file_and_glob(engine: str, spec: Path, tmp_path: Path, capsys, request) -> None:
    frame = _typed_frame()
    frame["flag"] = frame["flag"].map({True: "Y", False: "N"})
    one = tmp_path / "one.parquet"
    frame.to_parquet(one)
    expected = report(capsys, request, "pandas", one, "--spec", spec)
    assert report(capsys, request, engine, one, "--spec", spec) == expected
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate((0, 2, 3)):
        frame.iloc[start:[2, 3, 6][i]].to_parquet(parts / f"part-{i}.parquet")
    pattern = str(parts / "part-*.parquet")
    expected = report(capsys, request, "pandas", pattern, "--spec", spec)
    assert expected[1]["rows"] == 6
    assert report(capsys, request, engine, pattern, "--spec", spec) == expected


def test_duckdb_table_with_connect(spec: Path, tmp_path: Path, capsys, request) -> None:
    frame = _typed_frame().astype(object).where(_typed_frame().notna(), None)
    frame["flag"] = frame["flag"].map({True: "Y", False: "N", None: None})
    frame.to_parquet(tmp_path / "t.parquet")
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE visits AS SELECT * FROM read_parquet('{tmp_path / 't.parquet'}')")
    con.close()
    _, expected = report(capsys, request, "pandas", tmp_path / "t.parquet", "--spec", spec)
    code, got = report(capsys, request, "duckdb", "visits", "--spec", spec, "--connect", db)
    got["data"] = expected["data"]
    assert got == expected and code == 1
    # --engine auto with --connect is DuckDB
    assert report(capsys, request, "auto", "visits", "--spec", spec, "--connect", db)[1]["rows"] == 6
    # Drift reads files; a table is refused with a hint, not half-measured.
    code, _, err = run(capsys, "visits", "--spec", spec, "--connect", db, "--stats")
    assert code == 2 and "--stats reads files" in err and "Parquet" in err


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_stats_read_a_parquet_glob_like_one_file(engine: str, spec: Path, tmp_path: Path, capsys,
                                                 request) -> None:
    frame = _typed_frame()
    frame.to_parquet(tmp_path / "whole.parquet")
    parts = tmp_path / "parts"
    parts.mkdir()
    frame.iloc[:3].to_parquet(parts / "part-0.parquet")
    frame.iloc[3:].to_parquet(parts / "part-1.parquet")
    stats = ["--spec", spec, "--stats", "warn"]
    _, whole = report(capsys, request, engine, tmp_path / "whole.parquet", *stats)
    _, split = report(capsys, request, engine, str(parts / "part-*.parquet"), *stats)
    assert split["stats"]["rows"] == whole["stats"]["rows"] == 6
    assert split["stats"]["drifted"] == whole["stats"]["drifted"]


@pytest.mark.spark
def test_spark_table(spark, spec: Path, tmp_path: Path, capsys, request) -> None:  # noqa: F811
    frame = _typed_frame()
    frame["flag"] = frame["flag"].map({True: "Y", False: "N"})
    frame.to_parquet(tmp_path / "t.parquet")
    spark.read.parquet(str(tmp_path / "t.parquet")).createOrReplaceTempView("visits")
    _, expected = report(capsys, request, "pandas", tmp_path / "t.parquet", "--spec", spec)
    _, got = report(capsys, request, "spark", "visits", "--spec", spec, "--connect", "local[2]")
    got["data"] = expected["data"]
    assert got == expected
    # --engine auto with a master URL is Spark
    _, auto = report(capsys, request, "auto", "visits", "--spec", spec, "--connect", "local[2]")
    auto["data"] = expected["data"]
    assert auto == expected
    code, _, err = run(capsys, "nosuch", "--spec", spec, "--engine", "spark", "--connect", "local[2]")
    assert code == 2 and "no table nosuch" in err and "visits" in err


def test_auto_engine_threshold() -> None:
    small = DataSource("csv", "x", ())
    assert choose_engine("auto", small) == "pandas"
    table = DataSource("table", "t", table="t")
    assert choose_engine("auto", table) == "duckdb"
    assert AUTO_DUCKDB_BYTES >= 1 << 20


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
@pytest.mark.parametrize("text,needle", [
    (f"{HEADER}\n1,1,1,low,Y,0\n2,1,1\n", "CSV line 3 has 3 fields"),
    (f"{HEADER}\n1,1,1,low,Y,0\n\n2,1,1,low,Y,0\n", "CSV line 3 is blank"),
    # DuckDB skips the blank line and stops at the short one: the blank one is still reported.
    (f"{HEADER}\n1,1,1,low,Y,0\n\r\n2,1,1\n", "CSV line 3 is blank"),
    ("id,score,dose,grade,flag\n1,1,1,low,Y\n", "lacks column sick"),
])
def test_unreadable_csv_exits_2(engine: str, text: str, needle: str, spec: Path, tmp_path: Path, capsys,
                                request) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, data, "--spec", spec, *use(engine, request))
    assert code == 2 and needle in err and "Traceback" not in out + err
    assert "-->" in err and "help:" in err


def test_not_utf8_exits_2(spec: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "latin1.csv"
    data.write_bytes(f"{HEADER}\n1,1,1,l\xf6w,Y,0\n".encode("latin-1"))
    code, _, err = run(capsys, data, "--spec", spec, "--engine", "duckdb")
    assert code == 2 and "not UTF-8" in err and f"{data}:2" in err


def test_usage_errors_exit_2(spec: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "t.csv"
    data.write_text(PLANTED, encoding="utf-8")
    cases = [
        ((data, "--spec", spec, "--engine", "polars"), "unknown engine 'polars'"),
        ((data, "--spec", spec, "--engine", "pandas", "--connect", "x.duckdb"), "--connect needs --engine"),
        (("visits", "--spec", spec, "--engine", "duckdb", "--connect", tmp_path / "none.duckdb"),
         "DuckDB database not found"),
        (("visits", "--spec", spec, "--engine", "duckdb", "--connect", data),
         "cannot open the DuckDB database"),
        ((tmp_path / "nothing-*.parquet", "--spec", spec), "no file matches"),
        ((str(tmp_path / "*.csv"), "--spec", spec), "only match Parquet files"),
        (("visits", "--spec", spec), "data file not found"),
        ((data, "--spec", spec, "--engine", "spark", "--connect", "local[two]"), "not a Spark master URL"),
    ]
    for args, needle in cases:
        code, out, err = run(capsys, *args)
        assert code == 2, (args, err)
        assert needle in err and "Traceback" not in out + err, (needle, err)


def test_missing_duckdb_table_lists_the_tables(spec: Path, tmp_path: Path, capsys) -> None:
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE patients (id VARCHAR)")
    con.close()
    code, _, err = run(capsys, "visits", "--spec", spec, "--engine", "duckdb", "--connect", db)
    assert code == 2 and "no table visits" in err and "tables there: patients" in err


def test_api_engines(spec: Path, tmp_path: Path) -> None:
    import synspec

    data = tmp_path / "t.csv"
    data.write_text(PLANTED, encoding="utf-8")
    loaded = synspec.Spec.load(spec)
    by_pandas = loaded.validate(data, engine="pandas")
    by_duckdb = loaded.validate(data, engine="duckdb")
    assert by_duckdb.to_dict() == by_pandas.to_dict()
    assert by_duckdb.failure_cases().equals(by_pandas.failure_cases())
    with pytest.raises(UserError, match="pandas engine"):
        loaded.validate(pd.read_csv(data, dtype=str), engine="duckdb")


@pytest.mark.parametrize("tail,n_rows,blank", [
    ("1,1,1,low,Y,0\n2,1,1,low,Y,0\n", 2, None),
    ("1,1,1,low,Y,0\n2,1,1,low,Y,0", 2, None),  # no final line feed
    ("1,1,1,low,Y,0\n2,1,1,low,Y,0\n\n \n", 2, None),  # trailing blank lines are allowed
    ('1,1,1,"lo\nw",Y,0\n2,1,1,low,Y,0\n', 2, None),  # a line feed inside a quoted field
    ("1,1,1,low,Y,0\n\n2,1,1,low,Y,0\n", 2, 3),
    ("1,1,1,low,Y,0\r\n\r\n2,1,1,low,Y,0\r\n", 2, 3),
])
def test_blank_lines_after_counting_rows(tail: str, n_rows: int, blank: int | None, tmp_path: Path,
                                         monkeypatch) -> None:
    """With the rows a reader found, a file holding one line feed per row (and the header's) skips
    the scan; any other count falls back to the exact scan, which finds the blank line or none."""
    from synspec.validation_engines import sources

    path = tmp_path / "t.csv"
    path.write_bytes(f"{HEADER}\n{tail}".encode())
    scans: list[Path] = []
    scan = sources._may_have_blank_line
    monkeypatch.setattr(sources, "_may_have_blank_line", lambda p: scans.append(p) or scan(p))
    if blank is None:
        sources.require_no_blank_lines(path, rows=n_rows)
    else:
        with pytest.raises(UserError, match=f"CSV line {blank} is blank"):
            sources.require_no_blank_lines(path, rows=n_rows)
    line_feeds = tail.count("\n") + 1
    assert bool(scans) == (line_feeds != n_rows + tail.endswith("\n"))


@settings(max_examples=300, deadline=None)
@given(text=st.binary(max_size=24).map(lambda raw: bytes(b"ab\n\r ,"[byte % 6] for byte in raw)),
       block=st.sampled_from([1, 2, 3, 7, 1 << 20]))
def test_blank_line_prescan_never_misses_one(text: bytes, block: int) -> None:
    """The SQL engines' fast pre-scan may say "maybe" wrongly (the exact scan follows), never "no"
    wrongly, whatever the block size; with blocks larger than the file it is exact."""
    import tempfile

    from synspec.validation_engines.sources import _may_have_blank_line

    blank_then_text = any(text[at:].startswith(pair) and text[at + len(pair):].strip()
                          for at in range(len(text)) for pair in (b"\n\n", b"\n\r\n"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(text)
        found = _may_have_blank_line(path, block)
    assert found or not blank_then_text
    if block > len(text):
        assert found == blank_then_text


@settings(max_examples=200, deadline=None)
@given(text=st.binary(max_size=40).map(lambda raw: bytes(b"a\n\r,"[byte % 4] for byte in raw)),
       block=st.sampled_from([1, 2, 3, 7, 1 << 20]), workers=st.sampled_from([1, 2, 3, 5]))
def test_line_feed_count_is_exact_whatever_the_block(text: bytes, block: int, workers: int) -> None:
    """The count that lets the DuckDB engine skip the blank-line scan: every line feed, and
    whether the last byte is one, across block boundaries, short last blocks and the ranges
    counted on separate threads (some empty when the file is shorter than the threads)."""
    import tempfile

    from synspec.validation_engines.sources import _line_feeds

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(text)
        assert _line_feeds(path, block, workers) == (text.count(b"\n"), text.endswith(b"\n"))


def test_duckdb_prints_no_progress_bar(tmp_path: Path, monkeypatch) -> None:
    """DuckDB's own progress bar (printed to standard output, even a file, for queries over two
    seconds) is off on the engine's connections, in memory and `--connect`. DuckDB turns it on by
    default when Python runs a script or `-c` (not under pytest), so the test turns it on first."""
    from synspec.validation_engines.duckdb_engine import _connect

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    real = duckdb.connect

    def interactive(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        con = real(*args, **kwargs)
        con.execute("SET enable_progress_bar = true")
        return con

    monkeypatch.setattr(duckdb, "connect", interactive)
    for where in (None, db):
        con = _connect(where)
        try:
            assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False
        finally:
            con.close()


@pytest.mark.parametrize("last_row, code", [("Male,28.0,0,0,never,27.32,5.7,158,0", 0),
                                             ("Male,28.0,0,0,never,27.32,7.7,158,0", 1)])
def test_duckdb_engine_never_imports_pandas(last_row: str, code: int, tmp_path: Path) -> None:
    """The SQL engines do not need pandas, and importing it cost 0.22 s of every run: not for the
    report, nor for the failing rows' examples (read from Arrow buffers; pyarrow's own
    conversions would import it). Nor pyarrow.compute (0.04 s)."""
    import subprocess
    import sys

    data = tmp_path / "t.csv"
    data.write_text("gender,age,hypertension,heart_disease,smoking_history,bmi,HbA1c_level,blood_glucose_level,"
                    f"diabetes\nFemale,80.0,0,1,never,25.19,6.6,140,0\n{last_row}\n")
    script = ("import sys\nfrom synspec.cli import main\n"
              f"code = main(['validate', {str(data)!r}, '--spec', {str(SPECS / 'diabetes.synspec')!r}, "
              "'--engine', 'duckdb'])\n"
              "print(code, 'pandas' in sys.modules, 'pyarrow.compute' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == f"{code} False False", done.stdout + done.stderr
