"""Text -> syntax tree (`synspec.nodes`), with syntax errors as diagnostics.

Lark (LALR, contextual lexer, positions propagated) does the parsing; `to_nodes` builds
the frozen nodes bottom-up with its own stack (a Lark Transformer's per-node overhead was
half the parse time of a wide spec). When the whole file does not parse, the header and each
block (split at the block keywords that start a line) are parsed on their own, so
one run reports the first syntax error of every broken block, not only the first
of the file. Rule expressions nested deeper than `MAX_EXPRESSION_DEPTH` are refused
here, so no later stage can run out of stack.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from synspec import nodes as n
from synspec.diagnostics import Diagnostic, did_you_mean, make
from synspec.grammar_file import grammar_text
from synspec.source import Source, Span

# A block starts with one of these words at the start of a line; used to resynchronise.
_BLOCK_START = re.compile(r"^[ \t]*(column|rule|expect|correlation)(?![A-Za-z0-9_])", re.MULTILINE)
_MAX_SYNTAX_ERRORS = 20
# Deeper rule expressions are refused: no clinical rule needs them, and every stage
# after parsing walks expressions recursively.
MAX_EXPRESSION_DEPTH = 100

_TERMINAL_WORDS = {
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "STRING": 'a "string"',
    "NUMBER": "a number",
    "SIGNED_NUMBER": "a number",
    "PERCENT": "a percentage such as 25%",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "EQ_OP": "`==`",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "RULE_KIND": "`rule` or `expect`",
    "CORR_METHOD": "pearson or spearman",
    "$END": "end of file",
    "NEXT_BLOCK": "a new block (column, rule, expect, correlation)",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    # The extra start symbols let a broken file be re-parsed block by block.
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False,
                start=["start", "dataset", "item"])


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """Every word the grammar uses as a keyword (read from the grammar, never a copy)."""
    words = set()
    for terminal in _lark().terminals:
        pattern = terminal.pattern
        if pattern.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", pattern.value):
            words.add(pattern.value)
        elif terminal.name in ("RULE_KIND", "CORR_METHOD"):
            words.update(re.findall(r"[a-z]+", pattern.value))
    return frozenset(words)


def _span_of(meta_or_token) -> Span:
    if isinstance(meta_or_token, Token):
        start, end = meta_or_token.start_pos, meta_or_token.end_pos
        assert start is not None and end is not None, "the parser's tokens carry positions"
        return Span(start, end)
    if getattr(meta_or_token, "empty", False):
        return Span(0, 0)
    return Span(meta_or_token.start_pos, meta_or_token.end_pos)


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
# One escape inside a "string": a known one, `\uXXXX`, or (group 2) anything else.
_ESCAPE_RE = re.compile(r'\\(?:(u[0-9a-fA-F]{4}|["\\ntr])|(u[0-9a-fA-F]{0,3}|.))')


def unescape(body: str) -> str:
    """Undo the escapes allowed inside a "string" (no eval of user text, ever). An unknown
    escape loses its backslash here, but never silently: the parser reports it (S103) and
    the file gets no tree, so no value built from it is used."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6] or ""):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _bad_escapes(source: Source, strings: list[Token]) -> list[Diagnostic]:
    """Every unknown escape in these "string" tokens (`\\q`, `\\u12`), located: unescaping must
    never drop a backslash silently (`"C:\\data"` would become `C:data`, and fmt would write that)."""
    found = []
    for tok in strings:
        assert tok.start_pos is not None, "the parser's tokens carry positions"
        for m in _ESCAPE_RE.finditer(str(tok), 1, len(tok) - 1):
            if m.group(2) is None:
                continue
            start = tok.start_pos + m.start()
            found.append(make("S103", f"unknown escape `{m.group()}` in a string", source,
                              Span(start, tok.start_pos + m.end()), label="not an escape synspec knows",
                              help='write \\\\ for a backslash (e.g. "C:\\\\data"); the escapes are '
                                   '\\" \\\\ \\n \\t \\r and \\uXXXX (four hex digits)'))
    return found


def _number(tok: Token) -> n.Number:
    return n.Number(float(str(tok)), str(tok), _span_of(tok))


