"""The row automaton printed as Lark: self-contained grammar text for constrained decoding.

llguidance (directly or through `outlines.types.CFG`) and the `lark` package both read it.
Every state becomes a rule `s<position>_<n>` and every symbol a terminal `V<position>_<n>`:
a digit-range regex for a numeric interval (`ranges.scaled_range_regex`), the declared values
of a values-column as literals, quoted levels, boolean tokens, and the missing token only
where allowed. Names are given in the automaton's discovery order, so the text is stable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from synspec import ir
from synspec.targets import row_format as rf
from synspec.targets.grammar.automaton import (
    MISSING_CLASS,
    Class,
    RowAutomaton,
    Symbol,
    Within,
    row_automaton,
)
from synspec.targets.grammar.layout import Layout, layout, one_line
from synspec.targets.grammar.ranges import decimal_places, number_text, scaled_range_regex, scaled_values
from synspec.targets.grammar.render_gbnf import render_gbnf

# The grammar dialects a row grammar is printed in: Lark (llguidance, outlines, vLLM's guidance
# backend) and GBNF (llama.cpp; SGLang's and vLLM's xgrammar read it as EBNF).
DIALECTS = ("lark", "gbnf")


@dataclass
class RowGrammar:
    """The grammar of one row and what it enforces; `lark` is its Lark text, `text(dialect)`
    prints it in any of `DIALECTS` from the same automaton."""

    lark: str
    order: tuple[str, ...]
    enforced: dict[str, str]
    checked_after: dict[str, str]
    n_rules: int = 0
    n_chars: int = 0
    states: int = 0
    fixed: dict[str, str | Within] = field(default_factory=dict)
    automaton: RowAutomaton | None = field(default=None, repr=False, compare=False)
    _texts: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def text(self, dialect: str = "lark") -> str:
        """The grammar in `dialect` (one of `DIALECTS`), rendered once."""
        if dialect == "lark":
            return self.lark
        if dialect not in DIALECTS:
            raise ValueError(f"unknown grammar dialect {dialect!r}; one of {', '.join(DIALECTS)}")
        if dialect not in self._texts:
            assert self.automaton is not None, "a RowGrammar built without its automaton"
            self._texts[dialect] = render_gbnf(self.automaton)
        return self._texts[dialect]


def lark_literal(text: str) -> str:
    """`text` as a Lark string literal (JSON escaping, which Lark and llguidance both read)."""
    return json.dumps(text, ensure_ascii=False)


def _declared_literals(column: ir.Column, low: int, high: int) -> str:
    """The declared values of a values-column within [low, high], as alternated literals."""
    # Ascending; Lark and llguidance both lex "60" whole even after the literal "6".
    return " | ".join(lark_literal(number_text(column, v)) for v in scaled_values(column) if low <= v <= high)


def class_terminal(column: ir.Column, cls: Class) -> str:
    """The Lark terminal body of one class of a column."""
    if cls == MISSING_CLASS:
        return lark_literal(rf.MISSING)
    if cls[0] == "num":
        if column.values:
            return _declared_literals(column, cls[1], cls[2])
        return "/" + scaled_range_regex(cls[1], cls[2], decimal_places(column)) + "/"
    if cls[0] == "bool":
        token = column.true_token if cls[1] else column.false_token
        return lark_literal(rf.render_value(column, token))
    return lark_literal(rf.quote(cls[1]))


def _symbol_terminal(spec: ir.Spec, symbol: Symbol) -> str:
    if symbol.cell is not None:
        return lark_literal(symbol.cell)
    column = spec.column(symbol.column)
    return " | ".join(class_terminal(column, c) for c in symbol.classes)


def _state_name(number: tuple[int, int]) -> str:
    return f"s{number[0]}_{number[1]}"


def _terminal_name(number: tuple[int, int]) -> str:
    return f"V{number[0]}_{number[1]}"


def _rule(shape: Layout, index: int) -> str:
    """One state as a Lark rule: its choices grouped by the state they lead to."""
    alts = []
    for target, symbols in shape.choices(index):
        terms = [_terminal_name(shape.terminals[s]) for s in symbols]
        head = terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")"
        alts.append(head if target is None else f'{head} {lark_literal(rf.SEPARATOR)} '
                    f'{_state_name(shape.states[target])}')
    return f"{_state_name(shape.states[index])}: " + "\n    | ".join(alts)


def render_lark(automaton: RowAutomaton) -> RowGrammar:
    """The Lark text of a row automaton, with its size figures."""
    shape = layout(automaton)
    rules = [_rule(shape, i) for i in shape.rule_order]
    terminals = [f"{_terminal_name(number)}: {_symbol_terminal(automaton.spec, symbol)}"
                 for symbol, number in shape.terminals.items()]
    order = automaton.order
    header = [f"// Row grammar of {automaton.spec.name!r}, generated by synspec: one row in the row format",
              "// (docs/row-format.md), columns in this order: " + one_line(", ".join(order))]
    start = _state_name(shape.states[0]) if shape.states else '""'
    body = [f"start: {start}", *rules, *terminals]
    text = "\n".join(header + body) + "\n"
    return RowGrammar(lark=text, order=order, enforced=automaton.enforced,
                      checked_after=automaton.checked_after, n_rules=len(body), n_chars=len(text),
                      states=len(automaton.states), fixed=automaton.fixed, automaton=automaton)


def row_grammar(spec: ir.Spec, fixed: dict[str, str | Within] | None = None) -> RowGrammar:
    """The Lark grammar of one row of `spec`; `fixed` forces columns to given file text, or a
    numeric column into an interval (`Within`; stratified seeding of quantile bins)."""
    return render_lark(row_automaton(spec, fixed))


def rows_grammar(spec: ir.Spec, n: int) -> str:
    """Lark text for `n` rows, each followed by a newline (several rows per sequence)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    one = row_grammar(spec)
    # `~ n` (not `{n}`): both lark and llguidance read it.
    return one.lark.replace("start: ", f'start: (row "\\n") ~ {n}\nrow: ', 1)
