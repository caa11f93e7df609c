"""Reading a CSV for inference: every cell as the exact text in the file.

Owns the file-level checks (encoding, BOM, CRLF, header, ragged rows) so the rest of
`synspec.infer` works on a clean table of strings. Nothing is converted here: a
column's kind is decided later from its text, and the text is what a spec describes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from synspec.errors import UserError

# Field sizes beyond the csv module's 128 KiB default mean a broken quote, not data,
# but a clear error beats csv's own message, so the limit is raised and checked below.
_MAX_FIELD = 1 << 20


@dataclass(frozen=True)
class RawTable:
    """The header and one list of cell texts per column, in file order."""

    path: Path
    header: tuple[str, ...]
    columns: tuple[tuple[str, ...], ...]

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def read_csv_text(path: Path) -> RawTable:
    """Read `path` as UTF-8 (a BOM is dropped; CRLF and LF both work) into strings.

    Raises `UserError` for an unreadable or non-UTF-8 file, an empty file, a blank or
    repeated column name, or a row whose field count differs from the header's.
    """
    csv.field_size_limit(_MAX_FIELD)
    try:
        # utf-8-sig drops a leading BOM; newline="" lets csv handle CRLF inside quotes.
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            rows, lines = [], []
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)  # the line a row ends on, exact with quoted newlines
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text", where=_first_bad_byte(path),
                        hint="save the file as UTF-8 CSV") from None
    except csv.Error as err:
        raise UserError(f"{path} is not a readable CSV file: {err}", where=str(path),
                        hint="check the quoting of the fields") from None
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}", where=str(path),
                        hint="check the path and the file's permissions") from None

    # Blank lines at the end are common and carry no row (csv yields [] for them; a
    # line holding only spaces is a value and stays).
    while rows and rows[-1] == []:
        rows.pop()
        lines.pop()
    if not rows:
        raise UserError(f"{path} is empty", where=str(path),
                        hint="infer needs a header line and at least one data row")
    header = tuple(rows[0])
    _check_header(path, header)
    body = rows[1:]
    if not body:
        raise UserError(f"{path} has a header but no data rows", where=f"{path}:2",
                        hint="infer needs at least one data row")
    width = len(header)
    for index, row in enumerate(body):
        if row == [] and width == 1:
            body[index] = row = [""]  # in a one-column file a blank line is an empty value
        if len(row) != width:
            raise UserError(f"row {index + 1} has {len(row)} fields but the header has {width}",
                            where=f"{path}:{lines[index + 1]}",
                            hint="every row needs one field per header column; quote fields "
                                 "that contain commas")
    columns = tuple(tuple(row[j] for row in body) for j in range(width))
    return RawTable(path=path, header=header, columns=columns)


def _check_header(path: Path, header: tuple[str, ...]) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        if not name.strip():
            raise UserError(f"column {position + 1} of the header has no name", where=f"{path}:1",
                            hint="give every column a name in the first line")
        if name in seen:
            raise UserError(f"column name `{name}` appears twice in the header (columns "
                            f"{seen[name] + 1} and {position + 1})", where=f"{path}:1",
                            hint="rename one of the columns")
        if "`" in name or "\n" in name or "\r" in name:
            raise UserError(f"column name {name!r} contains a backtick or a line break, which a "
                            "spec cannot name", where=f"{path}:1", hint="rename the column")
        seen[name] = position


def _first_bad_byte(path: Path) -> str:
    """`path:line` of the first byte that is not UTF-8 (the decoder's own offset is per chunk)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        return f"{path}:{line}"
    return str(path)
