"""Writing a file atomically: readers see the old file or the whole new one, never a torn one.

Every output synspec writes (specs, artifacts, reports, manifests, violation lists) goes
through here: the bytes go to a temp file in the destination's folder (same file system, so
the rename is atomic), are flushed and fsynced, get the mode a normal file would have, and
replace the destination with one `os.replace`; the folder is then fsynced so the rename
itself survives a crash. On any error the temp file is removed and the destination is
untouched.

The mode: an existing destination keeps its permission bits (a `chmod 600` spec stays
private); a new one gets `0o666 & ~umask`, as `open(path, "w")` would give it (the temp
file itself is created 0600 by `mkstemp`, which is why this matters). A symlink at the
destination is written through, so the link stays a link.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_text(folder / "a.txt", "one\\n")
>>> (folder / "a.txt").read_text()
'one\\n'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from synspec.errors import UserError


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicWriter:
    """A temp file beside `path` that becomes `path` on `commit()` (or a clean `with` exit).

    `handle` is the open file (text with `encoding`, or binary with `binary=True`); text is
    written as given, without newline translation. `discard()` (or an exception inside the
    `with` block) removes the temp file and leaves `path` as it was. An `OSError` while
    creating, writing or renaming is re-raised as a `UserError` naming `path`.
    """

    def __init__(self, path: Path, *, binary: bool = False, encoding: str = "utf-8") -> None:
        # Through a symlink: replacing the link itself would turn it into a plain file.
        self.path = Path(path).resolve() if Path(path).is_symlink() else Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        except OSError as err:
            raise _write_error(self.path, err) from None
        self.tmp = Path(tmp)
        self.handle: IO[Any] | None
        if binary:
            self.handle = os.fdopen(fd, "wb")
        else:
            self.handle = os.fdopen(fd, "w", encoding=encoding, newline="")

    def commit(self) -> None:
        """Flush, fsync, set the mode and rename into place."""
        handle = self._open_handle()
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            self.handle = None
            os.chmod(self.tmp, _target_mode(self.path))
            os.replace(self.tmp, self.path)
        except OSError as err:
            self.discard()
            raise _write_error(self.path, err) from None
        fsync_dir(self.path.parent)

    def discard(self) -> None:
        """Remove the temp file unless it was committed; safe to call more than once."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        self.tmp.unlink(missing_ok=True)

    def write(self, data: Any) -> None:
        """Write to the temp file (text or bytes, as opened); an OSError becomes a UserError."""
        try:
            self._open_handle().write(data)
        except OSError as err:
            self.discard()
            raise _write_error(self.path, err) from None

    def _open_handle(self) -> IO[Any]:
        if self.handle is None:
            raise ValueError(f"{self.path}: the atomic write was already committed or discarded")
        return self.handle

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` in one step (no newline translation)."""
    with AtomicWriter(path, encoding=encoding) as out:
        out.write(text)


def write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step."""
    with AtomicWriter(path, binary=True) as out:
        out.write(data)


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable; a no-op where the OS does not allow it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _target_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def _write_error(path: Path, err: OSError) -> UserError:
    return UserError(f"cannot write {path}: {err.strerror or err}", where=str(path),
                     hint="check that the folder exists and is writable, and that the disk is not full")
