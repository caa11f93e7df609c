"""Prompts: golden text per dataset and style, determinism, the row format, and privacy.

Privacy, precisely: (1) no prompt but SEED_EX contains a real row (as a CSV line or in the
row format); (2) in the lines that describe a column (`- name: ...`), no number that could
have been copied from the data equals a value that occurs 1 to 4 times in that column of the
real data. "Could have been copied" excludes percentages and round figures (at most two
significant digits, e.g. 92 or 4800): in a decimal(2) column of 5,000 rows most values in
range are someone's, so a rounded quartile coinciding with one discloses nothing, while an
unrounded bound (a min or max, 95.69) would. Declared levels are schema, not data, so a rare
level's name may appear (its count may not: no prompt prints counts).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from decimal import Decimal, InvalidOperation

import pandas as pd
import pytest

from synspec import data
from synspec.passes import check_file
from synspec.targets import row_format as rf
from synspec.targets.prompt import STYLES, render_prompt, rounded
from tests.conftest import ROOT, SPECS, real_csv

NAMES = ["diabetes", "stroke", "cirrhosis"]
GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("SYNSPEC_UPDATE_GOLDEN") == "1"
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w%]|\.\d)")


def _spec(name: str):
    return check_file(SPECS / f"{name}.synspec").spec


def _made_up_examples(spec) -> pd.DataFrame:
    """Example rows invented from the spec (never real data) for the seed_ex golden file."""
    row = {}
    for c in spec.columns:
        if c.is_numeric:
            value = c.low if c.low is not None else 0
            row[c.name] = str(int(value)) if c.kind is c.kind.INTEGER else str(value)
        elif c.kind is c.kind.BOOLEAN:
            row[c.name] = c.false_token
        else:
            row[c.name] = c.levels[-1]
    return pd.DataFrame([row], dtype=object)


def check_golden(path, text: str) -> None:
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"golden file {path} missing; run with SYNSPEC_UPDATE_GOLDEN=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path} differs (SYNSPEC_UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", NAMES)
def test_golden_prompts(name: str, style: str) -> None:
    spec = _spec(name)
    examples = _made_up_examples(spec) if style == "seed_ex" else None
    text = render_prompt(spec, style, examples=examples)
    assert text == render_prompt(spec, style, examples=examples)  # deterministic
    assert ",".join(rf.column_order(spec)) in text  # states the row format
    assert f"written {rf.MISSING}" in text
    check_golden(GOLDEN / name / f"prompt.{style}.txt", text)


def test_unknown_style_and_missing_examples() -> None:
    spec = _spec("diabetes")
    with pytest.raises(ValueError):
        render_prompt(spec, "poem")
    with pytest.raises(ValueError):
        render_prompt(spec, "seed_ex")


def test_rounding() -> None:
    assert rounded(95.69, "up") == "96"
    assert rounded(10.01, "down") == "10"
    assert rounded(0.08, "down") == "0.08"
    assert rounded(13862.4, "up") == "14000"


def test_number_extraction() -> None:
    assert _numbers("below 92, 95.69 and 75% and 4800 or 1917.78.") == {Decimal("95.69"), Decimal("1917.78")}


def _numbers(text: str) -> set[Decimal]:
    out = set()
    for token in NUMBER.findall(text):
        try:
            value = Decimal(token)
        except InvalidOperation:
            continue
        if len(value.normalize().as_tuple().digits) > 2:  # round figures describe, not copy
            out.add(value)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_no_real_row_or_rare_value_in_prompts(name: str) -> None:
    spec = _spec(name)
    path = real_csv(name)
    raw = data.read_raw(path, spec)
    csv_lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]]
    rendered = {rf.render_row(spec, r) for r in raw.drop_duplicates().to_dict("records")}
    rare: dict[str, set[Decimal]] = {}
    for column in spec.columns:
        if not column.is_numeric:
            continue
        counts = Counter(v for v in raw[column.name] if v != column.missing_token)
        rare[column.name] = {Decimal(v) for v, n in counts.items() if n < 5}
    for style in ("featdesc", "statguide", "clin_rule"):
        text = render_prompt(spec, style)
        for line in csv_lines:
            assert line not in text
        for row in rendered:
            assert row not in text
        for line in text.splitlines():
            m = re.match(r"- (\w+): ", line)
            if m and m.group(1) in rare:
                hits = _numbers(line[m.end():]) & rare[m.group(1)]
                assert not hits, f"{style}: {m.group(1)} mentions rare values {sorted(hits)}: {line}"
