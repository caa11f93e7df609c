"""Stratified seeding: pre-drawn values for the columns whose distribution the spec declares.

Owns choosing which columns to seed and drawing their values for one batch. A seeded
value is forced through that row's grammar (`row_grammar(spec, fixed=...)`), so the
marginals of those columns match the spec by construction and the model fills in
the rest conditioned on them; it is also what makes the rows of a batch differ.

Draws are systematic (stratified) within a batch: B points spaced 1/B apart with one
random offset, mapped through the cumulative distribution, then shuffled. A level with
share p appears floor(pB) or ceil(pB) times per batch, with far less variance than
independent draws. The generator is seeded by (seed, batch index), so a batch's draws
do not depend on earlier batches and a resumed run draws what the first run would have.
"""

from __future__ import annotations

import numpy as np

from synspec import ir


def seeded_columns(spec: ir.Spec) -> tuple[str, ...]:
    """The columns to pre-draw: the target first, then declared-frequency columns in file order.

    A column is skipped when a hard rule mentions it together with a column already
    chosen: independent draws of both could contradict the rule (e.g. cirrhosis'
    "Drug is missing exactly when Ascites is missing"), and then no completion of the
    row is valid. One seeded column per rule leaves the model room to satisfy it.
    """
    candidates = [c for c in spec.generated_columns
                  if c.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN) and c.frequencies]
    candidates.sort(key=lambda c: (not c.is_target, c.position))
    chosen: list[str] = []
    for column in candidates:
        partners = {other for rule in spec.hard_rules if column.name in rule.columns
                    for other in rule.columns if other != column.name}
        if partners & set(chosen):
            continue
        chosen.append(column.name)
    return tuple(chosen)


def distribution(column: ir.Column) -> tuple[list[str], np.ndarray]:
    """File texts and probabilities: declared level shares scaled by (1 - missing rate)."""
    texts = [level for level, _ in column.frequencies]
    shares = np.array([share for _, share in column.frequencies], dtype=float)
    shares = shares / shares.sum() if shares.sum() > 0 else np.full(len(texts), 1 / len(texts))
    if column.missing_token is not None and column.missing_rate > 0:
        texts.append(column.missing_token)
        shares = np.append(shares * (1 - column.missing_rate), column.missing_rate)
    return texts, shares


def draw_batch(spec: ir.Spec, columns: tuple[str, ...], size: int, seed: int,
               batch_index: int) -> list[dict[str, str]]:
    """`size` rows of fixed values (column -> file text) for batch `batch_index`."""
    rng = np.random.default_rng([seed & 0xFFFF_FFFF, seed >> 32, batch_index, 0x5EED])
    rows: list[dict[str, str]] = [{} for _ in range(size)]
    for name in columns:
        texts, shares = distribution(spec.column(name))
        points = (rng.random() + np.arange(size)) / size
        picks = np.searchsorted(np.cumsum(shares), points, side="right").clip(max=len(texts) - 1)
        for row, pick in zip(rows, rng.permutation(picks), strict=True):
            row[name] = texts[int(pick)]
    return rows
