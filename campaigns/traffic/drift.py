"""Drift of the classifier's traffic between two windows, read from the traffic table.

Glue between :mod:`campaigns.traffic.window` (which rows belong to a window) and the pure statistics
of :mod:`campaigns.traffic.drift_statistics`: window ``a`` is the reference (baseline),
window ``b`` the window under test. Results go to the metrics area beside the campaign metrics::

    metrics/drift/computed=<YYYY-MM-DD>/<a_start>_<a_end>__<b_start>_<b_end>.parquet

Window ends are exclusive, as in :class:`campaigns.traffic.window.Window`. Recomputing the same pair
of windows on the same day replaces the file (atomically).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from campaigns.duck import connect, fetch_arrow
from campaigns.errors import EmptySelectionError, InvalidArgumentError
from campaigns.storage import Storage
from campaigns.traffic.drift_statistics import (
    DEFAULT_EDGES,
    AlertRule,
    DriftReport,
    compare_windows,
    evaluate_alerts,
)
from campaigns.traffic.options import DEFAULT_MIN_COUNT
from campaigns.traffic.window import Window, window_relation

FRAME_COLUMNS = ("confidence", "predicted_code", "section")
"""Columns of :func:`window_frame`; ``by`` must be one of them (or ``None``)."""


DRIFT_SCHEMA = pa.schema(
    [
        ("scope", pa.string()),
        ("n_a", pa.int64()),
        ("n_b", pa.int64()),
        ("ks_statistic", pa.float64()),
        ("ks_pvalue", pa.float64()),
        ("chi2_statistic", pa.float64()),
        ("chi2_pvalue", pa.float64()),
        ("hellinger", pa.float64()),
        ("bhattacharyya", pa.float64()),
        ("kl_divergence", pa.float64()),
        ("psi", pa.float64()),
        ("window_a_start", pa.date32()),
        ("window_a_end", pa.date32()),
        ("window_b_start", pa.date32()),
        ("window_b_end", pa.date32()),
    ]
)
"""One row per :class:`~campaigns.traffic.drift_statistics.DriftReport`, plus both windows
(ends exclusive)."""


@dataclass(frozen=True)
class DriftResult:
    """Drift reports between windows ``a`` (reference) and ``b``, their alerts and a table."""

    reports: list[DriftReport]
    alerts: list[str]
    table: pa.Table
    a: Window
    b: Window
    skipped_groups: list[str] = field(default_factory=list)
    """Groups of ``by`` left without their own report (too few rows in a window)."""


def window_frame(storage: Storage, window: Window, sections: pa.Table) -> pd.DataFrame:
    """The window's ``confidence``, ``predicted_code`` and ``section``, one row per request.

    ``sections`` maps ``division`` to ``section`` (``Nomenclature.division_sections()``); a
    code's division is its first two characters. Codes of an unknown division get a null
    section. DuckDB reads only the two traffic columns needed. Raises
    :class:`~campaigns.errors.EmptySelectionError` when the window has no traffic.
    """
    missing = {"division", "section"} - set(sections.column_names)
    if missing:
        raise InvalidArgumentError(
            f"The sections table lacks column(s) {sorted(missing)}.",
            "Pass Nomenclature.division_sections() (columns division, section).",
        )
    with connect() as con:
        view = window_relation(con, storage, window, "drift_window")
        con.register("_drift_sections", sections.select(["division", "section"]))
        table = fetch_arrow(
            con,
            f"""SELECT w.confidence, w.predicted_code, s.section
               FROM {view.name} w
               LEFT JOIN _drift_sections s ON s.division = left(w.predicted_code, 2)""",
        )
    frame = table.to_pandas()
    frame["confidence"] = frame["confidence"].astype(float)
    return frame


def _keep_large_groups(
    a: pd.DataFrame, b: pd.DataFrame, by: str, min_count: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Null out ``by`` for groups with fewer than ``min_count`` scored rows in either window.

    Those rows still count in the overall reports; only their group's own report is dropped.
    """
    sizes_a = a.loc[a["confidence"].notna(), by].value_counts(dropna=True)
    sizes_b = b.loc[b["confidence"].notna(), by].value_counts(dropna=True)
    groups = sizes_a.index.union(sizes_b.index)
    sizes = pd.DataFrame(
        {"a": sizes_a.reindex(groups, fill_value=0), "b": sizes_b.reindex(groups, fill_value=0)}
    )
    # Groups in one window only get no report from compare_windows anyway: not "skipped".
    small = sizes[(sizes["a"] > 0) & (sizes["b"] > 0) & (sizes.min(axis=1) < min_count)]
    if small.empty:
        return a, b, []
    small_groups = set(small.index)
    a, b = a.copy(), b.copy()
    for frame in (a, b):
        frame[by] = frame[by].astype(object).where(~frame[by].isin(small_groups), None)
    return a, b, sorted(map(str, small_groups))


def drift_table(reports: list[DriftReport], a: Window, b: Window) -> pa.Table:
    """The reports as an Arrow table (:data:`DRIFT_SCHEMA`), both windows on every row."""
    windows = {
        "window_a_start": a.start,
        "window_a_end": a.end,
        "window_b_start": b.start,
        "window_b_end": b.end,
    }
    return pa.Table.from_pylist([r.as_dict() | windows for r in reports], schema=DRIFT_SCHEMA)


def drift_between(
    storage: Storage,
    a: Window,
    b: Window,
    sections: pa.Table,
    *,
    by: str | None = "section",
    rule: AlertRule = AlertRule(),
    accuracy: float | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
    edges: np.ndarray = DEFAULT_EDGES,
) -> DriftResult:
    """Compare window ``b`` with the reference window ``a`` and evaluate ``rule``.

    Reports: overall confidence, overall predicted codes, then the confidence of each group of
    ``by`` (a column of :func:`window_frame`, or ``None`` for the overall reports only) with at
    least ``min_count`` scored rows in both windows. ``accuracy``, an accuracy estimate, is
    checked against ``rule.accuracy_min``. Raises
    :class:`~campaigns.errors.EmptySelectionError` when a window has no traffic (or no
    confidence value at all).
    """
    if by is not None and by not in FRAME_COLUMNS:
        raise InvalidArgumentError(
            f"Cannot compare drift by {by!r}.", f"Use one of {', '.join(FRAME_COLUMNS)}."
        )
    if min_count < 1:
        raise InvalidArgumentError(f"min_count must be at least 1, got {min_count}.")
    frame_a = window_frame(storage, a, sections)
    frame_b = window_frame(storage, b, sections)
    for window, frame in ((a, frame_a), (b, frame_b)):
        if frame["confidence"].notna().sum() == 0:
            raise EmptySelectionError(
                f"No confidence value in the traffic between {window.describe()}.",
                "Check the ingested logs: every line needs scored predictions.",
            )
    skipped: list[str] = []
    if by is not None:
        frame_a, frame_b, skipped = _keep_large_groups(frame_a, frame_b, by, min_count)
    reports = compare_windows(frame_a, frame_b, by=by, edges=edges)
    return DriftResult(
        reports=reports,
        alerts=evaluate_alerts(reports, rule, accuracy),
        table=drift_table(reports, a, b),
        a=a,
        b=b,
        skipped_groups=skipped,
    )
