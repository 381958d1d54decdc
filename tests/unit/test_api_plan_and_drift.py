"""``POST /plan`` and ``POST /drift`` on synthetic traffic in local storage and SQLite.

The API gives the figures of the core (and of the CLI, which calls the same service method):
the plan's sizes per stratum, the drift reports and alerts in the job's result, the report
stored under metrics/drift; bad input is refused with the JSON error shape.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from campaigns.config import get_settings
from campaigns.nomenclatures import old_nomenclature
from campaigns.sampling.designs import Design
from campaigns.sampling.registry import plan_for_window
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from campaigns.traffic.drift import DRIFT_SCHEMA, drift_between
from campaigns.traffic.window import Window
from services.api.main import create_app

# 60 days of one distribution up to SAME_END, then 30 days with lower confidences.
SAME_END, SHIFTED_END = "2026-09-30", "2026-10-30"


def _lower_confidence(src: Path, dst: Path) -> None:
    """Every other line gets a runner-up close to its top score: half the traffic moves below
    0.4 of confidence, a real, moderate shift of the confidence index."""
    with src.open() as lines, dst.open("w") as out:
        for i, line in enumerate(lines):
            record = json.loads(line)
            if i % 2 == 0:
                first, second = record["predictions"][:2]
                pair = first["score"] + second["score"]
                first["score"], second["score"] = round(0.7 * pair, 6), round(0.3 * pair, 6)
            record["request_id"] = f"shifted-{record['request_id']}"
            out.write(json.dumps(record) + "\n")


@pytest.fixture
def api(local_env, tmp_path: Path, cli) -> TestClient:
    stable, raw, shifted = (tmp_path / f"{n}.jsonl" for n in ("stable", "raw", "shifted"))
    cli("traffic", "generate", str(stable), "--lines", "6000", "--days", "60",
        "--end", SAME_END, "--seed", "1")  # fmt: skip
    cli("traffic", "generate", str(raw), "--lines", "3000", "--days", "30",
        "--end", SHIFTED_END, "--seed", "1")  # fmt: skip
    _lower_confidence(raw, shifted)
    cli("traffic", "ingest", str(stable), str(shifted))
    return TestClient(create_app(), client=("127.0.0.1", 50000))


def finished(api: TestClient, started) -> dict:
    """The job once final (the test client runs background tasks before it returns)."""
    assert started.status_code == 202, started.text
    for _ in range(50):
        job = api.get(f"/jobs/{started.json()['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}")


def test_plan_gives_the_cores_sizes_and_the_sample_drawn_with_them(api: TestClient):
    design = {
        "confidence_edges": [0.5, 0.75],
        "allocation": "neyman",
        "prior_accuracy": [0.6, 0.85, 0.97],
    }
    body = {"margin": 0.03, "auto_coded": True, "threshold": 0.75, "days": 30, "end": SAME_END}
    answer = api.post("/plan", json=body | {"design": design})
    assert answer.status_code == 200, answer.text
    plan = answer.json()

    settings = get_settings()
    window = Window.last_days(30, date.fromisoformat(SAME_END))
    core_design = Design(
        confidence_edges=(0.5, 0.75), allocation="neyman", prior_accuracy=(0.6, 0.85, 0.97)
    )
    with session_scope(settings) as session:
        expected = plan_for_window(
            session,
            Storage.from_settings(settings),
            window,
            core_design,
            margin=0.03,
            auto_coded_above=0.75,
            sections=old_nomenclature(settings).division_sections(),
        )
    assert {s["stratum"]: s["sample_size"] for s in plan["strata"]} == expected.sizes
    assert plan["sample_size"] == expected.sample_size == sum(expected.sizes.values())
    assert plan["margin"] == pytest.approx(expected.margin) and plan["margin"] <= 0.03
    assert plan["reachable"] and plan["target"] == "auto_coded_error_rate"
    assert (plan["design"], plan["window_start"], plan["window_end"]) == (
        "stratified",
        "2026-09-01",
        "2026-10-01",
    )
    assert [s["prior_accuracy"] for s in plan["strata"]] == [0.6, 0.85, 0.97]

    # Drawing the planned size with the same design gives the planned sample.
    sample = api.post(
        "/samples",
        json={"size": plan["sample_size"], "days": 30, "end": SAME_END, "design": design},
    )
    assert sample.status_code == 201, sample.text
    assert sample.json()["sample_size"] == plan["sample_size"]

    # Without a design: simple random sampling, the margin on the whole traffic's accuracy.
    srs = api.post("/plan", json={"margin": 0.05, "days": 30, "end": SAME_END}).json()
    assert srs["design"] == "srs" and srs["target"] == "accuracy"
    assert [s["stratum"] for s in srs["strata"]] == ["all"]


REFUSED_PLANS = [
    ({"margin": 1.5}, 422, "ValidationError"),
    ({"margin": 0}, 422, "ValidationError"),
    ({"design": {"allocation": "fixed"}}, 422, "ValidationError"),
    ({"design": {"confidence_edges": [0.8, 0.3]}}, 422, "InvalidArgumentError"),
    ({"days": 0}, 422, "ValidationError"),
    ({"end": "9999-12-31"}, 422, "ValidationError"),
    (
        {"auto_coded": True, "threshold": 0.6, "design": {"confidence_edges": [0.5]}},
        422,
        "InvalidArgumentError",
    ),
    ({"end": "2027-06-30"}, 422, "EmptySelectionError"),
]


def test_plan_refuses_what_the_core_cannot_plan(api: TestClient):
    for body, status, kind in REFUSED_PLANS:
        answer = api.post("/plan", json={"end": SAME_END, "days": 30} | body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["type"] == kind, body


def test_drift_job_reports_the_shift_alerts_and_stores_the_cores_reports(api: TestClient):
    job = finished(api, api.post("/drift", json={"days": 30, "end": SHIFTED_END}))
    assert job["status"] == "succeeded" and job["kind"] == "drift", job
    result = job["result"]
    assert result["window"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert result["baseline"] == {"start": "2026-09-01", "end": "2026-10-01"}
    overall = result["reports"][0]
    assert overall["scope"] == "overall" and overall["psi"] > 0.2
    assert any(a.startswith("PSI drift on overall: ") for a in result["alerts"])
    codes = result["reports"][1]
    assert codes["scope"] == "overall:codes" and codes["ks_statistic"] is None  # NaN -> null
    assert result["accuracy_checked"] is False

    settings = get_settings()
    expected = drift_between(
        Storage.from_settings(settings),
        Window(date(2026, 9, 1), date(2026, 10, 1)),
        Window(date(2026, 10, 1), date(2026, 10, 31)),
        old_nomenclature(settings).division_sections(),
    )
    assert [r["scope"] for r in result["reports"]] == [r.scope for r in expected.reports]
    assert result["skipped_groups"] == expected.skipped_groups
    assert result["alerts"] == expected.alerts
    stored = Path(result["stored"])
    assert stored.name == "2026-09-01_2026-10-01__2026-10-01_2026-10-31.parquet"
    table = pq.read_table(stored)
    assert table.schema.equals(DRIFT_SCHEMA) and table.num_rows == len(expected.reports)


def test_drift_job_checks_the_accuracy_floor_writes_nothing_on_request_and_fails_clearly(
    api: TestClient,
):
    body = {"days": 30, "end": SAME_END, "write": False, "psi_max": 10.0}
    quiet = finished(api, api.post("/drift", json=body))["result"]
    assert quiet["alerts"] == [] and quiet["stored"] is None
    half = finished(api, api.post("/drift", json=body | {"accuracy_min": 0.9}))["result"]
    assert half["accuracy_checked"] is False and half["alerts"] == []
    low = finished(api, api.post("/drift", json=body | {"accuracy_min": 0.9, "accuracy": 0.8}))
    assert low["result"]["accuracy_checked"] is True
    assert low["result"]["alerts"] == ["Accuracy 0.8000 below the floor 0.9"]
    longer = finished(api, api.post("/drift", json=body | {"baseline_days": 45}))["result"]
    assert longer["baseline"] == {"start": "2026-07-18", "end": "2026-09-01"}
    assert not (Path(get_settings().storage_root) / "metrics" / "drift").exists()

    empty = finished(api, api.post("/drift", json={"days": 30, "end": "2027-06-30"}))
    assert empty["status"] == "failed"
    assert empty["error"]["type"] == "EmptySelectionError"
    assert "No traffic between" in empty["error"]["message"]

    for bad in ({"psi_max": -1}, {"days": 0}, {"accuracy": 1.5}, {"min_count": 0}):
        refused = api.post("/drift", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["type"] == "ValidationError"
