"""The headline figures of a gold-standard export, as plain data for the CLI and the API."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from campaigns.duck import connect

Z95 = 1.959963984540054


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (valid for small n and proportions near 0/1)."""
    if n <= 0:
        return (math.nan, math.nan)
    successes, n = float(successes), float(n)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _proportion(con: Any, where: str, value: str, table: str = "gold") -> dict[str, float]:
    row = con.execute(
        f"SELECT sum(weight * ({value})::INT) / sum(weight), count(*), "
        f"sum(({value})::INT) FROM {table} WHERE {where}"
    ).fetchall()[0]
    estimate, n, hits = row
    low, high = wilson(float(hits or 0), float(n or 0))
    return {"estimate": estimate, "ci_low": low, "ci_high": high, "n": int(n or 0)}


def metrics_json(
    gold: pa.Table, *, threshold: float, design: str, levels: pa.Table | None = None
) -> dict[str, Any]:
    """Design-weighted accuracy and automatic-coding figures (Wilson 95% intervals, SRS)."""
    con = connect()
    con.register("gold", gold)
    statuses = dict(con.execute("SELECT status, count(*) FROM gold GROUP BY 1").fetchall())
    coded = "status = 'coded'"
    result: dict[str, Any] = {
        "design": design,
        "threshold": threshold,
        "tasks_annotated": gold.num_rows,
        "status_counts": statuses,
        "accuracy": _proportion(con, coded, "predicted_code = gold_code"),
        "auto_coding_rate": _proportion(con, "status <> 'skipped'", f"confidence >= {threshold}"),
        "accuracy_auto_coded": _proportion(
            con, f"{coded} AND confidence >= {threshold}", "predicted_code = gold_code"
        ),
        "accuracy_manual": _proportion(
            con, f"{coded} AND confidence < {threshold}", "predicted_code = gold_code"
        ),
    }
    if levels is not None:
        con.register("levels", levels)
        con.execute("""
            CREATE TEMP VIEW gold_levels AS
            SELECT g.*, p.section AS predicted_section, t.section AS gold_section
            FROM gold g
            LEFT JOIN levels p ON p.subclass = g.predicted_code
            LEFT JOIN levels t ON t.subclass = g.gold_code""")
        per_level = {
            "section": "predicted_section = gold_section",
            "division": "left(predicted_code, 2) = left(gold_code, 2)",
            "group": "left(predicted_code, 4) = left(gold_code, 4)",
            "class": "left(predicted_code, 5) = left(gold_code, 5)",
            "subclass": "predicted_code = gold_code",
        }
        result["accuracy_by_level"] = {
            level: _proportion(con, coded, f"coalesce({test}, false)", "gold_levels")
            for level, test in per_level.items()
        }
    result["top_k_accuracy"] = {
        k: _proportion(
            con, coded, f"coalesce(list_position(predicted_codes[1:{k}], gold_code) > 0, false)"
        )
        for k in range(1, 6)
    }
    return result
