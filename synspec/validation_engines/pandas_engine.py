"""The pandas engine: `synspec.validate`'s chunked reader and checker, over one file or several.

One CSV or Parquet file is `validate_table` as it always was; a Parquet glob is its files read
one after another, rows numbered across them (the same numbering the SQL engines give).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from synspec import data, ir
from synspec.validate import Failure, validate_chunks, validate_table
from synspec.validation_engines.sources import DataSource

__all__ = ["validate_pandas"]


def validate_pandas(source: DataSource, spec: ir.Spec, *, max_examples: int, chunk_rows: int,
                    violations: Path | None, on_rows: Callable[[int], None] | None,
                    on_failures: Callable[[list[Failure]], None] | None) -> dict[str, Any]:
    if len(source.paths) == 1:
        report = validate_table(source.paths[0], spec, max_examples=max_examples, chunk_rows=chunk_rows,
                                violations=violations, on_rows=on_rows, on_failures=on_failures)
        report["data"] = source.label
        return report
    chunks = raw_chunks(source.paths, spec, chunk_rows)
    return validate_chunks(chunks, spec, label=source.label, csv_lines=False, max_examples=max_examples,
                           violations=violations, on_rows=on_rows,
                           on_failures=on_failures)


def raw_chunks(paths: tuple[Path, ...], spec: ir.Spec, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The files' rows as raw text chunks, numbered on across files (also what drift reads)."""
    start = 0
    for path in paths:
        for chunk in data.iter_raw(path, spec, chunk_rows=chunk_rows):
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            yield chunk
