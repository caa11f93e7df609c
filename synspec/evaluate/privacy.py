"""Privacy: how close synthetic rows come to real patients, each figure beside what chance gives.

- exact-copy rate: share of synthetic rows equal (on every non-key column) to some row of the
  FULL real table; beside it, the holdout's copy rate: the share of holdout rows equal to some
  train row, what a new patient from the same population matches by chance (tables of coarse
  columns repeat rows: diabetes holds 96,146 distinct rows of 100,000);
- DCR: each synthetic row's distance to its closest TRAIN record, beside each holdout row's
  distance to its closest train record. Both are measured against the same rows, since a
  larger reference set alone brings every nearest neighbour closer. The headline is the
  close share: synthetic rows at or below the holdout's 5th percentile, beside the holdout's
  own share there (5% without ties; more when holdout rows duplicate train rows, where the
  5th percentile is 0 and a strict "below" could never fail);
- NNDR: closest / second-closest train distance (low: the row singles out one patient);
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

    The real table's encoding and row hashes; the train split's neighbour index; the holdout's
    distances to the train split and its copy rate (at most `max_rows` holdout rows: the 5th
    percentile and histogram of a 5,000-row sample are stable); and the members/non-members
    of the membership attack (balanced samples of at most `max_rows` train and holdout rows).
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
        self.real_hashes = row_hashes(spec, real)
        rng = np.random.default_rng(seed)
        queries = holdout.iloc[np.sort(rng.choice(len(holdout), min(len(holdout), max_rows), replace=False))]
        self.train_index = _index(self.encoder.transform(train), 2)
        self.holdout_dcr = self.train_index.kneighbors(self.encoder.transform(queries))[0][:, 0]
        self.holdout_dcr_p5 = float(np.percentile(self.holdout_dcr, 5))
        self.holdout_close_share = close_share(self.holdout_dcr, self.holdout_dcr_p5)
        self.holdout_copy_rate = float(np.isin(row_hashes(spec, queries), row_hashes(spec, train)).mean())
        self.n_attack = min(len(train), len(holdout), max_rows)
        members = train.iloc[rng.choice(len(train), self.n_attack, replace=False)]
        others = holdout.iloc[rng.choice(len(holdout), self.n_attack, replace=False)]
        self.attack_x = self.encoder.transform(pd.concat([members, others]))


def close_share(dcr: np.ndarray, p5: float) -> float:
    """Share of distances at or below `p5` (a float tolerance, so ties at 0 count)."""
    return float((dcr <= p5 + 1e-9).mean()) if len(dcr) else 0.0


def privacy_metrics(ref: PrivacyReference, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Every privacy figure of one synthetic table (see the module docstring)."""
    syn_x = ref.encoder.transform(synthetic)
    syn_d = ref.train_index.kneighbors(syn_x)[0]
    dcr = syn_d[:, 0]
    # Two real duplicates at distance 0 leave the ratio undefined; they do not single anyone out: 1.
    nndr = (
        np.divide(syn_d[:, 0], syn_d[:, 1], out=np.ones(len(syn_d)), where=syn_d[:, 1] > 0)
        if syn_d.shape[1] > 1
        else np.ones(len(syn_d))
    )
    n = ref.n_attack
    mia_auc = None
    if n:
        attack = _index(syn_x, 1).kneighbors(ref.attack_x)[0][:, 0]
        mia_auc = float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], -attack))
    return {
        "exact_copy_rate": float(np.isin(row_hashes(ref.spec, synthetic), ref.real_hashes).mean()),
        "holdout_copy_rate": ref.holdout_copy_rate,
        "dcr_median": float(np.median(dcr)),
        "holdout_dcr_median": float(np.median(ref.holdout_dcr)),
        "holdout_dcr_p5": ref.holdout_dcr_p5,
        "dcr_close_share": close_share(dcr, ref.holdout_dcr_p5),
        "holdout_dcr_close_share": ref.holdout_close_share,
        "nndr_median": float(np.median(nndr)),
        "mia_auc": mia_auc,
        "dcr": dcr,  # for the plots; dropped from the JSON
    }


def prompt_copy_rate(spec: ir.Spec, synthetic: pd.DataFrame, examples: pd.DataFrame) -> float:
    """Share of synthetic rows equal to one of the run's prompt examples."""
    return copy_rate(spec, synthetic, examples)
