"""The DuckDB engine: `synspec validate --engine duckdb`, the SQL target run in-process.

Reads a CSV with every column as text (no type sniffing, no NULL guessing: an empty cell stays
an empty string, as in the pandas path), Parquet files (one or a glob; typed columns rendered as
the text pyarrow would give, `_text_of`), or a table of a DuckDB database (`--connect
FILE.duckdb`, opened read-only). Two queries: the counts (one streaming aggregate) and the
failing rows in row order, streamed in Arrow batches. DuckDB keeps the scan order
(`preserve_insertion_order`), so `row_number() OVER ()` numbers rows as they are in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from synspec import data, ir
from synspec.errors import UserError
from synspec.targets.sql import build_queries
from synspec.targets.sql.dialect import DIALECTS
from synspec.validate import Failure
from synspec.validation_engines.assemble import SqlReport
from synspec.validation_engines.sources import DataSource, require_no_blank_lines

__all__ = ["validate_duckdb"]

D = DIALECTS["duckdb"]
ROW = "synspec_row"
# An empty CSV cell must stay '' (as pyarrow reads it), so NULL is spelled as text no file holds.
_NEVER_NULL = "\x00synspec:no-null\x00"
_BATCH_ROWS = 65_536


def _source_names(spec: ir.Spec) -> list[str]:
    return [f"s{i}" for i in range(len(spec.columns))]


def _csv_relation(path: Path, spec: ir.Spec) -> str:
    columns = ", ".join(f"{D.string(name)}: 'VARCHAR'" for name in _source_names(spec))
    return (f"read_csv({D.string(str(path))}, header = true, columns = {{{columns}}}, delim = ',', "
            f"quote = '\"', escape = '\"', auto_detect = false, strict_mode = true, null_padding = false, "
            f"nullstr = {D.string(_NEVER_NULL)})")


def _text_of(ref: str, type_name: str, column: ir.Column) -> str:
    """A typed column as the text `synspec.data` makes of a Parquet cell (nulls stay NULL)."""
    kind = type_name.upper()
    if kind == "VARCHAR":
        return ref
    if kind == "BOOLEAN" and column.kind is ir.ColumnKind.BOOLEAN:
        assert column.true_token is not None and column.false_token is not None
        true, false = D.string(column.true_token), D.string(column.false_token)
        return f"CASE WHEN {ref} THEN {true} WHEN NOT {ref} THEN {false} END"
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        # pyarrow writes a whole float without a fraction (3.0 -> "3"), DuckDB would write "3.0".
        return (f"CASE WHEN {ref} = trunc({ref}) AND abs({ref}) < 1e15 "
                f"THEN CAST(CAST({ref} AS BIGINT) AS VARCHAR) ELSE CAST({ref} AS VARCHAR) END")
    if kind == "BOOLEAN":
        return f"CAST({ref} AS VARCHAR)"
    return f"CAST({ref} AS VARCHAR)"


def _typed_relation(con: Any, relation: str, spec: ir.Spec, where: str) -> str:
    """A relation with typed columns as text, columns checked against the spec by name."""
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except Exception as exc:  # duckdb raises its own error classes, one per failure kind
        raise UserError(f"cannot read {where}: {_first_line(exc)}", where=where,
                        hint="is it a Parquet file (or a table of the --connect database)?") from None
    names = [row[0] for row in described]
    data.check_header(names, spec, Path(where))
    types = dict((row[0], row[1]) for row in described)
    items = [f"{_text_of(D.ident(c.name), types[c.name], c)} AS {D.ident(s)}"
             for c, s in zip(spec.columns, _source_names(spec), strict=True)]
    return f"(SELECT {', '.join(items)} FROM {relation})"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _connect(connect: Path | None) -> Any:
    """An in-memory connection, or the `--connect` database read-only; DuckDB's own progress bar off.

    DuckDB prints its bar to standard output (even when that is a file) for a query longer than
    two seconds, which would land in a script's output or a `--json` report; the CLI shows its
    own progress instead.
    """
    import duckdb

    if connect is None:
        con = duckdb.connect()
    elif not connect.is_file():
        raise UserError(f"DuckDB database not found: {connect}", where=str(connect),
                        hint="--connect takes the path of a .duckdb file (for --engine duckdb)")
    else:
        try:
            con = duckdb.connect(str(connect), read_only=True)
        except Exception as exc:
            raise UserError(f"cannot open the DuckDB database {connect}: {_first_line(exc)}",
                            where=str(connect), hint="is it a DuckDB database file?") from None
    con.execute("SET enable_progress_bar = false")
    return con


def _table_relation(con: Any, name: str, connect: Path | None) -> str:
    quoted = ".".join(D.ident(part) for part in name.split("."))
    try:
        con.execute(f"SELECT * FROM {quoted} LIMIT 0")
    except Exception:
        tables = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
        where = str(connect) if connect is not None else "--connect"
        raise UserError(f"no table {name} in {where}", where=where,
                        hint="tables there: " + (", ".join(tables) if tables else "none")) from None
    return quoted


def validate_duckdb(source: DataSource, spec: ir.Spec, *, connect: Path | None = None, max_examples: int = 5,
                    violations: Path | None = None, on_rows: Callable[[int], None] | None = None,
                    on_failures: Callable[[list[Failure]], None] | None = None,
                    threads: int | None = None, memory_limit: str | None = None) -> dict[str, Any]:
    """The report of `source` checked by DuckDB (the same dict `synspec.validate.validate_table` returns)."""
    con = _connect(connect)
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            con.execute(f"SET memory_limit = {D.string(memory_limit)}")
        con.execute("SET preserve_insertion_order = true")
        if source.kind == "csv":
            # Blank lines are refused once the rows are counted (require_no_blank_lines).
            relation = _csv_relation(source.paths[0], spec)
            where = str(source.paths[0])
        elif source.kind == "parquet":
            files = ", ".join(D.string(str(p)) for p in source.paths)
            relation = _typed_relation(con, f"read_parquet([{files}])", spec, source.label)
            where = source.label
        else:
            assert source.table is not None
            relation = _typed_relation(con, _table_relation(con, source.table, connect), spec, source.table)
            where = source.table
        names = _source_names(spec)
        numbered = f"(SELECT row_number() OVER () AS {ROW}, * FROM {relation})"
        queries = build_queries(spec, "duckdb", source=relation, source_columns=names)
        failing = build_queries(spec, "duckdb", source=numbered, source_columns=names, keep=[ROW, *names])
        report = SqlReport(spec, max_examples=max_examples, violations=violations, on_failures=on_failures)
        counts = _run(con, queries.counts, source, where, len(names)).fetchall()[0]
        report.add_counts(counts)
        if source.kind == "csv":
            require_no_blank_lines(source.paths[0], rows=report.tally.n_rows)
        if on_rows is not None:
            on_rows(report.tally.n_rows)
        any_failed = report.tally.n_rows_ok < report.tally.n_rows or any(
            t.n_failed for t in report.order)
        batches: Iterator[pa.RecordBatch] = iter(())
        if any_failed:
            relation_ = _sql(con, failing.failures, source, where, len(names))
            # DuckDB 2.x names it to_arrow_reader, 1.x fetch_arrow_reader: one streaming reader.
            stream = getattr(relation_, "to_arrow_reader", None) or relation_.fetch_arrow_reader
            batches = _guarded(iter(stream(_BATCH_ROWS)), source, where, len(names))
        return report.finish(batches, source.label, source.csv_lines)
    finally:
        con.close()


def _guarded(batches: Iterator[pa.RecordBatch], source: DataSource, where: str,
             n_columns: int) -> Iterator[pa.RecordBatch]:
    """The failing rows' batches; a read error while streaming them becomes a UserError."""
    try:
        yield from batches
    except Exception as exc:
        raise _read_error(exc, source, where, n_columns) from None


def _sql(con: Any, query: str, source: DataSource, where: str, n_columns: int) -> Any:
    try:
        return con.sql(query)
    except Exception as exc:
        raise _read_error(exc, source, where, n_columns) from None


def _run(con: Any, query: str, source: DataSource, where: str, n_columns: int) -> Any:
    try:
        return con.execute(query)
    except Exception as exc:
        raise _read_error(exc, source, where, n_columns) from None


def _read_error(exc: BaseException, source: DataSource, where: str, n_columns: int) -> UserError:
    """A UserError for a table DuckDB could not read, located as the pandas path would.

    DuckDB skips blank lines, so a CSV's blank line above the line it stopped at is refused
    first (raised from here), as the pandas path refuses it before reading rows.
    """
    text = str(exc)
    if source.kind == "csv":
        path = source.paths[0]
        require_no_blank_lines(path)  # a blank line above the fault is the one to report, as in pandas
        if "unicode" in text.lower() or "utf-8" in text.lower():
            return data._utf8_error(path)
        if "Expected Number of Columns" in text:
            return data._csv_error(path, "columns", n_columns)
    return UserError(f"cannot read {where}: {_first_line(exc)}", where=where,
                     hint="check that the file is complete and in the format its name says")