class _ToNodes:
    """Lark tree -> synspec.nodes. One method per grammar rule or alias, called with the
    rule's meta (positions) and its children already built, by `to_nodes`. Numbers that
    overflow to infinity (`1e400`) are collected in `overflows` as they are built."""

    def __init__(self) -> None:
        self.overflows: list[n.Number] = []
        self.strings: list[Token] = []  # those holding an unknown escape

    def _string(self, tok: Token) -> str:
        body = str(tok)[1:-1]
        if "\\" in body and any(m.group(2) is not None for m in _ESCAPE_RE.finditer(body)):
            self.strings.append(tok)
        return unescape(body)

    def _text(self, tok: Token) -> n.Text:
        return n.Text(self._string(tok), _span_of(tok))

    def _number(self, tok: Token) -> n.Number:
        number = _number(tok)
        if not math.isfinite(number.value):
            self.overflows.append(number)
        return number

    # tokens and small pieces
    def name(self, meta, children):
        tok = children[0]
        text = str(tok)
        if tok.type == "QUOTED_NAME":
            text = text[1:-1]
        return n.Ident(text, _span_of(tok))

    def level(self, meta, children):
        tok = children[0]
        if tok.type == "STRING":
            return n.LevelLit(self._string(tok), True, _span_of(tok))
        return n.LevelLit(str(tok), False, _span_of(tok))

    # dataset header
    def start(self, meta, children):
        return n.SpecFile(children[0], tuple(children[1:]), (), _span_of(meta))

    def dataset(self, meta, children):
        return n.Dataset(children[0], n.canonical_order(tuple(children[1:]), n.DATASET_PROP_ORDER),
                         _span_of(meta))

    def description(self, meta, children):
        return n.Description(self._text(children[0]), _span_of(meta))

    def source(self, meta, children):
        return n.SourceProp(self._text(children[0]), _span_of(meta))

    def rows(self, meta, children):
        return n.Rows(self._number(children[0]), _span_of(meta))

    def target(self, meta, children):
        return n.Target(children[0], _span_of(meta))

    def key(self, meta, children):
        return n.Key(tuple(children), _span_of(meta))

    def missing_default(self, meta, children):
        return n.MissingDefault(self._text(children[0]), _span_of(meta))

    # columns
    def column(self, meta, children):
        return n.Column(children[0], children[1],
                        n.canonical_order(tuple(children[2:]), n.COLUMN_PROP_ORDER), _span_of(meta))

    def integer_type(self, meta, children):
        return n.IntegerType(_span_of(meta))

    def decimal_type(self, meta, children):
        return n.DecimalType(self._number(children[0]), _span_of(meta))

    def categorical_type(self, meta, children):
        return n.CategoricalType(_span_of(meta))

    def boolean_type(self, meta, children):
        return n.BooleanType(children[0], children[1], _span_of(meta))

    def unit(self, meta, children):
        return n.Unit(self._text(children[0]), _span_of(meta))

    def range(self, meta, children):
        return n.Range(self._number(children[0]), self._number(children[1]), _span_of(meta))

    def levels(self, meta, children):
        return n.Levels(tuple(children), _span_of(meta))

    def missing(self, meta, children):
        token = self._text(children[1]) if len(children) > 1 else None
        return n.Missing(self._number(children[0]), token, _span_of(meta))

    def mean(self, meta, children):
        return n.Mean(self._number(children[0]), _span_of(meta))

    def sd(self, meta, children):
        return n.Sd(self._number(children[0]), _span_of(meta))

    def quantile(self, meta, children):
        pct_tok, value_tok = children
        pct_text = str(pct_tok)[:-1]
        percent = n.Number(float(pct_text), pct_text, _span_of(pct_tok))
        return n.Quantile(percent, self._number(value_tok), _span_of(meta))

    def quantiles(self, meta, children):
        return n.Quantiles(tuple(children), _span_of(meta))

    def frequency(self, meta, children):
        return n.Frequency(children[0], self._number(children[1]), _span_of(meta))

    def frequencies(self, meta, children):
        return n.Frequencies(tuple(children), _span_of(meta))

    def value_share(self, meta, children):
        return n.ValueShare(self._number(children[0]), self._number(children[1]), _span_of(meta))

    def values(self, meta, children):
        return n.Values(tuple(children), _span_of(meta))

    def given(self, meta, children):
        column, _equals, level = children
        return n.Given(column, level, _span_of(meta))

    def given_frequencies(self, meta, children):
        return n.GivenFrequencies(children[0], tuple(children[1:]), _span_of(meta))

    def given_quantiles(self, meta, children):
        return n.GivenQuantiles(children[0], tuple(children[1:]), _span_of(meta))

    def given_values(self, meta, children):
        return n.GivenValues(children[0], tuple(children[1:]), _span_of(meta))

    # rules
    def rule(self, meta, children):
        kind_tok, ident, expr, *props = children
        return n.Rule(str(kind_tok), ident, expr, n.canonical_order(tuple(props), n.RULE_PROP_ORDER),
                      _span_of(meta))

    def mostly(self, meta, children):
        return n.Mostly(self._number(children[0]), _span_of(meta))

    def message(self, meta, children):
        return n.Message(self._text(children[0]), _span_of(meta))

    def cite(self, meta, children):
        return n.Cite(self._text(children[0]), _span_of(meta))

    def correlation(self, meta, children):
        method = str(children[3]) if len(children) > 3 else "pearson"
        return n.Correlation(children[0], children[1], self._number(children[2]), method, _span_of(meta))

    # expressions
    def implies(self, meta, c):
        return n.Implies(c[0], c[1], _span_of(meta))

    def iff(self, meta, c):
        return n.Iff(c[0], c[1], _span_of(meta))

    def or_(self, meta, c):
        return n.Or(c[0], c[1], _span_of(meta))

    def and_(self, meta, c):
        return n.And(c[0], c[1], _span_of(meta))

    def not_(self, meta, c):
        return n.Not(c[0], _span_of(meta))

    def compare(self, meta, c):
        return n.Compare(str(c[1]), c[0], c[2], _span_of(meta))

    def member(self, meta, c):
        return n.Member(c[0], tuple(c[1:]), False, _span_of(meta))

    def not_member(self, meta, c):
        return n.Member(c[0], tuple(c[1:]), True, _span_of(meta))

    def is_missing(self, meta, c):
        return n.MissingTest(c[0], False, _span_of(meta))

    def is_present(self, meta, c):
        return n.MissingTest(c[0], True, _span_of(meta))

    def arith(self, meta, c):
        return n.Arith(str(c[1]), c[0], c[2], _span_of(meta))

    def neg(self, meta, c):
        return n.Neg(c[0], _span_of(meta))

    def number(self, meta, c):
        return n.NumberLit(self._number(c[0]), _span_of(meta))

    def string(self, meta, c):
        return n.StringLit(self._text(c[0]), _span_of(meta))

    def true(self, meta, c):
        return n.BoolLit(True, _span_of(meta))

    def false(self, meta, c):
        return n.BoolLit(False, _span_of(meta))

    def neg_number(self, meta, c):
        return n.Neg(n.NumberLit(self._number(c[0]), _span_of(c[0])), _span_of(meta))

    def ref(self, meta, c):
        return n.Ref(c[0], _span_of(meta))


