"""Accuracy over time: domain estimates by month and model version, overlaps counted once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from campaigns.config import Settings, get_settings
from campaigns.metrics.report import render_page, trend_section
from campaigns.metrics.trend import campaign_trend
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import CampaignCreate, Sample, SuggestionMode
from campaigns.storage import Storage

PER_DAY = 1000  # requests a day in the simulated traffic
ACCURACY = {"1.0": 0.86, "2.0": 0.72}  # version 2.0 replaces 1.0 on March 1st: a regression
SWITCH = date(2026, 3, 1)


def version_of(day: date) -> str:
    return "1.0" if day < SWITCH else "2.0"


def add_gold_campaign(
    session,
    storage: Storage,
    name: str,
    start: date,
    end: date,
    n: int,
    seed: int,
    suggestions: SuggestionMode = SuggestionMode.HIDDEN,
) -> int:
    """A campaign whose export holds ``n`` units drawn at random from ``[start, end)``."""
    rng = np.random.default_rng(seed)
    days = (end - start).days
    session.add(
        Sample(
            id=f"s-{name}",
            window_start=start,
            window_end=end,
            population_size=PER_DAY * days,
            sample_size=n,
            uri="x",
        )
    )
    session.commit()
    campaign = crud.add_campaign(
        session, CampaignCreate(name=name, sample_id=f"s-{name}", suggestions=suggestions)
    )
    campaign.last_export_version = "v1"
    crud.save(session, campaign)
    offsets = rng.integers(0, days * 86400, n)
    stamps = [datetime.combine(start, datetime.min.time(), UTC) + timedelta(seconds=int(s))
              for s in offsets]  # fmt: skip
    versions = [version_of(t.date()) for t in stamps]
    right = rng.random(n) < np.array([ACCURACY[v] for v in versions])
    status = np.where(rng.random(n) < 0.05, "cannot_code", "coded")
    gold = pa.table(
        {
            "request_id": [f"{name}-{i}" for i in range(n)],
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "text": ["X"] * n,
            "context": [json.dumps({})] * n,
            "model_version": versions,
            "status": status,
            "predicted_code": ["10.71C"] * n,
            "gold_code": pa.array(np.where(right, "10.71C", "47.24Z"), mask=status != "coded"),
            "confidence": rng.random(n),
            "stratum": ["all"] * n,
            "weight": np.full(n, PER_DAY * days / n),
            "stratum_population": np.full(n, PER_DAY * days),
            "stratum_sample_size": np.full(n, n),
        }
    )
    storage.write_table(gold, f"exports/campaign={campaign.id}/version=v1/gold.parquet")
    storage.write_bytes(b"v1", f"exports/campaign={campaign.id}/LATEST")
    return campaign.id or 0


@pytest.fixture
def campaigns(state_session, state_settings: Settings) -> Storage:
    """Two campaigns overlapping in February (Jan-Feb and Feb-Apr), one not exported."""
    storage = Storage.from_settings(state_settings)
    add_gold_campaign(state_session, storage, "winter", date(2026, 1, 1), date(2026, 3, 1), 1800, 1)
    add_gold_campaign(
        state_session, storage, "spring", date(2026, 2, 1), date(2026, 5, 1), 2700, 2,
        suggestions=SuggestionMode.PRESELECTED,
    )  # fmt: skip
    crud.add_campaign(state_session, CampaignCreate(name="fresh", sample_id="s1"))
    return storage


def rows_of(result, figure: str = "accuracy") -> dict[tuple[str, str], dict]:
    return {
        (r["period"].isoformat(), r["model_version"]): r
        for r in result.table.to_pylist()
        if r["figure"] == figure
    }


def test_monthly_accuracy_by_version_with_overlaps_counted_once(
    state_session, state_settings, campaigns
):
    result = campaign_trend(state_session, campaigns, state_settings, replicates=200, floor=0.8)
    rows = rows_of(result)
    months = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
    assert sorted({m for m, _ in rows}) == months
    for month in months:
        overall = rows[(month, "all")]
        truth = ACCURACY[version_of(date.fromisoformat(month))]
        assert overall["ci_low"] <= truth <= overall["ci_high"], month
        assert rows[(month, version_of(date.fromisoformat(month)))]["estimate"] == pytest.approx(
            overall["estimate"]
        )
        # The traffic volume is estimated right, February too although two campaigns
        # sampled it: each of its days is counted once (weights divided by 2 there).
        days = overall["days_in_period"]
        assert overall["estimated_requests"] == pytest.approx(PER_DAY * days, rel=0.12), month
        assert overall["days_covered"] == days
    assert rows[("2026-02-01", "all")]["campaigns"] == 2
    assert rows[("2026-01-01", "all")]["suggestions"] == "hidden"
    assert rows[("2026-02-01", "all")]["suggestions"] == "hidden,preselected"
    # The regression of version 2.0 drags April below the floor, surely: an alert.
    assert result.latest["period"] == date(2026, 4, 1)
    assert result.latest["ci_high"] < 0.8 and result.alert
    assert "trend" in result.written and "computed=" in result.written["trend"]
    assert result.as_json()["latest"]["period"] == "2026-04-01"
    page = render_page("t", [trend_section(result.table, floor=0.8, include_plotlyjs=True)])
    assert "Accuracy over time" in page


def test_weeks_blind_gold_and_no_alert_above_the_floor(state_session, state_settings, campaigns):
    weekly = campaign_trend(
        state_session, campaigns, state_settings, period="week", by_version=False,
        replicates=100, floor=0.5, write=False,
    )  # fmt: skip
    periods = {r["period"] for r in weekly.table.to_pylist()}
    assert all(p.weekday() == 0 for p in periods) and len(periods) >= 17
    assert {r["model_version"] for r in weekly.table.to_pylist()} == {"all"}
    assert not weekly.alert and weekly.written == {}
    blind = campaign_trend(
        state_session, campaigns, state_settings, blind_only=True, replicates=100, write=False
    )
    months = sorted({r["period"].isoformat() for r in blind.table.to_pylist()})
    assert months == ["2026-01-01", "2026-02-01"]  # spring showed suggestions: left out


def test_the_cli_exits_1_below_the_floor(local_env, cli):
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with session_scope(settings) as session:
        add_gold_campaign(session, storage, "only", date(2026, 3, 1), date(2026, 4, 1), 900, 3)
    result = cli("trend", "--floor", "0.9", "--replicates", "50", ok=False)
    assert result.exit_code == 1, result.output
    assert "ALERT" in result.output and "2026-03-01" in result.output
    assert cli("trend", "--floor", "0.5", "--replicates", "50", "--no-write").exit_code == 0
    bad = cli("trend", "--period", "year", ok=False)
    assert bad.exit_code == 2 and "Unknown period" in bad.output
