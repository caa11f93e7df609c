"""Constrained batched decoding: our own loop over the model's forward with llguidance.

Owns turning (one prompt, one grammar per sequence, a seed) into one text per
sequence. Why a custom loop rather than `outlines.Generator` (kept in
`outlines_backend.py` and measured against this one, see docs/generation.md):
- the shared prompt is encoded ONCE and its KV cache is shared by the whole batch,
  read once per step rather than once per row (`shared_prefix.py`);
- each sequence has its own `llguidance.LLMatcher`, so each row can have its own
  grammar (stratified seeding forces pre-drawn values per row);
- the masks of the whole batch are filled in one parallel llguidance call and
  applied to the logits in one torch op, instead of a Python logits processor
  walking the batch every step;
- finished sequences leave the batch (their KV rows are dropped), so a batch costs
  the longest row, not padding steps for every row;
- under a grammar only the allowed tokens' logits are computed: the output layer
  (576 x 49,152 weights, a fifth of the model's multiply-adds) is applied to the columns
  of the tokens some row of the batch may take, usually a few dozen (digits, separators,
  the forced tokens of drawn values), instead of the whole vocabulary. `full_logits=True`
  keeps the whole vocabulary (needed for `Decoded.log_weight`).
Sampling uses a `torch.Generator` seeded by the caller, so a batch is a pure
function of (prompt, grammars, seed, batch size) on one machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synspec.generate import threads
from synspec.generate.engines.shared_prefix import ATTENTION_NAME, SharedPrefixCache, register
from synspec.generate.model import LoadedModel


@dataclass
class DecodeStats:
    """Where decoding time goes; summed over calls (the benchmark reads these)."""

    forward_s: float = 0.0
    mask_s: float = 0.0
    sample_s: float = 0.0
    prompt_s: float = 0.0
    steps: int = 0
    tokens: int = 0  # tokens sampled over all sequences (the throughput numerator)
    forced: int = 0  # of those, tokens the grammar left no choice for (one allowed token)
    head_columns: int = 0  # output-layer columns computed, summed over steps (vocab x steps when full)
    sequences: int = 0

    def add(self, other: DecodeStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def total_s(self) -> float:
        return self.forward_s + self.mask_s + self.sample_s + self.prompt_s


@dataclass
class Decoded:
    text: str
    complete: bool  # the grammar accepted the text (False: hit the token limit or an error)
    tokens: int
    error: str = ""
    # log p(text) - log q(text): the sum over steps of the log of the probability mass the
    # grammar allowed. q is masked sampling (the model renormalised over allowed tokens), p
    # the model's own distribution; exp(log_weight) is the importance weight that turns
    # masked samples into samples of the model conditioned on the grammar (`resample.py`).
    log_weight: float = 0.0


@dataclass
class Decoder:
    """Decodes batches for one loaded model; the llguidance tokenizer is built once (~1 s)."""

    loaded: LoadedModel
    stats: DecodeStats = field(default_factory=DecodeStats)
    # False: copy the prompt's KV into every row of a static cache (the previous design,
    # kept so the benchmark can measure one against the other; see docs/benchmarks.md).
    shared_prefix: bool = True
    # True: logits over the whole vocabulary at every step, so `Decoded.log_weight` is the
    # real log mass the grammar allowed (importance resampling). False: under a grammar only
    # the allowed tokens' logits, and log_weight stays 0.
    full_logits: bool = False

    def __post_init__(self) -> None:
        import llguidance
        import llguidance.hf

        tok = self.loaded.tokenizer
        self._llg = llguidance
        self.lltok = llguidance.hf.from_tokenizer(tok)
        self.executor = llguidance.LLExecutor()
        self.eos = tok.eos_token_id
        self.head = self.loaded.model.get_output_embeddings()
        self.vocab = int(self.head.weight.shape[0])
        self._prompt_cache: dict[tuple[int, ...], tuple[Any, Any]] = {}

    # ---- prompts ------------------------------------------------------------------
    def encode_prompt(self, prompt: str) -> list[int]:
        """The chat-templated prompt as token ids (the model is instruction-tuned)."""
        tok = self.loaded.tokenizer
        messages = [{"role": "user", "content": prompt}]
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            if hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return [int(i) for i in ids]
        return [int(i) for i in tok(prompt)["input_ids"]]

    def _prefill(self, prompt_ids: list[int]) -> tuple[Any, Any]:
        """KV cache and last logits of the prompt, computed once per distinct prompt."""
        import torch

        key = tuple(prompt_ids)
        if key not in self._prompt_cache:
            start = time.perf_counter()
            ids = torch.tensor([prompt_ids], device=self.loaded.device)
            with torch.inference_mode():
                out = self.loaded.model(input_ids=ids, use_cache=True)
            self._prompt_cache = {key: (out.past_key_values, out.logits[:, -1, :].float())}
            self.stats.prompt_s += time.perf_counter() - start
        return self._prompt_cache[key]

    def matcher(self, lark: str) -> Any:
        """A fresh matcher for a Lark grammar; a grammar llguidance rejects raises ValueError."""
        grammar = self._llg.LLMatcher.grammar_from_lark(lark)
        matcher = self._llg.LLMatcher(self.lltok, grammar, log_level=0)
        if matcher.is_error():
            raise ValueError(f"llguidance rejected the row grammar: {matcher.get_error()}")
        return matcher

    # ---- the loop -----------------------------------------------------------------
    def decode(self, prompt_ids: list[int], grammars: list[str] | None, *, batch: int | None = None,
               temperature: float = 1.0, seed: int = 0, max_new_tokens: int = 128,
               on_row: Callable[[int], None] | None = None) -> list[Decoded]:
        """One text per grammar (or `batch` unconstrained texts when grammars is None);
        `on_row(k)` is called each time the count k of finished rows grows (wide rows take
        hundreds of steps: this is what lets a caller show progress before the batch ends)."""
        import llguidance.torch as llt
        import torch

        n = len(grammars) if grammars is not None else int(batch or 1)
        matchers = [self.matcher(g) for g in grammars] if grammars is not None else None
        cache0, logits0 = self._prefill(prompt_ids)
        if self.shared_prefix:
            cache = SharedPrefixCache(cache0, n, max_new_tokens)
        else:
            cache = _batch_cache(self.loaded.model, cache0, n, len(prompt_ids) + max_new_tokens + 1)
        logits = logits0.expand(n, -1).clone()
        hidden = None  # the last hidden states, when the logits were not computed (sparse head)
        gen = torch.Generator(device="cpu").manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
        bitmask = llt.allocate_token_bitmask(n, self.vocab)
        outputs: list[list[int]] = [[] for _ in range(n)]
        log_weight = [0.0] * n
        done = [False] * n
        finished = 0
        complete = [False] * n
        active = list(range(n))  # sequence index of each row still in the batch
        model = self.loaded.model
        device = self.loaded.device
        sparse = matchers is not None and not self.full_logits and _plain_output_layer(model)
        stats = self.stats
        stats.sequences += n
        with _attention_implementation(model, ATTENTION_NAME if self.shared_prefix else None):
            for _step in range(max_new_tokens):
                t0 = time.perf_counter()
                if matchers is not None:
                    rows = bitmask[: len(active)]
                    live = [(matchers[s], r) for r, s in enumerate(active) if not done[s]]
                    llt.fill_next_token_bitmask_par(self.executor, live, rows)
                    allowed = _unpack(rows.numpy(), self.vocab)
                else:
                    allowed = None
                t1 = time.perf_counter()
                if hidden is not None and allowed is not None:
                    picked, forced, columns = _sample_sparse(hidden, self.head.weight, allowed, temperature,
                                                             gen, self.eos)
                    log_mass = np.zeros(len(allowed))
                    stats.head_columns += columns
                else:
                    picked, log_mass = _sample(logits, allowed, temperature, gen, self.eos)
                    forced = 0 if allowed is None else int(np.count_nonzero(allowed.sum(axis=1) == 1))
                    stats.head_columns += self.vocab
                stats.forced += forced
                t2 = time.perf_counter()
                keep: list[int] = []
                sampled = sum(not done[s] for s in active)
                for r, s in enumerate(active):
                    if done[s]:  # finished, kept in the batch until enough rows finish to shrink it
                        continue
                    token = int(picked[r])
                    log_weight[s] += float(log_mass[r])
                    if matchers is not None:
                        m = matchers[s]
                        if not m.consume_token(token):
                            done[s] = True
                            continue
                        if token == self.eos or m.is_stopped():
                            done[s] = True
                            complete[s] = m.is_accepting() and not m.is_error()
                            if token != self.eos:
                                outputs[s].append(token)
                            continue
                    elif token == self.eos:
                        done[s] = True
                        complete[s] = True
                        continue
                    outputs[s].append(token)
                    keep.append(r)
                stats.steps += 1
                stats.tokens += sampled
                now_done = sampled - len(keep)
                if now_done and on_row is not None:
                    finished += now_done
                    on_row(finished)
                t3 = time.perf_counter()
                stats.mask_s += (t1 - t0) + (t3 - t2)
                stats.sample_s += t2 - t1
                if not keep:
                    active = []
                    break
                if len(keep) <= 0.75 * len(active):
                    # Dropping finished rows copies the cache once; worth it when a quarter is done.
                    index = torch.tensor(keep, device=self.loaded.device)
                    if isinstance(cache, SharedPrefixCache):
                        cache.keep_rows(index)
                    else:
                        _select_rows(cache, index)
                    picked = picked[keep]
                    active = [active[r] for r in keep]
                step_ids = picked.view(-1, 1).to(device)
                with torch.inference_mode():
                    # Positions come from the cache's own length (its get_seq_length).
                    if sparse:
                        out = model.base_model(input_ids=step_ids, cache=cache, use_cache=True)
                        hidden = out.last_hidden_state[:, -1, :]
                    else:
                        out = model(input_ids=step_ids, cache=cache, use_cache=True)
                        logits = out.logits[:, -1, :].float()
                stats.forward_s += time.perf_counter() - t3
                threads.tick()  # a neighbour that arrived takes us down to the free cores
        if on_row is not None and finished < n:
            on_row(n)  # rows cut off at max_new_tokens end here too
        results = []
        decode = self.loaded.tokenizer.decode
        for s in range(n):
            text = decode(outputs[s], skip_special_tokens=True)
            error = ""
            if matchers is not None and matchers[s].is_error():
                error = matchers[s].get_error()
            results.append(Decoded(text, complete[s], len(outputs[s]), error, log_weight[s]))
        return results


_DECODERS: dict[int, Decoder] = {}


def decoder_for(loaded: LoadedModel) -> Decoder:
    """One Decoder per loaded model in a process (building llguidance's tokenizer costs ~1 s)."""
    key = id(loaded.model)
    if key not in _DECODERS:
        _DECODERS[key] = Decoder(loaded)
    return _DECODERS[key]


@contextmanager
def _attention_implementation(model: Any, name: str | None) -> Iterator[None]:
    """Run the decoding steps with another attention function, then restore the model's.

    Only the steps switch: the prompt's prefill (and the Outlines backend, which pads
    batches and needs masks) keep the model's own attention.
    """
    if name is None:
        yield
        return
    register()
    config = model.config
    original = config._attn_implementation
    config._attn_implementation = name
    try:
        yield
    finally:
        config._attn_implementation = original


def _batch_cache(model: Any, prompt_cache: Any, n: int, max_len: int) -> Any:
    """A preallocated (static) cache for n rows, starting with the shared prompt's keys/values.

    A DynamicCache grows by torch.cat, copying the whole cache (prompt included, once per
    row) at every step: ~0.7 GB per step at batch 32 with a 450-token prompt, which made
    a step cost 2-3x the forward itself. A static cache writes one position in place.
    """
    from transformers import StaticCache

    cache = StaticCache(config=model.config, max_cache_len=max_len)
    # Static (destination) and dynamic (source) attention layers; transformers types them as
    # the union of every cache layer kind, including ones without keys and values.
    layer: Any
    source: Any
    for layer, source in zip(cache.layers, prompt_cache.layers, strict=True):
        keys = source.keys.expand(n, -1, -1, -1)
        values = source.values.expand(n, -1, -1, -1)
        layer.lazy_initialization(keys, values)
        length = keys.shape[2]
        layer.keys[:, :, :length].copy_(keys)
        layer.values[:, :, :length].copy_(values)
        # A static layer writes each new token at `cumulative_length` (transformers 5.x
        # takes no cache_position): without this the first generated tokens would
        # overwrite the prompt's keys and values (tests/test_generate_units.py
        # checks greedy decoding against transformers' own generate).
        layer.cumulative_length.fill_(length)
    return cache


def _select_rows(cache: Any, index: Any) -> None:
    """Keep only the given batch rows of a static cache (finished rows leave the batch)."""
    for layer in cache.layers:
        layer.keys = layer.keys.index_select(0, index)
        layer.values = layer.values.index_select(0, index)


def _unpack(bitmask: np.ndarray, vocab: int) -> np.ndarray:
    """llguidance's int32 bitmask (bit i of word j = token 32*j+i) -> a bool matrix."""
    bits = np.unpackbits(np.ascontiguousarray(bitmask).view(np.uint8), axis=1, bitorder="little")
    return bits[:, :vocab].astype(bool)


def _sample(logits: Any, allowed: np.ndarray | None, temperature: float, gen: Any,
            eos: int) -> tuple[Any, np.ndarray]:
    """One token per row by the Gumbel-max trick: argmax(logits / T + Gumbel noise), and per
    row the log of the probability mass (at temperature T) that the grammar allowed.

    Exact sampling from softmax(logits / T), but 3x cheaper than softmax + multinomial
    over a 49k vocabulary on the CPU. Under a grammar few tokens are allowed at most
    steps, so the noise is drawn for the allowed (row, token) pairs only and the mask
    is never materialised on the logits.
    """
    import torch

    logits = logits.cpu()
    n = logits.shape[0]
    if allowed is None:
        if temperature <= 0:
            return torch.argmax(logits, dim=-1), np.zeros(n)
        noise = torch.rand(logits.shape, generator=gen).clamp_(min=1e-20)
        return torch.argmax(logits / temperature - torch.log(-torch.log(noise)), dim=-1), np.zeros(n)
    rows, cols = np.nonzero(allowed)
    if len(rows) == 0:  # a row with nothing allowed stops
        return torch.full((n,), eos, dtype=torch.long), np.zeros(n)
    keys = logits[torch.from_numpy(rows), torch.from_numpy(cols)]
    log_mass = _allowed_log_mass(logits, rows, keys, temperature)
    return _pick(keys, rows, cols, n, temperature, gen, eos), log_mass


def _plain_output_layer(model: Any) -> bool:
    """Whether the logits are the output layer applied to the base model's last hidden state
    and nothing more (no soft-capping or scaling), so they can be computed for a few tokens."""
    config = model.config
    return (getattr(config, "final_logit_softcapping", None) is None
            and getattr(config, "logit_scale", None) is None
            and getattr(model, "base_model", None) is not model
            and getattr(model.get_output_embeddings(), "bias", None) is None)


def _sample_sparse(hidden: Any, weight: Any, allowed: np.ndarray, temperature: float, gen: Any,
                   eos: int) -> tuple[Any, int, int]:
    """`_sample` from the last hidden states, computing only the logits of tokens some row
    may take: (picked tokens, rows with one allowed token, output-layer columns computed).

    The same draw as `_sample` on the full logits (the same noise, drawn for the allowed
    (row, token) pairs in the same order); the logits agree to float rounding. A token
    allowed in any row is computed for every row: one matrix product over the union.
    """
    import torch

    rows, cols = np.nonzero(allowed)
    n = allowed.shape[0]
    counts = np.bincount(rows, minlength=n)
    forced = int(np.count_nonzero(counts == 1))
    if len(rows) == 0:
        return torch.full((n,), eos, dtype=torch.long), forced, 0
    union, where = np.unique(cols, return_inverse=True)
    with torch.inference_mode():
        index = torch.from_numpy(union).to(weight.device)
        part = (hidden @ weight[index].T).cpu()  # [n, |union|], on the model's device
        keys = part[torch.from_numpy(rows), torch.from_numpy(where)].float()
    return _pick(keys, rows, cols, n, temperature, gen, eos), forced, len(union)


def _pick(keys: Any, rows: np.ndarray, cols: np.ndarray, n: int, temperature: float, gen: Any,
          eos: int) -> Any:
    """The Gumbel-max choice among allowed (row, token) pairs, given their logits `keys`."""
    import torch

    picked = torch.full((n,), eos, dtype=torch.long)
    if temperature > 0:
        noise = torch.rand(len(rows), generator=gen).clamp_(min=1e-20)
        keys = keys / temperature - torch.log(-torch.log(noise))
    # Best key per row: sort by (row, -key) and take the first entry of each row.
    order = np.lexsort((-keys.numpy(), rows))
    first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
    picked[torch.from_numpy(rows[first])] = torch.from_numpy(cols[first]).long()
    return picked


def _allowed_log_mass(logits: Any, rows: np.ndarray, allowed_logits: Any, temperature: float) -> np.ndarray:
    """log sum over allowed tokens of softmax(logits / T), per row (0 where all is allowed;
    greedy decoding, T = 0, has no distribution to weigh and gets 0)."""
    import torch

    n = logits.shape[0]
    if temperature <= 0:
        return np.zeros(n)
    scaled = logits / temperature
    full = torch.logsumexp(scaled, dim=-1)
    index = torch.from_numpy(rows)
    keys = allowed_logits / temperature
    top = torch.full((n,), -torch.inf).scatter_reduce(0, index, keys, reduce="amax")
    sums = torch.zeros(n).scatter_add(0, index, torch.exp(keys - top[index]))
    allowed = torch.where(sums > 0, top + torch.log(sums), torch.zeros(n))
    return (allowed - full).clamp(max=0.0).numpy().astype(float)
