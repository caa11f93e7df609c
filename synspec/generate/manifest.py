"""The run manifest `OUT.manifest.json`: what produced a table, and how far a run got.

Owns its schema (`RunManifest`, a pydantic model with `manifest_version`; the field table
is in docs/generation.md), hashing of inputs, the atomic durable write, reading older
versions, and deciding whether an interrupted run may be resumed with the arguments
given now (the `fingerprint` fields must all match, otherwise the rows on disk came from
a different run).

Versions: 1 (plain dict, before 2026-12) had no `seeding`, named the local engine
`llguidance` and did not record which example rows the prompt showed; `read` upgrades it.
2 is written now.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synspec.atomic import write_text
from synspec.errors import UserError

MANIFEST_VERSION = 2
LIBRARIES = ("torch", "transformers", "llguidance", "outlines", "numpy", "pandas", "pyarrow")
Status = Literal["running", "complete", "starved"]


class _Record(BaseModel):
    # Unknown keys are kept on read (a newer synspec may add fields within a version).
    model_config = ConfigDict(extra="allow")


class SpecRecord(_Record):
    path: str  # as given on the command line
    hash: str  # "sha256:..." of the spec file's bytes
    name: str


class ModelRecord(_Record):
    name: str
    path: str
    weights_hash: str | None
    device: str
    dtype: str
    # "gguf" (de-quantised in this run), "cache" (the load-ready weights cache), "directory"
    # (a transformers model directory); None until the model is loaded, or when it never was.
    loaded_from: str | None = None


class ComputeRecord(_Record):
    """The CPU and the threads a run computed with (none of it changes an output byte)."""

    cpu: str  # model name from /proc/cpuinfo
    cpu_flags: list[str]  # the flags that decide matrix speed (synspec.generate.cpu.SPEED_FLAGS)
    native_bf16: bool
    allowed_cores: int  # the process's CPU affinity
    threads: int | None = None  # torch threads; None until the model is needed
    threads_reason: str | None = None  # "--threads N" or "auto: A allowed cores, B busy"
    busy_cores: int | None = None  # measured at the start of decoding (auto only)
    # Worker threads a full batch's shards are decoded by (`engines/shards.py`), each computing
    # with threads // workers torch threads, at least one; None for engines without shards.
    workers: int | None = None
    # Changes while decoding (auto only: `threads.LoadWatch`), e.g. "12.3 s: 1 thread (other
    # processes took 1.0 cores)"; None when the count never changed.
    thread_changes: list[str] | None = None


class ExamplesRecord(_Record):
    """The seed_ex prompt's example rows: which file, and which of its rows."""

    path: str  # as given with --examples
    rows: int  # how many rows the prompt shows
    # Position of each shown row among the file's data rows (0 = first row after the header),
    # in file order: `examples.shown_rows(path, rows_used, spec)` reads them back; the file's hash is
    # `fingerprint.examples_hash`.
    rows_used: list[int] | None = None  # None in version 1 manifests


class GrammarRecord(_Record):
    enforced: dict[str, str]  # hard rule -> why the grammar enforces it
    checked_after: dict[str, str]  # rule -> why only the checker can


class Fingerprint(_Record):
    """What decides which rows a batch produces: a resume must match every field."""

    spec_hash: str
    n: int
    seed: int
    style: str
    examples_hash: str | None
    model_hash: str | None
    batch_size: int
    temperature: float
    engine: str
    seeding: str | None = None  # None only in version 1 manifests (seeded_columns covers it there)
    prompt_hash: str
    seeded_columns: list[str]
    max_new_tokens: int
    dtype: str | None = None  # None in manifests written before --dtype existed
    # The model's name: what identifies a served model, whose weights synspec cannot hash.
    # None in manifests written before the server engine existed.
    model_name: str | None = None


class ProgressRecord(_Record):
    rows: int  # committed rows in OUT.partial.csv
    bytes: int  # committed bytes of OUT.partial.csv; anything after them is a torn batch
    next_batch: int  # the first batch a resume generates


class Counts(_Record):
    requested: int
    generated: int  # rows made (decoded or drawn in full), accepted or not
    accepted: int
    rejected: int  # rows dropped; one row may fail several checks
    rejected_per_rule: dict[str, int]  # check or reason -> rows it rejected
    seeding_relaxed_rows: int = 0  # rows whose seeded values contradicted the rules and were released
    drawn_rows: int = 0  # rows every generated column of which was drawn: written without the model


