"""The prompt's prefill on disk (`synspec.generate.prompt_cache`): round trip, damage, eviction,
and (with the model) the same rows whether the prefill was computed or loaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from synspec.generate import prompt_cache
from synspec.generate.prompt_cache import LayerKV, Prefill


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SYNSPEC_CACHE_DIR", str(tmp_path))
    return tmp_path / "prompts"


def _prefill(seed: int = 0, layers: int = 3, dtype: torch.dtype = torch.float32) -> Prefill:
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator).to(dtype)

    return Prefill([LayerKV(rand(1, 2, 5, 4), rand(1, 2, 5, 4)) for _ in range(layers)], rand(1, 11).float(),
                   rand(1, 8))


def _same(a: Prefill, b: Prefill) -> bool:
    pairs = [(a.logits, b.logits), (a.hidden, b.hidden)]
    pairs += [(x, y) for la, lb in zip(a.layers, b.layers, strict=True) for x, y in zip(la, lb, strict=True)]
    return all(torch.equal(x, y) and x.dtype == y.dtype for x, y in pairs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_stored_prefill_loads_bit_for_bit(cache_dir: Path, dtype: torch.dtype) -> None:
    key = prompt_cache.cache_key("sha256:abc", "float32", "cpu", [1, 2, 3])
    assert prompt_cache.load(key, "cpu") is None
    saved = _prefill(dtype=dtype)
    assert prompt_cache.store(key, saved)
    loaded = prompt_cache.load(key, "cpu")
    assert loaded is not None and _same(saved, loaded)
    assert [p.name for p in cache_dir.iterdir()] == [f"{key}.safetensors"]  # no temporary left


def test_a_damaged_or_foreign_file_is_ignored_and_replaced(cache_dir: Path) -> None:
    key = prompt_cache.cache_key("sha256:abc", "float32", "cpu", [1, 2, 3])
    prompt_cache.store(key, _prefill())
    path = cache_dir / f"{key}.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # a flipped bit in the last tensor
    path.write_bytes(bytes(data))
    assert prompt_cache.load(key, "cpu") is None
    path.write_bytes(b"not a safetensors file")
    assert prompt_cache.load(key, "cpu") is None
    other = prompt_cache.cache_key("sha256:abc", "float32", "cpu", [1, 2, 4])
    prompt_cache.store(other, _prefill(1))
    os.replace(cache_dir / f"{other}.safetensors", path)  # the right name, another prompt's file
    assert prompt_cache.load(key, "cpu") is None
    prompt_cache.store(key, _prefill(2))
    loaded = prompt_cache.load(key, "cpu")
    assert loaded is not None and _same(loaded, _prefill(2))


def test_the_key_names_everything_the_prefill_depends_on() -> None:
    base = ("sha256:abc", "float32", "cpu", [1, 2, 3])
    variants = [("sha256:abd", "float32", "cpu", [1, 2, 3]), ("sha256:abc", "bfloat16", "cpu", [1, 2, 3]),
                ("sha256:abc", "float32", "cuda", [1, 2, 3]), ("sha256:abc", "float32", "cpu", [1, 2]),
                ("sha256:abc", "float32", "cpu", [12, 3])]
    keys = {prompt_cache.cache_key(*v) for v in [base, *variants]}
    assert len(keys) == 1 + len(variants)
    assert prompt_cache.cache_key(*base) == prompt_cache.cache_key(*base)


def test_the_least_recently_used_files_go_first(cache_dir: Path) -> None:
    keys = [prompt_cache.cache_key("w", "float32", "cpu", [i]) for i in range(4)]
    for i, key in enumerate(keys):
        prompt_cache.store(key, _prefill(i))
        path = cache_dir / f"{key}.safetensors"
        os.utime(path, (1000 + i, 1000 + i))
    prompt_cache.load(keys[0], "cpu")  # used now: the most recent
    size = (cache_dir / f"{keys[0]}.safetensors").stat().st_size
    prompt_cache.trim(cache_dir, 2 * size)
    assert sorted(p.stem for p in cache_dir.iterdir()) == sorted([keys[0], keys[3]])


def test_an_unwritable_cache_is_only_slower(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("SYNSPEC_CACHE_DIR", str(blocker))  # a file where the folder should be
    assert not prompt_cache.store("k", _prefill())
    assert prompt_cache.load("k", "cpu") is None


@pytest.mark.model
def test_rows_are_the_same_bytes_with_the_prefill_computed_or_loaded(cache_dir: Path) -> None:
    """The prefill is the same bits on 1 and 2 threads, so a saved one can stand in for any run's."""
    from synspec.cli.common import load_spec
    from synspec.generate import model
    from synspec.generate.engines import decode
    from synspec.targets.grammar import row_grammar
    from synspec.targets.prompt import render_prompt

    spec = load_spec(Path(__file__).resolve().parent.parent / "specs" / "diabetes.synspec")
    loaded = model.load_cached(dtype="float32")
    grammars = [row_grammar(spec).lark] * 4
    threads = torch.get_num_threads()
    rows = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            decoder = decode.Decoder(loaded, prompt_on_disk=count == 2)
            ids = decoder.encode_prompt(render_prompt(spec, "clin_rule"))
            computed = decoder._compute_prefill(ids)
            rows.append([r.text for r in decoder.decode(ids, grammars, seed=5, max_new_tokens=64)])
            if count == 1:
                first = computed
            else:
                assert _same(first, computed)
    finally:
        torch.set_num_threads(threads)
    assert len(list(cache_dir.iterdir())) == 1  # the 2-thread decoder saved its prefill
    again = decode.Decoder(loaded)
    ids = again.encode_prompt(render_prompt(spec, "clin_rule"))
    assert [r.text for r in again.decode(ids, grammars, seed=5, max_new_tokens=64)] == rows[0] == rows[1]
