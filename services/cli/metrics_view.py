"""Rendering the headline metrics in the terminal."""

from __future__ import annotations

import pyarrow as pa
from rich.console import Console
from rich.table import Table

from campaigns.metrics_view import metrics_json


def _fmt(p: dict[str, float]) -> tuple[str, str, str]:
    if not p["n"]:
        return ("-", "-", "0")
    return (f"{p['estimate']:.1%}", f"[{p['ci_low']:.1%}, {p['ci_high']:.1%}]", str(p["n"]))


def print_summary(
    console: Console,
    gold: pa.Table,
    *,
    threshold: float,
    design: str,
    levels: pa.Table | None = None,
) -> None:
    figures = metrics_json(gold, threshold=threshold, design=design, levels=levels)
    table = Table(
        "figure",
        "estimate",
        "95% interval",
        "n",
        title=f"Gold-standard metrics ({design}, threshold {threshold:g})",
    )
    table.add_row("accuracy (subclass)", *_fmt(figures["accuracy"]))
    table.add_row(
        f"automatic-coding rate (conf >= {threshold:g})", *_fmt(figures["auto_coding_rate"])
    )
    table.add_row("accuracy of the auto-coded part", *_fmt(figures["accuracy_auto_coded"]))
    table.add_row("accuracy of the manual part", *_fmt(figures["accuracy_manual"]))
    console.print(table)
    detail = Table(
        "level / top-k",
        "accuracy",
        "95% interval",
        "n",
        title="Accuracy by nomenclature level and top-k (coded tasks)",
    )
    for level, figure in figures.get("accuracy_by_level", {}).items():
        detail.add_row(level, *_fmt(figure))
    for k, figure in figures["top_k_accuracy"].items():
        detail.add_row(f"top-{k}", *_fmt(figure))
    console.print(detail)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(figures["status_counts"].items()))
    console.print(
        f"Annotated tasks: {figures['tasks_annotated']} ({counts}); "
        "cannot_code and skipped tasks are not counted as model errors."
    )
