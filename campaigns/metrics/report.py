"""One self-contained HTML report per campaign: the curves people look at rather than read.

Plotly figures with plotly.js inlined once, so the file opens offline, from an e-mail or
from object storage, with nothing else to fetch.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa

from campaigns.metrics.gold_metrics import LEVELS, GoldMetrics

_BAND = "rgba(31,119,180,0.15)"


def _col(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist() if name in table.column_names else []


def _band(fig: go.Figure, x: list[float], low: list[float], high: list[float], color: str) -> None:
    kept = [
        (a, b, c)
        for a, b, c in zip(x, low, high, strict=True)
        if b is not None and c is not None and not (math.isnan(b) or math.isnan(c))
    ]
    x, low, high = [k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept]
    fig.add_trace(
        go.Scatter(
            x=x + x[::-1],
            y=high + low[::-1],
            fill="toself",
            fillcolor=color,
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
        )
    )


def threshold_figure(curve: pa.Table, threshold: float) -> go.Figure:
    fig = go.Figure()
    x = _col(curve, "threshold")
    colors = {
        "auto_coding_rate": ("automatic-coding rate", "rgba(31,119,180,0.15)", "#1f77b4"),
        "accuracy_auto_coded": (
            "accuracy of the auto-coded part",
            "rgba(44,160,44,0.15)",
            "#2ca02c",
        ),
        "system_accuracy": ("system accuracy", "rgba(255,127,14,0.15)", "#ff7f0e"),
    }
    for name, (label, band, line) in colors.items():
        y = _col(curve, name)
        _band(fig, x, _col(curve, f"{name}_ci_low"), _col(curve, f"{name}_ci_high"), band)
        fig.add_trace(go.Scatter(x=x, y=y, name=label, mode="lines+markers", line={"color": line}))
    fig.add_vline(x=threshold, line_dash="dash", annotation_text=f"current {threshold:g}")
    fig.update_layout(
        title="Choosing the threshold: automatic-coding rate vs accuracy (95% intervals)",
        xaxis_title="confidence threshold",
        yaxis={"title": "share", "tickformat": ".0%", "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def levels_figure(figures: dict[str, dict[str, Any]]) -> go.Figure:
    names = [f"accuracy_{level}" for level in LEVELS if f"accuracy_{level}" in figures]
    names += [f"top_{k}_accuracy" for k in range(1, 6) if f"top_{k}_accuracy" in figures]
    est = [figures[n]["estimate"] for n in names]
    fig = go.Figure(
        go.Bar(
            x=[
                n.removeprefix("accuracy_").replace("_accuracy", "").replace("_", "-")
                for n in names
            ],
            y=est,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [figures[n]["ci_high"] - figures[n]["estimate"] for n in names],
                "arrayminus": [figures[n]["estimate"] - figures[n]["ci_low"] for n in names],
            },
            marker_color=["#1f77b4"] * (len(names) - 5) + ["#9467bd"] * 5,
        )
    )
    fig.update_layout(
        title="Accuracy at each nomenclature level and top-k (95% intervals)",
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
    )
    return fig


def reliability_figure(reliability: pa.Table) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dot"})
    )
    fig.add_trace(
        go.Scatter(
            x=_col(reliability, "mean_score"),
            y=_col(reliability, "accuracy"),
            mode="lines+markers",
            name="model",
            text=[f"n={n}" for n in _col(reliability, "n")],
        )
    )
    fig.update_layout(
        title="Calibration: is a 0.9 score right 90% of the time?",
        xaxis={"title": "mean top-1 score in the bin", "range": [0, 1]},
        yaxis={"title": "observed accuracy", "range": [0, 1]},
    )
    return fig


def hardest_figure(hardest: pa.Table) -> go.Figure:
    codes = _col(hardest, "gold_code")[:15][::-1]
    rates = _col(hardest, "error_rate")[:15][::-1]
    confused = _col(hardest, "most_confused_with")[:15][::-1]
    fig = go.Figure(go.Bar(x=rates, y=codes, orientation="h", text=[f"-> {c}" for c in confused]))
    fig.update_layout(
        title="Classes the model gets wrong most (weighted error mass order)",
        xaxis={"title": "error rate", "tickformat": ".0%"},
    )
    return fig


def _table_html(table: pa.Table, limit: int = 30) -> str:
    if table.num_rows == 0:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.column_names)
    rows = []
    for row in table.slice(0, limit).to_pylist():
        cells = []
        for value in row.values():
            if isinstance(value, float):
                value = "" if math.isnan(value) else f"{value:.3g}"
            cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _teams_html(by_team: pa.Table) -> str:
    if by_team.num_rows == 0:
        return ""
    con_rows = [r for r in by_team.to_pylist() if r["figure"] in ("accuracy", "auto_coding_rate")]
    table = pa.Table.from_pylist(
        [
            {
                "team": r["team"],
                "figure": r["figure"],
                "estimate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "n": r["n"],
            }
            for r in con_rows
        ]
    )
    return f"<h2>Per team</h2>{_table_html(table)}"


def render_report(metrics: GoldMetrics, *, title: str) -> str:
    """The whole report as one HTML string (plotly.js inlined once)."""
    summary = metrics.summary
    figures = summary["figures"]
    plots = [
        threshold_figure(metrics.threshold_curve, summary["threshold"]),
        levels_figure(figures),
    ]
    if metrics.reliability.num_rows:
        plots.append(reliability_figure(metrics.reliability))
    if metrics.hardest.num_rows:
        plots.append(hardest_figure(metrics.hardest))
    divs = [
        pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), default_height="460px")
        for i, fig in enumerate(plots)
    ]

    def pct(name: str) -> str:
        f = figures.get(name)
        if not f or f["estimate"] is None or math.isnan(f["estimate"]):
            return "-"
        return f"{f['estimate']:.1%} [{f['ci_low']:.1%}, {f['ci_high']:.1%}]"

    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary["status_counts"].items()))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
.kpis {{ display: flex; gap: 1em; flex-wrap: wrap; }}
.kpi {{ border: 1px solid #ddd; border-radius: 6px; padding: .8em 1em; min-width: 14em; }}
.kpi b {{ display: block; font-size: 1.3em; }}
table {{ border-collapse: collapse; font-size: .85em; }}
td, th {{ border: 1px solid #ddd; padding: 2px 6px; text-align: right; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Design: {html.escape(str(summary["design"]))}; automatic-coding threshold
{summary["threshold"]:g}; {summary["units_annotated"]} annotated units ({html.escape(counts)}).
Figures are design-weighted estimates for the whole traffic with 95% intervals. Generated
{now}.</p>
<div class="kpis">
<div class="kpi">accuracy<b>{pct("accuracy")}</b></div>
<div class="kpi">automatic-coding rate<b>{pct("auto_coding_rate")}</b></div>
<div class="kpi">accuracy, auto-coded part<b>{pct("accuracy_auto_coded")}</b></div>
<div class="kpi">system accuracy<b>{pct("system_accuracy")}</b></div>
</div>
{"".join(f'<div class="plot">{d}</div>' for d in divs)}
{_teams_html(metrics.by_team)}
<h2>Experts</h2>{_table_html(metrics.experts)}
<h2>Tasks to adjudicate</h2>{_table_html(metrics.adjudication)}
</body></html>
"""
