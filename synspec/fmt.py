"""The canonical layout of a spec: what `synspec fmt` writes.

One property per line, indented two spaces, in canonical order; a blank line
between blocks (a run of `correlation` lines stays together); levels quoted only
when needed; numbers exactly as written; rule expressions on one line with the
fewest parentheses that keep their meaning. Comments are kept: a comment on its
own line stays above the block or property it precedes, a comment after code stays
on that line. The result is checked: it must parse to a tree equal to the input's.

>>> format_text('dataset d target y column y: boolean 1/0 # the label').text
'dataset d\\n  target y\\n\\ncolumn y: boolean 1/0  # the label\\n'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from synspec import nodes as n
from synspec.diagnostics import Diagnostic
from synspec.parse import keywords, parse
from synspec.source import Source

INDENT = "  "
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SIGNED_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


class FormatError(Exception):
    """The formatted text would not mean the same as the input: a bug in the formatter."""


@dataclass(frozen=True)
class FormatResult:
    """The formatted text (None when the input has syntax errors) and those errors."""

    source: Source
    text: str | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.source.text


# ---- atoms -----------------------------------------------------------------------
def quote(value: str) -> str:
    """A "string" whose parse is `value` again; control characters are written as escapes."""
    out = []
    for ch in value:
        if ch in _ESCAPE:
            out.append(_ESCAPE[ch])
        elif unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ord(ch) <= 0xFFFF:
            # Invisible in an editor, and some tools split lines on them.
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def name(ident: n.Ident) -> str:
    """A column or rule name, in backticks when it is not a plain word or is a keyword."""
    if _NAME.fullmatch(ident.name) and ident.name not in keywords():
        return ident.name
    return f"`{ident.name}`"


def level(lit: n.LevelLit) -> str:
    """A level or encoding token, quoted only when a bare word or number would not do."""
    value = lit.value
    if (_NAME.fullmatch(value) and value not in keywords()) or _SIGNED_NUMBER.fullmatch(value):
        return value
    return quote(value)


# ---- expressions -----------------------------------------------------------------
# Binding strength, loosest first; mirrors the precedence ladder in grammar/synspec.lark.
_IMPLICATION, _OR, _AND, _NOT, _COMPARISON, _SUM, _PRODUCT, _UNARY, _PRIMARY = range(9)


def _precedence(node: n.Expr) -> int:
    if isinstance(node, (n.Implies, n.Iff)):
        return _IMPLICATION
    if isinstance(node, n.Or):
        return _OR
    if isinstance(node, n.And):
        return _AND
    if isinstance(node, n.Not):
        return _NOT
    if isinstance(node, (n.Compare, n.Member, n.MissingTest)):
        return _COMPARISON
    if isinstance(node, n.Arith):
        return _SUM if node.op in "+-" else _PRODUCT
    if isinstance(node, n.Neg):
        return _UNARY
    return _PRIMARY


def expression(node: n.Expr) -> str:
    """A rule expression with the fewest parentheses that parse back to the same tree."""

    def at(child: n.Expr, least: int) -> str:
        text = expression(child)
        return f"({text})" if _precedence(child) < least else text

    if isinstance(node, n.Implies):
        # `->` groups to the right: a -> b -> c is a -> (b -> c).
        return f"{at(node.condition, _OR)} -> {at(node.consequence, _IMPLICATION)}"
    if isinstance(node, n.Iff):
        return f"{at(node.left, _OR)} <-> {at(node.right, _OR)}"
    if isinstance(node, n.Or):
        return f"{at(node.left, _OR)} or {at(node.right, _AND)}"
    if isinstance(node, n.And):
        return f"{at(node.left, _AND)} and {at(node.right, _NOT)}"
    if isinstance(node, n.Not):
        return f"not {at(node.operand, _NOT)}"
    if isinstance(node, n.Compare):
        return f"{at(node.left, _SUM)} {node.op} {at(node.right, _SUM)}"
    if isinstance(node, n.Member):
        items = ", ".join(_set_item(item) for item in node.items)
        keyword = "not in" if node.negated else "in"
        return f"{at(node.operand, _SUM)} {keyword} {{{items}}}"
    if isinstance(node, n.MissingTest):
        return f"{at(node.operand, _SUM)} is {'not ' if node.negated else ''}missing"
    if isinstance(node, n.Arith):
        # Left-associative: the right operand needs parentheses at the same level.
        own = _precedence(node)
        return f"{at(node.left, own)} {node.op} {at(node.right, own + 1)}"
    if isinstance(node, n.Neg):
        # `--x` would still parse, but `-(-x)` reads better and is as exact.
        inner = at(node.operand, _PRIMARY if isinstance(node.operand, n.Neg) else _UNARY)
        return f"-{inner}"
    if isinstance(node, n.NumberLit):
        return node.number.text
    if isinstance(node, n.StringLit):
        return quote(node.text.value)
    if isinstance(node, n.BoolLit):
        return "true" if node.value else "false"
    if isinstance(node, n.Ref):
        return name(node.ident)
    raise TypeError(f"fmt cannot print {type(node).__name__}")


def _set_item(node: n.Expr) -> str:
    if isinstance(node, n.Neg) and isinstance(node.operand, n.NumberLit):
        return f"-{node.operand.number.text}"
    return expression(node)


# ---- properties and block heads ------------------------------------------------------
def _prop(prop) -> str:
    if isinstance(prop, n.Description):
        return f"description {quote(prop.text.value)}"
    if isinstance(prop, n.SourceProp):
        return f"source {quote(prop.text.value)}"
    if isinstance(prop, n.Rows):
        return f"rows {prop.count.text}"
    if isinstance(prop, n.Target):
        return f"target {name(prop.column)}"
    if isinstance(prop, n.Key):
        return "key " + ", ".join(name(c) for c in prop.columns)
    if isinstance(prop, n.MissingDefault):
        return f"missing as {quote(prop.token.value)}"
    if isinstance(prop, n.Unit):
        return f"unit {quote(prop.text.value)}"
    if isinstance(prop, n.Range):
        return f"range {prop.low.text} to {prop.high.text}"
    if isinstance(prop, n.Levels):
        return "levels " + ", ".join(level(lit) for lit in prop.items)
    if isinstance(prop, n.Missing):
        token = f" as {quote(prop.token.value)}" if prop.token is not None else ""
        return f"missing {prop.rate.text}{token}"
    if isinstance(prop, n.Mean):
        return f"mean {prop.value.text}"
    if isinstance(prop, n.Sd):
        return f"sd {prop.value.text}"
    if isinstance(prop, n.Quantiles):
        return "quantiles " + _quantiles(prop.items)
    if isinstance(prop, n.Frequencies):
        return "frequencies " + _frequencies(prop.items)
    if isinstance(prop, n.Values):
        return "values " + _values(prop.items)
    if isinstance(prop, n.GivenFrequencies):
        return f"frequencies {_given(prop.given)}: {_frequencies(prop.items)}"
    if isinstance(prop, n.GivenQuantiles):
        return f"quantiles {_given(prop.given)}: {_quantiles(prop.items)}"
    if isinstance(prop, n.GivenValues):
        return f"values {_given(prop.given)}: {_values(prop.items)}"
    if isinstance(prop, n.Mostly):
        return f"mostly {prop.share.text}"
    if isinstance(prop, n.Message):
        return f"message {quote(prop.text.value)}"
    if isinstance(prop, n.Cite):
        return f"cite {quote(prop.text.value)}"
    raise TypeError(f"fmt cannot print {type(prop).__name__}")


def _quantiles(items: tuple[n.Quantile, ...]) -> str:
    return ", ".join(f"{q.percent.text}% {q.value.text}" for q in items)


def _frequencies(items: tuple[n.Frequency, ...]) -> str:
    return ", ".join(f"{level(f.level)} {f.share.text}" for f in items)


def _values(items: tuple[n.ValueShare, ...]) -> str:
    return ", ".join(f"{v.value.text} {v.share.text}" for v in items)


def _given(given: n.Given) -> str:
    return f"given {name(given.column)} == {level(given.level)}"


def _col_type(ctype: n.ColumnType) -> str:
    if isinstance(ctype, n.IntegerType):
        return "integer"
    if isinstance(ctype, n.DecimalType):
        return f"decimal({ctype.places.text})"
    if isinstance(ctype, n.CategoricalType):
        return "categorical"
    if isinstance(ctype, n.BooleanType):
        return f"boolean {level(ctype.true_token)}/{level(ctype.false_token)}"
    raise TypeError(f"fmt cannot print {type(ctype).__name__}")


def _head(block) -> str:
    if isinstance(block, n.Dataset):
        return f"dataset {name(block.name)}"
    if isinstance(block, n.Column):
        return f"column {name(block.name)}: {_col_type(block.type)}"
    if isinstance(block, n.Rule):
        return f"{block.kind} {name(block.name)}: {expression(block.expr)}"
    if isinstance(block, n.Correlation):
        method = f" ({block.method})" if block.method != "pearson" else ""
        return f"correlation {name(block.left)}, {name(block.right)}: {block.value.text}{method}"
    raise TypeError(f"fmt cannot print {type(block).__name__}")


def _head_end(block) -> int:
    """Where a block's head line ends in the source (its type, expression or value)."""
    if isinstance(block, n.Dataset):
        return block.name.span.end
    if isinstance(block, n.Column):
        return block.type.span.end or block.name.span.end
    if isinstance(block, n.Rule):
        return block.expr.span.end
    return block.span.end


