"""The checked spec: what every target (prompts, grammar, checker, generator, eval) reads.

Built by `synspec.passes` from a syntax tree that produced no errors. Names are
resolved, types are known, rule expressions are typed and normalised:
- a boolean column used as a condition is `IsTrue(column)` (`diabetes == 1` with
  encoding 1/0 becomes `IsTrue("diabetes")`, `!=` becomes `Not(IsTrue(...))`);
- a category level is a `Level(column, value)` whose value is exactly the file's text;
- `and`/`or` chains are flattened.
Models are frozen pydantic models so `ir.json` is a plain dump and loads back.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from synspec.memo import by_identity
from synspec.tree import child_nodes


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Location(_Frozen):
    """Where something was written: file, 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class ColumnKind(str, Enum):  # noqa: UP042 (str() behaviour is relied on by other modules)
    INTEGER = "integer"
    DECIMAL = "decimal"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"


class Conditional(_Frozen):
    """Statistics of a column among the rows where another column holds one level.

    Written `frequencies given diabetes == 1: ...`, `quantiles given diabetes == 0: ...` or
    `values given diabetes == 1: ...`. Shares and quantiles are among the rows of that level
    where the column is present (like the unconditional ones). `given` is a categorical or
    boolean column; `level` is its file text (a boolean's true or false token).
    """

    given: str
    level: str
    frequencies: tuple[tuple[str, float], ...] = ()  # (level as in file, share)
    quantiles: tuple[tuple[float, float], ...] = ()  # (percent, value), ascending
    values: tuple[tuple[float, float], ...] = ()  # (value, share), ascending by value
    location: Location


class Column(_Frozen):
    name: str
    position: int  # 0-based position in the file
    kind: ColumnKind
    places: int | None = None  # decimal places (decimal columns only)
    levels: tuple[str, ...] = ()  # categorical levels; for booleans (true_token, false_token)
    true_token: str | None = None
    false_token: str | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    description: str | None = None
    missing_rate: float = 0.0
    missing_token: str | None = None  # None: the column may never be missing
    mean: float | None = None
    sd: float | None = None
    quantiles: tuple[tuple[float, float], ...] = ()  # (percent, value), ascending
    frequencies: tuple[tuple[str, float], ...] = ()  # (level as in file, share)
    # A numeric column with few distinct values declares them: (value, share), ascending by
    # value; shares among present rows. When set, only these values are allowed.
    values: tuple[tuple[float, float], ...] = ()
    conditionals: tuple[Conditional, ...] = ()  # in file order
    is_key: bool = False
    is_target: bool = False
    location: Location

    @property
    def is_numeric(self) -> bool:
        return self.kind in (ColumnKind.INTEGER, ColumnKind.DECIMAL)

    @property
    def may_be_missing(self) -> bool:
        return self.missing_token is not None

    def conditional(self, given: str, level: str) -> Conditional | None:
        """The statistics declared for rows where `given` holds `level`, if any."""
        for cond in self.conditionals:
            if cond.given == given and cond.level == level:
                return cond
        return None

    @property
    def generated(self) -> bool:
        """Key columns are numbered by synspec, never produced by the model."""
        return not self.is_key


# ---- typed rule expressions --------------------------------------------------
class Expr(_Frozen):
    """Base of every rule expression: `children()` is read from the model's fields.

    A child is a field value that is an expression, or one inside a tuple field, so a new
    expression class is walked (`synspec.tree.walk`) without anyone listing its fields.
    """

    def children(self) -> tuple[Expr, ...]:
        names = _EXPR_FIELDS.get(type(self))
        if names is None:  # `model_fields` is slow to ask for; generation order asks often
            names = _EXPR_FIELDS[type(self)] = tuple(type(self).model_fields)
        return child_nodes((getattr(self, name) for name in names), Expr)


_EXPR_FIELDS: dict[type, tuple[str, ...]] = {}


