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
from synspec.evaluate import boundary  # noqa: E402
from synspec.evaluate.encode import feature_columns  # noqa: E402
from synspec.evaluate.result import EvalResult, LevelColumn, NumericColumn  # noqa: E402

COLOURS = {"real": "#4c72b0", "synthetic": "#dd8452", "baseline": "#8c8c8c"}


def _uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_DISCRETE_BINS = 120  # up to this many grid values, a numeric histogram has one bin per value
_MAX_LEVELS = 25  # bar pairs shown per categorical column (the most common levels)


def _numeric_bins(column: ir.Column, values: list[np.ndarray]) -> list[float]:
    """Shared bin edges: one bin per value at the column's precision when there are few
    (a pile on one value then shows as one bar), else 40 bins over the pooled values."""
    pooled = np.concatenate([v for v in values if v.size] or [np.zeros(1)])
    per_unit = boundary.scale(column)
    low, high = np.round(pooled.min() * per_unit), np.round(pooled.max() * per_unit)
    if high - low + 1 <= _DISCRETE_BINS:
        return ((np.arange(low, high + 2) - 0.5) / per_unit).tolist()
    return np.histogram_bin_edges(pooled, bins=40).tolist()


def column_overlay(
    column: ir.Column, frames: dict[str, pd.DataFrame], mark: tuple[float, str] | None = None
) -> str:
    """Real against synthetic for one column: histograms of present values on shared bins
    (numerics) or bar pairs of level shares; `mark` draws a flagged boundary point."""
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    if column.is_numeric:
        values = {k: f[column.name].dropna().to_numpy(float) for k, f in frames.items()}
        bins = _numeric_bins(column, list(values.values()))
        for label, v in values.items():
            ax.hist(
                v,
                bins=bins,
                weights=np.full(v.size, 1 / v.size) if v.size else None,
                histtype="stepfilled" if label == "real" else "step",
                alpha=0.45 if label == "real" else 1.0,
                linewidth=1.5,
                label=label,
                color=COLOURS[label],
            )
        if mark is not None:
            ax.axvline(mark[0], color="#b00", linestyle="--", linewidth=1)
            left, right = ax.get_xlim()
            ax.annotate(
                mark[1],
                (mark[0], 0.95),
                xycoords=("data", "axes fraction"),
                fontsize=6,
                color="#b00",
                ha="right" if mark[0] > (left + right) / 2 else "left",
                va="top",
            )
    else:
        labelled = {k: boundary.level_labels(column, f[column.name]) for k, f in frames.items()}
        shares = {k: v.value_counts(normalize=True) for k, v in labelled.items()}
        pooled = pd.concat(list(shares.values())).groupby(level=0).sum().sort_values(ascending=False)
        levels = sorted(pooled.index[:_MAX_LEVELS], key=str)
        width = 0.8 / len(frames)
        for i, (label, share) in enumerate(shares.items()):
            ax.bar(
                np.arange(len(levels)) + i * width,
                [share.get(lv, 0) for lv in levels],
                width,
                label=label,
                color=COLOURS[label],
            )
        ax.set_xticks(
            np.arange(len(levels)) + 0.4 - width / 2, [str(lv) for lv in levels], rotation=30, fontsize=7
        )
    ax.set_ylabel("share of present values", fontsize=7)
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
    bins = np.histogram_bin_edges(pooled[np.isfinite(pooled)], bins=40).tolist()
    fig, ax = plt.subplots(figsize=(6, 3))
    for (label, values), colour in zip(series.items(), ("#4c72b0", "#dd8452", "#8c8c8c"), strict=True):
        ax.hist(values, bins=bins, density=True, histtype="step", linewidth=1.5, label=label,
                color=colour)
    ax.set_xlabel("distance to closest real record (L1, scaled)")
    ax.legend(fontsize=7)
    return _uri(fig)


def all_plots(spec: ir.Spec, result: EvalResult) -> dict[str, Any]:
    plot = result.plot_data
    frames = {k: plot[k] for k in ("real", "synthetic")}
    pairs = result.pairs["synthetic"]
    columns = result.columns["synthetic"]
    out: dict[str, Any] = {
        "columns": {c.name: column_overlay(c, frames, _mark(columns[c.name])) for c in feature_columns(spec)}
    }
    for method in ("pearson", "spearman"):
        found = getattr(pairs, method)
        if found is not None:
            out[method] = heatmaps(
                pairs.numeric_columns, {"real": found.real, "synthetic": found.synthetic}, method.title()
            )
    rows = [r.model_dump() for r in result.consistency]
    out["rules"] = rule_bars(rows) if rows else None
    out["dcr"] = dcr_histograms(plot)
    return out


def _mark(entry: NumericColumn | LevelColumn) -> tuple[float, str] | None:
    """The worst boundary point of a flagged column, to draw on its histogram."""
    if not isinstance(entry, NumericColumn) or not entry.piled:
        return None
    worst = entry.worst_point()
    return None if worst is None else (float(worst.value), f"{worst.value}: x{worst.ratio:.1f}")
