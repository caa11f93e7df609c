"""Checks shared by every statistic list: quantiles, frequencies and values.

The same list may be written for a whole column (`quantiles 25% 24, ...`) or for the rows
of one level of another column (`quantiles given diabetes == 0: ...`); both are checked
here, so the two read the same way and report the same codes. `owner` names the list in
messages: "`bmi`" or "`bmi` given `diabetes` == 0".

>>> from synspec.passes import check_text
>>> r = check_text('dataset d\\ncolumn x: integer\\n range 0 to 9\\n values 1 0.5, 1 0.5')
>>> [d.code for d in r.diagnostics]
['S415']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from synspec import nodes as n
from synspec.diagnostics import Note, did_you_mean
from synspec.passes.context import Context

# Shares written with 3-4 significant digits rarely sum to exactly 1.
FREQUENCY_SUM_TOLERANCE = 0.01


@dataclass(frozen=True)
class NumericDomain:
    """What a numeric column allows: its range (if declared) and its decimal places."""

    column: str
    low: float | None
    high: float | None
    places: int | None  # 0 for integers; None when unknown (a broken `decimal(P)`)

    @property
    def bounded(self) -> bool:
        return self.low is not None and self.high is not None and self.low <= self.high

    def contains(self, value: float) -> bool:
        return not self.bounded or self.low <= value <= self.high  # type: ignore[operator]

    def describe_range(self) -> str:
        return f"{self.low:g} to {self.high:g}"


def quantiles(ctx: Context, items: tuple[n.Quantile, ...], owner: str,
              domain: NumericDomain) -> tuple[tuple[float, float], ...]:
    """(percent, value) pairs; S410 for a percentage outside 0-100, a value outside the range
    or quantiles that do not rise with the percentage."""
    checked: list[tuple[float, float, n.Quantile]] = []
    for quantile in items:
        pct = quantile.percent.value
        if not 0 <= pct <= 100:
            ctx.report("S410", f"quantile {quantile.percent.text}% is not between 0% and 100%",
                       quantile.span, help="use percentages such as 25%, 50%, 75%")
        value = quantile.value.value
        if not domain.contains(value):
            ctx.report("S410", f"quantile {quantile.percent.text}% = {quantile.value.text} of "
                       f"{owner} is outside its range {domain.describe_range()}", quantile.span,
                       help="check the quantile and the range against the data")
        checked.append((pct, value, quantile))
    for (p1, v1, _), (p2, v2, node2) in zip(checked, checked[1:], strict=False):
        if p2 <= p1 or v2 < v1:
            ctx.report("S410", f"quantiles of {owner} must rise with the percentage", node2.span,
                       help="list quantiles from the lowest percentage to the highest")
    return tuple((p, v) for p, v, _ in checked)


def frequencies(ctx: Context, items: tuple[n.Frequency, ...], owner: str, levels: tuple[str, ...],
                span) -> tuple[tuple[str, float], ...]:
    """(level, share) pairs; S404 for an undeclared level, S207 for a repeat, S408 for a share
    outside [0, 1], S405 when the shares do not sum to 1."""
    ok = True
    checked: list[tuple[str, float]] = []
    seen: set[str] = set()
    for freq in items:
        level = freq.level.value
        if levels and level not in levels:
            guess = did_you_mean(level, levels)
            ctx.report("S404", f"frequencies of {owner} name `{level}`, which is not one of its levels",
                       freq.level.span, label="unknown level",
                       help=(f"did you mean `{guess}`?" if guess else
                             "declared levels: " + ", ".join(levels)))
            ok = False
        if level in seen:
            ctx.report("S207", f"level `{level}` has two frequencies in {owner}", freq.span,
                       help="give each level one share")
            ok = False
        seen.add(level)
        share = freq.share.value
        if not 0 <= share <= 1:
            ctx.report("S408", f"frequency of `{level}` must be a share between 0 and 1, found "
                       f"{freq.share.text}", freq.share.span, help="write 0.25 for 25%")
            ok = False
        checked.append((level, share))
    if ok:
        _sums_to_one(ctx, [share for _, share in checked], f"frequencies of {owner}", span)
    return tuple(checked)


def values(ctx: Context, items: tuple[n.ValueShare, ...], owner: str, domain: NumericDomain,
           span) -> tuple[tuple[float, float], ...]:
    """(value, share) pairs ascending by value; S414 for a value outside the range or with
    more decimal places than the column, S415 for a repeat, S408 for a share outside (0, 1],
    S405 when the shares do not sum to 1."""
    ok = True
    checked: dict[float, tuple[float, n.ValueShare]] = {}
    for item in items:
        value, share = item.value.value, item.share.value
        ok &= _value_fits(ctx, item.value, owner, domain)
        if value in checked:
            first = checked[value][1]
            ctx.report("S415", f"value {item.value.text} is listed twice in `values` of {owner}",
                       item.value.span, label="listed again here",
                       notes=(Note("first listed here", ctx.where(first.span)),),
                       help="give each value one share")
            ok = False
            continue
        if not 0 < share <= 1:
            ctx.report("S408", f"share of value {item.value.text} must be above 0 and at most 1, found "
                       f"{item.share.text}", item.share.span,
                       help="list only values that occur; write 0.25 for 25%")
            ok = False
        checked[value] = (share, item)
    if ok:
        _sums_to_one(ctx, [share for share, _ in checked.values()], f"values of {owner}", span)
    return tuple(sorted((value, share) for value, (share, _) in checked.items()))


def _value_fits(ctx: Context, number: n.Number, owner: str, domain: NumericDomain) -> bool:
    if not math.isfinite(number.value):
        ctx.report("S414", f"value {number.text} of {owner} is not a finite number", number.span,
                   help="write the value as it appears in the data")
        return False
    if not domain.contains(number.value):
        ctx.report("S414", f"value {number.text} of {owner} is outside its range "
                   f"{domain.describe_range()}", number.span, label="outside the range",
                   help="check the value and the range against the data")
        return False
    places = decimal_places(number.text)
    if domain.places is not None and places > domain.places:
        kind = "an integer column" if domain.places == 0 else f"a column with {domain.places} decimal " \
               f"place{'s' * (domain.places != 1)}"
        ctx.report("S414", f"value {number.text} of {owner} has {places} decimal place"
                   f"{'s' * (places != 1)}, but `{domain.column}` is {kind}", number.span,
                   label="finer than the column", help="write the value as it appears in the data")
        return False
    return True


def decimal_places(text: str) -> int:
    """Decimal places a number needs: `1.50` needs 1, `2e-3` needs 3, `1e2` needs none."""
    exponent = Decimal(text).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _sums_to_one(ctx: Context, shares: list[float], what: str, span) -> None:
    total = math.fsum(shares)
    if abs(total - 1) > FREQUENCY_SUM_TOLERANCE:
        ctx.report("S405", f"{what} sum to {total:.4g}, not 1", span,
                   help="shares are among non-missing values and must add up to 1 "
                        f"(within {FREQUENCY_SUM_TOLERANCE})")
