"""One `synspec run`: seeding -> per-row grammars -> batched decoding -> checking -> sink.

Owns the batch loop, the retry budget, per-rule rejection counts, key numbering,
canonical cell formatting and the manifest's content. Every row written has passed
`synspec.targets.checker` for all hard rules and column constraints; rows that fail
(rules the grammar cannot enforce, or a row that hit the token limit) are dropped and
replaced by later batches until the budget runs out.

Determinism: batch b draws its seeded values and its sampling noise from generators
seeded by (seed, b) only, so the rows of batch b do not depend on earlier batches, and
a resumed run (which restarts at the first uncommitted batch) writes the same bytes as
an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from synspec import ir
from synspec.errors import UserError
from synspec.generate import manifest as mf
from synspec.generate import seeding
from synspec.generate.sink import Sink

STYLES = ("clin_rule", "statguide", "featdesc", "seed_ex")
ENGINES = ("llguidance", "outlines")
N_EXAMPLES = 5  # example rows shown by the seed_ex style
INCOMPLETE = "incomplete row (token limit or grammar error)"
UNPARSEABLE = "row does not parse"


@dataclass
class RunConfig:
    spec: ir.Spec
    spec_path: Path
    n: int
    out: Path
    style: str = "clin_rule"
    examples: Path | None = None
    seed: int = 0
    model: str = "default"
    # 128: the best batch size measured on the 2-core CPU with the shared prompt KV
    # (docs/benchmarks.md, "Batch size"). Never more than n.
    batch_size: int = 128
    temperature: float = 1.0
    resume: bool = False
    force: bool = False
    engine: str = "llguidance"
    seeding: bool = True
    budget_factor: float = 3.0  # at most budget_factor * n + 2 * batch_size rows are generated


@dataclass
class RunResult:
    status: str  # "complete" | "starved"
    rows: int
    generated: int
    rejected: dict[str, int]
    starving_rule: str | None
    manifest: dict[str, Any]
    seconds: float


@dataclass
class Progress:
    """What the CLI's progress bar shows; `update` is called after each committed batch."""

    total: int
    update: Callable[[int, int], None] = lambda accepted, generated: None
    phase: Callable[[str], None] = lambda text: None


@dataclass
class _Counts:
    generated: int = 0
    rejected_rows: int = 0  # rows dropped; one row may fail several rules
    rejected: Counter = field(default_factory=Counter)


def batch_seed(seed: int, batch_index: int) -> int:
    """A 63-bit torch seed for one batch, independent of every other batch."""
    digest = hashlib.sha256(f"synspec:{seed}:{batch_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def validate_config(config: RunConfig) -> None:
    if config.n < 1:
        raise UserError(f"-n must be at least 1 (got {config.n})", where="-n", hint="e.g. -n 500")
    if config.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1 (got {config.batch_size})",
                        where="--batch-size", hint="128 is the default; smaller batches show progress sooner")
    if not math.isfinite(config.temperature) or config.temperature < 0:
        raise UserError(f"--temperature must be 0 or more (got {config.temperature})",
                        where="--temperature", hint="1.0 samples the model as it is; 0 is greedy")
    if config.seed < 0:
        raise UserError(f"--seed must be 0 or more (got {config.seed})", where="--seed")
    if config.style not in STYLES:
        raise UserError(f"unknown style {config.style!r}", where="--style",
                        hint="one of " + ", ".join(STYLES))
    if config.engine not in ENGINES:
        raise UserError(f"unknown engine {config.engine!r}", where="--engine",
                        hint="one of " + ", ".join(ENGINES))
    if config.style == "seed_ex" and config.examples is None:
        raise UserError("style seed_ex needs example rows", where="--style seed_ex",
                        hint="pass --examples DATA.csv (a few rows are sampled into the prompt)")
    if not config.spec.generated_columns:
        raise UserError("the spec has no column to generate (all are keys)", where=config.spec.path)


# ---- cells ----------------------------------------------------------------------------
def canonical_cell(column: ir.Column, value: str | None) -> str:
    """The file text synspec writes: decimals with exactly `places` places, the missing token."""
    if value is None:
        return column.missing_token if column.missing_token is not None else ""
    if column.kind is ir.ColumnKind.DECIMAL and column.places is not None:
        try:
            return f"{Decimal(value):.{column.places}f}"
        except InvalidOperation:
            return value  # the checker rejects it
    return value


