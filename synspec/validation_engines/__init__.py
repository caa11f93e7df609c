"""Validation engines: who reads the table and runs the checks for `synspec validate --engine`.

- `pandas`: `synspec.validate`, chunks through pyarrow and the vectorised checker (the truth
  the others are tested against);
- `duckdb`: the SQL target run in-process by DuckDB (`duckdb_engine`);
- `spark`: the same SQL on a Spark session, local or a cluster (`spark_engine`, needs pyspark);
- `auto` (the default): pandas for files under `AUTO_DUCKDB_BYTES`, DuckDB above (docs/benchmarks.md
  has the measurements behind the threshold); with `--connect`, Spark for a master URL
  (`local[2]`, `spark://...`) and DuckDB otherwise.
Every engine returns the same report dict, writes the same violations file and calls the same
callbacks; `validate_with` is the one entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from synspec import ir
from synspec.errors import UserError
from synspec.validate import DEFAULT_CHUNK_ROWS, Failure
from synspec.validation_engines.sources import DataSource, resolve

__all__ = ["AUTO_DUCKDB_BYTES", "ENGINES", "choose_engine", "resolve", "validate_with"]

ENGINES = ("auto", "pandas", "duckdb", "spark")
# Files at least this large go to DuckDB under --engine auto (docs/benchmarks.md: below it the
# pandas path's start-up is cheaper than DuckDB's, above it DuckDB is several times faster).
AUTO_DUCKDB_BYTES = 64 * 1024 * 1024


def choose_engine(engine: str, source: DataSource) -> str:
    """The engine `--engine ENGINE` runs on `source` (`auto` resolved)."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}", where="--engine", hint="one of: " + ", ".join(ENGINES))
    if engine != "auto":
        if engine == "pandas" and source.kind == "table":
            raise UserError(f"--engine pandas reads files, not the table {source.table}", where="--engine",
                            hint="use --engine duckdb or spark with --connect for a table")
        return engine
    if source.kind == "table":
        return "duckdb"
    return "duckdb" if source.size_bytes >= AUTO_DUCKDB_BYTES else "pandas"


def validate_with(engine: str, data: str | Path, spec: ir.Spec, *, connect: str | None = None,
                  max_examples: int = 5, chunk_rows: int = DEFAULT_CHUNK_ROWS, violations: Path | None = None,
                  on_rows: Callable[[int], None] | None = None,
                  on_failures: Callable[[list[Failure]], None] | None = None) -> dict[str, Any]:
    """The validation report of DATA (a CSV, Parquet file or glob, or a table with `connect`)."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}", where="--engine", hint="one of: " + ", ".join(ENGINES))
    if max_examples < 0:
        raise UserError(f"--max-examples must be 0 or more, got {max_examples}", hint="e.g. --max-examples 5")
    if connect is not None and engine in ("pandas", "auto"):
        if engine == "auto":  # a Spark master URL names Spark; anything else a DuckDB file
            from synspec.validation_engines.spark_engine import is_master_url

            engine = "spark" if is_master_url(connect) else "duckdb"
        if engine == "pandas":
            raise UserError("--connect needs --engine duckdb or spark", where="--connect",
                            hint="a DuckDB file with --engine duckdb, a Spark master URL with --engine spark")
    source = resolve(str(data), spec, tables=connect is not None)
    if source.kind == "table" and connect is None:
        raise UserError(f"data file not found: {data}", where=str(data),
                        hint="check the path, or name a table and pass --connect")
    chosen = choose_engine(engine, source)
    if chosen == "pandas":
        from synspec.validation_engines.pandas_engine import validate_pandas

        return validate_pandas(source, spec, max_examples=max_examples, chunk_rows=chunk_rows,
                               violations=violations, on_rows=on_rows, on_failures=on_failures)
    if chosen == "duckdb":
        from synspec.validation_engines.duckdb_engine import validate_duckdb

        return validate_duckdb(source, spec, connect=Path(connect) if connect else None,
                               max_examples=max_examples, violations=violations, on_rows=on_rows,
                               on_failures=on_failures)
    from synspec.validation_engines.spark_engine import validate_spark

    return validate_spark(source, spec, master=connect, max_examples=max_examples, violations=violations,
                          on_rows=on_rows, on_failures=on_failures)
