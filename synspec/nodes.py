"""The syntax tree of a .synspec file, exactly as written.

Frozen dataclasses, one per construct; every node carries the `Span` it was parsed
from. Spans (and purely cosmetic details such as whether a level was quoted) are
excluded from equality, so `fmt` can prove it preserved meaning by comparing trees.
Properties are stored in canonical order (their written order has no meaning).
Nothing here is resolved or checked: that is the job of `synspec.passes`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields

from synspec.source import Span
from synspec.tree import child_nodes

_NO_SPAN = Span(0, 0)


class Node:
    """Base of every syntax node: `children()` is read from the dataclass fields.

    A child is a field value that is a node, or a node inside a tuple field. Fields left
    out of equality (spans, comments, cosmetic flags) are not part of the tree proper, so
    they hold no children. Every node class derives from `Node`, so a new one is walked
    (`synspec.tree.walk`) without anyone listing its fields.
    """

    __slots__ = ()

    def children(self) -> tuple[Node, ...]:
        names = _TREE_FIELDS.get(type(self))
        if names is None:
            own = fields(self)  # type: ignore[arg-type]  # every subclass is a dataclass
            names = _TREE_FIELDS[type(self)] = tuple(f.name for f in own if f.compare)
        return child_nodes((getattr(self, name) for name in names), Node)


_TREE_FIELDS: dict[type, tuple[str, ...]] = {}  # per node class, the fields that can hold children


def _span() -> Span:
    return field(default=_NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Ident(Node):
    """A column or rule name (written bare or in `backticks`)."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Number(Node):
    """A number with the text it was written as (kept so fmt preserves precision)."""

    value: float
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Text(Node):
    """A double-quoted string, already unescaped."""

    value: str
    span: Span = _span()


@dataclass(frozen=True)
class LevelLit(Node):
    """A category level or encoding token: bare word, quoted string or number."""

    value: str
    quoted: bool = field(default=False, compare=False)
    span: Span = _span()


# ---- properties ----------------------------------------------------------------
@dataclass(frozen=True)
class Description(Node):
    text: Text
    span: Span = _span()


@dataclass(frozen=True)
class SourceProp(Node):
    text: Text
    span: Span = _span()


@dataclass(frozen=True)
class Rows(Node):
    count: Number
    span: Span = _span()


@dataclass(frozen=True)
class Target(Node):
    column: Ident
    span: Span = _span()


@dataclass(frozen=True)
class Key(Node):
    columns: tuple[Ident, ...]
    span: Span = _span()


@dataclass(frozen=True)
class MissingDefault(Node):
    token: Text
    span: Span = _span()


@dataclass(frozen=True)
class Unit(Node):
    text: Text
    span: Span = _span()


@dataclass(frozen=True)
class Range(Node):
    low: Number
    high: Number
    span: Span = _span()


