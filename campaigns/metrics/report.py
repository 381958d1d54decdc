"""One self-contained HTML report per campaign: the curves people look at rather than read.

Plotly figures with plotly.js inlined once, so the file opens offline, from an e-mail or
from object storage, with nothing else to fetch. Sections beyond a campaign's own figures:
the anchoring effect of a ``randomized`` campaign (in its report), champion vs challenger
(``campaigns compare --report``) and accuracy over time (``campaigns trend --report``, a page
of its own through :func:`render_page`).
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
import pyarrow.compute as pc

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


def _sections_html(per_section: pa.Table) -> str:
    """Accuracy per gold section with its interval; sections on few units marked, not hidden."""
    if "accuracy" not in per_section.column_names:
        return ""
    rows = []
    for r in per_section.to_pylist():
        if r["accuracy"] is None or math.isnan(r["accuracy"]):
            continue
        mark = " (few units)" if r["few_units"] else ""
        rows.append(
            f"<tr><td>{html.escape(str(r['code']))}</td><td>{r['accuracy']:.1%} "
            f"[{r['accuracy_ci_low']:.1%}, {r['accuracy_ci_high']:.1%}]</td>"
            f"<td>{r['accuracy_n']}{mark}</td></tr>"
        )
    return (
        "<h2>Accuracy by section (gold code's section, 95% intervals)</h2><table><tr>"
        f"<th>section</th><th>accuracy</th><th>units</th></tr>{''.join(rows)}</table>"
    )


def _order_html(order: dict[str, Any]) -> str:
    """The annotation order test's warning, when the annotated units are not a random part."""
    if not order.get("suspect"):
        return ""
    return f'<p style="color:#a60">{html.escape(order["warning"])}</p>'


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


_ARM_COLORS = {"blind": "#1f77b4", "assisted": "#ff7f0e"}
_ANCHORING_LABELS = {
    "accuracy": "accuracy",
    "top_5_accuracy": "top-5 accuracy",
    "agreement": "expert = model top-1",
    "agreement_top_5": "expert in model top-5",
}


def _pct(figure: dict[str, Any] | None, signed: bool = False) -> str:
    """``81.2% [79.0%, 83.1%]`` (points with a sign for a difference), ``-`` when undefined."""
    if not figure or figure.get("estimate") is None or math.isnan(figure["estimate"]):
        return "-"
    if signed:
        low, high = figure.get("ci_low"), figure.get("ci_high")
        bounds = (
            f" [{100 * low:+.1f}, {100 * high:+.1f}]"
            if low is not None and high is not None and not math.isnan(low)
            else ""
        )
        return f"{100 * figure['estimate']:+.1f} pts{bounds}"
    return f"{figure['estimate']:.1%} [{figure['ci_low']:.1%}, {figure['ci_high']:.1%}]"


def anchoring_figure(anchoring: dict[str, Any]) -> go.Figure:
    """Each arm's figures side by side, with their 95% intervals."""
    fig = go.Figure()
    names = list(_ANCHORING_LABELS)
    for arm, color in _ARM_COLORS.items():
        figures = [anchoring["arms"][arm].get(n) or {} for n in names]
        est = [f.get("estimate") for f in figures]
        fig.add_trace(
            go.Bar(
                name=f"{arm} ({anchoring['arms'][arm]['units']} units)",
                x=[_ANCHORING_LABELS[n] for n in names],
                y=est,
                marker_color=color,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(f.get("ci_high") or 0) - (f.get("estimate") or 0) for f in figures],
                    "arrayminus": [
                        (f.get("estimate") or 0) - (f.get("ci_low") or 0) for f in figures
                    ],
                },
            )
        )
    effect = anchoring["effect"].get("accuracy") or {}
    fig.update_layout(
        barmode="group",
        title=f"Anchoring: blind vs assisted experts (accuracy effect {_pct(effect, True)})",
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
    )
    return fig


