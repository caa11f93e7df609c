"""The load-ready weights cache (`synspec.generate.weights_cache`): where it lives, what makes
an entry valid, and that a damaged entry is rebuilt. The model test loads the real GGUF cold
and then from the cache, in the session's own cache folder (conftest.py), never ~/.cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synspec.generate import weights_cache

HASH = "sha256:" + "ab" * 32


@pytest.fixture
def tiny() -> tuple[object, object]:
    """A two-layer random Llama and a word-level fast tokenizer: save_pretrained's real paths."""
    import torch
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True)
    words = Tokenizer(WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    return LlamaForCausalLM(config), PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]")


def test_cache_root_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SYNSPEC_CACHE_DIR", raising=False)
    monkeypatch.delenv("SYNSPEC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights_cache.cache_root() == tmp_path / "xdg" / "synspec"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert weights_cache.cache_root() == tmp_path / "home" / ".cache" / "synspec"
    monkeypatch.setenv("SYNSPEC_CACHE_DIR", str(tmp_path / "own"))
    assert weights_cache.cache_root() == tmp_path / "own"
    assert weights_cache.entry_dir(HASH, "float32") == tmp_path / "own" / "models" / ("ab" * 8 + "-float32")


def test_stored_entry_loads_the_same_weights(monkeypatch, tmp_path: Path, tiny) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("SYNSPEC_CACHE_DIR", str(tmp_path))
    net, tokenizer = tiny
    folder = weights_cache.entry_dir(HASH, "float32")
    assert not weights_cache.valid_entry(folder, HASH, "float32")
    assert weights_cache.store(folder, net, tokenizer, HASH, "float32")
    assert weights_cache.valid_entry(folder, HASH, "float32")
    assert not weights_cache.valid_entry(folder, HASH, "bfloat16")  # keyed by dtype
    assert not weights_cache.valid_entry(folder, "sha256:" + "cd" * 32, "float32")  # and by hash
    entry = json.loads((folder / weights_cache.ENTRY_FILE).read_text())
    assert "model.safetensors" in entry["files"] and "tokenizer.json" in entry["files"]
    assert not list(folder.parent.glob(".build-*")) and not list(folder.glob(".*.tmp"))
    again = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    ids = torch.tensor([[0, 1, 1, 0]])
    with torch.inference_mode():
        assert torch.equal(net(ids).logits, again(ids).logits)  # type: ignore[operator]


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "remove a file", "no entry.json",
                                    "garbage entry.json"])
def test_damaged_entry_is_invalid_and_rebuilt(monkeypatch, tmp_path: Path, tiny, damage: str) -> None:
    monkeypatch.setenv("SYNSPEC_CACHE_DIR", str(tmp_path))
    net, tokenizer = tiny
    folder = weights_cache.entry_dir(HASH, "float32")
    assert weights_cache.store(folder, net, tokenizer, HASH, "float32")
    weights = folder / "model.safetensors"
    if damage == "flip a byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0x01
        weights.write_bytes(bytes(data))
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-10])
    elif damage == "remove a file":
        (folder / "tokenizer.json").unlink()
    elif damage == "no entry.json":
        (folder / weights_cache.ENTRY_FILE).unlink()
    else:
        (folder / weights_cache.ENTRY_FILE).write_text("{not json")
    assert not weights_cache.valid_entry(folder, HASH, "float32")
    assert weights_cache.store(folder, net, tokenizer, HASH, "float32")
    assert weights_cache.valid_entry(folder, HASH, "float32")


def test_unwritable_cache_is_not_an_error(tmp_path: Path, tiny) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    net, tokenizer = tiny
    assert weights_cache.store(blocker / "models" / "x-float32", net, tokenizer, HASH, "float32") is False


@pytest.mark.model
def test_gguf_is_loaded_from_the_cache_after_the_first_time(monkeypatch, tmp_path: Path) -> None:
    """Cold: de-quantised from the GGUF and stored; warm: from the cache, bitwise the same logits.
    A damaged entry falls back to the GGUF and is rebuilt."""
    import torch

    from synspec.generate import model

    monkeypatch.setenv("SYNSPEC_CACHE_DIR", str(tmp_path))
    cold = model.load(dtype="float32")
    warm = model.load(dtype="float32")
    assert (cold.source, warm.source) == ("gguf", "cache")
    ids = cold.tokenizer("age,bmi,HbA1c_level", return_tensors="pt").input_ids
    assert torch.equal(ids, warm.tokenizer("age,bmi,HbA1c_level", return_tensors="pt").input_ids)
    assert warm.tokenizer.chat_template == cold.tokenizer.chat_template
    assert warm.tokenizer.eos_token_id == cold.tokenizer.eos_token_id
    with torch.inference_mode():
        assert torch.equal(cold.model(ids).logits, warm.model(ids).logits)
    folder = weights_cache.entry_dir(model.weights_hash(cold.location), "float32")
    (folder / "model.safetensors").write_bytes(b"torn")
    assert model.load(dtype="float32").source == "gguf"
    assert weights_cache.valid_entry(folder, model.weights_hash(cold.location), "float32")


def test_int8_quantises_the_blocks_and_keeps_the_output_layer(tiny) -> None:
    """`--dtype int8`: the transformer blocks' linear layers become int8 modules; the output
    layer stays a float32 nn.Linear (the decoding loop reads its weight matrix)."""
    import torch

    from synspec.generate.quantize import quantize_linear_int8

    net, _ = tiny
    ids = torch.tensor([[0, 1, 1, 0]])
    with torch.inference_mode():
        before = net(ids).logits  # type: ignore[operator]
    quantize_linear_int8(net)
    modules = dict(net.named_modules())  # type: ignore[attr-defined]
    assert type(modules["lm_head"]) is torch.nn.Linear and modules["lm_head"].weight.dtype == torch.float32
    blocks = [m for name, m in modules.items() if name.startswith("model.layers.") and name.endswith("proj")]
    assert blocks and all(type(m).__name__ == "Int8Linear" and m.weight_t.dtype == torch.int8 for m in blocks)
    with torch.inference_mode():
        after = net(ids).logits  # type: ignore[operator]
    assert torch.allclose(before, after, atol=0.05)


@pytest.mark.parametrize("in_features", [64, 1536, 4096])  # 4096: parts summed in float, not int32
def test_int8_linear_is_close_and_each_row_is_its_own(in_features: int) -> None:
    """Within 1% of float32 (an outlying channel included), on every thread count, and a row's
    output does not depend on the other rows of its batch (each row has its own scale)."""
    import torch

    from synspec.generate.quantize import _int8_linear_class

    torch.manual_seed(0)
    linear = torch.nn.Linear(in_features, 96)
    int8 = _int8_linear_class()(linear)
    x = torch.randn(5, 3, in_features)
    x[..., 1] *= 40  # an outlier channel, as LLM activations have
    exact = linear(x)
    before = torch.get_num_threads()
    try:
        outs = []
        for count in (1, 2):
            torch.set_num_threads(count)
            outs.append(int8(x))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(outs[0], outs[1])
    assert ((outs[0] - exact).norm() / exact.norm()).item() < 0.01
    assert torch.equal(int8(x[:1]), outs[0][:1])
    assert int8.exact_in_int32 is (in_features <= 2048)
