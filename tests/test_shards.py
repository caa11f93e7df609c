"""A batch split into shards and decoded on worker threads (`engines/shards.py`)."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synspec.generate import threads
from synspec.generate.engines import shards


@given(n=st.integers(1, 1000), rows=st.integers(1, 200), seed=st.integers(0, 2**40))
def test_shards_cover_the_batch_in_order_evenly_and_within_the_size(n: int, rows: int, seed: int) -> None:
    parts = shards.split(n, seed, rows)
    assert [p.index for p in parts] == list(range(len(parts)))
    assert parts[0].start == 0 and parts[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:], strict=False))
    sizes = [p.size for p in parts]
    assert max(sizes) <= rows and max(sizes) - min(sizes) <= 1
    assert len(parts) == -(-n // rows)  # no more shards than the size asks for
    assert parts[0].seed == seed  # a one-shard batch samples as before sharding
    assert len({p.seed for p in parts}) == len(parts)


def test_shard_seeds_depend_only_on_the_seed_and_the_index() -> None:
    assert shards.shard_seed(7, 1) == shards.shard_seed(7, 1) != shards.shard_seed(8, 1)
    assert 0 <= shards.shard_seed(7, 1) < 2**63
    assert [s.seed for s in shards.split(128, 7, shards.rows_for("cpu"))] == [7, shards.shard_seed(7, 1)]


def test_a_gpu_batch_is_one_shard() -> None:
    assert [(s.start, s.stop, s.seed) for s in shards.split(128, 7, shards.rows_for("cuda"))] == [(0, 128, 7)]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_back_in_shard_order_with_progress_summed_over_shards(workers: int) -> None:
    parts = shards.split(10, 0, rows=3)  # 3 + 3 + 2 + 2
    names: set[str] = set()
    progress: list[int] = []

    def job(shard: shards.Shard, context: shards.ShardContext) -> list[int]:
        names.add(threading.current_thread().name)
        for done in range(1, shard.size + 1):
            time.sleep(0.001)
            context.checkpoint()
            context.progress(done)
        return list(range(shard.start, shard.stop))

    results = shards.run(parts, job, threads.Workers(workers, 1), progress.append)
    assert [r for part in results for r in part] == list(range(10))
    assert progress == sorted(progress) and progress[-1] == 10 and len(set(progress)) == len(progress)
    if workers == 1:
        assert names == {threading.current_thread().name}  # no thread started for one worker
    else:
        assert threading.current_thread().name not in names and len(names) <= workers


def test_the_first_error_stops_the_other_shards_and_is_raised_here() -> None:
    parts = shards.split(4, 0, rows=2)
    stopped = threading.Event()

    def job(shard: shards.Shard, context: shards.ShardContext) -> None:
        if shard.index == 1:
            time.sleep(0.05)
            raise ValueError("grammar rejected")
        try:
            for _ in range(500):  # would take 5 s if nobody stopped it
                time.sleep(0.01)
                context.checkpoint()
        except shards.Cancelled:
            stopped.set()
            raise

    began = time.monotonic()
    with pytest.raises(ValueError, match="grammar rejected"):
        shards.run(parts, job, threads.Workers(2, 1))
    assert stopped.is_set() and time.monotonic() - began < 2
    assert not [t for t in threading.enumerate() if t.name.startswith("synspec-shard-worker")]


def test_workers_compute_with_their_share_of_threads() -> None:
    import torch

    before = torch.get_num_threads()
    parts = shards.split(4, 0, rows=2)
    try:
        torch.set_num_threads(2)
        seen = shards.run(parts, lambda shard, context: torch.get_num_threads(), threads.Workers(2, 1))
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
