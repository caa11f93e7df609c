"""What `synspec validate DATA` names: one CSV file, Parquet files (one, or a glob), or a table.

Owns resolving DATA before any engine reads it, so every engine refuses the same inputs with
the same messages: a path that does not exist, a glob that matches nothing, a CSV whose header
is not the spec's, a table name without `--connect`. Parquet schemas are checked by the engine
that opens them (their column names are in the files, not in a header line).
"""

from __future__ import annotations

import glob
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synspec import data, ir
from synspec.errors import UserError
from synspec.files import require_file

__all__ = ["DataSource", "require_no_blank_lines", "resolve"]

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class DataSource:
    """A resolved DATA argument.

    kind: "csv" (one file), "parquet" (one or more files, sorted: rows are numbered across
    them in that order) or "table" (a table of the `--connect` database or Spark catalog).
    """

    kind: str
    label: str  # how the report names the table (DATA as given)
    paths: tuple[Path, ...] = ()
    table: str | None = None

    @property
    def csv_lines(self) -> bool:
        """Whether rows have file lines (row + 1): a single CSV file."""
        return self.kind == "csv"

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths)


def resolve(text: str, spec: ir.Spec, *, tables: bool = False) -> DataSource:
    """DATA as given on the command line; `tables`: a name that is not a file may be a table."""
    path = Path(text)
    if any(ch in text for ch in _GLOB_CHARS) and not path.exists():
        matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not matches:
            raise UserError(f"no file matches {text}", where=text,
                            hint="check the pattern (quote it so the shell does not expand it)")
        odd = [p for p in matches if not data.is_parquet(p)]
        if odd:
            raise UserError(f"a glob may only match Parquet files, and {odd[0]} is not one",
                            where=str(odd[0]),
                            hint="validate one CSV file at a time, or narrow the pattern to *.parquet")
        return DataSource("parquet", text, tuple(matches))
    if tables and not path.exists() and _looks_like_table(text):
        return DataSource("table", text, table=text)
    require_file(path, "data file", hint=_hint(tables))
    if data.is_parquet(path):
        return DataSource("parquet", text, (path,))
    data.check_header(data._read_header(path), spec, path)
    return DataSource("csv", text, (path,))


def _looks_like_table(text: str) -> bool:
    """A name such as `visits` or `warehouse.visits`, not a path to a missing file."""
    suffix = Path(text).suffix.lower()
    return "/" not in text and "\\" not in text and suffix not in (".csv", ".parquet", ".pq")


def _hint(tables: bool) -> str:
    if tables:
        return "check the path; a table name (with --connect) is a plain name such as visits or db.visits"
    return "check the path (relative paths start in the current directory)"


def require_no_blank_lines(path: Path, rows: int | None = None) -> None:
    """The pandas path's refusal of blank lines (SQL readers skip them, shifting every line after).

    `rows`: the data rows a reader that skips blank lines found in the file (DuckDB's). A file
    holding exactly one line feed per row, plus the header's, has no line to spare for a blank
    one, and counting line feeds costs a third of the pre-scan below (0.3 s against 0.9 s for
    2 GB). Otherwise a first pass reads the file in bounded blocks (not mapped: a mapped file's
    pages would count in the process's resident memory, as much as the file); the exact, slower
    scan of `synspec.data` runs only when a candidate turns up.
    """
    if rows is not None:
        line_feeds, last_is_line_feed = _line_feeds(path)
        if line_feeds == rows + last_is_line_feed:
            return
    if not _may_have_blank_line(path):
        return
    blank = data._blank_line(path)
    if blank is not None:
        raise UserError(f"CSV line {blank} is blank", where=f"{path}:{blank}",
                        hint="delete the blank lines between rows (a row of missing values is written "
                             "with the missing token in every field)")


_MIN_RANGE = 64 << 20  # smaller files are counted on one thread: a thread costs more than it saves


def _line_feeds(path: Path, block: int = 1 << 20, workers: int | None = None) -> tuple[int, bool]:
    """How many line feeds the file holds, and whether it ends with one (then the header's line
    feed is one more than the rows').

    The file is cut into one contiguous range per core, each counted on its own thread through
    its own handle (reads and numpy release the GIL): the count runs after the query, when
    DuckDB's threads are done, and took 0.35-0.50 s for 2 GB on one core, 0.19 s on two.
    """
    size = path.stat().st_size
    if size == 0:
        return 0, False
    workers = workers or min(os.cpu_count() or 1, max(1, size // _MIN_RANGE))
    bounds = [size * i // workers for i in range(workers + 1)]
    if workers == 1:
        total = _line_feeds_in(path, 0, size, block)
    else:
        with ThreadPoolExecutor(workers) as pool:
            total = sum(pool.map(lambda i: _line_feeds_in(path, bounds[i], bounds[i + 1], block),
                                 range(workers)))
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return total, handle.read(1) == b"\n"



def _line_feeds_in(path: Path, start: int, end: int, block: int) -> int:
    """Line feeds in bytes [start, end) of the file: bounded blocks, vectorised.

    One buffer and one mask, reused: a fresh 8 MB mask per block (and its page faults) made the
    count of the 2 GB file 0.4-0.5 s instead of 0.3 s, and 1 MB blocks stay in the cache.
    """
    buffer = bytearray(block)
    data_view = np.frombuffer(buffer, dtype=np.uint8)
    is_line_feed = np.empty(block, dtype=bool)
    total = 0
    with path.open("rb", buffering=0) as handle:
        handle.seek(start)
        while start < end:
            read = handle.readinto(memoryview(buffer)[:min(block, end - start)])
            if not read:
                break
            np.equal(data_view[:read], 10, out=is_line_feed[:read])
            total += int(np.count_nonzero(is_line_feed[:read]))
            start += read
    return total


def _may_have_blank_line(path: Path, block: int = 8 << 20) -> bool:
    """Whether an empty line (LF LF or LF CR LF) occurs before trailing whitespace at the end.

    Vectorised (numpy compares whole blocks): `bytes.find` stops at every line feed, one per
    row, and took 1.0 s per 0.5 GB of CSV against 0.15 s here.
    """
    buffer = bytearray(block + 2)
    kept = 0  # the previous block's last two bytes, so a pair split across blocks is seen
    with path.open("rb", buffering=0) as handle:
        while True:
            read = handle.readinto(memoryview(buffer)[kept:kept + block])
            if not read:
                return False
            size = kept + read
            window = np.frombuffer(buffer, dtype=np.uint8, count=size)
            line_feed = window == 10
            starts = np.flatnonzero(line_feed[:-1] & line_feed[1:])
            crlf = np.flatnonzero(line_feed[:-2] & (window[1:-1] == 13) & line_feed[2:])
            if starts.size or crlf.size:
                at = min(int(found[0]) for found in (starts, crlf) if found.size)
                if bytes(buffer[at:size]).strip() or handle.read(1):
                    return True
            kept = min(size, 2)
            buffer[:kept] = buffer[size - kept:size]