def load_examples(config: RunConfig) -> Any:
    """A few example rows (raw text) for the seed_ex prompt, sampled with the run's seed."""
    if config.examples is None or config.style != "seed_ex":
        return None
    from synspec import data
    from synspec.files import require_file

    require_file(config.examples, "examples file", "pass a CSV or Parquet file with the spec's columns")
    raw = data.read_complete(config.examples, config.spec, "examples file")
    if raw.empty:
        raise UserError(f"examples file has no rows: {config.examples}", where=str(config.examples))
    rng = np.random.default_rng([config.seed & 0xFFFF_FFFF, 0xE7A])
    pick = np.sort(rng.choice(len(raw), size=min(N_EXAMPLES, len(raw)), replace=False))
    return raw.iloc[pick].reset_index(drop=True)


class RowChecker:
    """Parses generated lines and runs the spec's checker over a batch."""

    def __init__(self, spec: ir.Spec) -> None:
        from synspec.targets import checker, row_format

        self.spec = spec
        self.row_format = row_format
        self.checker = checker.compile_checker(spec)

    def check(self, lines: list[str], first_key: int) -> tuple[list[list[str] | None], Counter]:
        """Rows in spec column order (None where rejected) and rejection counts by reason."""
        import pandas as pd

        from synspec import data

        reasons: Counter = Counter()
        cells: list[list[str] | None] = []
        for i, line in enumerate(lines):
            try:
                values = self.row_format.parse_row(self.spec, line.rstrip("\n"))
            except (ValueError, KeyError):
                cells.append(None)
                reasons[UNPARSEABLE] += 1
                continue
            row = []
            for column in self.spec.columns:
                if column.is_key:
                    row.append(str(first_key + i))
                else:
                    row.append(canonical_cell(column, values.get(column.name)))
            cells.append(row)
        parsed = [i for i, row in enumerate(cells) if row is not None]
        if not parsed:
            return cells, reasons
        raw = pd.DataFrame([cells[i] for i in parsed], columns=list(self.spec.column_names), dtype=object)
        report = self.checker.run(data.to_typed(raw, self.spec))
        # Every hard check counts, key columns included: a written row must pass
        # `synspec validate` exactly (specs declare no range for keys, see docs/language.md).
        row_ok = np.ones(len(raw), dtype=bool)
        for outcome in report.outcomes:
            if not outcome.hard:
                continue
            failed = np.asarray(outcome.failed, dtype=bool)
            row_ok &= ~failed
            reasons[outcome.name] += int(failed.sum())
        for j, i in enumerate(parsed):
            if not row_ok[j]:
                cells[i] = None
        return cells, reasons


# ---- the run --------------------------------------------------------------------------
class Generator:
    """A loaded model plus everything derived from a spec, reusable across runs (tests, bench)."""

    def __init__(self, spec: ir.Spec, *, model: str = "default", engine: str = "llguidance",
                 loaded: Any = None, decoder: Any = None) -> None:
        from synspec.generate.model import load_cached

        self.spec = spec
        self.engine = engine
        self.loaded = loaded if loaded is not None else load_cached(model)
        # The engine's decoder: `generate_batch` calls each kind with its own arguments.
        self.decoder: Any
        if engine == "outlines":
            from synspec.generate.outlines_backend import OutlinesDecoder

            self.decoder = OutlinesDecoder(self.loaded)
        else:
            from synspec.generate.decode import decoder_for

            self.decoder = decoder if decoder is not None else decoder_for(self.loaded)
        self._grammars: dict[tuple, tuple[Any, int]] = {}
        self.relaxed_rows = 0

    def grammar(self, fixed: dict[str, seeding.Draw]) -> Any:
        """The row grammar forcing `fixed`, relaxed when the drawn values contradict the rules.

        Seeded columns never share a hard rule directly, but they can conflict through an
        unseeded one (stroke: ever_married=Yes needs age >= 18, work_type=children needs
        age <= 16). Then the last-drawn seeded values are released, one at a time, until
        a row is possible; `relaxed_rows` counts the rows this happened to.
        """
        return self._grammar(fixed)[0]

    def _grammar(self, fixed: dict[str, seeding.Draw]) -> tuple[Any, int]:
        from synspec.targets.grammar import row_grammar

        key = tuple(fixed.items())
        if key not in self._grammars:
            names = list(fixed)
            for dropped in range(len(names) + 1):
                kept = {name: fixed[name] for name in names[: len(names) - dropped]}
                try:
                    self._grammars[key] = (row_grammar(self.spec, fixed=kept or None), dropped)
                    break
                except UserError:
                    if not kept:
                        raise  # the spec itself admits no row: a user error, exit 2
        return self._grammars[key]

    def max_new_tokens(self) -> int:
        """Enough tokens for the longest row the grammar allows, with slack for odd tokenisation."""
        width = 0
        for column in self.spec.generated_columns:
            if column.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN):
                width += max((len(v) for v in column.levels), default=1)
            else:
                width += 12
            width += max(len(column.missing_token or ""), 0) + 1
        return width + 16

    def generate_batch(self, prompt: str, prompt_ids: list[int], fixed: list[dict[str, seeding.Draw]],
                       *, temperature: float, seed: int) -> list[str | None]:
        """Texts of one batch (None where the row did not complete)."""
        max_new = self.max_new_tokens()
        if self.engine == "outlines":
            grammar = self.grammar({}).lark
            texts = self.decoder.decode(prompt, grammar, len(fixed), temperature=temperature, seed=seed,
                                        max_new_tokens=max_new)
            return list(texts)
        built = [self._grammar(f) for f in fixed]
        self.relaxed_rows += sum(1 for _, dropped in built if dropped)
        grammars = [grammar.lark for grammar, _ in built]
        results = self.decoder.decode(prompt_ids, grammars, temperature=temperature, seed=seed,
                                      max_new_tokens=max_new)
        return [r.text if r.complete else None for r in results]


