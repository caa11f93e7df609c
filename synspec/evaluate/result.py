"""The evaluation result as typed models: what `synspec eval --json` writes and what reports read.

`EvalResult.model_dump(mode="json")` is the JSON document (docs/metrics.md, "The JSON result");
`SCHEMA_VERSION` changes when a field is renamed, removed or changes meaning (adding one does
not). Tables compared with the real one are labelled `synthetic` and `baseline`; per-table
entries name the compared table's share `synthetic_share` whichever table it is. Arrays only the
plots need (the typed frames, distances) ride along as `plot_data`, never serialised.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

SCHEMA_VERSION = 2  # 2: dcr_close_share (at or below) replaced dcr_share_below_holdout_p5
TABLES = ("synthetic", "baseline")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rows(_Model):
    real: int
    synthetic: int
    baseline: int


class FractionSplit(_Model):
    """The real table split in train and holdout by `--holdout-frac`."""

    source: Literal["split"] = "split"
    holdout_frac: float
    stratified: bool
    train_rows: int
    holdout_rows: int
    seed: int


class FileSplit(_Model):
    """`--holdout FILE`: the real table is the train split."""

    source: Literal["file"] = "file"
    stratified: bool
    train_rows: int
    holdout_rows: int
    seed: int


class FigurePair(_Model):
    """A headline figure for the synthetic table and for the baseline (None: not measured)."""

    synthetic: float | None
    baseline: float | None


class BoundaryPoint(_Model):
    value: int | float  # at the column's precision
    real_share: float
    synthetic_share: float
    ratio: float | None  # None at a quantile point of a column with declared values
    kind: str  # "range", "rule:<name>" or "quantile"


class TopValue(_Model):
    value: int | float | str  # numbers at the column's precision; levels and boolean tokens as text
    real_share: float
    synthetic_share: float


class _ColumnBase(_Model):
    missing_real: float
    missing_synthetic: float
    missing_diff: float
    top_values: list[TopValue]


class NumericColumn(_ColumnBase):
    kind: Literal["integer", "decimal"]
    ks: float | None
    wasserstein: float | None
    wasserstein_iqr: float | None
    boundary_excess: float | None
    boundary_noise: float | None = None  # what resampled real rows score (see evaluate.boundary)
    boundary_points: list[BoundaryPoint]

    @property
    def piled(self) -> bool:
        """Flagged: an excess above FLAG_ABOVE and above what real rows score by chance."""
        from synspec.evaluate.boundary import is_pile

        return is_pile(self.boundary_excess, self.boundary_noise)

    def worst_point(self) -> BoundaryPoint | None:
        """The point this column's boundary excess comes from."""
        rated = [p for p in self.boundary_points if p.ratio is not None]
        return max(rated, key=lambda p: p.ratio or 0.0) if rated else None


class LevelColumn(_ColumnBase):
    kind: Literal["categorical", "boolean"]
    tvd: float


ColumnFidelity = Annotated[NumericColumn | LevelColumn, Field(discriminator="kind")]


class CorrelationDiff(_Model):
    mean_abs_diff: float
    max_abs_diff: float
    real: list[list[float]]
    synthetic: list[list[float]]


class CramersVDiff(_Model):
    mean_abs_diff: float
    max_abs_diff: float
    pairs: dict[str, float]


class PairFidelity(_Model):
    numeric_columns: list[str]
    pearson: CorrelationDiff | None
    spearman: CorrelationDiff | None
    categorical_columns: list[str]
    cramers_v: CramersVDiff | None
    rule_pairs: dict[str, float]
    note: str | None = None  # why the correlations are None ("not measurable: ...")


class CheckShares(_Model):
    """One rule or column constraint: its failing share of applicable rows in each table."""

    name: str
    kind: str
    hard: bool
    description: str | None
    mostly: float | None
    real: float | None
    synthetic: float | None
    baseline: float | None


class Privacy(_Model):
    exact_copy_rate: float
    holdout_copy_rate: float  # holdout rows equal to a train row: what chance gives
    dcr_median: float
    holdout_dcr_median: float
    holdout_dcr_p5: float
    dcr_close_share: float  # synthetic rows at or below the holdout's 5th percentile DCR
    holdout_dcr_close_share: float  # the holdout's own share there (0.05 without ties)
    nndr_median: float
    mia_auc: float | None
    prompt_copy_rate: float | None


class Scores(_Model):
    auroc: float
    auprc: float
    auroc_ratio: float | None = None  # TSTR / TRTR; absent for TRTR itself
    auprc_ratio: float | None = None


class Utility(_Model):
    target: str
    classes: list[str]
    trtr: dict[str, Scores | None]
    synthetic: dict[str, Scores | None]
    baseline: dict[str, Scores | None]


class UtilityNote(_Model):
    """Utility could not be measured, and why."""

    note: str


class ManifestInputs(_Model):
    """What eval read from the run manifest beside the synthetic file."""

    path: str
    spec_hash: str | None
    spec_matches: bool | None  # None: the manifest records no spec hash
    style: str | None
    examples_path: str | None
    prompt_examples: Literal["rows_used", "whole_file"] | None  # which rows prompt copies count


class Verdict(_Model):
    threshold: str
    metric: str
    value: float | None
    failed: bool


class EvalResult(_Model):
    schema_version: int = SCHEMA_VERSION
    spec: str
    rows: Rows
    split: Annotated[FractionSplit | FileSplit, Field(discriminator="source")]
    figures: dict[str, FigurePair]
    columns: dict[str, dict[str, ColumnFidelity]]  # table -> column -> fidelity
    pairs: dict[str, PairFidelity]  # table -> pair figures
    consistency: list[CheckShares]
    privacy: dict[str, Privacy]  # table -> figures
    utility: Utility | UtilityNote | None
    manifest: ManifestInputs | None = None
    verdict: list[Verdict] = []

    _plot: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def plot_data(self) -> dict[str, Any]:
        """Frames and distances for the plots (empty for a result read back from JSON)."""
        return self._plot

    def with_plot_data(self, data: dict[str, Any]) -> EvalResult:
        self._plot = data
        return self

    def synthetic_figures(self) -> dict[str, float | None]:
        """The synthetic table's headline figures: what `--fail-on` judges."""
        return {name: pair.synthetic for name, pair in self.figures.items()}

    def to_json(self) -> str:
        """The JSON document; NaN and infinities are written as null."""
        return self.model_dump_json(indent=2) + "\n"
