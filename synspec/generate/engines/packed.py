"""Many rows' new tokens as one packed sequence: the cache and attention of forced runs.

Owns the KV cache and the attention function of `decode.Decoder`'s packed loop, where one
forward pass feeds each row a different number of tokens: the token it sampled plus the
tokens its grammar then forces (a drawn level, a separator, the places of a decimal). Under
stratified seeding most of a row is forced (70% of the diabetes row's tokens), and feeding
a forced run in the same pass as the token before it turns ~31 passes per batch into ~11.
The multiply-adds are the same; what is saved is each pass's fixed cost (hundreds of small
element-wise ops and thread wake-ups, masks and sampling), and the linear layers run on
more rows at once.

The tokens of a pass are packed into one sequence, [1, N], so transformers' own layers
(embeddings, norms, rotary positions from `position_ids`, MLPs) run on them unchanged;
`PackedCache.update` writes each token's key and value at its own row and position and
`packed_attention` lets each token see:
- the shared prompt (one copy for the whole batch, as in `shared_prefix.py`), through
  torch's fused CPU attention kernel, which also returns each query's log-sum-exp;
- its own row's earlier tokens and the tokens before it in this pass (causal), in a small
  padded [rows, tokens this pass] layout;
and merges the two parts by their log-sum-exps: ordinary attention over [prompt; row]
to float rounding. Every reduction runs along a row's own keys, so the result does not
depend on the thread count or on the other rows of the pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PACKED_ATTENTION = "synspec_packed"
# Model families whose decoder layers are exactly: q/k/v projections, rotary positions from
# `position_ids`, `cache.update`, the registered attention function, o_proj. Others decode one
# token per pass with `shared_prefix.py`.
SUPPORTED_MODEL_TYPES = frozenset({"llama"})


def supports(model: Any) -> bool:
    """Whether `model` can run the packed forward (a plain causal llama-family decoder)."""
    config = model.config
    return (getattr(config, "model_type", None) in SUPPORTED_MODEL_TYPES
            and getattr(config, "sliding_window", None) is None
            and getattr(config, "is_causal", True))


@dataclass(frozen=True)
class StepPlan:
    """Where the N packed tokens of one pass belong.

    rows: [N] the batch row of each token; slots: [N] its index among that row's tokens
    in this pass (0, 1, ...); before: [B] each row's stored tokens before the pass;
    width: the most tokens any row feeds in this pass; stored: the longest row after it.
    """

    rows: Any
    slots: Any
    before: Any
    width: int
    stored: int

    @property
    def positions(self) -> Any:
        """Each token's place in its row's suffix (0 = the first token after the prompt)."""
        return self.before[self.rows] + self.slots


@dataclass(frozen=True)
class PackedKV:
    """Keys (or values) of one layer for `packed_attention`: the prompt's, [1, KV, P, d],
    and every row's stored tokens, [B, T, KV, d] (zeros past a row's length)."""

    prefix: Any
    suffix: Any
    plan: StepPlan


class PackedCache:
    """The cache transformers' forward writes into during packed decoding (duck-typed `Cache`).

    `plan_step` is called before each pass; `update` (once per layer) writes the pass's
    keys and values at their rows and positions; `finish_step` moves the row lengths on.
    """

    is_compileable = False

    def __init__(self, prompt_cache: Any, batch: int, capacity: int) -> None:
        import torch

        self.prefix_keys = [layer.keys for layer in prompt_cache.layers]  # [1, KV, P, d]
        self.prefix_values = [layer.values for layer in prompt_cache.layers]
        first = self.prefix_keys[0]
        _, heads, self.prefix_length, dim = first.shape
        # Uninitialised: the buffers are sized for the longest row the grammar allows (94
        # positions for diabetes, 226 for cirrhosis) but rows use ~30, so only the positions a
        # pass reaches are zeroed (`plan_step`), never the whole 0.5-1.3 GB at batch 128.
        shape = (batch, capacity, heads, dim)
        self.suffix_keys = [torch.empty(shape, dtype=first.dtype) for _ in self.prefix_keys]
        self.suffix_values = [torch.empty(shape, dtype=first.dtype) for _ in self.prefix_keys]
        self.capacity = capacity
        self.lengths = torch.zeros(batch, dtype=torch.long)
        self.zeroed = 0  # positions [0, zeroed) hold zeros wherever no token was written
        self._plan: StepPlan | None = None

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.prefix_length  # positions come from `position_ids`, not from here

    def plan_step(self, counts: list[int]) -> StepPlan:
        """Plan a pass feeding counts[r] tokens to row r (0: none), packed row by row."""
        import torch

        width = max(counts)
        if width == 0:
            raise ValueError("a packed pass needs at least one token")
        per_row = torch.tensor(counts)
        rows = torch.repeat_interleave(torch.arange(len(counts)), per_row)
        starts = per_row.cumsum(0) - per_row
        slots = torch.arange(len(rows)) - starts[rows]
        stored = int((self.lengths + per_row).max())
        if stored > self.capacity:
            raise RuntimeError("packed cache is full: a row is longer than max_new_tokens")
        if stored > self.zeroed:
            # A row shorter than the longest is read up to `stored` with zero weight past its
            # end; 0 x an uninitialised NaN would still be NaN, so those positions must be zeros.
            for buffer in (*self.suffix_keys, *self.suffix_values):
                buffer[:, self.zeroed:stored].zero_()
            self.zeroed = stored
        self._plan = StepPlan(rows, slots, self.lengths.clone(), width, stored)
        return self._plan

    def finish_step(self) -> None:
        plan = self._need_plan()
        self.lengths = self.lengths.index_add(0, plan.rows, self.lengths.new_ones(len(plan.rows)))
        self._plan = None

    def _need_plan(self) -> StepPlan:
        if self._plan is None:
            raise RuntimeError("PackedCache.plan_step must be called before a pass")
        return self._plan

    def update(self, key_states: Any, value_states: Any, layer_idx: int, *args: Any, **kwargs: Any
               ) -> tuple[PackedKV, PackedKV]:
        plan = self._need_plan()
        at = (plan.rows, plan.positions)
        # [1, KV, N, d] -> [N, KV, d], written at (row, position) of each token.
        self.suffix_keys[layer_idx][at] = key_states[0].transpose(0, 1)
        self.suffix_values[layer_idx][at] = value_states[0].transpose(0, 1)
        keys = self.suffix_keys[layer_idx][:, :plan.stored]
        values = self.suffix_values[layer_idx][:, :plan.stored]
        return (PackedKV(self.prefix_keys[layer_idx], keys, plan),
                PackedKV(self.prefix_values[layer_idx], values, plan))

    def keep_rows(self, index: Any) -> None:
        """Keep only the given batch rows (finished rows leave the batch).

        The kept rows move to the front of the same buffers, and only the positions some row
        has written are copied (~31 of the diabetes row's ~130): copying whole buffers cost
        0.3 s per batch of 128.
        """
        stored = int(self.lengths.max())
        kept = len(index)
        for buffers in (self.suffix_keys, self.suffix_values):
            for i, buffer in enumerate(buffers):
                moved = buffer[:, :stored].index_select(0, index)
                buffers[i] = buffer[:kept]
                buffers[i][:, :stored] = moved
        self.lengths = self.lengths.index_select(0, index)


def packed_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                     scaling: float, dropout: float = 0.0, **kwargs: Any) -> tuple[Any, None]:
    """Attention of N packed tokens over [shared prompt; own row so far].

    query: [1, H, N, d]; returns [1, N, H, d] like transformers' attention functions.
    Head h reads KV head h // G (G = H / kv_heads), the grouping transformers uses.
    Anything that is not a packed pass (the prompt's prefill) goes to transformers' SDPA.
    """
    if not isinstance(key, PackedKV):
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                      dropout=dropout, **kwargs)
    import torch

    plan = key.plan
    _, heads, n, dim = query.shape
    kv_heads = key.prefix.shape[1]
    groups = heads // kv_heads
    q = query[0].reshape(kv_heads, groups, n, dim)  # head h = kv * G + g

    # The prompt: every query of the pass against one copy of it, per KV head.
    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    prompt_out, prompt_lse = flash(q.reshape(1, kv_heads, groups * n, dim), key.prefix, value.prefix,
                                   scale=scaling)[:2]
    prompt_out = prompt_out.view(kv_heads, groups, n, dim).permute(2, 0, 1, 3)  # [N, KV, G, d]
    prompt_lse = prompt_lse.view(kv_heads, groups, n).permute(2, 0, 1)  # [N, KV, G]

    # The row's own tokens, causal, in a padded [B, width] layout of the pass's queries.
    batch, stored = key.suffix.shape[0], key.suffix.shape[1]
    width = plan.width
    flat = plan.rows * width + plan.slots
    padded = q.new_zeros(batch * width, kv_heads, groups, dim)
    padded[flat] = q.permute(2, 0, 1, 3)
    padded = padded.view(batch, width, kv_heads, groups, dim).permute(0, 2, 1, 3, 4)
    padded = padded.reshape(batch, kv_heads, width * groups, dim)
    scores = torch.matmul(padded, key.suffix.permute(0, 2, 3, 1)) * scaling  # [B, KV, W*G, T]
    scores = scores.float().view(batch, kv_heads, width, groups, stored)
    # A query at slot l of row b sees that row's positions t <= before[b] + l.
    sees = torch.arange(stored).view(1, 1, stored) <= (plan.before.view(-1, 1, 1)
                                                        + torch.arange(width).view(1, width, 1))
    scores.masked_fill_(~sees.view(batch, 1, width, 1, stored), float("-inf"))
    # Position 0 of every row is stored and visible to every query (padding ones included), so
    # no log-sum-exp is -inf.
    own_lse = torch.logsumexp(scores, dim=-1)  # [B, KV, W, G]
    weights = torch.exp(scores - own_lse.unsqueeze(-1))
    own_out = torch.matmul(weights.view(batch, kv_heads, width * groups, stored).to(query.dtype),
                           value.suffix.permute(0, 2, 1, 3))  # [B, KV, W*G, d]
    own_out = own_out.view(batch, kv_heads, width, groups, dim).permute(0, 2, 1, 3, 4)
    own_out = own_out.reshape(batch * width, kv_heads, groups, dim)[flat]  # [N, KV, G, d]
    own_lse = own_lse.permute(0, 2, 1, 3).reshape(batch * width, kv_heads, groups)[flat]

    # Merge the two parts by their log-sum-exps (each token has >= 1 key in each part).
    top = torch.maximum(prompt_lse, own_lse)
    prompt_weight = torch.exp(prompt_lse - top).unsqueeze(-1)
    own_weight = torch.exp(own_lse - top).unsqueeze(-1)
    out = (prompt_out.float() * prompt_weight + own_out.float() * own_weight) / (prompt_weight + own_weight)
    return out.to(query.dtype).reshape(1, n, heads, dim), None


def register() -> None:
    """Make the attention function known to transformers (idempotent)."""
    from transformers import AttentionInterface

    AttentionInterface.register(PACKED_ATTENTION, packed_attention)
