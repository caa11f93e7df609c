"""Pass: target and key columns exist; rule names are unique.

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\n target diabetis\\ncolumn diabetes: boolean 1/0')
>>> r.diagnostics[0].help
'did you mean `diabetes`?'
"""

from __future__ import annotations

from synspec import nodes as n
from synspec.diagnostics import Note, did_you_mean
from synspec.passes.context import Context, unique_props


def _resolve_column(ctx: Context, ident: n.Ident, role: str) -> str | None:
    if ident.name in ctx.column_nodes:
        return ident.name
    guess = did_you_mean(ident.name, ctx.column_nodes)
    ctx.report("S205", f"{role} `{ident.name}` is not a declared column", ident.span,
               label="not a declared column",
               help=f"did you mean `{guess}`?" if guess else "declare the column with `column NAME: TYPE`")
    return None


def names(ctx: Context) -> None:
    props = unique_props(ctx, ctx.tree.dataset.props, f"dataset `{ctx.name}`", report=False)
    if (t := props.get(n.Target)) is not None:
        ctx.target = _resolve_column(ctx, t.column, "target")
    if (k := props.get(n.Key)) is not None:
        keys = []
        for ident in k.columns:
            if (name := _resolve_column(ctx, ident, "key")) is not None and name not in keys:
                keys.append(name)
        ctx.keys = tuple(keys)
    if t is not None and ctx.target is not None and ctx.target in ctx.keys:
        ctx.report("S205", f"`{ctx.target}` cannot be both the target and a key", t.span,
                   help="a key column is numbered by synspec, a target is generated")
    for name in ctx.keys:
        ctx.columns[name] = ctx.columns[name].model_copy(update={"is_key": True})
    if ctx.target is not None:
        ctx.columns[ctx.target] = ctx.columns[ctx.target].model_copy(update={"is_target": True})

    _levels_named_like_columns(ctx)

    first_rule: dict[str, n.Rule] = {}
    for item in ctx.tree.items:
        if not isinstance(item, n.Rule):
            continue
        prior = first_rule.get(item.name.name)
        if prior is not None:
            ctx.report("S204", f"rule `{item.name.name}` is declared twice", item.name.span,
                       label="declared again here",
                       notes=(Note("first declared here", ctx.where(prior.name.span)),),
                       help="give each rule its own name")
        else:
            first_rule[item.name.name] = item


def _levels_named_like_columns(ctx: Context) -> None:
    """S208: in a rule a bare word names the column first, so such a level needs quotes there."""
    for node in ctx.column_nodes.values():
        for prop in node.props:
            if not isinstance(prop, n.Levels):
                continue
            for lit in prop.items:
                if lit.value in ctx.column_nodes:
                    ctx.report("S208", f"level `{lit.value}` of `{node.name.name}` is also the name of a "
                               "column", lit.span, label="also a column",
                               help=f'in rules, a bare `{lit.value}` means the column; write '
                                    f'"{lit.value}" in quotes for the level')
