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
OpenMP's wait policy is set to PASSIVE (threads that wait sleep instead of spinning, so
they do not steal the core a neighbour, or our own other thread, needs), which only
works if it is set before torch is first imported: `prepare_environment` does that.

The thread count changes no output byte: every batch's sampling is seeded by
(seed, batch) and the kernels' sums do not depend on how the work is split
(tests/test_run_cli.py runs the same rows on 1 and 2 threads).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.2  # 20 clock ticks per core at USER_HZ 100: a busy core shows as 19-21


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str  # how it was chosen, for the manifest: "--threads 2" or "auto: ..."
    allowed_cores: int
    busy_cores: int | None  # None when it was not measured (--threads, or no /proc/stat)


def prepare_environment() -> None:
    """OpenMP's waiting threads sleep rather than spin; only effective before torch is imported."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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
    """Make torch compute with `choice.threads` threads (imports torch)."""
    prepare_environment()
    import torch

    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)

