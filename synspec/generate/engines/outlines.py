"""The `outlines` engine: `outlines.Generator` with `outlines.types.CFG` (llguidance backend).

Kept as the reference implementation the project brief names, selectable with
`synspec run --engine outlines` and measured against our own loop (`local`, `decode.py`)
by `benchmarks/bench_generate.py`. Outlines applies one output type to a whole batch,
so this engine declares `per_row_grammars = False` and the pipeline seeds nothing on it;
rows that do come with different grammars are decoded as one batch per grammar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from synspec.generate.engines.base import ModelInfo, RowText, Sampling
from synspec.generate.model import LazyModel, LoadedModel


@dataclass
class OutlinesDecoder:
    loaded: LoadedModel
    _generators: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import outlines

        self._outlines = outlines
        self.model = outlines.from_transformers(self.loaded.model, self.loaded.tokenizer)

    def encode_prompt(self, prompt: str) -> list[int]:
        """Outlines applies the chat template itself; token ids are not needed on this path."""
        return []

    def generator(self, lark: str) -> Any:
        # Building a Generator preprocesses the tokenizer (~0.3 s): one per distinct grammar.
        if lark not in self._generators:
            self._generators[lark] = self._outlines.Generator(self.model, self._outlines.types.CFG(lark),
                                                              backend="llguidance")
        return self._generators[lark]

    def decode(self, prompt: str, lark: str, batch: int, *, temperature: float, seed: int,
               max_new_tokens: int) -> list[str]:
        import torch

        torch.manual_seed(seed)
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        texts = self.generator(lark).batch([prompt] * batch, max_new_tokens=max_new_tokens, **sampling)
        return [str(t) for t in texts]


class OutlinesEngine:
    """The same weights and lazy loading as `local`, decoded by `outlines.Generator`."""

    per_row_grammars: ClassVar[bool] = False

    def __init__(self, model: str = "default", loaded: LoadedModel | None = None,
                 dtype: str = "auto") -> None:
        self.weights = LazyModel(model, loaded, dtype)
        self._decoder: OutlinesDecoder | None = None

    @property
    def loaded(self) -> bool:
        return self.weights.is_loaded

    def grammar_dialect(self) -> str:
        return "lark"  # llguidance reads Lark

    @property
    def decoder(self) -> OutlinesDecoder:
        if self._decoder is None:
            self._decoder = OutlinesDecoder(self.weights.get())
        return self._decoder

    def model_info(self) -> ModelInfo:
        return self.weights.info()

    def load(self) -> float:
        return self.weights.load()

    def prompt_tokens(self, prompt: str) -> int | None:
        return None  # Outlines applies the chat template itself and does not say how long it is

    def generate(self, prompt: str, grammars: Sequence[str], sampling: Sampling) -> list[RowText]:
        rows_of: dict[str, list[int]] = {}  # one Outlines batch per distinct grammar
        for i, grammar in enumerate(grammars):
            rows_of.setdefault(grammar, []).append(i)
        by_row: dict[int, RowText] = {}
        tokenizer = self.decoder.loaded.tokenizer
        for grammar, rows in rows_of.items():
            out = self.decoder.decode(prompt, grammar, len(rows), temperature=sampling.temperature,
                                      seed=sampling.seed, max_new_tokens=sampling.max_new_tokens)
            for i, text in zip(rows, out, strict=True):
                by_row[i] = RowText(text, len(tokenizer(text)["input_ids"]))
            if sampling.on_row is not None:
                sampling.on_row(len(by_row))
        return [by_row[i] for i in range(len(grammars))]
