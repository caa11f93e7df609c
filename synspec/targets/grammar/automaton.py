"""The row automaton: which values each column may take, given the columns written before it.

Dialect-neutral: a renderer (`render_lark`, later GBNF) prints it as a grammar. How rules are
compiled: each column involved in an expressible hard rule is split into *classes* (numeric
intervals between the rule thresholds, each level, true/false, missing); every rule then has
one Kleene truth value per combination of classes (`RuleAnalyzer.value`). The valid
combinations of each group of connected columns are enumerated (`valid_combinations`), and
the automaton is the minimal left-to-right one over them: a state is "which completions are
still allowed", so its size follows the rules' structure, never the width of a range.

A numeric column that declares its values (`Column.values`) keeps only the classes that hold
a declared value, and each class admits exactly the declared values inside it.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from synspec import ir
from synspec.errors import UserError
from synspec.memo import by_identity
from synspec.targets import row_format as rf
from synspec.targets.grammar.ranges import decimal_places, scale_value, scaled_bounds, scaled_values
from synspec.targets.order import generation_order, mentioned_columns
from synspec.tree import UnhandledNode, Visitor

# Rules whose connected columns have more class combinations than this are checked after.
MAX_COMBINATIONS = 2_000_000

# The class of a missing value; the other classes are ("num", low, high) with scaled
# integer bounds (inclusive), ("bool", True|False) and ("level", text).
MISSING_CLASS = ("missing",)

Class = tuple  # one of the class tuples above
# Per group of rule-linked columns begun and not finished (by group number), the class
# combinations its remaining columns may still take.
Remaining = tuple[tuple[int, frozenset[tuple[Class, ...]]], ...]
# The value expressions a comparison may hold; each is either expressed or refused below.
_OPERANDS = (ir.ColumnRef, ir.Const, ir.Level, ir.Arith, ir.Neg)


class Unsupported(Exception):
    """A rule expression a left-to-right grammar over column classes cannot express."""


@dataclass(frozen=True)
class Within:
    """A numeric column forced into [low, high]: integers scaled by 10**places, inclusive."""

    low: int
    high: int


# ---- column classes --------------------------------------------------------------------
def column_classes(column: ir.Column, cuts: set[int]) -> list[Class]:
    """The classes of `column` when split at the scaled thresholds `cuts`.

    A numeric column becomes the intervals ("num", low, high) between its range ends and
    the cuts inside it (only those holding a declared value, for a values-column); a
    boolean ("bool", True) and ("bool", False); a categorical one ("level", text) per level;
    MISSING_CLASS last when the column may be missing.
    """
    if column.is_numeric:
        lo, hi = scaled_bounds(column)
        points = sorted(k for k in cuts if lo < k <= hi)
        bounds = [lo, *points, hi + 1]
        out: list[Class] = [("num", a, b - 1) for a, b in itertools.pairwise(bounds)]
        if column.values:
            declared = scaled_values(column)
            out = [c for c in out if any(c[1] <= v <= c[2] for v in declared)]
    elif column.kind is ir.ColumnKind.BOOLEAN:
        out = [("bool", True), ("bool", False)]
    else:
        out = [("level", v) for v in column.levels]
    return out + ([MISSING_CLASS] if column.may_be_missing else [])


def class_of(column: ir.Column, classes: list[Class], text: str) -> Class:
    """The class among `classes` holding the file text `text` (ValueError if none).

    For a values-column the text must be one of the declared values exactly.
    """
    if column.may_be_missing and text == column.missing_token:
        return MISSING_CLASS
    if column.values and column.is_numeric:
        exact = Fraction(text.strip()) * 10 ** decimal_places(column)
        if exact.denominator != 1 or exact.numerator not in scaled_values(column):
            raise ValueError(f"value {text!r} is not one of the declared values of column {column.name}")
    for c in classes:
        if c[0] == "num" and c[1] <= scale_value(column, text) <= c[2]:
            return c
        if c[0] == "bool" and text == (column.true_token if c[1] else column.false_token):
            return c
        if c[0] == "level" and c[1] == text:
            return c
    raise ValueError(f"value {text!r} is not allowed in column {column.name}")


# ---- rule analysis: thresholds and Kleene evaluation over classes -------------------
def _numeric_predicate(column: ir.Column, op: str, value: float) -> list[tuple[str, int]] | bool:
    """`column op value` as a conjunction of ('ge'|'lt', k) on scaled values, or a constant."""
    return _scaled_predicate(decimal_places(column), op, value)


@functools.lru_cache(maxsize=4096)
def _scaled_predicate(places: int, op: str, value: float) -> list[tuple[str, int]] | bool:
    # Cached: the analyser evaluates each comparison once per class combination.
    s = Fraction(str(value)) * 10 ** places
    up, down = math.ceil(s), math.floor(s)
    if op == ">=":
        return [("ge", up)]
    if op == ">":
        return [("ge", down + 1)]
    if op == "<":
        return [("lt", up)]
    if op == "<=":
        return [("lt", down + 1)]
    if op == "==":
        return [("ge", up), ("lt", up + 1)] if s.denominator == 1 else False
    raise Unsupported("internal: != handled by the caller")


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _kleene_and(values: list[bool | None]) -> bool | None:
    return False if False in values else (None if None in values else True)


def _kleene_or(values: list[bool | None]) -> bool | None:
    return True if True in values else (None if None in values else False)


class RuleAnalyzer(Visitor):
    """Walks a rule expression over column classes.

    `cuts(expr, out)` collects, per column, the scaled thresholds its numeric comparisons
    use (`Unsupported` if the grammar cannot express the rule); `value(expr, env)` is the
    rule's Kleene truth value (True, False or None for unknown) when each column it
    mentions holds the class `env[column]`. Every boolean expression kind has a `cuts_*`
    and a `value_*` method; a kind without one raises `synspec.tree.UnhandledNode`.
    """

    def __init__(self, spec: ir.Spec) -> None:
        self.spec = spec
        self._value_methods: dict[type, Callable[..., bool | None]] = {}

    def cuts(self, expr: ir.Expr, out: dict[str, set[int]]) -> None:
        """Record the thresholds of every numeric comparison (Unsupported if inexpressible)."""
        self.dispatch("cuts", expr, out)

    def value(self, expr: ir.Expr, env: dict[str, Class]) -> bool | None:
        """The Kleene truth value of `expr` on the class assignment `env`."""
        # The hot loop of `valid_combinations`: one table lookup per node, no extra frame.
        method = self._value_methods.get(type(expr))
        if method is None:
            method = self._value_methods[type(expr)] = self.method_for("value", expr)
        return method(self, expr, env)

    # -- operands --------------------------------------------------------------------
    def _generated(self, name: str) -> ir.Column:
        column = self.spec.column(name)
        if not column.generated:
            raise Unsupported(f"it mentions the key column {name}, which synspec numbers after generation")
        return column

    def _compare_parts(self, expr: ir.Compare) -> tuple[str, str, object]:
        """(column, op, other) with the column on the left; other is Const, Level or ColumnRef."""
        left, right = expr.left, expr.right
        op: str = expr.op
        for side in (left, right):
            if not isinstance(side, _OPERANDS):
                # A new value kind must be decided here: expressed, or refused as Unsupported.
                raise UnhandledNode(f"RuleAnalyzer does not know value expressions of kind {side.kind}")
        if not isinstance(left, ir.ColumnRef) and isinstance(right, ir.ColumnRef):
            left, right, op = right, left, _FLIP[op]
        if isinstance(left, ir.Arith | ir.Neg) or isinstance(right, ir.Arith | ir.Neg):
            raise Unsupported("it uses arithmetic on columns, which a left-to-right grammar over "
                              "value classes cannot express")
        if not isinstance(left, ir.ColumnRef):
            raise Unsupported("it compares expressions that are not plain columns")
        column = self._generated(left.column)
        if isinstance(right, ir.ColumnRef):
            other = self._generated(right.column)
            if column.is_numeric or other.is_numeric:
                raise Unsupported("it compares two numeric columns, which a left-to-right grammar "
                                  "over value classes cannot express")
            if op not in ("==", "!="):
                raise Unsupported("it orders two non-numeric columns")
        elif isinstance(right, ir.Const) and not column.is_numeric:
            raise Unsupported(f"it compares the non-numeric column {column.name} with a number")
        return column.name, op, right

    def _add_cuts(self, name: str, op: str, value: float, out: dict[str, set[int]]) -> None:
        pred = _numeric_predicate(self.spec.column(name), op, value)
        bucket = out.setdefault(name, set())
        if isinstance(pred, list):
            bucket.update(k for _, k in pred)

    # -- thresholds ------------------------------------------------------------------
    def cuts_BoolConst(self, expr: ir.BoolConst, out: dict[str, set[int]]) -> None:
        return

    def _cuts_column(self, expr: ir.IsTrue | ir.IsMissing, out: dict[str, set[int]]) -> None:
        self._generated(expr.column)
        out.setdefault(expr.column, set())

    cuts_IsTrue = _cuts_column
    cuts_IsMissing = _cuts_column

    def _cuts_items(self, expr: ir.And | ir.Or, out: dict[str, set[int]]) -> None:
        for item in expr.items:
            self.cuts(item, out)

    cuts_And = _cuts_items
    cuts_Or = _cuts_items

    def cuts_Not(self, expr: ir.Not, out: dict[str, set[int]]) -> None:
        self.cuts(expr.operand, out)

    def cuts_Implies(self, expr: ir.Implies, out: dict[str, set[int]]) -> None:
        self.cuts(expr.condition, out)
        self.cuts(expr.consequence, out)

    def cuts_Iff(self, expr: ir.Iff, out: dict[str, set[int]]) -> None:
        self.cuts(expr.left, out)
        self.cuts(expr.right, out)

    def cuts_Compare(self, expr: ir.Compare, out: dict[str, set[int]]) -> None:
        name, op, other = self._compare_parts(expr)
        if isinstance(other, ir.Const):
            self._add_cuts(name, "==" if op == "!=" else op, other.value, out)
        else:
            out.setdefault(name, set())
            if isinstance(other, ir.ColumnRef):
                out.setdefault(other.column, set())

    def cuts_InSet(self, expr: ir.InSet, out: dict[str, set[int]]) -> None:
        if not isinstance(expr.operand, ir.ColumnRef):
            raise Unsupported("it tests set membership of an expression")
        column = self._generated(expr.operand.column)
        for value in expr.values:
            if isinstance(value, ir.Const):
                if not column.is_numeric:
                    raise Unsupported("it compares a non-numeric column with a number")
                self._add_cuts(column.name, "==", value.value, out)
        out.setdefault(column.name, set())

    # -- Kleene truth values: True, False, None (unknown) ----------------------------
    def value_BoolConst(self, expr: ir.BoolConst, env: dict[str, Class]) -> bool | None:
        return expr.value

    def value_IsMissing(self, expr: ir.IsMissing, env: dict[str, Class]) -> bool | None:
        return (env[expr.column] == MISSING_CLASS) != expr.negated

    def value_IsTrue(self, expr: ir.IsTrue, env: dict[str, Class]) -> bool | None:
        cls = env[expr.column]
        return None if cls == MISSING_CLASS else cls[1]

    def value_And(self, expr: ir.And, env: dict[str, Class]) -> bool | None:
        return _kleene_and([self.value(i, env) for i in expr.items])

    def value_Or(self, expr: ir.Or, env: dict[str, Class]) -> bool | None:
        return _kleene_or([self.value(i, env) for i in expr.items])

    def value_Not(self, expr: ir.Not, env: dict[str, Class]) -> bool | None:
        v = self.value(expr.operand, env)
        return None if v is None else not v

    def value_Implies(self, expr: ir.Implies, env: dict[str, Class]) -> bool | None:
        c, q = self.value(expr.condition, env), self.value(expr.consequence, env)
        return True if (c is False or q is True) else (None if None in (c, q) else False)

    def value_Iff(self, expr: ir.Iff, env: dict[str, Class]) -> bool | None:
        a, b = self.value(expr.left, env), self.value(expr.right, env)
        return None if None in (a, b) else a == b

    def value_Compare(self, expr: ir.Compare, env: dict[str, Class]) -> bool | None:
        name, op, other = self._compare_parts(expr)
        return self._compare(name, op, other, env)

    def value_InSet(self, expr: ir.InSet, env: dict[str, Class]) -> bool | None:
        # cuts_InSet refused every operand but a column.
        name = expr.operand.column  # type: ignore[union-attr]
        v = _kleene_or([self._compare(name, "==", item, env) for item in expr.values])
        return None if v is None else v != expr.negated

    def _compare(self, name: str, op: str, other: object, env: dict[str, Class]) -> bool | None:
        cls = env[name]
        if cls == MISSING_CLASS:
            return None
        if op == "!=":
            v = self._compare(name, "==", other, env)
            return None if v is None else not v
        if isinstance(other, ir.Level):
            return bool(cls[1] == other.value)
        if isinstance(other, ir.ColumnRef):
            ocls = env[other.column]
            return None if ocls == MISSING_CLASS else bool(cls[1] == ocls[1])
        assert isinstance(other, ir.Const)
        pred = _numeric_predicate(self.spec.column(name), op, other.value)
        if isinstance(pred, bool):
            return pred
        lo, hi = cls[1], cls[2]
        results = [(lo >= k, hi >= k) if kind == "ge" else (lo < k, hi < k) for kind, k in pred]
        if all(a and b for a, b in results):
            return True
        if any(not a and not b for a, b in results):
            return False
        raise AssertionError("class boundaries do not follow the rule thresholds")


def analyse_rules(spec: ir.Spec) -> tuple[dict[str, set[int]], list[ir.Rule], dict[str, str], dict[str, str]]:
    """(cuts, compiled_rules, enforced, checked_after) of the spec's rules.

    `cuts`: per column, the scaled thresholds of the compiled rules; `compiled_rules`: the
    hard rules the grammar can express; `enforced` / `checked_after`: rule name -> why.
    """
    analyzer = RuleAnalyzer(spec)
    cuts: dict[str, set[int]] = {}
    compiled: list[ir.Rule] = []
    enforced: dict[str, str] = {}
    after: dict[str, str] = {}
    for rule in spec.rules:
        if rule.kind is ir.RuleKind.SOFT:
            after[rule.name] = (f"an expectation (mostly {rule.mostly:g}) may fail on some rows, "
                                "so the grammar must allow them; measured after generation")
            continue
        local: dict[str, set[int]] = {}
        try:
            analyzer.cuts(rule.expr, local)
        except Unsupported as exc:
            after[rule.name] = f"not expressible in the grammar: {exc}"
            continue
        for name, ks in local.items():
            cuts.setdefault(name, set()).update(ks)
        compiled.append(rule)
        enforced[rule.name] = ("compiled into the grammar: only combinations of "
                               + ", ".join(sorted(local)) + " that satisfy it can be generated")
    return cuts, compiled, enforced, after


def rule_components(rules: list[ir.Rule], cuts: dict[str, set[int]]) -> list[tuple[set[str], list[ir.Rule]]]:
    """Groups of columns linked by the compiled rules, with their rules (union-find)."""
    parent: dict[str, str] = {n: n for n in cuts}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rule_cols = []
    for rule in rules:
        cols = sorted(mentioned_columns(rule.expr) & set(cuts))
        rule_cols.append(cols)
        for a, b in itertools.pairwise(cols):
            parent[find(a)] = find(b)
    groups: dict[str, tuple[set[str], list[ir.Rule]]] = {}
    for rule, cols in zip(rules, rule_cols, strict=True):
        if cols:
            root = find(cols[0])
            group = groups.setdefault(root, (set(), []))
            group[0].update(cols)
            group[1].append(rule)
    return list(groups.values())


def valid_combinations(analyzer: RuleAnalyzer, ordered: list[str], allowed: dict[str, list[Class]],
                       rules: list[ir.Rule]) -> frozenset[tuple[Class, ...]]:
    """Class combinations of `ordered` (one class per column, from `allowed`) on which no
    rule is known false.

    Depth-first over the columns, checking each rule as soon as its last column is assigned,
    so a branch that breaks a rule is cut at once instead of enumerating the full product.
    """
    position = {n: i for i, n in enumerate(ordered)}
    due: dict[int, list[ir.Rule]] = {}
    for rule in rules:
        last = max(position[c] for c in mentioned_columns(rule.expr) if c in position)
        due.setdefault(last, []).append(rule)
    out: list[tuple[Class, ...]] = []
    env: dict[str, Class] = {}
    # An explicit stack (prefix so far, classes of the next column still to try), so a long
    # chain of linked columns is not bounded by Python's recursion limit.
    stack: list[tuple[tuple[Class, ...], list[Class]]] = []
    if ordered:
        stack.append(((), list(reversed(allowed[ordered[0]]))))
    else:
        out.append(())
    while stack:
        prefix, todo = stack[-1]
        if not todo:
            stack.pop()
            continue
        depth = len(prefix)
        name = ordered[depth]
        cls = todo.pop()
        env[name] = cls  # deeper columns left in env are harmless: no rule due here reads them
        if not all(analyzer.value(r.expr, env) is not False for r in due.get(depth, ())):
            continue
        if depth + 1 == len(ordered):
            out.append(prefix + (cls,))
        else:
            stack.append((prefix + (cls,), list(reversed(allowed[ordered[depth + 1]]))))
    return frozenset(out)


# ---- the automaton ------------------------------------------------------------------------
@dataclass(frozen=True)
class Symbol:
    """What one step may write: a value of one of `classes` of `column`, or exactly `cell`
    (row-format text) when the column is fixed."""

    column: str
    classes: tuple[Class, ...]
    cell: str | None = None


@dataclass(frozen=True)
class State:
    """The step writing column `order[position]`: each choice is a symbol and the state
    after it (None after the row's last column)."""

    position: int
    choices: tuple[tuple[Symbol, int | None], ...]


@dataclass
class RowAutomaton:
    """A row as a left-to-right automaton over column classes; `states[0]` starts the row
    (no state at all when the spec generates no column)."""

    spec: ir.Spec
    order: tuple[str, ...]
    states: tuple[State, ...]
    enforced: dict[str, str]
    checked_after: dict[str, str]
    fixed: dict[str, str | Within] = field(default_factory=dict)


def _split_fixed(spec: ir.Spec, order: tuple[str, ...], fixed: dict[str, str | Within]
                 ) -> tuple[dict[str, str], dict[str, Within]]:
    """Forced file texts and forced intervals, each column checked."""
    for name in fixed:
        if name not in order:
            raise UserError(f"cannot fix column {name}: not a generated column of {spec.name}",
                            hint="fix one of: " + ", ".join(order))
    within = {name: value for name, value in fixed.items() if isinstance(value, Within)}
    texts = {name: value for name, value in fixed.items() if not isinstance(value, Within)}
    for name in within:
        if not spec.column(name).is_numeric:
            raise UserError(f"cannot bound column {name}: it is not numeric")
    return texts, within


def _check_declared_values(spec: ir.Spec, order: tuple[str, ...]) -> None:
    for name in order:
        column = spec.column(name)
        if column.values and column.is_numeric:
            try:
                scaled_values(column)
            except ValueError as exc:
                raise UserError(str(exc), where=spec.path,
                                hint="declare values the column can hold, with its decimal places") from exc


def _allowed_classes(spec: ir.Spec, classes: dict[str, list[Class]], texts: dict[str, str],
                     within: dict[str, Within]) -> dict[str, list[Class]]:
    """Per column, the classes it may take once the fixed texts and intervals apply."""
    allowed = dict(classes)
    for name, bounds in within.items():
        allowed[name] = [c for c in classes[name]
                         if c[0] == "num" and bounds.low <= c[1] and c[2] <= bounds.high]
        if not allowed[name]:
            column = spec.column(name)
            if column.values:
                raise UserError(f"cannot bound column {name} to {bounds}: none of its declared "
                                "values lies inside", hint="use an interval holding a declared value")
            raise UserError(f"cannot bound column {name} to {bounds}: outside its range",
                            hint="use an interval inside the column's range")
    for name, text in texts.items():
        try:
            allowed[name] = [class_of(spec.column(name), classes[name], text)]
        except (ValueError, ArithmeticError) as exc:
            raise UserError(f"cannot fix column {name} to {text!r}: {exc}",
                            hint="use a value the spec allows for that column") from exc
    return allowed


@dataclass(frozen=True)
class RuleGroup:
    """Columns linked by compiled hard rules: in generation order, their rules, and their valid
    class combinations (None when there are more than `MAX_COMBINATIONS` to enumerate)."""

    columns: list[str]
    rules: list[ir.Rule]
    valid: frozenset[tuple[Class, ...]] | None
    size: int  # class combinations before the rules apply


def rule_groups(spec: ir.Spec, order: tuple[str, ...], rules: list[ir.Rule], cuts: dict[str, set[int]],
                allowed: dict[str, list[Class]]) -> list[RuleGroup]:
    """Every group of rule-linked columns with its valid combinations (empty: no row can
    satisfy its rules)."""
    analyzer = RuleAnalyzer(spec)
    position = {n: i for i, n in enumerate(order)}
    groups = []
    for cols, group_rules in rule_components(rules, cuts):
        ordered = sorted((n for n in cols if n in position), key=position.__getitem__)
        size = math.prod(len(allowed[n]) for n in ordered)
        valid = (None if size > MAX_COMBINATIONS
                 else valid_combinations(analyzer, ordered, allowed, group_rules))
        groups.append(RuleGroup(ordered, group_rules, valid, size))
    return groups


@by_identity
def _unconstrained_groups(spec: ir.Spec) -> tuple[dict[str, set[int]], list[ir.Rule], dict[str, str],
                                                  dict[str, str], list[RuleGroup]]:
    """(cuts, compiled rules, enforced, checked_after, groups) of a row with nothing fixed:
    computed once per spec, since `check` and then `compile` or `run` both need it."""
    order = generation_order(spec)
    cuts, rules, enforced, after = analyse_rules(spec)
    classes = {n: column_classes(spec.column(n), cuts.get(n, set())) for n in order}
    return cuts, rules, enforced, after, rule_groups(spec, order, rules, cuts, classes)


def unsatisfiable_rules(spec: ir.Spec) -> list[list[ir.Rule]]:
    """The hard rules no row can satisfy: per group of linked columns that has no valid row, a
    smallest set of its rules that contradict each other (or their columns' ranges), in file
    order. What `check` reports; the grammar refuses to build for these groups."""
    cuts, _, _, _, groups = _unconstrained_groups(spec)
    analyzer = RuleAnalyzer(spec)
    out = []
    for group in groups:
        if group.valid is None or group.valid:
            continue
        allowed = {n: column_classes(spec.column(n), cuts.get(n, set())) for n in group.columns}

        def satisfiable(rules: list[ir.Rule], group: RuleGroup = group,
                        allowed: dict[str, list[Class]] = allowed) -> bool:
            mentioned = set().union(*(mentioned_columns(r.expr) for r in rules))
            ordered = [n for n in group.columns if n in mentioned]
            return bool(valid_combinations(analyzer, ordered, allowed, rules))

        # Drop each rule the contradiction does not need (deletion filter): what is left is
        # minimal, so the message names the rules to look at, not a whole group.
        core = list(group.rules)
        for rule in group.rules:
            trial = [r for r in core if r is not rule]
            if trial and not satisfiable(trial):
                core = trial
        out.append(core)
    return out


def _usable_groups(spec: ir.Spec, groups: list[RuleGroup], enforced: dict[str, str], after: dict[str, str],
                   constrained: bool) -> list[tuple[list[str], frozenset[tuple[Class, ...]]]]:
    """The groups the automaton tracks; a group too large to enumerate moves its rules from
    `enforced` to `after`, and a group with no valid combination is a `UserError`."""
    out = []
    for group in groups:
        if group.valid is None:
            for rule in group.rules:
                enforced.pop(rule.name, None)
                after[rule.name] = (f"its columns have {group.size} class combinations, "
                                    "more than the grammar keeps")
            continue
        if not group.valid:
            raise UserError(f"no row of {spec.name} can satisfy the rules "
                            + ", ".join(r.name for r in group.rules)
                            + (" with the fixed values" if constrained else ""),
                            where=spec.path, hint="the rules contradict each other or the column ranges")
        out.append((group.columns, group.valid))
    return out


def _fixed_cell(column: ir.Column, text: str) -> str:
    missing = column.may_be_missing and text == column.missing_token
    return rf.render_value(column, None if missing else text)


def _states(spec: ir.Spec, order: tuple[str, ...], classes: dict[str, list[Class]],
            allowed: dict[str, list[Class]], groups: list[tuple[list[str], frozenset[tuple[Class, ...]]]],
            texts: dict[str, str], within: dict[str, Within]) -> tuple[State, ...]:
    """The minimal automaton: a state is (position, the combinations each group has left).

    Only the groups begun and not finished at a position can differ between states there
    (a group not begun has all its combinations left, a finished one only the empty rest), so
    a state's key holds just those: its size follows the rules' overlap, not the spec's width.
    States are numbered in depth-first discovery order, so renderers name them stably; the
    walk keeps its own stack, so its depth is not bounded by Python's recursion limit.
    """
    group_of = {n: k for k, (cols, _) in enumerate(groups) for n in cols}
    position = {n: i for i, n in enumerate(order)}
    last_of = {k: max(position[n] for n in cols) for k, (cols, _) in enumerate(groups)}
    cells = {name: _fixed_cell(spec.column(name), text) for name, text in texts.items()}

    def choices(i: int, active: Remaining) -> list[tuple[Symbol, Remaining]]:
        name = order[i]
        k = group_of.get(name)
        if k is None:
            if name in within:
                return [(Symbol(name, (c,)), active) for c in allowed[name]]
            if name in cells:
                return [(Symbol(name, tuple(allowed[name]), cells[name]), active)]
            return [(Symbol(name, tuple(column_classes(spec.column(name), set()))), active)]
        left = dict(active)
        by_first: dict[Class, set[tuple[Class, ...]]] = {}
        for combo in left.get(k, groups[k][1]):
            by_first.setdefault(combo[0], set()).add(combo[1:])
        out = []
        for c in classes[name]:
            if c not in by_first:
                continue
            nxt = {key: rest for key, rest in left.items() if key != k}
            if i != last_of[k]:
                nxt[k] = frozenset(by_first[c])
            out.append((Symbol(name, (c,), cells.get(name)), tuple(sorted(nxt.items()))))
        return out

    states: list[State | None] = []
    index: dict[tuple[int, Remaining], int] = {}
    # One frame per state being expanded: position, its number, its options, the next option
    # to look at, and the state each distinct continuation leads to.
    stack: list[tuple[int, int, list[tuple[Symbol, Remaining]], list[int], dict[Remaining, int | None]]] = []

    def enter(i: int, active: Remaining) -> int:
        me = index[(i, active)] = len(states)
        states.append(None)
        stack.append((i, me, choices(i, active), [0], {}))
        return me

    if order:
        enter(0, ())
    while stack:
        i, me, options, at, target = stack[-1]
        descended = False
        while at[0] < len(options) and not descended:
            nxt = options[at[0]][1]
            at[0] += 1
            if nxt in target:
                continue
            if i + 1 == len(order):
                target[nxt] = None
            elif (i + 1, nxt) in index:
                target[nxt] = index[(i + 1, nxt)]
            else:
                target[nxt] = enter(i + 1, nxt)
                descended = True
        if not descended:
            states[me] = State(i, tuple((symbol, target[nxt]) for symbol, nxt in options))
            stack.pop()
    return tuple(s for s in states if s is not None)


def row_automaton(spec: ir.Spec, fixed: dict[str, str | Within] | None = None) -> RowAutomaton:
    """The automaton of one row of `spec`; `fixed` forces columns to given file text, or a
    numeric column into an interval (`Within`; stratified seeding of quantile bins)."""
    order = generation_order(spec)
    texts, within = _split_fixed(spec, order, dict(fixed or {}))
    _check_declared_values(spec, order)
    if not texts and not within:
        cuts, rules, enforced, after, found = _unconstrained_groups(spec)
        enforced, after = dict(enforced), dict(after)
        classes = {n: column_classes(spec.column(n), cuts.get(n, set())) for n in order}
        allowed = classes
    else:
        cuts, rules, enforced, after = analyse_rules(spec)
        for name, bounds in within.items():
            # Split the column's classes at the interval's ends, then allow those inside it.
            cuts = {**cuts, name: cuts.get(name, set()) | {bounds.low, bounds.high + 1}}
        classes = {n: column_classes(spec.column(n), cuts.get(n, set())) for n in order}
        allowed = _allowed_classes(spec, classes, texts, within)
        found = rule_groups(spec, order, rules, cuts, allowed)
    groups = _usable_groups(spec, found, enforced, after, constrained=bool(texts or within))
    states = _states(spec, order, classes, allowed, groups, texts, within)
    return RowAutomaton(spec=spec, order=order, states=states, enforced=enforced, checked_after=after,
                        fixed={**texts, **within})