def to_nodes(raw: Tree, build: _ToNodes | None = None) -> Any:
    """A Lark tree as synspec nodes: each tree after its children, without recursion."""
    build = build or _ToNodes()
    methods: dict[str, Callable[[Any, list[Any]], Any]] = {}
    stack: list[tuple[Tree, Iterator[Any], list[Any]]] = [(raw, iter(raw.children), [])]
    while True:
        tree, pending, built = stack[-1]
        for child in pending:
            if isinstance(child, Tree):
                stack.append((child, iter(child.children), []))
                break
            built.append(child)
        else:
            stack.pop()
            data = str(tree.data)
            method = methods.get(data)
            if method is None:
                method = methods[data] = getattr(build, data)
            node = method(tree.meta, built)
            if not stack:
                return node
            stack[-1][2].append(node)


@dataclass(frozen=True)
class ParseResult:
    """A tree (None when the file has syntax errors) and the diagnostics found (with a tree:
    numbers too large to be finite, S418, which the checking passes add to theirs)."""

    source: Source
    tree: n.SpecFile | None
    diagnostics: tuple[Diagnostic, ...]


def _describe_expected(expected: set[str]) -> str:
    lark = _lark()
    words = set()
    if "COMP_OP" in expected:
        expected = expected - {"EQ_OP"}  # `==` is one of the comparisons COMP_OP already names
    for name in expected:
        if name in _TERMINAL_WORDS:
            words.add(_TERMINAL_WORDS[name])
            continue
        try:
            pattern = lark.get_terminal(name).pattern
        except KeyError:
            words.add(name)
            continue
        if pattern.type == "str":
            words.add(f"`{pattern.value}`")
        else:
            words.add(name.lower())
    ordered = sorted(words)
    if len(ordered) > 8:
        ordered = ordered[:8] + ["..."]
    return ", ".join(ordered)


