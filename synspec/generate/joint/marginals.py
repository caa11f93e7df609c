"""Per-column marginal distributions declared by a spec, drawn inside rule classes.

Owns turning one column's declared statistics (frequencies, `values`, or quantiles between
the range ends; unconditional or `given` one level of another column) into a sampler that
maps a uniform number to a cell, restricted to the value classes a row still allows
(`synspec.targets.grammar` splits each column into classes at its rule thresholds).

Numbers live on the column's scaled-integer grid (value * 10**places), the grid the row
grammar and the checker use, so a drawn value is always one the grammar can write.
Quantile columns follow the piecewise-linear CDF through (0, low), each declared
(p, quantile) and (1, high); the cell k takes the CDF's mass on [k - 1/2, k + 1/2], so equal
quantiles (many rows on one value, e.g. an imputed bmi) become a point mass and no value
gets the mass of a region it only borders. Missingness is decided by its own uniform so the
latent Gaussian drives only the value (see `synspec.generate.joint` for why).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from synspec import ir
from synspec.targets.grammar.automaton import MISSING_CLASS
from synspec.targets.grammar.ranges import decimal_places, number_text

Classes = list[
    tuple
]  # the automaton's classes of one column: ("num", lo, hi) | ("bool", b) | ("level", v) | ("missing",)


def scaled(column: ir.Column, value: float) -> int:
    """A declared number on the column's scaled-integer grid."""
    return round(Fraction(str(value)) * 10 ** decimal_places(column))


def is_drawable(column: ir.Column) -> bool:
    """Whether the spec declares enough to draw the column without the model."""
    if column.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN):
        return bool(column.frequencies)
    if column.values:
        return True
    return bool(column.quantiles) and column.low is not None and column.high is not None


