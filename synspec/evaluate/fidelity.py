"""Fidelity: how closely a synthetic table's distributions follow the real table's.

Per column: KS statistic and Wasserstein distance (`scipy.stats.ks_2samp`,
`scipy.stats.wasserstein_distance`; the latter also divided by the real IQR) for numerics,
total variation distance of level shares for categoricals and booleans, and the difference of
missing rates; boundary excess and top values (`boundary`). Pairs: Pearson/Spearman
correlation-matrix differences (`pandas.DataFrame.corr`), Cramér's V differences
(`scipy.stats.contingency.association`), and the TVD of joint distributions of column pairs
the spec's rules link. Detection: cross-validated AUC of a
classifier telling real from synthetic rows (`sklearn.model_selection.cross_val_score`).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, wasserstein_distance
from scipy.stats.contingency import association
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from threadpoolctl import threadpool_limits

from synspec import ir
from synspec.evaluate import boundary
from synspec.evaluate.encode import feature_columns, model_matrix
from synspec.evaluate.privacy import row_hashes


def _shares(values: pd.Series, levels: list[Any]) -> np.ndarray:
    present = values.dropna()
    if present.empty:
        return np.zeros(len(levels))
    counts = present.value_counts()
    return np.array([counts.get(level, 0) for level in levels], dtype=float) / len(present)


def tvd(real: pd.Series, synthetic: pd.Series) -> float:
    """Total variation distance of the present values' shares: 0 identical, 1 disjoint."""
    levels = sorted(set(real.dropna().unique()) | set(synthetic.dropna().unique()), key=str)
    if not levels:
        return 0.0
    return float(0.5 * np.abs(_shares(real, levels) - _shares(synthetic, levels)).sum())


