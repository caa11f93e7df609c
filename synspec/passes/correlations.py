"""Pass: declared correlations name two different numeric (or boolean) columns, once.

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\ncolumn a: integer\\ncolumn b: integer\\ncorrelation a, b: 1.5')
>>> [d.code for d in r.diagnostics]
['S406']
"""

from __future__ import annotations

from typing import Literal, cast

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Note, did_you_mean
from synspec.passes.context import Context


def correlations(ctx: Context) -> None:
    seen: dict[frozenset, n.Correlation] = {}
    for item in ctx.tree.items:
        if not isinstance(item, n.Correlation):
            continue
        ok = True
        for ident in (item.left, item.right):
            column = ctx.columns.get(ident.name)
            if column is None:
                guess = did_you_mean(ident.name, ctx.columns)
                ctx.report("S201", f"unknown column `{ident.name}` in correlation", ident.span,
                           label="not a declared column",
                           help=f"did you mean `{guess}`?" if guess else None)
                ok = False
            elif column.kind is ir.ColumnKind.CATEGORICAL:
                ctx.report("S407", f"correlation needs numeric columns, but `{ident.name}` is categorical",
                           ident.span, help="describe categorical columns with `frequencies`")
                ok = False
        if item.left.name == item.right.name:
            ctx.report("S412", f"correlation of `{item.left.name}` with itself", item.span,
                       help="a column's correlation with itself is always 1; remove the line")
            ok = False
        if not -1 <= item.value.value <= 1:
            ctx.report("S406", f"correlation {item.value.text} is outside [-1, 1]", item.value.span,
                       help="a correlation coefficient lies between -1 and 1")
            ok = False
        pair = frozenset((item.left.name, item.right.name))
        if pair in seen:
            ctx.report("S412", f"correlation of `{item.left.name}` and `{item.right.name}` given twice",
                       item.span, notes=(Note("first given here", ctx.where(seen[pair].span)),),
                       help="keep one of them")
            ok = False
        seen.setdefault(pair, item)
        if ok:
            ctx.correlations.append(ir.Correlation(
                left=item.left.name, right=item.right.name, value=item.value.value,
                # The grammar admits only these two words (and pydantic checks the value again).
                method=cast(Literal["pearson", "spearman"], item.method), location=ctx.location(item.span)))
