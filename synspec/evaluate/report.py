"""Outputs of an evaluation: the JSON document and the self-contained HTML report.

The HTML holds no external URL: styles inline, plots as data: URIs (see `plots`), and every
name or string from the spec or data passes through `html.escape`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from synspec import ir
from synspec.evaluate import plots
from synspec.evaluate.boundary import FLAG_ABOVE
from synspec.evaluate.result import EvalResult, LevelColumn, NumericColumn, TopValue, Utility
from synspec.evaluate.thresholds import METRICS


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 0.001 or value == 0 else f"{value:.2e}"
    return escape(str(value))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(uri: str | None, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">' if uri else ""


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}
th{background:#f3f3f3}.fail{color:#b00;font-weight:bold}.pass{color:#070}.grid img{margin:4px}
.verdict{border:2px solid #999;padding:.5em 1em}
.grid{display:flex;flex-wrap:wrap}.card{margin:4px;padding:2px;border:1px solid #eee}
.card.flagged{border:2px solid #b00}tr.flagged td{background:#fde8e8}
details table{margin:.2em 0}summary{font-size:12px;cursor:pointer}"""


def _verdict(verdict: list[Any]) -> str:
    # The verdict comes first: it is what a reader (or a CI log) needs.
    if not verdict:
        return (
            '<section class="verdict"><h2>Verdict</h2><p>No thresholds were set '
            '(use <code>--fail-on "metric&gt;value"</code>).</p></section>'
        )
    failed = [v for v in verdict if v.failed]
    rows = "".join(
        f'<li class="{"fail" if v.failed else "pass"}">{escape(v.threshold)}: '
        f"{fmt(v.value)} — {'FAILED' if v.failed else 'passed'}</li>"
        for v in verdict
    )
    head = f"{len(failed)} of {len(verdict)} thresholds failed" if failed else "all thresholds passed"
    return f'<section class="verdict"><h2>Verdict: {head}</h2><ul>{rows}</ul></section>'


def _fidelity_table(result: EvalResult) -> str:
    syn, base = result.columns["synthetic"], result.columns["baseline"]
    rows = []
    for n, c in syn.items():
        b = base[n]
        row: list[Any] = [n, c.kind]
        if isinstance(c, NumericColumn) and isinstance(b, NumericColumn):
            row += [c.ks, b.ks, c.wasserstein, c.wasserstein_iqr, b.wasserstein_iqr, None, None]
        elif isinstance(c, LevelColumn) and isinstance(b, LevelColumn):
            row += [None] * 5 + [c.tvd, b.tvd]
        rows.append([*row, c.missing_diff, b.missing_diff])
    header = [
        "column",
        "kind",
        "KS",
        "KS baseline",
        "Wasserstein",
        "Wasserstein/IQR",
        "W/IQR baseline",
        "TVD",
        "TVD baseline",
        "missing diff",
        "missing diff baseline",
    ]
    return _table(header, rows)


