"""Pass on the checked spec: the hard rules leave at least one row.

The same analysis the row grammar is built from (`targets.grammar.unsatisfiable_rules`:
column classes cut at the rules' thresholds, valid combinations per group of linked
columns), so `check` refuses exactly the specs `compile` and `run` would refuse, with every
rule involved located. Groups too large to enumerate are not judged here (the grammar checks
their rules after generation too).

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\ncolumn x: integer\\n range 0 to 10\\nrule big: x > 5\\nrule small: x < 3')
>>> [d.code for d in r.diagnostics if d.is_error]
['S504']
"""

from __future__ import annotations

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Note
from synspec.passes.context import Context
from synspec.targets.grammar import unsatisfiable_rules


def satisfiable(ctx: Context, spec: ir.Spec) -> None:
    names = {item.name.name: item for item in ctx.tree.items if isinstance(item, n.Rule)}
    for rules in unsatisfiable_rules(spec):
        first, *others = (names[r.name] for r in rules)
        listed = ", ".join(f"`{r.name}`" for r in rules)
        what = f"the hard rules {listed} together" if others else f"the hard rule {listed}"
        ctx.report("S504", f"no row can satisfy {what}", first.name.span,
                   label="no row satisfies this rule" + (" and the others" if others else ""),
                   notes=tuple(Note(f"rule `{o.name.name}` declared here", ctx.where(o.name.span))
                               for o in others),
                   help="the rules contradict each other or their columns' ranges; "
                        "correct one, or make it an `expect ... mostly` expectation")
