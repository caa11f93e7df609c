"""Pass: column declarations -> `ir.Column`, with every impossible declaration reported.

Checks types and encodings, which properties a type allows, duplicate columns,
ranges (min <= max), means inside the range, positive spreads, quantiles in order,
frequencies naming declared levels and summing to 1, and missingness shares.

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\ncolumn x: integer\\n range 5 to 1')
>>> [d.code for d in r.diagnostics]
['S401']
"""

from __future__ import annotations

import math

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Note, did_you_mean
from synspec.passes.context import Context, property_name, unique_props, whole_number

# Shares written with 3-4 significant digits rarely sum to exactly 1.
FREQUENCY_SUM_TOLERANCE = 0.01

_NUMERIC_ONLY = (n.Range, n.Mean, n.Sd, n.Quantiles)
_MAX_DECIMAL_PLACES = 12


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
    props = unique_props(ctx, node.props, f"column `{name}`")
    fields: dict = {"name": name, "position": position, "location": ctx.location(node.name.span)}
    ctype = node.type
    if isinstance(ctype, n.IntegerType):
        fields["kind"] = ir.ColumnKind.INTEGER
    elif isinstance(ctype, n.DecimalType):
        fields["kind"] = ir.ColumnKind.DECIMAL
        places = whole_number(ctx, ctype.places, "decimal places")
        if places is not None and places > _MAX_DECIMAL_PLACES:
            ctx.report("S409", f"decimal places must be at most {_MAX_DECIMAL_PLACES}",
                       ctype.places.span, help="declare fewer decimal places")
            places = None
        fields["places"] = places
    elif isinstance(ctype, n.CategoricalType):
        fields["kind"] = ir.ColumnKind.CATEGORICAL
    else:
        fields["kind"] = ir.ColumnKind.BOOLEAN
        t, f = ctype.true_token.value, ctype.false_token.value
        if t == f:
            ctx.report("S305", f"boolean column `{name}` uses `{t}` for both true and false",
                       ctype.span, help="write the true token first, then the false one, e.g. 1/0 or Y/N")
        fields["true_token"], fields["false_token"] = t, f
        fields["levels"] = (t, f)
    kind = fields["kind"]
    numeric = kind in (ir.ColumnKind.INTEGER, ir.ColumnKind.DECIMAL)

    for prop in props.values():
        if isinstance(prop, _NUMERIC_ONLY) and not numeric:
            ctx.report("S303", f"`{property_name(prop)}` is only for integer and decimal columns, "
                       f"but `{name}` is {kind.value}", prop.span,
                       help="use `frequencies` to describe a categorical or boolean column")
        if isinstance(prop, n.Levels) and kind is not ir.ColumnKind.CATEGORICAL:
            ctx.report("S303", f"`levels` is only for categorical columns, but `{name}` is {kind.value}",
                       prop.span, help="declare the column as `categorical` or remove `levels`")

    if (d := props.get(n.Description)) is not None:
        fields["description"] = d.text.value
    if (u := props.get(n.Unit)) is not None:
        fields["unit"] = u.text.value

    if kind is ir.ColumnKind.CATEGORICAL:
        levels_node = props.get(n.Levels)
        if levels_node is None:
            ctx.report("S304", f"categorical column `{name}` declares no levels", node.name.span,
                       help='add a line such as `levels Female, Male, "No Info"`')
        else:
            seen: dict[str, n.LevelLit] = {}
            for lit in levels_node.items:
                if lit.value in seen:
                    ctx.report("S207", f"level `{lit.value}` is listed twice for `{name}`", lit.span,
                               notes=(n_note(ctx, "first listed here", seen[lit.value].span),),
                               help="remove the repeated level")
                    continue
                seen[lit.value] = lit
            fields["levels"] = tuple(seen)

    low = high = None
    if numeric and (r := props.get(n.Range)) is not None:
        low, high = r.low.value, r.high.value
        if low > high:
            ctx.report("S401", f"range of `{name}` has minimum {r.low.text} above maximum {r.high.text}",
                       r.span, help=f"write `range {r.high.text} to {r.low.text}`")
        if kind is ir.ColumnKind.INTEGER:
            for bound in (r.low, r.high):
                whole_number(ctx, bound, "an integer column's range bound", minimum=None)
        fields["low"], fields["high"] = low, high

    if numeric and (m := props.get(n.Mean)) is not None:
        fields["mean"] = m.value.value
        if low is not None and high is not None and low <= high and not low <= m.value.value <= high:
            ctx.report("S402", f"mean {m.value.text} of `{name}` is outside its range "
                       f"{_fmt(low)} to {_fmt(high)}", m.span,
                       help="check the mean and the range against the data")
    if numeric and (s := props.get(n.Sd)) is not None:
        fields["sd"] = s.value.value
        if not s.value.value > 0:
            ctx.report("S403", f"sd of `{name}` must be positive, found {s.value.text}", s.span,
                       help="a column with one value needs no sd; remove the line")
    if numeric and (q := props.get(n.Quantiles)) is not None:
        items = []
        for quantile in q.items:
            pct = quantile.percent.value
            if not 0 <= pct <= 100:
                ctx.report("S410", f"quantile {quantile.percent.text}% is not between 0% and 100%",
                           quantile.span, help="use percentages such as 25%, 50%, 75%")
            value = quantile.value.value
            if low is not None and high is not None and not low <= value <= high:
                ctx.report("S410", f"quantile {quantile.percent.text}% = {quantile.value.text} of "
                           f"`{name}` is outside its range {_fmt(low)} to {_fmt(high)}", quantile.span,
                           help="check the quantile and the range against the data")
            items.append((pct, value, quantile))
        for (p1, v1, _), (p2, v2, node2) in zip(items, items[1:], strict=False):
            if p2 <= p1 or v2 < v1:
                ctx.report("S410", f"quantiles of `{name}` must rise with the percentage", node2.span,
                           help="list quantiles from the lowest percentage to the highest")
        fields["quantiles"] = tuple((p, v) for p, v, _ in items)

    if (mi := props.get(n.Missing)) is not None:
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

    if (fr := props.get(n.Frequencies)) is not None:
        if kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN):
            _frequencies(ctx, name, fr, fields)
        else:
            ctx.report("S303", f"`frequencies` is for categorical and boolean columns, but `{name}` "
                       f"is {kind.value}", fr.span,
                       help="describe a numeric column with mean, sd and quantiles")

    # The column is recorded even when a declaration is wrong, so later passes still
    # resolve its name and do not cascade into "unknown column" errors.
    return ir.Column(**fields)


