"""The rule checker: a spec's column constraints and rules compiled to vectorised numpy operations.

`compile_checker(spec)` walks the IR once and builds a tree of small closures (no eval, exec or
query strings); `Checker.run(typed_table)` evaluates every check over whole columns at once and
returns a `CheckReport` with one `CheckOutcome` per column constraint and rule.

Three-valued (Kleene) logic, written down in docs/language.md ("Missing values in rules"): a
boolean expression is a pair of masks (value, known); a comparison with a missing or unparseable
operand is unknown; `is missing` is always known; and/or/not/->/<-> follow Kleene's tables. A
rule is *applicable* on a row where its value is known, *failed* where it is known false. A false
condition makes an implication known true, but a rule *written as* an implication is not
applicable on such a row (vacuous truth: it passes there without being counted), so shares are
conditional on the rule's condition.

`CheckTally` adds reports of consecutive chunks together so `synspec validate` can check files
larger than memory with the same figures as a single run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from synspec import ir
from synspec.data import TypedTable, a_kind

if TYPE_CHECKING:
    import pandas as pd

CHECK_KINDS = ("type", "range", "level", "value", "missing", "rule")

# A compiled boolean expression: table -> (value, known), value False wherever unknown.
BoolFn = Callable[[TypedTable], tuple[np.ndarray, np.ndarray]]
# A compiled numeric expression: table -> float64 array, NaN where unknown.
NumFn = Callable[[TypedTable], np.ndarray]


# ---- results -------------------------------------------------------------------------
class _PassCounts:
    """Figures derived from a check's applicable and failing row counts.

    Subclasses provide `n_applicable` and `n_failed`, as fields or as properties.
    """

    if TYPE_CHECKING:
        @property
        def n_applicable(self) -> int: ...

        @property
        def n_failed(self) -> int: ...

    @property
    def n_passed(self) -> int:
        return self.n_applicable - self.n_failed

    @property
    def observed(self) -> float | None:
        """Share of applicable rows that pass (None when no row applies)."""
        return self.n_passed / self.n_applicable if self.n_applicable else None


@dataclass
class CheckOutcome(_PassCounts):
    """One check over one table: which rows it applies to and which fail it."""

    name: str  # rule name, or "<column>.<check>" (e.g. "age.range", "bmi.places")
    kind: str  # one of CHECK_KINDS ("places" failures are kind "type")
    hard: bool
    columns: tuple[str, ...]
    failed: np.ndarray
    applicable: np.ndarray
    description: str  # what is checked, e.g. "age in 0.08 to 80" or the rule's text
    location: ir.Location | None = None
    mostly: float | None = None  # declared share, soft expectations only
    message: str | None = None

    @property
    def n_rows(self) -> int:
        return int(self.failed.shape[0])

    @property
    def n_failed(self) -> int:
        return int(np.count_nonzero(self.failed))

    @property
    def n_applicable(self) -> int:
        return int(np.count_nonzero(self.applicable))

    @property
    def ok(self) -> bool:
        return outcome_ok(self.hard, self.n_failed, self.n_applicable, self.mostly)


def outcome_ok(hard: bool, n_failed: int, n_applicable: int, mostly: float | None) -> bool:
    """Hard checks may fail on no row; a soft expectation needs passed/applicable >= mostly.

    A soft expectation that applies to no row is met: there is nothing to hold it against.
    """
    if hard or mostly is None:
        return n_failed == 0
    if n_applicable == 0:
        return True
    # A tolerance so that 99 of 100 meets "mostly 0.99" despite binary floating point.
    return (n_applicable - n_failed) / n_applicable >= mostly - 1e-12


@dataclass
class ColumnSummary:
    name: str
    n_missing: int
    n_bad: int  # present but not of the declared type
    n_failed_rows: int  # rows failing at least one of this column's constraints


@dataclass
class CheckReport:
    outcomes: list[CheckOutcome]
    row_ok: np.ndarray  # rows passing every hard rule and column constraint
    columns: dict[str, ColumnSummary]
    n_rows: int

    def outcome(self, name: str) -> CheckOutcome:
        for outcome in self.outcomes:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    @property
    def failing(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


# ---- compiling expressions -----------------------------------------------------------
_NUM_OPS = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal,
}
_ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


class _Compiler:
    def __init__(self, spec: ir.Spec) -> None:
        self.spec = spec
        self.kinds = {c.name: c.kind for c in spec.columns}

    # values: numeric expressions, or text (categorical column / level)
    def is_text(self, expr: ir.ValueExpr) -> bool:
        if isinstance(expr, ir.Level):
            return True
        return isinstance(expr, ir.ColumnRef) and self.kinds[expr.column] is ir.ColumnKind.CATEGORICAL

    def num(self, expr: ir.ValueExpr) -> NumFn:
        if isinstance(expr, ir.Const):
            value = float(expr.value)
            return lambda t: np.full(len(t), value)
        if isinstance(expr, ir.ColumnRef):
            name = expr.column
            return lambda t: t.frame[name].to_numpy(dtype=float)
        if isinstance(expr, ir.Neg):
            inner = self.num(expr.operand)
            return lambda t: np.negative(inner(t))
        if isinstance(expr, ir.Arith):
            left, right, op = self.num(expr.left), self.num(expr.right), _ARITH[expr.op]

            def arith(t: TypedTable) -> np.ndarray:
                with np.errstate(all="ignore"):
                    out = op(left(t), right(t))
                # x / 0 is unknown, not infinite: no rule should hinge on a division by zero.
                out[~np.isfinite(out)] = np.nan
                return out
            return arith
        raise TypeError(f"not a numeric expression: {expr.kind}")

    def text(self, expr: ir.ValueExpr) -> Callable[[TypedTable], tuple[np.ndarray | str, np.ndarray]]:
        if isinstance(expr, ir.Level):
            value = expr.value
            return lambda t: (value, np.ones(len(t), dtype=bool))
        if isinstance(expr, ir.ColumnRef):
            name = expr.column
            return lambda t: (t.frame[name].to_numpy(dtype=object), ~t.missing[name])
        raise TypeError(f"not a text expression: {expr.kind}")

    def boolean(self, expr: ir.BoolExpr) -> BoolFn:
        method = getattr(self, f"_b_{expr.kind}")
        return method(expr)

    def _b_bool(self, expr: ir.BoolConst) -> BoolFn:
        value = expr.value
        return lambda t: (np.full(len(t), value), np.ones(len(t), dtype=bool))

    def _b_is_true(self, expr: ir.IsTrue) -> BoolFn:
        name = expr.column

        def is_true(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            values = t.frame[name].to_numpy(dtype=float)
            return values == 1.0, ~np.isnan(values)
        return is_true

    def _b_is_missing(self, expr: ir.IsMissing) -> BoolFn:
        name, negated = expr.column, expr.negated

        def is_missing(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            miss = t.missing[name]
            return (~miss if negated else miss.copy()), np.ones(len(t), dtype=bool)
        return is_missing

    def _b_compare(self, expr: ir.Compare) -> BoolFn:
        if self.is_text(expr.left) or self.is_text(expr.right):
            left, right = self.text(expr.left), self.text(expr.right)
            if expr.op not in ("==", "!="):
                raise TypeError(f"levels compare only with == and !=, not {expr.op}")
            equal = expr.op == "=="

            def compare_text(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
                (lv, lk), (rv, rk) = left(t), right(t)
                known = lk & rk
                same = np.asarray(lv == rv, dtype=bool)
                value = same if equal else ~same
                return value & known, known
            return compare_text
        num_left, num_right, op = self.num(expr.left), self.num(expr.right), _NUM_OPS[expr.op]

        def compare(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            lv, rv = num_left(t), num_right(t)
            known = ~(np.isnan(lv) | np.isnan(rv))
            return op(lv, rv) & known, known
        return compare

    def _b_in_set(self, expr: ir.InSet) -> BoolFn:
        negated = expr.negated
        if self.is_text(expr.operand):
            operand = self.text(expr.operand)
            levels = [v.value for v in expr.values if isinstance(v, ir.Level)]

            def in_text(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
                values, known = operand(t)
                hit = np.zeros(len(t), dtype=bool)
                for level in levels:  # a handful of levels: one vectorised == each
                    hit |= np.asarray(values == level, dtype=bool)
                return (~hit if negated else hit) & known, known
            return in_text
        operand_num = self.num(expr.operand)
        numbers = np.array([float(v.value) for v in expr.values if isinstance(v, ir.Const)])

        def in_numbers(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            values = operand_num(t)
            known = ~np.isnan(values)
            hit = np.isin(values, numbers)
            return (~hit if negated else hit) & known, known
        return in_numbers

    def _b_not(self, expr: ir.Not) -> BoolFn:
        inner = self.boolean(expr.operand)

        def negate(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            value, known = inner(t)
            return ~value & known, known
        return negate

    def _b_and(self, expr: ir.And) -> BoolFn:
        return _kleene_and([self.boolean(item) for item in expr.items])

    def _b_or(self, expr: ir.Or) -> BoolFn:
        return _kleene_or([self.boolean(item) for item in expr.items])

    def _b_implies(self, expr: ir.Implies) -> BoolFn:
        condition = self.boolean(expr.condition)

        def not_condition(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            value, known = condition(t)
            return ~value & known, known
        return _kleene_or([not_condition, self.boolean(expr.consequence)])

    def _b_iff(self, expr: ir.Iff) -> BoolFn:
        left, right = self.boolean(expr.left), self.boolean(expr.right)

        def iff(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            (lv, lk), (rv, rk) = left(t), right(t)
            known = lk & rk
            return (lv == rv) & known, known
        return iff


def _kleene_and(items: list[BoolFn]) -> BoolFn:
    def conjunction(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
        all_true = np.ones(len(t), dtype=bool)
        any_false = np.zeros(len(t), dtype=bool)
        for item in items:
            value, known = item(t)
            all_true &= value  # value is False where unknown, so all_true implies all known
            any_false |= known & ~value
        return all_true, all_true | any_false
    return conjunction


def _kleene_or(items: list[BoolFn]) -> BoolFn:
    def disjunction(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
        any_true = np.zeros(len(t), dtype=bool)
        all_false = np.ones(len(t), dtype=bool)
        for item in items:
            value, known = item(t)
            any_true |= value
            all_false &= known & ~value
        return any_true, any_true | all_false
    return disjunction


def compile_expr(spec: ir.Spec, expr: ir.BoolExpr) -> BoolFn:
    """One rule expression as a function table -> (value, known) masks."""
    return _Compiler(spec).boolean(expr)


# ---- checks --------------------------------------------------------------------------
# A check: table -> (failed, applicable).
CheckFn = Callable[[TypedTable], tuple[np.ndarray, np.ndarray]]


@dataclass
class _Check:
    name: str
    kind: str
    hard: bool
    columns: tuple[str, ...]
    description: str
    location: ir.Location | None
    fn: CheckFn
    mostly: float | None = None
    message: str | None = None


def _fmt_number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _column_checks(column: ir.Column) -> list[_Check]:
    name, loc = column.name, column.location
    checks: list[_Check] = []

    def make(suffix: str, kind: str, description: str, fn: CheckFn) -> None:
        checks.append(_Check(f"{name}.{suffix}", kind, True, (name,), description, loc, fn))

    if column.kind is not ir.ColumnKind.CATEGORICAL:
        def type_check(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            places = t.too_many_places.get(name)
            failed = t.bad[name] if places is None else t.bad[name] & ~places
            return failed, ~t.missing[name]
        make("type", "type", f"{name} is {a_kind(column)} value", type_check)
    if column.kind is ir.ColumnKind.DECIMAL and column.places is not None:
        def places_check(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            places = t.too_many_places[name]
            return places.copy(), (~t.missing[name] & ~t.bad[name]) | places
        make("places", "type", f"{name} has at most {column.places} decimal places", places_check)
    if column.is_numeric and (column.low is not None or column.high is not None):
        low = -np.inf if column.low is None else float(column.low)
        high = np.inf if column.high is None else float(column.high)

        def range_check(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            values = t.frame[name].to_numpy(dtype=float)
            known = ~np.isnan(values)
            return known & ((values < low) | (values > high)), known
        bounds = (f"{_fmt_number(low) if column.low is not None else '-inf'} to "
                  f"{_fmt_number(high) if column.high is not None else 'inf'}")
        make("range", "range", f"{name} in {bounds}", range_check)
    if column.kind is ir.ColumnKind.CATEGORICAL and column.levels:
        levels = list(column.levels)

        def level_check(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            import pandas as pd  # not at import: the SQL engines compile checks without frames

            present = ~t.missing[name]
            values = pd.Series(t.frame[name].to_numpy(dtype=object))
            declared = values.isin(levels).to_numpy(dtype=bool)
            return present & ~declared, present
        make("level", "level", f"{name} is one of {', '.join(levels)}", level_check)
    if column.is_numeric and column.values:
        allowed = np.array([value for value, _ in column.values], dtype=float)

        low_v = -np.inf if column.low is None else float(column.low)
        high_v = np.inf if column.high is None else float(column.high)

        def value_check(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            # Only values the range and places checks let through: one fault, one finding.
            values = t.frame[name].to_numpy(dtype=float)
            places = t.too_many_places.get(name)
            known = ~np.isnan(values) & (values >= low_v) & (values <= high_v)
            if places is not None:
                known &= ~places
            return known & ~np.isin(values, allowed), known
        listed = ", ".join(_fmt_number(value) for value, _ in column.values)
        make("value", "value", f"{name} is one of {listed}", value_check)
    if not column.may_be_missing:
        def missing_check(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
            return t.missing[name].copy(), np.ones(len(t), dtype=bool)
        make("missing", "missing", f"{name} is never missing", missing_check)
    return checks


def _rule_check(spec: ir.Spec, rule: ir.Rule) -> _Check:
    fn = compile_expr(spec, rule.expr)
    # A rule written as an implication speaks about the rows where its condition holds: where the
    # condition is false it holds vacuously, and counting those rows as applicable would make
    # every soft share look close to 1 (the declared `mostly` shares are measured conditionally).
    condition = compile_expr(spec, rule.expr.condition) if isinstance(rule.expr, ir.Implies) else None

    def rule_check(t: TypedTable) -> tuple[np.ndarray, np.ndarray]:
        value, known = fn(t)
        applicable = known
        if condition is not None:
            cond_value, cond_known = condition(t)
            applicable = known & ~(cond_known & ~cond_value)
        return known & ~value, applicable
    hard = rule.kind is ir.RuleKind.HARD
    return _Check(rule.name, "rule", hard, tuple(rule.columns), rule.text, rule.location, rule_check,
                  mostly=None if hard else rule.mostly, message=rule.message)


class Checker:
    """A spec's checks, compiled once and run on any number of tables (or chunks)."""

    def __init__(self, spec: ir.Spec) -> None:
        self.spec = spec
        self.checks: list[_Check] = [c for col in spec.columns for c in _column_checks(col)]
        self.checks += [_rule_check(spec, rule) for rule in spec.rules]

    def run(self, table: TypedTable) -> CheckReport:
        n = len(table)
        outcomes: list[CheckOutcome] = []
        row_ok = np.ones(n, dtype=bool)
        column_failed = {c.name: np.zeros(n, dtype=bool) for c in self.spec.columns}
        for check in self.checks:
            failed, applicable = check.fn(table)
            failed = np.asarray(failed, dtype=bool)
            applicable = np.asarray(applicable, dtype=bool)
            outcomes.append(CheckOutcome(check.name, check.kind, check.hard, check.columns, failed,
                                         applicable, check.description, check.location, check.mostly,
                                         check.message))
            if check.hard:
                row_ok &= ~failed
            if check.kind != "rule":
                column_failed[check.columns[0]] |= failed
        columns = {c.name: ColumnSummary(c.name, int(np.count_nonzero(table.missing[c.name])),
                                         int(np.count_nonzero(table.bad[c.name])),
                                         int(np.count_nonzero(column_failed[c.name])))
                   for c in self.spec.columns}
        return CheckReport(outcomes, row_ok, columns, n)


