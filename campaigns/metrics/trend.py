"""Accuracy over time: every gold campaign pooled, estimated by month (or week) of traffic.

Each gold campaign is a probability sample of its traffic window (``[window_start,
window_end)``), each unit with its design weight (the weights of the units annotated so far,
``reweight_to_annotated``). A period's accuracy is a *domain estimate*: the ratio
``sum_i w_i correct_i 1[i in d] / sum_i w_i coded_i 1[i in d]`` over every annotated unit,
where the domain ``d`` is "requests served in the period" (optionally "... by model version
v"). Units outside the domain stay in the variance computation with zero numerator and
denominator: the number of a campaign's units that fall in a month is random, and the
interval accounts for it (Cochran 1977, ch. 2.13; Lohr 2019, ch. 4.3).

Campaigns whose windows overlap sample the same days twice. Each is unbiased for those days'
totals on its own, so the pooled estimator averages them: a unit drawn on day ``t`` gets the
weight ``w_i / K_t``, with ``K_t`` the number of pooled campaigns whose window contains ``t``
(a multiplicity adjustment, as in multiple-frame surveys; Lohr 2019, ch. 14). Every day is
then counted once, whatever the number of campaigns that sampled it, and the campaigns stay
independent samples: the design strata are (campaign, stratum) pairs.

Intervals are the headline proportions' (``proportion_intervals``) on those strata, weights
and finite population corrections, one call per period over the strata that have units in
that period (other strata add exactly zero to every total, so leaving them out changes
nothing). The estimate describes the days the pooled windows cover (``days_covered`` of
``days_in_period``), not the whole period when campaigns leave gaps.

A gold standard made with the model's suggestions in view leans toward the model (anchoring):
``blind_only`` keeps only ``hidden`` campaigns and the blind arm of ``randomized`` ones, and
every row says which suggestion modes fed it.

Alert: the figure the floor is checked against is the overall accuracy of the latest period
with coded units; the alert fires when even its interval's upper bound is below the floor,
i.e. the accuracy is below it with 97.5% confidence, not merely an unlucky estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from campaigns.config import Settings
from campaigns.duck import connect, fetch_arrow
from campaigns.errors import EmptySelectionError, InvalidArgumentError
from campaigns.gold.store import latest_annotations, latest_gold
from campaigns.metrics.anchoring import BLIND, with_arms
from campaigns.metrics.gold_metrics import reweight_to_annotated
from campaigns.metrics.intervals import proportion_intervals
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignKind, SuggestionMode
from campaigns.storage import Storage

Period = Literal["month", "week"]
PERIODS: tuple[Period, ...] = ("month", "week")
ALL_VERSIONS = "all"
FIGURES = ("accuracy", "auto_coding_rate")
TREND_SCHEMA = pa.schema(
    [
        ("period", pa.date32()),
        ("model_version", pa.string()),
        ("figure", pa.string()),
        ("estimate", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("n", pa.int64()),
        ("method", pa.string()),
        ("units", pa.int64()),
        ("estimated_requests", pa.float64()),
        ("campaigns", pa.int64()),
        ("suggestions", pa.string()),
        ("days_covered", pa.int64()),
        ("days_in_period", pa.int64()),
    ]
)
_UNIT_COLUMNS = """request_id::VARCHAR AS request_id, "timestamp"::TIMESTAMPTZ AS "timestamp",
    coalesce(model_version::VARCHAR, 'unknown') AS model_version, status::VARCHAR AS status,
    predicted_code::VARCHAR AS predicted_code, gold_code::VARCHAR AS gold_code,
    confidence::DOUBLE AS confidence, weight::DOUBLE AS weight"""


@dataclass
class TrendUnits:
    """Every pooled gold unit (one schema) and the pooled campaigns' windows."""

    units: pa.Table
    windows: pa.Table
    """campaign_id, window_start, window_end, suggestions."""


def _standard(gold: pa.Table, campaign: Campaign, threshold: float) -> pa.Table:
    names = set(gold.column_names)
    stratum = "stratum::VARCHAR" if "stratum" in names else "'all'"
    fraction = (
        "stratum_sample_size::DOUBLE / stratum_population"
        if {"stratum_sample_size", "stratum_population"} <= names
        else "0.0"
    )
    with connect() as con:
        con.register("gold", gold)
        return fetch_arrow(
            con,
            f"""SELECT {_UNIT_COLUMNS},
                       {int(campaign.id or 0)}::BIGINT AS campaign_id,
                       '{int(campaign.id or 0)}:' || {stratum} AS design_stratum,
                       coalesce({fraction}, 0.0) AS fraction,
                       coalesce(confidence >= {float(threshold)!r}, false) AS auto,
                       '{campaign.suggestions}' AS suggestions
                FROM gold""",
        )