def column_fidelity(spec: ir.Spec, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per generated column: kind, missing-rate difference, the distribution distance, the
    boundary excess with its points (numerics) and the top values."""
    out: dict[str, dict[str, Any]] = {}
    for column in feature_columns(spec):
        r, s = real[column.name], synthetic[column.name]
        entry: dict[str, Any] = {
            "kind": column.kind.value,
            "missing_real": float(r.isna().mean()),
            "missing_synthetic": float(s.isna().mean()),
        }
        entry["missing_diff"] = abs(entry["missing_real"] - entry["missing_synthetic"])
        if column.is_numeric:
            rv, sv = r.dropna().to_numpy(float), s.dropna().to_numpy(float)
            if rv.size and sv.size:
                q1, q3 = np.percentile(rv, [25, 75])
                iqr = float(q3 - q1) or float(rv.max() - rv.min()) or 1.0
                entry["ks"] = float(ks_2samp(rv, sv).statistic)
                entry["wasserstein"] = float(wasserstein_distance(rv, sv))
                entry["wasserstein_iqr"] = entry["wasserstein"] / iqr
            else:
                entry["ks"] = entry["wasserstein"] = entry["wasserstein_iqr"] = None
            entry.update(boundary.column_boundaries(spec, column, r, s))
        else:
            entry["tvd"] = tvd(r, s)
        entry["top_values"] = boundary.top_values(column, r, s)
        out[column.name] = entry
    return out


def _upper(matrix: pd.DataFrame) -> np.ndarray:
    values = matrix.to_numpy(dtype=float)
    return values[np.triu_indices_from(values, k=1)]


# Fewer rows than this in either table: correlations and Cramér's V are not measurable.
MIN_ROWS_FOR_PAIRS = 3


def correlation_diffs(spec: ir.Spec, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Mean and max absolute differences of the correlation and Cramér's V matrices.

    None (with a `note` saying why) when either table has fewer than `MIN_ROWS_FOR_PAIRS` rows:
    no association is defined on one row, and scoring its undefined correlations as 0 would
    report a difference that was never measured.
    """
    numeric = [c.name for c in feature_columns(spec) if c.kind is not ir.ColumnKind.CATEGORICAL]
    categorical = [c.name for c in feature_columns(spec) if c.kind is ir.ColumnKind.CATEGORICAL]
    out: dict[str, Any] = {"numeric_columns": numeric}
    few = min(len(real), len(synthetic))
    if few < MIN_ROWS_FOR_PAIRS:
        which = "synthetic" if len(synthetic) <= len(real) else "real"
        out.update(pearson=None, spearman=None, categorical_columns=categorical, cramers_v=None,
                   note=f"not measurable: the {which} table has {few} row{'s' * (few != 1)}; "
                        f"correlations need at least {MIN_ROWS_FOR_PAIRS}")
        return out
    for method in ("pearson", "spearman"):
        if len(numeric) < 2:
            out[method] = None
            continue
        rc = real[numeric].astype(float).corr(method=method)
        sc = synthetic[numeric].astype(float).corr(method=method)
        # A constant column has no correlation (NaN); count it as 0 so the difference stays defined.
        diff = np.abs(np.nan_to_num(_upper(rc)) - np.nan_to_num(_upper(sc)))
        out[method] = {
            "mean_abs_diff": float(diff.mean()),
            "max_abs_diff": float(diff.max()),
            "real": rc.fillna(0).round(4).to_numpy().tolist(),
            "synthetic": sc.fillna(0).round(4).to_numpy().tolist(),
        }
    out["categorical_columns"] = categorical
    pairs = list(combinations(categorical, 2))
    if pairs:
        diffs = {
            f"{a}~{b}": abs(cramers_v(real[a], real[b]) - cramers_v(synthetic[a], synthetic[b]))
            for a, b in pairs
        }
        out["cramers_v"] = {
            "mean_abs_diff": float(np.mean(list(diffs.values()))),
            "max_abs_diff": float(max(diffs.values())),
            "pairs": diffs,
        }
    else:
        out["cramers_v"] = None
    return out


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Cramér's V of two categorical columns over rows where both are present (0 when undefined)."""
    both = a.notna() & b.notna()
    table = pd.crosstab(a[both], b[both]).to_numpy()
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 0.0
    return float(association(table, method="cramer"))


def _binned(column: ir.Column, real: pd.Series, values: pd.Series) -> pd.Series:
    """Numerics cut at the real deciles; other columns as their text; missing as its own cell."""
    if column.is_numeric:
        edges = np.unique(np.nanpercentile(real.to_numpy(float), np.linspace(0, 100, 11)))
        codes = np.searchsorted(edges[1:-1], values.to_numpy(float), side="right").astype(object)
        codes[values.isna().to_numpy()] = "<missing>"
        return pd.Series(codes.astype(str), index=values.index)
    return values.astype(object).where(values.notna(), "<missing>").astype(str)


def rule_pair_tvd(spec: ir.Spec, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    """TVD of the joint (binned) distribution of every column pair a rule links."""
    pairs: list[tuple[str, str]] = []
    for rule in spec.rules:
        names = [c for c in rule.columns if not spec.column(c).is_key]
        pairs.extend(p for p in combinations(names, 2) if p not in pairs and p[::-1] not in pairs)
    out: dict[str, float] = {}
    for a, b in pairs:
        ca, cb = spec.column(a), spec.column(b)
        jr = _binned(ca, real[a], real[a]) + "|" + _binned(cb, real[b], real[b])
        js = _binned(ca, real[a], synthetic[a]) + "|" + _binned(cb, real[b], synthetic[b])
        out[f"{a}~{b}"] = tvd(jr, js)
    return out


def detection_auc(
    spec: ir.Spec, real: pd.DataFrame, synthetic: pd.DataFrame, seed: int, max_rows: int = 10_000
) -> float | None:
    """5-fold cross-validated AUC of gradient boosting telling real rows from synthetic ones.

    Both classes are subsampled to the same size (at most `max_rows`) so that 0.5 means
    indistinguishable whatever the table sizes. Identical rows share a fold (grouped by row
    hash): otherwise a synthetic copy of a real row teaches the model the opposite label of its
    twin in the test fold, and a table of copies scores far below 0.5 instead of at 0.5.
    """
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic), max_rows)
    if n < 10:
        return None
    r = real.iloc[rng.choice(len(real), n, replace=False)]
    s = synthetic.iloc[rng.choice(len(synthetic), n, replace=False)]
    x = np.vstack([model_matrix(spec, r), model_matrix(spec, s)])
    y = np.r_[np.zeros(n), np.ones(n)]
    model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    groups = np.r_[row_hashes(spec, r), row_hashes(spec, s)]
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    # One OpenMP thread: see pipeline.evaluate (oversubscribed boosting threads spin).
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = cross_val_score(model, x, y, cv=folds, groups=groups, scoring="roc_auc")
    return float(np.mean(scores))
