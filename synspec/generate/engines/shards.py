"""A batch decoded as fixed shards, on worker threads that each compute with their own cores.

Owns how a batch's rows are split into shards (`split`), each shard's sampling seed
(`shard_seed`), and running one job per shard on `threads.Workers` threads, with progress,
errors and interruptions brought back to the calling thread (`run`).

Why: one batch decoded by torch's two OpenMP threads waits at a barrier after every
parallel region, and its serial parts (grammar masks, sampling, Python) leave the other core
idle. Two shards of 64 rows, each decoded by a worker thread computing with one core, keep
both cores busy with no barrier between them. Measured on the 2-core EPYC in float32
(docs/benchmarks.md, "Shards on worker threads"): idle and in one process, 18.2 rows/s
against 15.4 for one 128-row batch on two threads; `synspec run` beside a busy-loop pinned to
one core kept 67-68% of its idle rows/s, against 57-61% with one thread alone. A worker that
shares its core with a neighbour only runs slower: nothing waits for it but the end of the
batch.

Determinism: the split depends only on the batch size (`SHARD_ROWS`), and shard k samples
with `shard_seed(seed, k)`, so a shard's rows do not depend on which worker decodes it, on
how many workers there are, or on how many threads each has: the rows of a batch are the
same bytes on one core or many (tests/test_shards.py, tests/test_generate_units.py).
"""

from __future__ import annotations

import functools
import hashlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from synspec.generate import threads

# Rows per shard. A batch of 128 (the default for short rows) is two shards; smaller batches
# (wide rows, top-up batches) are one shard and decode as before. 64 measured better than 32
# (4 shards: 15.8-16.5 rows/s idle) and 16 (11.7-13.0): a pass has a fixed cost, so small
# shards pay it more often.
SHARD_ROWS = 64

T = TypeVar("T")


def rows_for(device: str) -> int | None:
    """Rows per shard on `device`: `SHARD_ROWS` on the CPU; None (the batch is one shard) on a
    GPU, whose one stream would only run two workers' smaller passes in turn. A GPU's rows
    are not the CPU's bytes anyway (other kernels), and stay independent of the threads."""
    return SHARD_ROWS if device == "cpu" else None


@dataclass(frozen=True)
class Shard:
    index: int
    start: int  # the shard's rows are batch rows [start, stop)
    stop: int
    seed: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def shard_seed(seed: int, index: int) -> int:
    """Shard `index`'s sampling seed: the batch's own for shard 0 (a one-shard batch samples
    as an unsharded one did), a 63-bit hash of (seed, index) for the others."""
    if index == 0:
        return seed
    digest = hashlib.sha256(f"synspec-shard:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def split(n: int, seed: int, rows: int | None) -> list[Shard]:
    """Batch rows 0..n-1 as shards of at most `rows` rows (None: one shard), as even as
    possible (n = 100 and rows = 64: 50 + 50, not 64 + 36, so the shards finish together).

    >>> [(s.start, s.stop) for s in split(100, 0, rows=64)]
    [(0, 50), (50, 100)]
    >>> [(s.start, s.stop) for s in split(5, 0, rows=2)]
    [(0, 2), (2, 4), (4, 5)]
    """
    count = max(1, -(-n // rows)) if rows else 1
    size, extra = divmod(n, count)
    bounds = [0]
    for k in range(count):
        bounds.append(bounds[-1] + size + (k < extra))
    return [Shard(k, bounds[k], bounds[k + 1], shard_seed(seed, k)) for k in range(count)]


class Cancelled(Exception):
    """Raised inside a shard job (at its next `ShardContext.checkpoint`) when the run stops:
    another shard failed, or the caller was interrupted."""


@dataclass
class ShardContext:
    """What a shard job is given: how to report its finished rows and where to stop early."""

    progress: Callable[[int], None]  # the count of this shard's rows finished so far
    checkpoint: Callable[[], None]  # call between passes: raises Cancelled when the run stops


def _never() -> None:
    """The checkpoint of jobs run on the calling thread: an interruption reaches them itself."""


def run(shards: Sequence[Shard], job: Callable[[Shard, ShardContext], T], workers: threads.Workers,
        on_progress: Callable[[int], None] | None = None) -> list[T]:
    """`job(shard, context)` for every shard, in shard order; `on_progress(k)` on the calling
    thread each time the rows finished over all shards grow to k.

    One worker: the jobs run here, one after the other, with this thread's torch threads.
    More: that many threads take the next waiting shard each, computing with
    `workers.threads_each` torch threads. The first error stops the other jobs at their next
    checkpoint and is raised here; so is an interruption of this thread (Ctrl-C), once every
    worker has stopped.
    """
    finished = [0] * len(shards)

    def report(index: int, done: int) -> None:
        before = sum(finished)
        finished[index] = done
        if on_progress is not None and sum(finished) > before:
            on_progress(sum(finished))

    count = min(workers.count, len(shards))
    if count <= 1:
        return [job(shard, ShardContext(functools.partial(report, shard.index), _never)) for shard in shards]
    return _run_threaded(shards, job, threads.Workers(count, workers.threads_each), report)


def _run_threaded(shards: Sequence[Shard], job: Callable[[Shard, ShardContext], T], workers: threads.Workers,
                  report: Callable[[int, int], None]) -> list[T]:
    waiting: queue.SimpleQueue[Shard] = queue.SimpleQueue()
    for shard in shards:
        waiting.put(shard)
    events: queue.Queue[tuple[str, int, object]] = queue.Queue()
    stop = threading.Event()

    def checkpoint() -> None:
        if stop.is_set():
            raise Cancelled

    def progress(index: int, done: int) -> None:
        events.put(("progress", index, done))

    def work() -> None:
        threads.enter_worker(workers)
        while not stop.is_set():
            try:
                shard = waiting.get_nowait()
            except queue.Empty:
                return
            context = ShardContext(functools.partial(progress, shard.index), checkpoint)
            try:
                events.put(("done", shard.index, job(shard, context)))
            except BaseException as error:  # noqa: BLE001 - handed to the caller, who raises it
                events.put(("error", shard.index, error))
                return

    pool = [threading.Thread(target=work, name=f"synspec-shard-worker-{k}", daemon=True)
            for k in range(workers.count)]
    for thread in pool:
        thread.start()
    results: dict[int, T] = {}
    try:
        while len(results) < len(shards):
            kind, index, payload = events.get()
            if kind == "progress":
                report(index, payload)  # type: ignore[arg-type]
            elif kind == "done":
                results[index] = payload  # type: ignore[assignment]
            elif not isinstance(payload, Cancelled):
                raise payload  # type: ignore[misc]
    finally:
        stop.set()
        for thread in pool:
            thread.join()
    return [results[shard.index] for shard in shards]
