"""Speed of `synspec run` on the machine at hand: model load (cold and warm weights cache), rows/s
with the machine otherwise idle and beside a busy-loop process pinned to one core, per dtype.

Usage (from the repository root; prints Markdown):
    python -m benchmarks.bench_speed [--rows 128] [--dtypes float32 bfloat16] [--seeding levels]
        [--busy-threads auto 2] [--neighbour-after 8] [--quick-start]

Every figure comes from a fresh `python -m synspec run specs/diabetes.synspec` process and its
manifest (`timings.model_load_s`, `timings.rows_per_s`, `compute.threads`), so model loading
is what a user sees, imports included. Per dtype, in one run of this script:
1. cold: a new, empty weights cache (`SYNSPEC_CACHE_DIR` in a temp folder), so the GGUF is
   de-quantised and the cache written;
2. warm, idle: the same again, loading from the cache;
3. busy: the same, while `python -c "while True: pass"` runs pinned to the last allowed core,
   once per `--busy-threads` value (`auto` is synspec's default; `2` is what torch did before;
   `2:spin` is 2 threads with OpenMP's own wait policy, spin then sleep, instead of synspec's
   PASSIVE: exactly what synspec did before);
4. with `--neighbour-after S`: the same with `--threads auto`, the busy loop starting S seconds
   after the command (so mid-run: synspec starts on every core and its load watch has to see
   the neighbour arrive); the manifest's `compute.thread_changes` is printed under the table.
`--seeding levels` (the default here) leaves the numbers to the model, so rows/s measure the
model; `--quick-start` adds the README's command at its defaults (joint seeding: no model for
diabetes) and its wall time. The machine line names the CPU model and the flags that decide
matrix speed; a `--dtype bfloat16` row on a CPU without native bf16 is emulated arithmetic.
To measure such a CPU on one with native bf16, cap oneDNN (which runs torch's bfloat16
products) below it: `ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI python -m benchmarks.bench_speed ...`
(the machine line then says so, and synspec's `auto` picks float32: `generate/cpu.py`).
Timings on a shared machine are noisy: every row records the 1-minute load average before it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "diabetes.synspec"


@dataclass
class Result:
    label: str
    dtype: str
    load_avg: float
    wall_s: float
    manifest: dict

    def row(self) -> str:
        timings = self.manifest.get("timings", {})
        compute = self.manifest.get("compute") or {}
        model = self.manifest.get("model", {})
        load = timings.get("model_load_s")
        rate = timings.get("rows_per_s")
        workers = "" if compute.get("workers") is None else f"; {compute['workers']} workers"
        return (f"| {self.label} | {self.dtype} | {self.load_avg:.2f} | {compute.get('threads', '-')} "
                f"({compute.get('threads_reason', '-')}{workers}) | "
                f"{model.get('loaded_from') or '-'} | "
                f"{'-' if load is None else f'{load:.1f}'} | {self.manifest['counts']['accepted']} | "
                f"{'-' if rate is None else f'{rate:.2f}'} | {self.wall_s:.1f} |")


def synspec_run(out: Path, rows: int, dtype: str, seeding: str | None, threads: str, seed: int,
                env: dict[str, str]) -> tuple[float, dict]:
    """One `synspec run` in a fresh process: (wall seconds, its manifest)."""
    command = [sys.executable, "-m", "synspec", "run", str(SPEC), "-n", str(rows), "-o", str(out),
               "--seed", str(seed), "--force", "--dtype", dtype, "--threads", threads]
    if seeding:
        command += ["--seeding", seeding]
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return wall, json.loads(out.with_name(out.name + ".manifest.json").read_text())


def busy_loop(cpu: int) -> subprocess.Popen:
    """A process spinning on one core, pinned there: the neighbour a shared machine has."""
    code = f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"
    return subprocess.Popen([sys.executable, "-c", code])


def _run_with_late_neighbour(out: Path, args: argparse.Namespace, dtype: str, seeding: str | None,
                             env: dict[str, str], cpu: int) -> tuple[float, dict]:
    """`synspec_run` with `--threads auto`, a busy loop on `cpu` starting `args.neighbour_after` s in."""
    spinners: list[subprocess.Popen] = []
    timer = threading.Timer(args.neighbour_after, lambda: spinners.append(busy_loop(cpu)))
    timer.start()
    try:
        return synspec_run(out, args.rows, dtype, seeding, "auto", args.seed, env)
    finally:
        timer.cancel()
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def machine_line() -> str:
    from synspec.generate.cpu import cpu_info
    from synspec.generate.threads import allowed_cpus

    cpu = cpu_info()
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    capped = f" (oneDNN capped at {cap}: a CPU without native bf16, emulated)" if cap else ""
    return (f"machine: {cpu.model}, {platform.machine()}, {len(allowed_cpus())} allowed cores of "
            f"{os.cpu_count()}, flags {' '.join(cpu.flags) or 'none of ' + 'avx2/avx512'}, native bf16: "
            f"{'yes' if cpu.bf16 else 'no'}{capped}; Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16", "int8", "auto"])
    parser.add_argument("--seeding", default="levels", help="passed to synspec run; `default` omits it")
    parser.add_argument("--busy-threads", nargs="+", default=["auto", "2"],
                        help="--threads values for the runs beside the busy core")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--neighbour-after", type=float, default=None, metavar="S",
                        help="also a run whose busy-loop neighbour starts S seconds in (--threads auto)")
    parser.add_argument("--quick-start", action="store_true",
                        help="also time the README's quick start command (defaults, -n 100)")
    args = parser.parse_args()
    seeding = None if args.seeding == "default" else args.seeding
    print(machine_line())
    print(f"command: python -m benchmarks.bench_speed {' '.join(sys.argv[1:])}; diabetes, -n {args.rows}, "
          f"--seeding {args.seeding}, --seed {args.seed}")
    print("| condition | dtype | load avg (1 min) | threads | loaded from | model load (s) | rows | rows/s | "
          "command wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    from synspec.generate.threads import allowed_cpus

    pinned = allowed_cpus()[-1]
    notes = []
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as scratch:
        folder = Path(scratch)
        for dtype in args.dtypes:
            env = {**os.environ, "SYNSPEC_CACHE_DIR": str(folder / f"cache-{dtype}"),
                   "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
            results = []
            for label in ("idle, cold cache", "idle, warm cache"):
                load_avg = os.getloadavg()[0]
                wall, manifest = synspec_run(folder / "out.csv", args.rows, dtype, seeding, "auto", args.seed,
                                             env)
                results.append(Result(label, dtype, load_avg, wall, manifest))
                print(results[-1].row(), flush=True)
            for choice in args.busy_threads:
                threads, _, wait = choice.partition(":")
                # An empty value is not a policy libgomp knows: it keeps its default (spin, then sleep).
                run_env = {**env, "OMP_WAIT_POLICY": ""} if wait == "spin" else env
                spinner = busy_loop(pinned)
                try:
                    time.sleep(1.0)  # let the spinner show in /proc/stat
                    load_avg = os.getloadavg()[0]
                    wall, manifest = synspec_run(folder / "out.csv", args.rows, dtype, seeding, threads,
                                                 args.seed, run_env)
                finally:
                    spinner.kill()
                    spinner.wait()
                policy = ", OpenMP's default wait policy" if wait == "spin" else ""
                results.append(Result(f"one core busy (pinned to cpu {pinned}), --threads {threads}{policy}",
                                      dtype, load_avg, wall, manifest))
                print(results[-1].row(), flush=True)
            if args.neighbour_after is not None:
                load_avg = os.getloadavg()[0]
                wall, manifest = _run_with_late_neighbour(folder / "out.csv", args, dtype, seeding, env,
                                                          pinned)
                results.append(Result(f"neighbour pinned to cpu {pinned} from {args.neighbour_after:g} s in, "
                                      "--threads auto", dtype, load_avg, wall, manifest))
                print(results[-1].row(), flush=True)
                changes = (manifest.get("compute") or {}).get("thread_changes") or ["none"]
                notes.append(f"{dtype}, neighbour from {args.neighbour_after:g} s in: thread changes "
                             f"{'; '.join(changes)}")
            idle = results[1].manifest["timings"]["rows_per_s"]
            for result in results[2:]:
                busy = result.manifest["timings"]["rows_per_s"]
                if idle and busy:
                    notes.append(f"{dtype}, {result.label}: {busy / idle:.0%} of the idle rows/s "
                                 "(warm cache)")
        if args.quick_start:
            env = {**os.environ, "SYNSPEC_CACHE_DIR": str(folder / "cache-quick"),
                   "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
            load_avg = os.getloadavg()[0]
            wall, manifest = synspec_run(folder / "quick.csv", 100, "auto", None, "auto", 0, env)
            print(Result("README quick start (defaults, -n 100, --seed 0)", manifest["model"]["dtype"],
                         load_avg, wall, manifest).row())
    for note in notes:
        print(f"- {note}")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
