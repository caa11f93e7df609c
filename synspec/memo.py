"""Caching a pure function of one immutable object (a frozen `ir.Spec`, a tuple) by identity.

Wide specs made some lookups quadratic when every caller recomputed them (a column by name,
the generation order). Hashing a spec is itself linear in its size, so the cache is keyed by
`id()` and keeps the object alive beside its result, which keeps that id its own. It holds a
few entries: a session works on a few specs (and copies) at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 16


def by_identity(fn: Callable[[K], V]) -> Callable[[K], V]:
    """`fn`, computed once per argument object (the argument must never change)."""
    cache: dict[int, tuple[Any, V]] = {}

    @functools.wraps(fn)
    def cached(arg: K) -> V:
        entry = cache.get(id(arg))
        if entry is None or entry[0] is not arg:
            if len(cache) >= MAX_ENTRIES:
                cache.pop(next(iter(cache)))
            entry = cache[id(arg)] = (arg, fn(arg))
        return entry[1]

    return cached
