"""The row automaton printed as GBNF: llama.cpp's grammar format (also read by SGLang/xgrammar).

The same rules, in the same order and numbering, as `render_lark` (`layout.py`), so the two
dialects admit exactly the same rows; tests/test_grammar_dialects.py checks that on random
and mutated rows with llama.cpp's own grammar engine. What differs is only syntax:
- rule names allow letters, digits and `-` only, so `s3_1` becomes `s3-1` and the terminal
  `V3_1` becomes `v3-1`; the start rule is `root`;
- GBNF has no regex terminals: a numeric interval's digit-range regex
  (`ranges.scaled_range_regex`, a small fixed subset of regex syntax) is translated into
  GBNF sequences, alternations, character classes and `{n}` repetitions (`regex_to_gbnf`);
- string literals are escaped by llama.cpp's rules (`gbnf_literal`): `"`, `\\` and control
  characters escaped, everything else as UTF-8 text.
"""

from __future__ import annotations

from synspec import ir
from synspec.targets import row_format as rf
from synspec.targets.grammar.automaton import RowAutomaton, Symbol
from synspec.targets.grammar.layout import Layout, Number, class_texts, layout, one_line
from synspec.targets.grammar.ranges import decimal_places, scaled_range_regex

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def gbnf_literal(text: str) -> str:
    """`text` as a GBNF string literal.

    >>> gbnf_literal('say "hi"\\\\')
    '"say \\\\"hi\\\\"\\\\\\\\"'
    >>> gbnf_literal("a\\x01b")
    '"a\\\\x01b"'
    """
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02X}")  # llama.cpp reads \\xHH; it has no \\b or \\f
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


