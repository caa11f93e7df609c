"""The Outlines path: `outlines.Generator` with `outlines.types.CFG` (llguidance backend).

Kept as the reference implementation the project brief names, selectable with
`synspec run --engine outlines` and measured against our own loop (`decode.py`) by
`benchmarks/bench_generate.py`. Outlines applies one output type to a whole batch,
so this path cannot give each row its own grammar: stratified seeding is off here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synspec.generate.model import LoadedModel


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
