"""Benchmark `synspec eval` end to end: diabetes, 100,000 real rows vs 10,000 synthetic rows.

The synthetic table is the baseline generator's output (no model needed). Prints wall time and
peak resident memory of the eval process. Usage:
    python benchmarks/bench_eval.py [--real PATH] [--rows 10000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "diabetes.csv")
    parser.add_argument("--spec", type=Path, default=ROOT / "specs" / "diabetes.synspec")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    from synspec.cli.common import load_spec
    from synspec.evaluate.baseline import baseline_raw

    spec = load_spec(args.spec)
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(tmp) / "synthetic.csv"
        baseline_raw(spec, args.rows, seed=123).to_csv(synthetic, index=False)
        command = [
            sys.executable,
            "-m",
            "synspec",
            "eval",
            "--spec",
            str(args.spec),
            "--real",
            str(args.real),
            "--synthetic",
            str(synthetic),
            "-o",
            str(Path(tmp) / "r.html"),
            "--json",
            str(Path(tmp) / "r.json"),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"eval failed ({done.returncode}):\n{done.stderr}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
    print(
        f"eval {args.real.name} vs {args.rows} synthetic rows: {wall:.1f} s wall, peak RSS {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
