"""The SQL target: golden queries per dialect, quoting of hostile names, `compile --emit sql`.

Golden files are the target's specification: `SYNSPEC_UPDATE_GOLDEN=1 python -m pytest
tests/test_sql_target.py` rewrites them; review the diff. Whether the queries agree with the
checker row for row is tests/test_validate_engines*.py's job.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec.cli import main
from synspec.passes import check_file
from synspec.targets.checker import compile_checker
from synspec.targets.sql import DIALECTS, build_queries, render_sql
from synspec.targets.sql.dialect import DECIMAL_PATTERN, decimal_pattern_within
from tests.conftest import ROOT, SPECS
from tests.spark_session import spark  # noqa: F401 (a fixture)

UPDATE = os.environ.get("SYNSPEC_UPDATE_GOLDEN") == "1"
GOLDEN = ROOT / "tests" / "golden" / "sql"
NAMES = ("diabetes", "cirrhosis", "stroke")


def check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing; run with SYNSPEC_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs (SYNSPEC_UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("name", NAMES)
def test_golden_queries(name: str, dialect: str, capsys) -> None:
    assert main(["compile", str(SPECS / f"{name}.synspec"), "--emit", "sql", "--dialect", dialect]) == 0
    text = capsys.readouterr().out
    check_golden(GOLDEN / f"{name}.{dialect}.sql", text)


def test_checks_are_the_checkers_in_its_order() -> None:
    for name in NAMES:
        spec = check_file(SPECS / f"{name}.synspec").spec
        assert [c.name for c in build_queries(spec, "duckdb").checks] == \
            [c.name for c in compile_checker(spec).checks]


HOSTILE = '''\
dataset hostile

column `my "id"`: integer
  range 0 to 10

column `it's`: categorical
  levels "a'b", "c\\"d", "back\\\\slash", "x`y"
  missing 0.1 as "n'a"

column `sp ace`: decimal(1)
  missing 0.1 as "N/A"

rule `odd "rule"`: `it's` == "a'b" -> `sp ace` > 1.5 and `my "id"` >= 1
'''


def test_hostile_names_and_levels_run_on_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "hostile.synspec"
    path.write_text(HOSTILE, encoding="utf-8")
    result = check_file(path)
    assert result.spec is not None, result.diagnostics
    spec = result.spec
    levels = spec.column("it's").levels
    assert levels == ("a'b", 'c"d', "back\\slash", "x`y")
    rows = [("1", "a'b", "2.0"), ("0", "c\"d", "N/A"), ("3", "back\\slash", "1"),
            ("11", "zz", "1.0"), ("2", "a'b", "1.25"), ("5", "n'a", "")]
    con = duckdb.connect()
    con.execute('CREATE TABLE synspec_input ("my ""id""" VARCHAR, "it\'s" VARCHAR, "sp ace" VARCHAR)')
    con.executemany("INSERT INTO synspec_input VALUES (?, ?, ?)", rows)
    for query in render_sql(spec, "duckdb").split(";\n")[:2]:
        con.execute(query)
    out = con.execute(build_queries(spec, "duckdb").rows).fetchall()
    names = [c.name for c in build_queries(spec, "duckdb").checks]
    assert names == ['my "id".type', 'my "id".range', 'my "id".missing', "it's.level", "sp ace.type",
                     "sp ace.places", 'odd "rule"']
    by_row = [dict(zip(names, row, strict=True)) for row in out]
    assert [r["it's.level"] for r in by_row] == [True, True, True, False, True, None]
    assert [r['my "id".range'] for r in by_row] == [True, True, True, False, True, True]
    assert [r["sp ace.places"] for r in by_row] == [True, None, True, True, False, None]
    assert [r['odd "rule"'] for r in by_row] == [True, None, None, None, False, None]


@pytest.mark.spark
def test_hostile_names_and_levels_run_on_spark(spark, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "hostile.synspec"
    path.write_text(HOSTILE, encoding="utf-8")
    spec = check_file(path).spec
    assert spec is not None
    rows = [("1", "a'b", "2.0"), ("0", "back\\slash", "N/A"), ("2", "a'b", "1.25"), ("5", "n'a", "")]
    frame = spark.createDataFrame(rows, ['my "id"', "it's", "sp ace"])
    frame.createOrReplaceTempView("synspec_input")
    queries = build_queries(spec, "spark")
    out = [tuple(r) for r in spark.sql(queries.rows).collect()]
    names = [c.name for c in queries.checks]
    by_row = [dict(zip(names, row, strict=True)) for row in out]
    assert [r["it's.level"] for r in by_row] == [True, True, True, None]
    assert [r['odd "rule"'] for r in by_row] == [True, None, False, None]
    assert spark.sql(render_sql(spec, "spark").split(";\n")[1]).collect()[0][0] == 4


def test_spark_and_postgres_escape_what_duckdb_escapes() -> None:
    sparks, postgres = DIALECTS["spark"], DIALECTS["postgres"]
    assert sparks.ident("a`b c") == "`a``b c`" and sparks.string("it's \\") == "'it\\'s \\\\'"
    assert postgres.ident('a"b') == '"a""b"' and postgres.string("it's \\") == "'it''s \\'"


def test_dialect_depends_on_emit(capsys) -> None:
    spec = str(SPECS / "diabetes.synspec")
    assert main(["compile", spec, "--emit", "sql", "--dialect", "mysql"]) == 2
    assert "one of duckdb, spark, postgres" in capsys.readouterr().err
    assert main(["compile", spec, "--emit", "ir", "--dialect", "spark"]) == 2
    assert "--emit ir has no dialects" in capsys.readouterr().err
    assert main(["compile", spec, "--emit", "sql"]) == 0
    assert "in duckdb SQL" in capsys.readouterr().out


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet="0129.+-e ", max_size=7), places=st.integers(0, 3))
def test_within_places_pattern_is_plain_text_with_at_most_the_places(text: str, places: int) -> None:
    """The one pattern the SQL target tries first for a decimal(p) cell is exactly "plain number
    text written with at most p places", as `synspec.data` counts places (digits after the point)."""
    plain = re.fullmatch(DECIMAL_PATTERN, text) is not None
    written = len(text) - text.index(".") - 1 if "." in text else 0
    within = re.fullmatch(decimal_pattern_within(places), text) is not None
    assert within == (plain and written <= places)
