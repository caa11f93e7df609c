"""`Spec`: a checked spec, the API's entry point (load, inspect, compile, validate, generate).

Owns loading (`Spec.load`, `Spec.from_text`: a `SpecError` with every diagnostic when the spec
has errors) and the methods that hand the checked IR to the other API modules; the work itself
is done by `validation`, `generation` and the compiler's targets.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synspec import ir
from synspec.api.errors import Diagnostic, SpecError

if TYPE_CHECKING:
    import pandas as pd

    from synspec.api.generation import RunSummary
    from synspec.api.validation import ValidationReport
    from synspec.generate.engines.server import ServerSettings

PathLike = str | os.PathLike[str]
ProgressArg = bool | Callable[[int, int], None]


class Spec:
    """A spec that checked without errors. Build one with `Spec.load` or `Spec.from_text`."""

    def __init__(self, checked: ir.Spec, *, text: str, path: Path | None,
                 warnings: tuple[Diagnostic, ...] = ()) -> None:
        self._ir = checked
        self.text = text
        self.path = path  # the file it was read from; None for `from_text`
        self.warnings = warnings

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: PathLike) -> Spec:
        """Read and check a `.synspec` file; a `SpecError` if it cannot be read or has errors."""
        from synspec.passes import check_file

        result = check_file(Path(path))
        return cls._checked(result, Path(path))

    @classmethod
    def from_text(cls, text: str, *, path: str = "<string>") -> Spec:
        """Check spec text (`path` names it in diagnostics); a `SpecError` if it has errors."""
        from synspec.passes import check_text

        return cls._checked(check_text(text, path), None)

    @classmethod
    def _checked(cls, result: Any, path: Path | None) -> Spec:
        found = tuple(Diagnostic._of(d) for d in result.diagnostics)
        if result.spec is None:
            errors = [d for d in found if d.severity == "error"]
            n = len(errors)
            where = errors[0].location if errors else result.source.path
            first = f": {errors[0].message}" if errors else ""
            more = f" (and {n - 1} more error{'s' * (n != 2)})" if n > 1 else ""
            raise SpecError(f"{result.source.path}{first}{more}", found, where=where,
                            hint=errors[0].hint if errors else None)
        return cls(result.spec, text=result.source.text, path=path,
                   warnings=tuple(d for d in found if d.severity == "warning"))

    # ---- what it declares ----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._ir.name

    @property
    def columns(self) -> list[str]:
        """Column names in file order (the order of every table the spec describes)."""
        return list(self._ir.column_names)

    @property
    def target(self) -> str | None:
        return self._ir.target

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path is not None else ""
        return f"<Spec {self.name!r}{where}: {len(self._ir.columns)} columns, {len(self._ir.rules)} rules>"

    # ---- compiling -----------------------------------------------------------------------
    def compile(self, *, examples: PathLike | None = None, n_examples: int = 5,
                seed: int = 0) -> dict[str, str]:
        """Every compiler artifact (what `synspec compile -o DIR` writes): file name -> text.

        `examples`: real rows for the seed_ex prompt (a CSV/Parquet path);
        `n_examples` of them are sampled with `seed`, as `synspec run --seed` would.
        """
        from synspec.api.compiling import artifacts

        return artifacts(self, examples=examples, n_examples=n_examples, seed=seed)

    # ---- validating ----------------------------------------------------------------------
    def validate(self, data: pd.DataFrame | PathLike, *, max_examples: int = 5,
                 chunk_rows: int = 100_000, violations: PathLike | None = None,
                 keep_failures: bool = True, stats: str | None = None, engine: str = "auto",
                 connect: str | None = None) -> ValidationReport:
        """Check a table (a DataFrame, or a CSV/Parquet path or Parquet glob) against the spec.

        `engine`: `pandas` (chunks), `duckdb`, `spark` or `auto` (pandas for small files, DuckDB
        for large ones), as `synspec validate --engine`; `connect`: a DuckDB file or a Spark master
        URL, with `data` then naming a table. Every engine gives the same report.
        `stats="fail"` or `"warn"` also compares every declared statistic with the table (drift,
        judged against sampling error; `synspec validate --stats`): see `to_dict()["stats"]`.
        """
        from synspec.api.validation import validate

        return validate(self, data, max_examples=max_examples, chunk_rows=chunk_rows,
                        violations=violations, keep_failures=keep_failures, stats=stats, engine=engine,
                        connect=connect)

    # ---- generating ----------------------------------------------------------------------
    def generate(self, n: int, *, style: str = "clin_rule", seed: int = 0, engine: str = "local",
                 seeding: str = "joint", model: str = "default", batch_size: int | None = None,
                 temperature: float = 1.0, examples: PathLike | None = None,
                 progress: ProgressArg = False, as_text: bool = False, dtype: str = "auto",
                 threads: int | None = None, server: ServerSettings | None = None) -> pd.DataFrame:
        """`n` rows that pass every hard rule: the rows `synspec run` writes with the same settings.

        Typed columns (integer: Int64, decimal: float64, boolean: boolean, categorical:
        category); `as_text=True` gives the cells exactly as `synspec run` writes them.
        `dtype` and `threads` are `synspec run`'s `--dtype` and `--threads` (None: the free
        cores); they matter only when the model writes something, and never change the rows.
        `server` (`synspec.ServerSettings`) goes with `engine="server"`: `model` is then the
        served model's name.
        """
        from synspec.api.generation import generate

        return generate(self, n, style=style, seed=seed, engine=engine, seeding=seeding, model=model,
                        batch_size=batch_size, temperature=temperature, examples=examples,
                        progress=progress, as_text=as_text, dtype=dtype, threads=threads, server=server)

    def generate_batches(self, n: int, *, style: str = "clin_rule", seed: int = 0, engine: str = "local",
                         seeding: str = "joint", model: str = "default", batch_size: int | None = None,
                         temperature: float = 1.0, examples: PathLike | None = None,
                         progress: ProgressArg = False, as_text: bool = False, dtype: str = "auto",
                         threads: int | None = None,
                         server: ServerSettings | None = None) -> Iterator[pd.DataFrame]:
        """`generate` one batch at a time: each batch's rows that passed the checks (at most
        `batch_size`; the same rows, in the same order, as `generate`)."""
        from synspec.api.generation import generate_batches

        return generate_batches(self, n, style=style, seed=seed, engine=engine, seeding=seeding,
                                model=model, batch_size=batch_size, temperature=temperature,
                                examples=examples, progress=progress, as_text=as_text, dtype=dtype,
                                threads=threads, server=server)

    def generate_file(self, out: PathLike, n: int, *, style: str = "clin_rule", seed: int = 0,
                      engine: str = "local", seeding: str = "joint", model: str = "default",
                      batch_size: int | None = None, temperature: float = 1.0,
                      examples: PathLike | None = None, resume: bool = False, force: bool = False,
                      progress: ProgressArg = False, dtype: str = "auto",
                      threads: int | None = None, server: ServerSettings | None = None) -> RunSummary:
        """What `synspec run` does: write `out` (.csv or .parquet) and its manifest, durably and
        resumably. The spec must come from a file (`Spec.load`): the manifest records its hash."""
        from synspec.api.generation import generate_file

        return generate_file(self, out, n, style=style, seed=seed, engine=engine, seeding=seeding,
                             model=model, batch_size=batch_size, temperature=temperature,
                             examples=examples, resume=resume, force=force, progress=progress,
                             dtype=dtype, threads=threads, server=server)
