"""The API's operations on a campaign's latest export, with no Label Studio: the transition
split, the training set and the label-free estimate, over real SQLite and local storage.

Exports are written as the export step writes them (``exports/campaign=ID/version=v1`` and
``LATEST``); each operation is checked against the core and against the CLI command that
calls the same service method.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from campaigns.config import get_settings
from campaigns.errors import InputFormatError
from campaigns.gold.store import export_dir
from campaigns.lifecycle.transition import transition_split
from campaigns.nomenclatures import new_nomenclature
from campaigns.service import CampaignService
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import CampaignCreate, CampaignKind, Sample
from campaigns.storage import Storage
from services.api.main import create_app

# request_id, text, old code, status, gold code, weight
TRANSITION_GOLD = [
    ("r1", "Commerce de gros de fournitures", "46.90Z", "coded", "46.90A", 1.0),
    ("r2", "Négoce  de matériel", "46.90Z", "coded", "46.90A", 3.0),
    ("r3", "Centrale d'achat", "46.90Z", "coded", "46.90B", 1.0),
    ("r4", "Divers", "46.90Z", "none_of_these", None, 1.0),
    ("r5", "Culture du blé", "01.11Z", "coded", "01.11Y", 2.0),
]


def _sample(session, sample_id: str, start: date, end: date, design: str = "srs") -> None:
    session.add(
        Sample(
            id=sample_id,
            window_start=start,
            window_end=end,
            design=design,
            population_size=60_000,
            sample_size=2000,
            uri=f"samples/{sample_id}.parquet",
        )
    )
    session.commit()


def _export(storage: Storage, campaign_id: int, gold: pa.Table) -> None:
    storage.write_table(gold, export_dir(campaign_id, "v1"), "gold.parquet")
    storage.write_bytes(b"v1", f"exports/campaign={campaign_id}/LATEST")


def _add(session, name: str, sample_id: str, kind: CampaignKind = CampaignKind.GOLD) -> int:
    campaign = crud.add_campaign(session, CampaignCreate(name=name, sample_id=sample_id, kind=kind))
    campaign.last_export_version = "v1"
    return crud.save(session, campaign).id or 0


@pytest.fixture
def transition(local_env) -> tuple[TestClient, dict[str, int]]:
    """A transition campaign 't1' with an export, 't2' without, a gold campaign 'g1'; by name."""
    settings = get_settings()
    storage = Storage.from_settings(settings)
    rid, text, old, status, code, weight = (list(c) for c in zip(*TRANSITION_GOLD, strict=True))
    gold = pa.table(
        {
            "request_id": rid,
            "text": text,
            "old_code": old,
            "status": status,
            "gold_code": pa.array(code, pa.string()),
            "weight": weight,
        }
    )
    with session_scope(settings) as session:
        _sample(session, "transition-s1", date(2026, 9, 1), date(2026, 9, 1))
        ids = {
            "t1": _add(session, "t1", "transition-s1", CampaignKind.TRANSITION),
            "t2": _add(session, "t2", "transition-s1", CampaignKind.TRANSITION),
            "g1": _add(session, "g1", "transition-s1"),
        }
    _export(storage, ids["t1"], gold)
    return TestClient(create_app(), client=("127.0.0.1", 50000)), ids


def finished(api: TestClient, started) -> dict:
    assert started.status_code == 202, started.text
    for _ in range(50):
        job = api.get(f"/jobs/{started.json()['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}")


def test_split_gives_the_weighted_shares_of_the_core_and_the_cli(transition, cli):
    api, ids = transition
    t1 = ids["t1"]
    answer = api.get(f"/transition/campaigns/{t1}/split")
    assert answer.status_code == 200, answer.text
    split = answer.json()
    assert (split["campaign_id"], split["export_version"]) == (t1, "v1")
    shares = {(s["old_code"], s["new_code"]): s for s in split["shares"]}
    assert set(shares) == {("46.90Z", "46.90A"), ("46.90Z", "46.90B"), ("01.11Z", "01.11Y")}
    a = shares["46.90Z", "46.90A"]
    assert (a["n"], a["n_old"], a["share"]) == (2, 3, pytest.approx(0.8))  # weights 1+3 of 5
    assert a["ci_low"] < 2 / 3 < a["ci_high"]  # Wilson, on the counts
    assert shares["01.11Z", "01.11Y"]["share"] == 1.0

    storage = Storage.from_settings(get_settings())
    core = transition_split(storage.read_table(export_dir(t1, "v1"), "gold.parquet"))
    assert split["shares"] == core.to_pylist()

    out = cli("transition", "split", "t1").output
    assert "46.90A" in out and "80.0%" in out and "2/3" in out

    gold = api.get(f"/transition/campaigns/{ids['g1']}/split")
    assert gold.status_code == 422 and gold.json()["error"]["type"] == "InvalidArgumentError"
    assert api.get("/transition/campaigns/999/split").status_code == 404
    unexported = api.get(f"/transition/campaigns/{ids['t2']}/split")
    assert (
        unexported.status_code == 422 and "no export yet" in unexported.json()["error"]["message"]
    )


def test_transition_create_refuses_a_taken_name_or_a_missing_input_at_once(transition):
    api, _ = transition
    storage = Storage.from_settings(get_settings())
    storage.write_table(pa.table({"text": ["x"], "code": ["46.90Z"]}), "inputs/rows.parquet")

    taken = api.post("/transition/campaigns", json={"name": "t1", "input": "inputs/rows.parquet"})
    assert taken.status_code == 409 and taken.json()["error"]["type"] == "ConflictError"
    missing = api.post("/transition/campaigns", json={"name": "t9", "input": "inputs/no.parquet"})
    assert missing.status_code == 404
    assert "below the storage root" in missing.json()["error"]["hint"]
    outside = api.post("/transition/campaigns", json={"name": "t9", "input": "../../etc/passwd"})
    assert outside.status_code == 422 and "storage root" in outside.json()["error"]["message"]
    for bad in ({"name": "../t9", "input": "x"}, {"name": "t9", "input": ""}, {"name": "t9"}):
        refused = api.post("/transition/campaigns", json=bad)
        assert refused.status_code == 422 and refused.json()["error"]["type"] == "ValidationError"
    assert api.get("/jobs").json() == []  # nothing was queued

    # The input is read as Parquet (a key or the full URI); anything else is an input error.
    storage.write_bytes(b"text,code\nx,46.90Z\n", "inputs/rows.csv")
    with session_scope(get_settings()) as session:
        service = CampaignService(session)
        assert service.read_input(storage.uri("inputs/rows.parquet")).num_rows == 1
        with pytest.raises(InputFormatError, match="as Parquet"):
            service.read_input("inputs/rows.csv")


def test_training_set_job_writes_rows_and_conflicts_in_the_new_nomenclature(transition, cli):
    api, ids = transition
    t1 = ids["t1"]
    settings = get_settings()
    storage = Storage.from_settings(settings)
    storage.write_table(
        pa.table({"text": ["NEGOCE DE MATERIEL", "Culture du blé"], "code": ["4690b", "01.11Y"]}),
        "inputs/train.parquet",
    )

    job = finished(
        api,
        api.post(f"/campaigns/{t1}/training-set", json={"compare_with": "inputs/train.parquet"}),
    )
    assert job["status"] == "succeeded" and job["campaign_id"] == t1, job
    result = job["result"]
    assert (result["rows"], result["conflicts"], result["version"]) == (4, 1, "v1")
    assert result["nomenclature"] == new_nomenclature(settings).name
    assert result["compared_with"] == "inputs/train.parquet"
    conflicts = pq.read_table(result["conflicts_uri"]).to_pylist()
    assert [(c["request_id"], c["training_code"], c["gold_code"]) for c in conflicts] == [
        ("r2", "4690b", "46.90A")
    ]

    plain = finished(api, api.post(f"/campaigns/{t1}/training-set"))["result"]  # no body
    assert (plain["rows"], plain["conflicts"], plain["conflicts_uri"]) == (4, 0, None)
    out = cli("training-set", "t1", "--compare-with", storage.path("inputs/train.parquet")).output
    assert "4 training rows" in out and "1 label conflict(s)" in out

    lost = finished(
        api, api.post(f"/campaigns/{t1}/training-set", json={"compare_with": "inputs/no.csv"})
    )
    assert lost["status"] == "failed" and lost["error"]["type"] == "NotFoundError"
    assert api.post("/campaigns/999/training-set").status_code == 404


# -- the label-free estimate: scores of a three-day window, a gold sample drawn from it -------

DAYS = ("2026-09-01", "2026-09-02", "2026-09-03")


@pytest.fixture
def estimate(local_env) -> tuple[TestClient, int, float]:
    """5,000 Beta(5, 2) scores a day; campaign 'ref' has a simple random gold sample of 2,000
    units of the window where a unit is right with probability score ** 1.5."""
    settings = get_settings()
    storage = Storage.from_settings(settings)
    rng = np.random.default_rng(5)
    scores = []
    for day in DAYS:
        score = rng.beta(5, 2, 5000)
        scores.append(score)
        storage.write_table(
            pa.table({"request_id": [f"{day}-{i}" for i in range(5000)], "score": score,
                      "confidence": score, "predicted_code": ["62.01Z"] * 5000}),
            "traffic", f"day={day}", "part-0.parquet",
        )  # fmt: skip
    every = np.concatenate(scores)
    drawn = rng.choice(every, size=2000, replace=False)
    right = rng.random(drawn.size) < drawn**1.5
    gold = pa.table(
        {
            "request_id": [f"u{i}" for i in range(drawn.size)],
            "status": ["coded"] * drawn.size,
            "predicted_code": ["62.01Z"] * drawn.size,
            "predicted_codes": [["62.01Z", "01.11Z"]] * drawn.size,
            "gold_code": np.where(right, "62.01Z", "62.02A").tolist(),
            "score": drawn,
            "confidence": drawn,
            "weight": np.full(drawn.size, every.size / drawn.size),
        }
    )
    with session_scope(settings) as session:
        _sample(session, "srs-ref", date(2026, 9, 1), date(2026, 9, 4))
        ref = _add(session, "ref", "srs-ref")
    _export(storage, ref, gold)
    return TestClient(create_app(), client=("127.0.0.1", 50000)), ref, float((every**1.5).mean())


def test_estimate_job_gives_the_label_free_figure_beside_the_gold_one(estimate, cli):
    api, ref, truth = estimate
    body = {"days": 3, "end": "2026-09-03", "replicates": 50}
    job = finished(api, api.post(f"/campaigns/{ref}/estimate", json=body))
    assert job["status"] == "succeeded" and job["campaign_id"] == ref, job
    result = job["result"]
    label_free, gold = result["label_free"], result["gold"]
    assert label_free["ci_low"] <= label_free["estimate"] <= label_free["ci_high"]
    assert abs(label_free["estimate"] - truth) < 0.03
    assert (label_free["n_traffic"], label_free["n_reference"], gold["n"]) == (15_000, 2000, 2000)
    assert result["window"] == result["gold_window"] == {"start": "2026-09-01", "end": "2026-09-04"}
    assert result["same_window"] and not result["diverged"] and not result["extrapolates"]
    assert result["reference_campaign"] == result["gold_campaign"] == "ref"
    assert result["gap"] == pytest.approx(label_free["estimate"] - gold["estimate"])

    out = cli("estimate", "ref", "--days", "3", "--end", "2026-09-03", "--replicates", "50")
    assert f"{label_free['estimate']:.1%}" in out.output and "15,000 requests" in out.output

    assert api.post(f"/campaigns/{ref}/estimate", json={"gold_campaign_id": 99}).status_code == 404
    assert api.post("/campaigns/99/estimate", json={}).status_code == 404
    empty = finished(api, api.post(f"/campaigns/{ref}/estimate", json={"end": "2027-01-31"}))
    assert empty["status"] == "failed" and empty["error"]["type"] == "EmptySelectionError"
    for bad in ({"replicates": 1}, {"max_rows": 0}, {"days": 4000}):
        refused = api.post(f"/campaigns/{ref}/estimate", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
