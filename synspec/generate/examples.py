"""The real rows a seed_ex prompt shows: which ones (one sampler for `run` and `compile`),
read and checked from the examples file, and found again from a run manifest.

The rows are chosen by `sample_examples(raw, seed, n)` alone, so `synspec compile
--style seed_ex --seed S` prints the prompt that `synspec run --seed S` decodes with.
The manifest records their positions in the file (`examples.rows_used`), never
their values: a manifest may travel where the real data may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synspec import ir
from synspec.errors import UserError
from synspec.files import require_file

N_EXAMPLES = 5  # example rows shown by the seed_ex style
_STREAM = 0xE7A  # keeps these draws apart from every other use of the run's seed


@dataclass(frozen=True)
class Examples:
    rows: pd.DataFrame  # raw file text, the spec's columns, index 0..k-1
    indices: tuple[int, ...]  # each row's position among the file's data rows (0: the first after the header)


def sample_examples(raw: pd.DataFrame, seed: int, n: int = N_EXAMPLES) -> Examples:
    """`n` rows of `raw` (all of them when it has fewer), chosen by `seed`, in file order.

    >>> frame = pd.DataFrame({"a": [str(i) for i in range(10)]})
    >>> sample_examples(frame, 0, 3).indices == sample_examples(frame, 0, 3).indices
    True
    """
    rng = np.random.default_rng([seed & 0xFFFF_FFFF, _STREAM])
    pick = np.sort(rng.choice(len(raw), size=min(n, len(raw)), replace=False))
    return Examples(raw.iloc[pick].reset_index(drop=True), tuple(int(i) for i in pick))


def read_examples(path: Path, spec: ir.Spec, seed: int, n: int = N_EXAMPLES) -> Examples:
    """Sample rows of an examples file; a UserError for a missing or empty file, or a
    sampled cell that the prompt cannot write (naming the file, line and column)."""
    from synspec import data
    from synspec.targets import row_format

    require_file(path, "examples file", "pass a CSV or Parquet file with the spec's columns")
    raw = data.read_raw(path, spec)
    if raw.empty:
        raise UserError(f"examples file has no rows: {path}", where=str(path))
    examples = sample_examples(raw, seed, n)
    csv = not data.is_parquet(path)
    for record, index in zip(examples.rows.to_dict("records"), examples.indices, strict=True):
        for name in row_format.column_order(spec):
            try:
                row_format.render_value(spec.column(name), _value(spec.column(name), record.get(name)))
            except ValueError as exc:
                where = f"{path}:{index + 2}" if csv else f"{path} (data row {index + 1})"
                raise UserError(f"examples file data row {index + 1}, column {name}: {exc}", where=where,
                                hint="fix the cell, or pass another --seed to show other rows") from None
    return examples


def _value(column: ir.Column, text: object) -> str | None:
    """The cell as `row_format.render_row` reads it (the missing token means missing)."""
    if text is None or (column.may_be_missing and text == column.missing_token):
        return None
    return str(text)


def shown_rows(path: Path, indices: list[int], spec: ir.Spec) -> pd.DataFrame:
    """The rows a run's prompt showed (raw text), from the manifest's `examples` record."""
    from synspec import data

    raw = data.read_raw(path, spec)
    if indices and max(indices) >= len(raw):
        raise UserError(f"the examples file {path} has {len(raw)} rows, fewer than the run showed",
                        where=str(path), hint="the file changed after the run; pass the original file")
    return raw.iloc[list(indices)].reset_index(drop=True)
