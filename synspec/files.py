"""Checks on input paths that library code and commands share (no CLI imports here)."""

from __future__ import annotations

from pathlib import Path

from synspec.errors import UserError


def require_file(path: Path, what: str, hint: str | None = None) -> Path:
    """The path if it is a readable file; a UserError naming it otherwise."""
    if not path.exists():
        raise UserError(f"{what} not found: {path}", where=str(path),
                        hint=hint or "check the path (relative paths start in the current directory)")
    if not path.is_file():
        raise UserError(f"{what} is not a file: {path}", where=str(path), hint=hint)
    return path
