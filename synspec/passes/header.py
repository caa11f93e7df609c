"""Pass: the dataset header (name, description, source, rows, default missing token).

Target and key are resolved later, by `names`, once the columns are known.

>>> from synspec.passes import check_text
>>> check_text('dataset d\\n rows 10\\ncolumn x: integer\\n range 0 to 1').spec.rows
10
"""

from __future__ import annotations

from synspec import nodes as n
from synspec.passes.context import Context, unique_props, whole_number


def header(ctx: Context) -> None:
    dataset = ctx.tree.dataset
    ctx.name = dataset.name.name
    props = unique_props(ctx, dataset.props, f"dataset `{ctx.name}`")
    if (d := props.get(n.Description)) is not None:
        ctx.description = d.text.value
    if (s := props.get(n.SourceProp)) is not None:
        ctx.data_source = s.text.value
    if (r := props.get(n.Rows)) is not None:
        ctx.rows = whole_number(ctx, r.count, "rows")
    if (m := props.get(n.MissingDefault)) is not None:
        ctx.missing_default = m.token.value
