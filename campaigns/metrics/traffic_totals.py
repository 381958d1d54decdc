"""What the traffic window tells exactly: the automatic-coding rate and the calibration totals.

Every request of the window carries its confidence index and predicted code, so the share
coded automatically at a threshold is a census figure, not an estimate: it is counted here in
one DuckDB pass over the window's Parquet, with no interval (method ``census``). The same pass
counts the requests per predicted section and per confidence bin: the deciles of the window's
confidence, with the threshold added as a cut, so the automatically coded part is a union of
bins. Those counts are the margins the design weights are raked to
(:mod:`campaigns.metrics.weight_calibration`), and the census rate at each threshold of the
curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from campaigns.duck import connect, fetch_arrow
from campaigns.metrics.threshold_curve import default_thresholds
from campaigns.metrics.weight_calibration import Margin
from campaigns.storage import Storage
from campaigns.traffic.window import Window, window_relation

DECILES = tuple(round(q / 10, 1) for q in range(1, 10))
NO_SECTION = "?"
CALIBRATE_SECTIONS = False
"""Sections are counted and reported, not raked to by default: on synthetic traffic
(``benchmarks/calibration_simulation.py``, Neyman allocation) raking to the sections too took
the coverage of the automatically coded part's accuracy from 95.0% down to 93.8% (10 or even 30
units per section), where sections told nothing of correctness; confidence bins alone keep
it at 95-96%. Turn it on where sections are known to matter, after running the simulation."""
SECTION_MIN_UNITS = 30
"""Sections with fewer sampled units are pooled into "other" when sections are raked to."""


@dataclass(frozen=True)
class TrafficTotals:
    """Counts of the window's requests: in all, coded automatically, per calibration cell."""

    requests: int
    threshold: float
    auto_coded: int
    confidence_edges: tuple[float, ...]
    by_section: dict[str, int]
    by_confidence_bin: dict[str, int]
    division_sections: dict[str, str]
    design_edges: tuple[float, ...] = ()
    auto_coded_at: dict[float, int] = field(default_factory=dict)

    @property
    def auto_coding_rate(self) -> float:
        return self.auto_coded / self.requests if self.requests else float("nan")

    def auto_coding_rates(self, thresholds: np.ndarray) -> np.ndarray:
        """The census rate at each threshold (NaN where it was not counted)."""
        return np.array(
            [
                self.auto_coded_at[round(float(t), 6)] / self.requests
                if round(float(t), 6) in self.auto_coded_at and self.requests
                else np.nan
                for t in thresholds
            ]
        )

    def confidence_bins(self, confidence: np.ndarray) -> np.ndarray:
        """Each value's bin label (``b0`` below the first edge); a missing value is ``b0``."""
        values = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=-1.0)
        return np.char.add("b", np.searchsorted(self.confidence_edges, values, "right").astype(str))

    def margins(
        self,
        confidence: np.ndarray,
        predicted_code: np.ndarray,
        design_edges: tuple[float, ...] = (),
        *,
        by_section: bool = CALIBRATE_SECTIONS,
    ) -> list[Margin]:
        """The confidence-bin (and with ``by_section``, section) margins for these units.

        Bins are merged only within one of the design's confidence bands (``design_edges``,
        which must be among ``confidence_edges``), so they stay nested in the strata.
        """
        bins = tuple(f"b{i}" for i in range(len(self.confidence_edges) + 1))
        design_edges = design_edges or self.design_edges
        lows = (0.0, *self.confidence_edges)
        groups = tuple(int(np.searchsorted(design_edges, low, "right")) for low in lows)
        sections = np.array(
            [
                self.division_sections.get(str(code)[:2], NO_SECTION) if code else NO_SECTION
                for code in predicted_code
            ],
            dtype=str,
        )
        margins = [
            Margin(
                "confidence_bin",
                self.confidence_bins(confidence),
                {b: float(self.by_confidence_bin.get(b, 0)) for b in bins},
                bins,
                groups,
            ),
            Margin(
                "section",
                sections,
                {k: float(v) for k, v in self.by_section.items()},
                min_units=SECTION_MIN_UNITS,
            ),
        ]
        return margins if by_section else margins[:1]

    def summary(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "auto_coded": self.auto_coded,
            "auto_coding_rate": self.auto_coding_rate,
            "confidence_edges": list(self.confidence_edges),
            "sections": len(self.by_section),
        }


def count_traffic_totals(
    con: duckdb.DuckDBPyConnection,
    view: str,
    threshold: float,
    sections: pa.Table | None,
    design_edges: tuple[float, ...] = (),
) -> TrafficTotals:
    """Count the totals over the rows of ``view`` (``division -> section`` from ``sections``).

    The confidence bins are cut at the window's deciles, the threshold and the design's own
    confidence edges (``design_edges``), so each bin lies inside one stratum.
    """
    join, section = "", f"'{NO_SECTION}'"
    if sections is not None:
        con.register("_totals_sections", sections)
        join = " LEFT JOIN _totals_sections s ON s.division = left(w.predicted_code, 2)"
        section = f"coalesce(s.section, '{NO_SECTION}')"
    quantiles = (
        fetch_arrow(con, f"SELECT quantile_cont(confidence, {list(DECILES)!r}) AS q FROM {view}")
        .column("q")[0]
        .as_py()
    )
    cuts = {round(float(q), 6) for q in (quantiles or []) if q is not None}
    cuts |= {float(threshold), *(float(e) for e in design_edges)}
    edges = tuple(sorted(e for e in cuts if 0 < e <= 1))
    binned = " + ".join(f"(coalesce(confidence, -1) >= {e!r})::INT" for e in edges) or "0"
    cells = fetch_arrow(
        con,
        f"""SELECT {section} AS section, 'b' || ({binned})::VARCHAR AS bin,
                   count(*) AS requests,
                   count(*) FILTER (WHERE confidence >= {float(threshold)!r}) AS auto_coded
            FROM {view} w{join} GROUP BY ALL""",
    ).to_pylist()
    curve = [round(float(t), 6) for t in default_thresholds()]
    counted = fetch_arrow(
        con,
        "SELECT "
        + ", ".join(
            f"count(*) FILTER (WHERE confidence >= {t!r}) AS t{i}" for i, t in enumerate(curve)
        )
        + f" FROM {view}",
    ).to_pylist()[0]
    by_section: dict[str, int] = {}
    by_bin: dict[str, int] = {}
    for row in cells:
        by_section[row["section"]] = by_section.get(row["section"], 0) + int(row["requests"])
        by_bin[row["bin"]] = by_bin.get(row["bin"], 0) + int(row["requests"])
    return TrafficTotals(
        requests=sum(by_section.values()),
        threshold=float(threshold),
        auto_coded=sum(int(row["auto_coded"]) for row in cells),
        confidence_edges=edges,
        by_section=by_section,
        by_confidence_bin=by_bin,
        auto_coded_at={t: int(counted[f"t{i}"]) for i, t in enumerate(curve)},
        design_edges=tuple(float(e) for e in design_edges),
        division_sections=(
            dict(zip(*sections.select(["division", "section"]).to_pydict().values(), strict=True))
            if sections is not None
            else {}
        ),
    )


def window_traffic_totals(
    storage: Storage,
    window: Window,
    threshold: float,
    sections: pa.Table | None,
    design_edges: tuple[float, ...] = (),
) -> TrafficTotals:
    """:func:`count_traffic_totals` over a traffic window of the storage."""
    with connect() as con:
        view = window_relation(con, storage, window)
        return count_traffic_totals(con, view.name, threshold, sections, design_edges)
