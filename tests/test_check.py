"""`synspec check`: fixture files with their expected diagnostics written inline.

Each tests/fixtures/check/*.synspec file lists what it must produce in comments:
`# expect: CODE line N [col C] ["text in the message, help or notes"]`. A file with
no expectations must check clean. Running every fixture must exercise every code
in `CODES` (S102, an unreadable file, is exercised by its own test below).
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from itertools import product
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec import ir
from synspec.cli import main
from synspec.diagnostics import CODES, did_you_mean
from synspec.passes import check_file, check_text

FIXTURES = Path(__file__).parent / "fixtures" / "check"
SPECS = Path(__file__).parent.parent / "specs"
EXPECT = re.compile(r'#\s*expect:\s*(S\d{3})\s+line\s+(\d+)(?:\s+col\s+(\d+))?(?:\s+"(.*)")?\s*$')


def expectations(path: Path) -> list[tuple[str, int, int | None, str | None]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if (m := EXPECT.search(line)) is not None:
            found.append((m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None, m.group(4)))
    return found


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.synspec"))


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.stem)
def test_fixture_diagnostics(path: Path) -> None:
    result = check_file(path)
    wanted = expectations(path)
    got = [d.to_dict() for d in result.diagnostics]
    assert sorted((d["code"], d["line"]) for d in got) == sorted((c, line) for c, line, _, _ in wanted)
    for code, line, col, text in wanted:
        matches = [d for d in got if d["code"] == code and d["line"] == line
                   and (col is None or d["column"] == col)]
        assert matches, f"no {code} at line {line} col {col}: {got}"
        if text is not None:
            blobs = [" ".join([d["message"], d["help"] or "", *(n["message"] for n in d["notes"])])
                     for d in matches]
            assert any(text in blob for blob in blobs), (text, blobs)
    assert (result.spec is None) == any(d.is_error for d in result.diagnostics)


def test_every_code_is_exercised() -> None:
    seen = {code for path in fixture_files() for code, *_ in expectations(path)}
    assert set(CODES) - seen == {"S102"}


def test_unreadable_file_is_s102(tmp_path: Path) -> None:
    missing = check_file(tmp_path / "absent.synspec")
    bad = tmp_path / "latin1.synspec"
    bad.write_bytes(b"dataset caf\xe9\n")
    undecodable = check_file(bad)
    for result in (missing, undecodable):
        assert [d.code for d in result.diagnostics] == ["S102"]
        assert result.spec is None


def test_typo_in_rule_names_line_column_and_right_name() -> None:
    result = check_file(FIXTURES / "names.synspec")
    (diag,) = [d for d in result.diagnostics if "pregnat" in d.message]
    text = diag.render()
    assert "names.synspec:22:21" in text
    assert "22 | rule pregnancy_sex: pregnat -> sex == Female" in text
    assert "   |                     ^^^^^^^ not a declared column" in text
    assert "did you mean `pregnant`?" in text
    assert "declared here" in text  # the note points at the declaration


def test_multiple_errors_in_one_run() -> None:
    result = check_file(FIXTURES / "declarations.synspec")
    assert len(result.errors) >= 15
    assert len({d.source.position(d.span.start).line for d in result.errors}) >= 12


def test_syntax_errors_of_every_block_are_reported() -> None:
    result = check_file(FIXTURES / "syntax.synspec")
    assert [d.code for d in result.diagnostics] == ["S100", "S100", "S101"]


def run_cli(args: list[str]) -> tuple[int, str]:
    # The shared console follows sys.stdout as long as no file is pinned on it, so
    # redirecting stdout is enough (pinning one would leak into later tests).
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


def test_cli_json_format() -> None:
    code, out = run_cli(["check", "--format", "json", str(FIXTURES / "names.synspec")])
    assert code == 1
    data = json.loads(out)
    first = next(d for d in data if d["code"] == "S201" and d["line"] == 22)
    assert first["severity"] == "error" and first["column"] == 21
    assert first["help"] == "did you mean `pregnant`?"
    assert set(first) >= {"file", "end_line", "end_column", "label", "notes", "message"}


def test_cli_exit_codes(tmp_path: Path) -> None:
    assert run_cli(["check", str(FIXTURES / "valid.synspec")])[0] == 0
    # Warnings, and one hard rule no row satisfies (S504, an error: compile would refuse it).
    assert run_cli(["check", str(FIXTURES / "sanity.synspec")])[0] == 1
    assert run_cli(["check", str(FIXTURES / "types.synspec")])[0] == 1
    assert run_cli(["check", str(tmp_path / "absent.synspec")])[0] == 2
    assert run_cli(["check", "--format", "yaml", str(FIXTURES / "valid.synspec")])[0] == 2


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.synspec")), ids=lambda p: p.stem)
def test_real_specs_check_clean(path: Path) -> None:
    result = check_file(path)
    assert result.spec is not None, [d.render() for d in result.diagnostics]
    # Rule sanity must not cry wolf on the real specs.
    assert not [d.code for d in result.diagnostics if d.code.startswith("S5")]


def test_did_you_mean() -> None:
    assert did_you_mean("hba1c_level", ["HbA1c_level", "age"]) == "HbA1c_level"
    assert did_you_mean("pregnat", ["pregnant", "sex"]) == "pregnant"
    assert did_you_mean("zzz", ["pregnant", "sex"]) is None
    assert did_you_mean("x", []) is None


def test_ir_of_valid_fixture() -> None:
    spec = check_file(FIXTURES / "valid.synspec").spec
    assert spec.name == "clinic visits" and spec.keys == ("visit_id",) and spec.target == "outcome"
    smoking = spec.column("smoking")
    assert smoking.levels == ("No Info", "never", "not current", "former")
    assert smoking.missing_token == "NA"  # the dataset default
    assert spec.column("pregnant").missing_token == ""
    assert spec.column("sex").missing_token is None
    rule = next(r for r in spec.rules if r.name == "pregnancy_sex")
    assert rule.expr.condition == ir.IsTrue(column="pregnant")
    assert isinstance(rule.expr.consequence, ir.And) and len(rule.expr.consequence.items) == 3
    assert rule.columns == ("pregnant", "sex", "age")
    soft = next(r for r in spec.rules if r.name == "adults_mostly")
    assert soft.kind is ir.RuleKind.SOFT and soft.mostly == 0.8


# ---- rule sanity is sound: a warning is never contradicted by some allowed row ----------
_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
_TERMS = {"x": lambda r: r["x"], "y": lambda r: r["y"], "x + y": lambda r: r["x"] + r["y"],
          "x - y": lambda r: r["x"] - r["y"], "2 * x": lambda r: 2 * r["x"]}


@st.composite
def _numeric_rules(draw):
    """Random bounds for two integer columns and a rule as (text, evaluator) over them."""
    bounds = {}
    for col in ("x", "y"):
        low = draw(st.integers(-5, 5))
        bounds[col] = (low, low + draw(st.integers(0, 6)))

    def atom():
        term, op, number = (draw(st.sampled_from(sorted(_TERMS))), draw(st.sampled_from(sorted(_COMPARE))),
                            draw(st.integers(-12, 12)))
        return f"{term} {op} {number}", lambda r: _COMPARE[op](_TERMS[term](r), number)

    text, fn = atom()
    for _ in range(draw(st.integers(0, 2))):
        joiner = draw(st.sampled_from(["and", "or", "->"]))
        other_text, other = atom()
        if joiner == "and":
            fn = (lambda f, g: lambda r: f(r) and g(r))(fn, other)
        elif joiner == "or":
            fn = (lambda f, g: lambda r: f(r) or g(r))(fn, other)
        else:
            fn = (lambda f, g: lambda r: (not f(r)) or g(r))(fn, other)
        text = f"({text}) {joiner} ({other_text})"
    if draw(st.booleans()):
        text, fn = f"not ({text})", (lambda f: lambda r: not f(r))(fn)
    return bounds, text, fn


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(_numeric_rules())
def test_rule_sanity_is_sound(case) -> None:
    bounds, expr, holds = case
    text = "dataset d\n" + "".join(f"column {c}: integer\n  range {lo} to {hi}\n"
                                   for c, (lo, hi) in bounds.items()) + f"rule r: {expr}\n"
    codes = {d.code for d in check_text(text).diagnostics}
    assert codes <= {"S501", "S502", "S503", "S504"}, codes
    rows = [{"x": x, "y": y} for x, y in product(range(bounds["x"][0], bounds["x"][1] + 1),
                                                 range(bounds["y"][0], bounds["y"][1] + 1))]
    truths = {bool(holds(row)) for row in rows}
    if "S501" in codes or "S504" in codes:
        assert truths == {False}, (expr, bounds)
    if "S502" in codes:
        assert truths == {True}, (expr, bounds)


def test_rule_sanity_finds_the_obvious_cases() -> None:
    base = "dataset d\ncolumn x: integer\n  range 0 to 10\n"
    # Never true, and a hard rule: also the error compile would give (no row satisfies it).
    assert {d.code for d in check_text(base + "rule r: x > 10\n").diagnostics} == {"S501", "S504"}
    assert {d.code for d in check_text(base + "expect r: x > 10\n  mostly 0.5\n").diagnostics} == {"S501"}
    assert {d.code for d in check_text(base + "rule r: x >= 0\n").diagnostics} == {"S502"}
    assert {d.code for d in check_text(base + "rule r: x > 5\n").diagnostics} == set()
    # A column that may be missing makes the comparison unknown on some rows: no warning.
    maybe = "dataset d\ncolumn x: integer\n  range 0 to 10\n  missing 0.1 as \"NA\"\n"
    assert {d.code for d in check_text(maybe + "rule r: x >= 0\n").diagnostics} == set()


def test_header_property_repeat_is_reported_once() -> None:
    result = check_text('dataset d\n  description "a"\n  description "b"\ncolumn x: integer\n')
    assert [d.code for d in result.diagnostics] == ["S206"]


def test_literal_conditions_name_what_they_are() -> None:
    (diag,) = check_text('dataset d\nrule r: "abc"\n').diagnostics
    assert diag.code == "S301" and "a string is not a condition" in diag.message