# ---- comments ------------------------------------------------------------------------
@dataclass
class _Unit:
    """One output line: a block head or a property, with the comments that go with it."""

    start: int  # source offset, to place comments
    end: int
    text: str
    indent: str
    leading: list[tuple[str, bool]] = field(default_factory=list)  # (comment, blank line after)
    trailing: list[str] = field(default_factory=list)


def _units(tree: n.SpecFile) -> list[list[_Unit]]:
    blocks: list[list[_Unit]] = []
    for block in (tree.dataset, *tree.items):
        lines = [_Unit(block.span.start, _head_end(block), _head(block), "")]
        for prop in getattr(block, "props", ()):
            lines.append(_Unit(prop.span.start, prop.span.end, _prop(prop), INDENT))
        blocks.append(lines)
    return blocks


def _attach_comments(source: Source, tree: n.SpecFile,
                     blocks: list[list[_Unit]]) -> list[tuple[str, bool]]:
    """Give each comment to its unit; returns the comments after the last unit."""
    text = source.text
    in_source_order = sorted((u for b in blocks for u in b), key=lambda u: u.start)
    tail: list[tuple[str, bool]] = []
    for comment in tree.comments:
        line_start = text.rfind("\n", 0, comment.span.start) + 1
        own_line = not text[line_start:comment.span.start].strip()
        body = comment.text.rstrip()
        if own_line:
            after = text[comment.span.end:]
            blank_after = bool(re.match(r"[ \t\r]*\n[ \t\r]*\n", after))
            following = next((u for u in in_source_order if u.start > comment.span.start), None)
            (following.leading if following is not None else tail).append((body, blank_after))
        else:
            preceding = [u for u in in_source_order if u.start < comment.span.start]
            preceding[-1].trailing.append(body)
    return tail


