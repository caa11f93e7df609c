"""Rows/s through an OpenAI-compatible llama.cpp server against the in-process engine, one run.

Usage (from the repository root; prints Markdown, writes nothing in the repository):
    python -m benchmarks.bench_server [--spec specs/diabetes.synspec] [--rows 64]
        [--seeding marginals] [--llama-server PATH --parallel 1 2 4] [--concurrency 4]

In one run, on the same spec, seed and settings, each as a fresh `python -m synspec run`
process whose manifest gives the figures (`timings.rows_per_s`, model load), then
`synspec validate` on its output:
1. `--engine local` at `--dtype float32` and at `auto` (bfloat16 where the CPU has it);
2. `--engine server` on llama-cpp-python's server (`python -m llama_cpp.server`, the bundled
   GGUF, one request at a time: it has no parallel slots), with all allowed cores as threads;
3. with `--llama-server PATH` (llama.cpp's own `llama-server` binary, built from the
   llama.cpp sources that ship in llama-cpp-python's sdist: docs/benchmarks.md says how), the
   same with `--parallel K` slots (continuous batching), once per K, `--concurrency K`.
`--seeding marginals` (the default) leaves every row's numbers to the model, so the figures
measure decoding, not the joint draw. The server's rows/s includes its prompt processing on
the first request (the prompt is then cached). Rows are valid when `synspec validate` exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_NAME = "smollm2"


def bundled_gguf() -> Path:
    """The GGUF `--model default` loads (the servers serve the same file)."""
    from synspec.generate.model import default_location

    return default_location().weights_path


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Result:
    label: str
    load_avg: float
    wall_s: float
    manifest: dict
    valid: bool

    def row(self) -> str:
        timings = self.manifest.get("timings", {})
        rate = timings.get("rows_per_s")
        load = timings.get("model_load_s")
        return (f"| {self.label} | {self.load_avg:.2f} | {'-' if load is None else f'{load:.1f}'} | "
                f"{self.manifest['counts']['accepted']} | {self.manifest['counts']['generated']} | "
                f"{'-' if rate is None else f'{rate:.2f}'} | {self.wall_s:.1f} | "
                f"{'yes' if self.valid else 'NO'} |")


def run(label: str, spec: Path, out: Path, args: argparse.Namespace, extra: list[str]) -> Result:
    load_avg = os.getloadavg()[0]
    command = [sys.executable, "-m", "synspec", "run", str(spec), "-n", str(args.rows), "-o", str(out),
               "--seed", str(args.seed), "--seeding", args.seeding, "--force", *extra]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"{label}: synspec run exited {done.returncode}:\n{done.stderr[-2000:]}")
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    valid = subprocess.run([sys.executable, "-m", "synspec", "validate", str(out), "--spec", str(spec)],
                           capture_output=True, cwd=ROOT).returncode == 0
    return Result(label, load_avg, wall, manifest, valid)


class Server:
    """A llama.cpp server process on 127.0.0.1 (llama-cpp-python's, or `llama-server`)."""

    def __init__(self, command: list[str], port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=self.log,
                                        env={**os.environ, "HF_HUB_OFFLINE": "1"})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"server exited: {' '.join(command)} (log {log})")
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        sys.exit(f"server not ready: {' '.join(command)}")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()


def python_server(port: int, threads: int, log: Path) -> Server:
    return Server([sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()),
                   "--model_alias", MODEL_NAME, "--host", "127.0.0.1", "--port", str(port),
                   "--n_ctx", "4096", "--n_threads", str(threads), "--verbose", "false"], port, log)


def cpp_server(binary: str, port: int, threads: int, parallel: int, log: Path) -> Server:
    # Each slot gets n_ctx / parallel tokens: enough for the prompt and a row.
    return Server([binary, "-m", str(bundled_gguf()), "--alias", MODEL_NAME, "--host", "127.0.0.1",
                   "--port", str(port), "-t", str(threads), "--parallel", str(parallel),
                   "-c", str(2048 * parallel), "--cont-batching"], port, log)


def machine_line() -> str:
    from synspec.generate.cpu import cpu_info

    cpu = cpu_info()
    return (f"{cpu.model} ({', '.join(cpu.flags) or 'no avx512/amx flags'}; native bf16: "
            f"{'yes' if cpu.bf16 else 'no'}), {len(os.sched_getaffinity(0))} allowed cores, "
            f"Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, default=ROOT / "specs" / "diabetes.synspec")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeding", default="marginals")
    parser.add_argument("--llama-server", metavar="PATH", help="llama.cpp's llama-server binary")
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=4, help="for llama-cpp-python's server")
    args = parser.parse_args()
    threads = len(os.sched_getaffinity(0))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="synspec-bench-server-") as folder:
        tmp = Path(folder)
        for dtype in ("float32", "auto"):
            results.append(run(f"local, --dtype {dtype}", args.spec, tmp / f"local-{dtype}.csv", args,
                               ["--engine", "local", "--dtype", dtype]))
            print(results[-1].row(), file=sys.stderr)
        server = python_server(free_port(), threads, tmp / "python-server.log")
        try:
            label = f"server: llama-cpp-python, {threads} threads, --concurrency {args.concurrency}"
            results.append(run(label, args.spec, tmp / "python-server.csv", args,
                               ["--engine", "server", "--base-url", server.url, "--model", MODEL_NAME,
                                "--concurrency", str(args.concurrency)]))
            print(results[-1].row(), file=sys.stderr)
        finally:
            server.stop()
        for parallel in args.parallel if args.llama_server else []:
            log = tmp / f"cpp-{parallel}.log"
            server = cpp_server(args.llama_server, free_port(), threads, parallel, log)
            try:
                results.append(run(f"server: llama-server, {threads} threads, --parallel {parallel}",
                                   args.spec, tmp / f"cpp-{parallel}.csv", args,
                                   ["--engine", "server", "--base-url", server.url, "--model", MODEL_NAME,
                                    "--concurrency", str(parallel)]))
                print(results[-1].row(), file=sys.stderr)
            finally:
                server.stop()
    print(f"Machine: {machine_line()}")
    parallel = " ".join(map(str, args.parallel))
    print(f"Command: python -m benchmarks.bench_server --spec {args.spec.relative_to(ROOT)} "
          f"--rows {args.rows} --seeding {args.seeding}"
          + (f" --llama-server PATH --parallel {parallel}" if args.llama_server else ""))
    print()
    print("| engine | load avg | model load s | rows | generated | rows/s | wall s | valid |")
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())
    base = results[0].manifest["timings"].get("rows_per_s") or 0
    if base:
        print()
        for result in results[1:]:
            rate = result.manifest["timings"].get("rows_per_s") or 0
            print(f"- {result.label}: {rate / base:.2f}x the rows/s of {results[0].label}")


if __name__ == "__main__":
    main()