def anchoring_section(anchoring: dict[str, Any]) -> str:
    """The randomized campaign's arms and the anchoring effect, as an HTML section."""
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{_pct(anchoring['arms'][arm].get(name))}</td>" for arm in _ARM_COLORS)
        + f"<td>{_pct(anchoring['effect'].get(name), True)}</td></tr>"
        for name, label in _ANCHORING_LABELS.items()
    )
    effect = anchoring["effect"].get("accuracy") or {}
    low, high = effect.get("ci_low"), effect.get("ci_high")
    if low is not None and high is not None and not math.isnan(low) and low > 0:
        reading = (
            "Experts shown the model's answer agree with it more than blind experts: the "
            "accuracy a gold standard made with suggestions reports is inflated by about "
            f"{_pct(effect, True)}. Trust the blind arm's accuracy."
        )
    elif low is not None and high is not None and not math.isnan(high) and high < 0:
        reading = "Assisted experts agree with the model less than blind ones (unexpected)."
    else:
        reading = "No anchoring effect is detectable at this sample size (the interval spans 0)."
    return f"""<h2>Anchoring effect (randomized suggestions)</h2>
<p>Each task was sent at random to blind experts (text, context, nomenclature) or assisted
experts (the model's top-5, top-1 pre-selected), half of each stratum each. The anchoring
effect is assisted minus blind, with a 95% paired-bootstrap interval. {html.escape(reading)}</p>
<table><tr><th>figure</th><th>blind ({anchoring["arms"]["blind"]["units"]} units)</th>
<th>assisted ({anchoring["arms"]["assisted"]["units"]} units)</th><th>anchoring effect</th></tr>
{rows}</table>"""


def _plot_html(fig: go.Figure, include_plotlyjs: bool) -> str:
    return pio.to_html(
        fig, full_html=False, include_plotlyjs=include_plotlyjs, default_height="460px"
    )


def _difference_color(row: dict[str, Any]) -> str:
    """Green when the challenger is surely better, red when surely worse, grey otherwise."""
    if (row["ci_low"] or 0) > 0:
        return "#2ca02c"
    return "#d62728" if (row["ci_high"] or 0) < 0 else "#7f7f7f"


def comparison_figure(figures: pa.Table) -> go.Figure:
    """The paired differences (challenger - champion) of every figure, with intervals."""
    rows = [r for r in figures.to_pylist() if r["model"] == "difference"]
    est = [r["estimate"] for r in rows]
    fig = go.Figure(
        go.Bar(
            y=[r["figure"].removeprefix("accuracy_").replace("_accuracy", "") for r in rows],
            x=est,
            orientation="h",
            marker_color=[_difference_color(r) for r in rows],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(r["ci_high"] or 0) - (r["estimate"] or 0) for r in rows],
                "arrayminus": [(r["estimate"] or 0) - (r["ci_low"] or 0) for r in rows],
            },
        )
    )
    fig.add_vline(x=0, line_dash="dot")
    fig.update_layout(
        title="Challenger minus champion, paired 95% intervals (green: challenger better)",
        xaxis={"title": "difference", "tickformat": "+.1%"},
        yaxis={"autorange": "reversed"},
    )
    return fig


def comparison_section(
    comparison: Any,
    *,
    champion: str = "champion",
    challenger: str = "challenger",
    include_plotlyjs: bool = False,
    notes: dict[str, Any] | None = None,
) -> str:
    """Champion vs challenger (``campaigns.metrics.comparison.Comparison``) as an HTML section."""
    summary = comparison.summary
    by_model = summary["figures"]
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_pct(by_model['champion'][name])}</td>"
        f"<td>{_pct(by_model['challenger'][name])}</td>"
        f"<td>{_pct(summary['differences'][name], True)}</td>"
        f"<td>{html.escape(summary['differences'][name]['verdict'])}</td></tr>"
        for name in by_model["champion"]
    )
    disc = summary["discordant"]
    warning = (notes or {}).get("warning")
    return f"""<h2>Champion vs challenger</h2>
<p>Champion {html.escape(champion)}, challenger {html.escape(challenger)}, on the same
{summary["coded"]} coded gold units (threshold {summary["threshold"]:g}). Verdict on accuracy:
<b>{html.escape(summary["verdict"])}</b>. Discordant units: {disc["champion_only"]} only the
champion gets right ({disc["champion_only_share"]:.1%} of the traffic), {disc["challenger_only"]}
only the challenger ({disc["challenger_only_share"]:.1%}).
{f"<br><b>Warning:</b> {html.escape(warning)}" if warning else ""}</p>
{_plot_html(comparison_figure(comparison.figures), include_plotlyjs)}
<table><tr><th>figure</th><th>champion</th><th>challenger</th>
<th>difference (challenger - champion)</th><th>verdict</th></tr>{rows}</table>
<h3>Discordant units (first 30)</h3>{_table_html(comparison.discordant)}"""


