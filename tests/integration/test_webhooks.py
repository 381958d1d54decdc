"""Label Studio's own webhook calls start the exports: the real API served by uvicorn, for real."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from sqlmodel import col

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.webhooks import EXPORT_ACTIONS, register_webhook
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import Campaign, utcnow
from campaigns.storage import Storage
from services.api.main import create_app
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"
TOKEN = "api-t0ken"  # the API's own: never stored in Label Studio
SECRET = "webhook-s3cret"  # what Label Studio's webhooks carry: it only starts exports


@pytest.fixture
def api_url(live_env, monkeypatch) -> Iterator[str]:
    """The API served by uvicorn on a free local port, in a thread of this process."""
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)
    monkeypatch.setenv("CAMPAIGNS_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def api(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as client:
        yield client


def wait_for(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def export_jobs(api: httpx.Client, campaign_id: int) -> list[dict]:
    listed = api.get("/jobs", params={"campaign_id": campaign_id})
    assert listed.status_code == 200, listed.text
    return [j for j in listed.json() if j["kind"] == "export"]


def finished(api: httpx.Client, job_id: str) -> dict | None:
    job = api.get(f"/jobs/{job_id}").json()
    return job if job["status"] in ("succeeded", "failed") else None


def settled(api: httpx.Client, campaign_id: int, count: int) -> list[dict] | None:
    """The export jobs once there are ``count`` and all are finished, else None."""
    found = export_jobs(api, campaign_id)
    done = all(j["status"] in ("succeeded", "failed") for j in found)
    return found if len(found) >= count and done else None


def gold_codes(campaign_id: int) -> dict[str, str | None]:
    settings = get_settings()
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, campaign_id)
        gold = gold_store.latest_gold(Storage.from_settings(settings), campaign)
    return {r["request_id"]: r["gold_code"] for r in gold.to_pylist()}


def set_export_lock(campaign_id: int, held: bool) -> None:
    """Hold or release the campaign's export lock, as a long CLI export would."""
    with session_scope(get_settings()) as session:
        session.execute(
            update(Campaign)
            .where(col(Campaign.id) == campaign_id)
            .values(export_started_at=utcnow() if held else None)
        )
        session.commit()


def test_label_studio_webhooks_trigger_debounced_exports(
    api: httpx.Client, api_url: str, cli, tmp_path: Path, label_studio
):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "500", "--end", END, "--seed", "5")
    cli("traffic", "ingest", str(logs))
    sample = api.post("/samples", json={"size": 10, "days": 30, "end": END, "seed": 1})
    assert sample.status_code == 201, sample.text
    created = api.post(
        "/campaigns",
        json={"name": "hooked", "sample_id": sample.json()["id"], "suggestions": "preselected"},
    )
    assert created.status_code == 201, created.text
    campaign_id, project_id = created.json()["id"], created.json()["ls_project_id"]
    pushed = api.post(f"/campaigns/{campaign_id}/push")
    assert pushed.status_code == 202, pushed.text
    push = wait_for(lambda: finished(api, pushed.json()["id"]), "the push")
    assert push["status"] == "succeeded", push

    gateway = LabelStudioGateway(label_studio.url, label_studio.token)
    receiver = f"{api_url}/webhooks/label-studio"
    hook_id = register_webhook(gateway, project_id, receiver, SECRET)
    assert register_webhook(gateway, project_id, receiver, SECRET) == hook_id  # idempotent
    hooks = gateway.http.get("/api/webhooks/", params={"project": project_id}).json()
    assert [h["id"] for h in hooks] == [hook_id]
    assert sorted(hooks[0]["actions"]) == sorted(EXPORT_ACTIONS)
    assert hooks[0]["headers"] == {"Authorization": f"Bearer {SECRET}"}
    assert export_jobs(api, campaign_id) == []  # no export before any annotation

    # One annotation: Label Studio calls the API, which exports it into a new export.
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(project_id)
    first = tasks[0]
    code = first["data"]["suggestions"][0]["value"]
    expert.annotate(first["id"], ExpertAnswer(code=code))
    [job] = wait_for(lambda: settled(api, campaign_id, 1), "the webhook's export job")
    assert job["status"] == "succeeded", job
    assert job["result"]["annotations"] == 1
    assert gold_codes(campaign_id) == {first["data"]["request_id"]: code}

    # A burst while another export holds the lock: every webhook joins one queued job.
    set_export_lock(campaign_id, held=True)
    try:
        burst = tasks[1:6]
        for task in burst:
            expert.annotate(task["id"], ExpertAnswer(code=task["data"]["suggestions"][0]["value"]))
        queued = [j for j in export_jobs(api, campaign_id) if j["id"] != job["id"]]
        assert [j["status"] for j in queued] == ["queued"]
    finally:
        set_export_lock(campaign_id, held=False)
    jobs_now = wait_for(lambda: settled(api, campaign_id, 2), "the burst's export job")
    assert len(jobs_now) == 2, jobs_now
    assert jobs_now[0]["status"] == "succeeded", jobs_now[0]
    assert jobs_now[0]["result"]["incremental"] and jobs_now[0]["result"]["annotations"] == 6
    assert set(gold_codes(campaign_id)) == {t["data"]["request_id"] for t in tasks[:6]}

    # An edit is a change too.
    annotation_id = expert.tasks(project_id)[0]["annotations"][0]["id"]
    other = first["data"]["suggestions"][1]["value"]
    expert.update(annotation_id, ExpertAnswer(code=other))
    wait_for(lambda: settled(api, campaign_id, 3), "the edit's export job")
    assert gold_codes(campaign_id)[first["data"]["request_id"]] == other


def test_webhooks_not_about_a_campaign_are_ignored(api: httpx.Client, api_url: str):
    hook = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {SECRET}"})
    unknown = hook.post(
        "/webhooks/label-studio", json={"action": "ANNOTATION_CREATED", "project": {"id": 98765}}
    )
    assert unknown.status_code == 200
    assert unknown.json() == {"ignored": "project 98765 is not a campaign's"}
    by_query = hook.post(
        "/webhooks/label-studio", params={"project": 98765}, json={"action": "ANNOTATION_UPDATED"}
    )
    assert by_query.status_code == 200 and "not a campaign" in by_query.json()["ignored"]
    other = hook.post(
        "/webhooks/label-studio", json={"action": "PROJECT_UPDATED", "project": {"id": 1}}
    )
    assert other.status_code == 200 and "does not change annotations" in other.json()["ignored"]
    nothing = hook.post("/webhooks/label-studio", json={"action": "ANNOTATION_CREATED"})
    assert nothing.status_code == 200 and "no project id" in nothing.json()["ignored"]
    anonymous = httpx.post(
        f"{api_url}/webhooks/label-studio", json={"action": "ANNOTATION_CREATED"}
    )
    assert anonymous.status_code == 401
    # The API's own token does not open the webhook route: only the webhook secret does.
    assert api.post("/webhooks/label-studio", json={"action": "X"}).status_code == 401
