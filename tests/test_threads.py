"""Sizing torch's threads to the free cores (`synspec.generate.threads`) and reading the CPU."""

from __future__ import annotations

import pytest

from synspec.errors import UserError
from synspec.generate import cpu, threads


def fake_times(sequence: list[dict[int, int]]):
    calls = iter(sequence)
    return lambda cpus: next(calls)


@pytest.mark.parametrize("busy_ticks, expected", [
    ((0, 0), 0),  # idle machine
    ((19, 1), 1),  # one core held by a neighbour
    ((10, 10), 1),  # one busy process the scheduler moves between both cores
    ((20, 21), 2),  # a tick more than the wall clock allows counts as one core
    ((4, 2), 0),  # background noise
])
def test_busy_cores_sums_the_busy_shares(monkeypatch, busy_ticks, expected) -> None:
    """Busy ticks over the ticks of the sampled wall time (0.2 s at 100 ticks/s: 20 per core)."""
    before = {0: 1000, 1: 2000}
    after = {c: before[c] + busy_ticks[c] for c in (0, 1)}
    monkeypatch.setattr(threads, "_cpu_times", fake_times([before, after]))
    monkeypatch.setattr(threads, "_ticks_per_second", lambda: 100.0)
    clock = iter([0.0, 0.2])
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    assert threads.busy_cores([0, 1], seconds=0.2) == expected


@pytest.mark.parametrize("busy, allowed, expected", [(0, [0, 1], 2), (1, [0, 1], 1), (2, [0, 1], 1),
                                                      (0, [3], 1), (1, [0, 1, 2, 3], 3)])
def test_auto_threads_are_the_free_allowed_cores(monkeypatch, busy, allowed, expected) -> None:
    monkeypatch.setattr(threads, "allowed_cpus", lambda: allowed)
    monkeypatch.setattr(threads, "busy_cores", lambda cpus: busy)
    choice = threads.choose()
    assert choice.threads == expected
    assert choice.reason == f"auto: {len(allowed)} allowed cores, {busy} busy"


def test_requested_threads_are_not_measured(monkeypatch) -> None:
    monkeypatch.setattr(threads, "busy_cores", lambda cpus: pytest.fail("measured"))
    choice = threads.choose(3)
    assert (choice.threads, choice.reason, choice.busy_cores) == (3, "--threads 3", None)


def test_unmeasurable_load_uses_every_allowed_core(monkeypatch) -> None:
    monkeypatch.setattr(threads, "allowed_cpus", lambda: [0, 1])
    monkeypatch.setattr(threads, "_cpu_times", lambda cpus: None)
    assert threads.choose().threads == 2


def test_cpu_times_reads_this_machine() -> None:
    cpus = threads.allowed_cpus()
    assert cpus
    measured = threads.busy_cores(cpus, seconds=0.01)
    assert measured is None or 0 <= measured <= len(cpus)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", 0])
def test_bad_thread_counts_are_user_errors(value) -> None:
    with pytest.raises(UserError, match="--threads must be a positive integer"):
        threads.parse_threads(value)


def test_wait_policy_passive_or_spinning_unless_the_user_chose(monkeypatch) -> None:
    import os

    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", threads._MARK):
        monkeypatch.delenv(name, raising=False)
    threads.prepare_environment()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE" and "GOMP_SPINCOUNT" not in os.environ
    threads.prepare_environment(spin=True)  # ours to change: auto threads, load measurable
    assert os.environ["GOMP_SPINCOUNT"] == threads.SPIN_COUNT and "OMP_WAIT_POLICY" not in os.environ
    threads.prepare_environment()  # None keeps the earlier choice (model.load calls it so)
    assert os.environ["GOMP_SPINCOUNT"] == threads.SPIN_COUNT
    threads.prepare_environment(spin=False)
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE" and "GOMP_SPINCOUNT" not in os.environ
    monkeypatch.delenv(threads._MARK)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's: never touched
    threads.prepare_environment(spin=False)
    threads.prepare_environment(spin=True)
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE" and "GOMP_SPINCOUNT" not in os.environ
    # A child of a synspec process inherits synspec's setting, marked as synspec's: it may change it.
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", threads.SPIN_COUNT)
    monkeypatch.setenv(threads._MARK, "GOMP_SPINCOUNT")
    threads.prepare_environment(spin=False)
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE" and "GOMP_SPINCOUNT" not in os.environ


