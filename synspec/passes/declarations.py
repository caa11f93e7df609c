"""Pass: column declarations -> `ir.Column`, with every impossible declaration reported.

Checks types and encodings, which properties a type allows, duplicate columns, levels,
ranges (min <= max), means inside the range, positive spreads, missingness shares, and
the column's own statistics (quantiles, values, frequencies; see `statistics`).
Statistics given another column are checked by the `conditionals` pass, which needs
every column declared first.

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\ncolumn x: integer\\n range 5 to 1')
>>> [d.code for d in r.diagnostics]
['S401']
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Note
from synspec.passes import statistics
from synspec.passes.context import Context, Props, property_name, unique_props, whole_number

_MAX_DECIMAL_PLACES = 12
_NUMERIC = (ir.ColumnKind.INTEGER, ir.ColumnKind.DECIMAL)
_LEVELLED = (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN)
# Properties that only some kinds of column take, with the help shown when misplaced.
_NUMERIC_ONLY = (n.Range, n.Mean, n.Sd, n.Quantiles, n.Values, n.GivenQuantiles, n.GivenValues)
_LEVELLED_ONLY = (n.Frequencies, n.GivenFrequencies)
_GIVEN = (n.GivenFrequencies, n.GivenQuantiles, n.GivenValues)

Fields = dict[str, Any]  # keyword arguments of `ir.Column`, gathered property by property


def declarations(ctx: Context) -> None:
    for position, node in enumerate(col for col in ctx.tree.items if isinstance(col, n.Column)):
        name = node.name.name
        first = ctx.column_nodes.get(name)
        if first is not None:
            ctx.report("S203", f"column `{name}` is declared twice", node.name.span,
                       label="declared again here",
                       notes=(n_note(ctx, "first declared here", first.name.span),),
                       help="rename one of the columns or delete the repeated block")
            continue
        ctx.column_nodes[name] = node
        ctx.columns[name] = _column(ctx, node, position)


def n_note(ctx: Context, message: str, span) -> Note:
    return Note(message, ctx.where(span))


def _column(ctx: Context, node: n.Column, position: int) -> ir.Column:
    name = node.name.name
    # Statistics given another column repeat, one per level: `conditionals` checks them.
    props = unique_props(ctx, tuple(p for p in node.props if not isinstance(p, _GIVEN)),
                                          f"column `{name}`")
    fields: Fields = {"name": name, "position": position, "location": ctx.location(node.name.span)}
    fields.update(_type(ctx, name, node.type))
    kind = fields["kind"]
    _allowed(ctx, name, kind, node.props)
    if (d := props.get(n.Description)) is not None:
        fields["description"] = d.text.value
    if (u := props.get(n.Unit)) is not None:
        fields["unit"] = u.text.value
    if kind is ir.ColumnKind.CATEGORICAL:
        fields["levels"] = _levels(ctx, node, props.get(n.Levels))
    if kind in _NUMERIC:
        _numeric(ctx, name, props, fields)
    if (mi := props.get(n.Missing)) is not None:
        _missing(ctx, name, mi, fields)
    if kind in _LEVELLED and (fr := props.get(n.Frequencies)) is not None:
        fields["frequencies"] = statistics.frequencies(ctx, fr.items, f"`{name}`",
                                                       fields.get("levels", ()), fr.span)
    # The column is recorded even when a declaration is wrong, so later passes still
    # resolve its name and do not cascade into "unknown column" errors.
    return ir.Column(**fields)


def domain(column: ir.Column) -> statistics.NumericDomain:
    """The range and decimal places that a numeric column's statistics must respect."""
    places = 0 if column.kind is ir.ColumnKind.INTEGER else column.places
    return statistics.NumericDomain(column.name, column.low, column.high, places)


# ---- the type --------------------------------------------------------------------------
def _type(ctx: Context, name: str, ctype: n.ColumnType) -> Fields:
    if isinstance(ctype, n.IntegerType):
        return {"kind": ir.ColumnKind.INTEGER}
    if isinstance(ctype, n.DecimalType):
        places = whole_number(ctx, ctype.places, "decimal places")
        if places is not None and places > _MAX_DECIMAL_PLACES:
            ctx.report("S409", f"decimal places must be at most {_MAX_DECIMAL_PLACES}",
                       ctype.places.span, help="declare fewer decimal places")
            places = None
        return {"kind": ir.ColumnKind.DECIMAL, "places": places}
    if isinstance(ctype, n.CategoricalType):
        return {"kind": ir.ColumnKind.CATEGORICAL}
    t, f = ctype.true_token.value, ctype.false_token.value
    if t == f:
        ctx.report("S305", f"boolean column `{name}` uses `{t}` for both true and false",
                   ctype.span, help="write the true token first, then the false one, e.g. 1/0 or Y/N")
    return {"kind": ir.ColumnKind.BOOLEAN, "true_token": t, "false_token": f, "levels": (t, f)}


