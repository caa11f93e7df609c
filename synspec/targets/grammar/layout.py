"""How a row automaton is laid out as grammar rules, whatever the dialect.

Both renderers (`render_lark`, `render_gbnf`) print the same rules in the same order with
the same numbering, so a rule or terminal named `s3_1` in Lark is `s3-1` in GBNF and the two
texts can be read side by side. This module owns that shared layout: which states become
rules and in what order, how each state's choices are grouped by the state they lead to,
the (position, n) numbering of states and terminals, and the literal texts of each column
class (`class_texts`). It knows no dialect's syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

from synspec import ir
from synspec.targets import row_format as rf
from synspec.targets.grammar.automaton import MISSING_CLASS, Class, RowAutomaton, Symbol
from synspec.targets.grammar.ranges import number_text, scaled_values

Number = tuple[int, int]  # (column position in the row, n-th state or terminal at that position)


@dataclass(frozen=True)
class Layout:
    """The automaton's rules: `states[i]` numbers state i, `terminals` numbers each symbol
    (per column, in order of first use), `rule_order` lists states, each before the states
    it leads to (so the text reads top-down from `start`/`root`)."""

    automaton: RowAutomaton
    states: tuple[Number, ...]
    terminals: dict[Symbol, Number]
    rule_order: tuple[int, ...]

    def choices(self, index: int) -> list[tuple[int | None, list[Symbol]]]:
        """State `index`'s choices grouped by the state they lead to (None: the row ends),
        groups in order of first appearance."""
        grouped: dict[int | None, list[Symbol]] = {}
        for symbol, target in self.automaton.states[index].choices:
            grouped.setdefault(target, []).append(symbol)
        return list(grouped.items())


def one_line(text: str) -> str:
    """`text` safe inside a grammar comment, which ends at the line's end (a backticked
    column name may hold any character)."""
    return " ".join(text.splitlines())


def layout(automaton: RowAutomaton) -> Layout:
    """The shared layout of `automaton`'s rules."""
    return Layout(automaton, _state_numbers(automaton), _terminal_numbers(automaton),
                  tuple(reversed(_post_order(automaton))))


def _terminal_numbers(automaton: RowAutomaton) -> dict[Symbol, Number]:
    out: dict[Symbol, Number] = {}
    per_column: dict[str, int] = {}
    for state in automaton.states:
        for symbol, _ in state.choices:
            if symbol not in out:
                n = per_column.get(symbol.column, 0)
                per_column[symbol.column] = n + 1
                out[symbol] = (state.position, n)
    return out


def _state_numbers(automaton: RowAutomaton) -> tuple[Number, ...]:
    per_position: dict[int, int] = {}
    numbers = []
    for state in automaton.states:
        n = per_position.get(state.position, 0)
        per_position[state.position] = n + 1
        numbers.append((state.position, n))
    return tuple(numbers)


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


def class_texts(column: ir.Column, cls: Class) -> list[str] | None:
    """The row-format texts of a class that is a finite set of literals (the missing token, a
    level, a boolean token, the declared values of a values-column inside the class); None
    for a numeric range, which each dialect writes as its own digit-range pattern."""
    if cls == MISSING_CLASS:
        return [rf.MISSING]
    if cls[0] == "num":
        if column.values:
            low, high = cls[1], cls[2]
            return [number_text(column, v) for v in scaled_values(column) if low <= v <= high]
        return None
    if cls[0] == "bool":
        token = column.true_token if cls[1] else column.false_token
        return [rf.render_value(column, token)]
    return [rf.quote(cls[1])]
