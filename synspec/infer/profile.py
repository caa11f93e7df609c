"""Profiling one column of cell texts: its kind, encoding, missing token and aggregates.

Only aggregates leave this module (counts, shares, min/max, mean, sd, quartiles,
level counts); the caller decides which levels are too rare to publish.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from synspec.errors import UserError

# Tokens that mean "no value" in medical extracts. Order matters only for messages.
MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "NULL", "null")

# Boolean encodings recognised when a column holds exactly these two texts
# (compared case-insensitively; the file's own spelling is kept). True token first.
BOOLEAN_PAIRS = (("1", "0"), ("y", "n"), ("yes", "no"), ("true", "false"), ("t", "f"))

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+(?:\.(\d+))?")


@dataclass
class Profile:
    """What inference learned about one column."""

    name: str
    position: int
    kind: str  # integer | decimal | categorical | boolean | empty (every cell missing)
    n_rows: int
    n_missing: int = 0
    missing_token: str | None = None
    places: int = 0
    true_token: str | None = None
    false_token: str | None = None
    level_counts: Counter = field(default_factory=Counter)
    values: np.ndarray | None = None  # numeric columns: float64 with NaN for missing
    # Integer columns: exact bounds from the text, since float64 rounds beyond 2**53.
    int_range: tuple[int, int] | None = None

    @property
    def missing_rate(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else 0.0

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("integer", "decimal")

    def numeric_values(self) -> np.ndarray | None:
        """Values as float64 (booleans as 1/0), NaN for missing; None for categorical."""
        return self.values if self.is_numeric or self.kind == "boolean" else None


def profile_column(path: str, name: str, position: int, cells: tuple[str, ...]) -> Profile:
    """Decide the kind of a column from its texts and collect its aggregates."""
    counts = Counter(cells)
    tokens = [tok for tok in MISSING_TOKENS if tok in counts]
    if len(tokens) > 1:
        listed = ", ".join(f'"{tok}"' for tok in tokens)
        raise UserError(f"column `{name}` writes missing values in {len(tokens)} ways ({listed})",
                        where=f"{path}: column {position + 1} ({name})",
                        hint="a spec declares one missing token per column; make the file use one")
    token = tokens[0] if tokens else None
    n_missing = counts.pop(token, 0) if token is not None else 0
    prof = Profile(name=name, position=position, kind="categorical", n_rows=len(cells),
                   n_missing=n_missing, missing_token=token)
    present = [c for c in cells if c != token] if token is not None else list(cells)
    if not counts:
        prof.kind = "empty"
        return prof

    distinct = list(counts)
    if len(distinct) == 2 and (pair := _boolean_pair(distinct)) is not None:
        prof.kind = "boolean"
        prof.true_token, prof.false_token = pair
        prof.level_counts = counts
        prof.values = _boolean_values(cells, pair[0], token)
        return prof
    if all(_INTEGER.fullmatch(text) for text in distinct):
        prof.kind = "integer"
        ints = [int(text) for text in distinct]
        prof.int_range = (min(ints), max(ints))
    elif all(_DECIMAL.fullmatch(text) for text in distinct):
        prof.kind = "decimal"
        matches = [m for m in map(_DECIMAL.fullmatch, distinct) if m is not None]
        prof.places = max(len(m.group(1) or "") for m in matches)
    else:
        prof.kind = "categorical"
        prof.level_counts = counts
        return prof
    values = np.full(len(cells), np.nan)
    present_mask = np.fromiter((c != token for c in cells), bool, len(cells)) if token is not None \
        else np.ones(len(cells), bool)
    values[present_mask] = np.asarray(present, dtype=float)
    prof.values = values
    return prof


def _boolean_pair(distinct: list[str]) -> tuple[str, str] | None:
    lowered = {text.lower(): text for text in distinct}
    for true_tok, false_tok in BOOLEAN_PAIRS:
        if set(lowered) == {true_tok, false_tok}:
            return lowered[true_tok], lowered[false_tok]
    return None


def _boolean_values(cells: tuple[str, ...], true_token: str, missing: str | None) -> np.ndarray:
    out = np.fromiter((1.0 if c == true_token else 0.0 for c in cells), float, len(cells))
    if missing is not None:
        out[np.fromiter((c == missing for c in cells), bool, len(cells))] = np.nan
    return out
