"""The SQL target: a spec's column constraints and rules as SQL for DuckDB, Spark and Postgres.

One module per concern: `dialect` (quoting and the few functions that differ), `cells` (a
column's cells as the checker types them), `expressions` (rule expressions, three-valued),
`checks` (every check as one nullable boolean), `query` (the assembled queries). Engines that
run these queries live in `synspec.validation_engines`; `render_sql` is `compile --emit sql`.
"""

from synspec.targets.sql.dialect import DIALECTS, Dialect
from synspec.targets.sql.query import DEFAULT_SOURCE, SqlQueries, build_queries, render_sql

__all__ = ["DEFAULT_SOURCE", "DIALECTS", "Dialect", "SqlQueries", "build_queries", "render_sql"]
