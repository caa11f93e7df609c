"""Speed and memory of the rule checker and `synspec validate`.

Usage (from the repository root):
    python -m benchmarks.bench_validate [--rows 1000000] [--reference-rows 20000] [--repeat 3]
    python -m benchmarks.bench_validate --big [--big-gb 2.0]
    python -m benchmarks.bench_validate --engines [--big-gb 2.0] [--ten-gb] [--dir /tmp]

1. Throughput: a table shaped like specs/diabetes.synspec (its 9 columns, its 7 rules, values
   drawn from the spec's own levels, ranges and frequencies; seeded) with --rows rows. Times
   `to_typed` (parsing), `Checker.run` (every column check and rule) and the rules alone, and
   reports row-rule evaluations per second. The per-row reference evaluator runs in the same
   process on the first --reference-rows rows only; its rate is extrapolated to the full table
   (it is linear in rows) and the ratio printed.
2. --big: writes a CSV of about --big-gb GB into benchmarks/_data/ (git-ignored), runs
   `synspec validate` on it in a child process, reports wall time and the child's peak RSS,
   and deletes the file.
3. --engines: writes the same CSV under --dir (default /tmp, never the repository) and its
   Parquet twin (typed columns, as a warehouse holds them), then runs `synspec validate` with
   --engine pandas, duckdb and spark (local[2]) on both, and the pandera peer
   (benchmarks/pandera_peer.py) on the CSV, each in a child process: wall time and the peak RSS
   of the child's whole process tree (Spark's JVM included). --ten-gb also writes a Parquet glob
   of about 10 GB (uncompressed string columns, copies of one file) and validates it with DuckDB.
   Every file is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synspec import data, ir
from synspec.passes import check_file
from synspec.targets import reference_checker
from synspec.targets.checker import compile_checker, compile_expr

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "diabetes.synspec"
BIG_DIR = ROOT / "benchmarks" / "_data"


def synthetic_raw(spec: ir.Spec, rows: int, seed: int = 0) -> pd.DataFrame:
    """Rows shaped like the spec: levels by frequency, numbers uniform in range with the spec's places."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for column in spec.columns:
        if column.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN):
            levels = [level for level, _ in column.frequencies] or list(column.levels)
            shares = np.array([share for _, share in column.frequencies] or [1.0] * len(levels))
            columns[column.name] = np.asarray(levels, dtype=object)[
                rng.choice(len(levels), size=rows, p=shares / shares.sum())]
        else:
            low, high = column.low or 0.0, column.high or 100.0
            values = rng.uniform(low, high, size=rows)
            if column.kind is ir.ColumnKind.INTEGER:
                text = np.round(values).astype(np.int64).astype(str)
            else:
                text = np.char.mod(f"%.{column.places}f", values)
            columns[column.name] = text.astype(object)
    # dtype "str": the arrow-backed strings `read_raw` returns, so parsing is timed on real input.
    return pd.DataFrame({name: pd.Series(values, dtype="str") for name, values in columns.items()})


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def throughput(rows: int, reference_rows: int, repeat: int) -> None:
    spec = check_file(SPEC).spec
    assert spec is not None
    raw = synthetic_raw(spec, rows)
    typed = data.to_typed(raw, spec)
    checker = compile_checker(spec)
    rules = [compile_expr(spec, rule.expr) for rule in spec.rules]
    n_rules, n_checks = len(spec.rules), len(checker.checks)

    t_parse = best_of(lambda: data.to_typed(raw, spec), repeat)
    t_run = best_of(lambda: checker.run(typed), repeat)
    t_rules = best_of(lambda: [fn(typed) for fn in rules], repeat)

    sub = data.to_typed(raw.iloc[:reference_rows], spec)
    start = time.perf_counter()
    reference_checker.check_rules(sub, spec)
    t_ref_sub = time.perf_counter() - start
    ref_rate = reference_rows * n_rules / t_ref_sub

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}")
    print(f"table: {rows:,} rows shaped like {SPEC.name}: {n_rules} rules, {n_checks} checks in all "
          f"(best of {repeat})")
    print(f"parse (to_typed):            {t_parse:8.3f} s  {rows / t_parse / 1e6:8.2f} M rows/s")
    print(f"rules only:                  {t_rules:8.3f} s  "
          f"{rows * n_rules / t_rules / 1e6:8.2f} M row-rule evaluations/s")
    print(f"Checker.run (all checks):    {t_run:8.3f} s  "
          f"{rows * n_checks / t_run / 1e6:8.2f} M row-check evaluations/s")
    print(f"reference (per row, {reference_rows:,} rows, extrapolated): {ref_rate / 1e6:8.3f} M row-rule "
          f"evaluations/s -> {rows * n_rules / ref_rate:.1f} s for the full table")
    print(f"ratio vectorised/reference (rules only): {(rows * n_rules / t_rules) / ref_rate:,.0f}x")


