"""Fuzz: mutated real specs produce diagnostics, never an uncaught exception.

Thousands of mutations (tokens deleted, duplicated, swapped or replaced by keywords,
random bytes inserted) of the specs in specs/ and of the valid fixture go through
`check_text` and `format_text`. Each must return: either a checked spec, or at least
one error diagnostic whose span lies inside the text. When the mutant still parses,
fmt must be idempotent and meaning-preserving on it. Derandomized, so CI is stable.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synspec.fmt import format_text, keywords
from synspec.parse import parse_text
from synspec.passes import check_text

ROOT = Path(__file__).parent.parent
SOURCES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "specs").glob("*.synspec"))]
SOURCES.append((Path(__file__).parent / "fixtures" / "check" / "valid.synspec").read_text(encoding="utf-8"))
# Tokens as a user sees them: strings, quoted names, numbers, words, operators, line breaks.
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`\n]*`|\d+(?:\.\d+)?%?|\w+|<->|->|[<>!=]=|\n|\S')


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def join(parts: list[str]) -> str:
    return " ".join(parts).replace(" \n ", "\n")


@st.composite
def mutants(draw) -> str:
    text = draw(st.sampled_from(SOURCES))
    parts = tokens(text)
    for _ in range(draw(st.integers(1, 4))):
        if not parts:
            break
        i = draw(st.integers(0, len(parts) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "keyword", "bytes", "truncate"]))
        if kind == "delete":
            del parts[i]
        elif kind == "duplicate":
            parts.insert(i, parts[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
        elif kind == "keyword":
            parts[i] = draw(st.sampled_from(sorted(keywords()) + ["(", ")", "{", "}", ",", ":", "-", "%"]))
        elif kind == "bytes":
            raw = draw(st.binary(min_size=1, max_size=6))
            parts.insert(i, raw.decode("utf-8", errors="replace"))
        else:
            parts = parts[:i]
    return join(parts)


def assert_well_behaved(text: str) -> None:
    result = check_text(text, "<fuzz>")
    if result.spec is None:
        assert result.errors, "no spec and no error"
    for diag in result.diagnostics:
        assert 0 <= diag.span.start <= diag.span.end <= max(len(text), 1)
        diag.render()
        diag.to_dict()
    formatted = format_text(text, "<fuzz>")
    if formatted.text is None:
        assert formatted.diagnostics
        return
    assert format_text(formatted.text).text == formatted.text
    assert parse_text(formatted.text).tree == parse_text(text).tree


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutants())
def test_mutated_specs_never_crash(text: str) -> None:
    assert_well_behaved(text)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    assert_well_behaved(text)


def test_the_sources_themselves_are_well_behaved() -> None:
    for text in SOURCES:
        assert check_text(text).spec is not None
        assert_well_behaved(text)