def pooled_gold(
    session: Session,
    storage: Storage,
    *,
    threshold: float,
    blind_only: bool = False,
) -> TrendUnits:
    """The latest export of every gold campaign with one, reweighted to its annotated units.

    Team campaigns come through their campaign (``latest_gold`` unions them). With
    ``blind_only``: ``hidden`` campaigns, and the blind arm of ``randomized`` ones.
    """
    parts, windows = [], []
    for campaign in crud.all_campaigns(session):
        if campaign.kind != CampaignKind.GOLD or campaign.parent_id is not None:
            continue
        mode = campaign.suggestions
        if blind_only and mode not in (SuggestionMode.HIDDEN, SuggestionMode.RANDOMIZED):
            continue
        try:
            gold = latest_gold(storage, campaign, session)
        except EmptySelectionError:  # not exported yet
            continue
        if mode == SuggestionMode.RANDOMIZED and blind_only:
            gold = with_arms(gold, latest_annotations(storage, campaign, session))
            if "arm" not in gold.column_names:
                continue
            gold = gold.filter(pc.equal(gold.column("arm"), BLIND))
        if gold.num_rows == 0 or "timestamp" not in gold.column_names:
            continue
        parts.append(_standard(reweight_to_annotated(gold), campaign, threshold))
        sample = crud.get_sample(session, campaign.sample_id)
        windows.append(
            {
                "campaign_id": campaign.id,
                "window_start": sample.window_start,
                "window_end": sample.window_end,
                "suggestions": str(mode),
            }
        )
    if not parts:
        raise EmptySelectionError(
            "No gold campaign has an export to follow accuracy over time"
            + (" (blind gold only)." if blind_only else "."),
            "Export gold campaigns first ('campaigns export NAME')"
            + ("; hidden or randomized ones for --blind-only." if blind_only else "."),
        )
    return TrendUnits(
        units=pa.concat_tables(parts),
        windows=pa.Table.from_pylist(
            windows,
            schema=pa.schema(
                [
                    ("campaign_id", pa.int64()),
                    ("window_start", pa.date32()),
                    ("window_end", pa.date32()),
                    ("suggestions", pa.string()),
                ]
            ),
        ),
    )


def _periods(units: TrendUnits, period: Period) -> tuple[pa.Table, pa.Table]:
    """Units with their period and multiplicity-adjusted weight; days covered per period."""
    with connect() as con:
        con.register("units", units.units)
        con.register("windows", units.windows)
        con.execute(
            """CREATE TEMP TABLE covered AS
                SELECT day::DATE AS day, count(DISTINCT w.campaign_id) AS k
                FROM windows w,
                     generate_series(w.window_start::TIMESTAMP,
                                     w.window_end::TIMESTAMP - INTERVAL 1 DAY,
                                     INTERVAL 1 DAY) AS s(day)
                GROUP BY 1"""
        )
        table = fetch_arrow(
            con,
            f"""SELECT u.*, date_trunc('{period}', u."timestamp"::DATE)::DATE AS period,
                       u.weight / greatest(coalesce(c.k, 1), 1) AS pooled_weight
                FROM units u LEFT JOIN covered c ON c.day = u."timestamp"::DATE
                WHERE u."timestamp" IS NOT NULL""",
        )
        days = fetch_arrow(
            con,
            f"""SELECT date_trunc('{period}', day)::DATE AS period, count(*) AS days_covered,
                       (date_trunc('{period}', day) + INTERVAL 1 {period})::DATE
                           - date_trunc('{period}', day)::DATE AS days_in_period
                FROM covered GROUP BY 1, 3""",
        )
    return table, days


