"""`synspec diff`: the semantic difference between two versions of a spec, for a reviewer.

The pipeline is parse both texts -> their facts (`facts.py`, keyed and located) -> the changes
(`compare.py`: columns added, removed, renamed, retyped; constraints; every statistic moved,
with the size of the move; correlations; rules) -> what the row grammar enforces differently
(`enforcement.py`, when both versions check clean) -> text or JSON (`render.py`). Reading
`REV:path` through git is `revisions.py`. Comments and layout are not part of the meaning:
two texts that differ only there are equal.

>>> old = 'dataset d\\ncolumn x: integer\\n  mean 2\\n  sd 4\\n'
>>> report = diff_texts(old, old.replace("mean 2", "mean 3"))
>>> print(render_text(report))
--- old
+++ new
statistics
  x
    mean: 2 -> 3 (+0.25 sd)  [line 3]
<BLANKLINE>
1 change
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synspec.diff.compare import SECTIONS, Change, compare
from synspec.diff.facts import read_facts
from synspec.diff.render import render_json, render_text, textconv
from synspec.errors import UserError
from synspec.parse import parse
from synspec.source import Source

__all__ = ["SECTIONS", "Change", "DiffReport", "diff_texts", "render_json", "render_text", "textconv"]


@dataclass
class DiffReport:
    old_label: str
    new_label: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old_label, "new": self.new_label, "equal": self.equal,
                "changes": [c.to_dict() for c in self.changes], "notes": self.notes}


def parsed(text: str, label: str) -> tuple[Source, Any]:
    """The source and syntax tree of one version; a `UserError` at its first syntax error."""
    source = Source(label, text)
    result = parse(source)
    if result.tree is None:
        first = result.diagnostics[0]
        line = source.position(first.span.start).line
        raise UserError(f"{label} has a syntax error: {first.message}", where=f"{label}:{line}",
                        hint="a semantic diff needs both versions to parse; `synspec check` shows "
                             "every error")
    return source, result.tree


def diff_texts(old_text: str, new_text: str, *, old_label: str = "old", new_label: str = "new") -> DiffReport:
    """The semantic diff of two spec texts (see the module docstring)."""
    from synspec.passes import check_source

    old_source, old_tree = parsed(old_text, old_label)
    new_source, new_tree = parsed(new_text, new_label)
    old_facts, new_facts = read_facts(old_source, old_tree), read_facts(new_source, new_tree)
    report = DiffReport(old_label, new_label, compare(old_facts, new_facts))
    old_spec, new_spec = check_source(old_source).spec, check_source(new_source).spec
    if old_spec is None or new_spec is None:
        versions = ((old_label, old_spec), (new_label, new_spec))
        which = " and ".join(label for label, spec in versions if spec is None)
        report.notes.append(f"what the grammar enforces is not compared: {which} does not check clean")
    else:
        from synspec.diff.enforcement import grammar_changes

        renamed = {c.new: c.old for c in report.changes if c.section == "rules" and c.what == "renamed"
                   and c.new is not None and c.old is not None}
        report.changes += grammar_changes(old_spec, new_spec, renamed)
    return report
