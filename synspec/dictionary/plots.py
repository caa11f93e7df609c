"""Small plots of a column's declared distribution, as PNG data URIs (matplotlib, Agg backend).

Owns drawing what a spec declares, not data: the shares of levels (frequencies) or of listed
values as bars, the density that declared quantiles imply (each interval between neighbouring
quantiles, and the range ends, holds its share spread evenly: a histogram with unequal bins),
or, with only a mean and an sd, a normal curve cut to the range. None when nothing is declared.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402

from synspec import ir  # noqa: E402

COLOUR = "#4c72b0"
_MAX_BARS = 30  # levels or values drawn; the rest are summed into one bar


def _uri(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _bars(labels: list[str], shares: list[float], title: str) -> str:
    if len(labels) > _MAX_BARS:
        order = np.argsort(shares)[::-1]
        keep = sorted(order[:_MAX_BARS - 1])
        rest = sum(shares[i] for i in order[_MAX_BARS - 1:])
        labels = [labels[i] for i in keep] + [f"{len(order) - _MAX_BARS + 1} others"]
        shares = [shares[i] for i in keep] + [rest]
    fig, ax = plt.subplots(figsize=(4.2, 0.5 + 0.22 * len(labels)))
    y = np.arange(len(labels))
    ax.barh(y, shares, color=COLOUR)
    ax.set_yticks(y, labels=labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("declared share", fontsize=7)
    ax.set_title(title, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    return _uri(fig)


def _values(column: ir.Column) -> str:
    """A numeric column's listed values as bars on its own axis (ages in years, a lab scale)."""
    values = np.array([v for v, _ in column.values])
    shares = np.array([s for _, s in column.values])
    gaps = np.diff(np.sort(values))
    width = 0.8 * float(gaps.min()) if len(gaps) and gaps.min() > 0 else 1.0
    fig, ax = plt.subplots(figsize=(4.2, 2.2))
    ax.bar(values, shares, width=width, color=COLOUR)
    ax.set_title("declared values", fontsize=8)
    ax.set_xlabel(column.unit or column.name, fontsize=7)
    ax.set_ylabel("share", fontsize=7)
    ax.tick_params(labelsize=7)
    return _uri(fig)


def _density(column: ir.Column) -> str | None:
    knots = [(p / 100, v) for p, v in column.quantiles]
    low = column.low if column.low is not None else knots[0][1]
    high = column.high if column.high is not None else knots[-1][1]
    if knots[0][0] > 0:
        knots.insert(0, (0.0, min(low, knots[0][1])))
    if knots[-1][0] < 1:
        knots.append((1.0, max(high, knots[-1][1])))
    fig, ax = plt.subplots(figsize=(4.2, 2.2))
    for (p1, v1), (p2, v2) in zip(knots, knots[1:], strict=False):
        if p2 <= p1:
            continue
        if v2 > v1:
            ax.bar(v1, (p2 - p1) / (v2 - v1), width=v2 - v1, align="edge", color=COLOUR, alpha=0.8)
        else:  # a point mass: drawn as a line holding its share
            ax.axvline(v1, color="#dd8452", lw=2)
            ax.annotate(f"{p2 - p1:.0%}", (v1, 0), xytext=(2, 2), textcoords="offset points", fontsize=6)
    ax.set_title("density implied by the declared quantiles", fontsize=8)
    ax.set_xlabel(column.unit or column.name, fontsize=7)
    ax.tick_params(labelsize=7)
    ax.set_yticks([])
    return _uri(fig)


def _normal(column: ir.Column) -> str:
    assert column.mean is not None and column.sd is not None
    low = column.low if column.low is not None else column.mean - 4 * column.sd
    high = column.high if column.high is not None else column.mean + 4 * column.sd
    x = np.linspace(low, high, 200)
    y = np.exp(-0.5 * ((x - column.mean) / column.sd) ** 2) / (column.sd * math.sqrt(2 * math.pi))
    fig, ax = plt.subplots(figsize=(4.2, 2.2))
    ax.fill_between(x, y, color=COLOUR, alpha=0.8)
    ax.set_title("normal with the declared mean and sd", fontsize=8)
    ax.set_xlabel(column.unit or column.name, fontsize=7)
    ax.tick_params(labelsize=7)
    ax.set_yticks([])
    return _uri(fig)


def column_plot(column: ir.Column) -> str | None:
    """A PNG data URI of the column's declared distribution, or None when it declares none."""
    if column.frequencies:
        return _bars([lvl for lvl, _ in column.frequencies], [s for _, s in column.frequencies],
                     "declared frequencies")
    if column.values:
        return _values(column)
    if len(column.quantiles) >= 2:
        return _density(column)
    if column.mean is not None and column.sd is not None:
        return _normal(column)
    return None
