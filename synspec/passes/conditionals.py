"""Pass: statistics given one level of another column -> `ir.Column.conditionals`.

`frequencies given COL == LEVEL: ...`, `quantiles given ...` and `values given ...` speak
about the rows where COL holds LEVEL. COL must be a declared categorical or boolean
column other than the column itself (S201, S416); LEVEL one of its levels, or for a
boolean its true or false token (S202); each (statistic, COL, LEVEL) is given once
(S206). The lists themselves are checked like the column's own (`statistics`). Runs
after `declarations`, when every column is known.

>>> from synspec.passes import check_text
>>> spec = check_text('dataset d\\ncolumn y: boolean 1/0\\ncolumn x: integer\\n'
...                   '  quantiles given y == 1: 50% 4').spec
>>> spec.column("x").conditionals[0].quantiles
((50.0, 4.0),)
"""

from __future__ import annotations

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Note, did_you_mean
from synspec.passes import statistics
from synspec.passes.context import Context
from synspec.passes.declarations import domain

_LEVELLED = (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN)
_NUMERIC = (ir.ColumnKind.INTEGER, ir.ColumnKind.DECIMAL)
# Which kind of column each statistic describes (a misplaced one is S303, from `declarations`).
_FOR_KINDS = {n.GivenFrequencies: _LEVELLED, n.GivenQuantiles: _NUMERIC, n.GivenValues: _NUMERIC}


def conditionals(ctx: Context) -> None:
    for name, node in ctx.column_nodes.items():
        column = ctx.columns[name]
        seen: dict[tuple[type, str, str], n.GivenStatistic] = {}
        # One record per (column, level), holding each statistic written for it.
        found: dict[tuple[str, str], ir.Conditional] = {}
        for prop in node.props:
            if not isinstance(prop, n.GivenFrequencies | n.GivenQuantiles | n.GivenValues):
                continue
            if column.kind not in _FOR_KINDS[type(prop)]:
                continue  # reported by `declarations` (S303)
            resolved = resolve_given(ctx, column, prop.given)
            if resolved is None:
                continue
            key = (type(prop), *resolved)
            if key in seen:
                _repeated(ctx, column, prop, seen[key])
                continue
            seen[key] = prop
            stats = _statistic(ctx, column, prop, *resolved)
            record = found.get(resolved)
            found[resolved] = (record.model_copy(update=stats) if record is not None else
                               ir.Conditional(given=resolved[0], level=resolved[1],
                                              location=ctx.location(prop.span), **stats))
        if found:
            ctx.columns[name] = column.model_copy(update={"conditionals": tuple(found.values())})


def describe(prop: n.GivenStatistic) -> str:
    """How a conditional statistic is written, up to its colon: `values given diabetes == 0`."""
    given = prop.given
    return f"{n.GIVEN_KEYWORDS[type(prop)]} given {given.column.name} == {given.level.value}"


def resolve_given(ctx: Context, column: ir.Column, given: n.Given) -> tuple[str, str] | None:
    """(column, level) named by `given COL == LEVEL`, or None after reporting why not."""
    other = ctx.columns.get(given.column.name)
    if other is None:
        guess = did_you_mean(given.column.name, ctx.columns)
        ctx.report("S201", f"unknown column `{given.column.name}` in a statistic of `{column.name}`",
                   given.column.span, label="not a declared column",
                   help=f"did you mean `{guess}`?" if guess else "declare the column first")
        return None
    if other.name == column.name:
        ctx.report("S416", f"a statistic of `{column.name}` is given `{column.name}` itself",
                   given.column.span, label="the column itself",
                   help="condition on another column, e.g. the target")
        return None
    if other.kind not in _LEVELLED:
        ctx.report("S416", f"statistics can be given a categorical or boolean column, but "
                   f"`{other.name}` is {other.kind.value}", given.column.span,
                   label="not categorical or boolean",
                   help="condition on a categorical or boolean column, e.g. the target")
        return None
    level = given.level.value
    if level not in other.levels:
        what = "encoding token" if other.kind is ir.ColumnKind.BOOLEAN else "level"
        guess = did_you_mean(level, other.levels)
        article = "an" if other.kind is ir.ColumnKind.BOOLEAN else "a"
        ctx.report("S202", f"`{level}` is not {article} {what} of `{other.name}`", given.level.span,
                   label=f"unknown {what}",
                   help=f"did you mean `{guess}`?" if guess else
                   f"{what}s of `{other.name}` are: " + ", ".join(other.levels))
        return None
    return other.name, level


def _repeated(ctx: Context, column: ir.Column, prop: n.GivenStatistic, first: n.GivenStatistic) -> None:
    ctx.report("S206", f"`{describe(prop)}` given twice for column `{column.name}`", prop.given.span,
               label="repeated here", notes=(Note("first given here", ctx.where(first.given.span)),),
               help="keep one of them")


def _statistic(ctx: Context, column: ir.Column, prop: n.GivenStatistic, given: str,
               level: str) -> dict[str, tuple]:
    """The checked list of one conditional statistic, as the `ir.Conditional` field it fills."""
    owner = f"`{column.name}` given `{given}` == {level}"
    if isinstance(prop, n.GivenFrequencies):
        return {"frequencies": statistics.frequencies(ctx, prop.items, owner, column.levels, prop.span)}
    if isinstance(prop, n.GivenQuantiles):
        return {"quantiles": statistics.quantiles(ctx, prop.items, owner, domain(column))}
    return {"values": statistics.values(ctx, prop.items, owner, domain(column), prop.span)}
