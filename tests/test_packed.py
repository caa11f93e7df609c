"""The packed forward (`engines/packed.py`) against transformers' own, on a tiny random llama.

Rows fed ragged numbers of tokens per pass, with rows leaving the batch in between, must get
the hidden states a plain forward over [prompt; row's tokens] gives, at every position.
No weights are downloaded: the model is built from a small config with random weights.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec.generate.engines import packed

transformers = pytest.importorskip("transformers")

PROMPT = 11
VOCAB = 97


@pytest.fixture(scope="module")
def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                                      max_position_embeddings=128)
    return transformers.LlamaForCausalLM(config).eval()


def _prompt_cache(model: torch.nn.Module, prompt: torch.Tensor):
    with torch.inference_mode():
        return model.base_model(input_ids=prompt, use_cache=True).cache


def _packed_hidden(model, prompt, rows: list[list[int]], passes: list[list[int]], drop_after: int | None):
    """Hidden states per row and position from packed passes; the first row leaves the batch
    after pass `drop_after` (when given), as finished rows do."""
    cache = packed.PackedCache(_prompt_cache(model, prompt), len(rows), 32)
    for buffer in (*cache.suffix_keys, *cache.suffix_values):
        buffer.fill_(float("nan"))  # what uninitialised memory may hold: it must never be read
    packed.register()
    config = model.config
    original, config._attn_implementation = config._attn_implementation, packed.PACKED_ATTENTION
    batch = list(range(len(rows)))  # batch position -> row
    fed = [0] * len(rows)
    got: dict[int, list[torch.Tensor]] = {r: [] for r in range(len(rows))}
    try:
        for k, counts in enumerate(passes):
            counts = [counts[r] for r in batch]
            if not any(counts):
                continue
            plan = cache.plan_step(counts)
            ids = [rows[r][fed[r] + j] for r, c in zip(batch, counts, strict=True) for j in range(c)]
            with torch.inference_mode():
                out = model.base_model(input_ids=torch.tensor([ids]), cache=cache, use_cache=True,
                                       position_ids=(plan.positions + cache.prefix_length).view(1, -1),
                                       attention_mask=torch.zeros((1, 1, 0, 0), dtype=torch.bool))
            cache.finish_step()
            at = 0
            for r, c in zip(batch, counts, strict=True):
                got[r].extend(out.last_hidden_state[0, at:at + c])
                fed[r] += c
                at += c
            if drop_after == k and len(batch) > 1:
                batch = batch[1:]
                cache.keep_rows(torch.arange(1, len(batch) + 1))
    finally:
        config._attn_implementation = original
    return got, fed


def _reference(model, prompt, tokens: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        full = torch.cat([prompt[0], torch.tensor(tokens, dtype=torch.long)]).view(1, -1)
        return model.base_model(input_ids=full).last_hidden_state[0, prompt.shape[1]:]


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_packed_passes_give_the_plain_forward_hidden_states(tiny, data) -> None:
    rows_n = data.draw(st.integers(1, 4))
    passes = data.draw(st.lists(st.lists(st.integers(0, 4), min_size=rows_n, max_size=rows_n),
                                min_size=1, max_size=4))
    drop_after = data.draw(st.none() | st.integers(0, 3))
    generator = torch.Generator().manual_seed(data.draw(st.integers(0, 1000)))
    prompt = torch.randint(0, VOCAB, (1, PROMPT), generator=generator)
    rows = [torch.randint(0, VOCAB, (20,), generator=generator).tolist() for _ in range(rows_n)]
    got, fed = _packed_hidden(tiny, prompt, rows, passes, drop_after)
    for r in range(rows_n):
        if fed[r]:
            expected = _reference(tiny, prompt, rows[r][:fed[r]])
            assert torch.allclose(torch.stack(got[r]), expected, atol=1e-5), f"row {r}"


def test_a_pass_needs_tokens_and_room(tiny) -> None:
    prompt = torch.zeros((1, PROMPT), dtype=torch.long)
    cache = packed.PackedCache(_prompt_cache(tiny, prompt), 2, 3)
    with pytest.raises(ValueError, match="at least one token"):
        cache.plan_step([0, 0])
    with pytest.raises(RuntimeError, match="full"):
        cache.plan_step([4, 1])


def test_plan_places_each_token_after_its_rows_earlier_ones(tiny) -> None:
    prompt = torch.zeros((1, PROMPT), dtype=torch.long)
    cache = packed.PackedCache(_prompt_cache(tiny, prompt), 3, 8)
    cache.plan_step([2, 0, 1])
    cache.finish_step()
    plan = cache.plan_step([1, 3, 2])
    assert plan.rows.tolist() == [0, 1, 1, 1, 2, 2]
    assert plan.slots.tolist() == [0, 0, 1, 2, 0, 1]
    assert plan.positions.tolist() == [2, 0, 1, 2, 1, 2]
    assert (plan.width, plan.stored) == (3, 3)


def test_only_plain_causal_llama_decoders_are_packed(tiny) -> None:
    assert packed.supports(tiny)
    other = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=16,
                                     num_hidden_layers=1, num_attention_heads=2)
    other.model_type = "gemma3_text"
    assert not packed.supports(type("M", (), {"config": other})())
    windowed = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=16,
                                        num_hidden_layers=1, num_attention_heads=2)
    windowed.sliding_window = 4
    assert not packed.supports(type("M", (), {"config": windowed})())
