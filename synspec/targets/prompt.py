"""Prompt text for the four styles: FEATDESC, STATGUIDE, CLIN_RULE and SEED_EX.

`PROMPT_STYLES` is the one list of styles (name, body, whether it needs example rows,
description); the CLI, the generator and the docs read it.

Every prompt is a pure function of the spec (and, for SEED_EX, the example rows): same input,
same bytes. Every prompt ends with the exact row format the grammar enforces (column order,
separator, quoting, missing token), so model and grammar agree. Numbers that describe the
data (ranges, means, spreads, quantiles) are rounded to two significant figures, ranges
outwards: a table's minimum or maximum is usually one person's value, and a rounded figure
cannot single anyone out. Only SEED_EX puts real rows into the prompt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from synspec import ir
from synspec.targets import row_format as rf
from synspec.targets.order import generation_order


def rounded(value: float, direction: str = "nearest", digits: int = 2) -> str:
    """`value` to `digits` significant figures ('down'/'up' round outwards for ranges)."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    step = 10 ** (math.floor(math.log10(abs(value))) - digits + 1)
    fn = {"down": math.floor, "up": math.ceil}.get(direction, round)
    result = fn(value / step) * step
    text = f"{result:.{max(0, -math.floor(math.log10(step)))}f}" if step < 1 else f"{result:.0f}"
    # 0.080 reads as three significant figures: drop trailing zeros after the point.
    return text.rstrip("0").rstrip(".") if "." in text else text


def outer_range(low: float, high: float) -> tuple[str, str]:
    """The range widened to a grid of a tenth of its span's magnitude (0.08-82 -> 0-82).

    A minimum or maximum is often one person's value; the grid makes the printed bounds
    round figures that describe the range, not a record.
    """
    span = high - low
    if span <= 0:
        return rounded(low, "down"), rounded(high, "up")
    step = Decimal(10) ** (math.floor(math.log10(span)) - 1)
    lo = (Decimal(str(low)) / step).to_integral_value(rounding=ROUND_FLOOR) * step
    hi = (Decimal(str(high)) / step).to_integral_value(rounding=ROUND_CEILING) * step
    return _plain(lo), _plain(hi)


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _kind_text(column: ir.Column) -> str:
    if column.kind is ir.ColumnKind.INTEGER:
        return "whole number"
    if column.kind is ir.ColumnKind.DECIMAL:
        return f"number with exactly {column.places} decimal place{'s' * (column.places != 1)}"
    if column.kind is ir.ColumnKind.BOOLEAN:
        return f"yes/no, written {column.true_token} for yes and {column.false_token} for no"
    return "one of the levels " + ", ".join(rf.quote(v) for v in column.levels)


def _definition(column: ir.Column) -> str:
    parts = [f"- {column.name}: {_kind_text(column)}"]
    if column.unit:
        parts.append(f"in {column.unit}")
    if column.is_numeric and column.low is not None and column.high is not None:
        low, high = outer_range(column.low, column.high)
        parts.append(f"roughly between {low} and {high}")
    text = ", ".join(parts) + "."
    if column.description:
        text += f" {column.description}"
    if column.may_be_missing:
        text += f" May be missing (write {rf.MISSING})."
    return text


def _definitions(spec: ir.Spec) -> list[str]:
    head = [f"Dataset: {spec.name}."]
    if spec.description:
        head.append(spec.description)
    return head + ["", "Columns:"] + [_definition(spec.column(n)) for n in generation_order(spec)]


def _share(share: float) -> str:
    return "under 0.1%" if 0 < share < 0.0005 else f"{share * 100:.1f}%"


# A values-column lists at most this many values (the most common ones); the rest are summed.
MAX_LISTED_VALUES = 12


def _value_text(column: ir.Column, value: float) -> str:
    places = column.places or 0 if column.kind is ir.ColumnKind.DECIMAL else 0
    return f"{Decimal(str(value)):.{places}f}"


def _values_fact(column: ir.Column, values: tuple[tuple[float, float], ...]) -> str:
    """`only the values 80 (7.0% of rows), 85 (8.0%)`, the rarest beyond the cap summed up."""
    listed = sorted(sorted(values, key=lambda vs: -vs[1])[:MAX_LISTED_VALUES])
    parts = [f"{_value_text(column, v)} ({_share(share)}{' of rows' * (i == 0)})"
             for i, (v, share) in enumerate(listed)]
    text = "only the values " + ", ".join(parts)
    rest = len(values) - len(listed)
    if rest:
        share = sum(s for _, s in values) - sum(s for _, s in listed)
        text += f" and {rest} rarer values ({_share(share)} of rows together)"
    return text


def _distribution_facts(column: ir.Column, quantiles: tuple[tuple[float, float], ...],
                        frequencies: tuple[tuple[str, float], ...],
                        values: tuple[tuple[float, float], ...]) -> list[str]:
    facts = [f"{pct:g}% of values below about {rounded(value)}" for pct, value in quantiles]
    if values:
        facts.append(_values_fact(column, values))
    if frequencies:
        quoted = column.kind is ir.ColumnKind.CATEGORICAL
        facts.append("; ".join(f"{rf.quote(level) if quoted else level} in {_share(share)} of rows"
                               for level, share in frequencies))
    return facts


