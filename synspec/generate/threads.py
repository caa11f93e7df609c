"""How many threads torch computes with: the cores this process may use that are free now.

Why: torch's default is one thread per core, and its OpenMP threads meet at a barrier
after every parallel region. When another process holds one of two cores, every step
waits for the thread that shares that core with it: measured on the 2-core machine,
diabetes generation fell from 4.39 to 0.385 rows/s, while one thread kept 3.11
(issue 17; docs/benchmarks.md, "Speed on a shared machine, and without native bf16").
So, once, when the model is first needed:
- the cores we may run on are the process's CPU affinity (`os.sched_getaffinity`: a
  container's or `taskset`'s limit, not the machine's core count);
- how busy they are is sampled from `/proc/stat` over `SAMPLE_S` seconds while this
  process sleeps: each core's busy clock ticks (user, nice, system, irq, softirq, steal)
  over the ticks the wall clock allows, summed over the cores and rounded, so one busy
  process counts as one core whether the scheduler pins it or moves it around. (Busy ticks,
  not busy over total: an idle core's idle time is accounted lazily, so over a fraction of a
  second its total can be one tick, all of it busy.)
- threads = allowed - busy, at least 1. `--threads N` overrides the choice.
How OpenMP's threads wait between parallel regions (set before torch is first imported,
`prepare_environment`; a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins):
- PASSIVE (they sleep at once) with `--threads N` or when the load cannot be measured:
  nobody watches the load then, and spinning threads steal the core a neighbour, or our own
  other thread, needs (the collapse above);
- spinning a while before sleeping (libgomp's own default, `SPIN_COUNT`) when the threads
  are `auto` and the load is measurable: a decoding step is hundreds of short parallel
  regions, and waking sleeping threads for each cost 17% of float32's and 25% of int8's
  rows/s (docs/benchmarks.md). `auto` starts with more than one thread only when the cores
  were free, and `LoadWatch` keeps it so: every `WATCH_INTERVAL_S` of decoding it measures
  what other processes take of the allowed cores (busy ticks minus this process's own CPU
  time) and drops to the cores left free when a neighbour arrives (one thread has no barrier
  to spin at), back up when it leaves.
The policy has to be chosen before torch is imported, so before the load is measured:
`pipeline.run` calls `prepare_environment(spin=...)` first thing.

A batch of two or more shards (`engines/shards.py`) is decoded by worker threads, one per
allowed core up to the shard count, each computing with its share of the free cores
(`workers_for`, at least one thread). On two cores that is two single-threaded workers, also
with one core busy: a worker has no barrier to wait at, so sharing its core with a
neighbour only slows that worker (measured faster than one thread alone, docs/benchmarks.md).
Each worker sets its own torch threads (OpenMP's and MKL's counts are per calling thread),
and follows the load watch on its own thread (`tick`).

The thread count changes no output byte: every batch's sampling is seeded by
(seed, batch), every shard's by (seed, batch, shard), and the kernels' sums do not depend
on how the work is split (tests/test_run_cli.py runs the same rows on 1 and 2 threads).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.2  # 20 clock ticks per core at USER_HZ 100: a busy core shows as 19-21
SPIN_COUNT = "300000"  # libgomp's default spin before a waiting thread sleeps (about a millisecond)
WATCH_INTERVAL_S = 1.0  # how often LoadWatch measures the other processes' load while decoding


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str  # how it was chosen, for the manifest: "--threads 2" or "auto: ..."
    allowed_cores: int
    busy_cores: int | None  # None when it was not measured (--threads, or no /proc/stat)


@dataclass(frozen=True)
class Workers:
    """How a batch's shards are decoded: by `count` threads (1: on the calling thread), each
    computing with `threads_each` torch threads."""

    count: int
    threads_each: int


_MARK = "SYNSPEC_OPENMP_SET"  # names the OpenMP variable synspec set; child processes inherit it


def prepare_environment(spin: bool | None = None) -> None:
    """How OpenMP's waiting threads wait: spin a while (`spin`) or sleep at once (PASSIVE);
    None keeps what an earlier call chose (PASSIVE the first time).

    Only effective before torch is first imported. A variable synspec did not set (`_MARK`
    says which one it did, also in child processes) is the user's and is kept.
    """
    ours = os.environ.get(_MARK, "")
    if any(name in os.environ and name != ours for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")):
        return
    if spin is None:
        if ours:
            return
        spin = False
    if ours:
        os.environ.pop(ours, None)
    name, value = ("GOMP_SPINCOUNT", SPIN_COUNT) if spin else ("OMP_WAIT_POLICY", "PASSIVE")
    os.environ[name] = value
    os.environ[_MARK] = name


def can_watch() -> bool:
    """Whether the load can be measured here (`/proc/stat`), so `auto` threads may spin."""
    return _cpu_times(allowed_cpus()) is not None


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity mask), sorted."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def _cpu_times(cpus: list[int]) -> dict[int, int] | None:
    """Busy clock ticks per CPU since boot, from /proc/stat; None where unreadable."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    wanted = set(cpus)
    times = {}
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        try:
            cpu = int(name[3:])
            ticks = [int(f) for f in fields[:8]]
        except ValueError:
            continue
        if cpu in wanted and len(ticks) >= 5:
            times[cpu] = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    return times if len(times) == len(wanted) else None


