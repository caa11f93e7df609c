"""`--fail-on` thresholds: parsing "metric>value" and judging the evaluation's figures.

A threshold names the condition that FAILS: `exact_copy_rate>0` fails when any synthetic row
copies a real one. A threshold on a figure that could not be measured (no target, too few
rows) fails too, so a CI gate never passes silently.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from synspec.diagnostics import did_you_mean
from synspec.errors import UserError
from synspec.evaluate.result import Verdict

OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_PATTERN = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)

# Every figure a threshold may name, with what it measures (the synthetic table's value).
METRICS: dict[str, str] = {
    "mean_ks": "mean KS statistic over numeric columns",
    "max_ks": "largest KS statistic over numeric columns",
    "mean_wasserstein_iqr": "mean Wasserstein distance / real IQR over numeric columns",
    "mean_tvd": "mean total variation distance over categorical and boolean columns",
    "max_tvd": "largest total variation distance over categorical and boolean columns",
    "max_missing_diff": "largest missing-rate difference over columns",
    "pearson_diff": "mean |difference| of Pearson correlation matrices",
    "spearman_diff": "mean |difference| of Spearman correlation matrices",
    "cramers_v_diff": "mean |difference| of Cramér's V over categorical pairs",
    "rule_pair_tvd": "mean TVD of joint distributions of rule-linked column pairs",
    "boundary_excess": "largest boundary excess over numeric columns (1: no pile at a boundary)",
    "boundary_excess_over_noise": "largest boundary excess / what real rows score by chance (>1: a pile)",
    "detection_auc": "cross-validated AUC telling real from synthetic (0.5 ideal)",
    "hard_failure_rate": "share of rows failing a hard rule or column constraint",
    "exact_copy_rate": "share of synthetic rows copying a real row",
    "prompt_copy_rate": "share of synthetic rows copying a prompt example",
    "dcr_close_share": "share of synthetic rows at or below the holdout's 5th pct distance to train",
    "dcr_median": "median distance to closest real record",
    "nndr_median": "median nearest-neighbour distance ratio",
    "mia_auc": "membership-inference AUC (0.5: no leak)",
    "tstr_trtr_auroc": "TSTR/TRTR AUROC ratio, worst model",
    "tstr_trtr_auprc": "TSTR/TRTR AUPRC ratio, worst model",
    "tstr_auroc": "TSTR AUROC, worst model",
    "tstr_auprc": "TSTR AUPRC, worst model",
}


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    value: float
    text: str

    def fails(self, figure: float | None) -> bool:
        if figure is None or (isinstance(figure, float) and math.isnan(figure)):
            return True
        return bool(OPERATORS[self.op](figure, self.value))


def parse_threshold(text: str) -> Threshold:
    """`metric OP number` -> Threshold; a UserError with a hint for anything else."""
    match = _PATTERN.match(text)
    if match is None:
        raise UserError(
            f"cannot read the threshold {text!r}",
            where="--fail-on",
            hint='write METRIC OP NUMBER, e.g. --fail-on "exact_copy_rate>0" '
            f"(operators: {', '.join(OPERATORS)})",
        )
    metric, op, value = match.groups()
    if metric not in METRICS:
        guess = did_you_mean(metric, METRICS)
        raise UserError(
            f"unknown metric {metric!r} in --fail-on {text!r}",
            where="--fail-on",
            hint=(f"did you mean {guess!r}? " if guess else "") + f"metrics: {', '.join(METRICS)}",
        )
    return Threshold(metric, op, float(value), text.strip())


def judge(thresholds: list[Threshold], figures: dict[str, float | None]) -> list[Verdict]:
    """One verdict per threshold: its text, the figure, and whether it failed."""
    return [
        Verdict(
            threshold=t.text,
            metric=t.metric,
            value=figures.get(t.metric),
            failed=t.fails(figures.get(t.metric)),
        )
        for t in thresholds
    ]
