"""One `synspec run`: seeding -> per-row grammars -> batched decoding -> checking -> sink.

Owns the order of a run's steps (`run` reads as that list), the batch loop, the retry
budget, per-rule rejection counts, key numbering and the manifest's content. Every row
written has passed `synspec.targets.checker` for all hard rules and column constraints;
rows that fail (rules the grammar cannot enforce, or a row that hit the token limit) are
dropped and replaced by later batches until the budget runs out. A row whose every
generated column was drawn exactly needs no model: it is rendered, then checked like
any other; a run made only of such rows never loads the model.

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
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path

from synspec import ir
from synspec.errors import UserError
from synspec.generate import engines, model, seeding, threads
from synspec.generate import manifest as mf
from synspec.generate.checking import RowChecker, SoftOutcome
from synspec.generate.cpu import cpu_info
from synspec.generate.engines import Engine, Sampling
from synspec.generate.engines.local import LocalEngine
from synspec.generate.engines.server import ServerSettings
from synspec.generate.examples import Examples, read_examples
from synspec.generate.expectations import ExpectationQuota
from synspec.generate.grammars import RowGrammars
from synspec.generate.seeding import Draw
from synspec.generate.sink import Sink
from synspec.targets.grammar import RowGrammar, Within

STYLES = ("clin_rule", "statguide", "featdesc", "seed_ex")
INCOMPLETE = "incomplete row (token limit or grammar error)"


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
    # None: `auto_batch_size` (128 for short rows, the best measured on the 2-core CPU with the
    # shared prompt KV, docs/benchmarks.md "Batch size"; fewer for wide rows). Never more than n.
    batch_size: int | None = None
    temperature: float = 1.0
    resume: bool = False
    force: bool = False
    engine: str = "local"  # a name or alias in `synspec.generate.engines.REGISTRY`
    seeding: str = seeding.DEFAULT_MODE  # one of seeding.MODES
    budget_factor: float = 3.0  # at most budget_factor * n + 2 * batch_size rows are generated
    dtype: str = "auto"  # auto | float32 | bfloat16 (`model.pick_dtype`)
    threads: int | None = None  # torch threads; None: the free allowed cores (`threads.choose`)
    server: ServerSettings | None = None  # where a remote engine (`--engine server`) finds its server

    @property
    def batch(self) -> int:
        """The batch size of a normalised config (`normalised` resolves None)."""
        assert self.batch_size is not None, "batch size read before normalised()"
        return self.batch_size


@dataclass
class RunResult:
    status: str  # "complete" | "starved"
    rows: int
    generated: int
    rejected: dict[str, int]
    starving_rule: str | None
    manifest: mf.RunManifest
    seconds: float


@dataclass
class Progress:
    """What the CLI's progress bar shows; `update` is called after each committed batch,
    `decoded(k, of)` while a batch is decoded, each time k of its `of` rows are finished."""

    total: int
    update: Callable[[int, int], None] = lambda accepted, generated: None
    phase: Callable[[str], None] = lambda text: None
    decoded: Callable[[int, int], None] = lambda done, of: None


# The automatic batch size (see `auto_batch_size`).
BATCH_TOKENS = 16_384
MIN_AUTO_BATCH = 8
MAX_AUTO_BATCH = 128


def batch_seed(seed: int, batch_index: int) -> int:
    """A 63-bit torch seed for one batch, independent of every other batch."""
    digest = hashlib.sha256(f"synspec:{seed}:{batch_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


# ---- step 1: the arguments ------------------------------------------------------------------
def validate_config(config: RunConfig) -> None:
    """Every argument error, before any file is touched or any model found."""
    if config.n < 1:
        raise UserError(f"-n must be at least 1 (got {config.n})", where="-n", hint="e.g. -n 500")
    if config.batch_size is not None and config.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1 (got {config.batch_size})",
                        where="--batch-size", hint="128 is the default; smaller batches show progress sooner")
    if not math.isfinite(config.temperature) or config.temperature < 0:
        raise UserError(f"--temperature must be 0 or more (got {config.temperature})",
                        where="--temperature", hint="1.0 samples the model as it is; 0 is greedy")
    if config.seed < 0:
        raise UserError(f"--seed must be 0 or more (got {config.seed})", where="--seed")
    if config.threads is not None and config.threads < 1:
        raise UserError(f"--threads must be a positive integer or `auto` (got {config.threads})",
                        where="--threads", hint="e.g. --threads 1 on a machine shared with other work")
    model.check_dtype(config.dtype)
    if config.style not in STYLES:
        raise UserError(f"unknown style {config.style!r}", where="--style",
                        hint="one of " + ", ".join(STYLES))
    engines.check_options(config.engine, config.server)
    if config.server is not None:
        config.server.check()
    if config.seeding not in seeding.MODES:
        raise UserError(f"unknown seeding mode {config.seeding!r}", where="--seeding",
                        hint="one of " + ", ".join(seeding.MODES))
    if config.style == "seed_ex" and config.examples is None:
        raise UserError("style seed_ex needs example rows", where="--style seed_ex",
                        hint="pass --examples DATA.csv (a few rows are sampled into the prompt)")
    if not config.spec.generated_columns:
        raise UserError("the spec has no column to generate (all are keys)", where=config.spec.path)


def auto_batch_size(spec: ir.Spec, seeding_mode: str = seeding.DEFAULT_MODE) -> int:
    """The default batch: about `BATCH_TOKENS` row tokens, between `MIN_AUTO_BATCH` and
    `MAX_AUTO_BATCH` rows. A batch commits only when its longest row is done, so wide rows
    (a 31-column table: ~400 tokens) get smaller batches and write rows sooner, while short
    rows keep the large batches that are fastest per row (docs/benchmarks.md). When the joint
    draw covers every generated column no row is decoded: `MAX_AUTO_BATCH`, a power of two,
    which keeps each batch's quasi-random draw balanced (`generate.joint`)."""
    if seeding_mode == "joint":
        drawn = set(seeding.joint_columns(spec))
        if all(column.name in drawn for column in spec.generated_columns):
            return MAX_AUTO_BATCH
    return max(MIN_AUTO_BATCH, min(MAX_AUTO_BATCH, BATCH_TOKENS // max_new_tokens(spec)))


def normalised(config: RunConfig) -> RunConfig:
    """A valid config with the engine's registered name and a batch no larger than the run
    (a larger one would only make rows to throw away); no --batch-size: `auto_batch_size`."""
    validate_config(config)
    batch = (
        config.batch_size if config.batch_size is not None else auto_batch_size(config.spec, config.seeding)
    )
    return replace(config, batch_size=min(batch, config.n),
                   engine=engines.canonical(config.engine))


# ---- step 2: the prompt ---------------------------------------------------------------------
@dataclass(frozen=True)
class Prompt:
    text: str
    examples: Examples | None  # the seed_ex rows it shows


def build_prompt(config: RunConfig) -> Prompt:
    """The prompt of the run's style; seed_ex samples its rows with the run's seed."""
    from synspec.targets.prompt import render_prompt

    examples = None
    if config.examples is not None and config.style == "seed_ex":
        examples = read_examples(config.examples, config.spec, config.seed)
    text = render_prompt(config.spec, config.style, examples=None if examples is None else examples.rows)
    return Prompt(text, examples)


# ---- step 3: what the run decodes with ------------------------------------------------------
@dataclass
class Plan:
    seeding: str  # the mode in effect: `none` on an engine without per-row grammars
    seeded: tuple[str, ...]  # columns drawn before decoding
    grammars: RowGrammars
    enforced: RowGrammar  # the grammar with nothing fixed: what it enforces, what is checked after
    max_new_tokens: int


def max_new_tokens(spec: ir.Spec) -> int:
    """Enough tokens for the longest row the grammar allows, with slack for odd tokenisation."""
    width = 0
    for column in spec.generated_columns:
        if column.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN):
            width += max((len(v) for v in column.levels), default=1)
        else:
            width += 12
        width += max(len(column.missing_token or ""), 0) + 1
    return width + 16


def plan_run(config: RunConfig, engine: Engine) -> Plan:
    """Seeding and grammars; a spec whose rules admit no row fails here (exit 2)."""
    # An engine that applies one grammar to a whole batch cannot force per-row values.
    mode = config.seeding if engine.per_row_grammars else "none"
    grammars = RowGrammars(config.spec)
    return Plan(seeding=mode, seeded=seeding.seeded_columns(config.spec, mode), grammars=grammars,
                enforced=grammars.unconstrained(), max_new_tokens=max_new_tokens(config.spec))


# ---- step 4: the manifest -------------------------------------------------------------------
def build_manifest(config: RunConfig, sink: Sink, prompt: Prompt, engine: Engine,
                   plan: Plan) -> mf.RunManifest:
    """The manifest of a run that has not started (progress, counts and timings at zero)."""
    spec = config.spec
    model_info = engine.model_info()
    spec_record = mf.SpecRecord(path=str(config.spec_path), hash=mf.sha256_file(config.spec_path),
                                name=spec.name)
    examples_hash = None if config.examples is None else mf.sha256_file(config.examples)
    examples = None
    if prompt.examples is not None:
        assert config.examples is not None
        examples = mf.ExamplesRecord(path=str(config.examples), rows=len(prompt.examples.rows),
                                     rows_used=list(prompt.examples.indices))
    prompt_hash = mf.sha256_bytes(prompt.text.encode("utf-8"))
    return mf.RunManifest(
        status="running", output=str(config.out), format=sink.format, spec=spec_record,
        synspec_version=mf.synspec_version(),
        model=mf.ModelRecord(name=model_info.name, path=model_info.path, weights_hash=model_info.weights_hash,
                             device=model_info.device, dtype=model_info.dtype),
        style=config.style, examples=examples, prompt_hash=prompt_hash,
        prompt_tokens=engine.prompt_tokens(prompt.text) if engine.loaded else None,
        seed=config.seed, batch_size=config.batch, temperature=config.temperature,
        engine=config.engine, seeding=plan.seeding, seeded_columns=list(plan.seeded),
        grammar=mf.GrammarRecord(enforced=dict(plan.enforced.enforced),
                                 checked_after=dict(plan.enforced.checked_after)),
        libraries=mf.library_versions(),
        compute=compute_record(),
        fingerprint=mf.Fingerprint(
            spec_hash=spec_record.hash, n=config.n, seed=config.seed, style=config.style,
            examples_hash=examples_hash, model_hash=model_info.weights_hash, batch_size=config.batch,
            temperature=config.temperature, engine=config.engine, seeding=plan.seeding,
            prompt_hash=prompt_hash, seeded_columns=list(plan.seeded), max_new_tokens=plan.max_new_tokens,
            dtype=model_info.dtype, model_name=model_info.name),
        progress=mf.ProgressRecord(rows=0, bytes=0, next_batch=0),
        counts=mf.Counts(requested=config.n, generated=0, accepted=0, rejected=0, rejected_per_rule={}),
        timings=mf.Timings(model_load_s=None, previous_runs_s=0.0),
    )


def compute_record() -> mf.ComputeRecord:
    """The CPU; the threads are filled in when the model is first needed (`ensure_engine`)."""
    cpu = cpu_info()
    return mf.ComputeRecord(cpu=cpu.model, cpu_flags=list(cpu.flags), native_bf16=cpu.bf16,
                            allowed_cores=len(threads.allowed_cpus()))


# ---- step 5: a fresh start, or where an interrupted run stopped -----------------------------
@dataclass
class _State:
    """What changes while the run goes; `commit` copies it into the manifest."""

    started: float  # perf_counter at the start of `run`
    batch_index: int = 0
    generated: int = 0
    rejected_rows: int = 0  # rows dropped; one row may fail several rules
    rejected: Counter = field(default_factory=Counter)
    relaxed_rows: int = 0
    drawn_rows: int = 0
    previous_runs_s: float = 0.0
    model_load_s: float | None = None
    load_in_loop_s: float = 0.0  # model loading inside the loop, kept out of generation_s
    engine_ready: bool = False
    first_row_s: float | None = None
    start_rows: int = 0
    loop_start: float = 0.0


def start_or_resume(sink: Sink, saved: dict | None, manifest: mf.RunManifest, state: _State) -> None:
    """Open the partial output: new, or truncated to the last committed batch of the saved run,
    whose counters carry on (a resume must match the saved run's fingerprint)."""
    if saved is None:
        sink.open_new()
        return
    previous = mf.parse(saved, sink.manifest_path)
    problems = mf.mismatches(previous, manifest)
    if problems:
        raise UserError("cannot resume: the interrupted run used different settings:\n    "
                        + "\n    ".join(problems), where=str(sink.manifest_path),
                        hint="resume with the same arguments, or start over with --force")
    sink.open_resume(previous.progress.rows, previous.progress.bytes)
    state.batch_index = previous.progress.next_batch
    state.generated = previous.counts.generated
    state.rejected_rows = previous.counts.rejected
    state.relaxed_rows = previous.counts.seeding_relaxed_rows
    state.drawn_rows = previous.counts.drawn_rows
    state.rejected.update(previous.counts.rejected_per_rule)
    state.previous_runs_s = previous.timings.total_s


def commit(manifest: mf.RunManifest, sink: Sink, state: _State, status: mf.Status) -> None:
    """Record the committed rows and the counters in the manifest, atomically."""
    manifest.status = status
    manifest.progress = mf.ProgressRecord(rows=sink.rows, bytes=sink.bytes, next_batch=state.batch_index)
    manifest.counts = mf.Counts(
        requested=manifest.fingerprint.n, generated=state.generated, accepted=sink.rows,
        rejected=state.rejected_rows, rejected_per_rule=dict(sorted(state.rejected.items())),
        seeding_relaxed_rows=state.relaxed_rows, drawn_rows=state.drawn_rows)
    # Yield: rows that passed every check over rows generated. Rows of the last batch
    # beyond N passed but were not needed; they are not failures.
    passed = state.generated - state.rejected_rows
    manifest.yield_ = round(passed / state.generated, 4) if state.generated else None
    if manifest.compute is not None and manifest.compute.threads is not None:
        manifest.compute.thread_changes = threads.watched_changes() or None
    now = time.perf_counter()
    generating = now - state.loop_start - state.load_in_loop_s
    manifest.timings = mf.Timings(
        model_load_s=None if state.model_load_s is None else round(state.model_load_s, 3),
        previous_runs_s=state.previous_runs_s,
        time_to_first_row_s=None if state.first_row_s is None else round(state.first_row_s, 3),
        generation_s=round(generating, 3), total_s=round(state.previous_runs_s + now - state.started, 3),
        rows_per_s=round((sink.rows - state.start_rows) / generating, 3) if generating > 0 else None)
    mf.save(sink.manifest_path, manifest)


# ---- step 6: the batch loop -----------------------------------------------------------------
def drawn_line(spec: ir.Spec, fixed: dict[str, Draw]) -> str | None:
    """The row line when every generated column is drawn as an exact text; None otherwise
    (something is left to the model, or the drawn values do not form a row)."""
    from synspec.targets import row_format

    if any(isinstance(v, Within) for v in fixed.values()):
        return None
    if any(column.name not in fixed for column in spec.generated_columns):
        return None
    try:
        return row_format.render_row(spec, {name: str(value) for name, value in fixed.items()})
    except ValueError:
        return None  # the grammar path decides: it releases values the rules cannot take


@dataclass
class _Batch:
    texts: list[str | None]  # None where a decoded row did not complete
    relaxed: int  # rows whose seeded values were released
    drawn: int  # rows rendered from their draws, without the model


def ensure_engine(engine: Engine, prompt: Prompt, manifest: mf.RunManifest, state: _State,
                  progress: Progress, requested_threads: int | None = None, batch: int = 1) -> None:
    """Size torch's threads to the free cores and load the model, the first time a row needs
    it; record both in the manifest (with the workers a batch of `batch` rows is decoded by)."""
    if state.engine_ready:
        return
    if not engines.entry(manifest.engine).remote:  # a server computes elsewhere: no torch here
        choice = threads.choose(requested_threads)
        threads.apply(choice)
        if manifest.compute is not None:
            manifest.compute.threads = choice.threads
            manifest.compute.threads_reason = choice.reason
            manifest.compute.busy_cores = choice.busy_cores
            if isinstance(engine, LocalEngine):
                manifest.compute.workers = engine.workers(batch).count
    if not engine.loaded:
        progress.phase("loading model")
        began = time.perf_counter()
        state.model_load_s = engine.load()
        state.load_in_loop_s += time.perf_counter() - began
        progress.phase("generating")
    elif state.model_load_s is None:
        state.model_load_s = engine.load()  # already loaded: 0.0
    manifest.prompt_tokens = engine.prompt_tokens(prompt.text)
    info = engine.model_info()
    manifest.model.loaded_from = info.loaded_from
    manifest.model.device = info.device  # a server's kind is known once it answered
    state.engine_ready = True


# A top-up batch (`batch_rows`) asks for this many times the rows missing, at the yield seen so
# far: with the yields of the real specs (0.8-1.0), one top-up batch almost always suffices.
TOP_UP_MARGIN = 1.25
MIN_YIELD_ESTIMATE = 0.25


def batch_rows(config: RunConfig, state: _State, rows_written: int) -> int:
    """How many rows batch `state.batch_index` decodes: `config.batch`, except near the end.

    A run whose last rows were replacements for a few rejected ones used to decode a whole
    batch for them (`-n 128` at batch 128: 256 rows decoded for 128 kept). Now a batch holds
    the rows still missing, scaled up by the yield so far and a margin, rounded up to a power
    of two (which keeps the joint draw's quasi-random points balanced), and never more than
    `config.batch`. The yield is what the committed batches show, so a resumed run computes
    the same sizes, and the bytes stay a function of the settings and the seed.
    """
    missing = config.n - rows_written
    passed = state.generated - state.rejected_rows
    yield_so_far = passed / state.generated if state.generated else 1.0
    wanted = math.ceil(missing * TOP_UP_MARGIN / max(yield_so_far, MIN_YIELD_ESTIMATE))
    return min(config.batch, 1 << max(0, wanted - 1).bit_length())


def make_batch(config: RunConfig, plan: Plan, engine: Engine, prompt: Prompt, manifest: mf.RunManifest,
               state: _State, progress: Progress, size: int) -> _Batch:
    """The texts of batch `state.batch_index` (`size` rows): drawn rows rendered, the rest
    decoded together."""
    fixed = seeding.draw(config.spec, plan.seeding, plan.seeded, size, config.seed, state.batch_index)
    texts: list[str | None] = [drawn_line(config.spec, values) for values in fixed]
    to_decode = [i for i, text in enumerate(texts) if text is None]
    relaxed = 0
    if to_decode:
        built = [plan.grammars.for_row(fixed[i]) for i in to_decode]
        relaxed = sum(1 for _, dropped in built if dropped)
        ensure_engine(engine, prompt, manifest, state, progress, config.threads, config.batch)
        sampling = Sampling(temperature=config.temperature, seed=batch_seed(config.seed, state.batch_index),
                            max_new_tokens=plan.max_new_tokens,
                            on_row=lambda done: progress.decoded(done, len(to_decode)))
        dialect = engine.grammar_dialect()
        results = engine.generate(prompt.text, [grammar.text(dialect) for grammar, _ in built], sampling)
        for i, result in zip(to_decode, results, strict=True):
            texts[i] = result.text
        if manifest.prompt_tokens is None:  # a server tells only once it answered
            manifest.prompt_tokens = engine.prompt_tokens(prompt.text)
    return _Batch(texts, relaxed, len(fixed) - len(to_decode))


def accept(config: RunConfig, sink: Sink, checker: RowChecker, batch: _Batch, state: _State,
           quota: ExpectationQuota) -> list[list[str]]:
    """Check a batch, append the rows still needed (keys numbered on), count the rest. A row
    that would bring a soft expectation below its `mostly` is rejected like a failing one.
    Returns the rows appended (cells as file text, in spec column order)."""
    lines = [t for t in batch.texts if t is not None]
    if len(lines) < len(batch.texts):
        state.rejected[INCOMPLETE] += len(batch.texts) - len(lines)
    rows, reasons, soft = checker.check_with_expectations(lines, sink.rows + 1)
    state.rejected.update(reasons)
    keep: list[list[str]] = []
    passed = 0
    for row, outcome in zip(rows, soft, strict=True):
        if row is None or outcome is None:
            continue
        passed += 1
        if len(keep) == config.n - sink.rows:
            continue  # passed, but not needed: not a failure
        refused = quota.admit(*outcome)
        if refused is not None:
            state.rejected[refused] += 1
            passed -= 1
            continue
        keep.append(row)
    state.generated += len(batch.texts)
    state.rejected_rows += len(batch.texts) - passed
    state.relaxed_rows += batch.relaxed
    state.drawn_rows += batch.drawn
    # Key columns were numbered by position among parsed rows; renumber the kept ones.
    key_positions = [i for i, c in enumerate(config.spec.columns) if c.is_key]
    for offset, row in enumerate(keep):
        for k in key_positions:
            row[k] = str(sink.rows + 1 + offset)
    sink.append(keep)
    if keep and state.first_row_s is None:
        state.first_row_s = time.perf_counter() - state.started
    return keep


def written_expectations(spec: ir.Spec, partial: Path, checker: RowChecker) -> list[SoftOutcome]:
    """The soft outcomes of the rows an interrupted run committed (its partial file)."""
    from synspec import data
    from synspec.generate.checking import soft_outcomes

    raw = data.read_raw(partial, spec)
    return soft_outcomes(checker.checker.run(data.to_typed(raw, spec)), len(raw))


def batch_loop(config: RunConfig, plan: Plan, engine: Engine, prompt: Prompt, sink: Sink,
               manifest: mf.RunManifest, state: _State,
               progress: Progress) -> Generator[list[list[str]], None, mf.Status]:
    """Batches until N rows are committed ("complete") or the budget is spent ("starved");
    yields the rows of each batch once they are committed."""
    budget = int(config.budget_factor * config.n) + 2 * config.batch
    checker = RowChecker(config.spec)
    quota = ExpectationQuota(config.spec)
    if sink.rows:  # resumed: the rows already written count towards every expectation
        for outcome in written_expectations(config.spec, sink.partial, checker):
            quota.count(*outcome)
    state.loop_start = time.perf_counter()
    state.start_rows = sink.rows
    commit(manifest, sink, state, "running")
    progress.phase("generating")
    progress.update(sink.rows, state.generated)
    while sink.rows < config.n:
        if state.generated >= budget:
            return "starved"
        size = batch_rows(config, state, sink.rows)
        batch = make_batch(config, plan, engine, prompt, manifest, state, progress, size)
        kept = accept(config, sink, checker, batch, state, quota)
        state.batch_index += 1
        commit(manifest, sink, state, "running")
        progress.update(sink.rows, state.generated)
        if kept:
            yield kept
    return "complete"


# ---- step 7: publishing -----------------------------------------------------------------------
def finish(sink: Sink, manifest: mf.RunManifest, state: _State, status: mf.Status) -> RunResult:
    """Publish OUT, then mark the manifest complete (or starved, naming the check that rejected
    the most rows): a manifest never says complete for an OUT that was not published."""
    commit(manifest, sink, state, "running")
    sink.publish()
    starving = None
    if status == "starved" and state.rejected:
        starving = max(state.rejected.items(), key=lambda kv: (kv[1], kv[0]))[0]
    manifest.status = status
    manifest.starving_rule = starving
    mf.save(sink.manifest_path, manifest)
    return RunResult(status, sink.rows, state.generated, dict(state.rejected), starving, manifest,
                     time.perf_counter() - state.started)


# ---- the run ----------------------------------------------------------------------------------
def run(config: RunConfig, progress: Progress | None = None, engine: Engine | None = None) -> RunResult:
    """Generate `config.n` rows into `config.out`; see the module docstring.

    `engine` reuses an engine (and its loaded model) across runs, e.g. in tests; by default
    one is created from `config.engine` and `config.model`.
    """
    batches = run_batches(config, progress, engine)
    while True:
        try:
            next(batches)
        except StopIteration as done:
            return done.value


def run_batches(config: RunConfig, progress: Progress | None = None,
                engine: Engine | None = None) -> Generator[list[list[str]], None, RunResult]:
    """`run` as a generator: yields each batch's rows (cells as the file text, spec column
    order) once they are committed to `config.out`, and returns the `RunResult`."""
    # OpenMP's wait policy is read when torch is first imported (the manifest's device check
    # below may be that moment): spinning only where `threads.LoadWatch` can keep it safe.
    threads.prepare_environment(spin=config.threads is None and threads.can_watch())
    state = _State(started=time.perf_counter())
    progress = progress or Progress(config.n)
    config = normalised(config)
    sink = Sink(config.out, list(config.spec.column_names))
    saved = sink.check_start(resume=config.resume, force=config.force)
    prompt = build_prompt(config)
    if engine is None:
        engine = engines.create(config.engine, model=config.model, dtype=config.dtype, server=config.server)
    plan = plan_run(config, engine)
    manifest = build_manifest(config, sink, prompt, engine, plan)
    start_or_resume(sink, saved, manifest, state)
    status = yield from batch_loop(config, plan, engine, prompt, sink, manifest, state, progress)
    return finish(sink, manifest, state, status)
