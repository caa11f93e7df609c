"""Pass: declared statistics that describe rows a hard rule forbids (S417).

Every entry of a statistic says that some rows hold a value: a `values` or `frequencies`
entry with a share above 0, a quantile (rows lie at and beyond it). Conditional
statistics add the level they are given: `values given diabetes == 0: 250 0.01` says some
rows have diabetes 0 and glucose 250. Such an entry contradicts a hard rule when the rule
is false on it, whatever the row's other cells hold; `kleene.evaluate` decides that on the
partial row. Only rules that mention the statistic's column are tried, so a rule about
the given column alone is reported once, on that column's own frequencies.

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\ncolumn d: boolean 1/0\\ncolumn g: integer\\n'
...                '  values given d == 0: 150 0.9, 250 0.1\\nrule r: g > 200 -> d')
>>> [(x.code, x.message) for x in r.diagnostics]  # doctest: +NORMALIZE_WHITESPACE
[('S417', '`values given d == 0` of `g` declares rows with 250 (share 0.1), which hard rule
  `r` forbids')]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Note
from synspec.passes.context import Context
from synspec.passes.kleene import Known, evaluate

_MAX_LISTED = 5


@dataclass(frozen=True)
class _Entry:
    """One entry of a statistic: the partial row it speaks about, and how to show it."""

    known: dict[str, Known]
    text: str  # `250 (share 0.1)`, `90% 220`, `Y (share 0.2)`
    row: str  # `diabetes == 0 and blood_glucose_level = 250`
    span: object


@dataclass(frozen=True)
class _Statistic:
    what: str  # `values`, `quantiles given diabetes == 0`, ...
    entries: tuple[_Entry, ...]


def contradictions(ctx: Context) -> None:
    hard = [rule for rule in ctx.rules if rule.kind is ir.RuleKind.HARD]
    if not hard:
        return
    rules_of: dict[str, list[ir.Rule]] = {}
    for rule in hard:
        for name in dict.fromkeys(rule.columns):
            rules_of.setdefault(name, []).append(rule)
    for name, node in ctx.column_nodes.items():
        column = ctx.columns[name]
        rules = rules_of.get(name, [])
        for statistic in _statistics(ctx, column, node):
            for rule in rules:
                broken = [e for e in statistic.entries if evaluate(rule.expr, e.known) is False]
                if broken:
                    _report(ctx, column, statistic, rule, broken)


def _report(ctx: Context, column: ir.Column, statistic: _Statistic, rule: ir.Rule,
            broken: list[_Entry]) -> None:
    listed = ", ".join(e.text for e in broken[:_MAX_LISTED])
    if len(broken) > _MAX_LISTED:
        listed += f" and {len(broken) - _MAX_LISTED} more"
    ctx.report("S417", f"`{statistic.what}` of `{column.name}` declares rows with {listed}, which hard "
               f"rule `{rule.name}` forbids", broken[0].span,  # type: ignore[arg-type]
               label=f"forbidden by `{rule.name}`",
               notes=(Note(f"rule `{rule.name}` declared here", str(rule.location)),),
               help=f"a row with {broken[0].row} breaks `{rule.text}`; correct the statistic or the rule")


# ---- the entries of each statistic of a column ---------------------------------------------
def _statistics(ctx: Context, column: ir.Column, node: n.Column) -> Iterator[_Statistic]:
    for prop in node.props:
        given = _given(ctx, column, prop.given) if isinstance(prop, n.GivenStatistic) else ({}, "")
        if given is None:
            continue  # an unresolved `given` was reported by `conditionals`
        base, condition = given
        what = _keyword(prop) + (f" given {condition}" if condition else "")
        entries = tuple(_entries(column, prop, base, condition))
        if entries:
            yield _Statistic(what, entries)


def _keyword(prop: object) -> str:
    if isinstance(prop, n.GivenStatistic):
        return n.GIVEN_KEYWORDS[type(prop)]
    return {n.Values: "values", n.Quantiles: "quantiles", n.Frequencies: "frequencies"}.get(type(prop), "")


def _entries(column: ir.Column, prop: object, base: dict[str, Known], condition: str) -> Iterator[_Entry]:
    prefix = f"{condition} and " if condition else ""
    if isinstance(prop, n.Values | n.GivenValues) and column.is_numeric:
        for item in prop.items:
            if item.share.value > 0:
                yield _Entry({**base, column.name: item.value.value}, f"{item.value.text} (share "
                             f"{item.share.text})", f"{prefix}{column.name} = {item.value.text}", item.span)
    elif isinstance(prop, n.Quantiles | n.GivenQuantiles) and column.is_numeric:
        for q in prop.items:
            yield _Entry({**base, column.name: q.value.value}, f"{q.percent.text}% {q.value.text}",
                         f"{prefix}{column.name} = {q.value.text}", q.span)
    elif isinstance(prop, n.Frequencies | n.GivenFrequencies) and not column.is_numeric:
        for freq in prop.items:
            value = _level_value(column, freq.level.value)
            if freq.share.value > 0 and value is not None:
                yield _Entry({**base, column.name: value}, f"{freq.level.value} (share {freq.share.text})",
                             f"{prefix}{column.name} == {freq.level.value}", freq.span)


def _given(ctx: Context, column: ir.Column, given: n.Given) -> tuple[dict[str, Known], str] | None:
    """The known cell a `given COL == LEVEL` adds, and its text; None if it did not resolve."""
    other = ctx.columns.get(given.column.name)
    if other is None or other.name == column.name or other.is_numeric:
        return None
    value = _level_value(other, given.level.value)
    if value is None:
        return None
    return {other.name: value}, f"{other.name} == {given.level.value}"


def _level_value(column: ir.Column, level: str) -> Known | None:
    """A level as the evaluator sees it: the text, or for a boolean its truth."""
    if level not in column.levels:
        return None
    if column.kind is ir.ColumnKind.BOOLEAN:
        return level == column.true_token
    return level
