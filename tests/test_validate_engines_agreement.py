"""Agreement, tested: random specs and tables, every SQL engine's masks equal the checker's.

For every check of a random spec (columns of every kind with hostile names, ranges, places,
levels, declared values, missing tokens; rules built from every expression kind) over a random
table of raw cells (numbers in odd notations, unparseable text, empty cells, missing tokens and
nulls), the failed and applicable masks that `synspec.targets.checker` computes must equal the
ones read from the SQL target's per-row query: FALSE = failed, NOT NULL = applicable. The
counts query (which reads its own masks, not the per-row values) must add up to the checker's
tally: rows, rows passing every hard check, applicable and failed rows per check, missing,
unparseable and failing rows per column. DuckDB runs it over a registered Arrow table; Spark
(marked `spark`) over a DataFrame, in one session.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec import data, ir
from synspec.targets.checker import CheckTally, compile_checker
from synspec.targets.sql import build_queries
from synspec.validation_engines.assemble import SqlReport
from tests.spark_session import spark  # noqa: F401 (a fixture)

LOC = ir.Location(path="random.synspec", line=1, column=1)
NAMES = ["a", "b c", "it's", 'q"d', "back`tick", "x.y", "Ünï", "sum"]
LEVELS = ["lo", "mid", "hi", "a'b", 'c"d', "x`y", "back\\slash"]
# An empty token, and one that is also a missing token ("NA"), are shadowed by the missing mask.
TOKENS = [("1", "0"), ("Y", "N"), ("yes", "no"), ("", "N"), ("NA", "no")]
# "-999" reads as a number too; "n.a." is not literal text in a regex (neither joins a row pattern).
MISSING = [None, "", "NA", "N/A", "-999", "n.a."]
NUMBER_CELLS = ["1", "2", "-3", "0", "2.5", "2.55", "10", "+4", ".5", "5.", "007", "1e5", "abc", " 1",
                "99.999", "-0.0", "12", "1", "2.5", "10", "3", "4.0", "6", "-999", "7.", "+.75", "-0.125",
                # What DuckDB's TRY_CAST reads as a number but the plain notation does not allow:
                "+-1", "1_0", "inf", "NaN", "1 ", "1E2",
                # Near grid members, and a whole number too large for any grid index.
                "0.25", "2.550", "2.55", "-.125", "12.00", "100000000000000000000", "-100000000000000000000",
                # Commas (the row pattern's separator) and what "n.a." would match as a regex.
                "1,5", "5,", ",", "n-a-"]


@st.composite
def columns(draw: Any) -> list[ir.Column]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    out = []
    for position, name in enumerate(names):
        kind = draw(st.sampled_from(list(ir.ColumnKind)))
        fields: dict[str, Any] = {"missing_token": draw(st.sampled_from(MISSING))}
        if kind in (ir.ColumnKind.INTEGER, ir.ColumnKind.DECIMAL):
            low = draw(st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 1.0])))
            high = draw(st.one_of(st.none(), st.sampled_from([2.5, 10.0, 12.0])))
            fields.update(low=low, high=high)
            if kind is ir.ColumnKind.DECIMAL:
                fields["places"] = draw(st.one_of(st.none(), st.integers(0, 2)))
            if draw(st.booleans()):
                # Up to 12 members: DuckDB tests lists of 8 or more as a bit grid when the places
                # are known (Dialect.value_in), else as a semi-join. The pool holds values with
                # more places than a column allows (they match nothing) and one too large for a
                # grid (1e16: the semi-join again).
                pool = [0.0, 1.0, 2.0, 2.5, 10.0, 3.0, 4.0, 5.0, 6.0, -999.0, 0.25, 2.55, -0.125, 12.0, 1e16]
                values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=12, unique=True))
                fields["values"] = tuple((v, 1 / len(values)) for v in sorted(values))
        elif kind is ir.ColumnKind.CATEGORICAL:
            levels = draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=3, unique=True))
            fields["levels"] = tuple(levels)
        else:
            true, false = draw(st.sampled_from(TOKENS))
            fields.update(true_token=true, false_token=false, levels=(true, false))
        out.append(ir.Column(name=name, position=position, kind=kind, location=LOC, **fields))
    return out


def _expressions(cols: list[ir.Column]) -> st.SearchStrategy[ir.BoolExpr]:
    numeric = [c.name for c in cols if c.kind is not ir.ColumnKind.CATEGORICAL]
    text = [c for c in cols if c.kind is ir.ColumnKind.CATEGORICAL]
    booleans = [c.name for c in cols if c.kind is ir.ColumnKind.BOOLEAN]
    const = st.sampled_from([0.0, 1.0, 2.5, 10.0, -3.0]).map(lambda v: ir.Const(value=v))
    num_leaf = st.one_of(const, *([st.sampled_from(numeric).map(lambda c: ir.ColumnRef(column=c))] if numeric
                                  else []))
    num = st.recursive(num_leaf, lambda inner: st.one_of(
        st.builds(ir.Arith, op=st.sampled_from(["+", "-", "*", "/"]), left=inner, right=inner),
        st.builds(ir.Neg, operand=inner)), max_leaves=3)
    ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    atoms = [st.builds(ir.Compare, op=ops, left=num, right=num),
             st.builds(ir.InSet, operand=num, values=st.lists(const, min_size=1, max_size=3).map(tuple),
                       negated=st.booleans()),
             st.builds(ir.IsMissing, column=st.sampled_from([c.name for c in cols]), negated=st.booleans()),
             st.builds(ir.BoolConst, value=st.booleans())]
    if numeric:  # a column against a constant, the commonest rule shape, twice as likely
        column_ref = st.sampled_from(numeric).map(lambda c: ir.ColumnRef(column=c))
        atoms += [st.builds(ir.Compare, op=ops, left=column_ref, right=const)] * 2
    if booleans:
        atoms.append(st.builds(ir.IsTrue, column=st.sampled_from(booleans)))
    for column in text:
        level = st.sampled_from(list(column.levels) + ["zz"]).map(lambda v, c=column.name: ir.Level(column=c,
                                                                                                  value=v))
        ref = ir.ColumnRef(column=column.name)
        atoms.append(st.builds(lambda op, lv, r=ref: ir.Compare(op=op, left=r, right=lv),
                               st.sampled_from(["==", "!="]), level))
        atoms.append(st.builds(lambda lvs, neg, r=ref: ir.InSet(operand=r, values=tuple(lvs), negated=neg),
                               st.lists(level, min_size=1, max_size=2), st.booleans()))
        others = [o for o in text if o.name != column.name]
        if others:
            atoms.append(st.sampled_from(others).map(
                lambda o, r=ref: ir.Compare(op="==", left=r, right=ir.ColumnRef(column=o.name))))
    return st.recursive(st.one_of(*atoms), lambda inner: st.one_of(
        st.builds(ir.And, items=st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(ir.Or, items=st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(ir.Not, operand=inner),
        st.builds(ir.Implies, condition=inner, consequence=inner),
        st.builds(ir.Iff, left=inner, right=inner)), max_leaves=5)


def _cells(column: ir.Column) -> list[str | None]:
    pool: list[str | None] = [None, "", "junk"]
    if column.missing_token:
        pool.append(column.missing_token)
    if column.is_numeric:
        pool += NUMBER_CELLS
    elif column.kind is ir.ColumnKind.CATEGORICAL:
        pool += list(column.levels) + ["zz", "LO"]
    else:
        pool += [column.true_token, column.false_token, column.true_token, "1", "true"]
    return pool


@st.composite
def cases(draw: Any) -> tuple[ir.Spec, pd.DataFrame]:
    cols = draw(columns())
    expressions = _expressions(cols)
    rules = []
    for i in range(draw(st.integers(0, 3))):
        implication = st.builds(ir.Implies, condition=expressions, consequence=expressions)
        expr = draw(st.one_of(expressions, implication))
        hard = draw(st.booleans())
        kind = ir.RuleKind.HARD if hard else ir.RuleKind.SOFT
        rules.append(ir.Rule(name=f"rule_{i}", kind=kind, expr=expr,
                             text="random", columns=tuple(c.name for c in cols), location=LOC,
                             mostly=None if hard else 0.9))
    spec = ir.Spec(name="random", columns=tuple(cols), rules=tuple(rules), path="random.synspec")
    n = draw(st.integers(0, 25))
    frame = pd.DataFrame({c.name: pd.Series([draw(st.sampled_from(_cells(c))) for _ in range(n)],
                                            dtype=object) for c in cols})
    return spec, frame


def checker_masks(spec: ir.Spec, frame: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    report = compile_checker(spec).run(data.to_typed(frame, spec))
    return [(o.name, o.failed, o.applicable) for o in report.outcomes]


def sql_masks(table: pa.Table, n_checks: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for j in range(n_checks):
        column = table.column(table.num_columns - n_checks + j)
        failed = np.asarray(pc.fill_null(pc.invert(column), False).to_numpy(zero_copy_only=False), dtype=bool)
        applicable = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=bool)
        out.append((failed, applicable))
    return out


def assert_agree(spec: ir.Spec, frame: pd.DataFrame, table: pa.Table) -> None:
    expected = checker_masks(spec, frame)
    got = sql_masks(table, len(expected))
    assert table.num_rows == len(frame)
    for (name, failed, applicable), (sql_failed, sql_applicable) in zip(expected, got, strict=True):
        assert np.array_equal(failed, sql_failed), (name, failed, sql_failed, frame)
        assert np.array_equal(applicable, sql_applicable), (name, applicable, sql_applicable, frame)


def assert_counts_agree(spec: ir.Spec, frame: pd.DataFrame, counts: tuple[Any, ...]) -> None:
    """The counts query's row, added up as an engine does, equals the checker's tally."""
    typed = data.to_typed(frame, spec)
    expected = CheckTally(compile_checker(spec))
    expected.add(compile_checker(spec).run(typed), typed)
    got = SqlReport(spec, max_examples=0, violations=None)
    got.add_counts(counts)
    assert (got.tally.n_rows, got.tally.n_rows_ok) == (expected.n_rows, expected.n_rows_ok), frame
    for name, totals in expected.outcomes.items():
        mine = got.tally.outcomes[name]
        assert (mine.n_applicable, mine.n_failed) == (totals.n_applicable, totals.n_failed), (name, frame)
    assert got.tally.columns == expected.columns, frame


def _source(frame: pd.DataFrame) -> tuple[pa.Table, list[str]]:
    names = [f"s{i}" for i in range(frame.shape[1])]
    arrays = [pa.array(frame.iloc[:, i].tolist(), type=pa.string()) for i in range(frame.shape[1])]
    return pa.table([pa.array(range(len(frame)), pa.int64()), *arrays], names=["i", *names]), names


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_duckdb_masks_equal_the_checkers(case: tuple[ir.Spec, pd.DataFrame]) -> None:
    spec, frame = case
    source, names = _source(frame)
    con = duckdb.connect()
    con.register("src", source)
    query = build_queries(spec, "duckdb", source="src", source_columns=names, keep=["i"]).rows + " ORDER BY i"
    assert_agree(spec, frame, _arrow(con, query))
    con.close()


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_duckdb_counts_equal_the_checkers_tally(case: tuple[ir.Spec, pd.DataFrame]) -> None:
    spec, frame = case
    source, names = _source(frame)
    con = duckdb.connect()
    con.register("src", source)
    counts = con.execute(build_queries(spec, "duckdb", source="src", source_columns=names).counts).fetchall()
    assert len(counts) == 1
    assert_counts_agree(spec, frame, counts[0])
    con.close()


def _arrow(con: Any, query: str) -> pa.Table:
    relation = con.sql(query)
    # DuckDB 2.x: to_arrow_table; 1.x: arrow() gives the table.
    return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()


@settings(max_examples=30, deadline=None, derandomize=True)
@given(columns())
def test_duckdb_with_the_spec_names_as_written(cols: list[ir.Column]) -> None:
    """The printed query (real, hostile names as identifiers) agrees too."""
    spec = ir.Spec(name="n", columns=tuple(cols), path="n.synspec")
    frame = pd.DataFrame({c.name: pd.Series(_cells(c)[:6], dtype=object) for c in cols})
    con = duckdb.connect()
    table = pa.table({c.name: pa.array(frame[c.name].tolist(), pa.string()) for c in cols})
    con.register("synspec_input", table)
    assert_agree(spec, frame, _arrow(con, build_queries(spec, "duckdb").rows))


@pytest.mark.spark
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_spark_masks_equal_the_checkers(spark, case: tuple[ir.Spec, pd.DataFrame]) -> None:  # noqa: F811
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    spec, frame = case
    source, names = _source(frame)
    schema = StructType([StructField("i", LongType())] + [StructField(n, StringType()) for n in names])
    spark.createDataFrame(source.to_pylist(), schema).createOrReplaceTempView("src")
    query = build_queries(spec, "spark", source="src", source_columns=names, keep=["i"]).rows + " ORDER BY i"
    rows = spark.sql(query).collect()
    n_checks = len(rows[0]) - 1 if rows else len(compile_checker(spec).checks)
    columns_ = list(zip(*rows, strict=True)) if rows else [() for _ in range(n_checks + 1)]
    arrays = [pa.array(col, type=pa.int64() if k == 0 else pa.bool_()) for k, col in enumerate(columns_)]
    table = pa.table(arrays, names=["i"] + [f"k{j}" for j in range(n_checks)])
    assert_agree(spec, frame, table)


@pytest.mark.spark
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_spark_counts_equal_the_checkers_tally(spark, case: tuple[ir.Spec, pd.DataFrame]) -> None:  # noqa: F811
    from pyspark.sql.types import StringType, StructField, StructType

    spec, frame = case
    source, names = _source(frame)
    schema = StructType([StructField(n, StringType()) for n in names])
    spark.createDataFrame(source.drop_columns(["i"]).to_pylist(), schema).createOrReplaceTempView("src")
    counts = spark.sql(build_queries(spec, "spark", source="src", source_columns=names).counts).collect()
    assert len(counts) == 1
    assert_counts_agree(spec, frame, tuple(counts[0]))
