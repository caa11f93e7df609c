"""The `local` engine (alias `llguidance`): synspec's own batched decoding loop, in process.

One llguidance matcher per row, so every row can have its own grammar; the loop itself
lives in `decode.py` and the batch's shared prompt cache in `shared_prefix.py`. The
weights are found at construction (a bad `--model` fails before anything is written) and
loaded on the first `generate` or `load` (`model.load_cached`: once per process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from synspec.generate import threads
from synspec.generate.engines import shards
from synspec.generate.engines.base import ModelInfo, RowText, Sampling
from synspec.generate.model import LazyModel, LoadedModel
from synspec.generate.threads import Workers

if TYPE_CHECKING:
    from synspec.generate.engines.decode import Decoder


class LocalEngine:
    per_row_grammars: ClassVar[bool] = True

    def __init__(self, model: str = "default", loaded: LoadedModel | None = None,
                 dtype: str = "auto") -> None:
        self.weights = LazyModel(model, loaded, dtype)
        self._decoder: Decoder | None = None
        self._prompt_ids: dict[str, list[int]] = {}

    @property
    def loaded(self) -> bool:
        return self.weights.is_loaded

    def grammar_dialect(self) -> str:
        return "lark"  # llguidance reads Lark

    @property
    def decoder(self) -> Decoder:
        """The loop of the loaded model (loads the weights first); one per model in a process."""
        if self._decoder is None:
            from synspec.generate.engines.decode import decoder_for

            self._decoder = decoder_for(self.weights.get())
        return self._decoder

    def model_info(self) -> ModelInfo:
        return self.weights.info()

    def load(self) -> float:
        return self.weights.load()

    def workers(self, rows: int) -> Workers:
        """The worker threads a batch of `rows` rows is decoded by (its shards: `shards.py`)."""
        return threads.workers_for(len(shards.split(rows, 0, shards.rows_for(self.model_info().device))))

    def prompt_ids(self, prompt: str) -> list[int]:
        """The chat-templated prompt's token ids, encoded once per prompt."""
        if prompt not in self._prompt_ids:
            self._prompt_ids[prompt] = self.decoder.encode_prompt(prompt)
        return self._prompt_ids[prompt]

    def prompt_tokens(self, prompt: str) -> int | None:
        return len(self.prompt_ids(prompt))

    def generate(self, prompt: str, grammars: Sequence[str], sampling: Sampling) -> list[RowText]:
        results = self.decoder.decode(self.prompt_ids(prompt), list(grammars),
                                      temperature=sampling.temperature, seed=sampling.seed,
                                      max_new_tokens=sampling.max_new_tokens, on_row=sampling.on_row)
        return [RowText(r.text if r.complete else None, r.tokens) for r in results]
