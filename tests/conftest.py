"""Test harness: a real Label Studio server and a real S3 server, started once per session.

Both run as local processes on 127.0.0.1 (see ``services/local_stack.py``): Label Studio from
its own virtual environment (installed on first use), SeaweedFS as the S3 server. With
``CAMPAIGNS_TEST_DATABASE=postgresql`` the campaign database is a real PostgreSQL server
(Debian's binaries) instead of SQLite.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from campaigns.config import get_settings
from services.local_stack import (
    LabelStudioServer,
    PostgresServer,
    S3Server,
    start_label_studio_copy,
    start_postgres,
    start_s3,
)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_s3(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    server = start_label_studio_copy(tmp_path_factory.mktemp("label-studio"))
    yield server
    server.stop()


@pytest.fixture
def s3_client(s3_server: S3Server):  # a real boto3 client on the real server
    return boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
        ),
    )


@pytest.fixture
def bucket(s3_client) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def _apply_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith("CAMPAIGNS_")]:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """A real PostgreSQL server when CAMPAIGNS_TEST_DATABASE=postgresql, else None (SQLite)."""
    if os.environ.get("CAMPAIGNS_TEST_DATABASE", "sqlite") != "postgresql":
        yield None
        return
    # Not under pytest's tmp dir: the 'postgres' user must be able to reach the folder.
    server = start_postgres(Path(tempfile.mkdtemp(prefix="campaigns-pg-")))
    yield server
    server.stop()


@pytest.fixture
def database_url(tmp_path: Path, postgres: PostgresServer | None) -> str:
    """A fresh, empty database per test: SQLite file, or a new PostgreSQL database."""
    if postgres is None:
        return f"sqlite:///{tmp_path / 'campaigns.db'}"
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for a local storage root and SQLite, no services."""
    monkeypatch.chdir(tmp_path)
    env = {
        "CAMPAIGNS_STORAGE_ROOT": str(tmp_path / "store"),
        "CAMPAIGNS_DATABASE_URL": f"sqlite:///{tmp_path / 'campaigns.db'}",
    }
    _apply_env(monkeypatch, env)
    yield env
    get_settings.cache_clear()


@pytest.fixture
def live_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Server,
    label_studio: LabelStudioServer,
    bucket: str,
    database_url: str,
) -> dict[str, str]:
    """Settings pointing at the real S3 (a fresh bucket), Label Studio and database."""
    monkeypatch.chdir(tmp_path)
    env = (
        s3_server.env(f"s3://{bucket}/campaigns")
        | label_studio.env()
        | {"CAMPAIGNS_DATABASE_URL": database_url}
    )
    _apply_env(monkeypatch, env)
    yield env
    get_settings.cache_clear()


@pytest.fixture
def s3_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Server,
    bucket: str,
    database_url: str,
) -> dict[str, str]:
    """Settings pointing at the real S3 server (a fresh bucket) and database; no Label Studio."""
    monkeypatch.chdir(tmp_path)
    env = s3_server.env(f"s3://{bucket}/campaigns") | {"CAMPAIGNS_DATABASE_URL": database_url}
    _apply_env(monkeypatch, env)
    yield env
    get_settings.cache_clear()


@pytest.fixture
def cli():
    from services.cli import app

    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke
