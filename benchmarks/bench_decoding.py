"""Decoding without distortion: plain masked sampling against importance resampling.

Usage (from the repository root; prints Markdown, writes JSON with --json):
    python -m benchmarks.bench_decoding [--spec diabetes] [--rows 256] [--candidates 4]
        [--style clin_rule] [--seed 1] [--batch-size 128] [--json OUT.json]

The model writes every numeric column here: only categorical and boolean columns are seeded
(`--seeding levels`), so the numbers show what each decoding method does on its own. Both
methods decode the same seeded rows with the same prompt. `resample` decodes K candidates
per row and keeps one in proportion to its importance weight (`synspec/generate/resample.py`).
Measured against the real file (`../shared/data/<spec>.csv`, or $SYNSPEC_DATA): per numeric
column the KS distance and the boundary excess as `synspec eval` computes it
(`synspec.evaluate.boundary`; docs/metrics.md), plus seconds and the mean effective number of candidates.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

ROOT = Path(__file__).resolve().parent.parent


def column_figures(spec, frame, real) -> dict[str, dict[str, float]]:  # noqa: ANN001
    """KS and boundary excess per numeric column, the latter exactly as `synspec eval` reports it."""
    from scipy.stats import ks_2samp

    from synspec.evaluate.boundary import column_boundaries

    out = {}
    for column in spec.generated_columns:
        if not column.is_numeric:
            continue
        syn = frame[column.name].dropna().to_numpy(float)
        ref = real[column.name].dropna().to_numpy(float)
        found = column_boundaries(spec, column, real[column.name], frame[column.name])
        rated = [p for p in found["boundary_points"] if p["ratio"] is not None]
        worst = max(rated, key=lambda p: p["ratio"])
        out[column.name] = {
            "ks": float(ks_2samp(syn, ref).statistic),
            "boundary_excess": float(worst["ratio"]),
            "worst_point": worst["value"],
        }
    return out


def decode_rows(
    engine,
    grammars,
    prompt,
    fixed,
    *,
    candidates,
    batch_size,
    seed,  # noqa: ANN001
    max_new,
    temperature=1.0,
):
    """Texts (None where incomplete) for each seeded row; mean effective candidates."""
    from synspec.generate import resample
    from synspec.generate.pipeline import batch_seed

    expanded = [f for f in fixed for _ in range(candidates)]
    prompt_ids = engine.prompt_ids(prompt)
    engine.decoder.full_logits = True  # the importance weights need the whole vocabulary's mass
    decoded = []
    for start in range(0, len(expanded), batch_size):
        chunk = expanded[start : start + batch_size]
        lark = [grammars.for_row(f)[0].lark for f in chunk]
        decoded += engine.decoder.decode(
            prompt_ids,
            lark,
            temperature=temperature,
            seed=batch_seed(seed, start // batch_size),
            max_new_tokens=max_new,
        )
    log_w = np.array([d.log_weight if d.complete else -np.inf for d in decoded]).reshape(
        len(fixed), candidates
    )
    picks = (
        resample.choose(log_w, np.random.default_rng(seed)) if candidates > 1 else np.zeros(len(fixed), int)
    )
    texts = [
        decoded[g * candidates + k].text if decoded[g * candidates + k].complete else None
        for g, k in enumerate(picks)
    ]
    ess = float(np.mean(resample.effective_sample_size(log_w))) if candidates > 1 else 1.0
    return texts, ess


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spec", default="diabetes")
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--style", default="clin_rule")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import pandas as pd

    from synspec import data
    from synspec.cli.common import load_spec
    from synspec.generate import engines, pipeline, seeding
    from synspec.generate.grammars import RowGrammars
    from synspec.targets import row_format
    from synspec.targets.prompt import render_prompt

    spec = load_spec(ROOT / "specs" / f"{args.spec}.synspec")
    real_path = Path(os.environ.get("SYNSPEC_DATA", ROOT.parent / "shared" / "data")) / f"{args.spec}.csv"
    real = data.read_typed(real_path, spec)
    engine = engines.create("local")
    grammars = RowGrammars(spec)
    prompt = render_prompt(spec, args.style)
    max_new = pipeline.max_new_tokens(spec)
    levels = seeding.seeded_columns(spec, "levels")
    fixed = [
        row
        for b in range(-(-args.rows // args.batch_size))
        for row in seeding.draw_batch(spec, levels, args.batch_size, args.seed, b)
    ][: args.rows]
    results = {}
    for method, k in (("plain", 1), (f"resample K={args.candidates}", args.candidates)):
        start = time.perf_counter()
        texts, ess = decode_rows(
            engine,
            grammars,
            prompt,
            fixed,
            candidates=k,
            batch_size=args.batch_size,
            seed=args.seed,
            max_new=max_new,
        )
        seconds = time.perf_counter() - start
        rows = []
        for text in texts:
            if text is None:
                continue
            try:
                rows.append(row_format.parse_row(spec, text))
            except (ValueError, KeyError):
                continue
        raw = pd.DataFrame(
            [
                [r.get(c.name) or (c.missing_token or "") if not c.is_key else "1" for c in spec.columns]
                for r in rows
            ],
            columns=list(spec.column_names),
            dtype=object,
        )
        frame = data.to_typed(raw, spec).frame
        results[method] = {
            "seconds": round(seconds, 1),
            "rows": len(rows),
            "effective_candidates": round(ess, 2),
            "columns": column_figures(spec, frame, real),
        }
    cpu = platform.processor() or platform.machine()
    print(
        f"spec {args.spec}, {args.rows} rows, style {args.style}, seeding levels, seed {args.seed}; "
        f"{os.cpu_count()} cores ({cpu}); `python -m benchmarks.bench_decoding --spec {args.spec} "
        f"--rows {args.rows} --candidates {args.candidates}`\n"
    )
    names = list(next(iter(results.values()))["columns"])
    print(
        "| method | seconds | rows | eff. candidates | "
        + " | ".join(f"{n} KS / excess" for n in names)
        + " |"
    )
    print("|---" * (4 + len(names)) + "|")
    for method, r in results.items():
        cells = [
            f"{r['columns'][n]['ks']:.3f} / {r['columns'][n]['boundary_excess']:.1f}"
            f" (at {r['columns'][n]['worst_point']:g})"
            for n in names
        ]
        print(
            f"| {method} | {r['seconds']} | {r['rows']} | {r['effective_candidates']} | "
            + " | ".join(cells)
            + " |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
