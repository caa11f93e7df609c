"""Running every metric on the synthetic table and on the baseline, into one result.

`evaluate` returns an `EvalResult` (`result.py`): `figures` (headline figure -> synthetic and
baseline values), and the detail per area (`columns`, `pairs`, `consistency`, `privacy`,
`utility`) for the JSON and HTML reports. Arrays only the plots need ride along as its
`plot_data`, never serialised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from synspec import ir
from synspec.data import TypedTable, to_typed
from synspec.evaluate import consistency, fidelity, privacy, utility
from synspec.evaluate.baseline import baseline_raw
from synspec.evaluate.result import EvalResult, ManifestInputs
from synspec.evaluate.split import split_rows
from synspec.evaluate.tables import subset


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _max(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.max(present)) if present else None


def _fidelity_figures(
    columns: dict[str, dict[str, Any]], pairs: dict[str, Any], rule_pairs: dict[str, float]
) -> dict[str, float | None]:
    ks = [c.get("ks") for c in columns.values() if "ks" in c]
    tvd = [c.get("tvd") for c in columns.values() if "tvd" in c]
    return {
        "mean_ks": _mean(ks),
        "max_ks": _max(ks),
        "mean_wasserstein_iqr": _mean([c.get("wasserstein_iqr") for c in columns.values() if "ks" in c]),
        "mean_tvd": _mean(tvd),
        "max_tvd": _max(tvd),
        "max_missing_diff": _max([c["missing_diff"] for c in columns.values()]),
        "pearson_diff": (pairs["pearson"] or {}).get("mean_abs_diff"),
        "spearman_diff": (pairs["spearman"] or {}).get("mean_abs_diff"),
        "cramers_v_diff": (pairs["cramers_v"] or {}).get("mean_abs_diff"),
        "rule_pair_tvd": _mean(list(rule_pairs.values())),
        "boundary_excess": _max([c.get("boundary_excess") for c in columns.values() if "ks" in c]),
        "boundary_excess_over_noise": _max(
            [
                c["boundary_excess"] / c["boundary_noise"]
                for c in columns.values()
                if c.get("boundary_excess") is not None and c.get("boundary_noise")
            ]
        ),
    }


def _utility_figures(util: dict[str, Any] | None, label: str) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(
        ("tstr_trtr_auroc", "tstr_trtr_auprc", "tstr_auroc", "tstr_auprc")
    )
    if not util or label not in util:
        return out
    scores = [s for s in util[label].values() if s]
    if len(scores) == len(utility.MODELS):
        # The worst model: a gate on the ratio holds for both learners.
        out["tstr_auroc"] = min(s["auroc"] for s in scores)
        out["tstr_auprc"] = min(s["auprc"] for s in scores)
        ratios = [s.get("auroc_ratio") for s in scores]
        out["tstr_trtr_auroc"] = None if None in ratios else min(ratios)
        ratios = [s.get("auprc_ratio") for s in scores]
        out["tstr_trtr_auprc"] = None if None in ratios else min(ratios)
    return out


def evaluate(
    spec: ir.Spec,
    real: TypedTable,
    synthetic: TypedTable,
    *,
    holdout: TypedTable | None = None,
    holdout_frac: float = 0.2,
    seed: int = 0,
    prompt_examples: pd.DataFrame | None = None,
    manifest: ManifestInputs | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalResult:
    """Every figure for the synthetic table and for a baseline of the same size.

    `prompt_examples`: the rows the run's prompts showed (their copies are counted);
    `manifest`: what was read from the run manifest, recorded in the result.
    """
    # One OpenMP thread for gradient boosting: on a small shared machine its worker threads spin
    # against each other and fits ran 6x slower than single-threaded (measured: 1.6 s vs 0.27 s).
    with threadpool_limits(limits=1, user_api="openmp"):
        return _evaluate(
            spec,
            real,
            synthetic,
            holdout=holdout,
            holdout_frac=holdout_frac,
            seed=seed,
            prompt_examples=prompt_examples,
            manifest=manifest,
            progress=progress,
        )


def _evaluate(
    spec: ir.Spec,
    real: TypedTable,
    synthetic: TypedTable,
    *,
    holdout: TypedTable | None,
    holdout_frac: float,
    seed: int,
    prompt_examples: pd.DataFrame | None,
    manifest: ManifestInputs | None,
    progress: Callable[[str], None] | None,
) -> EvalResult:
    step = progress or (lambda _name: None)
    if holdout is None:
        train_rows, holdout_rows, stratified = split_rows(real.frame, spec, holdout_frac, seed)
        train, hold = subset(real, train_rows), subset(real, holdout_rows)
        full = real
        split = {"source": "split", "holdout_frac": holdout_frac, "stratified": stratified}
    else:
        train, hold = real, holdout
        full = TypedTable(frame=pd.concat([real.frame, holdout.frame], ignore_index=True), bad={}, missing={})
        split = {"source": "file", "stratified": False}
    split.update(train_rows=len(train), holdout_rows=len(hold), seed=seed)
    base = to_typed(baseline_raw(spec, len(synthetic), seed), spec)
    tables = {"synthetic": synthetic, "baseline": base}
    step("fidelity")
    result: dict[str, Any] = {
        "spec": spec.name,
        "rows": {"real": len(full), "synthetic": len(synthetic), "baseline": len(base)},
        "split": split,
    }
    figures: dict[str, dict[str, float | None]] = {}
    columns: dict[str, Any] = {}
    pairs: dict[str, Any] = {}
    for label, table in tables.items():
        columns[label] = fidelity.column_fidelity(spec, full.frame, table.frame)
        pair = fidelity.correlation_diffs(spec, full.frame, table.frame)
        rule_pairs = fidelity.rule_pair_tvd(spec, full.frame, table.frame)
        pairs[label] = {**pair, "rule_pairs": rule_pairs}
        figures[label] = _fidelity_figures(columns[label], pair, rule_pairs)
    step("detection")
    for label, table in tables.items():
        figures[label]["detection_auc"] = fidelity.detection_auc(spec, full.frame, table.frame, seed)
    step("clinical consistency")
    # The real side is the file given as --real (with an explicit holdout, the train file).
    checked = {"real": real, **tables}
    result["consistency"], rates = consistency.failure_shares(spec, checked)
    for label in tables:
        figures[label]["hard_failure_rate"] = rates[label]
    step("privacy")
    priv: dict[str, Any] = {}
    plot: dict[str, Any] = {}
    reference = privacy.PrivacyReference(spec, full.frame, train.frame, hold.frame, seed)
    plot["holdout_dcr"] = reference.holdout_dcr
    for label, table in tables.items():
        found = privacy.privacy_metrics(reference, table.frame)
        plot[f"dcr_{label}"] = found.pop("dcr")
        found["prompt_copy_rate"] = (
            privacy.prompt_copy_rate(spec, table.frame, prompt_examples)
            if prompt_examples is not None and len(prompt_examples)
            else None
        )
        priv[label] = found
        figures[label].update(
            {
                k: found[k]
                for k in (
                    "exact_copy_rate",
                    "prompt_copy_rate",
                    "dcr_close_share",
                    "dcr_median",
                    "nndr_median",
                    "mia_auc",
                )
            }
        )
    step("utility")
    util = utility.utility_metrics(
        spec, train.frame, hold.frame, {k: t.frame for k, t in tables.items()}, seed
    )
    for label in tables:
        figures[label].update(_utility_figures(util, label))
    names = list(figures["synthetic"])
    result["figures"] = {name: {label: figures[label][name] for label in tables} for name in names}
    result.update(columns=columns, pairs=pairs, privacy=priv, utility=util, manifest=manifest)
    return EvalResult.model_validate(result).with_plot_data(
        {**plot, "real": full.frame, "synthetic": synthetic.frame, "baseline": base.frame}
    )
