"""`synspec validate` at two git revisions (or with two engines), run alternately: which is faster?

Usage (from the repository root):
    python -m benchmarks.bench_validate_ab [DATA] [--base HEAD~1] [--engine duckdb] [--reps 3]
    python -m benchmarks.bench_validate_ab --gb 2.0      # on a generated diabetes-shaped CSV
    python -m benchmarks.bench_validate_ab --counts-query --reps 6   # DuckDB's counts query alone
    python -m benchmarks.bench_validate_ab DATA --versus pandas      # this checkout, two engines
    python -m benchmarks.bench_validate_ab SMALL.csv --instructions  # the counts query's instructions
    python -m benchmarks.bench_validate_ab DATA --threads 1 2        # the DuckDB engine on 1 and 2 threads

A shared machine's speed drifts by tens of percent within an hour, so a before/after pair is
only comparable when both run in the same sequence. This checks --base out into a temporary git
worktree, then runs `synspec validate DATA --spec SPEC --engine ENGINE` from that worktree and
from this checkout alternately, each in a child process (wall time and the peak RSS of the
process tree, as `bench_validate.timed` measures them). It prints every run, the best and the
median of each side, and whether the two printed summaries are the same. Without DATA it writes
`bench_validate`'s diabetes-shaped CSV of --gb GB under --dir and deletes it afterwards.
--counts-query times only DuckDB's counts query on a CSV (built and run inside each child, so
interpreter start, imports and the failing-rows pass are left out): the SQL target's own cost.
--versus ENGINE runs this checkout only, --engine against ENGINE, and prints how many times
faster --engine is (the ratio of the medians): issue 12's DuckDB-against-pandas figure, measured
so that the host's drift falls on both engines alike.
--threads N [N ...] runs the DuckDB engine's whole validation (`validate_duckdb`, in a child
per run, so imports are left out) with DuckDB limited to each thread count in turn: how the
engine scales with cores, on a host that has few.
--instructions counts the instructions the counts query executes on one thread, under valgrind's
callgrind, once per side: only inside DuckDB's execute calls, so planning counts (the engine pays
it) and the interpreter's start does not. The count does not drift with the host's load: two
runs of one side agree to within 0.05%, so a change of 0.1% shows. It is not
time (cache misses and branch mispredictions cost cycles, not instructions), so confirm a change
it favours with timed runs. Valgrind runs about 40 times slower: give it a file of a few MB
(`head -c 5000000 big.csv | head -n -1 > small.csv`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from benchmarks.bench_validate import ROOT, SPEC, timed, write_csv

# Run by each side's interpreter with its own synspec: the seconds of the counts query, then the counts.
_COUNTS_QUERY = """
import hashlib, sys, time, duckdb
from pathlib import Path
from synspec.passes import check_file
from synspec.targets.sql import build_queries
from synspec.validation_engines.duckdb_engine import _csv_relation, _source_names
spec = check_file(Path(sys.argv[2])).spec
query = build_queries(spec, 'duckdb', source=_csv_relation(Path(sys.argv[1]), spec),
                      source_columns=_source_names(spec)).counts
con = duckdb.connect()
con.execute('SET enable_progress_bar = false')  # it would print to our stdout
if len(sys.argv) > 3:  # --instructions: one thread, so the work follows one fixed schedule
    con.execute('SET threads = 1')
start = time.perf_counter()
counts = con.execute(query).fetchall()[0]
print(f'{time.perf_counter() - start:.3f} s for the counts query; counts '
      f'{hashlib.sha256(repr(counts).encode()).hexdigest()[:16]}')
"""

# Run by a child of this checkout: the DuckDB engine's whole validation on argv[3] threads.
_VALIDATE_THREADS = """
import sys, time
from pathlib import Path
from synspec.passes import check_file
from synspec.validation_engines.duckdb_engine import validate_duckdb
from synspec.validation_engines.sources import resolve
spec = check_file(Path(sys.argv[2])).spec
source = resolve(sys.argv[1], spec)
start = time.perf_counter()
report = validate_duckdb(source, spec, threads=int(sys.argv[3]))
print(f'{time.perf_counter() - start:.3f} s to validate; {report["rows"]} rows, '
      f'{report["rows_passing_hard_checks"]} passing')
"""


@contextmanager
def _worktree(revision: str, folder: Path) -> Iterator[Path]:
    """`revision` checked out under `folder` while the block runs, removed afterwards."""
    path = folder / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), revision],
                   check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def _instructions(root: Path, data: Path, spec: Path) -> int:
    """Instructions executed inside DuckDB's execute calls (callgrind) by the counts-query script.

    Only those calls are counted (`--toggle-collect`), so the interpreter's start and imports,
    which vary by tens of millions of instructions from run to run, stay out: two runs agree to
    within 0.05%."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               "--toggle-collect=*DuckDBPyConnection::Execute*", sys.executable, "-c",
               _COUNTS_QUERY, str(data.resolve()), str(spec.resolve()), "instructions"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(root)})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind: {done.stderr[-500:]}")
    return int(found.group(1))


