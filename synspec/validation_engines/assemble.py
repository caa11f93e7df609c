"""Turning what a SQL engine returns into the report `synspec validate` prints.

An engine hands over two things: the `counts` query's one row (see
`synspec.targets.sql.query`) and the failing rows, in row order, as Arrow record batches of
(row number, the raw cells, one nullable boolean per check). This module adds them into the
pandas path's `CheckTally`, so `synspec.validate.summarize` builds the very same report, the
same examples and the same violations file lines, whatever engine read the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from synspec import ir
from synspec.targets.checker import CheckTally, Example, compile_checker
from synspec.validate import Failure, ViolationWriter, summarize

__all__ = ["SqlReport"]


class SqlReport:
    """Figures of one table validated by a SQL engine, built from its counts and failing rows."""

    def __init__(self, spec: ir.Spec, *, max_examples: int, violations: Path | None,
                 on_failures: Callable[[list[Failure]], None] | None = None) -> None:
        self.spec = spec
        self.tally = CheckTally(compile_checker(spec), max_examples=max_examples)
        self.order = list(self.tally.outcomes.values())
        self.writer = ViolationWriter(violations) if violations is not None else None
        self.violations = violations
        self.on_failures = on_failures

    @property
    def wants_every_failure(self) -> bool:
        return self.writer is not None or self.on_failures is not None

    def add_counts(self, values: Sequence[Any]) -> None:
        """The `counts` query's row (several rows, e.g. one per file split, are added up)."""
        values = [int(v or 0) for v in values]
        tally = self.tally
        tally.n_rows += values[0]
        tally.n_rows_ok += values[1]
        at = 2
        for totals in self.order:
            totals.n_rows += values[0]
            totals.n_applicable += values[at]
            totals.n_failed += values[at] - values[at + 1]  # applicable minus passed
            at += 2
        for column in self.spec.columns:
            summary = tally.columns[column.name]
            summary.n_missing += values[at]
            summary.n_bad += values[at + 1]
            summary.n_failed_rows += values[at + 2]
            at += 3

    def add_failing_rows(self, batch: pa.RecordBatch, csv_lines: bool) -> None:
        """Failing rows: column 0 the 1-based row, then the spec's raw cells, then the checks."""
        n_columns = len(self.spec.columns)
        rows = _int64s(batch.column(0))
        cells = {c.name: batch.column(1 + i) for i, c in enumerate(self.spec.columns)}
        failed = [_false(batch.column(1 + n_columns + j)) for j in range(len(self.order))]
        entries: list[tuple[int, int]] = []
        for j, (totals, mask) in enumerate(zip(self.order, failed, strict=True)):
            hits = np.flatnonzero(mask)
            room = self.tally.max_examples - len(totals.examples)
            for i in hits[:max(room, 0)]:
                shown = {c: _cell(cells[c], int(i)) for c in totals.columns}
                totals.examples.append(Example(int(rows[i]), shown))
            if self.wants_every_failure:
                entries.extend((int(i), j) for i in hits)
        if not entries:
            return
        entries.sort()
        found: list[Failure] = []
        for i, j in entries:
            totals = self.order[j]
            values = "; ".join(f"{c}={_text(_cell(cells[c], i))}" for c in totals.columns)
            row = int(rows[i])
            found.append((row, row + 1 if csv_lines else "", totals.name, totals.kind,
                          "hard" if totals.hard else "soft", ";".join(totals.columns), values))
        if self.writer is not None:
            self.writer.add(found)
        if self.on_failures is not None:
            self.on_failures(found)

    @property
    def complete(self) -> bool:
        """No further failing row can change the report (examples full, no file to write)."""
        if self.wants_every_failure:
            return False
        k = self.tally.max_examples
        return all(len(t.examples) >= min(t.n_failed, k) for t in self.order)

    def finish(self, batches: Iterable[pa.RecordBatch], label: str, csv_lines: bool) -> dict[str, Any]:
        """Read the failing rows, write the violations file, and return the report."""
        try:
            for batch in batches:
                if batch.num_rows:
                    self.add_failing_rows(batch, csv_lines)
                if self.complete:
                    break  # every example is in: the rest of the failing rows would change nothing
            if self.writer is not None:
                self.writer.commit()
        finally:
            if self.writer is not None:
                self.writer.discard()
        return summarize(self.tally, label, csv_lines, self.violations)


# The failing rows' columns read from their Arrow buffers: pyarrow's own conversions
# (`to_numpy`, `pyarrow.compute`) import pandas, 0.22 s of a run that otherwise never needs it.
def _int64s(array: pa.Array) -> np.ndarray:
    """An int64 array without nulls (the row numbers), as numpy, without a copy."""
    assert array.type == pa.int64() and array.null_count == 0
    return np.frombuffer(array.buffers()[1], dtype=np.int64, count=len(array), offset=array.offset * 8)


def _bits(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    """`length` bits of an Arrow bitmap from bit `offset` (Arrow numbers bits from the low end)."""
    return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")[offset:offset + length]


def _false(array: pa.Array) -> np.ndarray:
    """Where a nullable boolean array is FALSE (a failed check); NULL is not."""
    assert array.type == pa.bool_()
    validity, values = array.buffers()
    false = _bits(values, array.offset, len(array)) == 0
    if validity is not None:
        false &= _bits(validity, array.offset, len(array)).astype(bool)
    return false


def _cell(column: pa.Array | pa.ChunkedArray, i: int) -> str | None:
    value = column[i].as_py()
    return None if value is None else str(value)


def _text(value: str | None) -> str:
    return "(missing)" if value is None else value
