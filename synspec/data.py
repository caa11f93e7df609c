"""Reading CSV and Parquet tables the way a spec declares them.

Owns three steps, each usable alone:
- `read_raw` / `iter_raw`: the cells as strings exactly as written (no type guessing, no NA
  guessing; BOM, CRLF and a missing final newline handled), header checked against the spec;
  `iter_raw` yields bounded chunks so files larger than memory can be validated;
- `to_typed`: strings -> typed frame plus per-column masks of missing and unparseable cells;
- `read_typed`: both, refusing a file with any unparseable cell; `read_complete`: the strings,
  refusing any cell a column may not hold (rows used as they are, e.g. prompt examples).
Parsing is vectorised with pyarrow compute (RE2 regexes, C++ casts), about 2.5 million
diabetes rows a second on 2 cores, which keeps `synspec validate` and the generator's row
checking fast. pandas is imported by the functions that build frames, not with the module: the
SQL engines use this module's header checks and messages only, and importing pandas took 0.22 s
of each of their runs; pyarrow.compute likewise (0.04 s), by the functions that compute.
"""

from __future__ import annotations

import csv
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from synspec import ir
from synspec.errors import UserError
from synspec.files import require_file

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CHUNK_ROWS = 100_000

# What a number looks like in a data file: plain decimal notation only. "1e5", " 12", "inf",
# "nan" are rejected on purpose (a generator writing them is wrong, and pandas would accept them).
_INTEGER_RE = r"^[+-]?[0-9]+$"
_DECIMAL_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
_PARQUET_SUFFIXES = {".parquet", ".pq"}
# pyarrow CSV block: 1 MiB keeps the reader's own buffers near 40 MB (4 MiB blocks: ~150 MB)
# at no measurable cost in speed (benchmarks/bench_validate.py).
_BLOCK_BYTES = 1 << 20


@dataclass
class TypedTable:
    """A table converted to the spec's types.

    `frame`: integer/decimal and boolean columns as float64 (booleans 1.0/0.0), NaN where the
    value is missing or unparseable; categorical columns as object holding the text, None where
    missing. `missing[c]`: the cell is missing (the column's missing token, or empty).
    `bad[c]`: present but not a value of the declared type (for decimal(p) this includes more
    than p places; categorical text is never "bad", undeclared levels are a level failure).
    `too_many_places[c]`: the subset of `bad` that is a number with too many decimal places
    (its value is kept in `frame`). `raw`: the string frame it came from.
    """

    frame: pd.DataFrame
    bad: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]
    too_many_places: dict[str, np.ndarray] = field(default_factory=dict)
    raw: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def row_numbers(self) -> np.ndarray:
        """1-based data row numbers (first data row = 1), following the raw frame's index."""
        return np.asarray(self.frame.index, dtype=np.int64) + 1


# ---- reading -------------------------------------------------------------------------
def is_parquet(path: Path) -> bool:
    return Path(path).suffix.lower() in _PARQUET_SUFFIXES


def read_raw(path: Path | str, spec: ir.Spec) -> pd.DataFrame:
    """The whole table as strings exactly as written, columns checked against the spec."""
    import pandas as pd

    chunks = list(iter_raw(path, spec, chunk_rows=None))
    if len(chunks) == 1:
        return chunks[0]
    return pd.concat(chunks, ignore_index=True)


def iter_raw(path: Path | str, spec: ir.Spec, chunk_rows: int | None = DEFAULT_CHUNK_ROWS
             ) -> Iterator[pd.DataFrame]:
    """Chunks of at most `chunk_rows` rows (all rows when None), index = 0-based data row."""
    path = require_file(Path(path), "data file")
    if chunk_rows is not None and chunk_rows < 1:
        raise UserError(f"chunk size must be at least 1, got {chunk_rows}", hint="e.g. --chunk-size 100000")
    if is_parquet(path):
        yield from _iter_parquet(path, spec, chunk_rows)
    else:
        yield from _iter_csv(path, spec, chunk_rows)


def check_header(header: list[str], spec: ir.Spec, path: Path) -> None:
    expected = list(spec.column_names)
    if header == expected:
        return
    where = f"{path}:1"
    declared = ", ".join(expected)
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing:
        raise UserError(f"data file lacks column{'s' * (len(missing) > 1)} {', '.join(missing)} "
                        f"declared in {spec.path}", where=where,
                        hint=f"the spec declares, in order: {declared}")
    if extra or dupes:
        names = extra or dupes
        what = "is not declared in the spec" if extra else "appears more than once"
        raise UserError(f"data file column{'s' * (len(names) > 1)} {', '.join(names)} {what}",
                        where=where, hint=f"the spec {spec.path} declares, in order: {declared}")
    first = next(i for i, (a, b) in enumerate(zip(header, expected, strict=True)) if a != b)
    raise UserError(f"data file columns are in a different order than the spec: column {first + 1} is "
                    f"{header[first]!r}, the spec expects {expected[first]!r}", where=where,
                    hint=f"reorder the columns as declared: {declared}")


