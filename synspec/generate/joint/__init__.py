"""Joint seeding: whole rows drawn from the spec's declared aggregates, before decoding.

Owns `JointSampler`, which draws every column whose distribution the spec declares
(frequencies, `values`, or quantiles between the range ends), together:
- a Gaussian copula over the declared correlations: one latent normal per drawn column, with
  the latent correlations calibrated so that the drawn rows show the declared Pearson
  correlations (`correlation.calibrate`), after projecting to the nearest valid matrix;
- conditional statistics where declared (`quantiles given diabetes == 1: ...`): the columns
  named in a `given` are drawn first, then each row uses the statistics of its level;
- values interpolated between declared quantiles on the column's grid (`marginals`);
- the hard rules the row grammar compiles are kept by construction: each column is drawn only
  inside the value classes the rules still allow for that row (`constraints`), so nothing is
  rejected and the marginals are not bent; the other hard rules (arithmetic) are checked with
  the checker and the failing rows redrawn.
Columns the spec leaves undeclared are not drawn: the model writes them.

Determinism: batch b draws from a generator seeded by (seed, b) only; calibration uses its
own fixed seed, so the same spec always gives the same latent matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from synspec import ir
from synspec.generate.joint.constraints import RowState, RuleClasses
from synspec.generate.joint.correlation import Pair, calibrate, pearson
from synspec.generate.joint.marginals import Marginal, is_drawable, marginal

CALIBRATION_ROWS = 20_000
CALIBRATION_SEED = 0xCA11B
MAX_REDRAWS = 50


@dataclass(frozen=True)
class Draw:
    """Rows of file texts (column -> text; the missing token for missing) and their numbers."""

    texts: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]

    def rows(self) -> list[dict[str, str]]:
        names = list(self.texts)
        n = len(next(iter(self.texts.values()))) if names else 0
        return [{name: str(self.texts[name][i]) for name in names} for i in range(n)]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: values for name, values in self.texts.items()})


def draw_order(spec: ir.Spec, drawn: list[str]) -> list[str]:
    """Columns that others are conditioned on come before those columns (file order otherwise);
    a conditional that would need a later or undrawn column is not used (see `conditioning`)."""
    order: list[str] = []
    pending = list(drawn)
    while pending:
        for name in pending:
            given = conditioning(spec.column(name), set(drawn))
            if given is None or given in order:
                order.append(name)
                pending.remove(name)
                break
        else:  # a cycle of conditionals: take the earliest column, it draws unconditionally
            order.append(pending.pop(0))
    return order


def conditioning(column: ir.Column, drawn: set[str]) -> str | None:
    """The column this one's conditional statistics are given (the first one declared)."""
    for cond in column.conditionals:
        if cond.given in drawn and cond.given != column.name:
            return cond.given
    return None