def busy_cores(cpus: list[int], seconds: float = SAMPLE_S) -> int | None:
    """How many of `cpus` other processes keep busy now (summed busy shares, rounded)."""
    before = _cpu_times(cpus)
    start = time.monotonic()
    if before is None:
        return None
    time.sleep(seconds)
    after = _cpu_times(cpus)
    if after is None:
        return None
    ticks = (time.monotonic() - start) * _ticks_per_second()
    if ticks <= 0:
        return 0
    share = sum(min(1.0, (after[cpu] - before[cpu]) / ticks) for cpu in cpus)
    return int(share + 0.5)


def _ticks_per_second() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100.0


def parse_threads(value: str | int | None) -> int | None:
    """`--threads` as given: None or `auto` for automatic, else a positive integer.

    >>> parse_threads("auto"), parse_threads("2"), parse_threads(None)
    (None, 2, None)
    """
    from synspec.errors import UserError

    if value is None or value == "auto":
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise UserError(f"--threads must be a positive integer or `auto` (got {value!r})",
                        where="--threads", hint="e.g. --threads 1 on a machine shared with other work")
    return threads


def choose(requested: int | None = None) -> ThreadChoice:
    """The thread count to compute with: `requested` if given, else the free allowed cores."""
    cpus = allowed_cpus()
    if requested is not None:
        return ThreadChoice(requested, f"--threads {requested}", len(cpus), None)
    busy = busy_cores(cpus)
    if busy is None:
        return ThreadChoice(len(cpus), f"auto: {len(cpus)} allowed cores, load not measurable",
                            len(cpus), None)
    threads = max(1, len(cpus) - busy)
    return ThreadChoice(threads, f"auto: {len(cpus)} allowed cores, {busy} busy", len(cpus), busy)


def apply(choice: ThreadChoice) -> None:
    """Make torch compute with `choice.threads` threads (imports torch); watch the load while
    decoding when the choice was `auto` and measured (`tick`)."""
    prepare_environment()
    import torch

    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
    global _WATCH, _CHOICE
    _CHOICE = choice
    _LOCAL.share = 1
    measured = choice.busy_cores is not None and choice.reason.startswith("auto")
    _WATCH = LoadWatch(choice) if measured else None