@dataclass(frozen=True)
class Levels(Node):
    items: tuple[LevelLit, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Missing(Node):
    rate: Number
    token: Text | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Mean(Node):
    value: Number
    span: Span = _span()


@dataclass(frozen=True)
class Sd(Node):
    value: Number
    span: Span = _span()


@dataclass(frozen=True)
class Quantile(Node):
    percent: Number  # 25 for "25%"
    value: Number
    span: Span = _span()


@dataclass(frozen=True)
class Quantiles(Node):
    items: tuple[Quantile, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Frequency(Node):
    level: LevelLit
    share: Number
    span: Span = _span()


@dataclass(frozen=True)
class Frequencies(Node):
    items: tuple[Frequency, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ValueShare(Node):
    """One `VALUE SHARE` pair of a `values` statement."""

    value: Number
    share: Number
    span: Span = _span()


@dataclass(frozen=True)
class Values(Node):
    """`values V SHARE, ...`: the few distinct values of a numeric column, with their shares."""

    items: tuple[ValueShare, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Given(Node):
    """`given COLUMN == LEVEL:`, the rows a conditional statistic speaks about."""

    column: Ident
    level: LevelLit
    span: Span = _span()


@dataclass(frozen=True)
class GivenFrequencies(Node):
    """`frequencies given COLUMN == LEVEL: L SHARE, ...`"""

    given: Given
    items: tuple[Frequency, ...]
    span: Span = _span()


@dataclass(frozen=True)
class GivenQuantiles(Node):
    """`quantiles given COLUMN == LEVEL: P% X, ...`"""

    given: Given
    items: tuple[Quantile, ...]
    span: Span = _span()


@dataclass(frozen=True)
class GivenValues(Node):
    """`values given COLUMN == LEVEL: V SHARE, ...`"""

    given: Given
    items: tuple[ValueShare, ...]
    span: Span = _span()


# The conditional statistics, with the keyword each is written with.
GIVEN_KEYWORDS: dict[type, str] = {GivenFrequencies: "frequencies", GivenQuantiles: "quantiles",
                                   GivenValues: "values"}


@dataclass(frozen=True)
class Mostly(Node):
    share: Number
    span: Span = _span()


@dataclass(frozen=True)
class Message(Node):
    text: Text
    span: Span = _span()


@dataclass(frozen=True)
class Cite(Node):
    text: Text
    span: Span = _span()


DatasetProp = Description | SourceProp | Rows | Target | Key | MissingDefault
GivenStatistic = GivenFrequencies | GivenQuantiles | GivenValues
ColumnProp = (Description | Unit | Range | Levels | Missing | Mean | Sd | Quantiles | Values | Frequencies
              | GivenStatistic)
RuleProp = Mostly | Message | Cite


# Canonical property order (the order `synspec fmt` writes). The parser stores
# properties in this order, because the order they were written in carries no meaning.
DATASET_PROP_ORDER: tuple[type, ...] = (Description, SourceProp, Rows, Target, Key, MissingDefault)
# Conditional statistics come last, in the order written (they repeat, one per level): an entry
# that is a tuple of types ranks them together.
COLUMN_PROP_ORDER: tuple[type | tuple[type, ...], ...] = (
    Description, Unit, Range, Levels, Missing, Mean, Sd, Quantiles, Values, Frequencies,
    (GivenFrequencies, GivenQuantiles, GivenValues))
RULE_PROP_ORDER: tuple[type, ...] = (Mostly, Message, Cite)


def canonical_order(props: tuple, order: tuple[type | tuple[type, ...], ...]) -> tuple:
    """Props stably sorted into `order` (repeats, and types ranked together, keep their written order)."""
    rank = _rank(order)
    last = len(rank)
    return tuple(sorted(props, key=lambda p: rank.get(type(p), last)))


@functools.lru_cache(maxsize=8)
def _rank(order: tuple[type | tuple[type, ...], ...]) -> dict[type, int]:
    return {cls: i for i, entry in enumerate(order)
            for cls in (entry if isinstance(entry, tuple) else (entry,))}


# ---- column types ----------------------------------------------------------------
@dataclass(frozen=True)
class IntegerType(Node):
    span: Span = _span()


@dataclass(frozen=True)
class DecimalType(Node):
    places: Number
    span: Span = _span()


@dataclass(frozen=True)
class CategoricalType(Node):
    span: Span = _span()


@dataclass(frozen=True)
class BooleanType(Node):
    true_token: LevelLit
    false_token: LevelLit
    span: Span = _span()


ColumnType = IntegerType | DecimalType | CategoricalType | BooleanType


# ---- rule expressions ----------------------------------------------------------
@dataclass(frozen=True)
class Ref(Node):
    """A bare name in a rule: a column, or a level of the column it is compared with."""

    ident: Ident
    span: Span = _span()


@dataclass(frozen=True)
class NumberLit(Node):
    number: Number
    span: Span = _span()


@dataclass(frozen=True)
class StringLit(Node):
    text: Text
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit(Node):
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * /
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Neg(Node):
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Member(Node):
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    span: Span = _span()


@dataclass(frozen=True)
class MissingTest(Node):
    operand: Expr
    negated: bool  # True for "is not missing"
    span: Span = _span()


@dataclass(frozen=True)
class And(Node):
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Or(Node):
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Not(Node):
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Implies(Node):
    condition: Expr
    consequence: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Iff(Node):
    left: Expr
    right: Expr
    span: Span = _span()


Expr = (Ref | NumberLit | StringLit | BoolLit | Compare | Arith | Neg | Member | MissingTest
        | And | Or | Not | Implies | Iff)


# ---- blocks ------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset(Node):
    name: Ident
    props: tuple[DatasetProp, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Column(Node):
    name: Ident
    type: ColumnType
    props: tuple[ColumnProp, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Rule(Node):
    kind: str  # "rule" (hard) or "expect" (soft)
    name: Ident
    expr: Expr
    props: tuple[RuleProp, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Correlation(Node):
    left: Ident
    right: Ident
    value: Number
    method: str = "pearson"
    span: Span = _span()


Item = Column | Rule | Correlation


@dataclass(frozen=True)
class Comment(Node):
    """A `#` comment; kept out of the tree proper but recorded for `fmt`."""

    text: str
    span: Span = _span()


@dataclass(frozen=True)
class SpecFile(Node):
    """A whole parsed file: the header, the items in order, and the comments."""

    dataset: Dataset
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()
