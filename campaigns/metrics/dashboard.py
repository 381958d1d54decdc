"""Metrics as Parquet where the monitoring dashboard reads them.

Layout (hive partitions, one folder per table)::

    metrics/<table>/campaign=<id>/computed=<YYYY-MM-DD>/export-<version>.parquet

Tables: ``figures`` (headline proportions with intervals), ``threshold_curve``, ``per_class``,
``per_section``, ``hardest_classes``, ``section_confusion``, ``reliability``, ``experts``,
``adjudication``, ``by_team`` (headline figures per expert team of a routed campaign),
``summary`` (one row: the JSON summary). Every row also carries
``campaign_id``, ``computed_on`` and ``export_version``. Recomputing the same export on the same
day replaces its file (atomically), so figures are never double-counted. Drift reports go to
``metrics/drift/computed=<date>/<a_start>_<a_end>__<b_start>_<b_end>.parquet``. A dashboard
reads a table with DuckDB::

    SELECT * FROM read_parquet('s3://bucket/root/metrics/figures/*/*/*.parquet',
                               hive_partitioning = true)
"""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa

from campaigns.metrics.gold_metrics import GoldMetrics
from campaigns.storage import Storage

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