def big(gigabytes: float, chunk_size: int) -> None:
    spec = check_file(SPEC).spec
    assert spec is not None
    BIG_DIR.mkdir(parents=True, exist_ok=True)
    path = BIG_DIR / "big_diabetes.csv"
    target = int(gigabytes * 1e9)
    try:
        start = time.perf_counter()
        block = synthetic_raw(spec, 500_000, seed=1).to_csv(index=False, lineterminator="\n")
        header, _, body = block.partition("\n")
        with path.open("w", encoding="utf-8") as handle:
            handle.write(header + "\n")
            written, rows = len(header) + 1, 0
            while written < target:
                handle.write(body)
                written += len(body)
                rows += 500_000
        print(f"wrote {path.relative_to(ROOT)}: {written / 1e9:.2f} GB, {rows:,} rows "
              f"in {time.perf_counter() - start:.0f} s")
        command = [sys.executable, "-m", "synspec", "validate", str(path), "--spec", str(SPEC),
                   "--chunk-size", str(chunk_size)]
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
            peak_kb = 0
            while child.poll() is None:
                peak_kb = max(peak_kb, _peak_rss_kb(child.pid))
                time.sleep(0.05)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        wall = time.perf_counter() - start
        peak_mb = peak_kb / 1024
        print(f"synspec validate --chunk-size {chunk_size}: exit {child.returncode}, {wall:.0f} s, "
              f"{written / 1e6 / wall:.0f} MB/s, peak RSS {peak_mb:.0f} MB")
        print(stdout.strip().splitlines()[-1] if stdout.strip() else stderr[-2000:])
    finally:
        if path.exists():
            path.unlink()
        if BIG_DIR.exists() and not any(BIG_DIR.iterdir()):
            shutil.rmtree(BIG_DIR)


