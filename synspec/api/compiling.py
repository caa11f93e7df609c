"""`Spec.compile`: every compiler artifact of a spec, by file name (what `synspec compile`
writes), read from `synspec.targets.registry`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from synspec.api.spec import Spec

__all__ = ["artifacts", "builders", "example_rows"]


def example_rows(spec: Spec, examples: str | os.PathLike[str] | None, n_examples: int,
                 seed: int) -> pd.DataFrame | None:
    """The seed_ex prompt's rows from a CSV/Parquet file, sampled as `synspec run --seed` does."""
    if examples is None:
        return None
    from synspec.generate.examples import read_examples

    return read_examples(Path(examples), spec._ir, seed, n_examples).rows


def builders(spec: Spec, rows: pd.DataFrame | None) -> tuple[dict[str, Any], Callable[[], dict[str, Any]]]:
    """(file name -> text builder, the enforcement report's builder); nothing is built yet."""
    from synspec.targets.registry import TARGETS, Compilation

    compilation = Compilation(spec._ir, rows)
    made = {name: make for target in TARGETS.values() for name, make in target.artifacts(compilation).items()}
    return made, lambda: compilation.enforcement


def artifacts(spec: Spec, *, examples: str | os.PathLike[str] | None = None,
              n_examples: int = 5, seed: int = 0) -> dict[str, str]:
    """See `Spec.compile`."""
    made, _ = builders(spec, example_rows(spec, examples, n_examples, seed))
    return {name: make() for name, make in made.items()}