def _acceptable(err: UnexpectedToken) -> set[str]:
    """The terminals that could really come next.

    LALR merges look-aheads, so `err.expected` can list tokens that would fail one step
    later (an operator after a dataset name); asking the parser state is exact.
    """
    parser = getattr(err, "interactive_parser", None)
    if parser is not None:
        try:
            accepted = set(parser.accepts())
        except Exception:  # a sharper message is optional; the error itself is reported anyway
            accepted = set()
        if accepted:
            return accepted
    return set(err.expected)


def _syntax_diagnostic(source: Source, err: UnexpectedInput, *, offset: int = 0,
                       chunk_end: int | None = None) -> Diagnostic:
    """A Lark error as a diagnostic; `offset` places an error from a chunk in the file.

    An unexpected end of a chunk is shown at the chunk's last written character, where
    the construct was left unfinished.
    """
    text = source.text
    end_of_input = len(text.rstrip()) if chunk_end is None else chunk_end
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        tok = err.token
        start = offset + tok.start_pos
        # The lexer may cut a word short: show the whole word the user wrote.
        word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[start:])
        end = start + len(word.group()) if word else offset + tok.end_pos
        span = Span(start, max(end, offset + tok.end_pos, start + 1))
        found = text[span.start:span.end]
        acceptable = _acceptable(err)
        if chunk_end is not None and "$END" in acceptable:
            # A block parsed on its own ends where the next block starts, not the file.
            acceptable = (acceptable - {"$END"}) | {"NEXT_BLOCK"}
        expected = f"expected {_describe_expected(acceptable)}"
        # A misspelt keyword (`colum`, `rnage`) is the likeliest cause of an unexpected word.
        guess = did_you_mean(found, keywords()) if word and found not in keywords() else None
        return make("S100", f"unexpected `{found}`", source, span, label="not expected here",
                    help=f"did you mean `{guess}`? ({expected})" if guess else expected)
    if isinstance(err, (UnexpectedToken, UnexpectedEOF)):
        span = Span(max(0, end_of_input - 1), max(end_of_input, 1))
        what = "the dataset header" if end_of_input == 0 else "this"
        return make("S100", "unexpected end of input", source, span,
                    label=f"{what} is unfinished",
                    help=f"continue with {_describe_expected(set(err.expected))}")
    if isinstance(err, UnexpectedCharacters):
        start = offset + (err.pos_in_stream or 0)
        ch = text[start:start + 1]
        if ch == '"':
            return make("S101", "unterminated string", source, Span(start, start + 1),
                        label="string starts here",
                        help='close the string with " on the same line (write \\" for a quote inside)')
        if ch == "`":
            return make("S101", "unterminated `quoted name`", source, Span(start, start + 1),
                        label="name starts here", help="close the name with ` on the same line")
        allowed = _describe_expected(set(err.allowed or ()))
        return make("S101", f"unexpected character {ch!r}", source, Span(start, start + 1),
                    label="not part of the language",
                    help=f"expected {allowed}" if allowed else None)
    return make("S100", str(err).splitlines()[0], source, Span(0, min(1, len(text))))


def _chunks(text: str) -> list[tuple[str, int, int]]:
    """Split a file into (start symbol, start, end): the header, then one chunk per block.

    A block starts with its keyword at the start of a line; strings cannot span lines,
    so this split is exact for every file the grammar accepts.
    """
    starts = [m.start(1) for m in _BLOCK_START.finditer(text)]
    bounds = [0, *starts, len(text)]
    chunks = [("dataset", 0, bounds[1])]
    chunks.extend(("item", a, b) for a, b in zip(bounds[1:-1], bounds[2:], strict=True))
    return chunks


