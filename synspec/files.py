"""Checks on the files a user names: an input that must exist, an output that may be written.

Library code (readers, the generator, the evaluator) and commands alike call these, so a
missing input or a protected output is reported the same way everywhere: a `UserError`
naming the path, with a hint. Writing itself is `synspec.atomic`.

>>> require_file(Path("no/such/file.csv"), "data file")
Traceback (most recent call last):
...
synspec.errors.UserError: data file not found: no/such/file.csv
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from synspec.errors import UserError

_PATH_HINT = "check the path (relative paths start in the current directory)"


def require_file(path: Path, what: str, hint: str | None = None) -> Path:
    """The path if it is an existing file; a UserError naming it (and `what` it is) otherwise."""
    if not path.exists():
        raise UserError(f"{what} not found: {path}", where=str(path), hint=hint or _PATH_HINT)
    if not path.is_file():
        raise UserError(f"{what} is not a file: {path}", where=str(path), hint=hint)
    return path


def require_output(path: Path, what: str, *, force: bool, flag: str,
                   inputs: Iterable[Path] = ()) -> Path:
    """The path if a new `what` may be written there; a UserError otherwise.

    Refuses a folder (even with `force`: a file cannot replace it), an existing file unless
    `force` (the user passes `flag`'s `--force`), any path that is one of `inputs` (even with
    `force`: overwriting the data being read loses it), and a path whose folder does not
    exist or cannot be written. Commands call it before any work, so a long run never ends
    on an output it cannot write.
    """
    if path.is_dir():
        raise UserError(f"{what} is a folder: {path}", where=str(path),
                        hint=f"pass the path of a file (inside that folder, say) to {flag}")
    if path.exists():
        if not force:
            raise UserError(f"{what} already exists: {path}", where=str(path),
                            hint=f"pass --force to overwrite it, or choose another {flag} path")
        for source in inputs:
            if source.exists() and path.samefile(source):
                raise UserError(f"{flag} {path} would overwrite the input file {source}",
                                where=str(path), hint=f"choose another {flag} path")
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"folder of the {what} does not exist: {folder}", where=str(path),
                        hint="create the folder first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write the {what} in {folder}: permission denied", where=str(path),
                        hint=f"choose a {flag} path in a folder you can write")
    return path