def accuracy_trend(
    units: TrendUnits,
    *,
    period: Period = "month",
    by_version: bool = True,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pa.Table:
    """One row per period, model version (``all`` for the whole traffic) and figure."""
    if period not in PERIODS:
        raise InvalidArgumentError(f"Unknown period {period!r}.", "Use month or week.")
    table, days = _periods(units, period)
    covered = {r["period"]: r for r in days.to_pylist()}
    x = {n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names}
    periods = x["period"]
    versions = np.asarray(x["model_version"]).astype(str)
    strata = np.asarray(x["design_stratum"]).astype(str)
    status = np.asarray(x["status"]).astype(str)
    coded = status == "coded"
    usable = status != "skipped"
    predicted = np.asarray(x["predicted_code"], dtype=object)
    gold = np.asarray(x["gold_code"], dtype=object)
    correct = coded & (predicted == gold)
    auto = np.asarray(x["auto"], dtype=bool)
    weights = np.asarray(x["pooled_weight"], np.float64)
    fractions = np.clip(np.nan_to_num(np.asarray(x["fraction"], np.float64)), 0.0, 1.0)
    campaign = np.asarray(x["campaign_id"])
    modes = np.asarray(x["suggestions"]).astype(str)
    rows: list[dict[str, Any]] = []
    for p in sorted(set(periods.tolist())):
        in_period = periods == p
        keep = np.isin(strata, np.unique(strata[in_period]))  # strata with units in p
        domains = {ALL_VERSIONS: in_period}
        if by_version:
            for v in sorted(set(versions[in_period].tolist())):
                domains[v] = in_period & (versions == v)
        wanted: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, mask in domains.items():
            wanted[f"accuracy|{name}"] = (correct & mask, coded & mask)
            wanted[f"auto_coding_rate|{name}"] = (usable & auto & mask, usable & mask)
        figures = proportion_intervals(
            {k: (num[keep], den[keep]) for k, (num, den) in wanted.items()},
            weights[keep],
            strata[keep],
            replicates=replicates,
            seed=seed,
            level=level,
            sampling_fractions=fractions[keep],
        )
        cover = covered.get(p, {})
        for name, mask in domains.items():
            for figure in FIGURES:
                f = figures[f"{figure}|{name}"]
                rows.append(
                    {
                        "period": p,
                        "model_version": name,
                        "figure": figure,
                        "estimate": f["estimate"],
                        "ci_low": f["ci_low"],
                        "ci_high": f["ci_high"],
                        "n": f["n"],
                        "method": f["method"],
                        "units": int(mask.sum()),
                        "estimated_requests": float(weights[mask].sum()),
                        "campaigns": int(np.unique(campaign[mask]).size),
                        "suggestions": ",".join(sorted(set(modes[mask].tolist()))),
                        "days_covered": cover.get("days_covered", 0),
                        "days_in_period": cover.get("days_in_period", 0),
                    }
                )
    return pa.Table.from_pylist(rows, schema=TREND_SCHEMA)


def latest_accuracy(trend: pa.Table) -> dict[str, Any] | None:
    """The overall accuracy row of the latest period with coded units (None if none)."""
    rows = [
        r
        for r in trend.to_pylist()
        if r["model_version"] == ALL_VERSIONS and r["figure"] == "accuracy" and r["n"]
    ]
    return max(rows, key=lambda r: r["period"]) if rows else None


@dataclass
class TrendResult:
    period: Period
    table: pa.Table
    latest: dict[str, Any] | None
    floor: float | None
    campaigns: list[int]
    blind_only: bool
    written: dict[str, str] = field(default_factory=dict)

    @property
    def alert(self) -> bool:
        """The latest period's accuracy is below the floor even at its upper bound."""
        if self.floor is None or self.latest is None:
            return False
        high = self.latest["ci_high"]
        return high is not None and not math.isnan(high) and high < self.floor

    def as_json(self) -> dict[str, Any]:
        """What the CLI's ``--json`` and the trend job's result give."""
        from campaigns.metrics.dashboard import json_safe

        def plain(row: dict[str, Any]) -> dict[str, Any]:
            return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}

        return json_safe(
            {
                "period": self.period,
                "blind_only": self.blind_only,
                "campaigns": self.campaigns,
                "floor": self.floor,
                "alert": self.alert,
                "latest": plain(self.latest) if self.latest else None,
                "rows": [plain(r) for r in self.table.to_pylist()],
                "tables": self.written,
            }
        )


def campaign_trend(
    session: Session,
    storage: Storage,
    settings: Settings,
    *,
    period: Period = "month",
    by_version: bool = True,
    blind_only: bool = False,
    floor: float | None = None,
    threshold: float | None = None,
    replicates: int = 1000,
    seed: int = 0,
    write: bool = True,
) -> TrendResult:
    """Accuracy by period (and model version) over every exported gold campaign; the
    dashboard's ``metrics/trend`` table unless ``write=False``."""
    from campaigns.metrics.dashboard import write_trend

    if floor is not None and not 0 <= floor <= 1:
        raise InvalidArgumentError(f"The floor {floor} is not a proportion.", "Example: 0.8.")
    units = pooled_gold(
        session,
        storage,
        threshold=settings.auto_coding_threshold if threshold is None else threshold,
        blind_only=blind_only,
    )
    table = accuracy_trend(
        units, period=period, by_version=by_version, replicates=replicates, seed=seed
    )
    result = TrendResult(
        period=period,
        table=table,
        latest=latest_accuracy(table),
        floor=floor,
        campaigns=sorted(units.windows.column("campaign_id").to_pylist()),
        blind_only=blind_only,
    )
    if write:
        result.written = write_trend(
            storage,
            table,
            period=period,
            blind_only=blind_only,
            computed_on=datetime.now(UTC).date(),
        )
    return result