def _chunk_error(source: Source, kind: str, start: int, end: int) -> Diagnostic | None:
    """Parse one chunk on its own; its first syntax error, placed in the whole file."""
    piece = source.text[start:end]
    # Where the chunk's own text ends: trailing comments and blank lines belong to no one.
    written = list(piece)
    for comment in _collect_comments(piece):
        written[comment.span.start:comment.span.end] = " " * (comment.span.end - comment.span.start)
    last = len("".join(written).rstrip())
    if kind == "dataset" and last == 0:
        at = Span(start, start + len(source.text[start:].split("\n", 1)[0].rstrip()) or start + 1)
        return make("S100", "the file has no dataset header", source, at,
                    label="a spec starts with its header",
                    help="start the file with `dataset NAME` (then description, target, ...)")
    try:
        _lark().parse(piece, start=kind)
    except UnexpectedInput as err:
        return _syntax_diagnostic(source, err, offset=start, chunk_end=start + last)
    return None


def _collect_comments(text: str) -> tuple[n.Comment, ...]:
    """Every `#` comment outside strings and `quoted names` (neither spans a line)."""
    comments: list[n.Comment] = []
    offset = 0
    # Split on "\n" only: offsets must agree with `Source`, which counts lines the same way.
    for line in text.split("\n"):
        if "#" not in line:  # most lines: nothing to find (a wide spec has tens of thousands)
            offset += len(line) + 1
            continue
        quote = None
        for i, ch in enumerate(line):
            if quote is not None:
                if ch == quote and not (quote == '"' and _escaped(line, i)):
                    quote = None
            elif ch in "\"`":
                quote = ch
            elif ch == "#":
                body = line[i:].rstrip("\r")
                comments.append(n.Comment(body, Span(offset + i, offset + i + len(body))))
                break
        offset += len(line) + 1
    return tuple(comments)


def _escaped(line: str, i: int) -> bool:
    """Whether line[i] is preceded by an odd number of backslashes."""
    count = 0
    while i - count - 1 >= 0 and line[i - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def parse(source: Source) -> ParseResult:
    """Parse one file; always returns, with syntax errors as diagnostics.

    A file that parses whole becomes a tree. Otherwise the header and each block are
    parsed on their own, so one run reports the first syntax error of every block.
    """
    text = source.text
    try:
        raw: Tree = _lark().parse(text, start="start")
    except UnexpectedInput as whole_err:
        diagnostics = []
        for kind, start, end in _chunks(text):
            diag = _chunk_error(source, kind, start, end)
            if diag is not None:
                diagnostics.append(diag)
                if len(diagnostics) >= _MAX_SYNTAX_ERRORS:
                    break
        if not diagnostics:
            # Every piece parses alone but not together: report the whole-file error.
            diagnostics.append(_syntax_diagnostic(source, whole_err))
        return ParseResult(source, None, tuple(diagnostics))
    except RecursionError:
        # Thousands of nested parentheses: report it rather than crash.
        diag = make("S100", "expression nested too deeply", source, Span(0, min(1, len(text))),
                    help="split the rule into simpler rules")
        return ParseResult(source, None, (diag,))
    build = _ToNodes()
    tree = to_nodes(raw, build)  # its own stack: no depth limit
    escapes = _bad_escapes(source, build.strings)
    if escapes:
        return ParseResult(source, None, tuple(escapes))
    # A number too large to be finite is an error where it is written; the tree is still
    # returned, so the checking passes report the file's other errors in the same run.
    overflows = tuple(make("S418", f"{num.text} is too large to be a number here", source, num.span,
                           label="overflows to infinity",
                           help="write a finite number (at most about 1.8e308); for no bound, "
                                "leave the range out") for num in build.overflows)
    too_deep = [item for item in tree.items
                if isinstance(item, n.Rule) and _depth(item.expr) > MAX_EXPRESSION_DEPTH]
    if too_deep:
        # Every later stage walks expressions recursively; bound the depth once, here.
        diags = tuple(make("S100", f"rule `{item.name.name}` is nested more than "
                           f"{MAX_EXPRESSION_DEPTH} levels deep", source, item.name.span,
                           help="split the rule into simpler rules") for item in too_deep)
        return ParseResult(source, None, diags)
    tree = n.SpecFile(tree.dataset, tree.items, _collect_comments(text), tree.span)
    return ParseResult(source, tree, overflows)


def _depth(expr: n.Expr) -> int:
    """Nesting depth of an expression, computed without recursion."""
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        # Only expressions count: a name or number under a leaf adds no nesting.
        stack.extend((child, depth + 1) for child in node.children() if isinstance(child, n.Expr))
    return deepest


def parse_text(text: str, path: str = "<string>") -> ParseResult:
    return parse(Source(path, text))