def _read_header(path: Path) -> list[str]:
    # Only the first line is decoded here: a bad byte further down is reported, with its line,
    # by the reader (`_csv_error`), not blamed on the header.
    with path.open("rb") as handle:
        first = handle.readline()
    if not first.strip(b"\xef\xbb\xbf\r\n"):
        raise UserError(f"data file is empty: {path}", where=str(path),
                        hint="a CSV needs a header line naming the spec's columns")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _utf8_error(path) from None
    try:
        return next(csv.reader([text.rstrip("\r\n")]))
    except csv.Error as exc:
        raise UserError(f"cannot read the CSV header: {exc}", where=f"{path}:1") from None


def _blank_line(path: Path) -> int | None:
    """The file line of the first blank line with a row after it; None when there is none
    (blank lines at the very end are harmless: no row follows them)."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return None
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            # A fast test in C first; the exact scan below runs only when it finds something.
            found = [at for at in (data.find(b"\n\n"), data.find(b"\n\r\n")) if at >= 0]
            if not found or not data[min(found):].strip():
                return None
    # Exact: records as the csv module reads them (a quoted field may hold an empty line).
    blank_at = None
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as text:
        rows = csv.reader(text)
        for fields in rows:
            if not fields:
                blank_at = blank_at or rows.line_num
            elif blank_at is not None:
                return blank_at
    return None


def _utf8_error(path: Path) -> UserError:
    """Where the first byte that is not UTF-8 is (a slow scan, on the error path only)."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return UserError(f"data file is not UTF-8 text: line {number} has byte "
                                 f"0x{line[exc.start]:02x} at column {exc.start + 1}",
                                 where=f"{path}:{number}", hint="save the file as UTF-8 (CSV) or as Parquet")
    return UserError(f"data file is not UTF-8 text: {path}", where=str(path),
                     hint="save the file as UTF-8 (CSV) or as Parquet")


def _iter_csv(path: Path, spec: ir.Spec, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    """CSV through pyarrow's streaming reader: every column typed string, nothing made null.

    pyarrow rather than pandas because it rejects a line with the wrong number of fields
    (pandas silently pads short lines), validates UTF-8, reads in bounded blocks, and hands
    pandas arrow-backed strings that `to_typed` parses without a copy.
    """
    import pyarrow.csv as pcsv

    header = _read_header(path)
    check_header(header, spec, path)
    blank = _blank_line(path)
    if blank is not None:
        # pyarrow skips blank lines, which would shift every reported line after them.
        raise UserError(f"CSV line {blank} is blank", where=f"{path}:{blank}",
                        hint="delete the blank lines between rows (a row of missing values is written "
                             "with the missing token in every field)")
    names = list(spec.column_names)
    options = {
        "read_options": pcsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=False),
        # Quoted fields may span lines, as in pandas and the csv module.
        "parse_options": pcsv.ParseOptions(newlines_in_values=True),
        "convert_options": pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                               strings_can_be_null=False, quoted_strings_can_be_null=False),
    }
    try:
        reader = pcsv.open_csv(path, **options)
        pending: list[pa.RecordBatch] = []
        n_pending = start = 0
        for batch in reader:
            if not batch.num_rows:
                continue
            pending.append(batch)
            n_pending += batch.num_rows
            while chunk_rows and n_pending >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield _frame(table.slice(0, chunk_rows), names, start)
                start += chunk_rows
                rest = table.slice(chunk_rows)
                pending, n_pending = rest.to_batches(), rest.num_rows
        if n_pending or start == 0:
            yield _frame(pa.Table.from_batches(pending, schema=reader.schema), names, start)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" not in str(exc):
            raise _csv_error(path, str(exc), len(names)) from None
        # A header with no final newline and no rows: pyarrow cannot size it; the table is empty.
        yield _frame(pa.table({n: pa.array([], pa.string()) for n in names}), names, 0)



def _frame(table: pa.Table, names: list[str], start: int) -> pd.DataFrame:
    import pandas as pd

    index = pd.RangeIndex(start, start + table.num_rows)
    # Arrow-backed strings, no copy: `to_typed` hands them straight back to pyarrow compute.
    return pd.DataFrame({name: pd.Series(pd.arrays.ArrowStringArray(table.column(name)), index=index)
                         for name in names}, index=index)


