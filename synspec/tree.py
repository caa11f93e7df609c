"""Walking trees: the children of a syntax node or IR expression, and one visitor base.

Both trees are built from classes whose fields hold child nodes directly or in tuples
(`nodes.Compare.left`, `ir.And.items`). `child_nodes` finds those children from the fields
alone, so a new node class is walked without anyone listing its fields; `Visitor` dispatches
on the class name and fails loudly on a kind it has no method for, so a new kind cannot be
skipped in silence.

>>> from synspec import ir
>>> expr = ir.Not(operand=ir.IsTrue(column="smoker"))
>>> [type(node).__name__ for node in walk(expr)]
['Not', 'IsTrue']
>>> class Count(Visitor):
...     def visit_Not(self, node):
...         return 1 + self.visit(node.operand)
...     def visit_IsTrue(self, node):
...         return 1
>>> Count().visit(expr)
2
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Protocol


class Walkable(Protocol):
    def children(self) -> tuple[Any, ...]: ...


def child_nodes(values: Iterable[object], kind: type) -> tuple[Any, ...]:
    """The values that are `kind` instances, and the `kind` items of tuple values, in order."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, kind):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(item for item in value if isinstance(item, kind))
    return tuple(out)


def walk(node: Walkable) -> Iterator[Any]:
    """`node` and every node below it, depth first, children in field order.

    Iterative, so the depth of a tree is never limited by Python's recursion limit.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


class UnhandledNode(TypeError):
    """A visitor met a node kind it has no method for (a bug: a new kind was not handled)."""


class Visitor:
    """Dispatch on a node's class name: `visit(node, ...)` calls `visit_<ClassName>(node, ...)`.

    A subclass that runs several walks names them by prefix and calls `dispatch(prefix,
    node, ...)` (`cuts_Compare`, `value_Compare`). A missing method raises `UnhandledNode`
    naming the visitor, the prefix and the kind. Lookups are cached per class.
    """

    _methods: ClassVar[dict[tuple[str, type], Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def method_for(self, prefix: str, node: object) -> Callable[..., Any]:
        """The (unbound) method `prefix_<ClassName>` for `node`; `UnhandledNode` if none."""
        key = (prefix, type(node))
        method = self._methods.get(key)
        if method is None:
            method = getattr(type(self), f"{prefix}_{type(node).__name__}", None)
            if method is None:
                raise UnhandledNode(f"{type(self).__name__} has no {prefix}_{type(node).__name__}: "
                                    f"every kind of node it can meet needs one")
            self._methods[key] = method
        return method

    def dispatch(self, prefix: str, node: object, *args: Any) -> Any:
        return self.method_for(prefix, node)(self, node, *args)

    def visit(self, node: object, *args: Any) -> Any:
        return self.dispatch("visit", node, *args)