def trend_figure(trend: pa.Table, floor: float | None = None) -> go.Figure:
    """Accuracy by period, the whole traffic and each model version, with 95% bands."""
    fig = go.Figure()
    rows = [r for r in trend.to_pylist() if r["figure"] == "accuracy" and r["n"]]
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    versions = sorted({r["model_version"] for r in rows}, key=lambda v: (v != "all", v))
    for i, version in enumerate(versions):
        mine = sorted((r for r in rows if r["model_version"] == version), key=lambda r: r["period"])
        x = [r["period"].isoformat() for r in mine]
        color = palette[i % len(palette)]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[r["estimate"] for r in mine],
                name="all versions" if version == "all" else f"model {version}",
                mode="lines+markers",
                line={"color": color, "width": 3 if version == "all" else 1.5},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["ci_high"] - r["estimate"] for r in mine],
                    "arrayminus": [r["estimate"] - r["ci_low"] for r in mine],
                },
                text=[f"n={r['n']}, {r['campaigns']} campaign(s)" for r in mine],
            )
        )
    if floor is not None:
        fig.add_hline(y=floor, line_dash="dash", annotation_text=f"floor {floor:.0%}")
    fig.update_layout(
        title="Accuracy over time, by period of traffic and model version (95% intervals)",
        xaxis_title="period",
        yaxis={"title": "accuracy", "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def trend_section(
    trend: pa.Table, *, floor: float | None = None, include_plotlyjs: bool = False
) -> str:
    """Accuracy over time as an HTML section (its plot and the whole-traffic rows)."""
    overall = trend.filter(pc.equal(trend.column("model_version"), "all"))
    return f"""<h2>Accuracy over time</h2>
<p>Every gold campaign's annotated units, by period of traffic; domain estimates with the
design weights (overlapping windows counted once), 95% intervals.</p>
{_plot_html(trend_figure(trend, floor), include_plotlyjs)}
{_table_html(overall.select([c for c in overall.column_names if c != "method"]), limit=60)}"""


def render_page(title: str, sections: list[str]) -> str:
    """A standalone page (the report's style) around sections rendered above; the first
    section must inline plotly.js."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1><p>Generated {now}.</p>
{"".join(sections)}
</body></html>
"""


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
.kpis { display: flex; gap: 1em; flex-wrap: wrap; }
.kpi { border: 1px solid #ddd; border-radius: 6px; padding: .8em 1em; min-width: 14em; }
.kpi b { display: block; font-size: 1.3em; }
table { border-collapse: collapse; font-size: .85em; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
"""


def render_report(
    metrics: GoldMetrics, *, title: str, extra_sections: list[str] | None = None
) -> str:
    """The whole report as one HTML string (plotly.js inlined once).

    ``extra_sections`` (a comparison, a trend, rendered without plotly.js) go at the end.
    """
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
    anchoring = summary.get("anchoring")
    if anchoring:
        plots.append(anchoring_figure(anchoring))
    divs = [_plot_html(fig, include_plotlyjs=(i == 0)) for i, fig in enumerate(plots)]

    def pct(name: str) -> str:
        f = figures.get(name)
        if not f or f["estimate"] is None or math.isnan(f["estimate"]):
            return "-"
        return f"{f['estimate']:.1%} [{f['ci_low']:.1%}, {f['ci_high']:.1%}]"

    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary["status_counts"].items()))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
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
{anchoring_section(anchoring) if anchoring else ""}
{_teams_html(metrics.by_team)}
{_sections_html(metrics.per_section)}
{_order_html(summary.get("annotation_order") or {})}
<h2>Experts</h2>{_table_html(metrics.experts)}
<h2>Tasks to adjudicate</h2>{_table_html(metrics.adjudication)}
{"".join(extra_sections or [])}
</body></html>
"""
