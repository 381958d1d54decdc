"""Metrics as Parquet where the monitoring dashboard reads them.

Layout (hive partitions, one folder per table)::

    metrics/<table>/campaign=<id>/computed=<YYYY-MM-DD>/export-<version>.parquet

Tables: ``figures`` (headline proportions with intervals), ``threshold_curve``, ``per_class``,
``per_section``, ``hardest_classes``, ``section_confusion``, ``reliability``, ``experts``,
``adjudication``, ``by_team`` (headline figures per expert team of a routed campaign),
``summary`` (one row: the JSON summary). Every row also carries
``campaign_id``, ``computed_on`` and ``export_version``. Recomputing the same export on the same
day replaces its file (atomically), so figures are never double-counted. Drift reports go to
``metrics/drift/computed=<date>/<a_start>_<a_end>__<b_start>_<b_end>.parquet``.

Champion / challenger (``campaigns compare``), per campaign and challenger version::

    metrics/comparison/campaign=<id>/computed=<date>/export-<version>__<challenger>.parquet
    metrics/comparison_discordant/campaign=<id>/computed=<date>/export-<version>__<challenger>.parquet

``comparison``: one row per figure and ``model`` (champion, challenger, and ``difference``,
challenger minus champion with its paired interval and verdict); ``comparison_discordant``: the
coded units exactly one model gets right. Both carry ``challenger_version``. Accuracy over time
(``campaigns trend``), across campaigns: ``metrics/trend/computed=<date>/<period>[-blind].parquet``,
one row per period, model version (``all``: the whole traffic) and figure.

A dashboard reads a table with DuckDB::

    SELECT * FROM read_parquet('s3://bucket/root/metrics/figures/*/*/*.parquet',
                               hive_partitioning = true)
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from campaigns.metrics.gold_metrics import GoldMetrics
from campaigns.storage import Storage

if TYPE_CHECKING:
    from campaigns.traffic.drift import DriftResult
    from campaigns.traffic.window import Window

METRICS_DIR = "metrics"


def metric_tables(metrics: GoldMetrics) -> dict[str, pa.Table]:
    return {
        "figures": metrics.proportions,
        "threshold_curve": metrics.threshold_curve,
        "per_class": metrics.per_class,
        "per_section": metrics.per_section,
        "hardest_classes": metrics.hardest,
        "section_confusion": metrics.section_confusion,
        "reliability": metrics.reliability,
        "experts": metrics.experts,
        "adjudication": metrics.adjudication,
        "by_team": metrics.by_team,
        "summary": pa.table({"summary_json": [json.dumps(metrics.summary, default=str)]}),
    }


def _stamped(table: pa.Table, campaign_id: int, computed_on: date, version: str) -> pa.Table:
    n = table.num_rows
    return (
        table.append_column("campaign_id", pa.array([campaign_id] * n, pa.int64()))
        .append_column("computed_on", pa.array([computed_on] * n, pa.date32()))
        .append_column("export_version", pa.array([version] * n, pa.string()))
    )


def write_metrics(
    storage: Storage,
    campaign_id: int,
    metrics: GoldMetrics,
    *,
    export_version: str,
    computed_on: date,
) -> dict[str, str]:
    """Write every metrics table; return table name -> URI."""
    written = {}
    for name, table in metric_tables(metrics).items():
        if table.num_columns == 0:
            continue
        path = (
            f"{METRICS_DIR}/{name}/campaign={campaign_id}/computed={computed_on.isoformat()}/"
            f"export-{export_version}.parquet"
        )
        written[name] = storage.write_table(
            _stamped(table, campaign_id, computed_on, export_version), path
        )
    return written


def _slug(value: str) -> str:
    """A model version as a file-name part: letters, digits, '.', '_' and '-' only."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", value).replace("..", ".").strip(".-")
    return slug[:80] or "unknown"


def write_comparison(
    storage: Storage,
    campaign_id: int,
    comparison: Any,
    *,
    export_version: str,
    challenger_version: str,
    computed_on: date,
) -> dict[str, str]:
    """Write a champion / challenger comparison (``campaigns.metrics.comparison.Comparison``):
    its figures and its discordant units; return table name -> URI."""
    written = {}
    name = f"export-{export_version}__{_slug(challenger_version)}.parquet"
    for table_name, table in (
        ("comparison", comparison.figures),
        ("comparison_discordant", comparison.discordant),
    ):
        stamped = _stamped(table, campaign_id, computed_on, export_version)
        stamped = stamped.append_column(
            "challenger_version", pa.array([challenger_version] * stamped.num_rows, pa.string())
        )
        path = f"{METRICS_DIR}/{table_name}/campaign={campaign_id}/computed={computed_on}/{name}"
        written[table_name] = storage.write_table(stamped, path)
    return written


def write_trend(
    storage: Storage, table: pa.Table, *, period: str, blind_only: bool, computed_on: date
) -> dict[str, str]:
    """Write the accuracy-over-time table (``campaigns.metrics.trend``); return name -> URI."""
    n = table.num_rows
    stamped = table.append_column("computed_on", pa.array([computed_on] * n, pa.date32()))
    name = f"{period}{'-blind' if blind_only else ''}.parquet"
    path = f"{METRICS_DIR}/trend/computed={computed_on.isoformat()}/{name}"
    return {"trend": storage.write_table(stamped, path)}


def json_safe(value: Any) -> Any:
    """NaN and infinities (an empty domain, a figure without variance) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def drift_path(a: Window, b: Window, computed_on: date) -> str:
    """``metrics/drift/computed=<date>/<a_start>_<a_end>__<b_start>_<b_end>.parquet``."""
    name = f"{a.start}_{a.end}__{b.start}_{b.end}.parquet"
    return f"{METRICS_DIR}/drift/computed={computed_on.isoformat()}/{name}"


def write_drift(storage: Storage, result: DriftResult, computed_on: date) -> str:
    """Write ``result.table`` (atomically, replacing the same day's file); return its URI."""
    return storage.write_table(result.table, drift_path(result.a, result.b, computed_on))
