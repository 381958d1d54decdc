"""The figures of a validation campaign: how often experts confirm the code they were given.

A validation campaign puts an existing code (the model's top-1, or a clerk's) in front of
experts. Its headline is the *share confirmed*: among units whose experts settled on a code
(the gold rule's ``coded``), the share whose gold code is the given code. Like gold-standard
accuracy it is design-weighted with a 95% interval (Wilson for a simple random sample, the
stratified bootstrap otherwise: ``proportion_intervals``), on the weights of the units
annotated so far (``reweight_to_annotated``).

Also:

- by level: the given code confirmed at section, division, group, class and subclass (a
  correction inside the same class still confirms the class);
- by coding mode: the model's confidence index at or above the threshold means the code
  would have been written automatically, below it a person would have coded by hand; units
  without a confidence (a clerk's code, an adopted project) are ``unknown``;
- the corrections: each given code -> gold code pair, most frequent first;
- the review list: units whose experts disagree (``disagreement``) or typed a code in the
  remark (``code_in_remark``), with the codes proposed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from campaigns.duck import connect, fetch_arrow
from campaigns.metrics.gold_metrics import reweight_to_annotated
from campaigns.metrics.intervals import proportion_intervals
from campaigns.storage import Storage

LEVELS = ("section", "division", "group", "class", "subclass")
MODES = ("automatic", "manual", "unknown")
REVIEW_STATUSES = ("disagreement", "code_in_remark")
_SAME = {
    "section": "coalesce(lv_given.section = lv_gold.section, false)",
    "division": "left(u.given_code, 2) = left(u.gold_code, 2)",
    "group": "left(u.given_code, 4) = left(u.gold_code, 4)",
    "class": "left(u.given_code, 5) = left(u.gold_code, 5)",
    "subclass": "u.given_code = u.gold_code",
}


class NotAValidationExport(ValueError):
    """The annotations lack the given code: not a validation campaign's export."""


@dataclass
class ValidationMetrics:
    summary: dict[str, Any]
    figures: pa.Table
    """figure, estimate, ci_low, ci_high, n, method: ``confirmed`` and ``confirmed_<level>``."""
    by_mode: pa.Table
    """mode, estimate, ci_low, ci_high, n, method: the share confirmed per coding mode."""
    corrections: pa.Table
    """given_code, gold_code, n, weighted_n (and titles with a levels table)."""
    review: pa.Table
    """request_id, text, given_code, status, proposed: units a person must settle."""

    def tables(self) -> dict[str, pa.Table]:
        return {
            "figures": self.figures,
            "by_mode": self.by_mode,
            "corrections": self.corrections,
            "review": self.review,
            "summary": pa.table({"summary_json": [json.dumps(self.summary, default=str)]}),
        }


def _units(gold: pa.Table, annotations: pa.Table, threshold: float) -> pa.Table:
    """One row per annotated unit: status, gold and given codes, mode, weight, stratum."""
    if "given_code" not in annotations.column_names:
        raise NotAValidationExport("the annotations have no given_code column")
    names = set(gold.column_names)
    weight = "g.weight" if "weight" in names else "1.0"
    stratum = "g.stratum::VARCHAR" if "stratum" in names else "'all'"
    fraction = (
        "g.stratum_sample_size::DOUBLE / g.stratum_population"
        if {"stratum_sample_size", "stratum_population"} <= names
        else "0.0"
    )
    confidence = "g.confidence" if "confidence" in names else "NULL::DOUBLE"
    text = "g.text" if "text" in names else "NULL::VARCHAR"
    with connect() as con:
        con.register("gold", gold)
        con.register("ann", annotations)
        return fetch_arrow(
            con,
            f"""
            WITH given AS (
                SELECT request_id, min(given_code) AS given_code
                FROM ann WHERE given_code IS NOT NULL GROUP BY request_id
            )
            SELECT g.request_id, {text} AS text, g.status, g.gold_code, v.given_code,
                   CASE WHEN {confidence} IS NULL THEN 'unknown'
                        WHEN {confidence} >= {float(threshold)!r} THEN 'automatic'
                        ELSE 'manual' END AS mode,
                   {weight} AS weight, {stratum} AS stratum, {fraction} AS fraction
            FROM gold g LEFT JOIN given v USING (request_id)
            ORDER BY g.request_id
            """,
        )


def _indicators(units: pa.Table, levels: pa.Table | None) -> dict[str, np.ndarray]:
    with connect() as con:
        con.register("units", units)
        if levels is not None:
            con.register("levels", levels)
            joins = (
                " LEFT JOIN levels lv_given ON lv_given.subclass = u.given_code"
                " LEFT JOIN levels lv_gold ON lv_gold.subclass = u.gold_code"
            )
            same = _SAME
        else:
            joins, same = "", {k: v for k, v in _SAME.items() if k != "section"}
        checks = ", ".join(
            f"coalesce(coded AND {test}, false)::INT AS level_{name}" for name, test in same.items()
        )
        table = fetch_arrow(
            con,
            f"""
            WITH u AS (SELECT *, status = 'coded' AND given_code IS NOT NULL AS coded FROM units)
            SELECT coded::INT AS coded, {checks},
                   (mode = 'automatic')::INT AS automatic, (mode = 'manual')::INT AS manual,
                   (mode = 'unknown')::INT AS unknown,
                   weight, stratum, fraction
            FROM u{joins}
            ORDER BY u.request_id
            """,
        )
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def _table(figures: dict[str, dict[str, Any]], key: str, names: dict[str, str]) -> pa.Table:
    rows = [{key: label, **figures[name]} for name, label in names.items()]
    return pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                (key, pa.string()),
                ("estimate", pa.float64()),
                ("ci_low", pa.float64()),
                ("ci_high", pa.float64()),
                ("n", pa.int64()),
                ("method", pa.string()),
            ]
        ),
    )


