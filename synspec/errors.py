"""Errors a user can fix, raised anywhere in synspec (library code and commands alike).

A `UserError` carries what went wrong, where (a path, `path:line` or a flag) and how
to fix it; the command line prints it as one message and exits 2, never a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An input or usage error: what went wrong, where, and how to fix it."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
