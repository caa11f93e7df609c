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
from synspec.targets.grammar.ranges import decimal_places, number_text, scaled_range_regex, scaled_values


@dataclass
class RowGrammar:
    """The grammar of one row and what it enforces."""

    lark: str
    order: tuple[str, ...]
    enforced: dict[str, str]
    checked_after: dict[str, str]
    n_rules: int = 0
    n_chars: int = 0
    states: int = 0
    fixed: dict[str, str | Within] = field(default_factory=dict)


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


def _terminals(automaton: RowAutomaton) -> dict[Symbol, tuple[str, str]]:
    """Symbol -> (terminal name, body), named per column in order of first use."""
    out: dict[Symbol, tuple[str, str]] = {}
    per_column: dict[str, int] = {}
    for state in automaton.states:
        for symbol, _ in state.choices:
            if symbol not in out:
                n = per_column.get(symbol.column, 0)
                per_column[symbol.column] = n + 1
                name = f"V{state.position}_{n}"
                out[symbol] = (name, _symbol_terminal(automaton.spec, symbol))
    return out


def _state_names(automaton: RowAutomaton) -> list[str]:
    per_position: dict[int, int] = {}
    names = []
    for state in automaton.states:
        n = per_position.get(state.position, 0)
        per_position[state.position] = n + 1
        names.append(f"s{state.position}_{n}")
    return names


def _rule(automaton: RowAutomaton, index: int, names: list[str], terminals: dict[Symbol, tuple[str, str]]
          ) -> str:
    """One state as a Lark rule: its choices grouped by the state they lead to."""
    grouped: dict[int | None, list[str]] = {}
    for symbol, target in automaton.states[index].choices:
        grouped.setdefault(target, []).append(terminals[symbol][0])
    alts = []
    for target, terms in grouped.items():
        head = terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")"
        alts.append(head if target is None else f'{head} "," {names[target]}')
    return f"{names[index]}: " + "\n    | ".join(alts)


def _post_order(automaton: RowAutomaton) -> list[int]:
    """States depth first, each after the states it leads to (an explicit stack: a wide
    spec's chain of states is deeper than Python's recursion limit)."""
    seen: set[int] = set()
    out: list[int] = []
    if not automaton.states:
        return out
    seen.add(0)
    stack = [(0, iter(automaton.states[0].choices))]
    while stack:
        index, pending = stack[-1]
        for _, target in pending:
            if target is not None and target not in seen:
                seen.add(target)
                stack.append((target, iter(automaton.states[target].choices)))
                break
        else:
            out.append(index)
            stack.pop()
    return out


def render_lark(automaton: RowAutomaton) -> RowGrammar:
    """The Lark text of a row automaton, with its size figures."""
    names = _state_names(automaton)
    terminals = _terminals(automaton)
    rules = [_rule(automaton, i, names, terminals) for i in reversed(_post_order(automaton))]
    order = automaton.order
    header = [f"// Row grammar of {automaton.spec.name!r}, generated by synspec: one row in the row format",
              "// (docs/row-format.md), columns in this order: " + ", ".join(order)]
    body = ["start: " + (names[0] if names else '""'), *rules,
            *(f"{name}: {text}" for name, text in terminals.values())]
    text = "\n".join(header + body) + "\n"
    return RowGrammar(lark=text, order=order, enforced=automaton.enforced,
                      checked_after=automaton.checked_after, n_rules=len(body), n_chars=len(text),
                      states=len(automaton.states), fixed=automaton.fixed)


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
