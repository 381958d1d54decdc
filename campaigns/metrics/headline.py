"""The headline figures of a gold-standard export, as plain data for the CLI and the API."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from campaigns.metrics.binomial import wilson
from campaigns.metrics.gold_metrics import LEVELS, headline_proportions, reweight_to_annotated

__all__ = ["metrics_json", "wilson"]


def metrics_json(
    gold: pa.Table,
    *,
    threshold: float,
    design: str,
    levels: pa.Table | None = None,
    replicates: int = 1000,
) -> dict[str, Any]:
    """Design-weighted figures with 95% intervals: Wilson on the binomial count for a simple
    random sample, on the design's effective sample size otherwise (Jeffreys bounds on a side
    with fewer than 5 effective units); see :mod:`campaigns.metrics.intervals`."""
    rows = {
        r["figure"]: {k: v for k, v in r.items() if k != "figure"}
        for r in headline_proportions(
            reweight_to_annotated(gold), threshold=threshold, levels=levels, replicates=replicates
        ).to_pylist()
    }
    statuses = gold.column("status").value_counts().to_pylist()
    result: dict[str, Any] = {
        "design": design,
        "threshold": threshold,
        "tasks_annotated": gold.num_rows,
        "status_counts": {s["values"]: int(s["counts"]) for s in statuses},
    }
    for name in (
        "accuracy",
        "auto_coding_rate",
        "accuracy_auto_coded",
        "accuracy_manual",
        "system_accuracy",
    ):
        result[name] = rows[name]
    if levels is not None:
        result["accuracy_by_level"] = {level: rows[f"accuracy_{level}"] for level in LEVELS}
    result["top_k_accuracy"] = {k: rows[f"top_{k}_accuracy"] for k in range(1, 6)}
    return result