def compile_checker(spec: ir.Spec) -> Checker:
    return Checker(spec)


# ---- adding up chunks ----------------------------------------------------------------
@dataclass
class Example:
    row: int  # 1-based data row
    values: dict[str, str | None]  # the cells of the columns the check mentions, as written


@dataclass
class OutcomeTotals(_PassCounts):
    """An outcome's figures summed over chunks, with the first examples of failing rows."""

    name: str
    kind: str
    hard: bool
    columns: tuple[str, ...]
    description: str
    location: ir.Location | None
    mostly: float | None
    message: str | None
    n_rows: int = 0
    n_applicable: int = 0
    n_failed: int = 0
    examples: list[Example] = field(default_factory=list)

    @property
    def failed_share(self) -> float:
        """Failing rows over applicable rows (0 when none applies)."""
        return self.n_failed / self.n_applicable if self.n_applicable else 0.0

    @property
    def ok(self) -> bool:
        return outcome_ok(self.hard, self.n_failed, self.n_applicable, self.mostly)


class CheckTally:
    """Figures of a whole table built from the reports of its consecutive chunks."""

    def __init__(self, checker: Checker, max_examples: int = 5) -> None:
        self.spec = checker.spec
        self.max_examples = max_examples
        self.n_rows = 0
        self.n_rows_ok = 0
        self.outcomes: dict[str, OutcomeTotals] = {
            c.name: OutcomeTotals(c.name, c.kind, c.hard, c.columns, c.description, c.location,
                                  c.mostly, c.message) for c in checker.checks}
        self.columns = {c.name: ColumnSummary(c.name, 0, 0, 0) for c in self.spec.columns}

    def add(self, report: CheckReport, table: TypedTable) -> None:
        rows = table.row_numbers
        raw = table.raw
        self.n_rows += report.n_rows
        self.n_rows_ok += int(np.count_nonzero(report.row_ok))
        for outcome in report.outcomes:
            totals = self.outcomes[outcome.name]
            totals.n_rows += outcome.n_rows
            totals.n_applicable += outcome.n_applicable
            totals.n_failed += outcome.n_failed
            room = self.max_examples - len(totals.examples)
            if room > 0 and outcome.n_failed:
                for i in np.flatnonzero(outcome.failed)[:room]:
                    values = {c: _cell(raw, c, int(i)) for c in outcome.columns}
                    totals.examples.append(Example(int(rows[i]), values))
        for name, summary in report.columns.items():
            total = self.columns[name]
            total.n_missing += summary.n_missing
            total.n_bad += summary.n_bad
            total.n_failed_rows += summary.n_failed_rows

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes.values())


def _cell(raw: pd.DataFrame | None, column: str, i: int) -> str | None:
    if raw is None:
        return None
    value = raw[column].iat[i]
    return None if value is None else str(value)
