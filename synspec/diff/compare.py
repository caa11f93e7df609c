"""Comparing the facts of two spec versions: the changes `synspec diff` reports, in review order.

Owns matching (columns and rules by name; a column only in the old version and one only in the
new one with the same description and type is a rename, a rule with the same expression and
kind likewise) and one comparison per kind of fact. Each change carries the size of a moved
statistic in the unit a reviewer judges it by: shares (frequencies, values, missing) in
percentage points, means and quantiles in the column's sds (the old sd, else the new one), an
sd as a relative change, a correlation as the change in r, `mostly` in points.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from synspec.diff.facts import ColumnFacts, Fact, RuleFacts, SpecFacts

# Sections in the order a reviewer reads them: what the table is, then what a row may hold,
# then the numbers, then the rules and what generation enforces.
SECTIONS = ("dataset", "columns", "constraints", "statistics", "correlations", "rules", "grammar")


@dataclass(frozen=True)
class Change:
    section: str
    subject: str  # a column, a rule, `a, b` for a correlation, or the dataset's name
    what: str  # added, removed, renamed, type, mean, "frequency of Female", ...
    old: str | None = None
    new: str | None = None
    move: float | None = None  # the size of a moved statistic, in `unit`
    unit: str | None = None  # pts, sd, %, r
    old_line: int | None = None
    new_line: int | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _moved(a: Fact, b: Fact) -> bool:
    if a.number is not None and b.number is not None:
        return a.number != b.number
    return a.text != b.text


def _entry_label(stat: str, entry: str, col: ColumnFacts) -> str:
    """`frequency of Female given diabetes == 1`, `quantile 25%`, `share of value 6.6`, `mean`."""
    kind, _, given = stat.partition(" ")
    suffix = f" {given}" if given else ""
    if kind == "frequencies":
        return f"frequency of {entry}{suffix}"
    if kind == "quantiles":
        return f"quantile {entry}{suffix}"
    if kind == "values":
        return f"share of value {col.value_texts.get(entry, entry)}{suffix}"
    if kind == "missing":
        return "missing share"
    return kind


def _by_statistic(col: ColumnFacts) -> dict[str, dict[str, Fact]]:
    out: dict[str, dict[str, Fact]] = {}
    for (stat, entry), fact in col.stats.items():
        out.setdefault(stat, {})[entry] = fact
    return out


def _summary(stat: str, entries: dict[str, Fact], col: ColumnFacts, most: int = 6) -> str:
    """A whole statistic in a few words: `25% 24, 50% 43, 75% 60`, or its ends and its size."""
    kind = stat.partition(" ")[0]
    if kind in ("mean", "sd", "missing"):
        return next(iter(entries.values())).text
    items = [f"{col.value_texts.get(key, key) if kind == 'values' else key} {fact.text}"
             for key, fact in entries.items()]
    if len(items) <= most:
        return ", ".join(items)
    return ", ".join(items[:3]) + ", ..., " + items[-1] + f" ({len(items)} entries)"


def _size(stat: str, old: Fact, new: Fact, sd: float | None) -> tuple[float | None, str | None]:
    if old.number is None or new.number is None:
        return None, None
    kind = stat.partition(" ")[0]
    delta = new.number - old.number
    if kind in ("frequencies", "values", "missing"):
        return round(100 * delta, 6), "pts"
    if kind in ("mean", "quantiles"):
        return (round(delta / sd, 6), "sd") if sd else (None, None)
    if kind == "sd":
        return (round(100 * delta / old.number, 6), "%") if old.number else (None, None)
    return None, None


class _Differ:
    def __init__(self, old: SpecFacts, new: SpecFacts) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.changes.append(Change(*args, **kwargs))

    def run(self) -> list[Change]:
        self.dataset()
        pairs = self.match_columns()
        for old_col, new_col in pairs:
            self.column(old_col, new_col)
        self.correlations()
        self.rules()
        order = {name: i for i, name in enumerate(SECTIONS)}
        # Stable: within a section, changes stay in the new file's order.
        return sorted(self.changes, key=lambda c: order[c.section])

    # ---- dataset -----------------------------------------------------------------------
    def dataset(self) -> None:
        name = self.new.name
        if self.old.name != self.new.name:
            self.add("dataset", name, "name", self.old.name, self.new.name)
        for key in dict.fromkeys([*self.old.dataset, *self.new.dataset]):
            a, b = self.old.dataset.get(key), self.new.dataset.get(key)
            if a is not None and b is not None and not _moved(a, b):
                continue
            both = a is not None and b is not None and a.number is not None and b.number is not None
            move = b.number - a.number if both else None  # type: ignore[operator,union-attr]
            self.add("dataset", name, key, a.text if a else None, b.text if b else None, move,
                     "rows" if move is not None else None, a.line if a else None, b.line if b else None)

    # ---- columns -----------------------------------------------------------------------
    def match_columns(self) -> list[tuple[ColumnFacts, ColumnFacts]]:
        old, new = self.old.columns, self.new.columns
        gone = [c for name, c in old.items() if name not in new]
        came = [c for name, c in new.items() if name not in old]
        renamed: dict[str, ColumnFacts] = {}  # new name -> old column
        for col in came:
            desc = col.docs.get("description")
            if desc is None:
                continue
            match = next((g for g in gone if g.type == col.type and g not in renamed.values()
                          and (gd := g.docs.get("description")) is not None and gd.text == desc.text), None)
            if match is not None:
                renamed[col.name] = match
        for col in came:
            if col.name in renamed:
                was = renamed[col.name]
                self.add("columns", col.name, "renamed", was.name, col.name, old_line=was.line,
                         new_line=col.line, note="same description and type")
            else:
                self.add("columns", col.name, "added", None, col.type, new_line=col.line,
                         note=f"position {col.position + 1}")
        for col in gone:
            if col not in renamed.values():
                self.add("columns", col.name, "removed", col.type, None, old_line=col.line)
        pairs = [(old[name], col) for name, col in new.items() if name in old]
        pairs += [(renamed[name], new[name]) for name in renamed]
        pairs.sort(key=lambda pair: pair[1].position)
        return pairs

    def column(self, a: ColumnFacts, b: ColumnFacts) -> None:
        name = b.name
        if a.type != b.type:
            self.add("columns", name, "retyped", a.type, b.type, old_line=a.line, new_line=b.line)
        for key in dict.fromkeys([*a.docs, *b.docs]):
            x, y = a.docs.get(key), b.docs.get(key)
            if x is None or y is None or x.text != y.text:
                self.add("columns", name, key, x.text if x else None, y.text if y else None,
                         old_line=x.line if x else None, new_line=y.line if y else None)
        for key in dict.fromkeys([*a.constraints, *b.constraints]):
            x, y = a.constraints.get(key), b.constraints.get(key)
            if x is not None and y is not None and x.text == y.text:
                continue
            note = _levels_note(x, y) if key == "levels" else None
            self.add("constraints", name, key, x.text if x else None, y.text if y else None,
                     old_line=x.line if x else None, new_line=y.line if y else None, note=note)
        sd = a.sd() or b.sd()
        old_stats, new_stats = _by_statistic(a), _by_statistic(b)
        for stat in dict.fromkeys([*new_stats, *old_stats]):
            x_entries, y_entries = old_stats.get(stat), new_stats.get(stat)
            if x_entries is None or y_entries is None:
                # A whole statistic declared or dropped: one change, not one per entry.
                col, entries = (b, y_entries) if y_entries is not None else (a, x_entries)
                assert entries is not None
                summary = _summary(stat, entries, col)
                line = next(iter(entries.values())).line
                what = _entry_label(stat, "", col) if stat.partition(" ")[0] in ("mean", "sd", "missing") \
                    else stat
                if y_entries is not None:
                    self.add("statistics", name, what, None, summary, new_line=line, note="declared")
                else:
                    self.add("statistics", name, what, summary, None, old_line=line,
                             note="no longer declared")
                continue
            for entry in dict.fromkeys([*y_entries, *x_entries]):
                x, y = x_entries.get(entry), y_entries.get(entry)
                label = _entry_label(stat, entry, b if y is not None else a)
                if x is not None and y is not None:
                    if _moved(x, y):
                        move, unit = _size(stat, x, y, sd)
                        self.add("statistics", name, label, x.text, y.text, move, unit, x.line, y.line)
                elif y is not None:
                    self.add("statistics", name, label, None, y.text, new_line=y.line, note="declared")
                elif x is not None:
                    self.add("statistics", name, label, x.text, None, old_line=x.line,
                             note="no longer declared")

    # ---- correlations ------------------------------------------------------------------
    def correlations(self) -> None:
        old, new = self.old.correlations, self.new.correlations
        for key in dict.fromkeys([*new, *old]):
            x, y = old.get(key), new.get(key)
            subject = self.new.pairs.get(key) or self.old.pairs.get(key) or f"{key[0]}, {key[1]}"
            what = "correlation" + (" (spearman)" if key[2] == "spearman" else "")
            if x is not None and y is not None:
                if _moved(x, y):
                    move = (round(y.number - x.number, 6) if x.number is not None and y.number is not None
                            else None)
                    self.add("correlations", subject, what, x.text, y.text, move, "r", x.line, y.line)
            elif y is not None:
                self.add("correlations", subject, what, None, y.text, new_line=y.line, note="declared")
            elif x is not None:
                self.add("correlations", subject, what, x.text, None, old_line=x.line,
                         note="no longer declared")

    # ---- rules -------------------------------------------------------------------------
    def rule_pairs(self) -> list[tuple[RuleFacts | None, RuleFacts | None]]:
        old, new = self.old.rules, self.new.rules
        gone = [r for name, r in old.items() if name not in new]
        pairs: list[tuple[RuleFacts | None, RuleFacts | None]] = []
        used: set[str] = set()
        for name, rule in new.items():
            if name in old:
                pairs.append((old[name], rule))
                continue
            match = next((g for g in gone if g.expression == rule.expression and g.kind == rule.kind
                          and g.name not in used), None)
            if match is not None:
                used.add(match.name)
            pairs.append((match, rule))
        pairs += [(g, None) for g in gone if g.name not in used]
        return pairs

    def rules(self) -> None:
        for a, b in self.rule_pairs():
            if b is None:
                assert a is not None
                self.add("rules", a.name, "removed", f"{a.kind} {a.expression}", None, old_line=a.line)
                continue
            if a is None:
                self.add("rules", b.name, "added", None, f"{b.kind} {b.expression}", new_line=b.line,
                         note=_severity(b))
                continue
            if a.name != b.name:
                self.add("rules", b.name, "renamed", a.name, b.name, old_line=a.line, new_line=b.line,
                         note="same expression and severity")
            if a.kind != b.kind:
                self.add("rules", b.name, "severity", _severity(a), _severity(b), old_line=a.line,
                         new_line=b.line)
            if a.expression != b.expression:
                self.add("rules", b.name, "expression", a.expression, b.expression, old_line=a.line,
                         new_line=b.line)
            for key in dict.fromkeys([*a.props, *b.props]):
                x, y = a.props.get(key), b.props.get(key)
                if x is not None and y is not None and not _moved(x, y):
                    continue
                if key == "mostly" and a.kind != b.kind:
                    continue  # part of the severity change above
                move = (round(100 * (y.number - x.number), 6) if x and y and x.number is not None
                        and y.number is not None else None)
                self.add("rules", b.name, key, x.text if x else None, y.text if y else None, move,
                         "pts" if move is not None else None, x.line if x else None, y.line if y else None)


def _severity(rule: RuleFacts) -> str:
    if rule.kind == "rule":
        return "hard"
    mostly = rule.props.get("mostly")
    return f"soft, mostly {mostly.text}" if mostly is not None else "soft"


def _levels_note(old: Fact | None, new: Fact | None) -> str | None:
    if old is None or new is None:
        return None
    a, b = old.text.split(", "), new.text.split(", ")
    parts = []
    if added := [x for x in b if x not in a]:
        parts.append("added " + ", ".join(added))
    if removed := [x for x in a if x not in b]:
        parts.append("removed " + ", ".join(removed))
    if not parts:
        parts.append("reordered")
    return "; ".join(parts)


def compare(old: SpecFacts, new: SpecFacts) -> list[Change]:
    """Every difference between two versions' facts, grouped by `SECTIONS`."""
    return _Differ(old, new).run()
