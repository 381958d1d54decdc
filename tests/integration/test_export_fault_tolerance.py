"""The S3 server stops in the middle of an export, then restarts: the rerun completes it.

Readers follow ``LATEST``: while S3 is down and after it comes back, they see the previous
complete version, never a half-written file; the rerun then publishes a complete new version.
The test runs its own SeaweedFS server (the session one is shared by other tests) and stops it
for real; the only arrangement is the timing: the stop happens right after the export's first
file has been moved into place.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.config import Config

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from services.expert_simulator import ExpertAnswer, LabelStudioExpert
from services.local_stack import S3Server, start_s3

pytestmark = pytest.mark.integration
END = "2026-09-30"
NAME = "s3-fault"
BUCKET = "fault-tolerance"
PREFIX = "campaigns"
ACCESS_KEY = "campaigns"


def fixed_s3_port() -> int:
    """A free port for the S3 endpoint, kept across the restart; SeaweedFS also binds +10000."""
    for _ in range(200):
        port = 20000 + secrets.randbelow(9000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("No free port for the test's S3 server.")


class OwnS3:
    """A SeaweedFS server of this test alone, which can be stopped and restarted in place."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = fixed_s3_port()
        self.secret_key = secrets.token_hex(16)
        self.server: S3Server | None = None

    def start(self) -> S3Server:
        self.server = start_s3(
            self.data_dir, access_key=ACCESS_KEY, secret_key=self.secret_key, port=self.port
        )
        return self.server

    def stop(self) -> None:
        """Stop the server as ``S3Server.stop()`` does (SIGTERM to its process group).

        The process is this test's child: reaping it here lets the stop return as soon as the
        server has exited (``S3Server.stop()`` alone would see the zombie and wait 15 s).
        """
        if self.server is None:
            return
        server, self.server = self.server, None
        pid = server.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
                time.sleep(0.05)
        server.stop()  # returns at once if it is gone; SIGKILLs whatever is left otherwise

    def client(self):
        assert self.server is not None
        return boto3.client(
            "s3",
            endpoint_url=self.server.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
            ),
        )

    def keys(self) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[OwnS3]:
    s3 = OwnS3(tmp_path / "s3")
    s3.start()
    yield s3
    s3.stop()


@pytest.fixture
def fault_env(tmp_path, monkeypatch, own_s3: OwnS3, label_studio, database_url) -> dict[str, str]:
    """Settings pointing at this test's S3 server, the real Label Studio and a fresh database."""
    monkeypatch.chdir(tmp_path)
    assert own_s3.server is not None
    env = (
        own_s3.server.env(f"s3://{BUCKET}/{PREFIX}")
        | label_studio.env()
        | {"CAMPAIGNS_DATABASE_URL": database_url}
    )
    for key in [k for k in os.environ if k.startswith("CAMPAIGNS_")]:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def campaign_state(name: str):
    with session_scope(get_settings()) as session:
        campaign = crud.get_campaign(session, name)
        session.expunge(campaign)
    return campaign


def latest_gold_rows(name: str) -> int:
    """The project's own reader (follows LATEST), as the metrics and the dashboard do."""
    settings = get_settings()
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, name)
        return gold_store.latest_gold(Storage.from_settings(settings), campaign).num_rows


def read_latest(s3: OwnS3, campaign_id: int) -> tuple[str, dict[str, bytes]]:
    """What a reader sees: the LATEST pointer and the files of the version it names."""
    client = s3.client()
    base = f"{PREFIX}/exports/campaign={campaign_id}"
    version = client.get_object(Bucket=BUCKET, Key=f"{base}/LATEST")["Body"].read().decode()
    files = {
        name: client.get_object(Bucket=BUCKET, Key=f"{base}/version={version}/{name}")[
            "Body"
        ].read()
        for name in ("annotations.parquet", "gold.parquet")
    }
    return version.strip(), files


def parquet_rows(data: bytes) -> list[dict]:
    return pq.read_table(pa.BufferReader(data)).to_pylist()


def assert_no_partial_export_files(keys: list[str], campaign_id: int) -> None:
    exports = [k for k in keys if k.startswith(f"{PREFIX}/exports/") and not k.endswith("/")]
    assert not any("_tmp" in k or k.endswith(".part") for k in exports), exports
    allowed = ("/annotations.parquet", "/gold.parquet")
    for key in exports:
        assert key == f"{PREFIX}/exports/campaign={campaign_id}/LATEST" or key.endswith(allowed)
    assert all(k.startswith(f"{PREFIX}/_tmp/") for k in keys if k.endswith(".part")), (
        "a .part file outside _tmp/"
    )


