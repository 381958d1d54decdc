"""A transition campaign driven through the REST API alone, against the real servers.

The manager puts the table to recode on the storage root (S3 here), creates the campaign as
a job, pushes, lets experts answer, exports, reads the split and turns the gold into training
rows compared with the old training set (a CSV on S3, copied locally for the reader) - the
operations that used to exist only in the CLI.
"""

from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from fastapi.testclient import TestClient

from campaigns.config import get_settings
from campaigns.labelstudio.transition.config import CANDIDATE, SCOPE
from campaigns.nomenclatures import correspondence, new_nomenclature
from campaigns.storage import Storage
from services.api.main import create_app
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration
TOKEN = "ops-token"


@pytest.fixture
def api(live_env, monkeypatch) -> TestClient:
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", TOKEN)
    get_settings.cache_clear()
    return TestClient(create_app(), headers={"Authorization": f"Bearer {TOKEN}"})


def finished(api: TestClient, started) -> dict:
    """Poll a job until it ends (the test client runs background tasks before returning)."""
    assert started.status_code == 202, started.text
    for _ in range(100):
        job = api.get(f"/jobs/{started.json()['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}")


def choose(expert: LabelStudioExpert, task_id: int, code: str) -> None:
    result = [
        {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}
        for name, value in ((SCOPE, "in_scope"), (CANDIDATE, code))
    ]
    expert.client.post(
        f"/api/tasks/{task_id}/annotations/", json={"result": result}
    ).raise_for_status()


def test_transition_campaign_through_the_api(api: TestClient, label_studio):
    settings = get_settings()
    corr = correspondence(settings)
    univocal = corr.univocal_codes()[:2]
    first, second = [c for c in corr.multivocal_codes() if len(corr.candidates(c)) == 2][:2]
    codes = univocal * 3 + [first] * 3 + [second] * 2 + ["12345"]
    texts = [f"ACTIVITE {i}" for i in range(len(codes))]
    storage = Storage.from_settings(settings)
    storage.write_table(pa.table({"libelle": texts, "ape": codes}), "inputs/rows.parquet")
    body = {
        "name": "api-naf2025",
        "input": storage.uri("inputs/rows.parquet"),  # the full URI works as the key does
        "size": 50,
        "text_column": "libelle",
        "code_column": "ape",
    }

    created = finished(api, api.post("/transition/campaigns", json=body))
    assert created["status"] == "succeeded" and created["kind"] == "transition", created
    plan = created["result"]
    assert (plan["rows"], plan["univocal"], plan["multivocal"], plan["quarantined"]) == (
        12,
        6,
        5,
        1,
    )
    campaign = plan["campaign"]
    assert campaign["kind"] == "transition" and campaign["ls_project_id"]
    assert plan["sample_size"] == 5 and storage.exists("transition/api-naf2025/univocal.parquet")
    again = api.post("/transition/campaigns", json=body)
    assert again.status_code == 409 and again.json()["error"]["type"] == "ConflictError"
    anonymous = TestClient(create_app()).post("/transition/campaigns", json=body)
    assert anonymous.status_code == 401

    pushed = finished(api, api.post(f"/campaigns/{campaign['id']}/push"))
    assert pushed["result"]["imported"] == 5, pushed

    # The experts pick a candidate for each multivocal text: first code 2 x a and 1 x b.
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(campaign["ls_project_id"])
    a, b = corr.candidates(first)
    picks = iter([a, a, b])
    for task in tasks:
        old = task["data"]["old_code"]
        choose(expert, task["id"], next(picks) if old == first else corr.candidates(old)[0])
    exported = finished(api, api.post(f"/campaigns/{campaign['id']}/export"))
    assert exported["result"]["status_counts"] == {"coded": 5}, exported

    split = api.get(f"/transition/campaigns/{campaign['id']}/split")
    assert split.status_code == 200, split.text
    shares = {(s["old_code"], s["new_code"]): s for s in split.json()["shares"]}
    assert (shares[first, a]["n"], shares[first, a]["n_old"]) == (2, 3)
    assert shares[first, a]["share"] == pytest.approx(2 / 3)
    assert shares[second, corr.candidates(second)[0]]["share"] == 1.0

    # The old training set (NAF rév.2 labels) as CSV on S3: every coded text now disagrees.
    old_training = pa.table({"text": texts, "code": codes})
    sink = pa.BufferOutputStream()
    pacsv.write_csv(old_training, sink)
    storage.write_bytes(sink.getvalue().to_pybytes(), "inputs/old-training.csv")
    training = finished(
        api,
        api.post(
            f"/campaigns/{campaign['id']}/training-set",
            json={"compare_with": "inputs/old-training.csv"},
        ),
    )
    assert training["status"] == "succeeded", training
    rows = training["result"]
    assert (rows["rows"], rows["conflicts"]) == (5, 5)
    assert rows["nomenclature"] == new_nomenclature(settings).name
    conflicts = storage.read_table(rows["conflicts_uri"].removeprefix(storage.root_uri + "/"))
    assert set(conflicts["training_code"].to_pylist()) == {first, second}
