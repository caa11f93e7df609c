"""The state that the checking passes share while turning a tree into a `Spec`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from synspec import ir
from synspec import nodes as n
from synspec.diagnostics import Diagnostic, Note, make
from synspec.source import Source, Span


@dataclass
class Context:
    source: Source
    tree: n.SpecFile
    diagnostics: list[Diagnostic] = field(default_factory=list)
    columns: dict[str, ir.Column] = field(default_factory=dict)  # filled by `declarations`
    column_nodes: dict[str, n.Column] = field(default_factory=dict)
    rules: list[ir.Rule] = field(default_factory=list)
    correlations: list[ir.Correlation] = field(default_factory=list)
    # header facts, filled by `header`
    name: str = ""
    description: str | None = None
    data_source: str | None = None
    rows: int | None = None
    target: str | None = None
    keys: tuple[str, ...] = ()
    missing_default: str = ""

    def report(self, code: str, message: str, span: Span, *, label: str = "",
               help: str | None = None, notes: tuple[Note, ...] = ()) -> None:
        self.diagnostics.append(make(code, message, self.source, span, label=label, help=help,
                                     notes=notes))

    def location(self, span: Span) -> ir.Location:
        pos = self.source.position(span.start)
        return ir.Location(path=self.source.path, line=pos.line, column=pos.column)

    def where(self, span: Span) -> str:
        return self.source.location(span)

    def columns_in_order(self) -> list[ir.Column]:
        return sorted(self.columns.values(), key=lambda c: c.position)


def property_name(prop: object) -> str:
    """The keyword a property node was written with (`SourceProp` -> "source")."""
    if isinstance(prop, n.GivenFrequencies | n.GivenQuantiles | n.GivenValues):
        return f"{n.GIVEN_KEYWORDS[type(prop)]} given"
    name = type(prop).__name__
    return {"SourceProp": "source", "MissingDefault": "missing as"}.get(name, name.lower())


P = TypeVar("P")


class Props:
    """A block's property nodes, one per type: `props.get(n.Range)` is an `n.Range` or None."""

    def __init__(self) -> None:
        self._by_type: dict[type, Any] = {}

    def get(self, kind: type[P]) -> P | None:
        found = self._by_type.get(kind)
        return found if isinstance(found, kind) else None

    def values(self) -> list[Any]:
        return list(self._by_type.values())


def unique_props(ctx: Context, props: tuple[Any, ...], owner: str, *, report: bool = True) -> Props:
    """Index properties by type, reporting each repeated one (S206) unless `report` is False.

    Several passes read the header's properties; only the first reports repeats.
    """
    seen = Props()
    for prop in props:
        first = seen._by_type.get(type(prop))
        if first is not None and not report:
            continue
        if first is not None:
            ctx.report("S206", f"`{property_name(prop)}` given twice for {owner}", prop.span,
                       label="repeated here",
                       notes=(Note("first given here", ctx.where(first.span)),),
                       help="keep one of them")
            continue
        seen._by_type[type(prop)] = prop
    return seen


def whole_number(ctx: Context, number: n.Number, what: str, *, minimum: int | None = 0) -> int | None:
    """The integer value of a number that must be whole (S409 otherwise)."""
    value = number.value
    # `1e400` parses as infinity, which has no integer value.
    if not math.isfinite(value) or value != int(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" of at least {minimum}"
        ctx.report("S409", f"{what} must be a whole number{bound}, found {number.text}",
                   number.span, help=f"write {what} as a whole number")
        return None
    return int(value)
