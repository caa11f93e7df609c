"""Pass: every number written in the spec is a finite number.

`1e400` parses as infinity (and `-1e400` as minus infinity): no column holds it, no exact
arithmetic (grammar bounds, shares) can use it, so it is reported where it was written
(S418) before any other pass reads it.

>>> from synspec.passes import check_text
>>> [d.code for d in check_text('dataset d\\ncolumn x: decimal(1)\\n range 0 to 1e400').diagnostics]
['S418']
"""

from __future__ import annotations

import math

from synspec import nodes as n
from synspec.passes.context import Context
from synspec.tree import walk


def numbers(ctx: Context) -> None:
    for node in walk(ctx.tree):
        if isinstance(node, n.Number) and not math.isfinite(node.value):
            ctx.report("S418", f"{node.text} is too large to be a number here", node.span,
                       label="overflows to infinity",
                       help="write a finite number (at most about 1.8e308); for no bound, "
                            "leave the range out")