class Marginal:
    """One column's distribution over its classes; subclasses fix how values are laid out."""

    def __init__(self, column: ir.Column, classes: Classes) -> None:
        self.column = column
        self.classes = classes
        self.missing_index = classes.index(MISSING_CLASS) if MISSING_CLASS in classes else None
        rate = column.missing_rate if self.missing_index is not None else 0.0
        self.class_mass = self._value_class_mass() * (1.0 - rate)
        if self.missing_index is not None:
            self.class_mass[self.missing_index] = rate

    # -- to be provided by subclasses ------------------------------------------------
    def _value_class_mass(self) -> np.ndarray:
        raise NotImplementedError

    def _point(self, cls: int, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells at relative `position` (0..1) of class `cls`'s mass: (texts, numbers).

        Numeric marginals return their scaled-integer grid points as `texts` (as int64);
        `draw` renders them, only when asked, since calibration needs the numbers alone."""
        raise NotImplementedError

    def render(self, points: np.ndarray) -> np.ndarray:
        """File texts of what `_point` returned (numeric: scaled integers)."""
        return points

    # -- drawing -------------------------------------------------------------------------
    def draw(
        self, u: np.ndarray, v: np.ndarray, allowed: np.ndarray, render: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Cells for uniforms `u` (the value) and `v` (missingness) where `allowed[i, c]` says
        whether row i may take class c. Returns (class index, file text, number) per row;
        the number is NaN for missing and categorical cells, booleans are 1/0. With
        `render=False` numeric columns skip the texts (None), which calibration does not need."""
        n = len(u)
        mass = allowed * self.class_mass[None, :]
        if np.any(mass.sum(axis=1) <= 0):
            # The rules leave only classes the statistics give no mass: spread evenly
            # over what is allowed rather than fail (the row stays valid).
            empty = mass.sum(axis=1) <= 0
            mass[empty] = allowed[empty].astype(float)
        if not allowed.any(axis=1).all():
            raise ValueError(f"column {self.column.name}: a row allows no value at all")
        missing = np.zeros(n, dtype=bool)
        if self.missing_index is not None:
            share = mass[:, self.missing_index] / mass.sum(axis=1)
            missing = v < share
            mass[:, self.missing_index] = 0.0
            only_missing = mass.sum(axis=1) <= 0
            missing |= only_missing
        cumulative = np.cumsum(mass, axis=1)
        total = cumulative[:, -1]
        target = u * total
        cls = np.minimum((cumulative < target[:, None]).sum(axis=1), len(self.classes) - 1)
        before = np.take_along_axis(cumulative, cls[:, None], 1)[:, 0] - mass[np.arange(n), cls]
        width = mass[np.arange(n), cls]
        position = np.where(width > 0, (target - before) / np.where(width > 0, width, 1.0), 0.5)
        points = np.empty(n, dtype=object if not self.column.is_numeric else np.int64)
        numbers = np.full(n, np.nan)
        for c in np.unique(cls[~missing]):
            rows = (~missing) & (cls == c)
            points[rows], numbers[rows] = self._point(int(c), np.clip(position[rows], 0.0, 1.0))
        if self.missing_index is not None:
            cls = np.where(missing, self.missing_index, cls)
        if not render and self.column.is_numeric:
            return cls, None, numbers
        texts = np.empty(n, dtype=object)
        texts[~missing] = self.render(points[~missing])
        texts[missing] = self.column.missing_token
        return cls, texts, numbers


class LevelMarginal(Marginal):
    """Categorical and boolean columns: declared frequencies over the levels.

    Booleans put false before true, so a higher latent value means true and a positive
    latent correlation gives a positive Pearson correlation with the 1/0 coding.
    """

    def __init__(
        self, column: ir.Column, classes: Classes, frequencies: tuple[tuple[str, float], ...]
    ) -> None:
        self.shares = dict(frequencies)
        super().__init__(column, classes)

    def _text(self, cls: tuple) -> str:
        if cls[0] == "bool":
            return self.column.true_token if cls[1] else self.column.false_token  # type: ignore[return-value]
        return cls[1]

    def _value_class_mass(self) -> np.ndarray:
        mass = np.array(
            [0.0 if c == MISSING_CLASS else self.shares.get(self._text(c), 0.0) for c in self.classes]
        )
        total = mass.sum()
        return mass / total if total > 0 else mass

    def _point(self, cls: int, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.classes[cls]
        number = (1.0 if c[1] else 0.0) if c[0] == "bool" else np.nan
        return np.full(len(position), self._text(c), dtype=object), np.full(len(position), number)


def order_boolean_classes(classes: Classes) -> Classes:
    """Booleans false first (see LevelMarginal); other classes keep the automaton's order."""
    bools = [c for c in classes if c[0] == "bool"]
    if not bools:
        return classes
    return sorted(bools, key=lambda c: c[1]) + [c for c in classes if c[0] != "bool"]


class ValuesMarginal(Marginal):
    """A numeric column with declared distinct values and their shares."""

    def __init__(self, column: ir.Column, classes: Classes, values: tuple[tuple[float, float], ...]) -> None:
        self._set_points(
            np.array([scaled(column, v) for v, _ in values], dtype=np.int64),
            np.array([s for _, s in values], dtype=float),
        )
        super().__init__(column, classes)

    @classmethod
    def from_points(
        cls, column: ir.Column, classes: Classes, points: np.ndarray, shares: np.ndarray
    ) -> ValuesMarginal:
        """A values marginal over scaled-integer grid points (ascending) and their shares."""
        self = cls.__new__(cls)
        self._set_points(points.astype(np.int64), shares.astype(float))
        Marginal.__init__(self, column, classes)
        return self

    def _set_points(self, points: np.ndarray, shares: np.ndarray) -> None:
        self.points = points
        self.shares = shares / shares.sum()

    def _members(self, cls: int) -> np.ndarray:
        c = self.classes[cls]
        return (
            (self.points >= c[1]) & (self.points <= c[2])
            if c[0] == "num"
            else np.zeros(len(self.points), bool)
        )

    def _value_class_mass(self) -> np.ndarray:
        return np.array([self.shares[self._members(i)].sum() for i in range(len(self.classes))])

    def _point(self, cls: int, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        members = self._members(cls)
        points, shares = self.points[members], self.shares[members]
        if len(points) == 0:  # a class the statistics leave empty: its lowest value
            c = self.classes[cls]
            points, shares = np.array([c[1]]), np.array([1.0])
        cumulative = np.cumsum(shares) / shares.sum()
        pick = np.minimum(np.searchsorted(cumulative, position, side="left"), len(points) - 1)
        chosen = points[pick]
        return chosen, chosen / _unit(self.column)

    def render(self, points: np.ndarray) -> np.ndarray:
        return _texts(self.column, points)


class QuantileMarginal(Marginal):
    """A numeric column drawn from the piecewise-linear CDF through its range ends and quantiles."""

    def __init__(
        self, column: ir.Column, classes: Classes, quantiles: tuple[tuple[float, float], ...]
    ) -> None:
        self.low, self.high = scaled(column, column.low), scaled(column, column.high)  # type: ignore[arg-type]
        probs = [0.0] + [p / 100 for p, _ in quantiles] + [1.0]
        knots = (
            [float(self.low)]
            + [float(np.clip(scaled(column, q), self.low, self.high)) for _, q in quantiles]
            + [float(self.high)]
        )
        # Drop knots that repeat a probability (a 0% or 100% quantile) and keep values rising.
        p_out, x_out = [probs[0]], [knots[0]]
        for p, x in zip(probs[1:], knots[1:], strict=True):
            if p <= p_out[-1]:
                x_out[-1] = max(x_out[-1], x) if p == 1.0 else x_out[-1]
                continue
            p_out.append(p)
            x_out.append(max(x, x_out[-1]))
        self.probs, self.knots = np.array(p_out), np.array(x_out)
        super().__init__(column, classes)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """Right-continuous CDF on the scaled axis (a repeated knot is a jump)."""
        x = np.asarray(x, dtype=float)
        i = np.searchsorted(self.knots, x, side="right")
        inside = np.clip(i, 1, len(self.knots) - 1)
        x0, x1 = self.knots[inside - 1], self.knots[inside]
        p0, p1 = self.probs[inside - 1], self.probs[inside]
        out = p0 + (p1 - p0) * np.clip((x - x0) / np.where(x1 > x0, x1 - x0, 1.0), 0.0, 1.0)
        return np.where(i <= 0, 0.0, np.where(i >= len(self.knots), 1.0, out))

    def ppf(self, p: np.ndarray) -> np.ndarray:
        return np.interp(p, self.probs, self.knots)

    def cdf_below(self, x: np.ndarray | float) -> np.ndarray:
        """The mass below a cell's lower edge `x`: the CDF, except that the range floor's own
        point mass (a quantile equal to the low end) belongs to the floor's cell, not below it."""
        x = np.asarray(x, dtype=float)
        return np.where(x <= self.low, 0.0, self.cdf(x))

    def _edges(self, cls: int) -> tuple[float, float]:
        c = self.classes[cls]
        return max(c[1] - 0.5, self.low), min(c[2] + 0.5, self.high)

    def _value_class_mass(self) -> np.ndarray:
        mass = []
        for i, c in enumerate(self.classes):
            if c[0] != "num":
                mass.append(0.0)
                continue
            a, b = self._edges(i)
            mass.append(float(self.cdf(b) - self.cdf_below(a)) if b >= a else 0.0)
        return np.array(mass)

    def _point(self, cls: int, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.classes[cls]
        a, b = self._edges(cls)
        lo_p, hi_p = self.cdf_below(a), self.cdf(b)
        x = self.ppf(lo_p + position * (hi_p - lo_p))
        chosen = np.clip(np.floor(x + 0.5), max(c[1], self.low), min(c[2], self.high)).astype(np.int64)
        return chosen, chosen / _unit(self.column)

    def render(self, points: np.ndarray) -> np.ndarray:
        return _texts(self.column, points)


def _unit(column: ir.Column) -> float:
    return float(10 ** decimal_places(column))


def _texts(column: ir.Column, points: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(points.astype(np.int64), return_inverse=True)
    return np.array([number_text(column, int(k)) for k in unique], dtype=object)[inverse]


def marginal(column: ir.Column, classes: Classes, conditional: ir.Conditional | None = None) -> Marginal:
    """The sampler for `column` (given one level of another column when `conditional` is set
    and declares a statistic of the right kind; else the unconditional one)."""
    if column.kind in (ir.ColumnKind.CATEGORICAL, ir.ColumnKind.BOOLEAN):
        freqs = conditional.frequencies if conditional and conditional.frequencies else column.frequencies
        return LevelMarginal(column, classes, freqs)
    if conditional and conditional.values:
        return ValuesMarginal(column, classes, conditional.values)
    if conditional and conditional.quantiles and column.values:
        # Only the declared values are allowed: give each the quantile curve's mass.
        return ValuesMarginal(column, classes, quantiles_on_values(column, conditional.quantiles))
    if conditional and conditional.quantiles:
        return QuantileMarginal(column, classes, conditional.quantiles)
    if column.values:
        return ValuesMarginal(column, classes, column.values)
    if (
        column.low is None
        or column.high is None
        or not (math.isfinite(column.low) and math.isfinite(column.high))
    ):
        raise ValueError(f"column {column.name}: quantiles need both range ends to be drawn")
    return QuantileMarginal(column, classes, column.quantiles)


def quantiles_on_values(
    column: ir.Column, quantiles: tuple[tuple[float, float], ...]
) -> tuple[tuple[float, float], ...]:
    """Shares of a values-column's declared values under a quantile curve: each value takes
    the curve's mass between the midpoints to its neighbours (for a level of a `given`
    column whose rows were too few to publish every value's share, only its quantiles)."""
    values = [v for v, _ in column.values]
    points = [scaled(column, v) for v in values]
    low, high = min(points), max(points)
    curve = QuantileMarginal(
        column.model_copy(update={"low": values[0], "high": values[-1]}), [("num", low, high)], quantiles
    )
    edges = [float(low)] + [(a + b) / 2 for a, b in zip(points, points[1:], strict=False)] + [float(high)]
    mass = np.diff(curve.cdf(np.array(edges)))
    mass[-1] += 1.0 - curve.cdf(float(high))
    total = mass.sum()
    return tuple((v, float(m / total)) for v, m in zip(values, mass, strict=True) if m > 0)
