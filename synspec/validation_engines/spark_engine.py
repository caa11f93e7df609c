"""The Spark engine: `synspec validate --engine spark`, the SQL target on a Spark session.

Runs on the session already active in the process (a notebook's, the tests' one), or starts one
on `--connect MASTER` (`local[2]`, `spark://host:7077`; default `local[*]`). CSV columns are read
as strings with an explicit schema (no inference; an empty cell is ''), Parquet typed columns are
rendered as the text pyarrow would give, and a catalog table is read by name.

Row numbers: Spark has no scan order across partitions, so every row carries its file, the start
of its file split, its partition and `monotonically_increasing_id()` (consecutive within a
partition). The counts query is grouped by (file, split, partition) with the smallest id of
each group; sorting the groups by (file in DATA's order, split start, partition) gives each its
first row number, and a failing row's number is its group's first row plus its id's distance
from the group's smallest. Two scans: the grouped counts, then the failing rows in row order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa

from synspec import data, ir
from synspec.errors import UserError
from synspec.targets.sql import build_queries
from synspec.targets.sql.dialect import DIALECTS
from synspec.validate import Failure
from synspec.validation_engines.assemble import SqlReport
from synspec.validation_engines.sources import DataSource, require_no_blank_lines

__all__ = ["is_master_url", "spark_session", "validate_spark"]

D = DIALECTS["spark"]
FILE, SPLIT, PART, ID = "synspec_file", "synspec_split", "synspec_part", "synspec_id"
_NEVER_NULL = "\x00synspec:no-null\x00"
_MASTER_RE = re.compile(r"^(local(\[(\*|\d+)(,\s*\d+)?\])?|spark://[^\s/]+(:\d+)?(,[^\s/]+(:\d+)?)*|yarn|"
                        r"k8s://\S+|mesos://\S+)$")
_BATCH_ROWS = 10_000


def is_master_url(text: str) -> bool:
    """Whether `text` is a Spark master URL (`local`, `local[2]`, `spark://host:7077`, `yarn`...)."""
    return bool(_MASTER_RE.match(text))


def spark_session(master: str | None = None) -> Any:
    """The active Spark session, or a new one on `master` (default `local[*]`)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError("--engine spark needs pyspark, which is not installed", where="--engine",
                        hint="pip install 'synspec[spark]' (Java 17 or later must be on the PATH)") from None
    if master is not None and not _MASTER_RE.match(master):
        raise UserError(f"not a Spark master URL: {master!r}", where="--connect",
                        hint="e.g. local[2], local[*] or spark://host:7077")
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    try:
        session = (SparkSession.builder.master(master or "local[*]").appName("synspec validate")
                   .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    except Exception as exc:
        raise UserError(f"cannot start Spark on {master or 'local[*]'}: {_first_line(exc)}",
                        where="--connect",
                        hint="check the master URL, and that Java 17 or later is installed") from None
    session.sparkContext.setLogLevel("OFF")
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _names(spec: ir.Spec) -> list[str]:
    return [f"s{i}" for i in range(len(spec.columns))]


def _text_of(ref: str, type_name: str, column: ir.Column) -> str:
    """A typed column as the text `synspec.data` makes of a Parquet cell (nulls stay NULL)."""
    if type_name == "string":
        return ref
    if type_name == "boolean" and column.kind is ir.ColumnKind.BOOLEAN:
        assert column.true_token is not None and column.false_token is not None
        return (f"CASE WHEN {ref} THEN {D.string(column.true_token)} "
                f"WHEN NOT {ref} THEN {D.string(column.false_token)} END")
    if type_name in ("double", "float"):
        # pyarrow writes a whole float without a fraction (3.0 -> "3"); Spark would write "3.0".
        return (f"CASE WHEN {ref} = floor({ref}) AND abs({ref}) < 1e15 "
                f"THEN CAST(CAST({ref} AS BIGINT) AS STRING) ELSE CAST({ref} AS STRING) END")
    return f"CAST({ref} AS STRING)"


def _read(spark: Any, source: DataSource, spec: ir.Spec) -> Any:
    """The source as a DataFrame of FILE, SPLIT, PART, ID and the cells as text s0, s1, ..."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    names = _names(spec)
    try:
        if source.kind == "csv":
            require_no_blank_lines(source.paths[0])
            schema = StructType([StructField(n, StringType()) for n in names])
            frame = (spark.read.schema(schema).option("header", True)
                     .option("quote", '"').option("escape", '"')
                     .option("nullValue", _NEVER_NULL).option("emptyValue", "").option("mode", "FAILFAST")
                     .option("encoding", "UTF-8").option("enforceSchema", True)
                     .csv([str(p.resolve()) for p in source.paths]))
            cells = [F.coalesce(F.col(n), F.lit("")).alias(n) for n in names]  # CSV has no nulls
        else:
            if source.kind == "parquet":
                frame = spark.read.parquet(*[str(p.resolve()) for p in source.paths])
                where = source.label
            else:
                assert source.table is not None
                frame = _table(spark, source.table)
                where = source.table
            data.check_header(list(frame.columns), spec, Path(where))
            types = {f.name: f.dataType.typeName() for f in frame.schema.fields}
            cells = [F.expr(_text_of(D.ident(c.name), types[c.name], c)).alias(n)
                     for c, n in zip(spec.columns, names, strict=True)]
        if source.kind == "table":
            keys = [F.lit("").alias(FILE), F.lit(0).cast("long").alias(SPLIT)]
        else:
            keys = [F.col("_metadata.file_path").alias(FILE),
                    F.col("_metadata.file_block_start").alias(SPLIT)]
        return frame.select(*keys, F.spark_partition_id().alias(PART),
                            F.monotonically_increasing_id().alias(ID), *cells)
    except UserError:
        raise
    except Exception as exc:
        raise _read_error(exc, source, len(names)) from None


def _table(spark: Any, name: str) -> Any:
    try:
        return spark.table(".".join(D.ident(part) for part in name.split(".")))
    except Exception:
        tables = [t.name for t in spark.catalog.listTables()]
        raise UserError(f"no table {name} in the Spark catalog", where=name,
                        hint="tables there: " + (", ".join(tables) if tables else "none")) from None


def _read_error(exc: BaseException, source: DataSource, n_columns: int) -> UserError:
    text = str(exc)
    if source.kind == "csv":
        path = source.paths[0]
        if "MALFORMED" in text or "Malformed" in text:
            return data._csv_error(path, "columns", n_columns)
        if "UTF" in text or "charset" in text.lower():
            return data._utf8_error(path)
    return UserError(f"Spark cannot read {source.label}: {_first_line(exc)}", where=source.label,
                     hint="check that the data is complete and in the format its name says")


def _file_order(source: DataSource) -> dict[str, int]:
    return {str(p.resolve()): i for i, p in enumerate(source.paths)}


def _local(uri: str) -> str:
    return unquote(urlparse(uri).path) if uri else ""


def validate_spark(source: DataSource, spec: ir.Spec, *, master: str | None = None, max_examples: int = 5,
                   violations: Path | None = None, on_rows: Callable[[int], None] | None = None,
                   on_failures: Callable[[list[Failure]], None] | None = None) -> dict[str, Any]:
    """The report of `source` checked by Spark (the same dict `synspec.validate.validate_table` returns)."""
    from pyspark.sql import functions as F

    spark = spark_session(master)
    names = _names(spec)
    view = f"synspec_input_{uuid.uuid4().hex}"
    frame = _read(spark, source, spec)
    frame.createOrReplaceTempView(view)
    try:
        keys = [FILE, SPLIT, PART]
        report = SqlReport(spec, max_examples=max_examples, violations=violations, on_failures=on_failures)
        counts = build_queries(spec, "spark", source=D.ident(view), source_columns=names).counts
        groups_sql = (f"SELECT {FILE}, {SPLIT}, {PART}, COUNT(*), MIN({ID}) FROM {D.ident(view)} "
                      f"GROUP BY {FILE}, {SPLIT}, {PART}")
        try:
            report.add_counts(tuple(spark.sql(counts).collect()[0]))
            groups = [tuple(row) for row in spark.sql(groups_sql).collect()]
        except Exception as exc:
            raise _read_error(exc, source, len(names)) from None
        order = _file_order(source)
        groups.sort(key=lambda g: (order.get(_local(g[0]), len(order)), g[0], g[1], g[2]))
        deltas, first = [], 0
        for group in groups:
            deltas.append((group[0], group[1], group[2], first - int(group[4])))
            first += int(group[3])
        if on_rows is not None:
            on_rows(report.tally.n_rows)
        batches: Iterator[pa.RecordBatch] = iter(())
        if any(t.n_failed for t in report.order):
            failing = build_queries(spec, "spark", source=D.ident(view), source_columns=names,
                                    keep=[*keys, ID, *names])
            rows = spark.sql(failing.failures)
            rows = rows.toDF(*[f"c{i}" for i in range(len(rows.columns))])
            # A map lookup, not a join: a join on top of the checks' large expressions sends
            # Spark's constraint propagation into a very long planning time.
            key = F.concat_ws("|", F.col("c0"), F.col("c1").cast("string"), F.col("c2").cast("string"))
            lookup = F.create_map(*[F.lit(v) for f, s_, p, d in deltas for v in (f"{f}|{s_}|{p}", d)])
            n_checks = len(report.order)
            numbered = rows.select((F.col("c3") + lookup[key] + 1).alias("row"),
                                   *[F.col(f"c{4 + i}") for i in range(len(names) + n_checks)])
            if report.wants_every_failure:
                batches = _batches(numbered.orderBy("row"), len(names), n_checks, source)
            else:
                batches = _examples(numbered, report, len(names), source)
        return report.finish(batches, source.label, source.csv_lines)
    finally:
        spark.catalog.dropTempView(view)


def _examples(numbered: Any, report: SqlReport, n_cells: int, source: DataSource) -> Iterator[pa.RecordBatch]:
    """Only the failing rows the examples need, without sorting every failing row.

    `ORDER BY row LIMIT n` is a top-n per partition (no full sort); each round asks for the
    checks still short of examples, after the last row already seen, until none is short.
    """
    from pyspark.sql import functions as F

    n_checks = len(report.order)
    after = 0
    while True:
        short = [j for j, t in enumerate(report.order)
                 if len(t.examples) < min(t.n_failed, report.tally.max_examples)]
        if not short:
            return
        failed = [F.col(f"c{4 + n_cells + j}") == F.lit(False) for j in short]
        condition = failed[0]
        for more in failed[1:]:
            condition = condition | more
        limit = max(report.tally.max_examples, 1) * len(short)
        try:
            rows = [tuple(r) for r in numbered.where((F.col("row") > after) & condition)
                    .orderBy("row").limit(limit).collect()]
        except Exception as exc:
            raise _read_error(exc, source, n_cells) from None
        if not rows:
            return
        yield _batch(rows, _schema(n_cells, n_checks))
        after = rows[-1][0]


def _schema(n_cells: int, n_checks: int) -> pa.Schema:
    return pa.schema([("row", pa.int64())] + [(f"s{i}", pa.string()) for i in range(n_cells)]
                     + [(f"k{j}", pa.bool_()) for j in range(n_checks)])


def _batches(frame: Any, n_cells: int, n_checks: int, source: DataSource) -> Iterator[pa.RecordBatch]:
    """The failing rows as Arrow batches (row, cells, checks), streamed from the executors."""
    schema = _schema(n_cells, n_checks)
    pending: list[Any] = []
    try:
        for row in frame.toLocalIterator():
            pending.append(tuple(row))
            if len(pending) >= _BATCH_ROWS:
                yield _batch(pending, schema)
                pending = []
    except Exception as exc:
        raise _read_error(exc, source, n_cells) from None
    if pending:
        yield _batch(pending, schema)


def _batch(rows: list[Any], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    return pa.RecordBatch.from_arrays([pa.array(col, type=field.type) for col, field in zip(columns, schema,
                                                                                               strict=True)],
                                      schema=schema)
