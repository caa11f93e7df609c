"""The facts a spec states, keyed so that two versions can be matched: what `synspec diff` compares.

Owns reading a parsed spec (`synspec.nodes`) into plain keyed facts: the dataset header, each
column's type, documentation, constraints (range, levels, missing token) and statistics (one
fact per entry: a frequency per level, a quantile per percentage, a share per value, their
`given` forms keyed by the level they are given), correlations keyed by their unordered pair,
and rules keyed by name. Every fact keeps the text it was written with and its line, so a diff
shows numbers exactly as written and points at them. Comments and layout are not facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synspec import fmt
from synspec import nodes as n
from synspec.source import Source


@dataclass(frozen=True)
class Fact:
    """One stated value: its text as written, its number (for statistics) and its line."""

    text: str
    number: float | None = None
    line: int = 0


@dataclass
class ColumnFacts:
    name: str
    type: str
    line: int
    position: int
    docs: dict[str, Fact] = field(default_factory=dict)  # description, unit
    constraints: dict[str, Fact] = field(default_factory=dict)  # range, levels, missing token
    # (statistic, entry) -> fact; statistic is e.g. "mean", "quantiles", "frequencies given diabetes == 1"
    stats: dict[tuple[str, str], Fact] = field(default_factory=dict)
    value_texts: dict[str, str] = field(default_factory=dict)  # a `values` key -> the value as written

    def sd(self) -> float | None:
        fact = self.stats.get(("sd", ""))
        return fact.number if fact is not None else None


@dataclass
class RuleFacts:
    name: str
    kind: str  # rule | expect
    expression: str
    line: int
    props: dict[str, Fact] = field(default_factory=dict)  # mostly, message, cite


@dataclass
class SpecFacts:
    name: str
    dataset: dict[str, Fact]
    columns: dict[str, ColumnFacts]
    correlations: dict[tuple[str, str, str], Fact]  # (left, right, method) with left <= right
    rules: dict[str, RuleFacts]
    # A correlation's pair as written (`age, bmi`), by its key.
    pairs: dict[tuple[str, str, str], str] = field(default_factory=dict)


def _num(number: n.Number, line: int) -> Fact:
    return Fact(number.text, number.value, line)


def _given(given: n.Given) -> str:
    return f"given {fmt.name(given.column)} == {fmt.level(given.level)}"


def read_facts(source: Source, tree: n.SpecFile) -> SpecFacts:
    """The facts of a parsed spec (see the module docstring)."""

    def line(node: n.Node) -> int:
        return source.position(node.span.start).line  # type: ignore[attr-defined]

    dataset: dict[str, Fact] = {}
    for head in tree.dataset.props:
        text = fmt._prop(head)
        key, _, value = text.partition(" ")
        if isinstance(head, n.MissingDefault):
            key, value = "missing as", fmt.quote(head.token.value)
        number = head.count.value if isinstance(head, n.Rows) else None
        dataset[key] = Fact(value, number, line(head))
    columns: dict[str, ColumnFacts] = {}
    correlations: dict[tuple[str, str, str], Fact] = {}
    pairs: dict[tuple[str, str, str], str] = {}
    rules: dict[str, RuleFacts] = {}
    for item in tree.items:
        if isinstance(item, n.Column):
            col = ColumnFacts(item.name.name, fmt._col_type(item.type), line(item), len(columns))
            for prop in item.props:
                _column_prop(col, prop, line(prop))
            columns.setdefault(col.name, col)
        elif isinstance(item, n.Correlation):
            left, right = sorted((item.left.name, item.right.name))
            correlations[(left, right, item.method)] = _num(item.value, line(item))
            pairs[(left, right, item.method)] = f"{item.left.name}, {item.right.name}"
        elif isinstance(item, n.Rule):
            rule = RuleFacts(item.name.name, item.kind, fmt.expression(item.expr), line(item))
            for rule_prop in item.props:
                at = line(rule_prop)
                if isinstance(rule_prop, n.Mostly):
                    rule.props["mostly"] = _num(rule_prop.share, at)
                elif isinstance(rule_prop, n.Message):
                    rule.props["message"] = Fact(fmt.quote(rule_prop.text.value), None, at)
                elif isinstance(rule_prop, n.Cite):
                    rule.props["cite"] = Fact(fmt.quote(rule_prop.text.value), None, at)
            rules.setdefault(rule.name, rule)
    return SpecFacts(tree.dataset.name.name, dataset, columns, correlations, rules, pairs)


def _column_prop(col: ColumnFacts, prop: n.Node, at: int) -> None:
    if isinstance(prop, n.Description):
        col.docs["description"] = Fact(fmt.quote(prop.text.value), None, at)
    elif isinstance(prop, n.Unit):
        col.docs["unit"] = Fact(fmt.quote(prop.text.value), None, at)
    elif isinstance(prop, n.Range):
        col.constraints["range"] = Fact(f"{prop.low.text} to {prop.high.text}", None, at)
    elif isinstance(prop, n.Levels):
        col.constraints["levels"] = Fact(", ".join(fmt.level(lit) for lit in prop.items), None, at)
    elif isinstance(prop, n.Missing):
        token = fmt.quote(prop.token.value) if prop.token is not None else "(the dataset's)"
        col.constraints["missing token"] = Fact(token, None, at)
        col.stats[("missing", "")] = _num(prop.rate, at)
    elif isinstance(prop, n.Mean):
        col.stats[("mean", "")] = _num(prop.value, at)
    elif isinstance(prop, n.Sd):
        col.stats[("sd", "")] = _num(prop.value, at)
    elif isinstance(prop, (n.Quantiles, n.GivenQuantiles)):
        name = "quantiles" + (f" {_given(prop.given)}" if isinstance(prop, n.GivenQuantiles) else "")
        for q in prop.items:
            col.stats[(name, f"{q.percent.text}%")] = _num(q.value, at)
    elif isinstance(prop, (n.Values, n.GivenValues)):
        name = "values" + (f" {_given(prop.given)}" if isinstance(prop, n.GivenValues) else "")
        for v in prop.items:
            # Keyed by the value as a number: `6.60` and `6.6` are the same value.
            col.stats[(name, repr(v.value.value))] = Fact(v.share.text, v.share.value, at)
            col.value_texts.setdefault(repr(v.value.value), v.value.text)
    elif isinstance(prop, (n.Frequencies, n.GivenFrequencies)):
        name = "frequencies" + (f" {_given(prop.given)}" if isinstance(prop, n.GivenFrequencies) else "")
        for f in prop.items:
            col.stats[(name, fmt.level(f.level))] = _num(f.share, at)