def _corrections(units: pa.Table, levels: pa.Table | None) -> pa.Table:
    with connect() as con:
        con.register("u", units)
        titles = ""
        joins = ""
        if levels is not None and "subclass_title" in levels.column_names:
            con.register("levels", levels)
            titles = ", any_value(a.subclass_title) AS given_title, "
            titles += "any_value(b.subclass_title) AS gold_title"
            joins = (
                " LEFT JOIN levels a ON a.subclass = u.given_code"
                " LEFT JOIN levels b ON b.subclass = u.gold_code"
            )
        return fetch_arrow(
            con,
            f"""
            SELECT u.given_code, u.gold_code, count(*) AS n, sum(u.weight) AS weighted_n{titles}
            FROM u{joins}
            WHERE u.status = 'coded' AND u.given_code IS NOT NULL
              AND u.gold_code <> u.given_code
            GROUP BY u.given_code, u.gold_code
            ORDER BY n DESC, u.given_code, u.gold_code
            """,
        )


def _review(units: pa.Table, annotations: pa.Table) -> pa.Table:
    with connect() as con:
        con.register("u", units)
        con.register("ann", annotations)
        statuses = ", ".join(f"'{s}'" for s in REVIEW_STATUSES)
        return fetch_arrow(
            con,
            f"""
            SELECT u.request_id, u.text, u.given_code, u.status,
                   string_agg(DISTINCT coalesce(a.code, '') || CASE
                       WHEN a.status = 'code_in_remark' THEN a.invalid_reason ELSE '' END, ' | ')
                       AS proposed
            FROM u LEFT JOIN ann a ON a.request_id = u.request_id
                                   AND a.status IN ('coded', 'code_in_remark')
            WHERE u.status IN ({statuses})
            GROUP BY u.request_id, u.text, u.given_code, u.status
            ORDER BY u.request_id
            """,
        )


def validation_metrics(
    gold: pa.Table,
    annotations: pa.Table,
    *,
    threshold: float,
    levels: pa.Table | None = None,
    replicates: int = 1000,
    seed: int = 0,
) -> ValidationMetrics:
    """Every figure of a validation export (its gold table and annotations table).

    ``levels`` (the nomenclature's ``levels_table``) adds the section level and titles.
    Raises ``NotAValidationExport`` for another kind's export (no given code).
    """
    units = _units(reweight_to_annotated(gold), annotations, threshold)
    x = _indicators(units, levels)
    coded = x["coded"]
    wanted: dict[str, tuple[np.ndarray, np.ndarray]] = {"confirmed": (x["level_subclass"], coded)}
    for name in LEVELS:
        if f"level_{name}" in x:
            wanted[f"confirmed_{name}"] = (x[f"level_{name}"], coded)
    for mode in MODES:
        wanted[f"mode_{mode}"] = (x["level_subclass"] * x[mode], coded * x[mode])
    figures = proportion_intervals(
        wanted,
        np.asarray(x["weight"], dtype=np.float64),
        np.asarray(x["stratum"]).astype(str),
        replicates=replicates,
        seed=seed,
        sampling_fractions=np.clip(
            np.nan_to_num(np.asarray(x["fraction"], dtype=np.float64), nan=0.0), 0.0, 1.0
        ),
    )
    headline = {"confirmed": "confirmed"} | {
        f"confirmed_{name}": f"confirmed_{name}" for name in LEVELS if f"level_{name}" in x
    }
    figure_table = _table(figures, "figure", headline)
    by_mode = _table(figures, "mode", {f"mode_{m}": m for m in MODES})
    corrections = _corrections(units, levels)
    review = _review(units, annotations)
    statuses = units.column("status").value_counts().to_pylist()
    summary: dict[str, Any] = {
        "threshold": threshold,
        "units_annotated": units.num_rows,
        "units_with_a_code": int(coded.sum()),
        "status_counts": {str(s["values"]): int(s["counts"]) for s in statuses},
        "confirmed": figures["confirmed"],
        "by_level": {name: figures[name] for name in headline if name != "confirmed"},
        "by_mode": {m: figures[f"mode_{m}"] for m in MODES},
        "corrections": corrections.num_rows,
        "to_review": review.num_rows,
    }
    return ValidationMetrics(summary, figure_table, by_mode, corrections, review)


def write_validation_metrics(
    storage: Storage,
    campaign_id: int,
    metrics: ValidationMetrics,
    *,
    export_version: str,
    computed_on: date,
) -> dict[str, str]:
    """Parquet for the dashboard, laid out like the gold metrics (``campaigns.metrics.
    dashboard``) under ``metrics/validation_<table>/campaign=<id>/computed=<date>/``."""
    written = {}
    for name, table in metrics.tables().items():
        n = table.num_rows
        stamped = (
            table.append_column("campaign_id", pa.array([campaign_id] * n, pa.int64()))
            .append_column("computed_on", pa.array([computed_on] * n, pa.date32()))
            .append_column("export_version", pa.array([export_version] * n, pa.string()))
        )
        path = (
            f"metrics/validation_{name}/campaign={campaign_id}/"
            f"computed={computed_on.isoformat()}/export-{export_version}.parquet"
        )
        written[name] = storage.write_table(stamped, path)
    return written