def _csv_error(path: Path, detail: str, n_columns: int) -> UserError:
    """A UserError for a CSV pyarrow could not read, with the line found by a slow rescan."""
    if "UTF8" in detail or "UTF-8" in detail:
        return _utf8_error(path)
    if "columns" in detail:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle)
            for fields in rows:
                if len(fields) not in (n_columns, 0):
                    line = rows.line_num
                    return UserError(f"CSV line {line} has {len(fields)} field{'s' * (len(fields) != 1)}, "
                                     f"the header has {n_columns}", where=f"{path}:{line}",
                                     hint="write one field per column (the spec's missing token for a "
                                          "missing value); quote fields that contain commas")
    return UserError(f"cannot parse the CSV: {detail}", where=str(path),
                     hint="every line needs as many fields as the header; quote fields containing commas")


def _iter_parquet(path: Path, spec: ir.Spec, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"cannot read the Parquet file: {exc}", where=str(path),
                        hint="is it a Parquet file? CSV files need a .csv (not .parquet) suffix") from None
    check_header(list(handle.schema_arrow.names), spec, path)
    start = 0
    batches = handle.iter_batches(batch_size=chunk_rows) if chunk_rows else [handle.read()]
    for batch in batches:
        index = pd.RangeIndex(start, start + batch.num_rows)
        # object dtype keeps None (a Parquet null) as None; pandas would infer str and make it NaN.
        frame = pd.DataFrame({col.name: pd.Series(_arrow_to_text(batch.column(col.name), col),
                                                  index=index, dtype=object) for col in spec.columns},
                             index=index)
        start += len(frame)
        yield frame


def _arrow_to_text(array: pa.Array | pa.ChunkedArray, column: ir.Column) -> np.ndarray:
    """A Parquet column as the text a CSV would hold; nulls become None (missing)."""
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_floating(kind) and column.kind in (ir.ColumnKind.INTEGER, ir.ColumnKind.BOOLEAN):
        # Integer columns with nulls are often stored as float; 3.0 is the integer 3.
        values = array.to_numpy(zero_copy_only=False)
        whole = np.isfinite(values) & (values == np.round(values))
        if bool(np.all(whole | np.isnan(values))):
            array = pc.cast(array, pa.int64(), safe=False)
    if pa.types.is_boolean(array.type) and column.kind is ir.ColumnKind.BOOLEAN:
        array = pc.if_else(array, column.true_token, column.false_token)
    text = pc.cast(array, pa.string())
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


