"""Soft expectations (`expect NAME: ... mostly P`) held by the rows a run writes.

The joint draw and the grammar enforce hard rules only; a soft expectation's share among the
generated rows is whatever the draw or the model happens to give (3 of 10 children smoking
where the spec says 97% do not). `ExpectationQuota` admits the checked rows one by one, in
output order, and refuses a row that fails an expectation when writing it would bring that
expectation's share of applicable rows below its `mostly`; the row is regenerated like a row
a hard rule rejects. The share is therefore at least `mostly` after every row, so the written
table meets every expectation exactly as `synspec validate` measures it (passed/applicable
>= mostly), whatever its size, while the rows the expectation allows to fail are still
written, in their declared proportion.

>>> from synspec.passes import check_text
>>> spec = check_text("dataset d\\ncolumn x: integer\\n range 0 to 9\\nexpect low: x < 5\\n mostly 0.5").spec
>>> quota = ExpectationQuota(spec)
>>> [quota.admit(("low",), failed) for failed in [("low",), (), ("low",), ("low",)]]
['low', None, None, 'low']
"""

from __future__ import annotations

from synspec import ir

# A tolerance so that 99 of 100 meets "mostly 0.99" despite binary floating point (as the checker).
_EPS = 1e-12


class ExpectationQuota:
    """Per soft expectation: applicable and failing rows admitted so far."""

    def __init__(self, spec: ir.Spec) -> None:
        self.mostly = {r.name: r.mostly for r in spec.soft_rules if r.mostly is not None}
        self.applicable = dict.fromkeys(self.mostly, 0)
        self.failed = dict.fromkeys(self.mostly, 0)

    def refuses(self, applicable: tuple[str, ...], failed: tuple[str, ...]) -> str | None:
        """The first expectation whose share admitting this row would bring below `mostly`."""
        for name in failed:
            if name not in self.mostly:
                continue
            n = self.applicable[name] + 1
            if (n - self.failed[name] - 1) / n < self.mostly[name] - _EPS:
                return name
        return None

    def count(self, applicable: tuple[str, ...], failed: tuple[str, ...]) -> None:
        """Record a written row (also the rows of an interrupted run, on resume)."""
        for name in applicable:
            if name in self.applicable:
                self.applicable[name] += 1
        for name in failed:
            if name in self.failed:
                self.failed[name] += 1

    def admit(self, applicable: tuple[str, ...], failed: tuple[str, ...]) -> str | None:
        """Count the row and return None, or return the refusing expectation's name."""
        refused = self.refuses(applicable, failed)
        if refused is None:
            self.count(applicable, failed)
        return refused
