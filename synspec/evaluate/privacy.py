"""Privacy: how close synthetic rows come to real patients, measured against the FULL real table.

- exact-copy rate: share of synthetic rows equal (on every non-key column) to some real row;
- DCR: each synthetic row's distance to its closest real record, beside each holdout row's
  distance to its closest train record (what "new patient from the same population" looks like);
  the headline is the share of synthetic rows closer than the holdout's 5th percentile;
- NNDR: closest / second-closest real distance (low: the row singles out one patient);
- prompt-copy rate: share of synthetic rows equal to a prompt example of the run manifest;
- membership inference: score train and holdout rows by minus their distance to the closest
  synthetic row; the AUC of telling train (members) from holdout (0.5: no leak).
Distances are L1 on `encode.DistanceEncoder` (Gower-style scaling) with
`sklearn.neighbors.NearestNeighbors`; the AUC is `sklearn.metrics.roc_auc_score`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from synspec import ir
from synspec.evaluate.encode import DistanceEncoder, feature_columns


def row_hashes(spec: ir.Spec, frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash per row over the non-key columns (missing cells hash alike)."""
    names = [c.name for c in feature_columns(spec)]
    return pd.util.hash_pandas_object(frame[names].astype(str), index=False).to_numpy()


def copy_rate(spec: ir.Spec, synthetic: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Share of synthetic rows equal to at least one reference row."""
    if len(synthetic) == 0:
        return 0.0
    return float(np.isin(row_hashes(spec, synthetic), row_hashes(spec, reference)).mean())


def _index(reference: np.ndarray, k: int) -> NearestNeighbors:
    return NearestNeighbors(n_neighbors=min(k, len(reference)), metric="manhattan").fit(reference)


class PrivacyReference:
    """What every synthetic table is compared with, built once per evaluation.

    The real table's encoding, its neighbour index and row hashes; the holdout's distances to
    the train split (at most `max_rows` holdout rows: the 5th percentile and histogram of a
    5,000-row sample are stable); and the members/non-members of the membership attack
    (balanced samples of at most `max_rows` train and holdout rows).
    """

    def __init__(
        self,
        spec: ir.Spec,
        real: pd.DataFrame,
        train: pd.DataFrame,
        holdout: pd.DataFrame,
        seed: int,
        max_rows: int = 5_000,
    ) -> None:
        self.spec = spec
        self.encoder = DistanceEncoder.fit(spec, real)
        self.real_index = _index(self.encoder.transform(real), 2)
        self.real_hashes = row_hashes(spec, real)
        rng = np.random.default_rng(seed)
        queries = holdout.iloc[np.sort(rng.choice(len(holdout), min(len(holdout), max_rows), replace=False))]
        train_index = _index(self.encoder.transform(train), 1)
        self.holdout_dcr = train_index.kneighbors(self.encoder.transform(queries))[0][:, 0]
        self.n_attack = min(len(train), len(holdout), max_rows)
        members = train.iloc[rng.choice(len(train), self.n_attack, replace=False)]
        others = holdout.iloc[rng.choice(len(holdout), self.n_attack, replace=False)]
        self.attack_x = self.encoder.transform(pd.concat([members, others]))


def privacy_metrics(ref: PrivacyReference, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Every privacy figure of one synthetic table (see the module docstring)."""
    syn_x = ref.encoder.transform(synthetic)
    syn_d = ref.real_index.kneighbors(syn_x)[0]
    dcr = syn_d[:, 0]
    # Two real duplicates at distance 0 leave the ratio undefined; they do not single anyone out: 1.
    nndr = (
        np.divide(syn_d[:, 0], syn_d[:, 1], out=np.ones(len(syn_d)), where=syn_d[:, 1] > 0)
        if syn_d.shape[1] > 1
        else np.ones(len(syn_d))
    )
    p5 = float(np.percentile(ref.holdout_dcr, 5))
    # Strictly closer; when the holdout's 5th percentile is 0 (duplicates), the share counts nothing.
    closer = float((dcr < p5).mean())
    n = ref.n_attack
    mia_auc = None
    if n:
        attack = _index(syn_x, 1).kneighbors(ref.attack_x)[0][:, 0]
        mia_auc = float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], -attack))
    return {
        "exact_copy_rate": float(np.isin(row_hashes(ref.spec, synthetic), ref.real_hashes).mean()),
        "dcr_median": float(np.median(dcr)),
        "holdout_dcr_median": float(np.median(ref.holdout_dcr)),
        "holdout_dcr_p5": p5,
        "dcr_share_below_holdout_p5": closer,
        "nndr_median": float(np.median(nndr)),
        "mia_auc": mia_auc,
        "dcr": dcr,  # for the plots; dropped from the JSON
    }


def prompt_copy_rate(spec: ir.Spec, synthetic: pd.DataFrame, examples: pd.DataFrame) -> float:
    """Share of synthetic rows equal to one of the run's prompt examples."""
    return copy_rate(spec, synthetic, examples)
