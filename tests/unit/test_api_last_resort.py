"""An error nothing else handles still gets the documented JSON body, a 500 and a request id,
and the traceback is logged under that id. The failure here is real: a campaign database
file that is not a database (a corrupt disk, a wrong path), which SQLAlchemy raises on."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from campaigns.config import get_settings
from services.api.main import create_app

TOKEN = "last-res0rt"


@pytest.fixture
def broken_database(tmp_path, local_env, monkeypatch):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not an SQLite database, only bytes " * 100)
    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", f"sqlite:///{corrupt}")
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_an_unexpected_error_is_a_json_500_with_a_request_id_in_the_log(broken_database, caplog):
    client = TestClient(
        create_app(),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with caplog.at_level(logging.ERROR, logger="services.api.main"):
        response = client.get("/jobs")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"type", "message", "hint"}
    assert error["type"] == "InternalError"
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id)
    assert request_id in error["message"] and request_id in error["hint"]
    # Nothing of the failure's inside reaches the client.
    assert "sqlite" not in response.text.lower() and "Traceback" not in response.text

    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1
    assert "GET /jobs" in logged[0].getMessage()
    assert logged[0].exc_info is not None
    assert "file is not a database" in str(logged[0].exc_info[1])


def test_each_failure_gets_its_own_request_id(broken_database):
    client = TestClient(
        create_app(),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    ids = {client.get("/campaigns").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_the_openapi_schema_documents_the_500_body():
    operation = create_app().openapi()["paths"]["/jobs"]["get"]
    assert operation["responses"]["500"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
