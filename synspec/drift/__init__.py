"""Drift: does a table still show the statistics its spec declares? (`validate --stats`)

The pipeline is the spec's declared statistics, located (`targets.py`) -> sufficient statistics
of the table, gathered from typed chunks (`accumulate.py`, so any reader or engine can feed it
and memory stays bounded) -> each statistic judged against its sampling error at the observed
row count (`check.py`) -> a report: every drifted statistic with where it is declared, the
declared and the observed value and the band the data could have shown by chance.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from synspec import ir
from synspec.data import TypedTable, to_typed
from synspec.drift.accumulate import StatsAccumulator
from synspec.drift.check import ALPHA, Measured, measure
from synspec.drift.targets import Target, read_targets

__all__ = ["ALPHA", "Measured", "StatsAccumulator", "Target", "accumulator", "drift_chunks", "drift_report",
           "read_targets"]


def accumulator(spec: ir.Spec, text: str) -> StatsAccumulator:
    """An empty accumulator for every statistic `spec` (whose source is `text`) declares."""
    return StatsAccumulator(spec, read_targets(spec, text))


def drift_report(acc: StatsAccumulator, alpha: float = ALPHA) -> dict[str, Any]:
    """The drift report as plain data (what `validate --stats --format json` prints under "stats")."""
    measured = measure(acc, alpha)
    tested = [m for m in measured if m.p_value is not None]
    drifted = [m for m in tested if m.drifted]
    return {
        "ok": not drifted,
        "rows": acc.rows,
        "alpha": alpha,
        "tested": len(tested),
        "p_threshold": alpha / max(1, len(tested)),
        "drifted": [m.to_dict() for m in drifted],
        "not_measured": [m.to_dict() for m in measured if m.p_value is None],
        "statistics": [m.to_dict() for m in measured],
    }


def drift_chunks(chunks: Iterable[pd.DataFrame | TypedTable], spec: ir.Spec, text: str,
                 alpha: float = ALPHA) -> dict[str, Any]:
    """The drift report of a table given as raw string chunks (`data.iter_raw`'s) or typed ones."""
    acc = accumulator(spec, text)
    for chunk in chunks:
        acc.add(chunk if isinstance(chunk, TypedTable) else to_typed(chunk, spec))
    return drift_report(acc, alpha)
