"""Rendering a campaign's figures in the terminal."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from campaigns.metrics.gold_metrics import GoldMetrics

_LABELS = {
    "accuracy": "accuracy (subclass)",
    "auto_coding_rate": "automatic-coding rate",
    "accuracy_auto_coded": "accuracy of the auto-coded part",
    "accuracy_manual": "accuracy of the manual part",
    "system_accuracy": "system accuracy (manual counted right)",
}


def _fmt(p: dict[str, Any]) -> tuple[str, str, str, str]:
    if not p["n"] or p["estimate"] is None or math.isnan(p["estimate"]):
        return ("-", "-", "0", str(p.get("method", "")))
    return (
        f"{p['estimate']:.1%}",
        f"[{p['ci_low']:.1%}, {p['ci_high']:.1%}]",
        str(p["n"]),
        str(p["method"]),
    )


def print_reuse_checks(console: Console, reuse: dict[str, Any]) -> None:
    """Drawn units whose earlier gold conflicted, and how the reused labels fared when checked."""
    if reuse.get("conflicts"):
        console.print(
            f"{reuse['conflicts']} drawn units had conflicting earlier gold: sent to experts."
        )
    check = reuse.get("check") or {}
    if check.get("checked"):
        line = (
            f"Reuse checked on {check['checked']} unit(s) coded by experts: the reused label "
            f"agrees on {check['agreeing']} ({check['agreement']:.1%}, 95% CI "
            f"{check['ci_low']:.1%}-{check['ci_high']:.1%})"
        )
        iaa = check.get("inter_annotator_agreement")
        line += "." if iaa is None else f"; experts agree with each other on {iaa:.1%} of pairs."
        console.print(line)
        if check.get("below_inter_annotator"):
            console.print(
                "[yellow]Reused labels agree with a fresh expert less often than experts agree "
                "with each other: reused gold may be wrong for some texts; draw the next sample "
                "with --exclude-previous or annotate the reused units.[/]"
            )
    elif reuse.get("check_units"):
        console.print(
            f"{reuse['check_units']} unit(s) sent to experts to check reuse: none coded yet."
        )


def print_annotation_order(console: Console, order: dict[str, Any]) -> None:
    """The test of the annotated units against the rest; a warning when it fails."""
    if not order.get("tested"):
        return
    line = (
        f"Annotation order: annotated units at the {order['annotated_confidence_percentile']:.2f}"
        f" confidence percentile of their strata (0.50 if random; p = "
        f"{order['confidence_p_value']:.2g}), sections p = {order['section_p_value']:.2g}."
    )
    console.print(f"[yellow]{escape(order['warning'])}[/]" if order["suspect"] else line)


def print_metrics(console: Console, metrics: GoldMetrics) -> None:
    summary = metrics.summary
    figures = summary["figures"]
    columns = ("figure", "estimate", "95% interval", "n", "interval")
    head = Table(
        *columns,
        title=f"Gold-standard metrics ({summary['design']}, threshold {summary['threshold']:g})",
    )
    for name, label in _LABELS.items():
        head.add_row(label, *_fmt(figures[name]))
    console.print(head)
    detail = Table(*columns, title="Accuracy by nomenclature level and top-k (coded units)")
    for name, figure in figures.items():
        if name.startswith("accuracy_") and name not in _LABELS:
            detail.add_row(name.removeprefix("accuracy_"), *_fmt(figure))
        elif name.startswith("top_"):
            detail.add_row(name.replace("_accuracy", "").replace("_", "-"), *_fmt(figure))
    console.print(detail)
    if metrics.hardest.num_rows:
        hard = Table("gold code", "support", "error rate", "most confused with", title="Hardest")
        for row in metrics.hardest.slice(0, 8).to_pylist():
            hard.add_row(
                str(row.get("gold_code")),
                str(row.get("support")),
                f"{row.get('error_rate', float('nan')):.0%}",
                str(row.get("most_confused_with")),
            )
        console.print(hard)
    agreement = summary.get("agreement") or {}
    if agreement.get("tasks_with_overlap"):
        alpha = agreement["krippendorff_alpha"]
        console.print(
            f"Agreement on {agreement['tasks_with_overlap']} tasks with several annotations: "
            f"{agreement['percent_agreement']:.1%} of pairs agree, Krippendorff's alpha "
            f"{'-' if alpha is None else f'{alpha:.2f}'}"
            f"; {metrics.adjudication.num_rows} tasks to adjudicate."
        )
    cover = summary.get("coverage") or {}
    if cover and cover["strata_without_annotations"]:
        console.print(
            f"[yellow]Only {cover['strata_annotated']} of {cover['strata']} strata have "
            f"annotations ({cover['population_share_covered']:.0%} of the traffic): the "
            "figures describe those strata only. Waiting for: "
            f"{', '.join(cover['strata_without_annotations'][:8])}[/]"
        )
    print_annotation_order(console, summary.get("annotation_order") or {})
    reuse = summary.get("reuse") or {}
    if reuse.get("units"):
        console.print(
            f"{reuse['units']} unit(s) reuse an earlier campaign's gold label for the same text "
            f"({reuse['share_of_units']:.0%} of the units, {reuse['weighted_share']:.0%} of the "
            "weight): not sent to experts."
        )
    print_reuse_checks(console, reuse)
    frame = summary.get("frame") or {}
    if frame.get("excluded_requests"):
        console.print(
            f"[yellow]The sample left out {frame['excluded_requests']} requests "
            f"({frame['excluded_share']:.1%} of the window) seen in earlier campaigns: the "
            "figures describe the window without them.[/]"
        )
    calibration = summary.get("calibration") or {}
    if calibration.get("applied"):
        console.print(
            "Intervals calibrated to the window's traffic totals (confidence bins); the plain "
            "stratified figures are in the JSON and the dashboard tables (stratified_*)."
        )
    ece = summary.get("expected_calibration_error")
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary["status_counts"].items()))
    console.print(
        f"Annotated units: {summary['units_annotated']} ({counts}; "
        f"{summary.get('unsure_annotations', 0)} annotations flagged unsure); cannot_code, "
        "skipped and "
        "disagreement units are never counted as model errors. "
        + (f"Calibration error (ECE) of the top-1 score: {ece:.3f}." if ece is not None else "")
    )