def run(config: RunConfig, progress: Progress | None = None, generator: Generator | None = None) -> RunResult:
    """Generate `config.n` rows into `config.out`; see the module docstring."""
    from synspec.targets.prompt import render_prompt

    started = time.perf_counter()
    progress = progress or Progress(config.n)
    validate_config(config)
    # A batch larger than the run would only make rows to throw away.
    config = replace(config, batch_size=min(config.batch_size, config.n))
    spec = config.spec
    sink = Sink(config.out, list(spec.column_names))
    saved = sink.check_start(resume=config.resume, force=config.force)
    examples = load_examples(config)
    prompt = render_prompt(spec, config.style, examples=examples)
    progress.phase("loading model")
    if generator is None:
        generator = Generator(spec, model=config.model, engine=config.engine)
    from synspec.generate.model import weights_hash

    loaded = generator.loaded
    model_hash = weights_hash(loaded.location)
    load_s = loaded.load_seconds
    seeded = seeding.seeded_columns(spec) if config.seeding and config.engine == "llguidance" else ()
    prompt_ids = generator.decoder.encode_prompt(prompt) if config.engine == "llguidance" else []
    row_checker = RowChecker(spec)
    enforced = generator.grammar({})
    manifest: dict[str, Any] = {
        "manifest_version": mf.MANIFEST_VERSION,
        "status": "running",
        "output": str(config.out),
        "format": sink.format,
        "spec": {"path": str(config.spec_path), "hash": mf.sha256_file(config.spec_path), "name": spec.name},
        "synspec_version": mf.synspec_version(),
        "model": {"name": loaded.location.name, "path": str(loaded.location.weights_path),
                  "weights_hash": model_hash, "device": loaded.device, "dtype": loaded.dtype},
        "style": config.style,
        "examples": None if examples is None else {"path": str(config.examples), "rows": len(examples)},
        "prompt_hash": mf.sha256_bytes(prompt.encode("utf-8")),
        "prompt_tokens": len(prompt_ids),
        "seed": config.seed,
        "batch_size": config.batch_size,
        "temperature": config.temperature,
        "engine": config.engine,
        "seeded_columns": list(seeded),
        "grammar": {"enforced": dict(enforced.enforced), "checked_after": dict(enforced.checked_after)},
        "libraries": mf.library_versions(),
    }
    manifest["fingerprint"] = {
        "spec_hash": manifest["spec"]["hash"], "n": config.n, "seed": config.seed, "style": config.style,
        "examples_hash": None if config.examples is None else mf.sha256_file(config.examples),
        "model_hash": model_hash, "batch_size": config.batch_size, "temperature": config.temperature,
        "engine": config.engine, "prompt_hash": manifest["prompt_hash"], "seeded_columns": list(seeded),
        "max_new_tokens": generator.max_new_tokens(),
    }
    counts = _Counts()
    batch_index = 0
    relaxed_before, relaxed_at_start = 0, generator.relaxed_rows
    timings = {"model_load_s": round(load_s, 3), "previous_runs_s": 0.0}
    if saved is not None:
        problems = mf.mismatches(saved, manifest)
        if problems:
            raise UserError("cannot resume: the interrupted run used different settings:\n    "
                            + "\n    ".join(problems), where=str(sink.manifest_path),
                            hint="resume with the same arguments, or start over with --force")
        state = saved["progress"]
        sink.open_resume(state["rows"], state["bytes"])
        batch_index = state["next_batch"]
        counts.generated = saved["counts"]["generated"]
        counts.rejected_rows = saved["counts"]["rejected"]
        relaxed_before = saved["counts"].get("seeding_relaxed_rows", 0)
        counts.rejected.update(saved["counts"]["rejected_per_rule"])
        timings["previous_runs_s"] = saved["timings"].get("total_s", 0.0)
    else:
        sink.open_new()
    budget = int(config.budget_factor * config.n) + 2 * config.batch_size
    first_row_s: float | None = None
    loop_start = time.perf_counter()

    def commit(status: str) -> None:
        manifest["status"] = status
        manifest["progress"] = {"rows": sink.rows, "bytes": sink.bytes, "next_batch": batch_index}
        manifest["counts"] = {
            "requested": config.n, "generated": counts.generated, "accepted": sink.rows,
            "rejected": counts.rejected_rows,
            "rejected_per_rule": dict(sorted(counts.rejected.items())),
            "seeding_relaxed_rows": relaxed_before + generator.relaxed_rows - relaxed_at_start,
        }
        # Yield: rows that passed every check over rows generated. Rows of the last batch
        # beyond N passed but were not needed; they are not failures.
        passed = counts.generated - counts.rejected_rows
        manifest["yield"] = round(passed / counts.generated, 4) if counts.generated else None
        elapsed = time.perf_counter() - started
        generating = time.perf_counter() - loop_start
        manifest["timings"] = {
            **timings, "time_to_first_row_s": None if first_row_s is None else round(first_row_s, 3),
            "generation_s": round(generating, 3), "total_s": round(timings["previous_runs_s"] + elapsed, 3),
            "rows_per_s": round((sink.rows - start_rows) / generating, 3) if generating > 0 else None,
        }
        mf.save(sink.manifest_path, manifest)

    start_rows = sink.rows
    commit("running")
    progress.phase("generating")
    progress.update(sink.rows, counts.generated)
    status = "complete"
    while sink.rows < config.n:
        if counts.generated >= budget:
            status = "starved"
            break
        fixed = (seeding.draw_batch(spec, seeded, config.batch_size, config.seed, batch_index)
                 if seeded else [{} for _ in range(config.batch_size)])
        texts = generator.generate_batch(prompt, prompt_ids, fixed, temperature=config.temperature,
                                         seed=batch_seed(config.seed, batch_index))
        lines = [t for t in texts if t is not None]
        if len(lines) < len(texts):
            counts.rejected[INCOMPLETE] += len(texts) - len(lines)
        rows, reasons = row_checker.check(lines, sink.rows + 1)
        counts.rejected.update(reasons)
        accepted = [r for r in rows if r is not None]
        counts.generated += len(texts)
        counts.rejected_rows += len(texts) - len(accepted)
        need = config.n - sink.rows
        # Key columns were numbered by position among parsed rows; renumber the kept ones.
        keep = accepted[:need]
        key_positions = [i for i, c in enumerate(spec.columns) if c.is_key]
        for offset, row in enumerate(keep):
            for k in key_positions:
                row[k] = str(sink.rows + 1 + offset)
        sink.append(keep)
        batch_index += 1
        if keep and first_row_s is None:
            first_row_s = time.perf_counter() - started
        commit("running")
        progress.update(sink.rows, counts.generated)
    commit(status)
    sink.publish()
    starving = None
    if status == "starved":
        if counts.rejected:
            starving = max(counts.rejected.items(), key=lambda kv: (kv[1], kv[0]))[0]
        manifest["starving_rule"] = starving
        mf.save(sink.manifest_path, manifest)
    return RunResult(status, sink.rows, counts.generated, dict(counts.rejected), starving, manifest,
                     time.perf_counter() - started)