class Timings(_Record):
    model_load_s: float | None  # None: the run never needed the model
    previous_runs_s: float  # total_s of the interrupted runs this one resumed
    time_to_first_row_s: float | None = None
    generation_s: float = 0.0
    total_s: float = 0.0
    rows_per_s: float | None = None


class RunManifest(_Record):
    """Everything `synspec run` records beside OUT (docs/generation.md has the table)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    manifest_version: int = MANIFEST_VERSION
    status: Status
    output: str
    format: str  # "csv" | "parquet"
    spec: SpecRecord
    synspec_version: str
    model: ModelRecord
    style: str
    examples: ExamplesRecord | None
    prompt_hash: str
    prompt_tokens: int | None  # None until the model is loaded, or when the engine cannot tell
    seed: int
    batch_size: int
    temperature: float
    engine: str
    seeding: str  # none | levels | marginals | joint, as used (an engine without per-row grammars: none)
    seeded_columns: list[str]
    grammar: GrammarRecord
    libraries: dict[str, str]
    compute: ComputeRecord | None = None  # None in manifests written before it existed
    fingerprint: Fingerprint
    progress: ProgressRecord
    counts: Counts
    yield_: float | None = Field(default=None, alias="yield")  # rows that passed every check / generated
    timings: Timings
    starving_rule: str | None = None  # the check that rejected the most rows, when status is starved

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2) + "\n"


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def package_version(name: str) -> str:
    """The installed version of a distribution, read from its metadata (nothing imported)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        versions[name] = package_version(name)
    return versions


def synspec_version() -> str:
    try:
        return metadata.version("synspec")
    except metadata.PackageNotFoundError:
        return "unknown"


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def write_atomic(path: Path, text: str) -> None:
    """The manifest written through `synspec.atomic` (never a torn file)."""
    write_text(path, text)


def save(path: Path, manifest: RunManifest) -> None:
    write_atomic(path, manifest.to_json())


def load_json(path: Path) -> dict[str, Any] | None:
    """The manifest as plain JSON, or None if it is absent or unreadable (a torn write cannot
    happen). The sink decides from this whether an interrupted run is there; `parse` types it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def parse(data: dict[str, Any], where: Path) -> RunManifest:
    """A manifest of any version this synspec reads, as the current schema; a UserError otherwise."""
    version = data.get("manifest_version")
    if version == 1:
        data = _upgrade_v1(data)
    elif version != MANIFEST_VERSION:
        newer = isinstance(version, int) and version > MANIFEST_VERSION
        raise UserError(f"the run manifest has version {version!r}; this synspec reads versions 1 to "
                        f"{MANIFEST_VERSION}", where=str(where),
                        hint="use the synspec that wrote it" if newer
                        else "it is not a synspec run manifest; start over with --force")
    try:
        return RunManifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UserError(f"the run manifest is damaged: {field}: {first['msg']}", where=str(where),
                        hint="start over with --force") from None


def read(path: Path) -> RunManifest | None:
    """The manifest at `path` in the current schema, None when there is none (see `parse`)."""
    data = load_json(path)
    return None if data is None else parse(data, path)


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: engine names by the registry, `seeding` inferred, starving_rule present."""
    from synspec.generate import engines

    out = json.loads(json.dumps(data))  # a deep copy
    out["manifest_version"] = MANIFEST_VERSION
    for record in (out, out.get("fingerprint") or {}):
        if isinstance(record.get("engine"), str):
            try:
                record["engine"] = engines.canonical(record["engine"])
            except UserError:
                pass  # left as written; the fingerprint then names the difference
    # Version 1 seeded by declared marginals whenever it seeded at all.
    out["seeding"] = "marginals" if out.get("seeded_columns") else "none"
    return out


def mismatches(saved: RunManifest, current: RunManifest) -> list[str]:
    """Fingerprint fields that differ between a saved run and the one asked for now.

    A field the saved run did not record (None from an older version) is not compared.
    """
    have = saved.fingerprint.model_dump()
    want = current.fingerprint.model_dump()
    optional = {"seeding", "dtype", "model_name"}
    return [f"{key}: run on disk has {have.get(key)!r}, now {want.get(key)!r}"
            for key in Fingerprint.model_fields
            if have.get(key) != want.get(key) and not (key in optional and have.get(key) is None)]