class ColumnRef(Expr):
    kind: Literal["column"] = "column"
    column: str


class Const(Expr):
    """A numeric constant."""

    kind: Literal["const"] = "const"
    value: float


class Level(Expr):
    """A level of a categorical column, exactly as written in the data file."""

    kind: Literal["level"] = "level"
    column: str
    value: str


class BoolConst(Expr):
    kind: Literal["bool"] = "bool"
    value: bool


class IsTrue(Expr):
    """A boolean column taken as a condition: true when it holds its true token."""

    kind: Literal["is_true"] = "is_true"
    column: str


class Arith(Expr):
    kind: Literal["arith"] = "arith"
    op: Literal["+", "-", "*", "/"]
    left: NumExpr
    right: NumExpr


class Neg(Expr):
    kind: Literal["neg"] = "neg"
    operand: NumExpr


class Compare(Expr):
    """Numeric comparison, or ==/!= between a categorical column and a level or column."""

    kind: Literal["compare"] = "compare"
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: ValueExpr
    right: ValueExpr


class InSet(Expr):
    """`x in {...}` (negated for `not in`); values are Const for numbers, Level for levels."""

    kind: Literal["in_set"] = "in_set"
    operand: ValueExpr
    values: tuple[Const | Level, ...]
    negated: bool = False


class IsMissing(Expr):
    kind: Literal["is_missing"] = "is_missing"
    column: str
    negated: bool = False  # True for "is not missing"


class And(Expr):
    kind: Literal["and"] = "and"
    items: tuple[BoolExpr, ...]


class Or(Expr):
    kind: Literal["or"] = "or"
    items: tuple[BoolExpr, ...]


class Not(Expr):
    kind: Literal["not"] = "not"
    operand: BoolExpr


class Implies(Expr):
    kind: Literal["implies"] = "implies"
    condition: BoolExpr
    consequence: BoolExpr


class Iff(Expr):
    kind: Literal["iff"] = "iff"
    left: BoolExpr
    right: BoolExpr


NumExpr = Annotated[ColumnRef | Const | Arith | Neg, Field(discriminator="kind")]
ValueExpr = Annotated[ColumnRef | Const | Level | Arith | Neg, Field(discriminator="kind")]
BoolExpr = Annotated[
    BoolConst | IsTrue | Compare | InSet | IsMissing | And | Or | Not | Implies | Iff,
    Field(discriminator="kind"),
]

for _model in (Arith, Neg, Compare, InSet, And, Or, Not, Implies, Iff):
    _model.model_rebuild()


class RuleKind(str, Enum):  # noqa: UP042 (str() behaviour is relied on by other modules)
    HARD = "hard"  # must hold on every row
    SOFT = "soft"  # holds on at least `mostly` of the rows where it applies


class Rule(_Frozen):
    name: str
    kind: RuleKind
    expr: BoolExpr
    text: str  # the expression as written in the spec
    columns: tuple[str, ...]  # columns the rule mentions, in first-mention order
    mostly: float | None = None
    message: str | None = None
    cite: str | None = None
    location: Location


class Correlation(_Frozen):
    left: str
    right: str
    value: float
    method: Literal["pearson", "spearman"] = "pearson"
    location: Location


class Spec(_Frozen):
    name: str
    description: str | None = None
    source: str | None = None
    rows: int | None = None
    target: str | None = None
    keys: tuple[str, ...] = ()
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    correlations: tuple[Correlation, ...] = ()
    path: str

    def column(self, name: str) -> Column:
        return _column_index(self)[name]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def generated_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.generated)

    @property
    def hard_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind is RuleKind.HARD)

    @property
    def soft_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind is RuleKind.SOFT)


@by_identity
def _column_index(spec: Spec) -> dict[str, Column]:
    # Built once per spec: a linear scan per lookup made wide specs quadratic.
    return {col.name: col for col in reversed(spec.columns)}  # the first of a name wins
