"""Stratified seeding: pre-drawn values for the columns whose distribution the spec declares.

Owns the seeding modes (`synspec run --seeding`), choosing which columns to seed and
drawing their values for one batch:
- `none`: nothing drawn, the prompt alone steers the model (the SynLLM setting);
- `levels`: categorical and boolean columns with declared frequencies draw a level;
- `marginals`: levels, and numeric columns with declared quantiles draw a quantile bin;
- `joint` (the default): every column whose distribution the spec declares is drawn whole,
  together with the others (`synspec.generate.joint`: a Gaussian copula over the declared
  correlations, statistics given other columns' levels, values between declared quantiles,
  drawn inside what the hard rules allow); the model writes only what the spec leaves
  undeclared, and a row drawn in full needs no model at all.
A seeded value is forced through that row's grammar (`row_grammar(spec, fixed=...)`), so the
marginals of those columns match the spec by construction and the model fills in
the rest conditioned on them; it is also what makes the rows of a batch differ.
Categorical and boolean columns draw a level from their declared frequencies; numeric
columns with declared quantiles draw a quantile bin (e.g. between the 25% and 50%
values), forced as an interval (`Within`), and the model writes the value inside it.

Draws are systematic (stratified) within a batch: B points spaced 1/B apart with one
random offset, mapped through the cumulative distribution, then shuffled. A level with
share p appears floor(pB) or ceil(pB) times per batch, with far less variance than
independent draws. The generator is seeded by (seed, batch index), so a batch's draws
do not depend on earlier batches and a resumed run draws what the first run would have.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from synspec import ir
from synspec.targets.grammar import Within, decimal_places, scaled_bounds

if TYPE_CHECKING:  # imported where used: scipy.stats costs 0.8 s at every CLI start otherwise
    from synspec.generate.joint import JointSampler

Draw = str | Within  # a file text, or a numeric column's interval
MODES = ("none", "levels", "marginals", "joint")
DEFAULT_MODE = "joint"


def _has_bins(column: ir.Column) -> bool:
    return column.is_numeric and bool(column.quantiles) and column.low is not None \
        and column.high is not None


def seeded_columns(spec: ir.Spec, mode: str = DEFAULT_MODE) -> tuple[str, ...]:
    """The columns to pre-draw in `mode`: the target first, then declared-frequency columns
    in file order, then (`marginals`, `joint`) numeric columns with declared quantiles in
    file order.

    A column is skipped when a hard rule mentions it together with a column already
    chosen: independent draws of both could contradict the rule (e.g. cirrhosis'
    "Drug is missing exactly when Ascites is missing"), and then no completion of the
    row is valid. One seeded column per rule leaves the model room to satisfy it.
    """
    if mode not in MODES:
        raise ValueError(f"unknown seeding mode {mode!r}")
    if mode == "none":
        return ()
    if mode == "joint":
        return joint_columns(spec)
    candidates = [c for c in spec.generated_columns
                  if (c.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN) and c.frequencies)
                  or (mode == "marginals" and _has_bins(c))]
    # Levels before bins: a categorical draw (ever_married) carries more than a quantile bin
    # of a column it shares a rule with (age), and the partner rule below keeps only one.
    candidates.sort(key=lambda c: (not c.is_target, c.is_numeric, c.position))
    chosen: list[str] = []
    for column in candidates:
        partners = {other for rule in spec.hard_rules if column.name in rule.columns
                    for other in rule.columns if other != column.name}
        if partners & set(chosen):
            continue
        chosen.append(column.name)
    return tuple(chosen)


def quantile_bins(column: ir.Column) -> tuple[list[Within], np.ndarray]:
    """The intervals between a numeric column's range ends and declared quantiles, with their
    shares: `quantiles 25% 24, 50% 43` gives [min, 24] 0.25, (24, 43] 0.25, (43, max] 0.5.

    A quantile closes its bin (a share p of rows lie at or below the p-quantile, ties
    included). Bounds are scaled integers (see `grammar.scaled_bounds`). A bin left empty
    by two equal quantiles (many rows sharing one value) hands its share to the bin
    before it, which holds that value.
    """
    low, high = scaled_bounds(column)
    unit = 10 ** decimal_places(column)
    uppers = [min(max(math.floor(Fraction(str(value)) * unit), low - 1), high)
              for _, value in column.quantiles] + [high]
    cumulative = [0.0] + [percent / 100 for percent, _ in column.quantiles] + [1.0]
    bins: list[Within] = []
    shares: list[float] = []
    start = low
    pending = 0.0  # share of empty bins before the first non-empty one
    for upper, p0, p1 in zip(uppers, cumulative, cumulative[1:], strict=False):
        share = max(p1 - p0, 0.0)
        if upper < start:  # empty
            if shares:
                shares[-1] += share
            else:
                pending += share
            continue
        bins.append(Within(start, upper))
        shares.append(share + pending)
        pending = 0.0
        start = upper + 1
    return bins, np.array(shares, dtype=float)


def distribution(column: ir.Column) -> tuple[list[Draw], np.ndarray]:
    """Draws and probabilities: declared level shares (or quantile bins) scaled by
    (1 - missing rate), plus the missing token at the missing rate."""
    texts: list[Draw]
    if column.is_numeric:
        bins, shares = quantile_bins(column)
        texts = list(bins)
    else:
        texts = [level for level, _ in column.frequencies]
        shares = np.array([share for _, share in column.frequencies], dtype=float)
    shares = shares / shares.sum() if shares.sum() > 0 else np.full(len(texts), 1 / len(texts))
    if column.missing_token is not None and column.missing_rate > 0:
        texts.append(column.missing_token)
        shares = np.append(shares * (1 - column.missing_rate), column.missing_rate)
    return texts, shares


def draw_batch(spec: ir.Spec, columns: tuple[str, ...], size: int, seed: int,
               batch_index: int) -> list[dict[str, Draw]]:
    """`size` rows of fixed values (column -> file text or interval) for batch `batch_index`."""
    rng = np.random.default_rng([seed & 0xFFFF_FFFF, seed >> 32, batch_index, 0x5EED])
    rows: list[dict[str, Draw]] = [{} for _ in range(size)]
    for name in columns:
        texts, shares = distribution(spec.column(name))
        points = (rng.random() + np.arange(size)) / size
        picks = np.searchsorted(np.cumsum(shares), points, side="right").clip(max=len(texts) - 1)
        for row, pick in zip(rows, rng.permutation(picks), strict=True):
            row[name] = texts[int(pick)]
    return rows


def draw(spec: ir.Spec, mode: str, columns: tuple[str, ...], size: int, seed: int,
         batch_index: int) -> list[dict[str, Draw]]:
    """The fixed values of batch `batch_index` in `mode` (`columns` from `seeded_columns`)."""
    if mode == "joint":
        return draw_joint(spec, size, seed, batch_index)
    if not columns:
        return [{} for _ in range(size)]
    return draw_batch(spec, columns, size, seed, batch_index)


# ---- joint seeding ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def joint_sampler(spec: ir.Spec) -> JointSampler:
    """The joint sampler of a spec, built once per process (calibration takes seconds)."""
    from synspec.generate.joint import JointSampler

    return JointSampler(spec)


def joint_columns(spec: ir.Spec) -> tuple[str, ...]:
    """The columns the joint draw fixes, in the order it draws them."""
    return tuple(joint_sampler(spec).columns)


def draw_joint(spec: ir.Spec, size: int, seed: int, batch_index: int) -> list[dict[str, Draw]]:
    """`size` rows drawn together from the spec's aggregates (exact file texts)."""
    drawn = joint_sampler(spec).draw_batch(size, seed, batch_index)
    rows: list[dict[str, Draw]] = [dict(row) for row in drawn]
    return rows