def test_s3_stopped_mid_export_then_restarted_gives_a_complete_export(
    fault_env, own_s3: OwnS3, cli, tmp_path: Path, label_studio, monkeypatch
):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "400", "--end", END, "--seed", "5")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "16", "--seed", "7")
    with session_scope(get_settings()) as session:
        sample_id = crud.list_samples(session)[0].id
    cli("create", NAME, "--sample", sample_id, "--suggestions", "preselected")
    cli("push", NAME)
    campaign = campaign_state(NAME)
    assert campaign.id is not None and campaign.ls_project_id is not None

    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(campaign.ls_project_id)
    assert len(tasks) == 16
    expected: dict[str, tuple[str, str | None]] = {}

    def annotate(task: dict, index: int) -> None:
        rid = task["data"]["request_id"]
        if index % 5 == 4:
            expert.annotate(task["id"], ExpertAnswer(cannot_code=True))
            expected[rid] = ("cannot_code", None)
        else:
            code = task["data"]["suggestions"][index % 2]["value"]
            expert.annotate(task["id"], ExpertAnswer(code=code))
            expected[rid] = ("coded", code)

    for i, task in enumerate(tasks[:5]):
        annotate(task, i)
    assert "Exported 5 annotations" in cli("export", NAME).output
    first_version, first_files = read_latest(own_s3, campaign.id)
    first_rows = parquet_rows(first_files["gold.parquet"])
    assert len(first_rows) == 5

    for i, task in enumerate(tasks[5:12], start=5):
        annotate(task, i)

    # Stop the real S3 server right after the export's first file is in place.
    original = Storage.write_bytes
    written: list[str] = []

    def write_then_stop(self: Storage, data: bytes, *parts: str) -> str:
        uri = original(self, data, *parts)
        written.append("/".join(parts))
        if len(written) == 1:
            own_s3.stop()
        return uri

    monkeypatch.setattr(Storage, "write_bytes", write_then_stop)
    result = cli("export", NAME, ok=False)
    monkeypatch.setattr(Storage, "write_bytes", original)
    assert result.exit_code == 2, result.output
    assert "Storage error at s3://" in result.output
    assert "S3 server is reachable" in result.output
    assert len(written) == 1 and written[0].endswith("/annotations.parquet"), written
    half_version = written[0].split("version=")[1].split("/")[0]
    assert half_version != first_version

    # While S3 is down the CLI says so; it does not hang or leave a traceback.
    down = cli("export", NAME, ok=False)
    assert down.exit_code == 2, down.output
    assert f"Cannot reach S3 at {fault_env['CAMPAIGNS_S3_ENDPOINT_URL']}" in down.output

    own_s3.start()
    # Readers still see the previous complete version, and nothing half-written.
    version, files = read_latest(own_s3, campaign.id)
    assert version == first_version
    assert files == first_files
    keys = own_s3.keys()
    assert_no_partial_export_files(keys, campaign.id)
    assert (
        f"{PREFIX}/exports/campaign={campaign.id}/version={half_version}/gold.parquet" not in keys
    )
    half = own_s3.client().get_object(
        Bucket=BUCKET,
        Key=f"{PREFIX}/exports/campaign={campaign.id}/version={half_version}/annotations.parquet",
    )
    assert len(parquet_rows(half["Body"].read())) == 12  # moved into place whole, never torn
    assert latest_gold_rows(NAME) == len(first_rows)
    state = campaign_state(NAME)
    assert state.last_export_version == first_version
    assert state.export_started_at is None  # the export lock was released despite the failure

    # The rerun is not refused and publishes a complete new version with every annotation.
    out = cli("export", NAME).output
    assert "Exported 12 annotations" in out and "incremental: 7 tasks read" in out, out
    version, files = read_latest(own_s3, campaign.id)
    assert version not in (first_version, half_version)
    gold = {
        r["request_id"]: (r["status"], r["gold_code"]) for r in parquet_rows(files["gold.parquet"])
    }
    assert gold == expected
    assert len(parquet_rows(files["annotations.parquet"])) == 12
    assert campaign_state(NAME).last_export_version == version
    assert_no_partial_export_files(own_s3.keys(), campaign.id)
    assert latest_gold_rows(NAME) == 12  # the project's own reader agrees
