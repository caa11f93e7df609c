"""`synspec.infer`: a first spec drafted from a table, as `synspec infer` writes it.

Owns handing a DataFrame (its cells as text) or a CSV path to `synspec.infer.infer_spec`,
and checking what comes back (an error in an inferred spec is a bug, not the user's).
A path keeps every cell's exact text (decimal places, codes with leading zeros); a
DataFrame read with `dtype=str, keep_default_na=False` does too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from synspec.diagnostics import Diagnostic
    from synspec.infer import InferResult

__all__ = ["infer"]


def infer(data: pd.DataFrame | str | os.PathLike[str], *, target: str | None = None, name: str | None = None,
          keys: Iterable[str] = (), min_count: int = 5, keep_rare: bool = False,
          corr_threshold: float = 0.1) -> str:
    """Spec text describing `data` (aggregates only; levels seen fewer than `min_count` times
    are left out unless `keep_rare`). Arguments as `synspec infer`'s flags."""
    return infer_result(data, target=target, name=name, keys=keys, min_count=min_count,
                        keep_rare=keep_rare, corr_threshold=corr_threshold)[0]


def infer_result(data: pd.DataFrame | str | os.PathLike[str], *, target: str | None = None,
                 name: str | None = None, keys: Iterable[str] = (), min_count: int = 5,
                 keep_rare: bool = False, corr_threshold: float = 0.1,
                 progress: Callable[[str], None] | None = None,
                 label: str = "<inferred>") -> tuple[str, InferResult, tuple[Diagnostic, ...]]:
    """`infer` with what the command line also reports: (text, InferResult, warnings); `label`
    names the text in the warnings (the command line's output file)."""
    from synspec.files import require_file
    from synspec.infer import InferOptions, infer_spec, infer_table
    from synspec.infer.read import RawTable
    from synspec.passes import check_text

    options = InferOptions(target=target, name=name, keys=tuple(dict.fromkeys(keys)), min_count=min_count,
                           keep_rare=keep_rare, corr_threshold=corr_threshold)
    if isinstance(data, pd.DataFrame):
        header = tuple(str(c) for c in data.columns)
        columns = tuple(tuple(_text(v) for v in data[c].to_numpy(dtype=object)) for c in data.columns)
        result = infer_table(RawTable(Path("dataframe"), header, columns), options, progress)
    else:
        path = require_file(Path(data), "data file", "pass the path of a CSV file")
        result = infer_spec(path, options, progress)
    checked = check_text(result.text, label)
    errors = [d for d in checked.diagnostics if d.is_error]
    if errors:
        raise RuntimeError("inferred spec does not check clean: " + "; ".join(d.message for d in errors))
    return result.text, result, checked.diagnostics


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an integer column with missing values comes back as float
    return str(value)
