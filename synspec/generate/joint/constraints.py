"""Which value classes a partly drawn row may still take, under the grammar's hard rules.

Owns the bridge from the row grammar's rule automaton to the joint draw. The automaton
(`synspec.targets.grammar`) splits every column a compiled hard rule mentions into classes
(numeric intervals between rule thresholds, levels, true/false, missing) and lists the valid
class combinations of each group of rule-linked columns. Here each row keeps a mask over
those combinations; drawing a column narrows it, and the next column may only take classes
some surviving combination allows. A row drawn this way never breaks a compiled rule and
never reaches a dead end, whatever order the columns are drawn in, and nothing is rejected:
rejection would bend the declared marginals (e.g. "Drug is missing exactly when Ascites is
missing" would keep only the rows where two independent draws happen to agree).
"""

from __future__ import annotations

import numpy as np

from synspec import ir
from synspec.generate.joint.marginals import Classes, order_boolean_classes
from synspec.targets.grammar.automaton import (
    RuleAnalyzer,
    analyse_rules,
    column_classes,
    rule_components,
    valid_combinations,
)
from synspec.targets.order import generation_order

# A group with more valid combinations than this is left to the checker's rejection.
MAX_COMBINATIONS = 200_000


class RuleClasses:
    """The classes of every generated column and the valid combinations of rule-linked groups."""

    def __init__(self, spec: ir.Spec) -> None:
        cuts, rules, _, _ = analyse_rules(spec)
        self.compiled = {rule.name for rule in rules}
        self.classes: dict[str, Classes] = {
            column.name: order_boolean_classes(column_classes(column, cuts.get(column.name, set())))
            for column in spec.generated_columns
        }
        order = generation_order(spec)
        analyzer = RuleAnalyzer(spec)
        self.groups: list[tuple[list[str], np.ndarray]] = []
        for columns, group_rules in rule_components(rules, cuts):
            ordered = [n for n in order if n in columns]
            allowed = {n: self.classes[n] for n in ordered}
            if np.prod([len(allowed[n]) for n in ordered], dtype=float) > MAX_COMBINATIONS * 10:
                self.compiled -= {r.name for r in group_rules}
                continue
            combos = valid_combinations(analyzer, ordered, allowed, group_rules)
            if len(combos) > MAX_COMBINATIONS:
                self.compiled -= {r.name for r in group_rules}
                continue
            index = {n: {c: k for k, c in enumerate(self.classes[n])} for n in ordered}
            table = np.array(
                [
                    [index[n][c] for n, c in zip(ordered, combo, strict=True)]
                    for combo in sorted(combos, key=repr)
                ],
                dtype=np.int64,
            )
            self.groups.append((ordered, table.reshape(len(combos), len(ordered))))
        self.group_of = {n: g for g, (cols, _) in enumerate(self.groups) for n in cols}


class RowState:
    """Per row, the combinations of each group still possible given the columns drawn so far."""

    def __init__(self, rule_classes: RuleClasses, n: int) -> None:
        self.rc = rule_classes
        self.alive = [np.ones((n, len(table)), dtype=bool) for _, table in rule_classes.groups]
        self.n = n

    def allowed(self, name: str) -> np.ndarray:
        """(n, classes) mask of the classes each row may take for column `name`."""
        k = len(self.rc.classes[name])
        group = self.rc.group_of.get(name)
        if group is None:
            return np.ones((self.n, k), dtype=bool)
        columns, table = self.rc.groups[group]
        onehot = np.zeros((len(table), k))
        onehot[np.arange(len(table)), table[:, columns.index(name)]] = 1.0
        return (self.alive[group].astype(float) @ onehot) > 0

    def take(self, name: str, drawn: np.ndarray) -> None:
        """Record the class index each row drew for `name`."""
        group = self.rc.group_of.get(name)
        if group is None:
            return
        columns, table = self.rc.groups[group]
        self.alive[group] &= table[:, columns.index(name)][None, :] == drawn[:, None]

    def subset(self, rows: np.ndarray) -> RowState:
        out = RowState.__new__(RowState)
        out.rc, out.n = self.rc, int(rows.sum()) if rows.dtype == bool else len(rows)
        out.alive = [a[rows] for a in self.alive]
        return out
