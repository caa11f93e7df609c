"""The row grammar: self-contained Lark text for constrained decoding of one row.

Owns the translation of a checked spec into a grammar that llguidance (through
`outlines.types.CFG`) and the `lark` package both accept, in the row format of
`synspec.targets.row_format`. It encodes every generated column exactly (digit-range regexes
for numeric ranges, exact decimal places, quoted levels, boolean tokens, the missing token
only where allowed) and compiles the hard rules it can express into the grammar.

How rules are compiled: each column involved in an expressible hard rule is split into
*classes* (numeric intervals between the rule thresholds, each level, true/false, missing);
every rule then has one Kleene truth value per combination of classes. The valid combinations
of each group of connected columns are enumerated, and the grammar is the minimal
left-to-right automaton over them (states are "which completions are still allowed"), so its
size follows the rules' structure, never the width of a range.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from synspec import ir
from synspec.targets import row_format as rf

# Open numeric ranges are bounded so that one value stays a bounded number of tokens.
UNBOUNDED = 10**15 - 1
# Rules whose connected columns have more class combinations than this are checked after.
MAX_COMBINATIONS = 2_000_000


class Unsupported(Exception):
    """A rule expression a left-to-right grammar over column classes cannot express."""


# ---- digit-range regexes ------------------------------------------------------------
def _digit_class(a: int, b: int) -> str:
    return str(a) if a == b else ("[0-9]" if (a, b) == (0, 9) else f"[{a}-{b}]")


def _any_digits(n: int) -> str:
    return "" if n == 0 else ("[0-9]" if n == 1 else f"[0-9]{{{n}}}")


def _same_width(lo: str, hi: str) -> list[str]:
    """Patterns for the digit strings of len(lo) between lo and hi (inclusive, zeros allowed)."""
    if lo == hi:
        return [lo]
    i = next(k for k in range(len(lo)) if lo[k] != hi[k])
    prefix, a, b, rest = lo[:i], int(lo[i]), int(hi[i]), len(lo) - i - 1
    out: list[str] = []
    start, end, tail = a, b, []
    if rest and lo[i + 1:] != "0" * rest:
        out += [prefix + str(a) + s for s in _same_width(lo[i + 1:], "9" * rest)]
        start = a + 1
    if rest and hi[i + 1:] != "9" * rest:
        tail = [prefix + str(b) + s for s in _same_width("0" * rest, hi[i + 1:])]
        end = b - 1
    if start <= end:
        out.append(prefix + _digit_class(start, end) + _any_digits(rest))
    return out + tail


def natural_range(lo: int, hi: int) -> list[str]:
    """Patterns for the canonical spellings (no leading zeros) of the integers lo..hi >= 0."""
    out: list[str] = []
    # Widest first: a regex alternation takes the first branch that matches, and lexers
    # (Lark's among them) must see the longest number, not a prefix of it.
    for width in range(len(str(hi)), len(str(lo)) - 1, -1):
        a = max(lo, 10 ** (width - 1) if width > 1 else 0)
        b = min(hi, 10**width - 1)
        if a <= b:
            out += _same_width(str(a), str(b))
    return out


def fixed_range(lo: int, hi: int, width: int) -> list[str]:
    """Patterns for lo..hi written with exactly `width` digits (leading zeros)."""
    return _same_width(str(lo).zfill(width), str(hi).zfill(width))


def _alt(patterns: list[str]) -> str:
    return patterns[0] if len(patterns) == 1 else "(?:" + "|".join(patterns) + ")"


def _magnitude(lo: int, hi: int, places: int) -> list[str]:
    """Patterns for lo..hi (>= 0, scaled by 10**places) written with exactly `places` places."""
    if places == 0:
        return natural_range(lo, hi)
    unit = 10**places
    (ilo, flo), (ihi, fhi) = divmod(lo, unit), divmod(hi, unit)
    if ilo == ihi:
        return [_alt(natural_range(ilo, ilo)) + r"\." + _alt(fixed_range(flo, fhi, places))]
    out = [_alt(natural_range(ilo, ilo)) + r"\." + _alt(fixed_range(flo, unit - 1, places))]
    if ilo + 1 <= ihi - 1:
        out.append(_alt(natural_range(ilo + 1, ihi - 1)) + r"\." + _any_digits(places))
    out.append(_alt(natural_range(ihi, ihi)) + r"\." + _alt(fixed_range(0, fhi, places)))
    return out


def scaled_range_regex(lo: int, hi: int, places: int) -> str:
    """A regex for the values lo..hi (integers scaled by 10**places), signs included."""
    parts: list[str] = []
    if lo < 0:
        parts.append("-" + _alt(_magnitude(max(1, -hi), -lo, places)))
    if hi >= 0:
        parts += _magnitude(max(lo, 0), hi, places)
    return _alt(parts)


# ---- column classes --------------------------------------------------------------------
def decimal_places(column: ir.Column) -> int:
    """Digits after the point in the column's file text (0 for integers)."""
    return column.places or 0 if column.kind is ir.ColumnKind.DECIMAL else 0


