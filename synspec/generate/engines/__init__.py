"""Generation engines by name: the one place that knows which engines exist.

`REGISTRY` lists them; the pipeline, the manifest and the CLI go through `canonical`,
`names` and `create` and never compare engine names themselves. Adding an engine is one
module implementing `base.Engine` plus one `EngineEntry` line below (docs/generation.md). Entries name their
class as "module:Class" and are imported only when created, so `synspec --help` and a
run on another engine never import torch, llguidance or outlines for nothing.

>>> canonical("llguidance")
'local'
>>> names()
('local', 'outlines', 'server')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synspec.errors import UserError
from synspec.generate.engines.base import Engine, ModelInfo, RowText, Sampling

if TYPE_CHECKING:  # model.py imports base.py from this package
    from synspec.generate.engines.server import ServerSettings
    from synspec.generate.model import LoadedModel

__all__ = ["REGISTRY", "Engine", "EngineEntry", "ModelInfo", "RowText", "Sampling", "canonical",
           "check_options", "create", "entry", "names"]


@dataclass(frozen=True)
class EngineEntry:
    name: str
    target: str  # "module:Class"; the class takes (model: str, loaded: LoadedModel | None, dtype: str)
    summary: str  # one line for `synspec run --help` and docs/generation.md
    aliases: tuple[str, ...] = ()  # older names still accepted (flags, manifests of earlier runs)
    # True: decodes elsewhere; the class also takes `server` (`server.ServerSettings`: --base-url...).
    remote: bool = False


REGISTRY: tuple[EngineEntry, ...] = (
    EngineEntry("local", "synspec.generate.engines.local:LocalEngine",
                "synspec's batched decoding loop with llguidance, one grammar per row", ("llguidance",)),
    EngineEntry("outlines", "synspec.generate.engines.outlines:OutlinesEngine",
                "outlines.Generator with a CFG, one grammar per batch, so no seeding"),
    EngineEntry("server", "synspec.generate.engines.server:ServerEngine",
                "an OpenAI-compatible server (llama.cpp, vLLM, SGLang), one request per row with its grammar",
                remote=True),
)


def names() -> tuple[str, ...]:
    """The engines' canonical names, in registry order."""
    return tuple(e.name for e in REGISTRY)


def entry(name: str) -> EngineEntry:
    """The entry for a name or alias; a UserError (exit 2) for an unknown one."""
    for candidate in REGISTRY:
        if name == candidate.name or name in candidate.aliases:
            return candidate
    raise UserError(f"unknown engine {name!r}", where="--engine", hint="one of " + ", ".join(names()))


def canonical(name: str) -> str:
    """The registered name for a name or alias (`llguidance` -> `local`)."""
    return entry(name).name


def check_options(name: str, server: ServerSettings | None) -> None:
    """A UserError (exit 2) when server settings go to an engine that takes none, or the reverse."""
    found = entry(name)
    if server is not None and not found.remote:
        raise UserError(f"--base-url is for --engine server, not --engine {found.name}", where="--base-url",
                        hint="add --engine server, or drop --base-url to decode in this process")
    if server is None and found.remote:
        raise UserError(f"--engine {found.name} needs --base-url", where=f"--engine {found.name}",
                        hint="e.g. --base-url http://127.0.0.1:8080 --model NAME")


def create(name: str, *, model: str = "default", loaded: LoadedModel | None = None,
           dtype: str = "auto", server: ServerSettings | None = None) -> Engine:
    """An engine by name or alias: finds its model now, loads it (in `dtype`) when first needed.

    `loaded` reuses weights already in memory (tests, benchmarks) instead of `model`;
    `server` says where a `remote` engine finds its server.
    """
    found = entry(name)
    check_options(name, server)
    module, _, cls = found.target.partition(":")
    options: dict[str, object] = {"server": server} if found.remote else {}
    engine: Engine = getattr(importlib.import_module(module), cls)(model=model, loaded=loaded, dtype=dtype,
                                                                   **options)
    return engine
