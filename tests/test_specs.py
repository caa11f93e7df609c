"""The three dataset specs: they check clean, are canonically formatted, and describe the
real files exactly (names, order, encodings, missing tokens), with every hard rule holding
on every real row and every soft expectation on its declared share."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest import SPECS, real_csv

from synspec import data, fmt, ir
from synspec.cli import main
from synspec.passes import check_file
from synspec.targets import checker

NAMES = ("diabetes", "cirrhosis", "stroke")


def _spec(name: str) -> ir.Spec:
    result = check_file(SPECS / f"{name}.synspec")
    assert result.spec is not None, [d.render() for d in result.diagnostics]
    return result.spec


@pytest.mark.parametrize("name", NAMES)
def test_spec_checks_clean(name):
    result = check_file(SPECS / f"{name}.synspec")
    assert result.errors == () and result.warnings == (), [d.render() for d in result.diagnostics]
    assert main(["check", str(SPECS / f"{name}.synspec")]) == 0


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_canonically_formatted(name):
    text = (SPECS / f"{name}.synspec").read_text(encoding="utf-8")
    assert fmt.format_text(text).text == text


@pytest.mark.parametrize("name", NAMES)
def test_every_rule_is_explained(name):
    text = (SPECS / f"{name}.synspec").read_text(encoding="utf-8")
    lines = text.splitlines()
    spec = _spec(name)
    assert spec.hard_rules and spec.soft_rules
    for rule in spec.rules:
        assert rule.message, rule.name
        # The line right above the rule is the comment that says why it holds.
        assert lines[rule.location.line - 2].startswith("#"), rule.name


def test_dataset_facts_from_the_brief():
    cirrhosis, stroke, diabetes = _spec("cirrhosis"), _spec("stroke"), _spec("diabetes")
    assert cirrhosis.keys == ("ID",) and cirrhosis.column("Age").unit == "days"
    assert cirrhosis.column("Status").levels == ("C", "D", "CL")
    assert cirrhosis.column("Stage").missing_token == "NA"
    assert stroke.keys == ("id",) and stroke.column("bmi").missing_token == "N/A"
    assert "Other" in stroke.column("gender").levels
    assert diabetes.target == "diabetes" and diabetes.column("HbA1c_level").places == 1
    for spec in (cirrhosis, stroke, diabetes):
        for col in spec.columns:
            if col.is_numeric and not col.is_key:
                assert col.description and not col.description.startswith("TODO"), col.name
            shares = [s for _, s in col.frequencies]
            if shares:
                assert math.fsum(shares) == pytest.approx(1, abs=0.002), col.name


# ---- the real files, independent of the checker ----------------------------------------
def _read(name: str) -> tuple[list[str], list[list[str]]]:
    with real_csv(name).open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.mark.parametrize("name", NAMES)
def test_declarations_describe_the_real_file(name):
    header, rows = _read(name)
    spec = _spec(name)
    assert list(spec.column_names) == header
    assert spec.rows == len(rows)
    for col in spec.columns:
        cells = [row[col.position] for row in rows]
        present = [c for c in cells if c != col.missing_token]
        n_missing = len(cells) - len(present)
        if col.missing_token is None:
            assert n_missing == 0, col.name
        else:
            assert n_missing > 0 and col.missing_rate == pytest.approx(n_missing / len(cells), abs=1e-3)
        if col.kind is ir.ColumnKind.CATEGORICAL or col.kind is ir.ColumnKind.BOOLEAN:
            assert set(present) == set(col.levels), col.name  # every level declared, none invented
        elif col.is_key:
            # synspec numbers generated keys 1..N, so a key declares no range.
            assert (col.low, col.high) == (None, None), col.name
            assert len(set(present)) == len(present), col.name  # a key identifies one row
        else:
            values = np.array(present, dtype=float)
            assert (values.min(), values.max()) == (col.low, col.high), col.name
            places = max(len(c.partition(".")[2]) for c in present)
            assert places == (col.places or 0), col.name
            if col.mean is not None:
                assert col.mean == pytest.approx(values.mean(), rel=2e-3), col.name
                assert col.sd == pytest.approx(values.std(ddof=1), rel=2e-3), col.name


# ---- the real files through the rule checker (docs/architecture.md contract) ------------
@pytest.mark.parametrize("name", NAMES)
def test_real_file_validates_with_zero_hard_failures(name):
    spec = _spec(name)
    typed = data.to_typed(data.read_raw(real_csv(name), spec), spec)
    assert {col: int(mask.sum()) for col, mask in typed.bad.items() if mask.any()} == {}
    report = checker.compile_checker(spec).run(typed)
    hard_failures = {o.name: int(np.asarray(o.failed).sum()) for o in report.outcomes
                     if o.hard and np.asarray(o.failed).any()}
    assert hard_failures == {}
    assert bool(np.asarray(report.row_ok).all())
    # Every rule of the spec was checked, and each soft expectation holds on its declared share
    # of the rows where it applies.
    outcomes = {o.name: o for o in report.outcomes}
    assert {r.name for r in spec.rules} <= set(outcomes)
    for rule in spec.soft_rules:
        outcome = outcomes[rule.name]
        applicable = int(np.asarray(outcome.applicable).sum())
        failed = int(np.asarray(outcome.failed).sum())
        assert applicable > 0, rule.name
        assert 1 - failed / applicable >= rule.mostly, rule.name


@pytest.mark.parametrize("name", NAMES)
def test_statistics_describe_the_real_file(name):
    """Quantiles, values and the statistics given the target are the real file's, within rounding,
    and each cell holds at least 5 rows (the k rule infer applies)."""
    k = 5
    header, rows = _read(name)
    spec = _spec(name)
    cells = {col.name: [row[col.position] for row in rows] for col in spec.columns}

    def present(col: ir.Column, keep: list[bool]) -> list[str]:
        return [c for c, ok in zip(cells[col.name], keep, strict=True) if ok and c != col.missing_token]

    def check(col: ir.Column, stats, texts: list[str]) -> None:
        if stats.quantiles:
            values = np.array(texts, dtype=float)
            shares = [0.0] + [p / 100 for p, _ in stats.quantiles] + [1.0]
            for a, b in zip(shares, shares[1:], strict=False):
                # Each cell holds k rows, but for the zero-row sliver between two jumps.
                assert b - a <= 0.00011 or (b - a) * len(values) >= k - 1e-6 * len(values), col.name
            for percent, value in stats.quantiles:
                # Either numpy's interpolated quantile, or a jump's bound: a value v with
                # P(X < v) <= p <= P(X <= v), p written with two decimals.
                p = percent / 100
                interpolated = value == pytest.approx(float(np.quantile(values, p)), rel=1e-4)
                bound = np.mean(values < value) - 1e-4 <= p <= np.mean(values <= value) + 1e-4
                assert interpolated or bound, (col.name, percent, value)
        if stats.values:
            values = np.array(texts, dtype=float)
            declared = dict(stats.values)
            assert set(np.unique(values)) == set(declared), col.name
            for value, share in declared.items():
                assert share == pytest.approx(np.mean(values == value), abs=1e-4), (col.name, value)
        listed = [level for level, _ in stats.frequencies]
        kept = [t for t in texts if t in listed]
        for level, share in stats.frequencies:
            assert kept.count(level) >= k or stats is col, (col.name, level)
            assert share == pytest.approx(kept.count(level) / len(kept), abs=2e-3), (col.name, level)

    everyone = [True] * len(rows)
    target = spec.column(spec.target)
    for col in spec.columns:
        check(col, col, present(col, everyone))
        for cond in col.conditionals:
            check(col, cond, present(col, [t == cond.level for t in cells[cond.given]]))
        if not col.is_key and col is not target:
            # Every level of the target with at least k rows has statistics given it.
            levels = [lvl for lvl in target.levels if cells[target.name].count(lvl) >= k]
            assert [c.level for c in col.conditionals if c.given == target.name] == levels, col.name