def scaled_bounds(column: ir.Column) -> tuple[int, int]:
    """The column's range as integers scaled by 10**places (open ends bounded)."""
    unit = 10 ** decimal_places(column)
    lo = -UNBOUNDED if column.low is None else math.ceil(Fraction(str(column.low)) * unit)
    hi = UNBOUNDED if column.high is None else math.floor(Fraction(str(column.high)) * unit)
    return lo, hi


def scale_value(column: ir.Column, text: str) -> int:
    return int(Fraction(text.strip()) * 10 ** decimal_places(column))


MISSING_CLASS = ("missing",)


@dataclass(frozen=True)
class _Atoms:
    """Per column: the integer thresholds k of predicates `scaled value >= k` the rules use."""

    cuts: dict[str, set[int]] = field(default_factory=dict)


def _classes(column: ir.Column, cuts: set[int]) -> list[tuple]:
    if column.is_numeric:
        lo, hi = scaled_bounds(column)
        points = sorted(k for k in cuts if lo < k <= hi)
        bounds = [lo, *points, hi + 1]
        out: list[tuple] = [("num", a, b - 1) for a, b in itertools.pairwise(bounds)]
    elif column.kind is ir.ColumnKind.BOOLEAN:
        out = [("bool", True), ("bool", False)]
    else:
        out = [("level", v) for v in column.levels]
    return out + ([MISSING_CLASS] if column.may_be_missing else [])


def class_of(column: ir.Column, cls: list[tuple], text: str) -> tuple:
    """The class among `cls` holding the file text `text` (ValueError if none)."""
    if column.may_be_missing and text == column.missing_token:
        return MISSING_CLASS
    for c in cls:
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
    s = Fraction(str(value)) * 10 ** decimal_places(column)
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


