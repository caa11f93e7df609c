"""The enforcement report: for every rule, whether the row grammar enforces it, and why.

Built from `row_grammar(spec)`; rendered as JSON (enforcement.json, read by tools) and
Markdown (enforcement.md, read by people), with the grammar's size figures.
"""

from __future__ import annotations

import json
from typing import Any

from synspec import ir
from synspec.targets.grammar import RowGrammar, row_grammar


def enforcement(spec: ir.Spec, grammar: RowGrammar | None = None) -> dict[str, Any]:
    """The report as plain data (the content of enforcement.json)."""
    grammar = grammar or row_grammar(spec)
    rules = []
    for rule in spec.rules:
        by_grammar = rule.name in grammar.enforced
        rules.append({
            "name": rule.name,
            "kind": rule.kind.value,
            "text": rule.text,
            "columns": list(rule.columns),
            "enforcement": "grammar" if by_grammar else "checked_after",
            "reason": grammar.enforced[rule.name] if by_grammar else grammar.checked_after[rule.name],
        })
    hard = spec.hard_rules
    enforced_hard = sum(1 for r in hard if r.name in grammar.enforced)
    return {
        "spec": spec.name,
        "generation_order": list(grammar.order),
        "grammar": {"rules": grammar.n_rules, "characters": grammar.n_chars, "states": grammar.states},
        "hard_rules": len(hard),
        "hard_rules_enforced_by_grammar": enforced_hard,
        "rules": rules,
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: dict[str, Any]) -> str:
    g = report["grammar"]
    lines = [f"# Rule enforcement: {report['spec']}", "",
             f"The row grammar enforces {report['hard_rules_enforced_by_grammar']} of "
             f"{report['hard_rules']} hard rules. Grammar size: {g['rules']} rules, "
             f"{g['characters']} characters, {g['states']} states.", "",
             "Generation order: " + ", ".join(report["generation_order"]), "",
             "| rule | kind | enforced by | why |", "| --- | --- | --- | --- |"]
    for rule in report["rules"]:
        by = "grammar" if rule["enforcement"] == "grammar" else "check after generation"
        lines.append(f"| `{_cell(rule['name'])}`: `{_cell(rule['text'])}` | {rule['kind']} | {by} | "
                     f"{_cell(rule['reason'])} |")
    return "\n".join(lines) + "\n"
