"""Speed of `synspec infer`: wall time per CSV (best of N runs), read + profile + write text.

Usage: python benchmarks/bench_infer.py [--repeat 3] [--synthetic-rows 500000]
Reads the real files from ../shared/data (or $SYNSPEC_DATA) when present, plus one
synthetic CSV written to a temp folder so the scaling with rows is visible. Each file is
inferred with its target, so the statistics given each target level are measured too.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from synspec.infer import InferOptions, infer_spec

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("SYNSPEC_DATA", ROOT.parent / "shared" / "data"))
TARGETS = {"diabetes.csv": "diabetes", "cirrhosis.csv": "Status", "stroke.csv": "stroke",
           "synthetic.csv": "label"}


def _synthetic(path: Path, rows: int) -> Path:
    rng = random.Random(0)
    levels = ["never", "former", "current", "No Info"]
    with path.open("w", encoding="utf-8") as handle:
        handle.write("age,bmi,smoker,label,glucose\n")
        for _ in range(rows):
            handle.write(f"{rng.randint(1, 90)},{rng.uniform(15, 45):.2f},{rng.choice(levels)},"
                         f"{rng.randint(0, 1)},{rng.choice(['NA', str(rng.randint(70, 300))])}\n")
    return path


def _best(path: Path, repeat: int) -> tuple[float, int]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = infer_spec(path, InferOptions(target=TARGETS.get(path.name)))
        best = min(best, time.perf_counter() - start)
    return best, result.n_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--synthetic-rows", type=int, default=500_000)
    args = parser.parse_args()
    files = [DATA / f"{n}.csv" for n in ("diabetes", "cirrhosis", "stroke") if (DATA / f"{n}.csv").exists()]
    with tempfile.TemporaryDirectory() as tmp:
        files.append(_synthetic(Path(tmp) / "synthetic.csv", args.synthetic_rows))
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"| file | rows | best of {args.repeat} (s) | rows/s |")
        print("|---|---|---|---|")
        for path in files:
            seconds, rows = _best(path, args.repeat)
            print(f"| {path.name} | {rows} | {seconds:.3f} | {rows / seconds:,.0f} |")


if __name__ == "__main__":
    main()
