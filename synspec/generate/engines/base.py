"""The interface every generation engine implements, and the values it exchanges.

An engine turns (one prompt, one row grammar per row, sampling settings) into one text
per row plus the tokens it spent. It knows nothing of specs, seeding, checking or files:
the pipeline (`synspec.generate.pipeline`) builds the grammars, and checks every text
before a row is written. An engine loads its model lazily (`load`), so a run whose rows
are all drawn in full never loads one; what it reports for the manifest (`model_info`)
is known before loading.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable


@dataclass(frozen=True)
class Sampling:
    """How to sample one batch. The same (prompt, grammars, sampling) give the same texts."""

    temperature: float  # 0 is greedy
    seed: int  # seeds this batch's sampling noise only
    max_new_tokens: int  # per row; a row still unfinished then comes back incomplete
    # A progress hook, not a sampling setting: called with how many of the batch's rows have
    # finished decoding, as they finish (an engine that returns a batch whole may call it once).
    on_row: Callable[[int], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RowText:
    """One row's output: its text, or None when it did not complete (token limit, grammar error)."""

    text: str | None
    tokens: int  # tokens the engine generated for this row


@dataclass(frozen=True)
class ModelInfo:
    """What the manifest records about the model, known without loading it."""

    name: str
    path: str
    weights_hash: str | None  # "sha256:..." of the weight files; None where the engine cannot see them
    device: str
    dtype: str
    loaded_from: str | None = None  # "gguf", "cache" or "directory" once loaded (`model.LoadedModel.source`)


@runtime_checkable
class Engine(Protocol):
    """A decoding engine; register one in `synspec.generate.engines.REGISTRY`."""

    # True: each row may have its own grammar (seeded values are forced per row). False: the
    # engine applies one grammar to a whole batch, so the pipeline seeds nothing on it.
    per_row_grammars: ClassVar[bool]

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded (generate loads it when it is not)."""
        ...

    def grammar_dialect(self) -> str:
        """The dialect `generate` takes its grammars in (`synspec.targets.grammar.DIALECTS`)."""
        ...

    def model_info(self) -> ModelInfo:
        """The model's identity for the manifest and the resume fingerprint; never loads it."""
        ...

    def load(self) -> float:
        """Load the model if it is not loaded; the seconds that loading took (0.0 when it was)."""
        ...

    def prompt_tokens(self, prompt: str) -> int | None:
        """How many tokens the prompt takes on this engine (None when it cannot tell)."""
        ...

    def generate(self, prompt: str, grammars: Sequence[str], sampling: Sampling) -> list[RowText]:
        """One text per grammar (row grammars in `grammar_dialect`, `RowGrammar.text`), in order."""
        ...
