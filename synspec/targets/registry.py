"""The compile targets and the prompt styles, each found by name in one registry.

`TARGETS` maps a name (what `synspec compile --emit NAME` takes) to a `Target`: the files it
writes and how each is built from a `Compilation`. `PROMPT_STYLES` / `STYLES` (defined with
their builders in `synspec.targets.prompt`) are re-exported here, so the CLI, the generator
and the docs read both lists from one module. A new target is one entry in `TARGETS`; a new
prompt style is one `@_style` function in `prompt.py`. docs/cli.md holds `targets_table()`
and `styles_table()` verbatim (a test keeps them in step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from synspec import ir
from synspec.targets import enforcement as enf
from synspec.targets.grammar import DIALECTS, RowGrammar, row_grammar
from synspec.targets.prompt import PROMPT_STYLES, STYLES, PromptStyle, render_prompt
from synspec.targets.sql import DIALECTS as SQL_DIALECTS
from synspec.targets.sql import render_sql

_SQL_DIALECTS = tuple(SQL_DIALECTS)  # names, the default (duckdb) first

__all__ = ["PROMPT_STYLES", "STYLES", "TARGETS", "Compilation", "PromptStyle", "Target", "prompt_file",
           "sql_file", "styles_table", "targets_table"]


class Compilation:
    """One spec being compiled: what several targets share is built once, on first use."""

    def __init__(self, spec: ir.Spec, examples: Any = None) -> None:
        self.spec = spec
        self.examples = examples  # raw example rows (a DataFrame) for styles that need them

    @cached_property
    def grammar(self) -> RowGrammar:
        return row_grammar(self.spec)

    @cached_property
    def enforcement(self) -> dict[str, Any]:
        return enf.enforcement(self.spec, self.grammar)


Artifacts = dict[str, Callable[[], str]]  # file name -> its text, built on demand


@dataclass(frozen=True)
class Target:
    """A compile target: the files it writes (`files`, for people) and how to build them.

    `artifacts(compilation)` maps each file it writes to a builder of its text;
    `emitted(style, dialect)` is the file `--emit` prints (`style`: the prompt style, if any;
    `dialect`: one of `dialects`, None for the first).
    """

    name: str
    files: str
    description: str
    artifacts: Callable[[Compilation], Artifacts]
    emitted: Callable[[str | None, str | None], str]
    dialects: tuple[str, ...] = ()  # what `--dialect` may pick, the default first


def prompt_file(style: str) -> str:
    """The file a prompt style is written to."""
    return f"prompt.{style}.txt"


def _prompts(c: Compilation) -> Artifacts:
    def builder(style: str) -> Callable[[], str]:
        return lambda: render_prompt(c.spec, style, examples=c.examples)
    return {prompt_file(s.name): builder(s.name)
            for s in PROMPT_STYLES.values() if not s.needs_examples or c.examples is not None}


def _first(name: str) -> Callable[[str | None, str | None], str]:
    return lambda style, dialect: name


def _grammar_file(dialect: str | None) -> str:
    return f"row.{dialect or DIALECTS[0]}"


def sql_file(dialect: str | None) -> str:
    """The file the SQL checks of one dialect are written to (None: the default dialect)."""
    return f"checks.{dialect or _SQL_DIALECTS[0]}.sql"


def _sql(c: Compilation) -> Artifacts:
    def builder(dialect: str) -> Callable[[], str]:
        return lambda: render_sql(c.spec, dialect)
    return {sql_file(name): builder(name) for name in _SQL_DIALECTS}


def _grammars(c: Compilation) -> Artifacts:
    def builder(dialect: str) -> Callable[[], str]:
        return lambda: c.grammar.text(dialect)
    return {_grammar_file(d): builder(d) for d in DIALECTS}


TARGETS: dict[str, Target] = {target.name: target for target in (
    Target("prompt", "`prompt.STYLE.txt`",
           "one prompt per style (those that need example rows only with `--examples`)",
           _prompts, lambda style, dialect: prompt_file(style or "")),
    Target("grammar", "`row.lark`, `row.gbnf`",
           "the grammar of one row: Lark (llguidance, `outlines.types.CFG`, vLLM), GBNF (llama.cpp, SGLang)",
           _grammars,
           lambda style, dialect: _grammar_file(dialect), DIALECTS),
    Target("ir", "`ir.json`", "the checked spec",
           lambda c: {"ir.json": lambda: c.spec.model_dump_json(indent=2) + "\n"}, _first("ir.json")),
    Target("enforcement", "`enforcement.json`, `enforcement.md`",
           "for every rule: enforced by the grammar, or checked after generation and why; grammar size",
           lambda c: {"enforcement.json": lambda: enf.to_json(c.enforcement),
                      "enforcement.md": lambda: enf.to_markdown(c.enforcement)},
           _first("enforcement.json")),
    Target("sql", "`checks.DIALECT.sql`",
           "the checks as SQL queries (per-row results and the counts `validate` reports), one file per "
           "dialect", _sql, lambda style, dialect: sql_file(dialect), _SQL_DIALECTS),
)}


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def targets_table() -> str:
    """The Markdown table of compile targets in docs/cli.md."""
    return _table(("target (`--emit`)", "writes", "`--dialect`", "what"),
                  [(f"`{t.name}`", t.files, " ".join(f"`{d}`" for d in t.dialects) or "-", t.description)
                   for t in TARGETS.values()])


def styles_table() -> str:
    """The Markdown table of prompt styles in docs/cli.md."""
    return _table(("style (`--style`)", "needs `--examples`", "prompt body"),
                  [(f"`{s.name}`", "yes" if s.needs_examples else "no", s.description)
                   for s in PROMPT_STYLES.values()])
