"""A validation campaign exported from Label Studio's S3 export storage, on the real servers.

Label Studio 1.23 writes one object per annotation to the real S3 server (a target storage
created through its API, as an office configures it); ``campaigns export --from-storage``
reads them into the same snapshot as the API export, then only what changed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa
import pytest
from label_studio_sdk import LabelStudio

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"
COMPARED = ["request_id", "task_id", "annotation_id", "annotator", "status", "code",
            "given_code", "confirmed", "updated_at"]  # fmt: skip


def region(name: str, kind: str, value: dict) -> dict:
    return {"from_name": name, "to_name": "text", "type": kind, "value": value}


def yes() -> list[dict]:
    return [region("verdict", "choices", {"choices": ["yes"]})]


def no(code: str) -> list[dict]:
    return [
        region("verdict", "choices", {"choices": ["no"]}),
        region("taxonomy", "taxonomy", {"taxonomy": [["?", code[:2], code]]}),
    ]


def snapshot(name: str) -> tuple[pa.Table, dict]:
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, name)
        annotations = gold_store.latest_annotations(storage, campaign)
        gold = gold_store.latest_gold(storage, campaign)
    gold_rows = {r["request_id"]: (r["status"], r["gold_code"]) for r in gold.to_pylist()}
    return annotations.select(COMPARED).sort_by("annotation_id"), gold_rows


def wait_for_keys(s3_client, bucket: str, expected: set[str], timeout: float = 30) -> None:
    """Label Studio pushes to its storage inside the request, but give it a moment."""
    deadline = time.monotonic() + timeout
    keys: set[str] = set()
    while time.monotonic() < deadline:
        listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="ann/").get("Contents", [])
        keys = {o["Key"] for o in listed}
        if keys == expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"storage holds {sorted(keys)}, expected {sorted(expected)}")


def test_validation_campaign_exported_from_the_export_storage(
    live_env, cli, tmp_path: Path, label_studio, s3_server, s3_client, bucket
):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "400", "--end", END, "--seed", "5")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "12", "--seed", "2")
    with session_scope(get_settings()) as session:
        sample_id = crud.list_samples(session)[0].id
    out = cli("validation", "create", "check", "--sample", sample_id, "--overlap", "2").output
    assert "Validation campaign" in out
    cli("push", "check")
    with session_scope(get_settings()) as session:
        project = crud.get_campaign(session, "check").ls_project_id
    first = LabelStudioExpert(label_studio.url, label_studio.token, annotator="valerie")
    second = LabelStudioExpert(label_studio.url, label_studio.token, annotator="victor")
    tasks = first.tasks(project)
    assert len(tasks) == 12
    given = {t["id"]: t["data"]["given_code"] for t in tasks}
    assert all(t["data"]["given_code_display"].startswith("Code proposé") for t in tasks)
    taken = {given[tasks[1]["id"]], given[tasks[3]["id"]]}
    other = next(c for c in ("47.24Z", "10.71C", "62.01Z") if c not in taken)

    def annotate(expert: LabelStudioExpert, task: dict, result: list[dict], **extra) -> int:
        payload = {"result": result, "completed_by": expert.user_id, "lead_time": 4.0, **extra}
        resp = expert.client.post(f"/api/tasks/{task['id']}/annotations/", json=payload)
        resp.raise_for_status()
        return int(resp.json()["id"])

    # Annotations made before the storage exists: Label Studio pushes them at its creation.
    ids = [
        annotate(first, tasks[0], yes()),
        annotate(second, tasks[0], yes()),
        annotate(first, tasks[1], no(other)),
        annotate(second, tasks[1], no(other)),
        annotate(first, tasks[2], [], was_cancelled=True),
    ]
    client = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    client.export_storage.s3.create(
        project=project,
        bucket=bucket,
        prefix="ann",
        s3endpoint=s3_server.endpoint,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
        can_delete_objects=True,
    )
    wait_for_keys(s3_client, bucket, {f"ann/{i}" for i in ids})
    # One made after: pushed as it is saved.
    ids.append(annotate(first, tasks[3], yes()))
    wait_for_keys(s3_client, bucket, {f"ann/{i}" for i in ids})

    out = cli("export", "check", "--from-storage", f"s3://{bucket}/ann").output
    assert "full: 6 of 6 objects read" in out
    from_storage, gold = snapshot("check")
    assert gold[tasks[0]["data"]["request_id"]] == ("coded", given[tasks[0]["id"]])
    assert gold[tasks[1]["data"]["request_id"]] == ("coded", other)
    assert gold[tasks[2]["data"]["request_id"]] == ("skipped", None)
    # The API export of the same annotations gives the same snapshot.
    cli("export", "check", "--full")
    from_api, gold_api = snapshot("check")
    assert from_storage.equals(from_api) and gold == gold_api

    # Edit one, delete one, add one: the storage follows, the export reads only those.
    first.client.patch(f"/api/annotations/{ids[5]}/", json={"result": no(other)}).raise_for_status()
    first.client.delete(f"/api/annotations/{ids[4]}/").raise_for_status()
    ids.append(annotate(second, tasks[3], no(other)))
    wait_for_keys(s3_client, bucket, {f"ann/{i}" for i in ids if i != ids[4]})
    out = cli("export", "check", "--from-storage", f"s3://{bucket}/ann").output
    assert "full: 6 of 6 objects read" in out  # the API export in between has no cursor
    out = cli("export", "check", "--from-storage", f"s3://{bucket}/ann").output
    assert "incremental: 0 of 6 objects read" in out
    second.client.delete(f"/api/annotations/{ids[1]}/").raise_for_status()
    wait_for_keys(s3_client, bucket, {f"ann/{i}" for i in ids if i not in (ids[1], ids[4])})
    out = cli("export", "check", "--from-storage", f"s3://{bucket}/ann").output
    assert "incremental: 0 of 5 objects read" in out and "1 removed" in out
    incremental, gold = snapshot("check")
    cli("export", "check", "--full")
    assert incremental.equals(snapshot("check")[0]) and gold == snapshot("check")[1]
    assert tasks[2]["data"]["request_id"] not in gold  # its only annotation was deleted
    assert gold[tasks[3]["data"]["request_id"]] == ("coded", other)

    # The validation figures read the exported snapshot.
    figures = json.loads(cli("validation", "metrics", "check", "--json").output)
    assert figures["units_with_a_code"] == 3
    assert figures["confirmed"]["estimate"] == pytest.approx(1 / 3)
    assert set(figures["by_mode"]) == {"automatic", "manual", "unknown"}
    assert figures["corrections"] == len(taken)  # each given code -> other
    assert set(figures["tables"]) >= {"figures", "by_mode", "corrections", "review"}


def test_an_empty_or_unreadable_prefix_is_a_clear_error(
    live_env, cli, tmp_path: Path, label_studio, s3_client, bucket
):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "100", "--end", END, "--seed", "6")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "3", "--seed", "1")
    with session_scope(get_settings()) as session:
        sample_id = crud.list_samples(session)[0].id
    cli("validation", "create", "empty", "--sample", sample_id)
    result = cli("export", "empty", "--from-storage", f"s3://{bucket}/ann", ok=False)
    assert result.exit_code == 2 and "No object under" in result.output
    assert "trailing" in result.output
    result = cli("export", "empty", "--from-storage", "s3://no-such-bucket-here/ann", ok=False)
    assert result.exit_code == 2 and "no-such-bucket-here" in result.output
    s3_client.put_object(Bucket=bucket, Key="ann/1", Body=b"<html>not an annotation</html>")
    result = cli("export", "empty", "--from-storage", f"s3://{bucket}/ann", ok=False)
    assert result.exit_code == 2 and "none an annotation" in result.output
