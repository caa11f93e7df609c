"""Importance resampling of candidate rows: masked sampling corrected towards the model.

Owns choosing one row out of each group of K candidates decoded for the same seeded values.
Masked sampling renormalises the model's next-token distribution over what the grammar
allows, so probability mass that pointed outside an interval lands on its edge (a glucose of
exactly 200 for a non-diabetic). Each candidate carries log w = log p(row) - log q(row), the
summed log mass the grammar allowed (`decode.Decoded.log_weight`); picking a candidate with
probability proportional to w gives rows distributed as the model conditioned on the
grammar, exactly as K grows (sampling-importance-resampling), instead of the edge-heavy
masked distribution.

>>> import numpy as np
>>> choose(np.log([[1e-9, 1.0], [1.0, 1e-9]]), np.random.default_rng(0)).tolist()
[1, 0]
"""

from __future__ import annotations

import numpy as np


def choose(log_weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One candidate index per row of `log_weights` (groups x K), drawn in proportion to the
    weights; -inf marks a candidate that cannot be used (an incomplete row). A group with no
    usable candidate gets index 0 (the caller rejects it like any incomplete row)."""
    log_weights = np.asarray(log_weights, dtype=float)
    top = np.max(log_weights, axis=1, keepdims=True)
    usable = np.isfinite(top[:, 0])
    weights = np.where(usable[:, None], np.exp(log_weights - np.where(usable[:, None], top, 0.0)), 0.0)
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1]
    point = rng.random(len(log_weights)) * total
    picks = (cumulative <= point[:, None]).sum(axis=1)
    return np.where(usable, np.minimum(picks, log_weights.shape[1] - 1), 0)


def effective_sample_size(log_weights: np.ndarray) -> np.ndarray:
    """Kish's effective number of candidates per group (K when all weights are equal, 1 when
    one candidate takes all the weight): how much the resampling actually had to choose from."""
    log_weights = np.asarray(log_weights, dtype=float)
    top = np.max(log_weights, axis=1, keepdims=True)
    w = np.exp(log_weights - np.where(np.isfinite(top), top, 0.0))
    w = np.where(np.isfinite(log_weights), w, 0.0)
    return (w.sum(axis=1) ** 2) / np.maximum((w * w).sum(axis=1), 1e-300)
