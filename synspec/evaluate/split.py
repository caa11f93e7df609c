"""Splitting the real table into train and holdout: seeded, stratified on the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from synspec import ir


def split_rows(
    frame: pd.DataFrame, spec: ir.Spec, holdout_frac: float, seed: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(train positions, holdout positions, stratified?) of a typed real frame."""
    positions = np.arange(len(frame))
    strata = None
    if spec.target is not None:
        # Missing targets form their own stratum so that they are split like the rest.
        strata = frame[spec.target].astype(object).where(frame[spec.target].notna(), "<missing>").astype(str)
        counts = strata.value_counts()
        n_holdout = int(np.ceil(holdout_frac * len(frame)))
        # sklearn refuses strata with a single row or more classes than holdout rows: split plainly then.
        if counts.min() < 2 or n_holdout < len(counts) or len(frame) - n_holdout < len(counts):
            strata = None
    train, holdout = train_test_split(
        positions,
        test_size=holdout_frac,
        random_state=seed,
        stratify=None if strata is None else strata.to_numpy(),
    )
    return np.sort(train), np.sort(holdout), strata is not None
