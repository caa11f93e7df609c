r'''SQL dialects: how each engine quotes names and strings and spells the few functions that differ.

A spec's names and levels are user text (they may hold spaces, quotes, backticks, backslashes);
every one that reaches emitted SQL goes through `ident` or `string` here, never through an
f-string elsewhere. Everything else the SQL target emits is standard SQL shared by all dialects.

>>> duck, spark = DIALECTS["duckdb"], DIALECTS["spark"]
>>> print(duck.ident('my "col"'), spark.ident("a`b"), spark.string("it's"))
"my ""col""" `a``b` 'it\'s'
'''

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from synspec.targets.sql.value_grid import ValueGrid

__all__ = ["DIALECTS", "Dialect", "decimal_pattern_within", "dialect"]

# What a number looks like in a data file (as synspec.data's patterns): plain decimal notation.
INTEGER_PATTERN = "[+-]?[0-9]+"
DECIMAL_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_SEMI_JOIN_MEMBERS = 8  # DuckDB: lists at least this long are tested as a semi-join (member_of)


def decimal_pattern_within(places: int) -> str:
    """DECIMAL_PATTERN written with at most `places` digits after the point."""
    if places == 0:
        return r"[+-]?[0-9]+\.?"
    return rf"[+-]?(?:[0-9]+(?:\.[0-9]{{0,{places}}})?|\.[0-9]{{1,{places}}})"


@dataclass(frozen=True)
class Dialect:
    """One SQL dialect. `name` is what `--dialect` takes."""

    name: str
    ident_quote: str  # '"' (standard) or '`' (Spark)
    backslash_escapes: bool  # string literals treat backslash as an escape (Spark)
    double_type: str

    def ident(self, name: str) -> str:
        """A quoted identifier: the quote character doubled inside."""
        q = self.ident_quote
        return q + name.replace(q, q + q) + q

    def string(self, text: str) -> str:
        """A string literal holding exactly `text`."""
        if self.backslash_escapes:
            # Spark unescapes backslash sequences in literals; a quote is escaped with one too.
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def double(self, value: float) -> str:
        """A DOUBLE constant, written through a string so no dialect reads it as DECIMAL."""
        return f"CAST({self.string(repr(float(value)))} AS {self.double_type})"

    def full_match(self, operand: str, pattern: str) -> str:
        """`operand` matches `pattern` as a whole (RE2 / Java / POSIX ARE syntax all agree here)."""
        if self.name == "duckdb":
            return f"regexp_full_match({operand}, {self.string(pattern)})"
        if self.name == "spark":
            # Java's `$` also matches before a final line break; `\z` is the very end.
            anchored = "^(?:" + pattern + r")\z"
            return f"({operand} RLIKE {self.string(anchored)})"
        anchored = "^(?:" + pattern + ")$"
        return f"({operand} ~ {self.string(anchored)})"

    def to_double(self, operand: str) -> str:
        """Text already known to be plain decimal notation, as a DOUBLE."""
        if self.name == "duckdb":
            return f"TRY_CAST({operand} AS DOUBLE)"
        return f"CAST({operand} AS {self.double_type})"

    def count_if(self, condition: str) -> str:
        """How many rows satisfy `condition` (0 on no rows; NULL counts as not satisfied)."""
        if self.name == "postgres":
            return f"COUNT(*) FILTER (WHERE {condition})"
        if self.name == "duckdb":
            # A little faster than COUNT(CASE ...), but NULL (not 0) where no row's condition is
            # TRUE or FALSE, and the counts subtract and add these.
            return f"COALESCE(count_if({condition}), 0)"
        return f"count_if({condition})"

    def member_of(self, operand: str, members: list[str], *, negated: bool = False) -> str:
        """`operand` [NOT] IN the `members` (SQL constants, none NULL).

        DuckDB tests a long list faster as a semi-join on a VALUES table (a hash probe) than as
        the list (compared member by member): on 13 M diabetes-shaped rows, the three value
        checks (18 to 80 members) took 0.6 s less. Spark refuses subqueries outside filters and
        joins, so the other dialects keep the list.
        """
        word = "NOT IN" if negated else "IN"
        if self.name == "duckdb" and len(members) >= _SEMI_JOIN_MEMBERS:
            rows = ", ".join(f"({member})" for member in members)
            return f"({operand} {word} (SELECT v FROM (VALUES {rows}) AS allowed(v)))"
        return f"({operand} {word} ({', '.join(members)}))"

    def value_in(self, operand: str, values: Sequence[float], places: int | None,
                 low: float | None = None, high: float | None = None) -> str:
        """`operand` (a DOUBLE) is one of `values`; `places`: it is written with at most that many
        decimal places (0 for whole numbers), None when unknown; `low`, `high`: bounds it is
        known to lie within wherever this is evaluated.

        DuckDB looks a number with known places up in a bit grid (`ValueGrid`) where it would
        otherwise hash and probe (lists `member_of` tests as a semi-join) and the list fits a
        grid; elsewhere, and in the other dialects, this is `member_of`.
        """
        if self.name == "duckdb" and places is not None and len(values) >= _SEMI_JOIN_MEMBERS:
            grid = ValueGrid.of(values, places)
            if grid is not None:
                return grid.sql(operand, self, low, high)
        return self.member_of(operand, [self.double(value) for value in values])

    def finite(self, operand: str) -> str:
        """`operand`, NULL where it is infinite or NaN (the checker treats those as unknown).

        NULLIF rather than a CASE so the operand is written once (nested arithmetic would
        otherwise grow exponentially); NaN = NaN is true in all three dialects.
        """
        out = operand
        for special in ("Infinity", "-Infinity", "NaN"):
            out = f"NULLIF({out}, CAST({self.string(special)} AS {self.double_type}))"
        return out


DIALECTS: dict[str, Dialect] = {d.name: d for d in (
    Dialect("duckdb", '"', False, "DOUBLE"),
    Dialect("spark", "`", True, "DOUBLE"),
    Dialect("postgres", '"', False, "DOUBLE PRECISION"),
)}


def dialect(name: str) -> Dialect:
    """The dialect called `name` (KeyError otherwise; the CLI checks names first)."""
    return DIALECTS[name]
