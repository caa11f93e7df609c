"""Text -> syntax tree (`synspec.nodes`), with syntax errors as diagnostics.

Lark (LALR, contextual lexer, positions propagated) does the parsing; a Transformer
builds the frozen nodes. On a syntax error the parser records a diagnostic, blanks
the text up to the next block keyword (keeping every offset) and parses again, so
one run reports the syntax errors of every block, not only the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from synspec import nodes as n
from synspec.diagnostics import Diagnostic, make
from synspec.grammar_file import grammar_text
from synspec.source import Source, Span

# A block starts with one of these words at the start of a line; used to resynchronise.
_BLOCK_START = re.compile(r"^[ \t]*(column|rule|expect|correlation)\b", re.MULTILINE)
_MAX_SYNTAX_ERRORS = 20

_TERMINAL_WORDS = {
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "STRING": 'a "string"',
    "NUMBER": "a number",
    "SIGNED_NUMBER": "a number",
    "PERCENT": "a percentage such as 25%",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "RULE_KIND": "`rule` or `expect`",
    "CORR_METHOD": "pearson or spearman",
    "$END": "end of file",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _span_of(meta_or_token) -> Span:
    if isinstance(meta_or_token, Token):
        return Span(meta_or_token.start_pos, meta_or_token.end_pos)
    if getattr(meta_or_token, "empty", False):
        return Span(0, 0)
    return Span(meta_or_token.start_pos, meta_or_token.end_pos)


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def unescape(body: str) -> str:
    """Undo the escapes allowed inside a "string" (no eval of user text, ever)."""
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


def _text(tok: Token) -> n.Text:
    return n.Text(unescape(str(tok)[1:-1]), _span_of(tok))


def _number(tok: Token) -> n.Number:
    return n.Number(float(str(tok)), str(tok), _span_of(tok))


@v_args(meta=True)
class _ToNodes(Transformer):
    """Lark tree -> synspec.nodes. One method per grammar rule or alias."""

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
            return n.LevelLit(unescape(str(tok)[1:-1]), True, _span_of(tok))
        return n.LevelLit(str(tok), False, _span_of(tok))

    # dataset header
    def start(self, meta, children):
        return n.SpecFile(children[0], tuple(children[1:]), (), _span_of(meta))

    def dataset(self, meta, children):
        return n.Dataset(children[0], tuple(children[1:]), _span_of(meta))

    def description(self, meta, children):
        return n.Description(_text(children[0]), _span_of(meta))

    def source(self, meta, children):
        return n.SourceProp(_text(children[0]), _span_of(meta))

    def rows(self, meta, children):
        return n.Rows(_number(children[0]), _span_of(meta))

    def target(self, meta, children):
        return n.Target(children[0], _span_of(meta))

    def key(self, meta, children):
        return n.Key(tuple(children), _span_of(meta))

    def missing_default(self, meta, children):
        return n.MissingDefault(_text(children[0]), _span_of(meta))

    # columns
    def column(self, meta, children):
        return n.Column(children[0], children[1], tuple(children[2:]), _span_of(meta))

    def integer_type(self, meta, children):
        return n.IntegerType(_span_of(meta))

    def decimal_type(self, meta, children):
        return n.DecimalType(_number(children[0]), _span_of(meta))

    def categorical_type(self, meta, children):
        return n.CategoricalType(_span_of(meta))

    def boolean_type(self, meta, children):
        return n.BooleanType(children[0], children[1], _span_of(meta))

    def unit(self, meta, children):
        return n.Unit(_text(children[0]), _span_of(meta))

    def range(self, meta, children):
        return n.Range(_number(children[0]), _number(children[1]), _span_of(meta))

    def levels(self, meta, children):
        return n.Levels(tuple(children), _span_of(meta))

    def missing(self, meta, children):
        token = _text(children[1]) if len(children) > 1 else None
        return n.Missing(_number(children[0]), token, _span_of(meta))

    def mean(self, meta, children):
        return n.Mean(_number(children[0]), _span_of(meta))

    def sd(self, meta, children):
        return n.Sd(_number(children[0]), _span_of(meta))

    def quantile(self, meta, children):
        pct_tok, value_tok = children
        pct_text = str(pct_tok)[:-1]
        percent = n.Number(float(pct_text), pct_text, _span_of(pct_tok))
        return n.Quantile(percent, _number(value_tok), _span_of(meta))

    def quantiles(self, meta, children):
        return n.Quantiles(tuple(children), _span_of(meta))

    def frequency(self, meta, children):
        return n.Frequency(children[0], _number(children[1]), _span_of(meta))

    def frequencies(self, meta, children):
        return n.Frequencies(tuple(children), _span_of(meta))

    # rules
    def rule(self, meta, children):
        kind_tok, ident, expr, *props = children
        return n.Rule(str(kind_tok), ident, expr, tuple(props), _span_of(meta))

    def mostly(self, meta, children):
        return n.Mostly(_number(children[0]), _span_of(meta))

    def message(self, meta, children):
        return n.Message(_text(children[0]), _span_of(meta))

    def cite(self, meta, children):
        return n.Cite(_text(children[0]), _span_of(meta))

    def correlation(self, meta, children):
        method = str(children[3]) if len(children) > 3 else "pearson"
        return n.Correlation(children[0], children[1], _number(children[2]), method, _span_of(meta))

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
        return n.NumberLit(_number(c[0]), _span_of(meta))

    def string(self, meta, c):
        return n.StringLit(_text(c[0]), _span_of(meta))

    def true(self, meta, c):
        return n.BoolLit(True, _span_of(meta))

    def false(self, meta, c):
        return n.BoolLit(False, _span_of(meta))

    def ref(self, meta, c):
        return n.Ref(c[0], _span_of(meta))


@dataclass(frozen=True)
class ParseResult:
    """A tree (None when the file has syntax errors) and the diagnostics found."""

    source: Source
    tree: n.SpecFile | None
    diagnostics: tuple[Diagnostic, ...]


def _describe_expected(expected: set[str]) -> str:
    lark = _lark()
    words = set()
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


def _syntax_diagnostic(source: Source, err: UnexpectedInput) -> Diagnostic:
    pos = getattr(err, "pos_in_stream", None)
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            start = len(source.text)
            found = "end of file"
            span = Span(max(0, start - 1), start)
        else:
            # The fallback lexer may cut a word at a keyword prefix ("in" of "integer"):
            # show the whole word the user wrote.
            word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", source.text[tok.start_pos:])
            end = tok.start_pos + len(word.group()) if word else tok.end_pos
            span = Span(tok.start_pos, max(end, tok.end_pos))
            found = f"`{source.text[span.start:span.end]}`"
        expected = _describe_expected(set(err.expected))
        return make("S100", f"unexpected {found}", source, span, label="not expected here",
                    help=f"expected {expected}")
    if isinstance(err, UnexpectedCharacters):
        start = pos if pos is not None else 0
        ch = source.text[start:start + 1]
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
    if isinstance(err, UnexpectedEOF):
        end = len(source.text)
        return make("S100", "unexpected end of file", source, Span(max(0, end - 1), end),
                    help=f"expected {_describe_expected(set(err.expected))}")
    return make("S100", str(err).splitlines()[0], source, Span(0, 1))


def _blank_until_next_block(text: str, offset: int) -> str:
    """Replace text[line_start_of(offset) : next block start] with spaces (newlines kept).

    Blanking from the start of the failing line avoids leaving half a construct.
    """
    line_start = text.rfind("\n", 0, offset) + 1
    match = _BLOCK_START.search(text, offset + 1)
    # Never resume inside the very line that failed.
    while match and match.start() <= offset and match.start() >= line_start:
        match = _BLOCK_START.search(text, match.end())
    end = match.start() if match else len(text)
    # Keep the block keyword of a failing block header so later errors stay local.
    block_head = _BLOCK_START.match(text, line_start)
    if block_head and block_head.start() == line_start and line_start == offset:
        line_start = offset
    filler = "".join(ch if ch == "\n" else " " for ch in text[line_start:end])
    return text[:line_start] + filler + text[end:]


def _collect_comments(text: str) -> tuple[n.Comment, ...]:
    comments: list[n.Comment] = []
    tokens_lexer = _lark()
    try:
        for tok in tokens_lexer.lex(text, dont_ignore=True):
            if tok.type == "COMMENT":
                comments.append(n.Comment(str(tok), _span_of(tok)))
    except UnexpectedInput:
        return tuple(comments)
    return tuple(comments)


def parse(source: Source) -> ParseResult:
    """Parse one file; always returns, with syntax errors as diagnostics."""
    text = source.text
    diagnostics: list[Diagnostic] = []
    tree = None
    for _ in range(_MAX_SYNTAX_ERRORS):
        try:
            raw: Tree = _lark().parse(text)
        except UnexpectedInput as err:
            diagnostics.append(_syntax_diagnostic(source, err))
            offset = getattr(err, "pos_in_stream", None)
            if isinstance(err, UnexpectedToken) and err.token.type != "$END":
                offset = err.token.start_pos
            if offset is None or offset >= len(text):
                break
            new_text = _blank_until_next_block(text, offset)
            if new_text == text:
                break
            text = new_text
            continue
        if not diagnostics:
            tree = _ToNodes().transform(raw)
            tree = n.SpecFile(tree.dataset, tree.items, _collect_comments(source.text), tree.span)
        break
    return ParseResult(source, tree, tuple(diagnostics))


def parse_text(text: str, path: str = "<string>") -> ParseResult:
    return parse(Source(path, text))
