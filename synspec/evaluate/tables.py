"""Loading the tables eval compares: typed per the spec, refusing unparseable cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synspec import ir
from synspec.data import TypedTable, read_raw, require_parseable, to_typed
from synspec.errors import UserError


def load_table(path: Path, spec: ir.Spec, what: str) -> TypedTable:
    """The file as a TypedTable; a UserError naming the first cell that is not of its declared type."""
    raw = read_raw(path, spec)
    if raw.empty:
        raise UserError(
            f"the {what} table {path} has no rows",
            where=str(path),
            hint="eval needs at least a few rows in every table",
        )
    typed = to_typed(raw, spec)
    require_parseable(typed, raw, spec, path, what)
    return typed


def subset(table: TypedTable, rows: np.ndarray) -> TypedTable:
    """The rows at positions `rows`, renumbered from 0 (masks kept aligned)."""
    frame = table.frame.iloc[rows].reset_index(drop=True)
    raw = table.raw.iloc[rows].reset_index(drop=True) if table.raw is not None else None
    return TypedTable(
        frame=frame,
        bad={k: v[rows] for k, v in table.bad.items()},
        missing={k: v[rows] for k, v in table.missing.items()},
        too_many_places={k: v[rows] for k, v in table.too_many_places.items()},
        raw=raw,
    )
