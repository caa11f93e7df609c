"""The HTML of a data dictionary: one self-contained page per spec, and an index of them.

Owns the layout and the escaping: every string that comes from a spec (names, descriptions,
units, levels, messages, citations, rule text) goes through `_e` (html.escape, quotes included),
and every anchor id is built by `anchor` from a name, so a hostile name can neither inject markup
nor break a link. Sections: the dataset; a table of contents; each column (type, description,
unit, range, levels, missing values, statistics, a plot of the declared distribution, the rules
that mention it); correlations; each rule (kind, expression, message, citation, the columns it
touches, and whether the row grammar enforces it); what the grammar enforces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

from synspec import ir
from synspec.data import describe_kind
from synspec.dictionary.plots import column_plot
from synspec.targets.grammar import analyse_rules

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222;
line-height: 1.4 }
h1 { margin-bottom: .2rem } h2 { border-bottom: 1px solid #ccc; margin-top: 2rem }
section.column, section.rule { border: 1px solid #ddd; border-radius: 6px; padding: .4rem 1rem;
margin: 1rem 0 }
table { border-collapse: collapse; font-size: .9rem } td, th { border: 1px solid #ddd; padding: .15rem .5rem;
text-align: left; vertical-align: top } code { background: #f4f4f4; padding: 0 .2rem }
.hard { color: #a00 } .soft { color: #a60 } img.plot { display: block; margin: .5rem 0 }
nav ul { columns: 3 } .muted { color: #777 }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def anchor(kind: str, name: str) -> str:
    """An id safe in HTML and in a URL fragment, one per (kind, name)."""
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"-{ord(m.group()):x}-", name)


def _link(kind: str, name: str) -> str:
    return f'<a href="#{anchor(kind, name)}"><code>{_e(name)}</code></a>'


def _pairs(items: tuple[tuple[Any, float], ...], head: str, fmt_key: Callable[[Any], str] = str) -> str:
    rows = "".join(f"<tr><td>{_e(fmt_key(k))}</td><td>{v:g}</td></tr>" for k, v in items)
    return f"<table><tr><th>{_e(head)}</th><th>share</th></tr>{rows}</table>"


def _quantiles(items: tuple[tuple[float, float], ...]) -> str:
    rows = "".join(f"<tr><td>{p:g}%</td><td>{v:g}</td></tr>" for p, v in items)
    return f"<table><tr><th>quantile</th><th>value</th></tr>{rows}</table>"


def _column(spec: ir.Spec, col: ir.Column, rules: list[ir.Rule]) -> str:
    facts = [("type", f"<code>{_e(describe_kind(col))}</code>")]
    if col.description:
        facts.append(("description", _e(col.description)))
    if col.unit:
        facts.append(("unit", _e(col.unit)))
    if col.is_key:
        facts.append(("key", "numbered 1, 2, 3... by synspec"))
    if col.is_target:
        facts.append(("target", "the outcome column"))
    if col.low is not None and col.high is not None:
        facts.append(("range", f"{col.low:g} to {col.high:g}"))
    if col.kind is ir.ColumnKind.CATEGORICAL:
        facts.append(("levels", ", ".join(f"<code>{_e(lvl)}</code>" for lvl in col.levels)))
    if col.may_be_missing:
        token = _e(col.missing_token)
        facts.append(("missing", f"{col.missing_rate:.2%} of rows, written <code>{token}</code>"))
    else:
        facts.append(("missing", "never"))
    if col.mean is not None:
        facts.append(("mean", f"{col.mean:g}"))
    if col.sd is not None:
        facts.append(("sd", f"{col.sd:g}"))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    parts = [f'<section class="column" id="{anchor("col", col.name)}"><h3><code>{_e(col.name)}</code></h3>',
             f"<table>{body}</table>"]
    plot = column_plot(col)
    if plot is not None:
        parts.append(f'<img class="plot" src="{plot}" alt="declared distribution of {_e(col.name)}">')
    if col.frequencies:
        parts.append(f"<details><summary>frequencies</summary>{_pairs(col.frequencies, 'level')}</details>")
    if col.values:
        parts.append(f"<details><summary>values ({len(col.values)})</summary>"
                     f"{_pairs(col.values, 'value', lambda v: f'{v:g}')}</details>")
    if col.quantiles:
        parts.append(f"<details><summary>quantiles</summary>{_quantiles(col.quantiles)}</details>")
    for cond in col.conditionals:
        given = f"given {_link('col', cond.given)} == <code>{_e(cond.level)}</code>"
        inner = ""
        if cond.frequencies:
            inner += _pairs(cond.frequencies, "level")
        if cond.values:
            inner += _pairs(cond.values, "value", lambda v: f"{v:g}")
        if cond.quantiles:
            inner += _quantiles(cond.quantiles)
        parts.append(f"<details><summary>statistics {given}</summary>{inner}</details>")
    mentioned = [r for r in rules if col.name in r.columns]
    if mentioned:
        parts.append("<p>rules: " + ", ".join(_link("rule", r.name) for r in mentioned) + "</p>")
    parts.append("</section>")
    return "".join(parts)


def _rule(rule: ir.Rule, enforced: dict[str, str], after: dict[str, str]) -> str:
    hard = rule.kind is ir.RuleKind.HARD
    kind = ('<span class="hard">hard rule</span>: holds on every row' if hard else
            f'<span class="soft">soft expectation</span>: holds on at least {rule.mostly:.0%} of the rows '
            "it applies to")
    rows = [("kind", kind), ("condition", f"<code>{_e(rule.text)}</code>")]
    if rule.message:
        rows.append(("message", _e(rule.message)))
    if rule.cite:
        rows.append(("citation", _e(rule.cite)))
    rows.append(("columns", ", ".join(_link("col", c) for c in rule.columns)))
    how = ("enforced by the row grammar: " + _e(enforced[rule.name]) if rule.name in enforced
           else "checked after generation: " + _e(after.get(rule.name, "")))
    rows.append(("generation", how))
    rows.append(("declared at", f'<span class="muted">{_e(rule.location)}</span>'))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<section class="rule" id="{anchor("rule", rule.name)}"><h3><code>{_e(rule.name)}</code></h3>'
            f"<table>{body}</table></section>")


def render_spec(spec: ir.Spec, index_href: str = "index.html") -> str:
    """The dictionary page of one spec (a complete, self-contained HTML document)."""
    _, _, enforced, after = analyse_rules(spec)
    rules = list(spec.rules)
    head = [f"<h1>{_e(spec.name)}</h1>", f'<p><a href="{_e(index_href)}">all specs</a></p>']
    if spec.description:
        head.append(f"<p>{_e(spec.description)}</p>")
    meta = []
    if spec.source:
        meta.append(("source", _e(spec.source)))
    if spec.rows is not None:
        meta.append(("rows", f"{spec.rows:,}"))
    if spec.target:
        meta.append(("target", _link("col", spec.target)))
    if spec.keys:
        meta.append(("key", ", ".join(_link("col", k) for k in spec.keys)))
    meta.append(("spec file", f"<code>{_e(spec.path)}</code>"))
    head.append("<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in meta) + "</table>")
    toc = ("<nav><h2>Contents</h2><ul>"
           + "".join(f"<li>{_link('col', c.name)}</li>" for c in spec.columns)
           + '</ul><ul><li><a href="#correlations">correlations</a></li><li><a href="#rules">rules</a></li>'
           '<li><a href="#grammar">what the grammar enforces</a></li></ul></nav>')
    columns = "<h2>Columns</h2>" + "".join(_column(spec, c, rules) for c in spec.columns)
    corr_rows = "".join(f"<tr><td>{_link('col', c.left)}</td><td>{_link('col', c.right)}</td>"
                        f"<td>{c.value:g}</td><td>{_e(c.method)}</td></tr>" for c in spec.correlations)
    correlations = ('<h2 id="correlations">Correlations</h2>'
                    + ("<table><tr><th>column</th><th>column</th><th>r</th><th>method</th></tr>"
                       f"{corr_rows}</table>"
                       if corr_rows else "<p>none declared</p>"))
    rule_html = '<h2 id="rules">Rules</h2>' + ("".join(_rule(r, enforced, after) for r in rules)
                                               or "<p>none declared</p>")
    hard = spec.hard_rules
    by_grammar = [r for r in hard if r.name in enforced]
    grammar = ('<h2 id="grammar">What the grammar enforces</h2><p>Every generated row is written under the '
               "row grammar, which enforces each column's type, decimal places, range, levels, listed values "
               "and whether it may be missing, and "
               f"{len(by_grammar)} of {len(hard)} hard rules:</p><ul>"
               + "".join(f"<li>{_link('rule', r.name)}: enforced</li>" for r in by_grammar)
               + "".join(f"<li>{_link('rule', r.name)}: checked after generation "
                         f"({_e(after.get(r.name, ''))})</li>" for r in hard if r.name not in enforced)
               + "</ul><p>Soft expectations are measured after generation.</p>")
    return _document(f"{spec.name}: data dictionary",
                     "".join(head) + toc + columns + correlations + rule_html + grammar)


def render_index(entries: list[tuple[str, str, str | None]]) -> str:
    """The index page: (file name, dataset name, description) per spec."""
    items = "".join(f'<li><a href="{_e(href)}">{_e(name)}</a>'
                    f"{': ' + _e(description) if description else ''}</li>"
                    for href, name, description in entries)
    return _document("Data dictionary", f"<h1>Data dictionary</h1><ul>{items}</ul>")


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>\n")
