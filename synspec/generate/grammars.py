"""Row grammars for generation: one per distinct set of fixed values, cached, relaxed when
the fixed values contradict the rules.

Seeded columns never share a hard rule directly, but they can conflict through an
unseeded one (stroke: ever_married=Yes needs age >= 18, work_type=children needs
age <= 16). Then the last-drawn seeded values are released, one at a time, until a row
is possible. This module is the one place that turns "the grammar admits no row with
these fixed values" into `InfeasibleRow`.
"""

from __future__ import annotations

from collections import OrderedDict

from synspec import ir
from synspec.errors import UserError
from synspec.generate.seeding import Draw
from synspec.targets.grammar import RowGrammar, row_grammar


class InfeasibleRow(Exception):
    """No row satisfies the spec's rules with these fixed values (a draw, not the user, is at fault)."""

    def __init__(self, fixed: dict[str, Draw], reason: str) -> None:
        super().__init__(reason)
        self.fixed = fixed
        self.reason = reason


def build(spec: ir.Spec, fixed: dict[str, Draw]) -> RowGrammar:
    """`row_grammar(spec, fixed)`, raising `InfeasibleRow` when the fixed values leave no row.

    With nothing fixed, a spec that admits no row stays a UserError (exit 2).
    """
    try:
        return row_grammar(spec, fixed=fixed or None)
    except UserError as exc:
        # row_grammar reports infeasible fixed values as a UserError today (see the report
        # to the lead: the grammar module should raise InfeasibleRow itself).
        if not fixed:
            raise
        raise InfeasibleRow(fixed, exc.message) from exc


# Rows drawn by the joint draw rarely share their fixed values, so the cache keeps only the
# most recent grammars: a long run must not hold one grammar per row it ever made.
CACHE_SIZE = 4096


class RowGrammars:
    """The grammars of one spec's rows, by their fixed values (the `CACHE_SIZE` latest)."""

    def __init__(self, spec: ir.Spec) -> None:
        self.spec = spec
        self._cache: OrderedDict[tuple[tuple[str, Draw], ...], tuple[RowGrammar, int]] = OrderedDict()

    def unconstrained(self) -> RowGrammar:
        """The grammar with nothing fixed (what it enforces goes into the manifest)."""
        return self.for_row({})[0]

    def for_row(self, fixed: dict[str, Draw]) -> tuple[RowGrammar, int]:
        """The grammar forcing `fixed`, and how many of its last values had to be released."""
        key = tuple(fixed.items())
        if key in self._cache:
            self._cache.move_to_end(key)
        else:
            self._cache[key] = self._relaxed(fixed)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return self._cache[key]

    def _relaxed(self, fixed: dict[str, Draw]) -> tuple[RowGrammar, int]:
        names = list(fixed)
        for dropped in range(len(names) + 1):
            kept = {name: fixed[name] for name in names[: len(names) - dropped]}
            try:
                return build(self.spec, kept), dropped
            except InfeasibleRow:
                continue
        raise AssertionError("unreachable: nothing fixed either returns a grammar or raises UserError")
