"""`synspec infer DATA --update SPEC`: re-measure an existing spec's statistics in place.

Owns the refresh: every number that states a statistic of the data (`rows`, `missing` shares,
`mean`, `sd`, quantile values, `values` and `frequencies` shares, their `given` forms and
correlations) is measured again on the new table and written back over exactly the characters
it occupied in the file (the syntax tree's spans), so every other byte (descriptions, units,
rules, citations, comments, layout and order) is untouched. What is declared rather than
measured stays: types, ranges, levels, listed values, the percentages of regular quantiles and
every rule. A mean, sd, quantile or correlation keeps the precision it was written with (`41.89`
stays two decimals), or infer's when it was written without decimals (a trailing zero may have
been dropped); a share gets at least infer's four decimals, so shares still sum to 1. A refresh
on the data the spec was measured from therefore changes (almost) nothing. A column the data
has and the spec lacks is drafted by `synspec infer` (TODO description and unit) and inserted
after the column the data has before it, so the spec keeps the file's column order that
`validate` requires; a column the spec declares and the data lacks is reported, never deleted.

>>> from synspec.infer.read import RawTable
>>> from pathlib import Path
>>> old = 'dataset d\\n  rows 3\\n\\n# kept\\ncolumn x: integer\\n  description "x"\\n  mean 2\\n'
>>> table = RawTable(Path("t.csv"), ("x",), (("1", "2", "3", "10"),))
>>> print(update_text(old, table).text, end="")
dataset d
  rows 4
<BLANKLINE>
# kept
column x: integer
  description "x"
  mean 4
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synspec import ir
from synspec import nodes as n
from synspec.data import to_typed
from synspec.errors import UserError
from synspec.infer import emit
from synspec.infer.read import RawTable
from synspec.parse import parse
from synspec.passes import check_source
from synspec.source import Source, Span

__all__ = ["UpdateResult", "update_file", "update_text"]

# The percentages infer gives regular quantiles (deciles, quartiles, the median, the tails);
# any other percentage bounds a point mass (synspec.infer.statistics).
_REGULAR_PERCENTS = frozenset({1.0, 5.0, 10.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 70.0, 75.0, 80.0, 90.0,
                               95.0, 99.0})


@dataclass
class UpdateResult:
    """The refreshed text and what the refresh could not do by numbers alone."""

    text: str
    n_numbers: int = 0  # numbers rewritten (whose text changed)
    added: list[str] = field(default_factory=list)  # columns drafted from the data
    removed: list[str] = field(default_factory=list)  # declared columns the data lacks (kept)
    notes: list[str] = field(default_factory=list)  # statistics left as written, and why

    @property
    def changed(self) -> bool:
        return self.n_numbers > 0 or bool(self.added)


def _decimals(text: str) -> int | None:
    """Decimals written in a number's text; None when written without any (or with an exponent)."""
    if "e" in text.lower() or "." not in text:
        return None
    return len(text.split(".", 1)[1])


def _fixed(value: float, places: int) -> str:
    """`value` with exactly `places` decimals, trailing zeros kept: a refresh must read back
    the precision it wrote (`76.0`, not `76`, which would read as "infer's precision")."""
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _stat(value: float, old: n.Number, default_places: int) -> str:
    """A mean, sd, quantile value or correlation at the precision `old` was written with."""
    places = _decimals(old.text)
    return emit.number(value, default_places) if places is None else _fixed(value, places)


def _number(value: float, old: n.Number, default_places: int, *, share: bool = False) -> str:
    if not share:
        return _stat(value, old, default_places)
    places = _decimals(old.text)
    if places is None:
        places = default_places
    if share:
        # Never coarser than infer's shares: infer drops trailing zeros (0.3000 is written 0.3),
        # so one decimal would round 0.35 and 0.65 to a sum of 1.1.
        places = max(places, default_places)
    if share and value > 0:
        # A small share must not round to 0: that would declare the level absent.
        while round(value, places) == 0 and places < 12:
            places += 1
    return emit.number(value, places)


