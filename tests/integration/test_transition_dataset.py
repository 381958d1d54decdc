"""The whole training set in NAF 2025 against the real servers: two batches, the dataset, and
validation tasks accepted and read back by Label Studio."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from campaigns.config import get_settings
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.kinds import transition_kit
from campaigns.labelstudio.transition.config import CANDIDATE, SCOPE
from campaigns.labelstudio.transition.validation_tasks import (
    NO,
    VERDICT,
    YES,
)
from campaigns.recoding.simulation import study_codes
from campaigns.recoding.synthetic import synthetic_transition
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from nace_mapping import Correspondence
from services.api.main import create_app
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def annotate_all(expert: LabelStudioExpert, project_id: int, truth: dict[str, str]) -> int:
    tasks = expert.tasks(project_id)
    for task in tasks:
        code = truth[task["data"]["request_id"]]
        result = [choice(SCOPE, "in_scope"), choice(CANDIDATE, code)]
        response = expert.client.post(
            f"/api/tasks/{task['id']}/annotations/", json={"result": result}
        )
        response.raise_for_status()
    return len(tasks)


def test_two_batches_then_the_dataset(live_env, cli, tmp_path: Path, label_studio):
    correspondence = Correspondence.builtin()
    codes = study_codes(correspondence, multivocal=4, univocal=10, seed=2)
    data = synthetic_transition(correspondence, rows=1500, seed=4, old_codes=codes)
    truth = dict(
        zip(
            data.truth.column("request_id").to_pylist(),
            data.truth.column("true_code").to_pylist(),
            strict=True,
        )
    )
    source = tmp_path / "training.parquet"
    pq.write_table(data.table, source)
    cli("transition", "create", "naf25-ds", "--input", str(source), "--size", "30")
    cli("push", "naf25-ds")
    settings = get_settings()
    with session_scope(settings) as session:
        first = crud.get_campaign(session, "naf25-ds")
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    assert annotate_all(expert, first.ls_project_id, truth) == 30
    cli("export", "naf25-ds")

    out = cli("transition", "dataset", "naf25-ds").output
    assert "30 answered in 1 batch" in out and "candidate model" in out

    out = cli("transition", "next-batch", "naf25-ds", "--size", "20").output
    sample_id = re.search(r"--sample (transition-batch-[0-9a-f]+)", out).group(1)
    out = cli("transition", "create-batch", "naf25-ds", "--sample", sample_id).output
    assert "naf25-ds-r2" in out
    cli("push", "naf25-ds-r2")
    with session_scope(settings) as session:
        second = crud.get_campaign(session, "naf25-ds-r2")
    assert annotate_all(expert, second.ls_project_id, truth) == 20
    cli("export", "naf25-ds-r2")

    out = cli("transition", "dataset", "naf25-ds").output
    assert "50 answered in 2 batch" in out
    storage = Storage.from_settings(settings)
    dataset = storage.read_table("transition/naf25-ds/dataset.parquet")
    assert dataset.num_rows == 1500
    expert_rows = dataset.filter(pc.equal(dataset.column("provenance"), "expert")).to_pylist()
    assert len(expert_rows) == 50
    assert all(r["code"] == truth[r["request_id"]] and r["agreement"] == 1.0 for r in expert_rows)

    # A third batch through the API, all of it confirm-or-reject tasks (--validate-above 0).
    api = TestClient(create_app(), client=("127.0.0.1", 50000))
    cid = first.id
    started = api.post(
        f"/transition/campaigns/{cid}/batches", json={"size": 10, "validate_above": 0.0}
    )
    assert started.status_code == 202, started.text
    job = api.get(f"/jobs/{started.json()['id']}").json()
    assert job["status"] == "succeeded", job
    (part,) = job["result"]["samples"]
    assert part["part"] == "validate" and part["size"] == 10
    created = api.post(
        f"/transition/campaigns/{cid}/batches/campaigns", json={"sample_id": part["id"]}
    )
    assert created.status_code == 201, created.text
    third = created.json()
    assert third["name"] == "naf25-ds-r3-validate"
    cli("push", third["name"])
    tasks = expert.tasks(third["ls_project_id"])
    assert len(tasks) == 10
    confirmed = 0
    for task in tasks:
        data = task["data"]
        right = truth[data["request_id"]]
        if data["proposed_code"] == right:
            result = [choice(VERDICT, YES)]
            confirmed += 1
        else:
            result = [choice(VERDICT, NO), choice(CANDIDATE, right)]
        response = expert.client.post(
            f"/api/tasks/{task['id']}/annotations/", json={"result": result}
        )
        response.raise_for_status()
    cli("export", third["name"])
    out = cli("transition", "dataset", "naf25-ds").output
    assert "60 answered in 3 batch" in out
    dataset = storage.read_table("transition/naf25-ds/dataset.parquet")
    expert_rows = dataset.filter(pc.equal(dataset.column("provenance"), "expert")).to_pylist()
    assert len(expert_rows) == 60
    assert all(r["code"] == truth[r["request_id"]] for r in expert_rows)
    assert "proposed code confirmed" in out and 0 < confirmed <= 10


def test_validation_tasks_are_accepted_and_read_back_by_label_studio(live_env, label_studio):
    settings = get_settings()
    kit = transition_kit(validate=True, settings=settings)
    gateway = LabelStudioGateway.from_settings(settings)
    project = gateway.create_project("transition validation", kit.label_config())
    sample = pa.table(
        {
            "request_id": ["v1", "v2"],
            "text": ["CULTURE DE MELONS", "VENTE DE POIRES"],
            "old_code": ["01.19Z", "01.28Z"],
            "candidates": [["01.13Y", "01.19Y"], ["01.13Y", "01.28Y"]],
            "proposed_code": ["01.13Y", "01.28Y"],
            "confidence": [0.93, 0.81],
        }
    )
    assert gateway.import_tasks(project, kit.tasks(sample, 99)) == 2
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = {t["data"]["request_id"]: t for t in expert.tasks(project)}
    for rid, result in (
        ("v1", [choice(VERDICT, YES)]),
        ("v2", [choice(VERDICT, NO), choice(CANDIDATE, "01.13Y")]),
    ):
        response = expert.client.post(
            f"/api/tasks/{tasks[rid]['id']}/annotations/", json={"result": result}
        )
        response.raise_for_status()
    rows = {
        r["request_id"]: r for r in kit.annotations(gateway.annotated_tasks(project)).to_pylist()
    }
    assert (rows["v1"]["status"], rows["v1"]["code"], rows["v1"]["confirmed"]) == (
        "coded",
        "01.13Y",
        True,
    )
    assert (rows["v2"]["code"], rows["v2"]["confirmed"]) == ("01.13Y", False)