class JointSampler:
    """Draws the declared columns of a spec jointly; see the module docstring."""

    def __init__(self, spec: ir.Spec, *, calibration_rows: int = CALIBRATION_ROWS) -> None:
        self.spec = spec
        self.rule_classes = RuleClasses(spec)
        candidates = [c.name for c in spec.generated_columns
                      if is_drawable(c) and c.name in self.rule_classes.classes]
        self.columns = draw_order(spec, candidates)
        self.index = {name: i for i, name in enumerate(self.columns)}
        drawn = set(self.columns)
        self.given = {name: conditioning(spec.column(name), drawn) for name in self.columns}
        self.marginals: dict[tuple[str, str | None], Marginal] = {}
        for name in self.columns:
            column = spec.column(name)
            classes = self.rule_classes.classes[name]
            self.marginals[(name, None)] = marginal(column, classes)
            for cond in column.conditionals:
                if cond.given == self.given[name]:
                    self.marginals[(name, cond.level)] = marginal(column, classes, cond)
        self._checker_rules = [r for r in spec.hard_rules
                               if r.name not in self.rule_classes.compiled and set(r.columns) <= drawn]
        self._checker = None
        self.targets: dict[Pair, float] = {}
        for corr in spec.correlations:
            if corr.left in self.index and corr.right in self.index and corr.left != corr.right:
                i, j = sorted((self.index[corr.left], self.index[corr.right]))
                self.targets[(i, j)] = corr.value
        self.latent = self._calibrate(calibration_rows) if self.targets else np.eye(len(self.columns))
        self._chol = np.linalg.cholesky(self.latent) if self.columns else np.zeros((0, 0))

    # -- drawing --------------------------------------------------------------------------
    def _uniforms(self, rng: np.random.Generator, n: int, chol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = len(self.columns)
        z = rng.standard_normal((n, d)) @ chol.T
        return ndtr(z), rng.random((n, d))

    def _draw(self, u: np.ndarray, v: np.ndarray, render: bool = True) -> Draw:
        n = len(u)
        state = RowState(self.rule_classes, n)
        texts: dict[str, np.ndarray] = {}
        numbers: dict[str, np.ndarray] = {}
        for name in self.columns:
            k = self.index[name]
            allowed = state.allowed(name)
            given = self.given[name]
            groups = [(np.ones(n, dtype=bool), self.marginals[(name, None)])]
            if given is not None:
                levels = texts[given]
                groups = []
                covered = np.zeros(n, dtype=bool)
                for (col, level), m in self.marginals.items():
                    if col == name and level is not None:
                        rows = levels == level
                        covered |= rows
                        groups.append((rows, m))
                groups.append((~covered, self.marginals[(name, None)]))
            cls = np.zeros(n, dtype=np.int64)
            col_texts = np.empty(n, dtype=object)
            col_numbers = np.full(n, np.nan)
            for rows, m in groups:
                if rows.any():
                    cls[rows], part, col_numbers[rows] = m.draw(u[rows, k], v[rows, k], allowed[rows], render)
                    if part is not None:
                        col_texts[rows] = part
            state.take(name, cls)
            texts[name], numbers[name] = col_texts, col_numbers
        return Draw(texts, numbers)

    def draw(self, n: int, rng: np.random.Generator) -> Draw:
        """`n` rows; rows breaking a hard rule the grammar does not compile are redrawn."""
        result = self._draw(*self._uniforms(rng, n, self._chol))
        for _ in range(MAX_REDRAWS):
            bad = self._failing(result)
            if not bad.any():
                break
            again = self._draw(*self._uniforms(rng, int(bad.sum()), self._chol))
            for name in self.columns:
                result.texts[name][bad] = again.texts[name]
                result.numbers[name][bad] = again.numbers[name]
        return result

    def draw_batch(self, size: int, seed: int, batch_index: int) -> list[dict[str, str]]:
        """Fixed values (column -> file text) for the rows of one batch of `synspec run`."""
        rng = np.random.default_rng([seed & 0xFFFF_FFFF, seed >> 32, batch_index, 0x701D])
        return self.draw(size, rng).rows()

    def _failing(self, result: Draw) -> np.ndarray:
        n = len(next(iter(result.texts.values()))) if result.texts else 0
        if not self._checker_rules or n == 0:
            return np.zeros(n, dtype=bool)
        from synspec import data
        from synspec.targets import checker

        if self._checker is None:
            self._checker = checker.compile_checker(self.spec)
        raw = pd.DataFrame({c.name: result.texts.get(c.name, np.full(n, c.missing_token or "", dtype=object))
                            for c in self.spec.columns})
        report = self._checker.run(data.to_typed(raw, self.spec))
        names = {r.name for r in self._checker_rules}
        bad = np.zeros(n, dtype=bool)
        for outcome in report.outcomes:
            if outcome.name in names:
                bad |= np.asarray(outcome.failed, dtype=bool)
        return bad

    # -- calibration ----------------------------------------------------------------------
    def _calibrate(self, rows: int) -> np.ndarray:
        rng = np.random.default_rng(CALIBRATION_SEED)
        d = len(self.columns)
        z = rng.standard_normal((rows, d))
        v = rng.random((rows, d))

        def measure(latent: np.ndarray) -> dict[Pair, float]:
            u = ndtr(z @ np.linalg.cholesky(latent).T)
            numbers = self._draw(u, v, render=False).numbers
            return {(i, j): pearson(numbers[self.columns[i]], numbers[self.columns[j]])
                    for i, j in self.targets}

        return calibrate(d, self.targets, measure)

    def observed_correlations(self, result: Draw) -> dict[tuple[str, str], float]:
        """The Pearson correlation of each declared pair in `result` (for tests and reports)."""
        return {(self.columns[i], self.columns[j]):
                pearson(result.numbers[self.columns[i]], result.numbers[self.columns[j]])
                for i, j in self.targets}
