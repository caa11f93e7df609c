"""Writing a semantic diff: text for a reviewer, JSON for tools, and the git textconv view.

Owns the layout: sections in review order, statistics grouped under their column, each change
as `what: old -> new (size of the move)  [line]`; and `textconv`, one fact per line in a
stable order, which git's own line diff turns into a readable change list (`git log -p`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from synspec.diff.compare import SECTIONS, Change
from synspec.diff.facts import read_facts

if TYPE_CHECKING:
    from synspec.diff import DiffReport


def _value(text: str | None) -> str:
    return "(none)" if text is None else text


def _move(change: Change) -> str:
    if change.move is None or change.unit is None:
        return ""
    if change.unit == "rows":
        return f" ({change.move:+,.0f} rows)"
    if change.unit == "r":
        return f" ({change.move:+.3f})"
    digits = 2 if abs(change.move) >= 0.01 or change.move == 0 else 4
    space = "" if change.unit == "%" else " "
    return f" ({change.move:+.{digits}f}{space}{change.unit})"


def _where(change: Change) -> str:
    if change.new_line is not None and change.old_line is not None and change.new_line != change.old_line:
        return f"  [line {change.old_line} -> {change.new_line}]"
    line = change.new_line if change.new_line is not None else change.old_line
    return f"  [line {line}]" if line is not None else ""


def _line(change: Change, with_subject: bool) -> str:
    head = f"{change.subject}: " if with_subject else ""
    if change.what in ("added", "removed") and change.section in ("columns", "rules"):
        body = f"{change.what}: {_value(change.new if change.what == 'added' else change.old)}"
    elif change.what == "renamed":
        body = f"renamed from {change.old}"
    elif change.section == "grammar":
        body = f"{change.what}: {change.new}" if change.old is None else \
            f"{change.what}: {change.old} -> {change.new}"
    elif change.old is None:
        body = f"{change.what}: {change.new} (new)"
    elif change.new is None:
        body = f"{change.what}: {change.old} (removed)"
    else:
        body = f"{change.what}: {change.old} -> {change.new}{_move(change)}"
    note = f" ({change.note})" if change.note and change.section not in ("statistics", "correlations") else ""
    return head + body + note + _where(change)


def render_text(report: DiffReport) -> str:
    """The diff for a reviewer; the empty string when the versions mean the same."""
    if report.equal and not report.notes:
        return ""
    out = [f"--- {report.old_label}", f"+++ {report.new_label}"]
    for section in SECTIONS:
        changes = [c for c in report.changes if c.section == section]
        if not changes:
            continue
        out.append(section)
        if section == "statistics":
            subject = None
            for change in changes:
                if change.subject != subject:
                    subject = change.subject
                    out.append(f"  {subject}")
                out.append("    " + _line(change, with_subject=False))
        else:
            out.extend("  " + _line(change, with_subject=True) for change in changes)
    out.extend(f"note: {note}" for note in report.notes)
    n = len(report.changes)
    out += ["", f"{n} change{'s' * (n != 1)}" if n else "no semantic change"]
    return "\n".join(out)


def render_json(report: DiffReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def textconv(text: str, label: str) -> str:
    """One fact per line (`column age: mean 41.89`), for git's textconv: git's line diff of two
    of these is a list of changed facts, in `git diff` and `git log -p` alike."""
    from synspec.diff import parsed

    source, tree = parsed(text, label)
    facts = read_facts(source, tree)
    lines = [f"dataset {facts.name}"]
    lines += [f"dataset: {key} {fact.text}" for key, fact in facts.dataset.items()]
    for col in facts.columns.values():
        head = f"column {col.name}"
        lines.append(f"{head}: {col.type}")
        lines += [f"{head}: {key} {fact.text}" for key, fact in col.docs.items()]
        lines += [f"{head}: {key} {fact.text}" for key, fact in col.constraints.items()]
        for (stat, entry), fact in col.stats.items():
            shown = col.value_texts.get(entry, entry) if stat.startswith("values") else entry
            lines.append(f"{head}: {stat}{' ' + shown if shown else ''} = {fact.text}")
    for (left, right, method), fact in facts.correlations.items():
        method_text = " (spearman)" if method == "spearman" else ""
        lines.append(f"correlation {left}, {right}{method_text} = {fact.text}")
    for rule in facts.rules.values():
        lines.append(f"{rule.kind} {rule.name}: {rule.expression}")
        lines += [f"{rule.kind} {rule.name}: {key} {fact.text}" for key, fact in rule.props.items()]
    return "\n".join(lines) + "\n"