def workers_for(shards: int) -> Workers:
    """The workers that decode a batch of `shards` shards: one per core we may use, up to the
    shard count, and the free cores shared among them (at least one thread each).

    The cores we may use: every allowed core under `auto` (a worker beside a busy neighbour
    is slower, not stalled), N under `--threads N`, torch's thread count when `apply` was
    never called (a benchmark or test driving the decoder directly).
    """
    import torch

    choice = _CHOICE
    if choice is None:
        cores = free = torch.get_num_threads()
    elif choice.reason.startswith("auto"):
        cores = choice.allowed_cores
        free = _WATCH.threads if _WATCH is not None else choice.threads
    else:
        cores = free = choice.threads
    count = max(1, min(shards, cores))
    return Workers(count, max(1, free // count))


def enter_worker(workers: Workers) -> None:
    """Called first on a worker thread: compute with `workers.threads_each` threads here, and
    follow the load watch with this thread's share of the free cores."""
    import torch

    _LOCAL.share = workers.count
    if torch.get_num_threads() != workers.threads_each:
        torch.set_num_threads(workers.threads_each)


def _own_seconds() -> float:
    """CPU seconds this process has used, every thread counted."""
    times = os.times()
    return times.user + times.system


class LoadWatch:
    """Follows, while decoding, how many allowed cores other processes leave free (`threads`);
    the decoding threads compute with them (`tick`, `follow`).

    Other processes' load = the allowed cores' busy ticks minus this process's own CPU time,
    over the last interval. A neighbour that arrives takes us down to the free cores (one
    thread has no barrier to wait at, so nothing spins or waits against it); when it leaves
    the threads go back up, never above the allowed cores. Every change is kept for the
    manifest (`changes`).
    """

    def __init__(self, choice: ThreadChoice, interval_s: float = WATCH_INTERVAL_S) -> None:
        self.cpus = allowed_cpus()
        self.threads = choice.threads  # the free cores: what the decoding threads share
        self.interval_s = interval_s
        self.started = time.monotonic()
        self.changes: list[str] = []
        self._last = self._sample()
        self._measuring = threading.Lock()  # shard workers tick it from their own threads

    def _sample(self) -> tuple[float, dict[int, int] | None, float]:
        return time.monotonic(), _cpu_times(self.cpus), _own_seconds()

    def tick(self) -> None:
        """Measure (at most once per interval) and change the free core count if the load did
        (`follow` makes the calling thread compute with it)."""
        if time.monotonic() - self._last[0] < self.interval_s or not self._measuring.acquire(blocking=False):
            return
        try:
            now = time.monotonic()
            if now - self._last[0] >= self.interval_s:  # another worker may have measured meanwhile
                self._measure(now)
        finally:
            self._measuring.release()

    def _measure(self, now: float) -> None:
        sample = self._sample()
        before, self._last = self._last, sample
        if before[1] is None or sample[1] is None:
            return
        ticks = (sample[0] - before[0]) * _ticks_per_second()
        busy = sum(min(ticks, sample[1][cpu] - before[1][cpu]) for cpu in self.cpus)
        own = (sample[2] - before[2]) * _ticks_per_second()
        others = max(0.0, busy - own) / ticks if ticks > 0 else 0.0
        target = max(1, len(self.cpus) - int(others + 0.5))
        if target != self.threads:
            self.threads = target
            self.changes.append(f"{now - self.started:.1f} s: {target} thread{'s' * (target > 1)} "
                                f"(other processes took {others:.1f} cores)")


_WATCH: LoadWatch | None = None
_CHOICE: ThreadChoice | None = None  # the choice `apply` made, for `workers_for`


class _ThreadShare(threading.local):
    share = 1  # how many decoding threads share the free cores: a worker's Workers.count


_LOCAL = _ThreadShare()


def tick() -> None:
    """Called by the decoding loop (per pass, and per layer: `decode._load_watched_per_layer`)
    on whichever thread decodes: lets the load watch act, and makes this thread compute with
    its share of the free cores (cheap otherwise)."""
    if _WATCH is not None:
        _WATCH.tick()
        follow(_WATCH.threads)


def follow(free: int) -> None:
    """Compute with this thread's share of `free` cores (torch's thread count is per thread)."""
    import torch

    wanted = max(1, free // _LOCAL.share)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def watching() -> bool:
    """Whether a load watch is installed (`apply` with a measured auto choice)."""
    return _WATCH is not None


def watched_changes() -> list[str]:
    """The thread count changes of the current watch, for the manifest."""
    return list(_WATCH.changes) if _WATCH is not None else []

