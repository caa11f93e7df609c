"""`Spec.generate`, `Spec.generate_batches` and `Spec.generate_file`: `synspec run` from Python.

All three run `synspec.generate.pipeline` (one code path, so the rows are those `synspec run`
writes with the same settings). `generate_batches` runs it into a temporary folder, which
goes away when the iterator is exhausted or closed, and yields each committed batch as a
DataFrame; `generate` concatenates them; `generate_file` writes the output and its manifest
where asked and returns a `RunSummary`. `progress=True` shows a bar on stderr; a callable
is called as `progress(rows_done, rows_generated)` after each batch.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synspec.errors import UserError

if TYPE_CHECKING:
    from synspec.api.spec import Spec
    from synspec.generate.pipeline import Progress, RunConfig

__all__ = ["RunSummary", "generate", "generate_batches", "generate_file"]

ProgressArg = bool | Callable[[int, int], None]


@dataclass(frozen=True)
class RunSummary:
    """What one `generate_file` run did (the manifest beside `out` holds every detail)."""

    out: Path
    status: str  # "complete", or "starved" when the rules rejected too many rows
    rows: int
    requested: int
    generated: int
    yield_: float | None  # rows that passed every check / rows generated
    seconds: float
    rejected: dict[str, int] = field(default_factory=dict)  # rows rejected per check
    starving_rule: str | None = None  # the check that rejected the most, when starved
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def complete(self) -> bool:
        return self.status == "complete"


def _config(spec: Spec, out: Path, spec_path: Path, n: int, **settings: Any) -> RunConfig:
    from synspec.generate import pipeline

    examples = settings.pop("examples")
    config = pipeline.RunConfig(spec=spec._ir, spec_path=spec_path, n=n, out=out,
                                examples=None if examples is None else Path(examples), **settings)
    pipeline.validate_config(config)
    return config


def generate_batches(spec: Spec, n: int, *, progress: ProgressArg = False, as_text: bool = False,
                     **settings: Any) -> Iterator[pd.DataFrame]:
    """See `Spec.generate_batches`; `settings` are `RunConfig`'s (style, seed, engine, ...)."""
    from synspec.generate.sink import output_format

    _config(spec, Path("rows.csv"), Path("spec.synspec"), n, **settings)  # errors now, not at next()
    output_format(Path("rows.csv"))
    return _batches(spec, n, progress, as_text, settings)


def _batches(spec: Spec, n: int, progress: ProgressArg, as_text: bool,
             settings: dict[str, Any]) -> Generator[pd.DataFrame, None, None]:
    from synspec.api.frames import typed
    from synspec.generate import pipeline

    with tempfile.TemporaryDirectory(prefix="synspec-") as folder:
        spec_path = Path(folder) / "spec.synspec"
        spec_path.write_text(spec.text, encoding="utf-8")
        config = _config(spec, Path(folder) / "rows.csv", spec_path, n, **settings)
        start = 0
        with _progress(progress, n) as bar:
            batches = pipeline.run_batches(config, bar)
            while True:
                try:
                    rows = next(batches)
                except StopIteration as done:
                    result = done.value
                    break
                cells = pd.DataFrame(rows, columns=spec.columns, dtype=object,
                                     index=pd.RangeIndex(start, start + len(rows)))
                start += len(rows)
                yield cells if as_text else typed(spec._ir, cells)
    if result.status == "starved":
        raise UserError(f"the retry budget ran out after {result.generated} generated rows "
                        f"({start} of {n} kept); rule `{result.starving_rule}` rejected the most",
                        hint="check the rule against the spec's statistics, or let the grammar enforce it "
                             "(Spec.compile()'s enforcement report shows which rules are checked after)")


def generate(spec: Spec, n: int, *, progress: ProgressArg = False, as_text: bool = False,
             **settings: Any) -> pd.DataFrame:
    """See `Spec.generate`."""
    frames = list(generate_batches(spec, n, progress=progress, as_text=as_text, **settings))
    return pd.concat(frames) if frames else pd.DataFrame(columns=spec.columns)


def generate_file(spec: Spec, out: str | os.PathLike[str], n: int, *, resume: bool = False,
                  force: bool = False, progress: ProgressArg = False, **settings: Any) -> RunSummary:
    """See `Spec.generate_file`."""
    from synspec.generate import pipeline
    from synspec.generate.sink import output_format

    if resume and force:
        raise UserError("--resume and --force contradict each other", where="--resume/--force",
                        hint="--resume continues an interrupted run; --force starts over")
    if spec.path is None:
        raise UserError("generate_file needs a spec read from a file (its hash goes in the manifest)",
                        hint="save the text and use Spec.load(path), or use Spec.generate for a DataFrame")
    target = Path(out)
    config = _config(spec, target, spec.path, n, resume=resume, force=force, **settings)
    output_format(target)  # an unknown extension fails before the model loads
    with _progress(progress, n) as bar:
        result = pipeline.run(config, bar)
    manifest = result.manifest
    return RunSummary(out=target, status=result.status, rows=result.rows, requested=n,
                      generated=manifest.counts.generated, yield_=manifest.yield_, seconds=result.seconds,
                      rejected=dict(result.rejected), starving_rule=result.starving_rule,
                      manifest=manifest.model_dump(mode="json", by_alias=True))


class _progress:
    """The pipeline's `Progress` for a `progress` argument: nothing, a callable, or a bar."""

    def __init__(self, arg: ProgressArg, total: int) -> None:
        self.arg = arg
        self.total = total
        self.bar: Any = None

    def __enter__(self) -> Progress:
        from synspec.generate.pipeline import Progress

        if callable(self.arg):
            return Progress(self.total, self.arg)
        if not self.arg:
            return Progress(self.total)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]} rows/s"), TextColumn("ETA"), TimeRemainingColumn())
        self.bar = bar = Bar(*columns, console=Console(stderr=True), transient=False)
        bar.start()
        task = bar.add_task("starting", total=self.total, rate="-")
        # The rate counts from the first update on, so model loading does not dilute it.
        start = time.perf_counter()
        first: int | None = None

        def update(accepted: int, generated: int) -> None:
            nonlocal start, first
            if first is None:
                first, start = accepted, time.perf_counter()
            elapsed = time.perf_counter() - start
            rate = (accepted - first) / elapsed if elapsed > 0 else 0.0
            bar.update(task, completed=accepted, rate=f"{rate:.1f}")

        def decoded(done: int, of: int) -> None:
            # Wide rows take hundreds of steps: show each finished row before the batch is written.
            bar.update(task, description="generating" if done == of
                       else f"generating (batch: {done}/{of} rows decoded)")

        return Progress(self.total, update, lambda text: bar.update(task, description=text), decoded)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