def _conditional_lines(spec: ir.Spec, column: ir.Column) -> list[str]:
    """One line per statistic declared among the rows of one level of the target."""
    if spec.target is None:
        return []
    given = spec.column(spec.target)
    lines = []
    for cond in column.conditionals:
        if cond.given != given.name:
            continue
        level = rf.quote(cond.level) if given.kind is ir.ColumnKind.CATEGORICAL else cond.level
        facts = _distribution_facts(column, cond.quantiles, cond.frequencies, cond.values)
        if facts:
            where = f"among rows where {given.name} == {level}"
            lines.append(f"- {column.name}, {where}: " + ", ".join(facts) + ".")
    return lines


def _statistics(spec: ir.Spec) -> list[str]:
    lines = ["", "Statistics to follow across the rows you write:"]
    for name in generation_order(spec):
        column = spec.column(name)
        facts = []
        if column.mean is not None:
            facts.append(f"average about {rounded(column.mean)}")
        if column.sd is not None:
            facts.append(f"typical spread (standard deviation) about {rounded(column.sd)}")
        facts += _distribution_facts(column, column.quantiles, column.frequencies, column.values)
        if column.may_be_missing and column.missing_rate:
            facts.append(f"missing in {column.missing_rate * 100:.1f}% of rows")
        if facts:
            lines.append(f"- {name}: " + ", ".join(facts) + ".")
        lines += _conditional_lines(spec, column)
    for corr in spec.correlations:
        size = abs(corr.value)
        strength = "strongly" if size >= 0.5 else ("moderately" if size >= 0.3 else "weakly")
        sense = "together" if corr.value > 0 else "in opposite directions"
        lines.append(f"- {corr.left} and {corr.right} move {strength} {sense} "
                     f"(correlation {corr.value:.2f}).")
    return lines


def _rules(spec: ir.Spec) -> list[str]:
    lines = ["", "Clinical rules every row must respect:"]
    for rule in spec.hard_rules:
        lines.append(f"- {rule.message or rule.text} ({rule.text})")
    if spec.soft_rules:
        lines += ["", "Clinical patterns most rows follow:"]
        for rule in spec.soft_rules:
            assert rule.mostly is not None, "every soft rule declares its share"
            lines.append(f"- {rule.message or rule.text} "
                         f"({rule.text}; in at least {(rule.mostly or 0) * 100:g}% of rows)")
    return lines


def row_format_text(spec: ir.Spec) -> list[str]:
    """The exact row format, as the grammar enforces it."""
    order = generation_order(spec)
    return ["", "Row format: one row per line, the values in this order, separated by a comma, no spaces:",
            "  " + ",".join(order),
            "Levels are written in double quotes (a quote or backslash inside is escaped with a backslash); "
            "numbers and yes/no tokens are written bare; decimals with exactly their declared places; "
            f"a missing value is written {rf.MISSING} without quotes.",
            ]


def _examples(spec: ir.Spec, examples: Any) -> list[str]:
    order = generation_order(spec)
    lines = ["", f"Example rows ({len(examples)}):", "  " + ",".join(order)]
    for record in examples.to_dict("records"):
        lines.append("  " + rf.render_row(spec, {n: record.get(n) for n in order}))
    return lines


# ---- the styles, found by name ----------------------------------------------------------
@dataclass(frozen=True)
class PromptStyle:
    """One prompt style: `body(spec, examples)` gives the lines between the task and the row
    format; `needs_examples` styles put real rows into the prompt."""

    name: str
    body: Callable[[ir.Spec, Any], list[str]]
    needs_examples: bool
    description: str


# Every style, in the order they are listed and written. A new style is one `@_style` here.
PROMPT_STYLES: dict[str, PromptStyle] = {}


def _style(name: str, description: str, *, needs_examples: bool = False
           ) -> Callable[[Callable[[ir.Spec, Any], list[str]]], Callable[[ir.Spec, Any], list[str]]]:
    def register(body: Callable[[ir.Spec, Any], list[str]]) -> Callable[[ir.Spec, Any], list[str]]:
        PROMPT_STYLES[name] = PromptStyle(name, body, needs_examples, description)
        return body
    return register


@_style("featdesc", "column definitions")
def _featdesc(spec: ir.Spec, examples: Any) -> list[str]:
    return _definitions(spec)


@_style("statguide", "column definitions plus the statistics in words (declared values with their "
        "shares, and the statistics declared given the target)")
def _statguide(spec: ir.Spec, examples: Any) -> list[str]:
    return _definitions(spec) + _statistics(spec)


@_style("clin_rule", "column definitions plus the rules as clinical statements (no statistics, no rows)")
def _clin_rule(spec: ir.Spec, examples: Any) -> list[str]:
    return _definitions(spec) + _rules(spec)


@_style("seed_ex", "column definitions plus K real rows from `--examples`, chosen with `--seed` "
        "(warns on stderr)",
        needs_examples=True)
def _seed_ex(spec: ir.Spec, examples: Any) -> list[str]:
    return _definitions(spec) + _examples(spec, examples)


STYLES = tuple(PROMPT_STYLES)


def render_prompt(spec: ir.Spec, style: str, examples: Any = None) -> str:
    """The prompt text of `style` for `spec`; `examples` (raw rows, a DataFrame) for seed_ex."""
    found = PROMPT_STYLES.get(style)
    if found is None:
        raise ValueError(f"unknown prompt style {style!r}; one of {', '.join(STYLES)}")
    if found.needs_examples and (examples is None or len(examples) == 0):
        raise ValueError(f"the {style} style needs example rows")
    task = [f"Write realistic synthetic rows of the {spec.name} table. Invent new records; "
            "never reproduce a real person."]
    return "\n".join(task + [""] + found.body(spec, examples) + row_format_text(spec)) + "\n"
