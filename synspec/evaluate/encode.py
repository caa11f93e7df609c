"""Numeric matrices built from typed frames, for classifiers and for record distances.

Both are fitted on the real table so that every table compared is encoded the same way:
- `model_matrix`: numerics and booleans as float (NaN kept: the models impute), categoricals
  one-hot over the declared levels plus a "missing" indicator;
- `distance_matrix`: a Gower-style mixed-type encoding for the L1 (manhattan) metric. A numeric
  difference counts |x - y| / IQR of the real column (the range when the IQR is 0, 1 when both
  are), a categorical or boolean mismatch counts 1 (one-hot with weight 1/2 on each side), and a
  missing-vs-present cell counts 1 (an indicator; the value is imputed with the real median).
Key columns never enter either matrix: synspec numbers them, so they carry no information.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synspec import ir


def feature_columns(spec: ir.Spec, exclude: tuple[str, ...] = ()) -> list[ir.Column]:
    return [c for c in spec.columns if not c.is_key and c.name not in exclude]


def model_matrix(spec: ir.Spec, frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> np.ndarray:
    """Model features of a typed frame (see the module docstring)."""
    parts: list[np.ndarray] = []
    for column in feature_columns(spec, exclude):
        values = frame[column.name]
        if column.kind is ir.ColumnKind.CATEGORICAL:
            text = values.to_numpy(dtype=object)
            parts.extend((text == level).astype(float) for level in column.levels)
            parts.append(pd.isna(values).to_numpy().astype(float))
        else:
            parts.append(values.to_numpy(dtype=float))
    return np.column_stack(parts) if parts else np.zeros((len(frame), 0))


@dataclass
class DistanceEncoder:
    """Scaling fitted on the real table; `transform` gives rows for the manhattan metric."""

    spec: ir.Spec
    scale: dict[str, float]
    fill: dict[str, float]

    @classmethod
    def fit(cls, spec: ir.Spec, real: pd.DataFrame) -> DistanceEncoder:
        scale: dict[str, float] = {}
        fill: dict[str, float] = {}
        for column in feature_columns(spec):
            if column.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN):
                continue
            values = real[column.name].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            if values.size == 0:
                scale[column.name], fill[column.name] = 1.0, 0.0
                continue
            q1, q3 = np.percentile(values, [25, 75])
            spread = q3 - q1 or (values.max() - values.min()) or 1.0
            scale[column.name], fill[column.name] = float(spread), float(np.median(values))
        return cls(spec, scale, fill)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        parts: list[np.ndarray] = []
        for column in feature_columns(self.spec):
            values = frame[column.name]
            missing = pd.isna(values).to_numpy()
            if column.kind is ir.ColumnKind.CATEGORICAL:
                text = values.to_numpy(dtype=object)
                parts.extend(0.5 * (text == level) for level in column.levels)
            elif column.kind is ir.ColumnKind.BOOLEAN:
                number = values.to_numpy(dtype=float)
                parts.extend((0.5 * (number == 1.0), 0.5 * (number == 0.0)))
            else:
                number = values.to_numpy(dtype=float)
                parts.append(np.where(missing, self.fill[column.name], number) / self.scale[column.name])
            if column.may_be_missing:
                # Categorical/boolean missing cells are all-zero one-hot rows; the indicator at
                # weight 1/2 plus the 1/2 of the present side's one-hot makes a mismatch count 1.
                weight = 1.0 if column.is_numeric else 0.5
                parts.append(weight * missing)
        return np.column_stack(parts).astype(np.float64) if parts else np.zeros((len(frame), 0))