def _peak_rss_kb(pid: int) -> int:
    """The child's own peak RSS so far (VmHWM). Not getrusage(RUSAGE_CHILDREN): a forked child
    is charged the parent's pages until it execs, which here would count the benchmark's own
    million-row frames."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants now (Spark's JVM is a child)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total // 1024


def _tree_anon_kb(pid: int) -> int:
    """Anonymous resident memory (RssAnon: not file pages, e.g. of a mapped input) of the tree."""
    import psutil

    try:
        pids = [pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for one in pids:
        try:
            with open(f"/proc/{one}/status", encoding="ascii") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("RssAnon:")), 0)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def timed(command: list[str], root: Path = ROOT) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB, process tree, polled every 50 ms), exit code, last output line.

    `root`: the checkout whose synspec runs (working directory and PYTHONPATH).
    Also prints the peak anonymous RSS when it differs much from the RSS (mapped input files)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True, cwd=root,
                                 env={**os.environ, "PYTHONPATH": str(root)})
        peak_kb = anon_kb = 0
        while child.poll() is None:
            peak_kb = max(peak_kb, _tree_rss_kb(child.pid), _peak_rss_kb(child.pid))
            anon_kb = max(anon_kb, _tree_anon_kb(child.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().strip(), err.read().strip()
    last = stdout.splitlines()[-1] if stdout else stderr[-300:]
    if peak_kb > 1.5 * anon_kb:
        last += f" [peak anonymous RSS {anon_kb / 1024:.0f} MB]"
    return wall, peak_kb / 1024, child.returncode, last


def write_csv(path: Path, gigabytes: float) -> int:
    spec = check_file(SPEC).spec
    assert spec is not None
    block = synthetic_raw(spec, 500_000, seed=1).to_csv(index=False, lineterminator="\n")
    header, _, body = block.partition("\n")
    rows = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        written = len(header) + 1
        while written < gigabytes * 1e9:
            handle.write(body)
            written += len(body)
            rows += 500_000
    return rows


def engines(gigabytes: float, folder: Path, ten_gb: bool, which: list[str]) -> None:
    import duckdb

    work = Path(tempfile.mkdtemp(prefix="synspec-bench-", dir=folder))
    csv_path, parquet_path = work / "big_diabetes.csv", work / "big_diabetes.parquet"
    try:
        start = time.perf_counter()
        rows = write_csv(csv_path, gigabytes)
        print(f"wrote {csv_path}: {csv_path.stat().st_size / 1e9:.2f} GB, {rows:,} rows "
              f"in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', header = true)) TO '{parquet_path}' "
                    "(FORMAT parquet)")
        types = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{parquet_path}')").fetchall()
        con.close()
        print(f"wrote {parquet_path}: {parquet_path.stat().st_size / 1e9:.2f} GB (typed: "
              f"{', '.join(f'{n} {t}' for n, t, *_ in types)}) in {time.perf_counter() - start:.0f} s")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at start")
        runs: list[tuple[str, Path, list[str]]] = []
        for path in (csv_path, parquet_path):
            for engine in [e for e in ("pandas", "duckdb", "spark") if e in which]:
                extra = ["--connect", "local[2]"] if engine == "spark" else []
                runs.append((f"synspec --engine {engine}", path,
                             [sys.executable, "-m", "synspec", "validate", str(path), "--spec", str(SPEC),
                              "--engine", engine, *extra]))
        if "pandera" in which:
            runs.append(("pandera (peer)", csv_path,
                         [sys.executable, "-m", "benchmarks.pandera_peer", str(csv_path)]))
        print("| run | input | wall | MB/s (CSV bytes) | peak RSS | exit |")
        print("|---|---|---|---|---|---|")
        size = csv_path.stat().st_size
        for label, path, command in runs:
            wall, peak, code, last = timed(command)
            print(f"| {label} | {path.suffix[1:]} | {wall:.1f} s | {size / 1e6 / wall:.0f} | {peak:.0f} MB "
                  f"| {code} |")
            print(f"  {last}", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        if ten_gb:
            ten(csv_path, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ten(csv_path: Path, work: Path) -> None:
    """A ~10 GB Parquet glob (string columns, uncompressed) validated by DuckDB."""
    import duckdb

    parts = work / "parts"
    parts.mkdir()
    first = parts / "part-000.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', header = true, all_varchar = true)) "
                f"TO '{first}' (FORMAT parquet, COMPRESSION uncompressed)")
    con.close()
    total, copies = first.stat().st_size, 1
    while total < 10e9:
        shutil.copyfile(first, parts / f"part-{copies:03d}.parquet")
        total += first.stat().st_size
        copies += 1
    csv_path.unlink()  # room on the disk
    print(f"wrote {copies} Parquet files, {total / 1e9:.1f} GB in all, under {parts}")
    command = [sys.executable, "-m", "synspec", "validate", str(parts / "part-*.parquet"),
               "--spec", str(SPEC), "--engine", "duckdb"]
    wall, peak, code, last = timed(command)
    print(f"| synspec --engine duckdb | {total / 1e9:.1f} GB Parquet glob | {wall:.1f} s | "
          f"{total / 1e6 / wall:.0f} MB/s | {peak:.0f} MB | {code} |")
    print(f"  {last}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also validate a generated ~2 GB CSV")
    parser.add_argument("--big-gb", type=float, default=2.0)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--engines", action="store_true",
                        help="only: pandas vs DuckDB vs Spark vs pandera on a ~2 GB CSV and its Parquet twin")
    parser.add_argument("--ten-gb", action="store_true", help="with --engines: also a ~10 GB Parquet glob")
    parser.add_argument("--only", default="pandas,duckdb,spark,pandera",
                        help="with --engines: which runs (comma-separated)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where --engines writes its files (deleted afterwards)")
    args = parser.parse_args()
    if args.engines:
        engines(args.big_gb, args.dir, args.ten_gb, args.only.split(","))
        return
    throughput(args.rows, args.reference_rows, args.repeat)
    if args.big:
        big(args.big_gb, args.chunk_size)


if __name__ == "__main__":
    main()
