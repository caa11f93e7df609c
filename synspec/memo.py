"""Caching a pure function of one immutable object (a frozen `ir.Spec`) by identity.

Wide specs made some computations quadratic when every caller repeated them (a column by
name, the generation order, the rule analysis). Hashing a spec is itself linear in its size,
so the cache is keyed by `id()`, and a weak reference drops the entry with the object, so a
cache never keeps a spec alive. The cached value must
not hold the object itself.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def by_identity(fn: Callable[[K], V]) -> Callable[[K], V]:
    """`fn`, computed once per live argument object (which must never change)."""
    cache: dict[int, tuple[weakref.ref[Any], V]] = {}

    @functools.wraps(fn)
    def cached(arg: K) -> V:
        key = id(arg)
        hit = cache.get(key)
        if hit is not None and hit[0]() is arg:
            return hit[1]
        value = fn(arg)

        def forget(_ref: weakref.ref[Any]) -> None:
            cache.pop(key, None)

        cache[key] = (weakref.ref(arg, forget), value)
        return value

    return cached
