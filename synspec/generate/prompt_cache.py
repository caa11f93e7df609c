"""The prompt's prefill on disk: a prompt seen before starts decoding without recomputing it.

Every batch of a run starts from one prompt (838 tokens for the diabetes clin_rule prompt),
and encoding it is a forward pass over all of its tokens: 1.5 s on 2 cores, 2.6 s on one,
about 13% of a 128-row float32 run (docs/benchmarks.md). Its result (each layer's keys and
values, the last hidden state and logits) depends only on the weights, the dtype, the
libraries that computed it and the prompt's token ids; not on the thread count (the same
bits with 1 and 2 threads, tests/test_prompt_cache.py). So it is saved, once, as

    <cache>/prompts/<key, 24 hex digits>.safetensors

(<cache> is `weights_cache.cache_root()`), the key a hash of all of those, and loaded by
later runs of the same prompt: the rows they write are the same bytes either way.
A file is written with `synspec.atomic` and carries a digest of its tensors, checked on
load; one that fails the check is ignored and rewritten. At most `MAX_BYTES` are kept: the
least recently used files go first. Like the weights cache this is an optimisation: when
the folder cannot be read or written, the prompt is encoded as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from synspec.atomic import AtomicWriter
from synspec.generate import weights_cache

FORMAT = 1  # bump when what a file holds changes; older files then miss and are replaced
MAX_BYTES = 512 * 1024 * 1024  # ~13 diabetes prompts in float32
SUFFIX = ".safetensors"


class LayerKV(NamedTuple):
    """One layer's prompt keys and values, [1, KV, P, d]."""

    keys: Any
    values: Any


@dataclass(frozen=True)
class Prefill:
    """A prompt's prefill: per layer its keys and values; the last hidden state and logits.

    `layers` is shaped like a transformers cache's (`.layers[i].keys`), so the batch caches
    read a computed and a loaded prefill alike.
    """

    layers: list[LayerKV]
    logits: Any
    hidden: Any | None


def folder() -> Path:
    return weights_cache.cache_root() / "prompts"


def cache_key(weights: str, dtype: str, device: str, prompt_ids: list[int]) -> str:
    """What the prefill is a function of, hashed: weights, dtype, device, libraries, token ids."""
    import torch
    import transformers

    identity = {"format": FORMAT, "weights": weights, "dtype": dtype, "device": device,
                "torch": torch.__version__, "transformers": transformers.__version__,
                "ids": hashlib.sha256(json.dumps(prompt_ids).encode()).hexdigest()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def _digest(tensors: dict[str, Any]) -> str:
    import torch

    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _tensors(prefill: Prefill) -> dict[str, Any]:
    tensors = {"logits": prefill.logits.detach().cpu()}
    if prefill.hidden is not None:
        tensors["hidden"] = prefill.hidden.detach().cpu()
    for i, (keys, values) in enumerate(prefill.layers):
        tensors[f"keys.{i}"] = keys.detach().cpu()
        tensors[f"values.{i}"] = values.detach().cpu()
    return tensors


def load(key: str, device: str) -> Prefill | None:
    """The saved prefill under `key`, or None (absent, unreadable, or failing its digest)."""
    from safetensors import SafetensorError, safe_open

    path = folder() / f"{key}{SUFFIX}"
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        if metadata.get("key") != key or metadata.get("digest") != _digest(tensors):
            return None
        count = int(metadata["layers"])
        layers = [LayerKV(tensors[f"keys.{i}"].to(device), tensors[f"values.{i}"].to(device))
                  for i in range(count)]
        hidden = tensors["hidden"].to(device) if "hidden" in tensors else None
        os.utime(path)  # recently used: the last to be evicted
        return Prefill(layers, tensors["logits"].to(device), hidden)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, SafetensorError):
        return None


def store(key: str, prefill: Prefill) -> bool:
    """Save a prefill under `key`, then trim the folder to `MAX_BYTES`; False when it cannot."""
    try:
        from safetensors.torch import save

        tensors = _tensors(prefill)
        metadata = {"key": key, "digest": _digest(tensors), "layers": str(len(prefill.layers)),
                    "format": str(FORMAT)}
        data = save(tensors, metadata=metadata)
        target = folder()
        target.mkdir(parents=True, exist_ok=True)
        with AtomicWriter(target / f"{key}{SUFFIX}", binary=True) as out:
            assert out.handle is not None
            out.handle.write(data)
        trim(target, MAX_BYTES)
        return True
    except (OSError, ValueError, RuntimeError):
        return False


def trim(where: Path, max_bytes: int) -> None:
    """Remove the least recently used files until the folder holds at most `max_bytes`."""
    files = []
    for path in where.glob(f"*{SUFFIX}"):
        try:
            stat = path.stat()
        except OSError:
            continue
        files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