def compare_instructions(data: Path, spec: Path, base: str, folder: Path) -> None:
    """The counts query's instructions at --base and in this checkout (one thread, callgrind)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    with data.open("rb") as handle:
        rows = sum(1 for _ in handle) - 1
    counts = {}
    print("| side | instructions in the counts query | per row |")
    print("|---|---|---|")
    with _worktree(base, folder) as tree:
        for name, root in ((f"base ({base})", tree), ("this checkout", ROOT)):
            counts[name] = _instructions(root, data, spec)
            print(f"| {name} | {counts[name]:,} | {counts[name] / rows:,.0f} |", flush=True)
    before, after = counts.values()
    print(f"this checkout: {100 * (after - before) / before:+.1f}% instructions ({rows:,} rows)")


def compare(data: Path, spec: Path, engine: str, base: str, reps: int, folder: Path,
            counts_query: bool = False, versus: str | None = None, threads: Sequence[int] = ()) -> None:
    """Alternate the sides: --base's worktree and this checkout, this checkout's two engines, or
    the DuckDB engine on each thread count."""
    in_process = counts_query or bool(threads)  # the child times itself: "<seconds> s ...; <summary>"
    with ExitStack() as stack:
        # Each side: the checkout it runs from, and its engine (its thread count with --threads).
        if threads:
            sides = {f"threads={t}": (ROOT, str(t)) for t in threads}
        elif versus is None:
            tree = stack.enter_context(_worktree(base, folder))
            sides = {f"base ({base})": (tree, engine), "this checkout": (ROOT, engine)}
        else:
            sides = {f"--engine {versus}": (ROOT, versus), f"--engine {engine}": (ROOT, engine)}
        walls: dict[str, list[float]] = {name: [] for name in sides}
        summaries: dict[str, set[str]] = {name: set() for name in sides}
        print("| run | side | wall | peak RSS | exit |")
        print("|---|---|---|---|---|")
        for rep in range(1, reps + 1):
            for name, (root, setting) in sides.items():
                if counts_query:
                    command = [sys.executable, "-c", _COUNTS_QUERY, str(data.resolve()), str(spec.resolve())]
                elif threads:
                    command = [sys.executable, "-c", _VALIDATE_THREADS, str(data.resolve()),
                               str(spec.resolve()), setting]
                else:
                    command = [sys.executable, "-m", "synspec", "validate", str(data.resolve()),
                               "--spec", str(spec.resolve()), "--engine", setting]
                wall, peak, code, last = timed(command, root)
                if in_process:  # the child's own seconds, and what it found as the summary
                    wall, last = float(last.split()[0]), last.split("; ")[-1]
                walls[name].append(wall)
                summaries[name].add(last.split(" [peak")[0])
                print(f"| {rep} | {name} | {wall:.2f} s | {peak:.0f} MB | {code} |", flush=True)
    for name, values in walls.items():
        print(f"{name}: best {min(values):.2f} s, median {statistics.median(values):.2f} s")
    if versus is not None:
        slow, fast = (statistics.median(values) for values in walls.values())
        print(f"--engine {engine} is {slow / fast:.2f}x --engine {versus} (medians)")
    same = len(set().union(*summaries.values())) == 1
    print("same summary line on both sides" if same else f"summaries differ: {summaries}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, help="a CSV or Parquet file (default: generate one)")
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--base", default="HEAD~1", help="the revision to compare against")
    parser.add_argument("--engine", default="duckdb", choices=["pandas", "duckdb", "spark"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--gb", type=float, default=0.5, help="size of the generated CSV without DATA")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--counts-query", action="store_true",
                        help="time DuckDB's counts query alone (a CSV), not the whole command")
    parser.add_argument("--versus", choices=["pandas", "duckdb", "spark"],
                        help="compare --engine against this engine, both on this checkout (no --base)")
    parser.add_argument("--threads", type=int, nargs="+", default=[],
                        help="time the DuckDB engine with DuckDB on each of these thread counts")
    parser.add_argument("--instructions", action="store_true",
                        help="count the counts query's instructions (valgrind; a CSV of a few MB)")
    args = parser.parse_args()
    if args.versus is not None and (args.counts_query or args.versus == args.engine):
        parser.error("--versus takes an engine other than --engine, and no --counts-query")
    if args.threads and (args.versus is not None or args.counts_query or args.instructions):
        parser.error("--threads times the DuckDB engine alone: no --versus, --counts-query or --instructions")
    if args.instructions and (args.versus is not None or args.data is None):
        parser.error("--instructions takes a CSV (DATA) and --base, not --versus")
    folder = Path(tempfile.mkdtemp(prefix="synspec-ab-", dir=args.dir))
    try:
        data = args.data
        if data is None:
            data = folder / "diabetes_shaped.csv"
            rows = write_csv(data, args.gb)
            print(f"wrote {data}: {data.stat().st_size / 1e9:.2f} GB, {rows:,} rows")
        if args.instructions:
            compare_instructions(data, args.spec, args.base, folder)
        else:
            compare(data, args.spec, args.engine, args.base, args.reps, folder, args.counts_query,
                    args.versus, args.threads)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
