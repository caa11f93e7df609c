"""What eval takes from the run manifest beside a synthetic table (`SYN.manifest.json`).

The one place eval reads a manifest, tolerantly: a table need not come from `synspec run`, and
a manifest from an older or newer synspec may lack a field. Read: the spec's hash (to warn when
the table was made from another spec), the prompt style, the examples file, and the examples'
rows the prompts showed (`examples.rows_used`: 0-based row indices into that file). Without
`rows_used` the whole examples file stands in for the prompt rows: a superset, so the prompt-copy
rate is then an upper bound.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from synspec import ir
from synspec.data import read_raw, to_typed
from synspec.errors import UserError
from synspec.evaluate.result import ManifestInputs


@dataclass(frozen=True)
class RunInputs:
    """The manifest's fields eval uses; None where the manifest does not say."""

    path: Path
    spec_hash: str | None = None
    style: str | None = None
    examples_path: Path | None = None
    rows_used: tuple[int, ...] | None = None
    examples_hash: str | None = None


@dataclass
class ManifestRead:
    """The outcome for one synthetic table: the record for the result, the prompt rows, warnings."""

    record: ManifestInputs | None = None
    prompt_examples: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)


def manifest_path(synthetic: Path) -> Path:
    return synthetic.with_name(synthetic.name + ".manifest.json")


def _bad(path: Path, problem: str) -> UserError:
    return UserError(
        f"cannot read the run manifest: {problem}",
        where=str(path),
        hint="delete or repair the manifest beside the synthetic file",
    )


def _text(value: Any, path: Path, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _bad(path, f"{what} is {type(value).__name__}, not text")


def _section(saved: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = saved.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(path, f"{key!r} is {type(value).__name__}, not an object")
    return value


def read_run_inputs(synthetic: Path) -> RunInputs | None:
    """The manifest's inputs, None when there is no manifest; a UserError when it is unreadable."""
    path = manifest_path(synthetic)
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(path, str(exc)) from None
    if not isinstance(saved, dict):
        raise _bad(path, "it is not a JSON object")
    examples = _section(saved, "examples", path)
    rows_used = examples.get("rows_used")
    if rows_used is not None:
        if not isinstance(rows_used, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in rows_used
        ):
            raise _bad(path, "examples.rows_used must be a list of row numbers (0, 1, ...)")
        rows_used = tuple(rows_used)
    named = _text(examples.get("path"), path, "examples.path")
    return RunInputs(
        path=path,
        spec_hash=_text(_section(saved, "spec", path).get("hash"), path, "spec.hash"),
        style=_text(saved.get("style"), path, "style"),
        examples_path=Path(named) if named else None,
        rows_used=rows_used,
        examples_hash=_text(
            _section(saved, "fingerprint", path).get("examples_hash"), path, "fingerprint.examples_hash"
        ),
    )


def file_hash(path: Path) -> str:
    """`sha256:<hex>` of a file's bytes, as the run manifest writes it."""
    with path.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


Source = Literal["rows_used", "whole_file"]


def _prompt_rows(
    inputs: RunInputs, spec: ir.Spec, warnings: list[str]
) -> tuple[pd.DataFrame | None, Source | None]:
    named = inputs.examples_path
    if named is None:
        return None, None
    if not named.is_file():
        warnings.append(f"the run's examples file {named} is gone; prompt copies are not counted")
        return None, None
    if inputs.examples_hash is not None and file_hash(named) != inputs.examples_hash:
        warnings.append(
            f"the examples file {named} changed since the run; prompt copies are "
            "counted against its rows as they are now"
        )
    raw = read_raw(named, spec)
    if inputs.rows_used is None:
        return to_typed(raw, spec).frame, "whole_file"
    beyond = [i for i in inputs.rows_used if i >= len(raw)]
    if beyond:
        raise UserError(
            f"the run manifest names example row {beyond[0]}, but {named} has {len(raw)} rows",
            where=str(inputs.path),
            hint="the examples file was replaced after the run; restore it or delete the manifest",
        )
    picked = raw.iloc[list(inputs.rows_used)].reset_index(drop=True)
    return to_typed(picked, spec).frame, "rows_used"


def read_manifest(synthetic: Path, spec: ir.Spec, spec_path: Path) -> ManifestRead:
    """Everything eval takes from the manifest beside `synthetic` (nothing when there is none)."""
    inputs = read_run_inputs(synthetic)
    if inputs is None:
        return ManifestRead()
    warnings: list[str] = []
    matches = None
    if inputs.spec_hash is not None:
        matches = file_hash(spec_path) == inputs.spec_hash
        if not matches:
            warnings.append(
                f"{synthetic} was generated from another version of the spec than "
                f"{spec_path} (its manifest records another hash)"
            )
    frame, source = _prompt_rows(inputs, spec, warnings)
    record = ManifestInputs(
        path=str(inputs.path),
        spec_hash=inputs.spec_hash,
        spec_matches=matches,
        style=inputs.style,
        examples_path=None if inputs.examples_path is None else str(inputs.examples_path),
        prompt_examples=source if frame is not None and len(frame) else None,
    )
    return ManifestRead(record=record, prompt_examples=frame, warnings=warnings)
