"""Checking: a syntax tree -> a checked `ir.Spec` plus every diagnostic, in one run.

Each pass is a plain function `pass(ctx)` in its own module; `PASSES` lists their
order once. A pass reports problems on `ctx` and keeps going, so a user sees every
error in a file at once. The spec is returned only when no error was reported.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from synspec import ir
from synspec.diagnostics import Diagnostic, make, sort_key
from synspec.parse import parse
from synspec.passes.conditionals import conditionals
from synspec.passes.context import Context
from synspec.passes.contradictions import contradictions
from synspec.passes.correlations import correlations
from synspec.passes.declarations import declarations
from synspec.passes.header import header
from synspec.passes.names import names
from synspec.passes.rule_sanity import rule_sanity
from synspec.passes.rules import rules
from synspec.passes.satisfiable import satisfiable
from synspec.source import Source, Span

PASSES = (header, declarations, conditionals, names, correlations, rules, rule_sanity,
          contradictions)
# Passes over the checked spec, run when the passes above found no error.
SPEC_PASSES = (satisfiable,)


@dataclass(frozen=True)
class CheckResult:
    source: Source
    spec: ir.Spec | None  # None when there is any error
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: parsing and checking allocate a node per token and
    free nothing, so on a wide spec the collector's repeated full scans cost more than the work
    (a third of `check` at 5,000 columns). Whatever is garbage is collected afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_source(source: Source) -> CheckResult:
    with _collector_paused():
        return _check_source(source)


def _check_source(source: Source) -> CheckResult:
    parsed = parse(source)
    if parsed.tree is None:
        return CheckResult(source, None, parsed.diagnostics)
    ctx = Context(source, parsed.tree)
    ctx.diagnostics.extend(parsed.diagnostics)
    for run_pass in PASSES:
        run_pass(ctx)
    spec = None
    if not any(d.is_error for d in ctx.diagnostics):
        spec = ir.Spec(
            name=ctx.name, description=ctx.description, source=ctx.data_source, rows=ctx.rows,
            target=ctx.target, keys=ctx.keys, columns=tuple(ctx.columns_in_order()),
            rules=tuple(ctx.rules), correlations=tuple(ctx.correlations), path=source.path)
        for run_spec_pass in SPEC_PASSES:
            run_spec_pass(ctx, spec)
        if any(d.is_error for d in ctx.diagnostics):
            spec = None
    return CheckResult(source, spec, tuple(sorted(ctx.diagnostics, key=sort_key)))


def check_text(text: str, path: str = "<string>") -> CheckResult:
    return check_source(Source(path, text))


def check_file(path: str | Path) -> CheckResult:
    """Check a spec file; an unreadable file is reported as diagnostic S102."""
    try:
        source = Source.read(path)
    except (OSError, ValueError) as err:  # ValueError: not UTF-8 text (UnicodeDecodeError) or binary
        source = Source(str(path), "")
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        diag = make("S102", f"cannot read spec: {reason}", source, Span(0, 0),
                    help="check the path and that the file is UTF-8 text")
        return CheckResult(source, None, (diag,))
    return check_source(source)
