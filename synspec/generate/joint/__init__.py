"""Joint seeding: whole rows drawn from the spec's declared aggregates, before decoding.

Owns `JointSampler`, which draws every column whose distribution the spec declares
(frequencies, `values`, or quantiles between the range ends), together:
- a Gaussian copula over the declared correlations: one latent normal per drawn column, with
  the latent correlations calibrated so that the drawn rows show the declared Pearson
  correlations (`correlation.calibrate`), after projecting to the nearest valid matrix;
- conditional statistics where declared (`quantiles given diabetes == 1: ...`): each column
  follows the statistics given one other column's level (`structure.choose_givens`), drawn
  after that column;
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
from synspec.generate.joint.structure import acyclic, alternatives, choose_givens, draw_order, sample_distance
from synspec.targets.checker import Checker

CALIBRATION_ROWS = 20_000
CALIBRATION_SEED = 0xCA11B
MAX_REDRAWS = 50
STRUCTURE_ROWS = 3_000
# A change of structure must lower the loss by this much: less is within sampling noise.
STRUCTURE_MARGIN = 0.01


@dataclass(frozen=True)
class Draw:
    """Rows of file texts (column -> text; the missing token for missing) and their numbers."""

    texts: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]
    classes: dict[str, np.ndarray]  # the rule class index of each cell (see `constraints`)

    def rows(self) -> list[dict[str, str]]:
        names = list(self.texts)
        n = len(next(iter(self.texts.values()))) if names else 0
        return [{name: str(self.texts[name][i]) for name in names} for i in range(n)]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: values for name, values in self.texts.items()})


class JointSampler:
    """Draws the declared columns of a spec jointly; see the module docstring."""

    def __init__(self, spec: ir.Spec, *, calibration_rows: int = CALIBRATION_ROWS) -> None:
        self.spec = spec
        self.rule_classes = RuleClasses(spec)
        candidates = [
            c.name for c in spec.generated_columns if is_drawable(c) and c.name in self.rule_classes.classes
        ]
        drawn = set(candidates)
        # Marginals keyed (column, None) overall and (column, "given\0level") per level.
        self.marginals: dict[tuple[str, str | None], Marginal] = {}
        for name in candidates:
            column = spec.column(name)
            classes = self.rule_classes.classes[name]
            self.marginals[(name, None)] = marginal(column, classes)
            for cond in column.conditionals:
                if cond.given in drawn:
                    self.marginals[(name, f"{cond.given}\0{cond.level}")] = marginal(column, classes, cond)
        self._set_structure(choose_givens(spec, candidates, self.marginals))
        self._improve_structure()
        self._checker_rules = [
            r for r in spec.hard_rules if r.name not in self.rule_classes.compiled and set(r.columns) <= drawn
        ]
        self._checker: Checker | None = None
        self.targets: dict[Pair, float] = {}
        for corr in spec.correlations:
            if corr.left in self.index and corr.right in self.index and corr.left != corr.right:
                i, j = sorted((self.index[corr.left], self.index[corr.right]))
                self.targets[(i, j)] = corr.value
        self.latent = self._calibrate(calibration_rows) if self.targets else np.eye(len(self.columns))
        self._chol = np.linalg.cholesky(self.latent) if self.columns else np.zeros((0, 0))

    # -- structure ------------------------------------------------------------------------
    def _set_structure(self, given: dict[str, str | None]) -> None:
        self.given = given
        self.columns = draw_order(self.spec, given)
        # Each column keeps its latent slot (file order) whatever the draw order, so draws
        # of two structures share their random numbers column by column.
        self.slots = sorted(given, key=lambda n: self.spec.column(n).position)
        self.index = {name: i for i, name in enumerate(self.slots)}
        # Per column, (class index of a level of its given column, marginal given that level).
        self._by_level: dict[str, list[tuple[int, Marginal]]] = {
            name: [
                (self._level_class(g, key.split("\0", 1)[1]), m)
                for (col, key), m in self.marginals.items()
                if col == name and key is not None and key.split("\0", 1)[0] == g
            ]
            for name, g in given.items()
            if g is not None
        }

    def _level_class(self, column: str, level: str) -> int:
        """The rule class index of one level (file text) of a categorical or boolean column."""
        c = self.spec.column(column)
        for i, cls in enumerate(self.rule_classes.classes[column]):
            text = (c.true_token if cls[1] else c.false_token) if cls[0] == "bool" else cls[-1]
            if cls[0] in ("bool", "level") and text == level:
                return i
        return -1  # a level the column does not declare: no row holds it

    def _improve_structure(self, rows: int = STRUCTURE_ROWS) -> None:
        """One pass of single changes to the givens, kept when they lower `fidelity_loss`."""
        if not any(c.conditionals for c in self.spec.columns):
            return
        rng = np.random.default_rng(CALIBRATION_SEED)
        u, v = rng.random((rows, len(self.given))), rng.random((rows, len(self.given)))
        best = self.fidelity_loss(self._draw(u, v, render=False))
        start = self.given
        for trial in alternatives(self.spec, start):
            # Each trial changes one column's given; apply that change to what was kept so far.
            current = self.given
            changed = {k: trial[k] for k in trial if trial[k] != start[k]}
            candidate = {**current, **changed}
            if candidate == current or not acyclic(candidate):
                continue
            self._set_structure(candidate)
            loss = self.fidelity_loss(self._draw(u, v, render=False))
            if loss < best - STRUCTURE_MARGIN:
                best = loss
            else:
                self._set_structure(current)

    def fidelity_loss(self, result: Draw) -> float:
        """How far drawn rows are from every declared statistic of the drawn columns: for
        each column, the distance from its overall statistics plus, for each declared level of
        a given column, the share-weighted distance from the statistics given that level."""
        total = 0.0
        for name in self.columns:
            cls, numbers = result.classes[name], result.numbers[name]
            total += sample_distance(self.marginals[(name, None)], cls, numbers)
            for (col, key), m in self.marginals.items():
                if col != name or key is None:
                    continue
                given, level = key.split("\0", 1)
                rows = result.classes[given] == self._level_class(given, level)
                share = float(rows.mean())
                if share > 0:
                    total += share * sample_distance(m, cls[rows], numbers[rows])
        return total

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
        classes: dict[str, np.ndarray] = {}
        for name in self.columns:
            k = self.index[name]
            allowed = state.allowed(name)
            given = self.given[name]
            groups = [(np.ones(n, dtype=bool), self.marginals[(name, None)])]
            if given is not None:
                groups = []
                covered = np.zeros(n, dtype=bool)
                for level_class, m in self._by_level[name]:
                    rows = classes[given] == level_class
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
            texts[name], numbers[name], classes[name] = col_texts, col_numbers, cls
        return Draw(texts, numbers, classes)

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
                result.classes[name][bad] = again.classes[name]
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
        raw = pd.DataFrame(
            {
                c.name: result.texts.get(c.name, np.full(n, c.missing_token or "", dtype=object))
                for c in self.spec.columns
            }
        )
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
            return {(i, j): pearson(numbers[self.slots[i]], numbers[self.slots[j]]) for i, j in self.targets}

        return calibrate(d, self.targets, measure)

    def observed_correlations(self, result: Draw) -> dict[tuple[str, str], float]:
        """The Pearson correlation of each declared pair in `result` (for tests and reports)."""
        return {
            (self.slots[i], self.slots[j]): pearson(
                result.numbers[self.slots[i]], result.numbers[self.slots[j]]
            )
            for i, j in self.targets
        }
