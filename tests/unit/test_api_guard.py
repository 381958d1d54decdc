"""The API's front door, against the real app on a real SQLite database (in process).

Authentication comes before the body is read, bodies are bounded, odd tokens are just wrong,
and Label Studio's webhook secret opens the webhook route only. Without a token the API
answers loopback clients only: the test client's peer ("testclient") is not one.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import httpx
import pytest
import uvicorn
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


# -- without a token, the API answers its own machine only

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def tokenless(local_env) -> None:
    get_settings.cache_clear()  # local_env sets no token, no webhook secret
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.0.1", "::1", "::ffff:127.0.0.1"])
def test_without_a_token_loopback_clients_are_answered(tokenless, peer):
    response = TestClient(create_app(), client=(peer, 50000)).get("/campaigns")
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    "peer", ["testclient", "192.0.2.2", "10.0.0.7", "fd00::2", "::ffff:10.0.0.7"]
)
def test_without_a_token_other_clients_get_403_with_a_hint(tokenless, peer):
    response = TestClient(create_app(), client=(peer, 50000)).get("/campaigns")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "Forbidden"
    assert "CAMPAIGNS_API_TOKEN is unset" in error["message"]
    assert "Set CAMPAIGNS_API_TOKEN" in error["hint"]


def test_without_a_token_a_remote_body_is_never_read(tokenless):
    read: list[int] = []

    def body():
        read.append(1)
        yield b'{"size": 10}'

    remote = TestClient(create_app(), client=("192.0.2.2", 50000))
    response = remote.post("/samples", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 403
    assert read == []


def test_without_a_token_the_webhook_route_is_local_too_unless_it_has_its_secret(
    tokenless, monkeypatch
):
    event, hook = {"action": "PROJECT_UPDATED"}, "/webhooks/label-studio?project=1"
    remote = TestClient(create_app(), client=("192.0.2.2", 50000))
    assert remote.post(hook, json=event).status_code == 403
    assert TestClient(create_app(), client=LOOPBACK).post(hook, json=event).status_code == 200
    monkeypatch.setenv("CAMPAIGNS_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    assert remote.post(hook, json=event, headers=_auth(SECRET)).status_code == 200
    assert remote.post(hook, json=event).status_code == 401


def test_without_a_token_health_and_docs_stay_public(tokenless):
    remote = TestClient(create_app(), client=("192.0.2.2", 50000))
    assert remote.get("/health").status_code == 200
    assert remote.get("/openapi.json").status_code == 200


def test_allow_open_serves_everyone_knowingly(tokenless, monkeypatch):
    monkeypatch.setenv("CAMPAIGNS_API_ALLOW_OPEN", "true")
    get_settings.cache_clear()
    assert TestClient(create_app()).get("/campaigns").status_code == 200


def test_a_token_serves_remote_clients_that_send_it(client):
    remote = TestClient(create_app(), client=("192.0.2.2", 50000))
    assert remote.get("/campaigns", headers=_auth(TOKEN)).status_code == 200
    assert remote.get("/campaigns").status_code == 401


def _own_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None when it has none."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET: only picks the outgoing interface
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if ipaddress.ip_address(address).is_loopback else address


def test_uvicorn_on_every_address_without_a_token_answers_only_loopback(tokenless):
    """The README's way to run the API, for real: uvicorn on 0.0.0.0 with no token set."""
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        local = httpx.get(f"http://127.0.0.1:{port}/campaigns", timeout=10, trust_env=False)
        remote = httpx.get(f"http://{address}:{port}/campaigns", timeout=10, trust_env=False)
        health = httpx.get(f"http://{address}:{port}/health", timeout=10, trust_env=False)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert (local.status_code, local.json()) == (200, [])
    assert remote.status_code == 403
    assert remote.json()["error"]["type"] == "Forbidden"
    assert health.status_code == 200


def test_the_openapi_schema_documents_the_403_body():
    responses = create_app().openapi()["paths"]["/campaigns"]["get"]["responses"]
    assert responses["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