def _watch(monkeypatch, samples: list[tuple[float, dict[int, int], float]]) -> threads.LoadWatch:
    """A LoadWatch over 2 cores fed (monotonic s, busy ticks per cpu, own CPU s) samples."""
    feed = iter(samples)
    current: dict[str, tuple[float, dict[int, int], float]] = {}

    def advance() -> tuple[float, dict[int, int], float]:
        current["now"] = next(feed)
        return current["now"]

    monkeypatch.setattr(threads, "allowed_cpus", lambda: [0, 1])
    monkeypatch.setattr(threads, "_ticks_per_second", lambda: 100.0)
    monkeypatch.setattr(threads.time, "monotonic", lambda: current["now"][0])
    monkeypatch.setattr(threads, "_cpu_times", lambda cpus: current["now"][1])
    monkeypatch.setattr(threads, "_own_seconds", lambda: current["now"][2])
    advance()
    watch = threads.LoadWatch(threads.ThreadChoice(2, "auto: 2 allowed cores, 0 busy", 2, 0))
    watch.advance = advance  # type: ignore[attr-defined]
    return watch


def test_load_watch_follows_a_neighbour_that_comes_and_goes(monkeypatch) -> None:
    """The watch counts the free cores; `threads.tick` makes the decoding thread follow them."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        watch = _watch(monkeypatch, [
            (0.0, {0: 0, 1: 0}, 0.0),
            (0.5, {0: 50, 1: 50}, 1.0),  # within the interval: not measured
            (1.0, {0: 100, 1: 100}, 2.0),  # we hold both cores: nobody else
            (2.0, {0: 200, 1: 200}, 3.3),  # a neighbour arrived: 2 cores busy, 1.3 of them ours
            (3.0, {0: 300, 1: 300}, 4.3),  # on one thread now, the neighbour on the other core
            (4.0, {0: 400, 1: 300}, 5.3),  # it left
        ])
        monkeypatch.setattr(threads, "_WATCH", watch)
        steps = []
        for _ in range(5):
            watch.advance()  # type: ignore[attr-defined]
            threads.tick()
            steps.append((watch.threads, torch.get_num_threads()))
    finally:
        torch.set_num_threads(before)
    assert steps == [(2, 2), (2, 2), (1, 1), (1, 1), (2, 2)]
    assert watch.changes == ["2.0 s: 1 thread (other processes took 0.7 cores)",
                             "4.0 s: 2 threads (other processes took 0.0 cores)"]


def test_only_measured_auto_choices_are_watched(monkeypatch) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        threads.apply(threads.ThreadChoice(1, "--threads 1", 2, None))
        assert threads._WATCH is None and threads.watched_changes() == []
        threads.tick()  # a no-op without a watch
        threads.apply(threads.ThreadChoice(2, "auto: 2 allowed cores, 0 busy", 2, 0))
        assert isinstance(threads._WATCH, threads.LoadWatch)
    finally:
        threads._WATCH = None
        torch.set_num_threads(before)


def test_apply_sets_torch_threads() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        threads.apply(threads.ThreadChoice(1, "--threads 1", 2, None))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_cpuinfo_without_bf16_picks_float32(monkeypatch) -> None:
    from synspec.generate import model

    info = cpu.parse_cpuinfo("model name : AMD EPYC 7B13\nflags : fpu avx2 fma avx512f avx512_vnni\n")
    assert info == cpu.CpuInfo("AMD EPYC 7B13", ("avx2", "fma", "avx512f", "avx512_vnni"), False)
    monkeypatch.setattr(model, "cpu_info", lambda: info)
    assert model.pick_dtype("cpu") == "float32"
    assert model.pick_dtype("cuda") == "bfloat16"
    assert model.pick_dtype("cpu", "bfloat16") == "bfloat16"
    with pytest.raises(UserError, match="unknown dtype"):
        model.pick_dtype("cpu", "float16")


@pytest.mark.parametrize("variable, cap, native", [
    ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI", False),
    ("DNNL_MAX_CPU_ISA", "avx2", False),
    ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16", True),
    ("ONEDNN_MAX_CPU_ISA", "ALL", True),
])
def test_a_onednn_cap_below_bf16_means_no_native_bf16(monkeypatch, variable, cap, native) -> None:
    """oneDNN runs torch's bfloat16 products: capped below bf16 it emulates them, so a CPU
    with avx512_bf16 counts as one without, and `auto` picks float32."""
    monkeypatch.setattr(cpu.Path, "read_text", lambda self, errors=None: "flags : avx2 avx512f avx512_bf16\n")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv(variable, cap)
    cpu.cpu_info.cache_clear()
    try:
        info = cpu.cpu_info()
    finally:
        cpu.cpu_info.cache_clear()
    assert "avx512_bf16" in info.flags and info.bf16 is native


def test_the_watch_is_asked_before_every_decoder_layer_while_decoding(monkeypatch) -> None:
    """A pass can take seconds when a neighbour arrives: the decoding loop lets the watch act
    per layer, and only while it decodes."""
    import torch
    import transformers

    from synspec.generate.engines import decode

    config = transformers.LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                                      num_attention_heads=2, vocab_size=50)
    model = transformers.LlamaForCausalLM(config).eval()
    ticks = []
    monkeypatch.setattr(threads, "tick", lambda: ticks.append(1))
    ids = torch.tensor([[1, 2, 3]])
    with torch.inference_mode():
        with decode._load_watched_per_layer(model):
            model(input_ids=ids)
        assert ticks == []  # no watch installed: no hooks
        monkeypatch.setattr(threads, "_WATCH", object())
        with decode._load_watched_per_layer(model):
            model(input_ids=ids)
        assert len(ticks) == 3
        model(input_ids=ids)
    assert len(ticks) == 3  # the hooks are gone after decoding


@pytest.mark.parametrize("choice, torch_threads, shards, expected", [
    (None, 2, 2, (2, 1)),  # apply never called: torch's own count is what we may use
    (None, 2, 1, (1, 2)),
    (threads.ThreadChoice(2, "auto: 2 allowed cores, 0 busy", 2, 0), 2, 2, (2, 1)),
    # one of the two workers shares its core with the neighbour
    (threads.ThreadChoice(1, "auto: 2 allowed cores, 1 busy", 2, 1), 1, 2, (2, 1)),
    (threads.ThreadChoice(1, "auto: 2 allowed cores, 1 busy", 2, 1), 1, 1, (1, 1)),
    (threads.ThreadChoice(16, "auto: 16 allowed cores, 0 busy", 16, 0), 16, 2, (2, 8)),
    (threads.ThreadChoice(13, "auto: 16 allowed cores, 3 busy", 16, 3), 13, 2, (2, 6)),
    (threads.ThreadChoice(1, "--threads 1", 2, None), 1, 2, (1, 1)),  # the user asked for one core
    (threads.ThreadChoice(4, "--threads 4", 2, None), 4, 2, (2, 2)),
])
def test_workers_are_one_per_usable_core_up_to_the_shards(monkeypatch, choice, torch_threads, shards,
                                                          expected) -> None:
    import torch

    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_CHOICE", choice)
    monkeypatch.setattr(threads, "_WATCH", None)
    torch.set_num_threads(torch_threads)
    try:
        workers = threads.workers_for(shards)
    finally:
        torch.set_num_threads(before)
    assert (workers.count, workers.threads_each) == expected


def test_a_worker_computes_with_its_share_of_the_free_cores(monkeypatch) -> None:
    """torch's thread count is per calling thread: a worker sets its own and follows the
    watch with its share, and the caller's count is left alone."""
    import threading

    import torch

    class Watch:
        threads = 4

        def tick(self) -> None:
            pass

    before = torch.get_num_threads()
    torch.set_num_threads(3)
    monkeypatch.setattr(threads, "_WATCH", Watch())
    seen: list[int] = []

    def worker() -> None:
        threads.enter_worker(threads.Workers(2, 1))
        seen.append(torch.get_num_threads())
        threads.tick()  # 4 free cores, 2 workers: 2 each
        seen.append(torch.get_num_threads())
        Watch.threads = 1  # a neighbour arrived: never fewer than one
        threads.tick()
        seen.append(torch.get_num_threads())

    try:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert seen == [1, 2, 1]
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