class _Refresher:
    def __init__(self, source: Source, tree: n.SpecFile, spec: ir.Spec, table: RawTable,
                 min_count: int) -> None:
        self.source, self.tree, self.spec, self.table = source, tree, spec, table
        self.min_count = min_count
        self.edits: list[tuple[Span, str]] = []
        self.notes: list[str] = []
        present = set(table.header)
        self.removed = [c.name for c in spec.columns if c.name not in present]
        index = {name: i for i, name in enumerate(table.header)}
        raw = pd.DataFrame({c.name: pd.Series(table.columns[index[c.name]] if c.name in index
                                              else ("",) * table.n_rows, dtype=object)
                            for c in spec.columns})
        typed = to_typed(raw, spec)
        self.frame = typed.frame
        self.missing = typed.missing
        self.bad = typed.bad
        self.n_rows = table.n_rows

    # ---- edits --------------------------------------------------------------------
    def put(self, number: n.Number, text: str) -> None:
        if text != number.text:
            self.edits.append((number.span, text))

    def where(self, node: n.Node) -> str:
        span = getattr(node, "span", Span(0, 0))
        return f"{self.source.path}:{self.source.position(span.start).line}"

    # ---- measurements ---------------------------------------------------------------
    def numbers(self, column: ir.Column, mask: np.ndarray | None = None) -> np.ndarray:
        values = np.asarray(self.frame[column.name], dtype=float)
        keep = ~self.missing[column.name] & ~self.bad[column.name] & ~np.isnan(values)
        if mask is not None:
            keep &= mask
        return values[keep]

    def labels(self, column: ir.Column, mask: np.ndarray | None = None) -> np.ndarray:
        """Present cells of a categorical or boolean column as their file text."""
        keep = ~self.missing[column.name] & ~self.bad[column.name]
        if mask is not None:
            keep &= mask
        cells = np.asarray(self.frame[column.name].to_numpy()[keep])
        if column.kind is ir.ColumnKind.BOOLEAN:
            tokens = np.array([column.false_token, column.true_token], dtype=object)
            return tokens[(cells.astype(float) == 1.0).astype(int)]
        return cells.astype(object)

    def given_mask(self, given: n.Given) -> np.ndarray | None:
        column = self.spec.column(given.column.name)
        if column.name in self.removed:
            return None
        cells = self.frame[column.name].to_numpy()
        if column.kind is ir.ColumnKind.BOOLEAN:
            target = 1.0 if given.level.value == column.true_token else 0.0
            return np.asarray(cells.astype(float) == target)
        return np.asarray(cells == given.level.value, dtype=bool)

    def places(self, column: ir.Column, values: np.ndarray) -> int:
        """infer's precision for a mean, sd or quantile of this column."""
        if len(values) == 0:
            return (column.places or 0) + 2
        sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        return emit.stat_places(column.places or 0, sd if sd > 0 else abs(float(values.mean())))

    def clamp(self, column: ir.Column, value: float) -> float:
        # A rounded statistic must not leave the declared range (as infer ensures).
        if column.low is not None:
            value = max(value, column.low)
        if column.high is not None:
            value = min(value, column.high)
        return value

    # ---- the spec, block by block --------------------------------------------------------
    def run(self) -> None:
        for head in self.tree.dataset.props:
            if isinstance(head, n.Rows):
                self.put(head.count, str(self.n_rows))
        for item in self.tree.items:
            if isinstance(item, n.Column):
                if item.name.name in self.removed:
                    continue
                column = self.spec.column(item.name.name)
                for prop in item.props:
                    self.column_prop(column, prop)
                self.constraints(column, item)
            elif isinstance(item, n.Correlation):
                self.correlation(item)

    def column_prop(self, column: ir.Column, prop: n.Node) -> None:
        if isinstance(prop, n.Missing):
            rate = float(self.missing[column.name].mean()) if self.n_rows else 0.0
            self.put(prop.rate, _number(rate, prop.rate, 4, share=True))
        elif isinstance(prop, n.Range):
            values = self.numbers(column)
            if len(values) and (values.min() < prop.low.value or values.max() > prop.high.value):
                self.notes.append(f"{self.where(prop)}: `{column.name}` has values outside its declared "
                                  f"range {prop.low.text} to {prop.high.text} (observed {values.min():g} to "
                                  f"{values.max():g}); the range is a constraint and was left as written")
        elif isinstance(prop, (n.Mean, n.Sd)):
            values = self.numbers(column)
            if len(values) < (2 if isinstance(prop, n.Sd) else 1):
                self.notes.append(f"{self.where(prop)}: too few values of `{column.name}` to measure its "
                                  f"{'sd' if isinstance(prop, n.Sd) else 'mean'}; left as written")
                return
            places = self.places(column, values)
            if isinstance(prop, n.Mean):
                digits = _decimals(prop.value.text)
                mean = self.clamp(column, round(float(values.mean()), places if digits is None else digits))
                self.put(prop.value, _stat(mean, prop.value, places))
            else:
                self.put(prop.value, _number(float(values.std(ddof=1)), prop.value, places))
        elif isinstance(prop, n.Quantiles):
            self.quantiles(column, prop.items, None, prop)
        elif isinstance(prop, n.GivenQuantiles):
            self.quantiles(column, prop.items, self.given_mask(prop.given), prop)
        elif isinstance(prop, n.Values):
            self.values(column, prop.items, None, prop)
        elif isinstance(prop, n.GivenValues):
            self.values(column, prop.items, self.given_mask(prop.given), prop)
        elif isinstance(prop, n.Frequencies):
            self.frequencies(column, prop.items, None, prop)
        elif isinstance(prop, n.GivenFrequencies):
            self.frequencies(column, prop.items, self.given_mask(prop.given), prop)

    def constraints(self, column: ir.Column, item: n.Column) -> None:
        """Notes for what the data breaks that a refresh of numbers cannot fix: missing cells in a
        column declared never missing, levels the spec does not list (counted, not named)."""
        missing = int(self.missing[column.name].sum())
        if missing and not column.may_be_missing:
            self.notes.append(f"{self.where(item)}: `{column.name}` has {missing} missing cell"
                              f"{'s' * (missing != 1)} but declares no `missing` line; add one by hand")
        if column.kind is ir.ColumnKind.CATEGORICAL:
            labels = self.labels(column)
            unlisted = int(np.count_nonzero(~np.isin(labels, np.array(column.levels, dtype=object))))
            if unlisted:
                cells = f"{unlisted} cell{'s' * (unlisted != 1)}"
                self.notes.append(f"{self.where(item)}: {cells} of `{column.name}` hold a level the spec "
                                  "does not list; add it to `levels` by hand")

    def _too_few(self, column: ir.Column, prop: n.Node, counts: list[int], mask: np.ndarray | None) -> bool:
        """infer's k rule on a statistic given a level: every cell it publishes holds at least
        `min_count` rows, else the line is left as written (a refresh must not publish what a
        draft would withhold)."""
        if mask is None or all(c == 0 or c >= self.min_count for c in counts):
            return False
        self.notes.append(f"{self.where(prop)}: a cell of this statistic of `{column.name}` holds fewer than "
                          f"{self.min_count} rows in the data (--min-count); the line was left as written")
        return True

    def _empty(self, column: ir.Column, prop: n.Node, what: str) -> None:
        self.notes.append(f"{self.where(prop)}: no present value of `{column.name}` {what}; left as written")

    def quantiles(self, column: ir.Column, items: tuple[n.Quantile, ...], mask: np.ndarray | None,
                  prop: n.Node) -> None:
        """Regular quantiles (the percentages infer chooses: deciles, quartiles, the median, the
        1/5/95/99% tails) get their value re-measured at their percentage; the bounds of a point
        mass (`40.74% 27.32, 66.23% 27.32`: the shares below and at or below a heavy value) keep
        their value and get their percentage re-measured, as infer declares them."""
        values = np.sort(self.numbers(column, mask))
        if len(values) == 0:
            return self._empty(column, prop, "among the rows it describes")
        # Each quantile cell, between neighbours and to the ends, holds about n / (knots + 1) rows.
        if self._too_few(column, prop, [len(values) // (len(items) + 1)], mask):
            return
        places = self.places(column, self.numbers(column))  # infer's: from the whole column
        measured = np.quantile(values, [q.percent.value / 100 for q in items])
        knots: list[tuple[float, float]] = []  # the refreshed (percent, value) pairs
        edits: list[tuple[Span, str]] = []
        previous = -1.0
        for i, (item, value) in enumerate(zip(items, measured, strict=True)):
            p = item.percent.value
            v = item.value.value
            below = 100 * np.searchsorted(values, v, side="left") / len(values)
            upto = 100 * np.searchsorted(values, v, side="right") / len(values)
            if p not in _REGULAR_PERCENTS and upto > below:
                same_before = i > 0 and items[i - 1].value.value == v
                same_after = i + 1 < len(items) and items[i + 1].value.value == v
                if same_before != same_after:
                    share = upto if same_before else below
                else:
                    share = below if abs(p - below) <= abs(p - upto) else upto
                own = _decimals(item.percent.text)
                digits = max(own if own is not None else 0, 2)
                share = round(share, digits)
                if share <= previous:  # two jumps meet: the second starts a sliver later (as infer)
                    share = round(previous + 10 ** -digits, digits)
                text = emit.number(share, digits)
                if text != item.percent.text:  # the span holds the `%` too
                    edits.append((item.percent.span, text + "%"))
                knots.append((share, v))
                previous = share
                continue
            own = _decimals(item.value.text)
            refreshed = self.clamp(column, round(float(value), own if own is not None else places))
            text = _stat(refreshed, item.value, places)
            if text != item.value.text:
                edits.append((item.value.span, text))
            knots.append((p, refreshed))
            previous = p
        rising = all(p2 > p1 and v2 >= v1 and 0 <= p2 <= 100
                     for (p1, v1), (p2, v2) in zip(knots, knots[1:], strict=False))
        if not rising:
            # A point mass moved past a regular quantile: the layout infer chose no longer fits.
            self.notes.append(f"{self.where(prop)}: the quantiles of `{column.name}` no longer fit the "
                              "percentages written (a point mass moved); left as written: rerun `synspec "
                              "infer` on the data to redraft this line")
            return
        self.edits.extend(edits)

    def values(self, column: ir.Column, items: tuple[n.ValueShare, ...], mask: np.ndarray | None,
               prop: n.Node) -> None:
        values = np.round(self.numbers(column, mask), 9)
        listed = [round(item.value.value, 9) for item in items]
        counts = [int(np.count_nonzero(values == v)) for v in listed]
        total = sum(counts)
        if total == 0:
            return self._empty(column, prop, "holds a listed value")
        if self._too_few(column, prop, counts, mask):
            return
        absent = [item.value.text for item, count in zip(items, counts, strict=True) if count == 0]
        if absent:
            # A listed value must have a share above 0; its absence is for a person to judge.
            self.notes.append(f"{self.where(prop)}: value{'s' * (len(absent) != 1)} {', '.join(absent)} of "
                              f"`{column.name}` not seen among the rows described; the line was left as "
                              "written")
            return
        for item, count in zip(items, counts, strict=True):
            self.put(item.share, _number(count / total, item.share, 4, share=True))
        unlisted = len(values) - total
        if unlisted and mask is None:
            self.notes.append(f"{self.where(prop)}: {unlisted} value{'s' * (unlisted != 1)} of "
                              f"`{column.name}` not listed (they fail validation until listed); shares are "
                              "among the listed")

    def frequencies(self, column: ir.Column, items: tuple[n.Frequency, ...], mask: np.ndarray | None,
                    prop: n.Node) -> None:
        labels = self.labels(column, mask)
        counts = pd.Series(labels, dtype=object).value_counts()
        found = [int(counts.get(item.level.value, 0)) for item in items]
        total = sum(found)
        if total == 0:
            return self._empty(column, prop, "holds a listed level")
        if self._too_few(column, prop, found, mask):
            return
        for item, count in zip(items, found, strict=True):
            self.put(item.share, _number(count / total, item.share, 4, share=True))

    def correlation(self, item: n.Correlation) -> None:
        names = (item.left.name, item.right.name)
        if any(name in self.removed for name in names):
            return
        x, y = (np.asarray(self.frame[name], dtype=float) for name in names)
        both = ~(np.isnan(x) | np.isnan(y))
        x, y = x[both], y[both]
        if item.method == "spearman":
            x, y = (pd.Series(v).rank().to_numpy() for v in (x, y))
        r = _pearson(x, y)
        if r is None:
            self.notes.append(f"{self.where(item)}: correlation of {names[0]} and {names[1]} cannot be "
                              "measured (fewer than 3 rows, or a constant column); left as written")
            return
        self.put(item.value, _number(max(-1.0, min(1.0, r)), item.value, 3))

    def text(self) -> str:
        out = self.source.text
        for span, text in sorted(self.edits, key=lambda e: e[0].start, reverse=True):
            out = out[:span.start] + text + out[span.end:]
        return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3:
        return None
    a, b = x - x.mean(), y - y.mean()
    denom = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else None


def _new_columns(text: str, tree: n.SpecFile, spec: ir.Spec, table: RawTable, min_count: int
                 ) -> tuple[str, list[str]]:
    """`text` with a drafted block for every column of the table the spec lacks, each inserted
    after the column that precedes it in the table (before the first column when it is first)."""
    from synspec.infer import InferOptions, infer_table

    declared = set(spec.column_names)
    new = [name for name in table.header if name not in declared]
    if not new:
        return text, []
    keys = tuple(k for k in spec.keys if k in table.header)
    target = spec.target if spec.target in table.header else None
    drafted = infer_table(table, InferOptions(target=target, keys=keys, min_count=min_count))
    fresh = parse(Source("<drafted>", drafted.text))
    assert fresh.tree is not None, "infer writes specs that parse"
    blocks = {item.name.name: drafted.text[item.span.start:item.span.end]
              for item in fresh.tree.items if isinstance(item, n.Column)}
    ends = {item.name.name: item.span for item in tree.items if isinstance(item, n.Column)}
    first_column = next(item for item in tree.items if isinstance(item, n.Column))
    inserts: list[tuple[int, str]] = []
    for position, name in enumerate(table.header):
        if name in declared:
            continue
        before = next((table.header[i] for i in range(position - 1, -1, -1) if table.header[i] in ends), None)
        block = "# TODO: a column new in the data, drafted by `synspec infer --update`\n" + blocks[name]
        if before is None:
            inserts.append((_line_start(text, first_column.span.start), block + "\n\n"))
        else:
            # After the whole last line of the column before: a comment that ends it stays there.
            line_end = text.find("\n", ends[before].end)
            inserts.append((len(text) if line_end < 0 else line_end, "\n\n" + block))
    # Stable: several new columns after the same one keep the table's order.
    for offset, insert in sorted(inserts, key=lambda e: e[0], reverse=True):
        text = text[:offset] + insert + text[offset:]
    return text, new


def _line_start(text: str, offset: int) -> int:
    # Above any comment lines that belong to the first column.
    start = text.rfind("\n", 0, offset) + 1
    while start > 0:
        previous = text.rfind("\n", 0, start - 1) + 1
        if not text[previous:start].lstrip().startswith("#"):
            break
        start = previous
    return start


def update_text(text: str, table: RawTable, *, path: str = "<spec>", min_count: int = 5) -> UpdateResult:
    """The spec `text` with its statistics re-measured on `table` (see the module docstring).

    Raises `UserError` when the spec has errors (it must check clean to be refreshed).
    """
    source = Source(path, text)
    checked = check_source(source)
    parsed = parse(source)
    if checked.spec is None or parsed.tree is None:
        first = checked.errors[0] if checked.errors else None
        raise UserError(f"{path} has errors; a spec is refreshed only when it checks clean",
                        where=f"{path}:{source.position(first.span.start).line}" if first else path,
                        hint=f"run `synspec check {path}` and fix what it reports")
    refresher = _Refresher(source, parsed.tree, checked.spec, table, min_count)
    refresher.run()
    refreshed = refresher.text()
    out, added = _new_columns(refreshed, parse(Source(path, refreshed)).tree or parsed.tree, checked.spec,
                              table, min_count)
    return UpdateResult(text=out, n_numbers=len(refresher.edits), added=added, removed=refresher.removed,
                        notes=refresher.notes)


def update_file(spec_path: Path, data_path: Path, *, min_count: int = 5) -> UpdateResult:
    """`update_text` on a spec file and a CSV file (read as infer reads it)."""
    from synspec.infer.read import read_csv_text

    try:
        text = Source.read(spec_path).text
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read spec {spec_path}: {err}", where=str(spec_path),
                        hint="pass the path of a .synspec file in UTF-8") from None
    return update_text(text, read_csv_text(data_path), path=str(spec_path), min_count=min_count)
