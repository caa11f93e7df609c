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
- a token the grammar forces (one allowed token) is taken without a draw and fed in the
  same forward pass as the token before it (`packed.py`): ~11 passes per diabetes batch
  instead of ~31, the same multiply-adds (`_decode_packed`);
- finished sequences leave the batch (their KV rows are dropped), so a batch costs
  the longest row, not padding steps for every row;
- a batch of 128 is decoded as two shards of 64 on two worker threads, each computing with
  its own core, instead of one batch on two OpenMP threads that meet at a barrier after
  every parallel region (`shards.py`): faster idle, and a busy core only slows its worker;
- under a grammar only the allowed tokens' logits are computed: the output layer
  (576 x 49,152 weights, a fifth of the model's multiply-adds) is applied to the columns
  of the tokens some row of the batch may take, usually a few dozen (digits, separators,
  the forced tokens of drawn values), instead of the whole vocabulary. `full_logits=True`
  keeps the whole vocabulary (needed for `Decoded.log_weight`).
Sampling uses a `torch.Generator` per shard seeded from the caller's seed, so a batch is a
pure function of (prompt, grammars, seed, batch size) on one machine, whatever the threads.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synspec.generate import prompt_cache, threads
from synspec.generate.engines import packed, shards, shared_prefix
from synspec.generate.engines.shared_prefix import ATTENTION_NAME, SharedPrefixCache
from synspec.generate.model import LoadedModel
from synspec.generate.prompt_cache import LayerKV, Prefill


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
    # True: under a grammar, a row's forced tokens are fed in the same pass as the token
    # before them (`packed.py`), where the model supports it. False: one token per row per
    # pass (kept so the benchmark can measure one against the other).
    pack_forced_runs: bool = True
    # True: a prompt's prefill is saved on disk and loaded by later runs (`prompt_cache.py`).
    prompt_on_disk: bool = True
    # A batch is decoded as shards of at most this many rows (None: `shards.rows_for` the
    # device, 64 on the CPU), on worker threads (`shards.py`).
    shard_rows: int | None = None

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
        self._prompt_cache: dict[tuple[int, ...], Prefill] = {}

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

    def _prefill(self, prompt_ids: list[int]) -> Prefill:
        """The prompt's KV cache, last logits and (for a plain output layer, else None) last
        hidden state: computed once per distinct prompt, or loaded when an earlier run saved
        it (`prompt_cache.py`; the same bits either way)."""
        key = tuple(prompt_ids)
        if key not in self._prompt_cache:
            start = time.perf_counter()
            disk_key = self._prefill_key(prompt_ids)
            prefill = prompt_cache.load(disk_key, self.loaded.device) if disk_key else None
            if prefill is None:
                prefill = self._compute_prefill(prompt_ids)
                if disk_key:
                    prompt_cache.store(disk_key, prefill)
            self._prompt_cache = {key: prefill}
            self.stats.prompt_s += time.perf_counter() - start
        return self._prompt_cache[key]

    def _compute_prefill(self, prompt_ids: list[int]) -> Prefill:
        import torch

        ids = torch.tensor([prompt_ids], device=self.loaded.device)
        model = self.loaded.model
        with torch.inference_mode():
            if _plain_output_layer(model):
                out = model.base_model(input_ids=ids, use_cache=True)
                hidden = out.last_hidden_state[:, -1, :]
                logits = self.head(hidden).float()
            else:
                out = model(input_ids=ids, use_cache=True)
                hidden, logits = None, out.logits[:, -1, :].float()
        layers = [LayerKV(layer.keys, layer.values) for layer in _cache_of(out).layers]
        return Prefill(layers, logits, hidden)

    def _prefill_key(self, prompt_ids: list[int]) -> str | None:
        """The key of this prompt's prefill on disk; None when the disk cache is off."""
        if not self.prompt_on_disk:
            return None
        from synspec.generate.model import weights_hash

        loaded = self.loaded
        return prompt_cache.cache_key(weights_hash(loaded.location), loaded.dtype, loaded.device, prompt_ids)

    def matcher(self, lark: str) -> Any:
        """A fresh matcher for a Lark grammar; a grammar llguidance rejects raises ValueError."""
        grammar = self._llg.LLMatcher.grammar_from_lark(lark)
        matcher = self._llg.LLMatcher(self.lltok, grammar, log_level=0)
        if matcher.is_error():
            raise ValueError(f"llguidance rejected the row grammar: {matcher.get_error()}")
        return matcher

    # ---- a batch: shards on workers ---------------------------------------------------
    def decode(self, prompt_ids: list[int], grammars: list[str] | None, *, batch: int | None = None,
               temperature: float = 1.0, seed: int = 0, max_new_tokens: int = 128,
               on_row: Callable[[int], None] | None = None,
               workers: threads.Workers | None = None) -> list[Decoded]:
        """One text per grammar (or `batch` unconstrained texts when grammars is None);
        `on_row(k)` is called each time the count k of finished rows grows (wide rows take
        hundreds of steps: this is what lets a caller show progress before the batch ends).

        The batch is decoded as shards of at most `shard_rows` rows, shard k sampling with
        `shards.shard_seed(seed, k)`, by `workers` (default `threads.workers_for`): the texts
        do not depend on the workers (`shards.py`)."""
        n = len(grammars) if grammars is not None else int(batch or 1)
        prompt = self._prefill(prompt_ids)  # once, before any worker reads it
        packs = grammars is not None and self._packs()
        parts = shards.split(n, seed, self.shard_rows or shards.rows_for(self.loaded.device))
        if workers is None:
            workers = threads.workers_for(len(parts))

        def decode_shard(shard: shards.Shard, context: shards.ShardContext) -> _ShardRows:
            mine = None if grammars is None else grammars[shard.start:shard.stop]
            matchers = None if mine is None else [self.matcher(g) for g in mine]
            if matchers is not None and packs:
                rows = self._decode_packed(prompt, matchers, temperature=temperature, seed=shard.seed,
                                           max_new_tokens=max_new_tokens, context=context)
            else:
                rows = self._decode_steps(prompt, matchers, shard.size, temperature=temperature,
                                          seed=shard.seed, max_new_tokens=max_new_tokens, context=context)
            context.progress(shard.size)  # rows cut off at max_new_tokens end here too
            return rows

        model = self.loaded.model
        attention: str | None
        if packs:
            attention, register = packed.PACKED_ATTENTION, packed.register
        else:
            attention, register = (ATTENTION_NAME if self.shared_prefix else None), shared_prefix.register
        with _attention_implementation(model, attention, register), _load_watched_per_layer(model):
            done = shards.run(parts, decode_shard, workers, on_row)
        decoded = []
        for rows in done:
            self.stats.add(rows.stats)
            decoded += self._results(rows)
        return decoded

    def _results(self, rows: _ShardRows) -> list[Decoded]:
        """The texts, on the calling thread (a fast tokenizer is not shared across threads)."""
        decode = self.loaded.tokenizer.decode
        return [Decoded(decode(tokens, skip_special_tokens=True), complete, len(tokens), error, weight)
                for tokens, complete, error, weight
                in zip(rows.outputs, rows.complete, rows.errors, rows.log_weight, strict=True)]

    # ---- the one-token loop: one token per row per pass ----------------------------------
    def _decode_steps(self, prompt: Prefill, matchers: list[Any] | None, n: int, *, temperature: float,
                      seed: int, max_new_tokens: int, context: shards.ShardContext) -> _ShardRows:
        """One shard, one token per row per forward pass: unconstrained rows, and constrained
        rows where the packed loop does not apply (`_packs`)."""
        import llguidance.torch as llt
        import torch

        if self.shared_prefix:
            cache = SharedPrefixCache(prompt, n, max_new_tokens)
        else:
            prompt_length = int(prompt.layers[0].keys.shape[2])
            cache = _batch_cache(self.loaded.model, prompt, n, prompt_length + max_new_tokens + 1)
        logits = prompt.logits.expand(n, -1).clone()
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
        stats = DecodeStats(sequences=n)
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
            if now_done:
                finished += now_done
                context.progress(finished)
            t3 = time.perf_counter()
            stats.mask_s += (t1 - t0) + (t3 - t2)
            stats.sample_s += t2 - t1
            if not keep:
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
            context.checkpoint()
        return _ShardRows.of(outputs, complete, matchers, stats, log_weight)

    # ---- the packed loop: forced runs fed in one pass -----------------------------------
    def _packs(self) -> bool:
        """Whether constrained batches take the packed loop (`packed.py`): it samples from
        the last hidden states, so it needs the shared-prefix design, a plain output layer
        and no full-vocabulary logits (forced tokens get no distribution of their own)."""
        model = self.loaded.model
        return (self.pack_forced_runs and self.shared_prefix and not self.full_logits
                and _plain_output_layer(model) and packed.supports(model))

    def _decode_packed(self, prompt: Prefill, matchers: list[Any], *, temperature: float, seed: int,
                       max_new_tokens: int, context: shards.ShardContext) -> _ShardRows:
        """One shard under per-row grammars, feeding each row's forced tokens in one pass.

        A round: one packed pass over every live row's pending tokens (the token it sampled
        and the forced run after it), one draw per live row among the tokens its grammar
        allows, then the forced runs those draws lead to (`_take_forced`). A token the
        grammar forces has probability 1 under masked sampling, so skipping its draw leaves
        the distribution of rows unchanged; the noise of the other draws is consumed in a
        different order, so a seed gives other rows than the one-token loop.
        """
        import llguidance.torch as llt
        import torch

        n = len(matchers)
        assert prompt.hidden is not None  # `_packs` asked for a plain output layer
        cache = packed.PackedCache(prompt, n, max_new_tokens + 1)
        hidden = prompt.hidden.expand(n, -1).clone()
        gen = torch.Generator(device="cpu").manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
        run = _PackedRun(matchers, llt.allocate_token_bitmask(n, self.vocab), max_new_tokens)
        stats = DecodeStats(sequences=n)
        start = time.perf_counter()
        self._take_forced(run, run.live(), stats)
        stats.mask_s += time.perf_counter() - start
        while live := run.live():
            t0 = time.perf_counter()
            fed = [r for r in live if run.pending[r]]
            if fed:
                hidden[fed] = self._packed_pass(cache, run, fed)
                stats.steps += 1
                threads.tick()  # a neighbour that arrived takes us down to the free cores
                context.checkpoint()
            run.pending = [[] for _ in run.active]
            t1 = time.perf_counter()
            allowed = _unpack(run.bitmask[live].numpy(), self.vocab)
            picked, _, columns = _sample_sparse(hidden[live], self.head.weight, allowed, temperature,
                                                gen, self.eos)
            stats.head_columns += columns
            t2 = time.perf_counter()
            for r, token in zip(live, picked.tolist(), strict=True):
                run.take(r, int(token), self.eos)
            stats.tokens += len(live)
            self._take_forced(run, [r for r in live if not run.done[run.active[r]]], stats)
            if run.finished_grew():
                context.progress(run.finished)
            if run.should_compact():
                index = torch.tensor(run.compact(), dtype=torch.long)
                cache.keep_rows(index)
                hidden = hidden.index_select(0, index)
            t3 = time.perf_counter()
            stats.forward_s += t1 - t0
            stats.sample_s += t2 - t1
            stats.mask_s += t3 - t2
        return _ShardRows.of(run.outputs, run.complete, matchers, stats)

    def _packed_pass(self, cache: packed.PackedCache, run: _PackedRun, fed: list[int]) -> Any:
        """One forward over the pending tokens of rows `fed`: their last hidden states."""
        import torch

        counts = [len(tokens) for tokens in run.pending]
        plan = cache.plan_step(counts)
        ids = torch.tensor([[t for tokens in run.pending for t in tokens]], device=self.loaded.device)
        positions = (plan.positions + cache.prefix_length).view(1, -1).to(self.loaded.device)
        with torch.inference_mode():
            out = self.loaded.model.base_model(input_ids=ids, position_ids=positions, cache=cache,
                                               attention_mask=_no_mask(), use_cache=True)
        cache.finish_step()
        last = torch.tensor(counts).cumsum(0)[fed] - 1  # each fed row's last token in the pass
        return out.last_hidden_state[0].index_select(0, last.to(self.loaded.device))

    def _take_forced(self, run: _PackedRun, rows: list[int], stats: DecodeStats) -> None:
        """Masks for `rows`; while a row's grammar allows exactly one token, take it."""
        import llguidance.torch as llt

        todo = rows
        while todo:
            llt.fill_next_token_bitmask_par(self.executor, [(run.matcher(r), r) for r in todo], run.bitmask)
            still = []
            for r, token in zip(todo, _only_allowed(run.bitmask[todo].numpy()).tolist(), strict=True):
                if token < 0:
                    if token == _NOTHING_ALLOWED:  # the row stops here, unfinished
                        run.finish(r, False)
                    continue  # a choice: its mask waits for the next draw
                stats.tokens += 1
                stats.forced += 1
                if run.take(r, token, self.eos):
                    still.append(r)
            todo = still


@dataclass
class _ShardRows:
    """What decoding one shard gives, per row: its tokens and how it ended."""

    outputs: list[list[int]]
    complete: list[bool]
    errors: list[str]  # the grammar's error, "" where none
    log_weight: list[float]
    stats: DecodeStats

    @classmethod
    def of(cls, outputs: list[list[int]], complete: list[bool], matchers: list[Any] | None,
           stats: DecodeStats, log_weight: list[float] | None = None) -> _ShardRows:
        errors = ([m.get_error() if m.is_error() else "" for m in matchers] if matchers is not None
                  else [""] * len(outputs))
        return cls(outputs, complete, errors, log_weight or [0.0] * len(outputs), stats)


class _PackedRun:
    """The per-row state of a packed batch: grammar, tokens so far, tokens to feed next.

    Batch rows (r) index `active`, which maps them to sequences (s): finished rows leave the
    batch when a quarter of it is done (`compact`), as in the one-token loop.
    """

    def __init__(self, matchers: list[Any], bitmask: Any, max_new_tokens: int) -> None:
        n = len(matchers)
        self.matchers = matchers
        self.bitmask = bitmask  # one row per batch row: the latest mask of that row's grammar
        self.max_new_tokens = max_new_tokens
        self.active = list(range(n))
        self.pending: list[list[int]] = [[] for _ in range(n)]
        self.outputs: list[list[int]] = [[] for _ in range(n)]
        self.done = [False] * n
        self.complete = [False] * n
        self.finished = 0
        self._reported = 0

    def matcher(self, r: int) -> Any:
        return self.matchers[self.active[r]]

    def live(self) -> list[int]:
        return [r for r, s in enumerate(self.active) if not self.done[s]]

    def finish(self, r: int, complete: bool) -> None:
        s = self.active[r]
        self.done[s] = True
        self.complete[s] = complete
        self.finished += 1

    def take(self, r: int, token: int, eos: int) -> bool:
        """Row r takes `token`; False when that ends the row (grammar stopped, refused, EOS or
        the token limit), True when it goes on."""
        matcher = self.matcher(r)
        if not matcher.consume_token(token):
            self.finish(r, False)
            return False
        if token == eos or matcher.is_stopped():
            if token != eos:
                self.outputs[self.active[r]].append(token)
            self.finish(r, matcher.is_accepting() and not matcher.is_error())
            return False
        self.outputs[self.active[r]].append(token)
        self.pending[r].append(token)
        if len(self.outputs[self.active[r]]) >= self.max_new_tokens:
            self.finish(r, False)  # cut off, like the one-token loop after max_new_tokens steps
            return False
        return True

    def finished_grew(self) -> bool:
        grew = self.finished > self._reported
        self._reported = self.finished
        return grew

    def should_compact(self) -> bool:
        # Dropping finished rows copies the cache once; worth it when a quarter is done.
        live = len(self.live())
        return 0 < live <= 0.75 * len(self.active)

    def compact(self) -> list[int]:
        """Drop finished rows; the batch rows kept, in order (their masks move up too)."""
        keep = self.live()
        self.bitmask[: len(keep)] = self.bitmask[keep].clone()
        self.active = [self.active[r] for r in keep]
        self.pending = [self.pending[r] for r in keep]
        return keep


_DECODERS: dict[int, Decoder] = {}


def decoder_for(loaded: LoadedModel) -> Decoder:
    """One Decoder per loaded model in a process (building llguidance's tokenizer costs ~1 s)."""
    key = id(loaded.model)
    if key not in _DECODERS:
        _DECODERS[key] = Decoder(loaded)
    return _DECODERS[key]


@contextmanager
def _load_watched_per_layer(model: Any) -> Iterator[None]:
    """Let the load watch act before every decoder layer, not only between passes.

    A packed pass of 128 rows takes ~0.7 s on two free cores, but several seconds when a
    neighbour arrives and one of the two threads keeps losing its core: checking only
    between passes found such a neighbour 6 s late. `threads.tick` returns at once unless
    its interval has passed, so a check per layer costs nothing measurable.
    """
    layers = getattr(getattr(model, "base_model", None), "layers", None)
    if not threads.watching() or layers is None:
        yield
        return
    handles = [layer.register_forward_pre_hook(lambda *_: threads.tick()) for layer in layers]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _attention_implementation(model: Any, name: str | None,
                              register: Callable[[], None] = shared_prefix.register) -> Iterator[None]:
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


@functools.cache
def _no_mask() -> Any:
    """An empty 4-D attention mask: transformers passes a 4-D mask through untouched, so no
    causal mask is built for a packed pass (`packed_attention` builds its own)."""
    import torch

    return torch.zeros((1, 1, 0, 0), dtype=torch.bool)


def _cache_of(out: Any) -> Any:
    """The KV cache of a forward's output (base models name it `cache`, LM heads
    `past_key_values` in transformers 5)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


_NOTHING_ALLOWED, _A_CHOICE = -1, -2


def _only_allowed(bitmask: np.ndarray) -> np.ndarray:
    """Per row of llguidance's int32 bitmask: the one allowed token, `_NOTHING_ALLOWED`, or
    `_A_CHOICE` (two or more). One token means one nonzero word holding a power of two.

    >>> mask = np.zeros((3, 2), dtype=np.int32)
    >>> mask[0, 1] = 1 << 3; mask[2, 0] = 0b101
    >>> _only_allowed(mask).tolist()
    [35, -1, -2]
    """
    words = np.ascontiguousarray(bitmask).view(np.uint32)
    nonzero = words != 0
    first = nonzero.argmax(axis=1)
    word = words[np.arange(len(words)), first]
    single = (nonzero.sum(axis=1) == 1) & ((word & (word - np.uint32(1))) == 0)
    bit = np.log2(np.where(single, word, 1)).astype(np.int64)  # exact for powers of two
    return np.where(single, 32 * first + bit, np.where(nonzero.any(axis=1), _A_CHOICE, _NOTHING_ALLOWED))


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