def _boundary_table(result: EvalResult) -> str:
    """Per numeric column: its boundary excess, the worst point and the shares there."""
    rows = []
    for n, c in result.columns["synthetic"].items():
        if not isinstance(c, NumericColumn):
            continue
        worst = c.worst_point()
        base = result.columns["baseline"][n]
        flagged = c.piled
        cells = [
            n,
            c.boundary_excess,
            c.boundary_noise,
            getattr(base, "boundary_excess", None),
            None if worst is None else worst.value,
            None if worst is None else worst.kind,
            None if worst is None else worst.real_share,
            None if worst is None else worst.synthetic_share,
        ]
        flag = f'<td class="fail">above {FLAG_ABOVE:g} and noise: piled</td>' if flagged else "<td></td>"
        row_class = ' class="flagged"' if flagged else ""
        rows.append(f"<tr{row_class}>" + "".join(f"<td>{fmt(x)}</td>" for x in cells) + flag + "</tr>")
    if not rows:
        return ""
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in [
            "column",
            "boundary excess",
            "real rows by chance (p95)",
            "baseline",
            "worst point",
            "kind",
            "real share",
            "synthetic share",
            f"flag (> {FLAG_ABOVE:g} and > chance)",
        ]
    )
    return (
        "<h3>Boundary excess</h3><p>At each range end, rule threshold and declared quantile: "
        "(synthetic share + c) / (real share + c), c = 5 / synthetic rows; the column's largest "
        "ratio. Every point is in the JSON.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _top_values(values: list[TopValue]) -> str:
    return _table(
        ["value", "real share", "synthetic share"],
        [[v.value, v.real_share, v.synthetic_share] for v in values],
    )


def _column_cards(result: EvalResult, figures: dict[str, str]) -> str:
    """One card per column: the real-vs-synthetic histogram, a flag, and the top values."""
    cards = []
    for n, uri in figures.items():
        c = result.columns["synthetic"][n]
        excess = c.boundary_excess if isinstance(c, NumericColumn) else None
        flagged = isinstance(c, NumericColumn) and c.piled
        note = f'<p class="fail">boundary excess {fmt(excess)}: piled on a boundary</p>' if flagged else ""
        cards.append(
            f'<div class="card{" flagged" if flagged else ""}">{_img(uri, f"distribution of {n}")}{note}'
            f"<details><summary>top values of {escape(n)}</summary>{_top_values(c.top_values)}"
            "</details></div>"
        )
    return '<div class="grid">' + "".join(cards) + "</div>"


def _utility(util: Any) -> str:
    if util is None:
        return "<p>The spec declares no target: utility not measured.</p>"
    if not isinstance(util, Utility):
        return f"<p>{escape(util.note)}</p>"
    rows = []
    for model in util.trtr:
        for label in ("trtr", "synthetic", "baseline"):
            s = getattr(util, label)[model]
            rows.append(
                [
                    model,
                    "TRTR (real train)" if label == "trtr" else f"TSTR ({label})",
                    None if s is None else s.auroc,
                    None if s is None else s.auprc,
                    None if s is None else s.auroc_ratio,
                    None if s is None else s.auprc_ratio,
                ]
            )
    return f"<p>Target: {escape(util.target)}; test set: the real holdout.</p>" + _table(
        ["model", "trained on", "AUROC", "AUPRC", "AUROC / TRTR", "AUPRC / TRTR"], rows
    )


def to_html(spec: ir.Spec, result: EvalResult) -> str:
    figs = plots.all_plots(spec, result)
    parts = [f"<h1>synspec eval: {escape(spec.name)}</h1>", _verdict(result.verdict)]
    split = result.split
    parts.append(
        f"<p>Real rows: {result.rows.real}, synthetic rows: {result.rows.synthetic}; holdout: "
        f"{fmt(split.holdout_rows)} rows ({escape(split.source)}). "
        "The baseline is a table of the same size drawn independently from the spec's "
        "declared marginals (no model).</p>"
    )
    parts.append(
        "<h2>Summary</h2>"
        + _table(
            ["figure", "synthetic", "baseline", "meaning"],
            [[name, v.synthetic, v.baseline, METRICS.get(name, "")] for name, v in result.figures.items()],
        )
    )
    parts.append("<h2>Fidelity per column</h2>" + _fidelity_table(result) + _boundary_table(result))
    parts.append(
        "<h3>Distributions: real against synthetic</h3><p>Share of present values; numerics on "
        "shared bins (one per value where there are few), a dashed line at a flagged column's "
        "worst boundary point.</p>" + _column_cards(result, figs["columns"])
    )
    parts.append("<h2>Correlations</h2>")
    if result.pairs["synthetic"].note:
        parts.append(f"<p>{escape(result.pairs['synthetic'].note)}</p>")
    for method in ("pearson", "spearman"):
        parts.append(_img(figs.get(method), f"{method} correlation heatmaps"))
    rule_pairs = result.pairs["synthetic"].rule_pairs
    if rule_pairs:
        parts.append(
            "<h3>Joint distributions of rule-linked pairs (TVD)</h3>"
            + _table(
                ["pair", "synthetic", "baseline"],
                [[p, v, result.pairs["baseline"].rule_pairs[p]] for p, v in rule_pairs.items()],
            )
        )
    parts.append("<h2>Clinical consistency</h2><p>Failing share of the rows each check applies to.</p>")
    parts.append(_img(figs.get("rules"), "rule failure bars"))
    parts.append(
        _table(
            ["check", "kind", "hard", "real", "synthetic", "baseline", "declared mostly"],
            [[r.name, r.kind, r.hard, r.real, r.synthetic, r.baseline, r.mostly] for r in result.consistency],
        )
    )
    parts.append(
        "<h2>Privacy</h2><p>Distances are L1 over Gower-style scaled columns to the train split; "
        "the holdout's distances to the same rows, and its copies of them, show what a new "
        "patient from the same population looks like. Exact copies count any real row.</p>"
    )
    syn, base = result.privacy["synthetic"].model_dump(), result.privacy["baseline"].model_dump()
    parts.append(_table(["figure", "synthetic", "baseline"], [[k, syn[k], base[k]] for k in syn]))
    parts.append(_img(figs["dcr"], "DCR histograms"))
    parts.append("<h2>Utility</h2>" + _utility(result.utility))
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>synspec eval: '
        f"{escape(spec.name)}</title><style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
