"""The REST API over the real servers: the same lifecycle as the CLI, errors as JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

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

    created = api.post("/campaigns", json={"name": "api-gold", "sample_id": sample_id})
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["status"] == "created" and campaign["ls_project_id"]
    dup = api.post("/campaigns", json={"name": "api-gold", "sample_id": sample_id})
    assert dup.status_code == 409 and dup.json()["error"]["type"] == "ConflictError"

    pushed = api.post(f"/campaigns/{campaign['id']}/push").json()
    assert (pushed["imported"], pushed["already_present"]) == (12, 0)
    assert api.post(f"/campaigns/{campaign['id']}/push").json()["imported"] == 0

    listed = api.get("/campaigns", params={"status": "pushed"}).json()
    assert [c["name"] for c in listed] == ["api-gold"]
    assert api.get(f"/campaigns/{campaign['id']}").json()["tasks_pushed"] == 12

    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(campaign["ls_project_id"])
    for task in tasks[:4]:
        expert.annotate(task["id"], ExpertAnswer(code=task["data"]["suggestions"][0]["value"]))
    exported = api.post(f"/campaigns/{campaign['id']}/export").json()
    assert exported["annotations"] == 4 and exported["status_counts"] == {"coded": 4}

    metrics = api.get(f"/campaigns/{campaign['id']}/metrics", params={"threshold": 0.5}).json()
    assert metrics["accuracy"]["estimate"] == pytest.approx(1.0)
    assert metrics["accuracy"]["n"] == 4
    assert 0 < metrics["accuracy"]["ci_low"] < 1


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