class _RegexReader:
    """Reads the regex subset `ranges.scaled_range_regex` writes: literal characters, `\\.`,
    `-`, digit classes `[a-b]`, `{n}` after an atom, and `(?:a|b)` groups. Anything else is
    a ValueError, so a change there cannot silently produce a grammar that differs."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def read(self) -> str:
        out = self._alternation()
        if self.at != len(self.text):
            raise ValueError(f"unsupported regex at {self.at} in {self.text!r}")
        return out

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _alternation(self) -> str:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.at += 1
            branches.append(self._sequence())
        return branches[0] if len(branches) == 1 else "(" + " | ".join(branches) + ")"

    def _sequence(self) -> str:
        items: list[str] = []
        literal = ""  # consecutive literal characters become one GBNF string
        while self._peek() not in ("", "|", ")"):
            atom, is_literal = self._atom()
            count = self._count()
            if is_literal and count is None:
                literal += atom
                continue
            if literal:
                items.append(gbnf_literal(literal))
                literal = ""
            items.append(gbnf_literal(atom) if is_literal else atom)
            if count is not None:
                items[-1] += count
        if literal:
            items.append(gbnf_literal(literal))
        if not items:
            raise ValueError(f"empty branch in {self.text!r}")
        return " ".join(items)

    def _atom(self) -> tuple[str, bool]:
        char = self._peek()
        if self.text.startswith("(?:", self.at):
            self.at += 3
            inner = self._alternation()
            if self._peek() != ")":
                raise ValueError(f"unclosed group in {self.text!r}")
            self.at += 1
            return (inner if inner.startswith("(") else f"({inner})"), False
        if char == "[":
            end = self.text.index("]", self.at)
            body = self.text[self.at + 1:end]
            if not all(c.isdigit() or c == "-" for c in body):
                raise ValueError(f"unsupported character class [{body}] in {self.text!r}")
            self.at = end + 1
            return f"[{body}]", False
        if char == "\\":
            escaped = self.text[self.at + 1:self.at + 2]
            if escaped != ".":
                raise ValueError(f"unsupported escape \\{escaped} in {self.text!r}")
            self.at += 2
            return ".", True
        if char.isdigit() or char == "-":
            self.at += 1
            return char, True
        raise ValueError(f"unsupported regex character {char!r} in {self.text!r}")

    def _count(self) -> str | None:
        if self._peek() != "{":
            return None
        end = self.text.index("}", self.at)
        count = self.text[self.at + 1:end]
        if not count.isdigit():
            raise ValueError(f"unsupported repetition {{{count}}} in {self.text!r}")
        self.at = end + 1
        return f"{{{count}}}"


def regex_to_gbnf(pattern: str) -> str:
    """A digit-range regex (`ranges.scaled_range_regex`) as a GBNF expression.

    >>> regex_to_gbnf(r"(?:1[0-9]{2}|[1-9][0-9]|[0-9])")
    '("1" [0-9]{2} | [1-9] [0-9] | [0-9])'
    >>> regex_to_gbnf(r"-(?:12\\.[0-5])")
    '"-" ("12." [0-5])'
    """
    return _RegexReader(pattern).read()


_END = ""  # marks, in a trie node, that a string may end there


def literal_trie(texts: list[str]) -> str:
    """One GBNF expression for a set of strings, their common prefixes written once.

    llama.cpp's grammar engine keeps one stack per live alternative and checks every
    candidate token against each, so `"0.08" | "0.16" | ... | "80.00"` (a declared-values
    column) costs a hundred stacks per step; the same language as a trie keeps at most one
    per distinct next character (measured in docs/benchmarks.md, "Rows through a server").

    >>> literal_trie(["12", "13", "2"])
    '("2" | "1" [23])'
    >>> literal_trie(["a", "ab"])
    '"a" ("b")?'
    """
    root: dict = {}
    for text in texts:
        node = root
        for char in text:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _trie_expression(root)


def _trie_expression(node: dict) -> str:
    branches = []
    singles = []  # one-character endings, gathered into a character class where possible
    for char in sorted(c for c in node if c != _END):
        literal, child = char, node[char]
        while _END not in child and len(child) == 1:  # a chain: one literal
            (next_char, child), = child.items()
            literal += next_char
        if list(child) == [_END]:
            if len(literal) == 1 and literal.isalnum() and literal.isascii():
                singles.append(literal)
            else:
                branches.append(gbnf_literal(literal))
        else:
            branches.append(f"{gbnf_literal(literal)} {_trie_expression(child)}")
    if len(singles) == 1:
        branches.insert(0, gbnf_literal(singles[0]))
    elif singles:
        branches.insert(0, "[" + "".join(singles) + "]")
    expression = branches[0] if len(branches) == 1 else "(" + " | ".join(branches) + ")"
    if _END in node:
        return f"({expression})?"
    return expression


def _symbol_body(spec: ir.Spec, symbol: Symbol) -> str:
    """The GBNF body of one symbol (the twin of `render_lark._symbol_terminal`): literals as
    one trie, numeric ranges as translated digit-range regexes."""
    if symbol.cell is not None:
        return gbnf_literal(symbol.cell)
    column = spec.column(symbol.column)
    literals: list[str] = []
    ranges: list[str] = []
    for cls in symbol.classes:
        texts = class_texts(column, cls)
        if texts is None:
            ranges.append(regex_to_gbnf(scaled_range_regex(cls[1], cls[2], decimal_places(column))))
        else:
            literals += texts
    return " | ".join(([literal_trie(literals)] if literals else []) + ranges)


def _state_name(number: Number) -> str:
    return f"s{number[0]}-{number[1]}"


def _terminal_name(number: Number) -> str:
    return f"v{number[0]}-{number[1]}"


def _rule(shape: Layout, index: int) -> str:
    alts = []
    for target, symbols in shape.choices(index):
        terms = [_terminal_name(shape.terminals[s]) for s in symbols]
        head = terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")"
        alts.append(head if target is None
                    else f"{head} {gbnf_literal(rf.SEPARATOR)} {_state_name(shape.states[target])}")
    # The `|` ends the line: llama.cpp ends a top-level rule at a newline, except after `|`.
    return f"{_state_name(shape.states[index])} ::= " + " |\n    ".join(alts)


def render_gbnf(automaton: RowAutomaton) -> str:
    """The GBNF text of a row automaton: one row in the row format, nothing after it."""
    shape = layout(automaton)
    header = [f"# Row grammar of {automaton.spec.name!r}, generated by synspec: one row in the row format",
              "# (docs/row-format.md), columns in this order: " + one_line(", ".join(automaton.order))]
    root = _state_name(shape.states[0]) if shape.states else '""'
    body = [f"root ::= {root}", *(_rule(shape, i) for i in shape.rule_order),
            *(f"{_terminal_name(number)} ::= {_symbol_body(automaton.spec, symbol)}"
              for symbol, number in shape.terminals.items())]
    return "\n".join(header + body) + "\n"
