"""Check and compile time of wide specs: is it linear in the number of columns?

Usage (from the repository root):
    python -m benchmarks.bench_wide [--columns 100 1000 5000] [--repeat 3]

Each spec is generated (`wide_spec`): its columns cycle through integer, decimal(1),
categorical and boolean, each with a description and statistics, and it has one hard rule per
four columns (a numeric threshold implying a bound, or a level implying a boolean), so 5,000
columns carry 1,250 rules. For each width: the median over `--repeat` runs of `check`
(`check_text`: parse and every pass) and of `compile` (every artifact `synspec compile -o`
writes: three prompts, the row grammar, ir.json and the enforcement report, from the
checked spec), their sum per column, which stays flat when the time is linear, and the CPU
time of check + compile (on a shared machine the wall time also counts other processes' turns;
the CPU time is what a quiet machine's wall time would be).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time


def wide_spec(n_columns: int, n_rules: int | None = None) -> str:
    """A checked-clean spec of `n_columns` columns and `n_rules` hard rules (default: one per
    four columns), each rule linking two columns of its own group of four."""
    n_rules = n_columns // 4 if n_rules is None else n_rules
    lines = ["dataset wide", '  description "A generated wide table."', "  rows 1000", ""]
    for i in range(n_columns):
        kind = i % 4
        lines.append(f"column c{i}: " + ("integer", "decimal(1)", "categorical", "boolean 1/0")[kind])
        lines.append(f'  description "Generated column {i}."')
        if kind == 0:
            lines += ["  range 0 to 100", "  mean 50", "  sd 20"]
        elif kind == 1:
            lines += ["  range 0 to 100", '  missing 0.05 as "NA"']
        elif kind == 2:
            lines += ["  levels A, B, C", "  frequencies A 0.5, B 0.3, C 0.2"]
        else:
            lines += ["  frequencies 1 0.4, 0 0.6"]
        lines.append("")
    groups = max(n_columns // 4, 1)
    for j in range(n_rules):
        base = 4 * (j % groups)
        if j % 2 == 0 and base + 1 < n_columns:
            lines.append(f"rule r{j}: c{base} > 50 -> c{base + 1} < 60.5")
        elif base + 3 < n_columns:
            lines.append(f"rule r{j}: c{base + 2} == A -> c{base + 3}")
        else:
            lines.append(f"rule r{j}: c{base} >= 0")
        lines.append("")
    return "\n".join(lines)


def check_and_compile(text: str) -> tuple[float, float, int, float]:
    """(check seconds, compile seconds, grammar states, CPU seconds of both) for one spec text."""
    from synspec.passes import check_text
    from synspec.targets.registry import TARGETS, Compilation

    cpu = time.process_time()
    start = time.perf_counter()
    result = check_text(text, "wide.synspec")
    checked = time.perf_counter()
    if result.spec is None:
        raise SystemExit("the generated spec has errors: " + "; ".join(d.message for d in result.errors))
    compilation = Compilation(result.spec, None)
    for target in TARGETS.values():
        for make in target.artifacts(compilation).values():
            make()
    done = time.perf_counter()
    return checked - start, done - checked, compilation.grammar.states, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from synspec.parse import _lark

    _lark()  # building the LALR parser is once per process, not per spec
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {load:.2f}")
    print("| columns | rules | lines | check s | compile s | check + compile s | us per column | CPU s "
          "| states |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.columns:
        text = wide_spec(n)
        runs = [check_and_compile(text) for _ in range(args.repeat)]
        check_s = statistics.median(r[0] for r in runs)
        compile_s = statistics.median(r[1] for r in runs)
        total = statistics.median(r[0] + r[1] for r in runs)
        cpu = statistics.median(r[3] for r in runs)
        print(f"| {n:,} | {n // 4:,} | {text.count(chr(10)) + 1:,} | {check_s:.3f} | {compile_s:.3f} "
              f"| {total:.3f} | {total / n * 1e6:.0f} | {cpu:.3f} | {runs[0][2]:,} |")


if __name__ == "__main__":
    main()
