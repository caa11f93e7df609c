"""Durable, batch-by-batch output and resume.

Owns the files of a run: rows go to `OUT.partial.csv` (appended, flushed and fsynced
after every batch), and only then does the manifest record how many rows and bytes
are committed (an atomic replace). A run killed at any instant therefore leaves a
manifest whose row count is durable on disk; bytes past it are a torn batch, which
`--resume` truncates away before going on. When the run ends, the partial file
becomes OUT in one `os.replace` (CSV) or is converted through a temp file (Parquet),
so OUT is never half-written and an existing OUT is only replaced with `--force`.

Parquet columns hold the same text as the CSV cells (decimals with exactly their
places, boolean tokens, the missing token), so both formats carry identical values.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from synspec.atomic import AtomicWriter, fsync_dir
from synspec.errors import UserError
from synspec.generate import manifest as mf

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def output_format(out: Path) -> str:
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UserError(f"unknown output format {out.suffix or '(no extension)'!r} for {out}",
                        where="-o/--output", hint="name the output .csv or .parquet")
    return fmt


class Sink:
    """Appends committed batches to the partial file; publishes OUT at the end."""

    def __init__(self, out: Path, header: list[str]) -> None:
        self.out = out
        self.header = header
        self.format = output_format(out)
        self.partial = out.with_name(out.name + ".partial.csv")
        self.manifest_path = mf.manifest_path(out)
        self.rows = 0
        self.bytes = 0

    # ---- before the run -------------------------------------------------------------
    def check_start(self, *, resume: bool, force: bool) -> dict | None:
        """Refuse to clobber, and refuse any path the run could not write at the end; returns the
        saved manifest (plain JSON, see `manifest.parse`) when resuming."""
        if not self.out.parent.is_dir():
            raise UserError(f"output directory does not exist: {self.out.parent}", where="-o/--output",
                            hint="create the directory first")
        for path, what in ((self.out, "output"), (self.partial, "partial output"),
                           (self.manifest_path, "manifest")):
            if path.is_dir():
                raise UserError(f"the {what} path {path} is a folder", where="-o/--output",
                                hint="pass the path of a .csv or .parquet file to -o (--force never "
                                     "replaces a folder)")
        if not os.access(self.out.parent, os.W_OK | os.X_OK):
            raise UserError(f"cannot write in the output folder {self.out.parent}: permission denied",
                            where="-o/--output", hint="choose an -o path in a folder you can write")
        saved = mf.load_json(self.manifest_path)
        # Any manifest beside a partial file is an interrupted run, even one marked complete:
        # a kill between the final manifest write and the publish leaves exactly that.
        interrupted = self.partial.exists() and saved is not None
        if resume:
            if not interrupted:
                if self.out.exists() and saved is not None and saved.get("status") == "complete":
                    raise UserError(f"{self.out} is already complete; nothing to resume",
                                    where=str(self.manifest_path),
                                    hint="pass --force (without --resume) to generate it again")
                raise UserError(f"no interrupted run to resume at {self.out}", where=str(self.partial),
                                hint="start the run without --resume")
            return saved
        if not force:
            if interrupted:
                raise UserError(f"an interrupted run of {self.out} exists", where=str(self.partial),
                                hint="pass --resume to continue it, or --force to start over")
            if self.out.exists():
                raise UserError(f"output exists: {self.out}", where=str(self.out),
                                hint="pass --force to overwrite it, or choose another -o path")
        return None

    def open_new(self) -> None:
        text = _csv_text([self.header])
        self._write_at(0, text, truncate=True)
        self.rows = 0

    def open_resume(self, rows: int, size: int) -> None:
        """Drop any torn batch past the last committed byte."""
        actual = self.partial.stat().st_size
        if actual < size:
            raise UserError(f"the partial output {self.partial} is shorter than its manifest says "
                            f"({actual} < {size} bytes)", where=str(self.partial),
                            hint="the file was changed outside synspec; start over with --force")
        with self.partial.open("r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
        self.rows, self.bytes = rows, size

    # ---- during the run -------------------------------------------------------------
    def append(self, rows: list[list[str]]) -> None:
        """Append rows and make them durable; the caller then commits the manifest."""
        if rows:
            self._write_at(self.bytes, _csv_text(rows))
            self.rows += len(rows)

    def _write_at(self, offset: int, text: str, truncate: bool = False) -> None:
        data = text.encode("utf-8")
        mode = "wb" if truncate else "r+b"
        with self.partial.open(mode) as handle:
            handle.seek(offset)
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
        if truncate:
            fsync_dir(self.partial.parent)
        self.bytes = offset + len(data)

    # ---- after the run --------------------------------------------------------------
    def publish(self) -> None:
        """Make OUT appear complete in one step."""
        if self.format == "csv":
            os.replace(self.partial, self.out)
        else:
            import pandas as pd

            frame = pd.read_csv(self.partial, dtype=str, keep_default_na=False, na_filter=False)
            with AtomicWriter(self.out, binary=True) as writer:
                frame.to_parquet(writer.handle, index=False)
            self.partial.unlink()
        fsync_dir(self.out.parent)


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()
