"""Outputs of an evaluation: the JSON document and the self-contained HTML report.

The HTML holds no external URL: styles inline, plots as data: URIs (see `plots`), and every
name or string from the spec or data passes through `html.escape`.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from synspec import ir
from synspec.evaluate import plots
from synspec.evaluate.thresholds import METRICS


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(result: dict[str, Any], verdict: list[dict[str, Any]]) -> str:
    body = {k: v for k, v in result.items() if not k.startswith("_")}
    body["verdict"] = verdict
    return json.dumps(_clean(body), indent=2) + "\n"


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
.verdict{border:2px solid #999;padding:.5em 1em}"""


def to_html(spec: ir.Spec, result: dict[str, Any], verdict: list[dict[str, Any]]) -> str:
    figs = plots.all_plots(spec, result)
    parts = [f"<h1>synspec eval: {escape(spec.name)}</h1>"]
    # The verdict comes first: it is what a reader (or a CI log) needs.
    failed = [v for v in verdict if v["failed"]]
    if verdict:
        rows = "".join(
            f'<li class="{"fail" if v["failed"] else "pass"}">{escape(v["threshold"])}: '
            f"{fmt(v['value'])} — {'FAILED' if v['failed'] else 'passed'}</li>"
            for v in verdict
        )
        head = f"{len(failed)} of {len(verdict)} thresholds failed" if failed else "all thresholds passed"
        parts.append(f'<section class="verdict"><h2>Verdict: {head}</h2><ul>{rows}</ul></section>')
    else:
        parts.append(
            '<section class="verdict"><h2>Verdict</h2><p>No thresholds were set '
            '(use <code>--fail-on "metric&gt;value"</code>).</p></section>'
        )
    rows_info = result["rows"]
    parts.append(
        f"<p>Real rows: {rows_info['real']}, synthetic rows: {rows_info['synthetic']}; holdout: "
        f"{fmt(result['split']['holdout_rows'])} rows ({escape(result['split']['source'])}). "
        "The baseline is a table of the same size drawn independently from the spec's "
        "declared marginals (no model).</p>"
    )
    parts.append(
        "<h2>Summary</h2>"
        + _table(
            ["figure", "synthetic", "baseline", "meaning"],
            [
                [name, v["synthetic"], v["baseline"], METRICS.get(name, "")]
                for name, v in result["figures"].items()
            ],
        )
    )
    parts.append("<h2>Fidelity per column</h2>")
    syn, base = result["columns"]["synthetic"], result["columns"]["baseline"]
    parts.append(
        _table(
            [
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
            ],
            [
                [
                    n,
                    c["kind"],
                    c.get("ks"),
                    base[n].get("ks"),
                    c.get("wasserstein"),
                    c.get("wasserstein_iqr"),
                    base[n].get("wasserstein_iqr"),
                    c.get("tvd"),
                    base[n].get("tvd"),
                    c["missing_diff"],
                    base[n]["missing_diff"],
                ]
                for n, c in syn.items()
            ],
        )
    )
    parts.append(
        '<div class="grid">'
        + "".join(_img(u, f"distribution of {n}") for n, u in figs["columns"].items())
        + "</div>"
    )
    parts.append("<h2>Correlations</h2>")
    for method in ("pearson", "spearman"):
        parts.append(_img(figs.get(method), f"{method} correlation heatmaps"))
    rule_pairs = result["pairs"]["synthetic"]["rule_pairs"]
    if rule_pairs:
        parts.append(
            "<h3>Joint distributions of rule-linked pairs (TVD)</h3>"
            + _table(
                ["pair", "synthetic", "baseline"],
                [[p, v, result["pairs"]["baseline"]["rule_pairs"][p]] for p, v in rule_pairs.items()],
            )
        )
    parts.append("<h2>Clinical consistency</h2><p>Failing share of the rows each check applies to.</p>")
    parts.append(_img(figs.get("rules"), "rule failure bars"))
    parts.append(
        _table(
            ["check", "kind", "hard", "real", "synthetic", "baseline", "declared mostly"],
            [
                [
                    r["name"],
                    r["kind"],
                    r["hard"],
                    r.get("real"),
                    r.get("synthetic"),
                    r.get("baseline"),
                    r["mostly"],
                ]
                for r in result["consistency"]
            ],
        )
    )
    parts.append(
        "<h2>Privacy</h2><p>Distances are L1 over Gower-style scaled columns against the full real "
        "table; the holdout's distances to the train split show what a new patient looks like.</p>"
    )
    keys = list(result["privacy"]["synthetic"])
    parts.append(
        _table(
            ["figure", "synthetic", "baseline"],
            [[k, result["privacy"]["synthetic"][k], result["privacy"]["baseline"][k]] for k in keys],
        )
    )
    parts.append(_img(figs["dcr"], "DCR histograms"))
    parts.append("<h2>Utility</h2>")
    util = result["utility"]
    if util is None:
        parts.append("<p>The spec declares no target: utility not measured.</p>")
    elif "note" in util:
        parts.append(f"<p>{escape(util['note'])}</p>")
    else:
        table_rows = []
        for model in util["trtr"]:
            for label in ("trtr", "synthetic", "baseline"):
                s = util[label][model] or {}
                table_rows.append(
                    [
                        model,
                        "TRTR (real train)" if label == "trtr" else f"TSTR ({label})",
                        s.get("auroc"),
                        s.get("auprc"),
                        s.get("auroc_ratio"),
                        s.get("auprc_ratio"),
                    ]
                )
        parts.append(
            f"<p>Target: {escape(util['target'])}; test set: the real holdout.</p>"
            + _table(["model", "trained on", "AUROC", "AUPRC", "AUROC / TRTR", "AUPRC / TRTR"], table_rows)
        )
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>synspec eval: '
        f"{escape(spec.name)}</title><style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
