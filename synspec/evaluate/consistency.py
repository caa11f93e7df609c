"""Clinical consistency: every rule and column constraint's failing share, synthetic beside real.

The shares come from the spec's compiled rule checker (`synspec.targets.checker`), the same one
`synspec validate` and the generator use, so eval and generation never disagree on a rule.
"""

from __future__ import annotations

from typing import Any

from synspec import ir
from synspec.data import TypedTable
from synspec.targets.checker import compile_checker


def failure_shares(
    spec: ir.Spec, tables: dict[str, TypedTable]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Per check: name, kind, hard/soft and per table the failing share of applicable rows;
    and per table the share of rows failing at least one hard rule or column constraint."""
    checker = compile_checker(spec)
    reports = {name: checker.run(table) for name, table in tables.items()}
    first = next(iter(reports.values()))
    rows: list[dict[str, Any]] = []
    for index, outcome in enumerate(first.outcomes):
        row: dict[str, Any] = {
            "name": outcome.name,
            "kind": outcome.kind,
            "hard": outcome.hard,
            "description": outcome.description,
            "mostly": outcome.mostly,
        }
        for name, report in reports.items():
            other = report.outcomes[index]
            row[name] = other.n_failed / other.n_applicable if other.n_applicable else None
        rows.append(row)
    rates = {name: float(1 - r.row_ok.mean()) if len(r.row_ok) else 0.0 for name, r in reports.items()}
    return rows, rates
