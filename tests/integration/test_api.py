"""The REST API over the real servers: the same lifecycle as the CLI, errors as JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campaigns.config import get_settings
from campaigns.storage import Storage
from services.api.main import create_app
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"


@pytest.fixture
def api(live_env, monkeypatch) -> TestClient:
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", "s3cret-token")
    from campaigns.config import get_settings

    get_settings.cache_clear()
    return TestClient(create_app(), headers={"Authorization": "Bearer s3cret-token"})


def test_api_lifecycle(api: TestClient, cli, tmp_path: Path, label_studio):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "800", "--end", END, "--seed", "4")
    cli("traffic", "ingest", str(logs))

    assert api.get("/health").json() == {"status": "ok"}
    sample = api.post("/samples", json={"size": 12, "days": 30, "end": END, "seed": 2})
    assert sample.status_code == 201, sample.text
    sample_id = sample.json()["id"]
    assert sample.json()["sample_size"] == 12

    created = api.post(
        "/campaigns",
        json={"name": "api-gold", "sample_id": sample_id, "suggestions": "preselected"},
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["status"] == "created" and campaign["ls_project_id"]
    dup = api.post(
        "/campaigns",
        json={"name": "api-gold", "sample_id": sample_id, "suggestions": "preselected"},
    )
    assert dup.status_code == 409 and dup.json()["error"]["type"] == "ConflictError"

    started = api.post(f"/campaigns/{campaign['id']}/push")
    assert started.status_code == 202 and started.json()["kind"] == "push"
    job = finished(api, started)
    assert job["status"] == "succeeded" and job["done"] == 12
    assert (job["result"]["imported"], job["result"]["already_present"]) == (12, 0)
    again = finished(api, api.post(f"/campaigns/{campaign['id']}/push"))
    assert again["result"]["imported"] == 0
    jobs = api.get("/jobs", params={"campaign_id": campaign["id"]}).json()
    assert [j["id"] for j in jobs] == [again["id"], job["id"]]  # most recent first

    listed = api.get("/campaigns", params={"status": "pushed"}).json()
    assert [c["name"] for c in listed] == ["api-gold"]
    assert api.get(f"/campaigns/{campaign['id']}").json()["tasks_pushed"] == 12

    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(campaign["ls_project_id"])
    for task in tasks[:4]:
        expert.annotate(task["id"], ExpertAnswer(code=task["data"]["suggestions"][0]["value"]))
    second = LabelStudioExpert(label_studio.url, label_studio.token, annotator="expert-2")
    for task in tasks[:2]:  # overlap on two tasks: one agreement, one disagreement
        code = task["data"]["suggestions"][0 if task["id"] == tasks[0]["id"] else 1]["value"]
        second.annotate(task["id"], ExpertAnswer(code=code))
    progress = api.get(f"/campaigns/{campaign['id']}/progress").json()
    assert (progress["tasks"], progress["tasks_annotated"], progress["annotations"]) == (12, 4, 6)
    assert progress["agreement"] is None  # not exported yet

    exported = finished(api, api.post(f"/campaigns/{campaign['id']}/export"))["result"]
    assert exported["annotations"] == 6
    assert exported["status_counts"] == {"coded": 3, "disagreement": 1}
    agreement = api.get(f"/campaigns/{campaign['id']}/progress").json()["agreement"]
    assert agreement["tasks_with_overlap"] == 2 and agreement["percent_agreement"] == 0.5

    got = api.get(f"/campaigns/{campaign['id']}/metrics", params={"threshold": 0.5}).json()
    accuracy = got["summary"]["figures"]["accuracy"]
    assert accuracy["estimate"] == pytest.approx(1.0)
    assert accuracy["n"] == 3
    assert 0 < accuracy["ci_low"] < 1
    # One metrics path: the CLI, the GET, the job and the dashboard give the same figures.
    printed = cli("metrics", str(campaign["id"]), "--threshold", "0.5", "--no-write", "--json")
    assert json.loads(printed.stdout)["summary"] == got["summary"]
    job = finished(api, api.post(f"/campaigns/{campaign['id']}/metrics?threshold=0.5"))
    assert job["status"] == "succeeded", job
    assert job["result"]["summary"] == got["summary"]
    storage = Storage.from_settings(get_settings())
    figures = storage.read_table(
        job["result"]["tables"]["figures"].removeprefix(storage.root_uri + "/")
    )
    row = next(r for r in figures.to_pylist() if r["figure"] == "accuracy")
    assert row["estimate"] == pytest.approx(accuracy["estimate"])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (accuracy["ci_low"], accuracy["ci_high"])
    )

    archived = api.post(f"/campaigns/{campaign['id']}/archive").json()
    assert archived["status"] == "archived"
    refused = api.post(f"/campaigns/{campaign['id']}/push")
    assert refused.status_code == 409 and "archived" in refused.json()["error"]["message"]


def finished(api: TestClient, started) -> dict:
    """Poll a job until it ends (the test client runs background tasks before returning)."""
    assert started.status_code == 202, started.text
    for _ in range(100):
        job = api.get(f"/jobs/{started.json()['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}")


def test_api_errors_are_json_with_a_stable_shape(api: TestClient):
    missing = api.get("/campaigns/999")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NotFoundError"
    assert "campaigns list" in missing.json()["error"]["hint"]
    bad = api.post("/samples", json={"size": -1})
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "ValidationError"
    no_metrics = api.post("/campaigns", json={"name": "x-y-z", "sample_id": "nope"})
    assert no_metrics.status_code == 404


def test_api_requires_the_bearer_token(api: TestClient):
    anonymous = TestClient(create_app())
    refused = anonymous.get("/campaigns")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith("Missing or wrong bearer token")
    assert anonymous.get("/health").status_code == 200