_FLIP: dict[str, Literal["==", "!=", "<", "<=", ">", ">="]] = {
    "<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


class _Analyzer:
    """Walks a rule expression: collects thresholds, and evaluates it on a class assignment."""

    def __init__(self, spec: ir.Spec) -> None:
        self.spec = spec

    def _generated(self, name: str) -> ir.Column:
        column = self.spec.column(name)
        if not column.generated:
            raise Unsupported(f"it mentions the key column {name}, which synspec numbers after generation")
        return column

    def _compare_parts(self, expr: ir.Compare) -> tuple[str, str, object]:
        """(column, op, other) with the column on the left; other is Const, Level or ColumnRef."""
        left, right, op = expr.left, expr.right, expr.op
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
        elif isinstance(right, ir.Arith | ir.Neg):
            raise Unsupported("it uses arithmetic")
        elif isinstance(right, ir.Const) and not column.is_numeric:
            raise Unsupported(f"it compares the non-numeric column {column.name} with a number")
        return column.name, op, right

    def cuts(self, expr: ir.BoolExpr, out: dict[str, set[int]]) -> None:
        """Record the thresholds of every numeric comparison (Unsupported if inexpressible)."""
        if isinstance(expr, ir.BoolConst):
            return
        if isinstance(expr, ir.IsTrue | ir.IsMissing):
            self._generated(expr.column)
            out.setdefault(expr.column, set())
            return
        if isinstance(expr, ir.And | ir.Or):
            for item in expr.items:
                self.cuts(item, out)
            return
        if isinstance(expr, ir.Not):
            self.cuts(expr.operand, out)
            return
        if isinstance(expr, ir.Implies):
            self.cuts(expr.condition, out)
            self.cuts(expr.consequence, out)
            return
        if isinstance(expr, ir.Iff):
            self.cuts(expr.left, out)
            self.cuts(expr.right, out)
            return
        if isinstance(expr, ir.Compare):
            name, op, other = self._compare_parts(expr)
            if isinstance(other, ir.Const):
                self._add_cuts(name, "==" if op == "!=" else op, other.value, out)
            else:
                out.setdefault(name, set())
                if isinstance(other, ir.ColumnRef):
                    out.setdefault(other.column, set())
            return
        if isinstance(expr, ir.InSet):
            if not isinstance(expr.operand, ir.ColumnRef):
                raise Unsupported("it tests set membership of an expression")
            column = self._generated(expr.operand.column)
            for value in expr.values:
                if isinstance(value, ir.Const):
                    if not column.is_numeric:
                        raise Unsupported("it compares a non-numeric column with a number")
                    self._add_cuts(column.name, "==", value.value, out)
            out.setdefault(column.name, set())
            return
        raise Unsupported(f"it uses an expression of kind {getattr(expr, 'kind', '?')}")

    def _add_cuts(self, name: str, op: str, value: float, out: dict[str, set[int]]) -> None:
        pred = _numeric_predicate(self.spec.column(name), op, value)
        bucket = out.setdefault(name, set())
        if isinstance(pred, list):
            bucket.update(k for _, k in pred)

    # Kleene truth values: True, False, None (unknown).
    def value(self, expr: ir.BoolExpr, env: dict[str, tuple]) -> bool | None:
        if isinstance(expr, ir.BoolConst):
            return expr.value
        if isinstance(expr, ir.IsMissing):
            return (env[expr.column] == MISSING_CLASS) != expr.negated
        if isinstance(expr, ir.IsTrue):
            cls = env[expr.column]
            return None if cls == MISSING_CLASS else cls[1]
        if isinstance(expr, ir.And):
            vals = [self.value(i, env) for i in expr.items]
            return False if False in vals else (None if None in vals else True)
        if isinstance(expr, ir.Or):
            vals = [self.value(i, env) for i in expr.items]
            return True if True in vals else (None if None in vals else False)
        if isinstance(expr, ir.Not):
            v = self.value(expr.operand, env)
            return None if v is None else not v
        if isinstance(expr, ir.Implies):
            c, q = self.value(expr.condition, env), self.value(expr.consequence, env)
            return True if (c is False or q is True) else (None if None in (c, q) else False)
        if isinstance(expr, ir.Iff):
            a, b = self.value(expr.left, env), self.value(expr.right, env)
            return None if None in (a, b) else a == b
        if isinstance(expr, ir.Compare):
            name, op, other = self._compare_parts(expr)
            return self._compare(name, op, other, env)
        if isinstance(expr, ir.InSet):
            name = expr.operand.column  # type: ignore[union-attr]
            vals = [self._compare(name, "==", v, env) for v in expr.values]
            v = True if True in vals else (None if None in vals else False)
            return None if v is None else v != expr.negated
        raise Unsupported(f"it uses an expression of kind {getattr(expr, 'kind', '?')}")

    def _compare(self, name: str, op: str, other: object, env: dict[str, tuple]) -> bool | None:
        cls = env[name]
        if cls == MISSING_CLASS:
            return None
        if op == "!=":
            v = self._compare(name, "==", other, env)
            return None if v is None else not v
        if isinstance(other, ir.Level):
            return cls[1] == other.value
        if isinstance(other, ir.ColumnRef):
            ocls = env[other.column]
            return None if ocls == MISSING_CLASS else cls[1] == ocls[1]
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


# ---- generation order -----------------------------------------------------------------
def _condition_columns(expr: ir.BoolExpr) -> tuple[set[str], set[str]]:
    if isinstance(expr, ir.Implies):
        return _columns(expr.condition), _columns(expr.consequence)
    return set(), set()


def _columns(expr: object) -> set[str]:
    out: set[str] = set()
    if isinstance(expr, ir.ColumnRef | ir.IsTrue | ir.IsMissing):
        out.add(expr.column)
    elif isinstance(expr, ir.BaseModel):
        for name in type(expr).model_fields:
            value = getattr(expr, name)
            for item in value if isinstance(value, tuple) else (value,):
                out |= _columns(item)
    return out


def generation_order(spec: ir.Spec) -> tuple[str, ...]:
    """Generated columns, antecedents of implications before consequents, else file order.

    A stable topological order (Kahn's algorithm, lowest file position first); a cycle
    (e.g. a -> b and b -> a) is broken by taking the earliest column left.
    """
    names = [c.name for c in spec.generated_columns]
    before: dict[str, set[str]] = {n: set() for n in names}
    for rule in spec.rules:
        conds, cons = _condition_columns(rule.expr)
        for q in cons & set(names):
            before[q] |= (conds & set(names)) - {q}
    order: list[str] = []
    left = list(names)
    while left:
        ready = [n for n in left if not (before[n] - set(order))]
        pick = ready[0] if ready else left[0]
        order.append(pick)
        left.remove(pick)
    return tuple(order)


# ---- the grammar --------------------------------------------------------------------------
@dataclass
class RowGrammar:
    """The grammar of one row and what it enforces."""

    lark: str
    order: tuple[str, ...]
    enforced: dict[str, str]
    checked_after: dict[str, str]
    n_rules: int = 0
    n_chars: int = 0
    states: int = 0
    fixed: dict[str, str | Within] = field(default_factory=dict)


@dataclass(frozen=True)
class Within:
    """A numeric column forced into [low, high]: integers scaled by 10**places, inclusive."""

    low: int
    high: int


def lark_literal(text: str) -> str:
    """`text` as a Lark string literal (JSON escaping, which Lark and llguidance both read)."""
    return json.dumps(text, ensure_ascii=False)


def _terminal(column: ir.Column, cls: tuple) -> str:
    """The Lark terminal body of one class of a column."""
    if cls == MISSING_CLASS:
        return lark_literal(rf.MISSING)
    if cls[0] == "num":
        return "/" + scaled_range_regex(cls[1], cls[2], decimal_places(column)) + "/"
    if cls[0] == "bool":
        token = column.true_token if cls[1] else column.false_token
        return lark_literal(rf.render_value(column, token))
    return lark_literal(rf.quote(cls[1]))


def _analyse(spec: ir.Spec) -> tuple[dict[str, set[int]], list[ir.Rule], dict[str, str], dict[str, str]]:
    analyzer = _Analyzer(spec)
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


def _components(rules: list[ir.Rule], cuts: dict[str, set[int]]) -> list[tuple[set[str], list[ir.Rule]]]:
    """Groups of columns linked by the compiled rules, with their rules (union-find)."""
    parent: dict[str, str] = {n: n for n in cuts}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rule_cols = []
    for rule in rules:
        cols = sorted(_columns(rule.expr) & set(cuts))
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


def _valid_combinations(analyzer: _Analyzer, ordered: list[str], allowed: dict[str, list[tuple]],
                        rules: list[ir.Rule]) -> frozenset[tuple]:
    """Class combinations of `ordered` on which no rule is known false.

    Depth-first over the columns, checking each rule as soon as its last column is assigned,
    so a branch that breaks a rule is cut at once instead of enumerating the full product.
    """
    due: dict[int, list[ir.Rule]] = {}
    for rule in rules:
        last = max(ordered.index(c) for c in _columns(rule.expr) if c in ordered)
        due.setdefault(last, []).append(rule)
    out: list[tuple] = []
    env: dict[str, tuple] = {}

    def walk(depth: int, prefix: tuple) -> None:
        if depth == len(ordered):
            out.append(prefix)
            return
        name = ordered[depth]
        for cls in allowed[name]:
            env[name] = cls
            if all(analyzer.value(r.expr, env) is not False for r in due.get(depth, ())):
                walk(depth + 1, prefix + (cls,))
        del env[name]

    walk(0, ())
    return frozenset(out)


def row_grammar(spec: ir.Spec, fixed: dict[str, str | Within] | None = None) -> RowGrammar:
    """The grammar of one row of `spec`; `fixed` forces columns to given file text, or a
    numeric column into an interval (`Within`; stratified seeding of quantile bins)."""
    from synspec.errors import UserError

    requested = dict(fixed or {})
    order = generation_order(spec)
    for name in requested:
        if name not in order:
            raise UserError(f"cannot fix column {name}: not a generated column of {spec.name}",
                            hint="fix one of: " + ", ".join(order))
    cuts, rules, enforced, after = _analyse(spec)
    within = {name: value for name, value in requested.items() if isinstance(value, Within)}
    texts = {name: value for name, value in requested.items() if isinstance(value, str)}
    for name, bounds in within.items():
        # Split the column's classes at the interval's ends, then allow those inside it.
        if not spec.column(name).is_numeric:
            raise UserError(f"cannot bound column {name}: it is not numeric")
        cuts = {**cuts, name: cuts.get(name, set()) | {bounds.low, bounds.high + 1}}
    analyzer = _Analyzer(spec)
    classes = {n: _classes(spec.column(n), cuts.get(n, set())) for n in order}
    allowed: dict[str, list[tuple]] = dict(classes)
    for name, bounds in within.items():
        allowed[name] = [c for c in classes[name]
                         if c[0] == "num" and bounds.low <= c[1] and c[2] <= bounds.high]
        if not allowed[name]:
            raise UserError(f"cannot bound column {name} to {bounds}: outside its range",
                            hint="use an interval inside the column's range")
    for name, text in texts.items():
        try:
            allowed[name] = [class_of(spec.column(name), classes[name], text)]
        except (ValueError, ArithmeticError) as exc:
            raise UserError(f"cannot fix column {name} to {text!r}: {exc}",
                            hint="use a value the spec allows for that column") from exc

    comps = []  # (columns in generation order, frozenset of valid class tuples)
    for cols, comp_rules in _components(rules, cuts):
        ordered = [n for n in order if n in cols]
        size = math.prod(len(allowed[n]) for n in ordered)
        if size > MAX_COMBINATIONS:
            for rule in comp_rules:
                enforced.pop(rule.name, None)
                after[rule.name] = f"its columns have {size} class combinations, more than the grammar keeps"
            continue
        valid = _valid_combinations(analyzer, ordered, allowed, comp_rules)
        if not valid:
            raise UserError(f"no row of {spec.name} can satisfy the rules "
                            + ", ".join(r.name for r in comp_rules)
                            + (" with the fixed values" if texts or within else ""),
                            where=spec.path, hint="the rules contradict each other or the column ranges")
        comps.append((ordered, valid))
    comp_of = {n: k for k, (cols, _) in enumerate(comps) for n in cols}

    terminals: dict[tuple[str, tuple], str] = {}
    term_lines: list[str] = []

    def term(name: str, cls: tuple | None) -> str:
        key = (name, cls if cls is not None else ("any",))
        if key not in terminals:
            column = spec.column(name)
            tname = f"V{order.index(name)}_{sum(1 for k in terminals if k[0] == name)}"
            terminals[key] = tname
            if name in texts:
                body = lark_literal(rf.render_value(
                    column, None if texts[name] == column.missing_token and column.may_be_missing
                    else texts[name]))
            elif cls is None:
                body = " | ".join(_terminal(column, c) for c in _classes(column, set()))
            else:
                body = _terminal(column, cls)
            term_lines.append(f"{tname}: {body}")
        return terminals[key]

    rules_out: list[str] = []
    memo: dict[tuple, str] = {}

    def build(i: int, states: tuple) -> str:
        key = (i, states)
        if key in memo:
            return memo[key]
        name = order[i]
        k = comp_of.get(name)
        options: list[tuple[str, tuple]] = []
        if k is None:
            if name in within:
                options += [(term(name, cls), states) for cls in allowed[name]]
            else:
                options.append((term(name, None) if name not in texts else term(name, ("fixed",)), states))
        else:
            by_first: dict[tuple, set] = {}
            for combo in states[k]:
                by_first.setdefault(combo[0], set()).add(combo[1:])
            for cls in classes[name]:
                if cls in by_first:
                    nxt = states[:k] + (frozenset(by_first[cls]),) + states[k + 1:]
                    options.append((term(name, cls), nxt))
        rname = f"s{i}_{sum(1 for kk in memo if kk[0] == i)}"
        memo[key] = rname
        grouped: dict[tuple, list[str]] = {}
        for t, nxt in options:
            grouped.setdefault(nxt, []).append(t)
        alts = []
        for nxt, ts in grouped.items():
            head = ts[0] if len(ts) == 1 else "(" + " | ".join(ts) + ")"
            alts.append(head if i + 1 == len(order) else f'{head} "," {build(i + 1, nxt)}')
        rules_out.append(f"{rname}: " + "\n    | ".join(alts))
        return rname

    start = tuple(valid for _, valid in comps)
    top = build(0, start) if order else None
    header = [f"// Row grammar of {spec.name!r}, generated by synspec: one row in the row format",
              "// (docs/row-format.md), columns in this order: " + ", ".join(order)]
    body = ["start: " + (top or '""'), *reversed(rules_out), *term_lines]
    text = "\n".join(header + body) + "\n"
    return RowGrammar(lark=text, order=order, enforced=enforced, checked_after=after,
                      n_rules=len(body), n_chars=len(text), states=len(memo), fixed={**texts, **within})


def rows_grammar(spec: ir.Spec, n: int) -> str:
    """Lark text for `n` rows, each followed by a newline (several rows per sequence)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    one = row_grammar(spec)
    # `~ n` (not `{n}`): both lark and llguidance read it.
    return one.lark.replace("start: ", f'start: (row "\\n") ~ {n}\nrow: ', 1)
