"""The API's front door, against the real app on a real SQLite database (in process).

Authentication comes before the body is read, bodies are bounded, odd tokens are just wrong,
and Label Studio's webhook secret opens the webhook route only.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from campaigns.config import get_settings
from services.api.main import create_app

TOKEN = "api-t0ken"
SECRET = "webhook-s3cret"


@pytest.fixture
def client(local_env, monkeypatch) -> TestClient:
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)
    monkeypatch.setenv("CAMPAIGNS_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("CAMPAIGNS_API_MAX_BODY_BYTES", "100000")
    get_settings.cache_clear()
    yield TestClient(create_app())
    get_settings.cache_clear()


def _auth(token: str | bytes) -> dict[str, str | bytes]:
    return {
        "Authorization": (b"Bearer " + token) if isinstance(token, bytes) else f"Bearer {token}"
    }


def test_no_token_is_refused_before_the_body_is_read(client):
    read: list[int] = []

    def body():
        read.append(1)
        yield b"{" * 1_000_000

    response = client.post("/samples", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "Unauthorized"
    assert read == []


def test_a_deeply_nested_body_without_token_gets_401_not_400(client):
    nested = "[" * 50_000 + "]" * 50_000
    response = client.post("/samples", content=nested, headers={"content-type": "application/json"})
    assert response.status_code == 401


def test_a_body_over_the_limit_is_413_even_with_the_token(client):
    big = b'{"days": 1, "pad": "' + b"x" * 200_000 + b'"}'
    response = client.post("/samples", content=big, headers=_auth(TOKEN))
    assert response.status_code == 413
    assert "100,000 bytes" in response.json()["error"]["message"]


def test_a_streamed_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(30):
            yield b"x" * 10_000

    response = client.post("/samples", content=chunks(), headers=_auth(TOKEN))
    assert response.status_code == 413


@pytest.mark.parametrize("token", [b"\xe9t\xe9", b"\xff" * 40, b"", TOKEN.encode() + b"x"])
def test_odd_tokens_are_just_wrong(client, token):
    assert client.get("/campaigns", headers=_auth(token)).status_code == 401


def test_the_right_token_passes_and_bounds_hold(client):
    assert client.get("/campaigns", headers=_auth(TOKEN)).status_code == 200
    assert (
        client.get("/campaigns?offset=9223372036854775808", headers=_auth(TOKEN)).status_code == 422
    )


def test_the_webhook_secret_opens_the_webhook_route_only(client):
    event = {"action": "PROJECT_UPDATED"}
    hook = "/webhooks/label-studio?project=1"
    assert client.post(hook, json=event, headers=_auth(SECRET)).status_code == 200
    assert client.post(hook, json=event, headers=_auth(TOKEN)).status_code == 401
    assert client.get("/campaigns", headers=_auth(SECRET)).status_code == 401


def test_health_and_docs_stay_public(client):
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"size": 10, "end": "9999-12-31"},
        {"size": 10, "end": "0001-01-02"},
        {"size": 10, "seed": 10**30},
        {"size": 10, "seed": 2**31},
        {"size": 1_000_000},
        {"size": 10, "design": {"fixed": {"A": 10**6}}},
        {"size": 10, "design": {"confidence_edges": [1.5]}},
        {"size": 10, "design": {"prior_accuracy": [-0.1]}},
    ],
)
def test_out_of_range_sample_requests_are_422_not_500(client, body):
    response = client.post("/samples", json=body, headers=_auth(TOKEN))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == "ValidationError"
