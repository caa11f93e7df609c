"""Report figures as base64 PNG data URIs (matplotlib's Agg backend: no display, no files)."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from synspec import ir  # noqa: E402
from synspec.evaluate.encode import feature_columns  # noqa: E402

COLOURS = {"real": "#4c72b0", "synthetic": "#dd8452", "baseline": "#8c8c8c"}


def _uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def column_overlay(column: ir.Column, frames: dict[str, pd.DataFrame]) -> str:
    """Histogram (numerics, shared bins) or grouped bars (levels) of one column per table."""
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    if column.is_numeric:
        values = {k: f[column.name].dropna().to_numpy(float) for k, f in frames.items()}
        pooled = np.concatenate([v for v in values.values() if v.size] or [np.zeros(1)])
        bins = np.histogram_bin_edges(pooled, bins=30)
        for label, v in values.items():
            ax.hist(
                v, bins=bins.tolist(), density=True, histtype="step", linewidth=1.5, label=label,
                color=COLOURS[label],
            )
    else:
        levels = sorted({x for f in frames.values() for x in f[column.name].dropna().unique()}, key=str)
        width = 0.8 / len(frames)
        for i, (label, f) in enumerate(frames.items()):
            shares = f[column.name].value_counts(normalize=True)
            ax.bar(
                np.arange(len(levels)) + i * width,
                [shares.get(lv, 0) for lv in levels],
                width,
                label=label,
                color=COLOURS[label],
            )
        ax.set_xticks(
            np.arange(len(levels)) + 0.4 - width / 2, [str(lv) for lv in levels], rotation=30, fontsize=7
        )
    ax.set_title(column.name, fontsize=9)
    ax.legend(fontsize=6)
    return _uri(fig)


def heatmaps(names: list[str], matrices: dict[str, Any], title: str) -> str:
    """Correlation matrices side by side on one colour scale (-1 to 1)."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.6 * len(matrices), 3.4))
    for ax, (label, matrix) in zip(np.atleast_1d(axes), matrices.items(), strict=True):
        image = ax.imshow(np.asarray(matrix, float), vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(f"{title}: {label}", fontsize=9)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.set_yticks(range(len(names)), names, fontsize=6)
    fig.colorbar(image, ax=axes, shrink=0.7)
    return _uri(fig)


def rule_bars(rows: list[dict[str, Any]]) -> str:
    """Failing share per rule/check (only those failing somewhere), per table."""
    shown = [r for r in rows if any((r.get(k) or 0) > 0 for k in COLOURS)][:30]
    fig, ax = plt.subplots(figsize=(7, 0.3 * max(len(shown), 3) + 1))
    height = 0.8 / 3
    for i, label in enumerate(COLOURS):
        ax.barh(
            np.arange(len(shown)) + i * height,
            [r.get(label) or 0 for r in shown],
            height,
            label=label,
            color=COLOURS[label],
        )
    ax.set_yticks(np.arange(len(shown)) + height, [r["name"] for r in shown], fontsize=7)
    ax.set_xlabel("failing share of applicable rows")
    ax.legend(fontsize=7)
    return _uri(fig)


def dcr_histograms(plot: dict[str, np.ndarray]) -> str:
    """Distance to closest record: synthetic and baseline vs the holdout's own distances."""
    series = {
        "holdout (to train)": plot["holdout_dcr"],
        "synthetic": plot["dcr_synthetic"],
        "baseline": plot["dcr_baseline"],
    }
    pooled = np.concatenate(list(series.values()))
    bins = np.histogram_bin_edges(pooled[np.isfinite(pooled)], bins=40)
    fig, ax = plt.subplots(figsize=(6, 3))
    for (label, values), colour in zip(series.items(), ("#4c72b0", "#dd8452", "#8c8c8c"), strict=True):
        ax.hist(values, bins=bins.tolist(), density=True, histtype="step", linewidth=1.5, label=label,
                color=colour)
    ax.set_xlabel("distance to closest real record (L1, scaled)")
    ax.legend(fontsize=7)
    return _uri(fig)


def all_plots(spec: ir.Spec, result: dict[str, Any]) -> dict[str, Any]:
    plot = result["_plot"]
    frames = {k: plot[k] for k in ("real", "synthetic", "baseline")}
    pairs = result["pairs"]["synthetic"]
    out: dict[str, Any] = {"columns": {c.name: column_overlay(c, frames) for c in feature_columns(spec)}}
    for method in ("pearson", "spearman"):
        if pairs[method]:
            out[method] = heatmaps(
                pairs["numeric_columns"],
                {"real": pairs[method]["real"], "synthetic": pairs[method]["synthetic"]},
                method.title(),
            )
    out["rules"] = rule_bars(result["consistency"]) if result["consistency"] else None
    out["dcr"] = dcr_histograms(plot)
    return out
