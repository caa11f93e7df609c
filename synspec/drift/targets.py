"""What a drift check measures: one target per declared statistic, located in the spec.

Owns reading a spec's syntax tree (for the text each number was written with, and where) and
its IR (for column kinds and tokens) into `Target`s: a share (a frequency, a value's share, a
missing share), a quantile (its percentage and value), a mean, an sd or a correlation, each
with the rows it speaks about (a `given` level), its declared number and the rounding the
written text allows (half a unit of its last decimal: `41.89` stands for 41.885 to 41.895).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from synspec import fmt, ir
from synspec import nodes as n
from synspec.parse import parse
from synspec.source import Source


def half_unit(text: str) -> float:
    """Half a unit of the last written decimal: the rounding a declared number may hide."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


@dataclass(frozen=True)
class Target:
    """One declared statistic to compare with the data."""

    column: str  # the column it describes (for a correlation, the first of the pair)
    statistic: str  # `mean`, `frequency of Female given diabetes == 1`, `quantile 25%`, ...
    kind: str  # share | missing | quantile | mean | sd | correlation
    declared: float  # the number as written (for a quantile: its value)
    text: str  # the number as written
    rounding: float  # half a unit of its last decimal
    location: str  # path:line:column
    given: tuple[str, str] | None = None  # (column, level as in the file) of a `given` statistic
    key: str | float | None = None  # the level or value a share counts
    keys: tuple[str | float, ...] = ()  # every level or value listed beside it (shares are among them)
    percent: float | None = None  # a quantile's share (0-1)
    percent_rounding: float = 0.0
    other: str | None = None  # the second column of a correlation
    method: str = "pearson"


def read_targets(spec: ir.Spec, text: str) -> list[Target]:
    """Every declared statistic of `spec` (whose source is `text`), in file order."""
    source = Source(spec.path, text)
    tree = parse(source).tree
    if tree is None:
        raise ValueError(f"{spec.path} does not parse")

    def where(node: n.Node) -> str:
        pos = source.position(node.span.start)  # type: ignore[attr-defined]
        return f"{spec.path}:{pos.line}:{pos.column}"

    out: list[Target] = []
    for item in tree.items:
        if isinstance(item, n.Correlation):
            out.append(Target(item.left.name, f"correlation with {item.right.name}"
                              + (" (spearman)" if item.method == "spearman" else ""), "correlation",
                              item.value.value, item.value.text, half_unit(item.value.text),
                              where(item.value),
                              other=item.right.name, method=item.method))
        if not isinstance(item, n.Column):
            continue
        column = spec.column(item.name.name)
        if column.is_key:
            continue
        for prop in item.props:
            out += _column_targets(column, prop, where)
    return out


def _given(prop: n.Node) -> tuple[tuple[str, str] | None, str]:
    given = getattr(prop, "given", None)
    if given is None:
        return None, ""
    words = f" given {fmt.name(given.column)} == {fmt.level(given.level)}"
    return (given.column.name, given.level.value), words


def _column_targets(column: ir.Column, prop: n.Node, where: Callable[[n.Node], str]) -> list[Target]:
    name = column.name
    given, suffix = _given(prop)
    if isinstance(prop, n.Missing):
        return [Target(name, "missing share", "missing", prop.rate.value, prop.rate.text,
                       half_unit(prop.rate.text), where(prop.rate))]
    if isinstance(prop, n.Mean):
        return [Target(name, "mean", "mean", prop.value.value, prop.value.text, half_unit(prop.value.text),
                       where(prop.value))]
    if isinstance(prop, n.Sd):
        return [Target(name, "sd", "sd", prop.value.value, prop.value.text, half_unit(prop.value.text),
                       where(prop.value))]
    if isinstance(prop, (n.Frequencies, n.GivenFrequencies)):
        levels = tuple(f.level.value for f in prop.items)
        return [Target(name, f"frequency of {fmt.level(f.level)}{suffix}", "share", f.share.value,
                       f.share.text,
                       half_unit(f.share.text), where(f.share), given, f.level.value, levels)
                for f in prop.items]
    if isinstance(prop, (n.Values, n.GivenValues)):
        values = tuple(round(v.value.value, 9) for v in prop.items)
        return [Target(name, f"share of value {v.value.text}{suffix}", "share", v.share.value, v.share.text,
                       half_unit(v.share.text), where(v.share), given, round(v.value.value, 9), values)
                for v in prop.items]
    if isinstance(prop, (n.Quantiles, n.GivenQuantiles)):
        return [Target(name, f"quantile {q.percent.text}%{suffix}", "quantile", q.value.value, q.value.text,
                       half_unit(q.value.text), where(q.value), given, percent=q.percent.value / 100,
                       percent_rounding=half_unit(q.percent.text) / 100)
                for q in prop.items]
    return []
