"""`synspec infer`: a first spec from a CSV, built from aggregates only.

The pipeline is read (`read.py`, exact cell texts) -> profile each column
(`profile.py`, kind, encoding, missing token, aggregates) -> choose the statistics
(`statistics.py`, under the k rule) -> write spec text (`emit.py` for quoting and
numbers, this module for the layout). Privacy: the spec holds counts, shares, ranges,
moments, quantiles and value shares, never a row; categorical levels seen fewer than
`min_count` times are left out (and listed for the user only) unless `keep_rare` is set,
because a rare level can single out a person, and every quantile cell and every statistic
given a level of the target holds at least `min_count` rows.

>>> from pathlib import Path; import tempfile
>>> d = Path(tempfile.mkdtemp()); (d / "t.csv").write_text("a,b\\n1,Y\\n2,N\\n3,Y\\n")
16
>>> r = infer_spec(d / "t.csv", InferOptions())
>>> "column b: boolean Y/N" in r.text
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synspec.diagnostics import did_you_mean
from synspec.errors import UserError
from synspec.fmt import format_tree
from synspec.infer import dependence, emit, statistics
from synspec.infer.profile import Profile, profile_column
from synspec.infer.read import RawTable, read_csv_text
from synspec.parse import parse
from synspec.source import Source

__all__ = ["InferOptions", "InferResult", "RareLevel", "infer_spec", "infer_table", "default_name"]


@dataclass(frozen=True)
class InferOptions:
    target: str | None = None
    name: str | None = None
    keys: tuple[str, ...] = ()
    min_count: int = 5
    keep_rare: bool = False
    corr_threshold: float = 0.1


@dataclass(frozen=True)
class RareLevel:
    column: str
    level: str
    count: int


@dataclass
class InferResult:
    text: str
    n_rows: int
    n_columns: int
    n_correlations: int
    rare: list[RareLevel] = field(default_factory=list)  # left out (or kept, with keep_rare)


def default_name(path: Path) -> str:
    """A dataset name from a file name: `my data-2024.csv` -> `my_data_2024`."""
    text = re.sub(r"\W+", "_", path.stem).strip("_") or "dataset"
    return f"d_{text}" if text[0].isdigit() else text


def infer_spec(path: Path, options: InferOptions,
               progress: Callable[[str], None] | None = None) -> InferResult:
    """Read `path` and write a spec describing it; `progress(column)` is called per column."""
    _check_options(options)
    return infer_table(read_csv_text(path), options, progress)


def infer_table(table: RawTable, options: InferOptions,
                progress: Callable[[str], None] | None = None) -> InferResult:
    """`infer_spec` on a table already read (`table.path` names it in messages and the name)."""
    _check_options(options)
    path = table.path
    _check_columns(table, options)
    profiles = []
    for position, (col, cells) in enumerate(zip(table.header, table.columns, strict=True)):
        profiles.append(profile_column(str(path), col, position, cells))
        if progress is not None:
            progress(col)
    for prof in profiles:
        if prof.name in options.keys and prof.kind != "integer":
            raise UserError(f"key column `{prof.name}` holds {prof.kind} values, not whole numbers",
                            where=f"{path}: column {prof.position + 1} ({prof.name})",
                            hint="synspec numbers key rows 1, 2, 3...; pass --key only for an "
                                 "integer identifier column")
    writer = _SpecWriter(path, table, profiles, options)
    text = _canonical(writer.write())
    return InferResult(text=text, n_rows=table.n_rows, n_columns=len(profiles),
                       n_correlations=writer.n_correlations, rare=writer.rare)


def _canonical(text: str) -> str:
    """The text as `synspec fmt` lays it out, so a fresh spec passes `fmt --check`.

    One parse and a layout: `format_text` would parse the result again to prove the
    layout kept the meaning, which the formatter's own tests establish once for all.
    """
    source = Source("<inferred>", text)
    parsed = parse(source)
    if parsed.tree is None:  # infer escapes everything it emits; a syntax error is a bug here
        raise RuntimeError("inferred spec does not parse")
    return format_tree(source, parsed.tree)


def _check_options(options: InferOptions) -> None:
    if options.min_count < 1:
        raise UserError(f"--min-count must be at least 1, got {options.min_count}",
                        where="--min-count", hint="the default, 5, hides levels seen 1-4 times")
    if not 0 <= options.corr_threshold <= 1:
        raise UserError(f"--corr-threshold must be between 0 and 1, got {options.corr_threshold}",
                        where="--corr-threshold", hint="e.g. 0.1 keeps correlations with |r| >= 0.1")
    if options.name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", options.name):
        raise UserError(f"--name {options.name!r} is not a plain name", where="--name",
                        hint="use letters, digits and underscores, starting with a letter")


def _check_columns(table: RawTable, options: InferOptions) -> None:
    wanted = [("--target", options.target)] if options.target else []
    wanted += [("--key", k) for k in options.keys]
    for flag, col in wanted:
        if col not in table.header:
            guess = did_you_mean(col, table.header)
            raise UserError(f"{flag} names `{col}`, which is not a column of {table.path}",
                            where=f"{table.path}:1",
                            hint=f"did you mean `{guess}`?" if guess else
                            "columns: " + ", ".join(table.header))
    if options.target and options.target in options.keys:
        raise UserError(f"`{options.target}` cannot be both the target and a key", where="--key",
                        hint="a key is numbered by synspec; the target is generated")


class _SpecWriter:
    """Lays out the spec text block by block from the column profiles."""

    def __init__(self, path: Path, table: RawTable, profiles: list[Profile],
                 options: InferOptions) -> None:
        self.path, self.table, self.profiles, self.options = path, table, profiles, options
        self.rare: list[RareLevel] = []
        self.n_correlations = 0
        self.groups = self._target_groups()
        self.partner = dependence.strongest_partners(
            profiles, self._codes, self._level_groups, target=options.target, keys=set(options.keys))

    def write(self) -> str:
        blocks = [self._preamble(), self._dataset()]
        blocks += [self._column(prof) for prof in self.profiles]
        correlations = self._correlations()
        if correlations:
            blocks.append(correlations)
        return "\n\n".join(blocks) + "\n"

    def _preamble(self) -> str:
        o = self.options
        cells = (f"Each quantile cell, and each statistic given\n# a level of {o.target}, holds"
                 if self.groups else "Each quantile cell holds")
        return (f"# Inferred by `synspec infer` from {self.path.name} ({self.table.n_rows} rows; "
                f"aggregates only).\n"
                f"# Levels seen fewer than {o.min_count} times are "
                f"{'kept (--keep-rare)' if o.keep_rare else 'left out'}. {cells} at least "
                f"{o.min_count} rows.\n# Replace every TODO, then add rules.")

    def _target_groups(self) -> list[tuple[str, np.ndarray]]:
        """(level, row mask) of each target level seen at least k times, in the order declared."""
        target = next((p for p in self.profiles if p.name == self.options.target), None)
        if target is None or target.kind not in ("boolean", "categorical"):
            return []  # a numeric target has no levels to condition on
        return self._level_groups(target)

    def _level_groups(self, prof: Profile) -> list[tuple[str, np.ndarray]]:
        """(level, row mask) of each level of a categorical or boolean column seen at least k
        times, in the order the spec declares them."""
        levels = _tokens(prof) if prof.kind == "boolean" else [lvl for lvl, _ in _by_count(prof)]
        codes, uniques = self._codes(prof)
        index = {text: i for i, text in enumerate(uniques)}
        k = self.options.min_count
        return [(lvl, codes == index[lvl]) for lvl in levels if prof.level_counts[lvl] >= k]

    def _codes(self, prof: Profile) -> tuple[np.ndarray, list[str]]:
        """The column's cells as integer codes into its distinct texts (hashing in C, once)."""
        codes, uniques = pd.factorize(pd.Series(self.table.columns[prof.position], dtype=object))
        return codes, list(uniques)

    def _conditioned(self, prof: Profile) -> bool:
        return bool(self._conditionings(prof))

    def _conditionings(self, prof: Profile) -> list[tuple[str, str, np.ndarray]]:
        """(given column, level, row mask) of every statistic given a level written for `prof`:
        each level of the target, then each level of the columns it depends on most, when that
        dependence is stronger than on the target (`dependence.strongest_partners`)."""
        if prof.name in self.options.keys:
            return []
        out: list[tuple[str, str, np.ndarray]] = []
        if prof.name != self.options.target and self.options.target:
            out += [(self.options.target, level, mask) for level, mask in self.groups]
        for partner in self.partner.get(prof.name, []):
            out += [(partner.name, level, mask) for level, mask in partner.groups]
        return out

    def _given(self, column: str, level: str) -> str:
        return f"given {emit.name(column)} == {emit.level(level)}"

    def _dataset(self) -> str:
        o = self.options
        lines = [f"dataset {emit.name(o.name or default_name(self.path))}",
                 f"  description {emit.string('TODO: describe the dataset')}",
                 f"  source {emit.string(self.path.name)}",
                 f"  rows {self.table.n_rows}"]
        if o.target:
            lines.append(f"  target {emit.name(o.target)}")
        if o.keys:
            lines.append("  key " + ", ".join(emit.name(k) for k in o.keys))
        return "\n".join(lines)

    def _column(self, prof: Profile) -> str:
        head = f"column {emit.name(prof.name)}: "
        desc = f"  description {emit.string(f'TODO: describe {prof.name}')}"
        if prof.kind == "boolean":
            levels = _tokens(prof)
            lines = [head + f"boolean {emit.level(levels[0])}/{emit.level(levels[1])}", desc]
            lines += self._missing(prof)
            lines.append(self._frequencies(prof, levels))
            lines += self._given_frequencies(prof, levels)
            return "\n".join(lines)
        if prof.kind == "categorical":
            return self._categorical(prof, head, desc)
        if prof.kind == "empty":
            # No value to learn a type from: integer is the narrowest guess, and the
            # missing share of 1 says why there is nothing else.
            return "\n".join([f"# TODO: every value of {prof.name} is missing; the type is a guess",
                              head + "integer", desc] + self._missing(prof))
        return self._numeric(prof, head, desc)

    def _missing(self, prof: Profile) -> list[str]:
        if prof.missing_token is None:
            return []
        return [f"  missing {emit.share(prof.missing_rate)} as {emit.string(prof.missing_token)}"]

    def _numeric(self, prof: Profile, head: str, desc: str) -> str:
        assert prof.values is not None  # a numeric profile always carries its values
        values = prof.values[~np.isnan(prof.values)]
        low, high = float(values.min()), float(values.max())
        kind = "integer" if prof.kind == "integer" else f"decimal({prof.places})"
        if prof.int_range is not None:
            bounds = f"  range {prof.int_range[0]} to {prof.int_range[1]}"
        else:
            bounds = f"  range {emit.number(low, prof.places)} to {emit.number(high, prof.places)}"
        if prof.name in self.options.keys:
            # An identifier has no unit, and its mean or spread describes nothing. Nor a
            # range: synspec numbers generated keys 1..N, which a source range would reject.
            return "\n".join([head + kind, desc] + self._missing(prof))
        lines = [head + kind, desc, "  # TODO unit", bounds]
        lines += self._missing(prof)
        sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        places = emit.stat_places(prof.places, sd if sd > 0 else abs(float(values.mean())))

        def fixed(value: float) -> str:
            # Rounding must not carry a statistic outside the declared range.
            return emit.number(min(max(round(value, places), low), high), places)

        lines.append(f"  mean {fixed(float(values.mean()))}")
        if float(emit.number(sd, places)) > 0:
            lines.append(f"  sd {emit.number(sd, places)}")
        k = self.options.min_count
        listed = statistics.declares_values(values, k, self.options.keep_rare)
        if listed is not None:
            lines.append("  values " + statistics.value_items(*listed, prof.places))
        elif (items := statistics.quantile_items(values, k, fixed)) is not None:
            lines.append("  quantiles " + items)
        if self._conditioned(prof):
            for given, level, mask in self._conditionings(prof):
                group = prof.values[mask]
                found = statistics.given_numeric(group[~np.isnan(group)], k, listed is not None,
                                                 prof.places, fixed)
                if found is not None:
                    lines.append(f"  {found[0]} {self._given(given, level)}: {found[1]}")
        return "\n".join(lines)

    def _categorical(self, prof: Profile, head: str, desc: str) -> str:
        k = self.options.min_count
        ordered = _by_count(prof)
        rare = [(lvl, c) for lvl, c in ordered if c < k]
        self.rare += [RareLevel(prof.name, lvl, c) for lvl, c in rare]
        kept = [lvl for lvl, c in ordered if c >= k or self.options.keep_rare]
        if not kept:
            raise UserError(f"no level of column `{prof.name}` is seen {k} times ({len(ordered)} distinct "
                            "values), so every level would be left out",
                            where=f"{self.path}: column {prof.position + 1} ({prof.name})",
                            hint="an identifier or free text has no place in a spec: drop the column; "
                                 "otherwise lower --min-count or pass --keep-rare")
        lines = [head + "categorical", desc]
        if rare and not self.options.keep_rare:
            # Says that something is missing without saying what: the levels are private.
            lines.append(f"  # {len(rare)} level{'s' * (len(rare) != 1)} seen fewer than {k} times "
                         "left out: rows holding one fail validation until it is added")
        lines.append("  levels " + ", ".join(emit.level(lvl) for lvl in kept))
        lines += self._missing(prof)
        lines.append(self._frequencies(prof, kept))
        lines += self._given_frequencies(prof, kept)
        return "\n".join(lines)

    def _frequencies(self, prof: Profile, levels: list[str]) -> str:
        # Shares among the listed levels so they sum to 1 even when rare ones are left out.
        total = sum(prof.level_counts[lvl] for lvl in levels)
        parts = [f"{emit.level(lvl)} {emit.share(prof.level_counts[lvl] / total)}" for lvl in levels]
        return "  frequencies " + ", ".join(parts)

    def _given_frequencies(self, prof: Profile, levels: list[str]) -> list[str]:
        """`frequencies given TARGET == L: ...` per target level, levels rare there left out."""
        if not self._conditioned(prof):
            return []
        codes, uniques = self._codes(prof)
        lines = []
        for given, level, mask in self._conditionings(prof):
            counts = np.bincount(codes[mask], minlength=len(uniques))
            items = statistics.frequency_items(dict(zip(uniques, counts.tolist(), strict=True)), levels,
                                               self.options.min_count)
            if items is not None:
                lines.append(f"  frequencies {self._given(given, level)}: {items}")
        return lines

    def _correlations(self) -> str:
        keys = set(self.options.keys)
        series = [(p.name, values) for p in self.profiles
                  if (values := p.numeric_values()) is not None and p.name not in keys]
        lines = []
        for i, (left, x) in enumerate(series):
            for right, y in series[i + 1:]:
                r = _pearson(x, y)
                if r is not None and abs(r) >= self.options.corr_threshold:
                    value = emit.number(max(-1.0, min(1.0, r)), 3)
                    lines.append(f"correlation {emit.name(left)}, {emit.name(right)}: {value}")
        self.n_correlations = len(lines)
        return "\n".join(lines)


def _tokens(prof: Profile) -> list[str]:
    """A boolean column's tokens, true first."""
    assert prof.true_token is not None and prof.false_token is not None
    return [prof.true_token, prof.false_token]


def _by_count(prof: Profile) -> list[tuple[str, int]]:
    """Levels with their counts, most frequent first (ties by name): the order infer declares them."""
    return sorted(prof.level_counts.items(), key=lambda item: (-item[1], item[0]))


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson r over rows where both are present; None when either is constant there."""
    both = ~(np.isnan(x) | np.isnan(y))
    if both.sum() < 3:
        return None
    a, b = x[both] - x[both].mean(), y[both] - y[both].mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denom == 0:
        return None
    return float((a * b).sum() / denom)