def _frequencies(ctx: Context, name: str, fr: n.Frequencies, fields: dict) -> None:
    levels = fields.get("levels", ())
    ok = True
    items: list[tuple[str, float]] = []
    seen: set[str] = set()
    for freq in fr.items:
        level = freq.level.value
        if levels and level not in levels:
            guess = did_you_mean(level, levels)
            ctx.report("S404", f"frequencies of `{name}` name `{level}`, which is not one of its levels",
                       freq.level.span, label="unknown level",
                       help=(f"did you mean `{guess}`?" if guess else
                             "declared levels: " + ", ".join(levels)))
            ok = False
        if level in seen:
            ctx.report("S207", f"level `{level}` has two frequencies in `{name}`", freq.span,
                       help="give each level one share")
            ok = False
        seen.add(level)
        share = freq.share.value
        if not 0 <= share <= 1:
            ctx.report("S408", f"frequency of `{level}` must be a share between 0 and 1, found "
                       f"{freq.share.text}", freq.share.span, help="write 0.25 for 25%")
            ok = False
        items.append((level, share))
    total = math.fsum(share for _, share in items)
    if ok and abs(total - 1) > FREQUENCY_SUM_TOLERANCE:
        ctx.report("S405", f"frequencies of `{name}` sum to {total:.4g}, not 1", fr.span,
                   help="shares are among non-missing values and must add up to 1 "
                        f"(within {FREQUENCY_SUM_TOLERANCE})")
    fields["frequencies"] = tuple(items)


def _fmt(value: float) -> str:
    return f"{value:g}"