def _render(blocks: list[list[_Unit]], tail: list[tuple[str, bool]]) -> str:
    out: list[str] = []
    previous: str | None = None
    for index, lines in enumerate(blocks):
        head = lines[0]
        # Consecutive one-line correlations read as a table: no blank line between them.
        together = (index > 0 and head.text.startswith("correlation ") and previous == "correlation"
                    and not head.leading)
        if index > 0 and not together:
            out.append("")
        for unit in lines:
            for comment, blank_after in unit.leading:
                out.append(unit.indent + comment)
                if blank_after and unit is head:
                    out.append("")
            line = unit.indent + unit.text
            if unit.trailing:
                line += "  " + " ".join(unit.trailing)
            out.append(line)
        previous = "correlation" if head.text.startswith("correlation ") and len(lines) == 1 else None
    if tail:
        out.append("")
        out.extend(comment for comment, _ in tail)
    return "\n".join(out) + "\n"


def format_tree(source: Source, tree: n.SpecFile) -> str:
    """The canonical text of a parsed file (comments are taken from `tree.comments`)."""
    blocks = _units(tree)
    tail = _attach_comments(source, tree, blocks)
    return _render(blocks, tail)


def format_source(source: Source) -> FormatResult:
    """Format one file; a file with syntax errors comes back with its diagnostics, text None.

    Raises FormatError if the output would not parse to the same tree (a formatter bug).
    """
    parsed = parse(source)
    if parsed.tree is None:
        return FormatResult(source, None, parsed.diagnostics)
    text = format_tree(source, parsed.tree)
    again = parse(Source(source.path, text))
    if again.tree != parsed.tree:
        raise FormatError(f"formatting {source.path} would change its meaning")
    return FormatResult(source, text)


def format_text(text: str, path: str = "<string>") -> FormatResult:
    return format_source(Source(path, text))
