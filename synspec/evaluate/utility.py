"""Utility: does a model trained on synthetic rows work on real patients?

TSTR (train on synthetic, test on the real holdout) against TRTR (train on the real train
split, test on the same holdout), with logistic regression (imputed, scaled, one-hot) and
`HistGradientBoostingClassifier`; AUROC (`roc_auc_score`, one-vs-rest macro for more than two
classes) and AUPRC (`average_precision_score`, macro over classes); key columns and the target
are never features. The real train split is capped at `max_train` rows to bound the time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize

from synspec import ir
from synspec.evaluate.encode import model_matrix

MODELS = ("logistic_regression", "gradient_boosting")


def _labels(column: ir.Column, values: pd.Series) -> np.ndarray:
    # sklearn needs a plain label dtype: floats 0/1 for booleans, str for levels (object arrays
    # of floats read as "unknown" label type). Rows with a missing target are dropped before.
    if column.kind is ir.ColumnKind.CATEGORICAL:
        return values.astype(str).to_numpy(dtype=str)
    return values.to_numpy(dtype=float)


def _model(name: str, seed: int):
    if name == "logistic_regression":
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        )
    return HistGradientBoostingClassifier(max_iter=200, random_state=seed)


def _scores(model, x_train, y_train, x_test, y_test, classes: list) -> dict[str, float | None] | None:
    if len(set(y_train)) < 2:
        return None  # one class only: nothing to learn (reported as not measured)
    model.fit(x_train, y_train)
    proba = model.predict_proba(x_test)
    if len(classes) == 2:
        positive = list(model.classes_).index(classes[1]) if classes[1] in model.classes_ else None
        score = proba[:, positive] if positive is not None else np.zeros(len(x_test))
        truth = (y_test == classes[1]).astype(int)
        return {
            "auroc": float(roc_auc_score(truth, score)),
            "auprc": float(average_precision_score(truth, score)),
        }
    # Columns for every class, zeros for a class the training rows lacked.
    full = np.zeros((len(x_test), len(classes)))
    for j, cls in enumerate(model.classes_):
        full[:, classes.index(cls)] = proba[:, j]
    full = full / np.clip(full.sum(axis=1, keepdims=True), 1e-12, None)
    present = [c for c in classes if c in set(y_test)]
    truth = label_binarize(y_test, classes=classes)
    keep = [classes.index(c) for c in present]
    return {
        "auroc": float(roc_auc_score(y_test, full, multi_class="ovr", labels=classes)),
        "auprc": float(average_precision_score(truth[:, keep], full[:, keep], average="macro")),
    }


def utility_metrics(
    spec: ir.Spec,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: dict[str, pd.DataFrame],
    seed: int,
    max_train: int = 50_000,
) -> dict[str, Any] | None:
    """{"trtr": {model: scores}, "<table>": {model: scores, ratios}} or None without a target."""
    if spec.target is None:
        return None
    target = spec.column(spec.target)
    exclude = (target.name,)

    def usable(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame[target.name].notna()]

    test = usable(holdout)
    y_test = _labels(target, test[target.name])
    classes = sorted({*y_test.tolist()}, key=str)
    if target.kind is ir.ColumnKind.BOOLEAN:
        classes = [0.0, 1.0]
    if len(set(y_test)) < 2:
        return {"note": "the holdout has a single target class; utility not measured"}
    x_test = model_matrix(spec, test, exclude)
    real = usable(train)
    if len(real) > max_train:
        real = real.sample(max_train, random_state=seed)
    out: dict[str, Any] = {"target": target.name, "classes": [str(c) for c in classes], "trtr": {}}
    for name in MODELS:
        out["trtr"][name] = _scores(
            _model(name, seed),
            model_matrix(spec, real, exclude),
            _labels(target, real[target.name]),
            x_test,
            y_test,
            classes,
        )
    for label, frame in synthetic.items():
        rows = usable(frame)
        entry: dict[str, Any] = {}
        for name in MODELS:
            scores = _scores(
                _model(name, seed),
                model_matrix(spec, rows, exclude),
                _labels(target, rows[target.name]),
                x_test,
                y_test,
                classes,
            )
            base = out["trtr"][name]
            if scores and base:
                scores["auroc_ratio"] = scores["auroc"] / base["auroc"] if base["auroc"] else None
                scores["auprc_ratio"] = scores["auprc"] / base["auprc"] if base["auprc"] else None
            entry[name] = scores
        out[label] = entry
    return out
