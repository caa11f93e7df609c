"""Clinical consistency: every rule and column constraint's failing share, synthetic beside real.

The shares come from the spec's compiled rule checker (`synspec.targets.checker`), the same one
`synspec validate` and the generator use, so eval and generation never disagree on a rule.
"""

from __future__ import annotations

from typing import Any

from synspec import ir
from synspec.data import TypedTable
from synspec.targets.checker import compile_checker


def failure_shares(spec: ir.Spec, tables: dict[str, TypedTable]) -> list[dict[str, Any]]:
    """One row per check: name, kind, hard/soft, and per table the failing share of applicable rows."""
    checker = compile_checker(spec)
    reports = {name: checker.run(table) for name, table in tables.items()}
    first = next(iter(reports.values()))
    rows: list[dict[str, Any]] = []
    for index, outcome in enumerate(first.outcomes):
        row: dict[str, Any] = {"name": outcome.name, "kind": outcome.kind, "hard": outcome.hard,
                               "description": outcome.description, "mostly": outcome.mostly}
        for name, report in reports.items():
            other = report.outcomes[index]
            row[name] = other.n_failed / other.n_applicable if other.n_applicable else None
        rows.append(row)
    return rows


def hard_failure_rate(spec: ir.Spec, table: TypedTable) -> float:
    """Share of rows failing at least one hard rule or column constraint."""
    report = compile_checker(spec).run(table)
    return float(1 - report.row_ok.mean()) if len(table) else 0.0