def _allowed(ctx: Context, name: str, kind: ir.ColumnKind, props: tuple) -> None:
    """S303 for each property that this kind of column does not take."""
    for prop in props:
        if isinstance(prop, _NUMERIC_ONLY) and kind not in _NUMERIC:
            ctx.report("S303", f"`{property_name(prop)}` is only for integer and decimal columns, "
                       f"but `{name}` is {kind.value}", prop.span,
                       help="use `frequencies` to describe a categorical or boolean column")
        elif isinstance(prop, _LEVELLED_ONLY) and kind not in _LEVELLED:
            ctx.report("S303", f"`{property_name(prop)}` is for categorical and boolean columns, but "
                       f"`{name}` is {kind.value}", prop.span,
                       help="describe a numeric column with mean, sd, quantiles or values")
        elif isinstance(prop, n.Levels) and kind is not ir.ColumnKind.CATEGORICAL:
            ctx.report("S303", f"`levels` is only for categorical columns, but `{name}` is {kind.value}",
                       prop.span, help="declare the column as `categorical` or remove `levels`")


# ---- categorical levels ------------------------------------------------------------------
def _levels(ctx: Context, node: n.Column, levels: n.Levels | None) -> tuple[str, ...]:
    name = node.name.name
    if levels is None:
        ctx.report("S304", f"categorical column `{name}` declares no levels", node.name.span,
                   help='add a line such as `levels Female, Male, "No Info"`')
        return ()
    seen: dict[str, n.LevelLit] = {}
    for lit in levels.items:
        if lit.value in seen:
            ctx.report("S207", f"level `{lit.value}` is listed twice for `{name}`", lit.span,
                       notes=(n_note(ctx, "first listed here", seen[lit.value].span),),
                       help="remove the repeated level")
            continue
        seen[lit.value] = lit
    return tuple(seen)


# ---- numbers -------------------------------------------------------------------------------
def _numeric(ctx: Context, name: str, props: Props, fields: Fields) -> None:
    """Range, mean, sd, quantiles and values of an integer or decimal column."""
    if (r := props.get(n.Range)) is not None:
        _range(ctx, name, r, fields)
    places = 0 if fields["kind"] is ir.ColumnKind.INTEGER else fields.get("places")
    dom = statistics.NumericDomain(name, fields.get("low"), fields.get("high"), places)
    if (m := props.get(n.Mean)) is not None:
        fields["mean"] = m.value.value
        if dom.bounded and not dom.contains(m.value.value):
            ctx.report("S402", f"mean {m.value.text} of `{name}` is outside its range "
                       f"{dom.describe_range()}", m.span,
                       help="check the mean and the range against the data")
    if (s := props.get(n.Sd)) is not None:
        fields["sd"] = s.value.value
        if not s.value.value > 0:
            ctx.report("S403", f"sd of `{name}` must be positive, found {s.value.text}", s.span,
                       help="a column with one value needs no sd; remove the line")
    if (q := props.get(n.Quantiles)) is not None:
        fields["quantiles"] = statistics.quantiles(ctx, q.items, f"`{name}`", dom)
    if (v := props.get(n.Values)) is not None:
        fields["values"] = statistics.values(ctx, v.items, f"`{name}`", dom, v.span)


def _range(ctx: Context, name: str, r: n.Range, fields: Fields) -> None:
    low, high = r.low.value, r.high.value
    if low > high:
        ctx.report("S401", f"range of `{name}` has minimum {r.low.text} above maximum {r.high.text}",
                   r.span, help=f"write `range {r.high.text} to {r.low.text}`")
    if fields["kind"] is ir.ColumnKind.INTEGER:
        for bound in (r.low, r.high):
            whole_number(ctx, bound, "an integer column's range bound", minimum=None)
    elif (places := fields.get("places")) is not None and low <= high and math.isfinite(low) \
            and math.isfinite(high):
        # The values a decimal(p) column can hold are multiples of 10**-p: one must lie inside.
        unit = 10 ** places
        if math.ceil(Fraction(r.low.text) * unit) > math.floor(Fraction(r.high.text) * unit):
            ctx.report("S419", f"no value with {places} decimal place{'s' if places != 1 else ''} "
                       f"lies in the range {r.low.text} to {r.high.text} of `{name}`", r.span,
                       label="an empty range for this type",
                       help="widen the range, or declare more decimal places")
    fields["low"], fields["high"] = low, high


# ---- missing values --------------------------------------------------------------------------
def _missing(ctx: Context, name: str, mi: n.Missing, fields: Fields) -> None:
    rate = mi.rate.value
    if not 0 <= rate <= 1:
        ctx.report("S408", f"missing share of `{name}` must be between 0 and 1, found {mi.rate.text}",
                   mi.rate.span, help="write a share such as 0.04 (4% of rows)")
    fields["missing_rate"] = rate
    token = mi.token.value if mi.token is not None else ctx.missing_default
    fields["missing_token"] = token
    if token in fields.get("levels", ()):
        ctx.report("S413", f"missing token \"{token}\" of `{name}` is also one of its levels",
                   mi.span, help="a missing value and a level must be written differently")