# ---- typing --------------------------------------------------------------------------
def _as_arrow(cells: pd.Series) -> pa.Array:
    """The cells as an arrow string array; zero-copy for the arrow-backed strings read_csv makes."""
    import pyarrow.compute as pc

    if hasattr(cells.array, "__arrow_array__"):
        array = pa.array(cells.array)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        return array if array.type == pa.string() else pc.cast(array, pa.string())
    values = cells.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]  # pandas-stubs lacks it
    return pa.array(values, type=pa.string(), from_pandas=True)


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def to_typed(raw: pd.DataFrame, spec: ir.Spec) -> TypedTable:
    """Convert a raw string frame (from `read_raw`, or built by the generator) to the spec's types."""
    import pandas as pd
    import pyarrow.compute as pc

    frame: dict[str, np.ndarray] = {}
    bad: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    places: dict[str, np.ndarray] = {}
    n = len(raw)
    for column in spec.columns:
        text = _as_arrow(raw[column.name]) if n else pa.array([], type=pa.string())
        # Missing: the declared token, an empty cell, or a null (Parquet null, generator None).
        is_missing = pc.or_kleene(pc.is_null(text), pc.equal(text, ""))
        if column.missing_token not in (None, ""):
            is_missing = pc.or_kleene(is_missing, pc.equal(text, column.missing_token))
        miss = _np(pc.fill_null(is_missing, True))
        missing[column.name] = miss
        present = ~miss
        if column.kind is ir.ColumnKind.CATEGORICAL:
            values = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
            values[miss] = None
            frame[column.name] = values
            bad[column.name] = np.zeros(n, dtype=bool)
        elif column.kind is ir.ColumnKind.BOOLEAN:
            values = np.full(n, np.nan)
            is_true = _np(pc.fill_null(pc.equal(text, column.true_token), False)) & present
            is_false = _np(pc.fill_null(pc.equal(text, column.false_token), False)) & present
            values[is_true] = 1.0
            values[is_false] = 0.0
            frame[column.name] = values
            bad[column.name] = present & ~is_true & ~is_false
        else:
            pattern = _INTEGER_RE if column.kind is ir.ColumnKind.INTEGER else _DECIMAL_RE
            ok = _np(pc.fill_null(pc.match_substring_regex(text, pattern), False)) & present
            clean = pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string()))
            values = np.asarray(pc.cast(clean, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
            unparsed = present & ~ok
            if column.kind is ir.ColumnKind.DECIMAL and column.places is not None:
                dot = np.asarray(pc.find_substring(text, ".").to_numpy(zero_copy_only=False))
                length = np.asarray(pc.utf8_length(text).to_numpy(zero_copy_only=False))
                dot = np.where(np.isnan(dot.astype(float)), -1, dot).astype(np.int64)
                length = np.where(np.isnan(length.astype(float)), 0, length).astype(np.int64)
                written = np.where(dot >= 0, length - dot - 1, 0)
                over = ok & (written > column.places)
            else:
                over = np.zeros(n, dtype=bool)
            frame[column.name] = values
            bad[column.name] = unparsed | over
            places[column.name] = over
    # Series with explicit dtypes: pandas would otherwise infer a string dtype for the
    # categorical columns and turn None into NaN.
    typed = pd.DataFrame({name: pd.Series(values, index=raw.index, dtype=object if values.dtype == object
                                          else float, copy=False)
                          for name, values in frame.items()}, index=raw.index)
    return TypedTable(frame=typed, bad=bad, missing=missing, too_many_places=places, raw=raw)


def describe_kind(column: ir.Column) -> str:
    """How the spec declares a column's type, for messages."""
    if column.kind is ir.ColumnKind.DECIMAL:
        return f"decimal({column.places})"
    if column.kind is ir.ColumnKind.BOOLEAN:
        return f"boolean {column.true_token}/{column.false_token}"
    return column.kind.value


def a_kind(column: ir.Column) -> str:
    """The declared type with its article: "an integer", "a decimal(2)"."""
    kind = describe_kind(column)
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _first_hit(masks: dict[str, np.ndarray], spec: ir.Spec) -> tuple[int, str] | None:
    """(row position, column) of the first True cell, row-wise then in column order."""
    first: tuple[int, str] | None = None
    for column in spec.columns:
        mask = masks.get(column.name)
        if mask is None:
            continue
        hits = np.flatnonzero(mask)
        if hits.size and (first is None or hits[0] < first[0]):
            first = (int(hits[0]), column.name)
    return first


def require_parseable(typed: TypedTable, raw: pd.DataFrame, spec: ir.Spec, path: Path | str,
                      what: str = "") -> None:
    """Raise a UserError naming the first cell (row-wise) that is not of its declared type."""
    first = _first_hit(typed.bad, spec)
    if first is None:
        return
    row, name = first
    column = spec.column(name)
    prefix = f"{what} " if what else ""
    raise UserError(f"{prefix}data row {row + 1}, column {name}: {raw[name].iloc[row]!r} is not "
                    f"{a_kind(column)} value", where=f"{path}:{row + 2}",
                    hint="fix the cell (synspec validate lists every one), or the declaration at "
                         f"{column.location}")


def require_present(typed: TypedTable, spec: ir.Spec, path: Path | str, what: str = "") -> None:
    """Raise a UserError naming the first missing cell of a column the spec declares never missing."""
    required = {c.name: typed.missing[c.name] for c in spec.columns if not c.may_be_missing}
    first = _first_hit(required, spec)
    if first is None:
        return
    row, name = first
    prefix = f"{what} " if what else ""
    raise UserError(f"{prefix}data row {row + 1}, column {name}: the cell is empty, and the spec "
                    "declares no missing values for this column", where=f"{path}:{row + 2}",
                    hint="fill the cell, or declare the column's missing share and token at "
                         f"{spec.column(name).location}")


def read_complete(path: Path | str, spec: ir.Spec, what: str = "") -> pd.DataFrame:
    """The table as strings (as `read_raw`), every cell a value its column may hold.

    For rows that are used as they are, such as the seed_ex prompt's example rows: a cell
    that is not of its declared type, or is missing where the spec allows no missing value,
    is a UserError naming the file, the data row and the column (`what` names the file's
    role in the message, e.g. "examples file").
    """
    raw = read_raw(path, spec)
    typed = to_typed(raw, spec)
    require_parseable(typed, raw, spec, path, what)
    require_present(typed, spec, path, what)
    return raw


def read_typed(path: Path | str, spec: ir.Spec) -> pd.DataFrame:
    """The typed frame of a file; a UserError naming the first cell that does not parse."""
    raw = read_raw(path, spec)
    typed = to_typed(raw, spec)
    require_parseable(typed, raw, spec, path)
    return typed.frame
