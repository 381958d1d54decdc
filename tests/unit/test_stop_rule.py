"""When to stop annotating: the half-width against the target, units and days still needed.

Known figures by hand (a Wilson half-width, the n * (h / e)^2 scaling, a pace over 7 days),
then ``progress`` on a real gold export in local storage, through the service and the CLI,
with Label Studio's counters replaced (they are not what is tested here).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from campaigns.lifecycle.stop_rule import (
    DEFAULT_TARGET_MARGIN,
    annotation_pace,
    stop_estimate,
    target_margin,
    units_needed,
)

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)


def _annotations(recent: int, older: int) -> pa.Table:
    stamps = [(NOW - timedelta(hours=1 + i % 140)).isoformat() for i in range(recent)]
    stamps += [(NOW - timedelta(days=8 + i % 20)).isoformat() for i in range(older)]
    return pa.table({"request_id": [f"r{i}" for i in range(recent + older)], "created_at": stamps})


def test_units_needed_scale_with_the_squared_ratio_of_half_widths():
    assert units_needed(100, 0.03, 0.02) == 225
    assert units_needed(400, 0.02, 0.02) == 400
    assert units_needed(400, 0.01, 0.02) == 100
    with pytest.raises(ValueError):
        units_needed(0, math.nan, 0.02)


def test_pace_counts_the_last_seven_days_only():
    table = _annotations(recent=70, older=30)
    assert annotation_pace(table, NOW) == 10.0
    naive = pa.table({"updated_at": ["2026-10-14T09:00:00", "2026-10-01T09:00:00", None, "x"]})
    assert annotation_pace(naive, NOW) == pytest.approx(1 / 7)


def test_target_margin_option_then_planning_then_setting():
    assert target_margin('{"target_margin": 0.03}', 0.05) == (0.05, "option")
    assert target_margin('{"target_margin": 0.03}', None) == (0.03, "planning")
    assert target_margin("{}", None, 0.04) == (0.04, "default")
    assert target_margin(None, None) == (DEFAULT_TARGET_MARGIN, "default")
    # A stored value that is no margin (or no JSON) is not one.
    assert target_margin('{"target_margin": "x"}', None, 0.04) == (0.04, "default")
    assert target_margin("not json", None, 0.04) == (0.04, "default")


def test_stop_estimate_from_a_known_interval():
    accuracy = {"estimate": 0.9, "ci_low": 0.85, "ci_high": 0.93, "n": 200}
    stop = stop_estimate(
        accuracy,
        _annotations(recent=70, older=30),
        target=0.02,
        margin_source="planning",
        tasks_annotated=250,
        sample_size=1000,
        annotations_per_task=2,
        now=NOW,
    )
    assert stop.half_width == pytest.approx(0.04)
    assert stop.units_needed == 800  # 200 * (0.04 / 0.02)^2
    assert stop.units_left == 600
    assert stop.tasks_left == 750  # 4 of 5 annotated tasks got a code
    assert stop.annotations_left == 1500  # two experts per task
    assert stop.pace_per_day == 10.0
    assert stop.days_left == 150.0
    assert not stop.reached and not stop.beyond_sample  # 250 + 750 tasks: the whole sample
    # n_eff = 1.96^2 * 0.09 / 0.04^2 = 216.1: a design effect of 200 / 216.1
    assert stop.design_effect == pytest.approx(200 / (1.959963984540054**2 * 0.09 / 0.0016))


def test_a_reached_target_needs_nothing_more():
    accuracy = {"estimate": 0.95, "ci_low": 0.94, "ci_high": 0.955, "n": 3000}
    stop = stop_estimate(
        accuracy,
        _annotations(0, 5),
        target=0.02,
        margin_source="default",
        tasks_annotated=3000,
        sample_size=3000,
        annotations_per_task=1,
        now=NOW,
    )
    assert stop.reached and stop.units_left == 0 and stop.days_left == 0.0
    assert stop.units_needed == 422  # ceil(3000 * (0.0075 / 0.02)^2) = ceil(421.875)


def test_no_coded_unit_gives_no_estimate():
    for accuracy in (
        {"n": 0},
        {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0},
    ):
        with pytest.raises(ValueError, match="no coded unit"):
            stop_estimate(
                accuracy,
                _annotations(1, 0),
                target=0.02,
                margin_source="default",
                tasks_annotated=3,
                sample_size=10,
                annotations_per_task=1,
                now=NOW,
            )


# -- progress on a real export -----------------------------------------------------------------


def _wilson_half_width(successes: int, n: int) -> float:
    z = 1.959963984540054
    p = successes / n
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return half


@pytest.fixture
def exported(state_settings, state_session, monkeypatch):
    """Gold campaign on a simple random sample of 400: 100 coded units, 85 right, 10 more
    annotated but not coded; 2 experts per task; 84 annotations in the last 7 days."""
    from campaigns.labelstudio.gateway import LabelStudioGateway
    from campaigns.state.models import Campaign, CampaignKind, CampaignStatus, Sample
    from campaigns.storage import Storage

    monkeypatch.setattr(
        LabelStudioGateway,
        "project_progress",
        lambda self, project_id: {
            "tasks": 400,
            "tasks_annotated": 110,
            "annotations": 220,
            "skipped": 0,
        },
    )
    session = state_session
    session.add(
        Sample(
            id="srs-gold",
            window_start=date(2026, 9, 1),
            window_end=date(2026, 10, 1),
            design="srs",
            design_params='{"size": 400, "duplicates": "requests", "target_margin": 0.03}',
            population_size=50_000,
            sample_size=400,
            uri="x",
        )
    )
    campaign = Campaign(
        name="oct-gold",
        kind=CampaignKind.GOLD,
        sample_id="srs-gold",
        status=CampaignStatus.EXPORTED,
        ls_project_id=7,
        annotations_per_task=2,
        last_export_version="v3",
    )
    session.add(campaign)
    session.commit()
    n = 110
    status = ["coded"] * 100 + ["cannot_code"] * 10
    gold = pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "status": status,
            "predicted_code": ["4711Z"] * n,
            "predicted_codes": [["4711Z"]] * n,
            "gold_code": ["4711Z"] * 85 + ["4719A"] * 15 + [None] * 10,
            "confidence": [0.9] * n,
            "score": [0.95] * n,
            "weight": [125.0] * n,
            "stratum": ["all"] * n,
            "stratum_sample_size": [400] * n,
            "stratum_population": [50_000] * n,
        }
    )
    ids = [f"r{i // 2}" for i in range(2 * n)]
    stamps = [(NOW - timedelta(hours=1 + 2 * i)).isoformat() for i in range(2 * n)]  # 84 in 7 days
    annotations = pa.table(
        {
            "request_id": ids,
            "task_id": [int(i[1:]) for i in ids],
            "annotator": [f"e{i % 2}" for i in range(2 * n)],
            "status": [status[i // 2] for i in range(2 * n)],
            "code": ["4711Z"] * (2 * n),
            "created_at": stamps,
            "updated_at": stamps,
        }
    )
    storage = Storage.from_settings(state_settings)
    storage.write_table(gold, f"exports/campaign={campaign.id}/version=v3/gold.parquet")
    storage.write_table(
        annotations, f"exports/campaign={campaign.id}/version=v3/annotations.parquet"
    )
    storage.write_bytes(b"v3", f"exports/campaign={campaign.id}/LATEST")
    return campaign


def _expected(target: float) -> dict:
    # SRS, equal weights: Wilson on the 100 coded units (15 errors: no exact bound on a side
    # with fewer than 10 effective units).
    half = _wilson_half_width(85, 100)
    needed = math.ceil(100 * (half / target) ** 2)
    tasks_left = math.ceil((needed - 100) / (100 / 110))
    return {"half": half, "needed": needed, "tasks_left": tasks_left}


def test_progress_measures_the_half_width_against_the_planned_margin(
    exported, state_settings, state_session
):
    from pydantic import SecretStr

    from campaigns.service import CampaignService

    settings = state_settings.model_copy(update={"label_studio_token": SecretStr("t")})
    state = CampaignService(state_session, settings).progress("oct-gold", now=NOW)
    expected = _expected(0.03)
    stop = state["stop"]
    assert state["tasks_annotated"] == 110
    assert state["target_margin"] == 0.03 and state["margin_source"] == "planning"
    assert stop["accuracy"] == pytest.approx(0.85)
    assert stop["half_width"] == pytest.approx(expected["half"], rel=1e-6)  # 0.0699
    assert stop["units_done"] == 100
    assert stop["units_needed"] == expected["needed"] == 543  # 100 * (0.0699 / 0.03)^2 = 542.7
    assert stop["tasks_left"] == expected["tasks_left"]
    assert stop["annotations_left"] == 2 * expected["tasks_left"]
    assert stop["pace_per_day"] == 12.0  # 84 annotations over 7 days
    assert stop["days_left"] == pytest.approx(2 * expected["tasks_left"] / 12.0)
    assert stop["export_version"] == "v3"
    assert not stop["reached"]


def test_cli_progress_prints_the_stop_rule(exported, state_settings, monkeypatch, cli):
    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", state_settings.database_url)
    monkeypatch.setenv("CAMPAIGNS_STORAGE_ROOT", state_settings.storage_root)
    monkeypatch.setenv("CAMPAIGNS_LABEL_STUDIO_TOKEN", "t")
    from campaigns.config import get_settings

    get_settings.cache_clear()
    try:
        out = cli("progress", "oct-gold").output
    finally:
        get_settings.cache_clear()
    half = _wilson_half_width(85, 100)
    assert f"half-width {half:.4f} for a target of 0.03 (planning)" in out
    assert "About 543 coded units needed" in out
    assert "No annotation in the last 7 days" in out  # the export's are from October
    assert "The sample holds 400 units: not enough" in out  # 110 + 488 tasks needed


def test_api_progress_gives_the_stop_rule(exported, state_settings, monkeypatch):
    from fastapi.testclient import TestClient

    from campaigns.config import get_settings
    from services.api.main import create_app

    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", state_settings.database_url)
    monkeypatch.setenv("CAMPAIGNS_STORAGE_ROOT", state_settings.storage_root)
    monkeypatch.setenv("CAMPAIGNS_LABEL_STUDIO_TOKEN", "t")
    get_settings.cache_clear()
    try:
        answer = TestClient(create_app(), client=("127.0.0.1", 50000)).get(
            f"/campaigns/{exported.id}/progress"
        )
    finally:
        get_settings.cache_clear()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["target_margin"] == 0.03 and body["margin_source"] == "planning"
    assert body["stop"]["units_needed"] == 543
    assert body["stop"]["half_width"] == pytest.approx(_wilson_half_width(85, 100), rel=1e-6)
    assert body["stop"]["beyond_sample"] is True
    assert body["stop_note"] is None
