"""From generated lines to the cells synspec writes, and which of them pass the spec.

Owns parsing row lines (`row_format.parse_row`), the canonical cell text (decimals with
exactly their places, the missing token, keys numbered by position) and running
`synspec.targets.checker` over a batch: a row is kept only if it passes every hard
check, key columns included, so a written table passes `synspec validate` exactly.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import numpy as np

from synspec import ir

if TYPE_CHECKING:
    from synspec.targets.checker import CheckReport

UNPARSEABLE = "row does not parse"


def canonical_cell(column: ir.Column, value: str | None) -> str:
    """The file text synspec writes: decimals with exactly `places` places, the missing token."""
    if value is None:
        return column.missing_token if column.missing_token is not None else ""
    if column.kind is ir.ColumnKind.DECIMAL and column.places is not None:
        try:
            return f"{Decimal(value):.{column.places}f}"
        except InvalidOperation:
            return value  # the checker rejects it
    return value


class RowChecker:
    """Parses generated lines and runs the spec's checker over a batch."""

    def __init__(self, spec: ir.Spec) -> None:
        from synspec.targets import checker, row_format

        self.spec = spec
        self.row_format = row_format
        self.checker = checker.compile_checker(spec)

    def check(self, lines: list[str], first_key: int) -> tuple[list[list[str] | None], Counter]:
        """Rows in spec column order (None where rejected) and rejection counts by reason."""
        cells, reasons, _ = self.check_with_expectations(lines, first_key)
        return cells, reasons

    def check_with_expectations(self, lines: list[str], first_key: int
                                ) -> tuple[list[list[str] | None], Counter, list[SoftOutcome | None]]:
        """`check`, plus per row the soft expectations it is applicable to and those it fails
        (None where the row is rejected), for `expectations.ExpectationQuota`."""
        import pandas as pd

        from synspec import data

        reasons: Counter = Counter()
        cells: list[list[str] | None] = []
        for i, line in enumerate(lines):
            try:
                values = self.row_format.parse_row(self.spec, line.rstrip("\n"))
            except (ValueError, KeyError):
                cells.append(None)
                reasons[UNPARSEABLE] += 1
                continue
            row = []
            for column in self.spec.columns:
                if column.is_key:
                    row.append(str(first_key + i))
                else:
                    row.append(canonical_cell(column, values.get(column.name)))
            cells.append(row)
        parsed = [i for i, row in enumerate(cells) if row is not None]
        soft: list[SoftOutcome | None] = [None] * len(cells)
        if not parsed:
            return cells, reasons, soft
        raw = pd.DataFrame([cells[i] for i in parsed], columns=list(self.spec.column_names), dtype=object)
        report = self.checker.run(data.to_typed(raw, self.spec))
        # Every hard check counts, key columns included: a written row must pass
        # `synspec validate` exactly (specs declare no range for keys, see docs/language.md).
        row_ok = np.ones(len(raw), dtype=bool)
        for outcome in report.outcomes:
            if not outcome.hard:
                continue
            failed = np.asarray(outcome.failed, dtype=bool)
            row_ok &= ~failed
            reasons[outcome.name] += int(failed.sum())
        per_row = soft_outcomes(report, len(raw))
        for j, i in enumerate(parsed):
            if not row_ok[j]:
                cells[i] = None
            else:
                soft[i] = per_row[j]
        return cells, reasons, soft


# Per row: (names of the soft expectations applicable to it, names of those it fails).
SoftOutcome = tuple[tuple[str, ...], tuple[str, ...]]


def soft_outcomes(report: CheckReport, n_rows: int) -> list[SoftOutcome]:
    """Each row's soft expectations from a checker report: where applicable, and where failed."""
    soft = [o for o in report.outcomes if not o.hard and o.mostly is not None]
    if not soft:
        return [((), ())] * n_rows
    applicable = np.column_stack([np.asarray(o.applicable, dtype=bool) for o in soft])
    failed = np.column_stack([np.asarray(o.failed, dtype=bool) for o in soft]) & applicable
    names = [o.name for o in soft]
    return [(tuple(names[k] for k in np.flatnonzero(applicable[j])),
             tuple(names[k] for k in np.flatnonzero(failed[j]))) for j in range(n_rows)]
