"""Which hard rules the row grammar enforces, before and after: the `grammar` section of a diff.

Owns comparing the rule analysis the grammar is built from (`analyse_rules`) on two checked
specs: a hard rule the grammar now enforces, or no longer enforces (then it is only checked
after generation), a new hard rule and how it is kept, and a removed rule the grammar used to
enforce. Rules are matched as `compare` matched them (renames included).
"""

from __future__ import annotations

from synspec import ir
from synspec.diff.compare import Change
from synspec.targets.grammar import analyse_rules


def _status(spec: ir.Spec) -> dict[str, tuple[bool, str, int]]:
    """Hard rule name -> (enforced by the grammar, why, line)."""
    _, _, enforced, after = analyse_rules(spec)
    out = {}
    for rule in spec.hard_rules:
        by_grammar = rule.name in enforced
        why = enforced[rule.name] if by_grammar else after[rule.name]
        out[rule.name] = (by_grammar, why, rule.location.line)
    return out


def _words(by_grammar: bool) -> str:
    return "enforced by the grammar" if by_grammar else "checked after generation"


def grammar_changes(old: ir.Spec, new: ir.Spec, renamed: dict[str, str]) -> list[Change]:
    """Changes in what the grammar enforces; `renamed` maps a rule's new name to its old one."""
    before, after = _status(old), _status(new)
    changes = []
    seen: set[str] = set()
    for name, (now, why, line) in after.items():
        was_name = renamed.get(name, name)
        seen.add(was_name)
        if was_name not in before:
            changes.append(Change("grammar", name, "new hard rule", None, _words(now), new_line=line,
                                  note=why))
            continue
        was, _, old_line = before[was_name]
        if was != now:
            changes.append(Change("grammar", name, "enforcement", _words(was), _words(now), old_line=old_line,
                                  new_line=line, note=why))
    for name, (was, _, old_line) in before.items():
        if name not in seen and was:
            changes.append(Change("grammar", name, "enforcement", _words(was), "no longer a hard rule",
                                  old_line=old_line))
    return changes
