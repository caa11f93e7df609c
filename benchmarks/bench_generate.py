"""Speed of `synspec run`'s generation: rows/s, tokens/s constrained vs unconstrained, load, memory.

Usage (from the repository root; one command, prints Markdown):
    python -m benchmarks.bench_generate [--specs diabetes stroke cirrhosis] [--batch-sizes 1 8 32]
        [--rows 32] [--engines local outlines] [--dtype float32] [--prompt-kv shared copied]
        [--passes packed one-token] [--shard-rows 64 128]
    python -m benchmarks.bench_generate --fidelity OUT.csv [OUT2.csv ...]
        (fidelity of `synspec run` outputs against the real data, one table row per file)

For each spec and batch size it generates `--rows` checked rows (at least one batch;
batch 1 is capped at 8 rows) with the same code `synspec run` uses, then, in the same
process and at the same batch size, decodes the same number of steps with no grammar
(unconstrained sampling), so the two tokens/s figures share load and thermals.
`ratio` = constrained / unconstrained tokens/s; `forced tokens` = the share of sampled tokens
the grammar left no choice for (one allowed token). `--prompt-kv copied` measures our loop with
the prompt's KV copied into every row (the design before `shared_prefix.py`), `--passes
one-token` with one token per row per forward pass (the loop before `packed.py`; the copied
cache always decodes that way), `--shard-rows 64 128` a batch of 128 as two shards on worker
threads against one (the decoder before `shards.py`). Timings on a
shared machine are noisy: the table header records `uptime` load averages.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

ROOT = Path(__file__).resolve().parent.parent


def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_spec(name: str, batch_sizes: list[int], rows: int, engine_names: list[str], dtype: str,
               temperature: float, prompt_kv: list[str],
               seeding_mode: str | None = None, full_logits: bool = False,
               passes: tuple[str, ...] = ("packed",), shard_rows: tuple[int, ...] = (64,)) -> list[str]:
    from synspec.cli.common import load_spec
    from synspec.generate import engines, pipeline, seeding
    from synspec.generate.checking import RowChecker
    from synspec.generate.engines import Sampling
    from synspec.generate.engines.decode import decoder_for
    from synspec.generate.engines.local import LocalEngine
    from synspec.generate.grammars import RowGrammars
    from synspec.generate.model import load_cached
    from synspec.targets.prompt import render_prompt

    spec = load_spec(ROOT / "specs" / f"{name}.synspec")
    start = time.perf_counter()
    loaded = load_cached("default", dtype=dtype)
    load_s = time.perf_counter() - start
    lines = []
    prompt = render_prompt(spec, "clin_rule")
    checker = RowChecker(spec)
    grammars = RowGrammars(spec)
    max_new = pipeline.max_new_tokens(spec)
    plain = decoder_for(loaded)
    plain.full_logits = full_logits
    for engine_name in engine_names:
        engine = engines.create(engine_name, loaded=loaded)
        own_loop = isinstance(engine, LocalEngine)  # only our loop has a prompt KV to vary and stats
        layouts = [(kv, mode, size) for kv in prompt_kv for mode in passes for size in shard_rows
                   if kv == "shared" or mode == passes[0]]
        for kv, pass_mode, size in layouts if own_loop else [("-", "-", 0)]:
            plain.shared_prefix = kv != "copied"
            plain.pack_forced_runs = pass_mode == "packed"
            plain.shard_rows = size or plain.shard_rows
            if isinstance(engine, LocalEngine):
                engine.decoder.shared_prefix = plain.shared_prefix
                engine.decoder.pack_forced_runs = plain.pack_forced_runs
                engine.decoder.shard_rows = plain.shard_rows
            label = kv if pass_mode != "one-token" or kv == "copied" else f"{kv}, one token per pass"
            if len(shard_rows) > 1 and own_loop:
                label += f", shards of {size}"
            mode = (seeding_mode or seeding.DEFAULT_MODE) if engine.per_row_grammars else "none"
            seeded = seeding.seeded_columns(spec, mode)
            warm_up = Sampling(temperature, 0, max_new)
            engine.generate(prompt, [grammars.unconstrained().lark], warm_up)  # also fills the grammar cache
            for batch in batch_sizes:
                want = min(rows, 8) if batch == 1 else max(rows, batch)
                accepted = generated = tokens = 0
                first_row_s = None
                index = 0
                stats_before = (plain.stats.tokens, plain.stats.steps, plain.stats.forced)
                t0 = time.perf_counter()
                while accepted < want and generated < 20 * want:
                    fixed = seeding.draw(spec, mode, seeded, batch, 0, index)
                    wanted = [grammars.for_row(values)[0].lark for values in fixed]
                    results = engine.generate(prompt, wanted,
                                              Sampling(temperature, pipeline.batch_seed(0, index), max_new))
                    good = [r.text for r in results if r.text is not None]
                    tokens += sum(r.tokens for r in results)
                    checked, _ = checker.check(good, 1)
                    accepted += sum(r is not None for r in checked)
                    generated += len(results)
                    index += 1
                    if first_row_s is None and accepted:
                        first_row_s = time.perf_counter() - t0
                elapsed = time.perf_counter() - t0
                if own_loop:
                    tokens = plain.stats.tokens - stats_before[0]  # plain is the engine's decoder
                    steps = plain.stats.steps - stats_before[1]
                    forced = f"{(plain.stats.forced - stats_before[2]) / max(1, tokens):.0%}"
                else:
                    steps = max(1, tokens // max(1, generated))
                    forced = "-"
                constrained_tps = tokens / elapsed
                # Unconstrained: the same loop with no grammar, as many steps per batch as above.
                plain_ids = plain.encode_prompt(prompt)
                per_batch = max(1, round(steps / max(1, index))) if own_loop else steps
                before = plain.stats.tokens
                u0 = time.perf_counter()
                for i in range(index):
                    plain.decode(plain_ids, None, batch=batch, temperature=temperature, seed=i,
                                 max_new_tokens=per_batch)
                u_elapsed = time.perf_counter() - u0
                free_tps = (plain.stats.tokens - before) / u_elapsed
                lines.append(
                    f"| {name} | {engine_name} | {label} | {batch} | {accepted} | {accepted / elapsed:.2f} | "
                    f"{first_row_s if first_row_s is not None else float('nan'):.2f} | "
                    f"{constrained_tps:.0f} | {free_tps:.0f} | "
                    f"{constrained_tps / free_tps:.2f} | {forced} | {accepted / generated:.0%} | "
                    f"{load_s:.1f} | {_peak_rss_mb():.0f} |")
                print(lines[-1], flush=True)
    return lines


def fidelity(paths: list[Path]) -> None:
    """Distinct-row share, copies of prompt examples / real rows, per-column TVD and KS."""
    import json

    import numpy as np
    import pandas as pd
    from scipy.stats import ks_2samp

    from synspec import data
    from synspec.cli.common import load_spec
    from synspec.generate.examples import read_examples

    data_dir = Path(os.environ.get("SYNSPEC_DATA", ROOT.parent / "shared" / "data"))
    print("| output | spec | style | seeding | rows | distinct rows | copies of prompt examples | "
          "exact real rows | mean TVD (categorical) | mean KS (numeric) | per column |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        manifest = json.loads(Path(f"{path}.manifest.json").read_text())
        spec = load_spec(Path(manifest["spec"]["path"]))
        cols = [c.name for c in spec.generated_columns]
        synth_raw = data.read_raw(path, spec)
        synth = synth_raw[cols]
        real_raw = data.read_raw(data_dir / f"{spec.name}.csv", spec)
        real = real_raw[cols]
        distinct = len(synth.drop_duplicates()) / len(synth)
        copies = "-"
        if manifest.get("examples"):
            shown = read_examples(Path(manifest["examples"]["path"]), spec, manifest["seed"]).rows[cols]
            copies = str(len(synth.merge(shown.drop_duplicates(), how="inner")))
        exact = len(synth.merge(real.drop_duplicates(), how="inner"))
        ts, rt = data.to_typed(synth_raw, spec).frame, data.to_typed(real_raw, spec).frame
        tvds, kss, parts = [], [], []
        for column in spec.generated_columns:
            a, b = ts[column.name], rt[column.name]
            if column.is_numeric:
                a, b = a.dropna(), b.dropna()
                value = float(ks_2samp(a, b).statistic) if len(a) and len(b) else float("nan")
                kss.append(value)
                parts.append(f"{column.name} KS {value:.2f}")
            else:
                pa = a.astype(object).where(a.notna(), "<missing>").value_counts(normalize=True)
                pb = b.astype(object).where(b.notna(), "<missing>").value_counts(normalize=True)
                value = 0.5 * float(pd.concat([pa, pb], axis=1).fillna(0).diff(axis=1).abs().iloc[:, 1].sum())
                tvds.append(value)
                parts.append(f"{column.name} TVD {value:.2f}")
        print(f"| {path.name} | {spec.name} | {manifest['style']} | "
              f"{'yes' if manifest['seeded_columns'] else 'no'} | {len(synth)} | {distinct:.1%} | {copies} | "
              f"{exact} | {np.mean(tvds) if tvds else float('nan'):.3f} | "
              f"{np.mean(kss) if kss else float('nan'):.3f} | {'; '.join(parts)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=["diabetes", "stroke", "cirrhosis"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--rows", type=int, default=32, help="checked rows per configuration")
    parser.add_argument("--engines", nargs="+", default=["local"],
                        help="engine names or aliases (synspec.generate.engines.REGISTRY)")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "int8"])
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seeding", default=None, help="seeding mode (default: synspec run's default)")
    parser.add_argument("--full-logits", action="store_true",
                        help="the whole vocabulary's logits at every step (default: the allowed tokens')")
    parser.add_argument("--prompt-kv", nargs="+", default=["shared"], choices=["shared", "copied"],
                        help="our loop's prompt cache: shared by the batch, or copied per row")
    parser.add_argument("--passes", nargs="+", default=["packed"], choices=["packed", "one-token"],
                        help="our loop under a grammar: forced runs fed in one pass, or one token per pass")
    parser.add_argument("--shard-rows", nargs="+", type=int, default=[64],
                        help="rows per shard: a batch's shards are decoded on worker threads (shards.py)")
    parser.add_argument("--threads", default="auto", help="torch threads, as `synspec run --threads`")
    parser.add_argument("--fidelity", nargs="+", type=Path, help="score these run outputs instead")
    args = parser.parse_args()
    if args.fidelity:
        fidelity(args.fidelity)
        return
    from synspec.generate import threads
    from synspec.generate.cpu import cpu_info

    choice = threads.choose(threads.parse_threads(args.threads))
    threads.apply(choice)  # as `synspec run` does: the free cores, or --threads
    import torch

    cpu = cpu_info()
    print(f"CPU: {cpu.model}, flags {' '.join(cpu.flags)}; threads: {choice.reason}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads "
          f"{torch.get_num_threads()}, Python {platform.python_version()}, load average at start "
          f"{_load_average()}")
    print("| spec | engine | prompt KV | batch | rows | rows/s | first row (s) | constrained tok/s | "
          "unconstrained tok/s | ratio | forced tokens | yield | model load (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for name in args.specs:
        bench_spec(name, args.batch_sizes, args.rows, args.engines, args.dtype, args.temperature,
                   args.prompt_kv, args.seeding, args.full_logits, tuple(args.passes), tuple(args.shard_rows))
    print(f"load average at end {_load_average()}")


if __name__ == "__main__":
    main()
