"""The load-ready weights cache: a de-quantised model saved once, loaded in a fraction of a second.

De-quantising the bundled GGUF (and reading its tokenizer) takes 15-20 s on a 2-core CPU;
loading the same weights from safetensors takes well under a second (docs/benchmarks.md,
"Speed on a shared machine, and without native bf16").
So after the first load of a GGUF model, its weights (in the dtype they
were loaded in), config and tokenizer are saved under

    <cache>/models/<weights hash, 16 hex digits>-<dtype>/

where <cache> is `$SYNSPEC_CACHE_DIR`, else `$XDG_CACHE_HOME/synspec`, else
`~/.cache/synspec` (`cache_root`). Every file is written with `synspec.atomic`, and
`entry.json`, written last, lists each file's size and sha256: an entry without it is
unfinished, and one whose files do not match it (a torn copy, a flipped bit, a file
removed) is ignored and rebuilt. Two processes building the same entry write the same
bytes, so either one's files are valid. The cache is an optimisation: when the folder
cannot be written, the model is loaded from the GGUF as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from synspec.atomic import AtomicWriter, write_text
from synspec.errors import UserError

ENTRY_FILE = "entry.json"
FORMAT = 1  # bump when what an entry holds changes; older entries are then rebuilt


def cache_root() -> Path:
    """synspec's cache folder: $SYNSPEC_CACHE_DIR, $XDG_CACHE_HOME/synspec or ~/.cache/synspec.

    (`$SYNSPEC_CACHE`, the older name, is the folder that holds `synspec/`.)
    """
    if os.environ.get("SYNSPEC_CACHE_DIR"):
        return Path(os.environ["SYNSPEC_CACHE_DIR"]).expanduser()
    root = os.environ.get("SYNSPEC_CACHE") or os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(root).expanduser() / "synspec"


def entry_dir(weights_hash: str, dtype: str) -> Path:
    """The folder of one model's weights in one dtype."""
    digest = weights_hash.split(":", 1)[-1][:16]
    return cache_root() / "models" / f"{digest}-{dtype}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def valid_entry(folder: Path, weights_hash: str, dtype: str) -> bool:
    """Whether `folder` holds a complete entry whose files all match their recorded hashes."""
    try:
        entry = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
        if (entry.get("format"), entry.get("weights_hash"), entry.get("dtype")) != (FORMAT, weights_hash,
                                                                                      dtype):
            return False
        files = entry["files"]
        for name, record in files.items():
            path = folder / name
            if path.stat().st_size != record["size"] or _sha256(path) != record["sha256"]:
                return False
        return bool(files)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def store(folder: Path, model: Any, tokenizer: Any, weights_hash: str, dtype: str) -> bool:
    """Save a loaded model and tokenizer as an entry; False (nothing raised) when it cannot."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ENTRY_FILE).unlink(missing_ok=True)  # the entry is unfinished from here on
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".build-") as scratch:
            staging = Path(scratch)
            _save_pretrained(model, tokenizer, staging)
            files = {}
            for path in sorted(p for p in staging.iterdir() if p.is_file()):
                with path.open("rb") as source, AtomicWriter(folder / path.name, binary=True) as out:
                    assert out.handle is not None
                    shutil.copyfileobj(source, out.handle, 1 << 22)
                files[path.name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
        entry = {"format": FORMAT, "weights_hash": weights_hash, "dtype": dtype, "files": files}
        write_text(folder / ENTRY_FILE, json.dumps(entry, indent=1) + "\n")
        return True
    except (OSError, UserError, ValueError, RuntimeError):
        return False


def _save_pretrained(model: Any, tokenizer: Any, folder: Path) -> None:
    """transformers' own save, without the GGUF quantisation marker (the weights are plain now)."""
    quantizer = getattr(model, "hf_quantizer", None)
    config = model.config
    had_quantization = "quantization_config" in config.__dict__
    saved_quantization = config.__dict__.pop("quantization_config", None)
    try:
        model.hf_quantizer = None
        model.save_pretrained(str(folder))
    finally:
        model.hf_quantizer = quantizer
        if had_quantization:
            config.__dict__["quantization_config"] = saved_quantization
    tokenizer.save_pretrained(str(folder))
