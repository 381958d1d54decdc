"""'campaigns transition dataset / next-batch' end to end on local state (no Label Studio).

The transition is prepared as 'transition create' does (recoding, first sample), campaigns
are recorded in the database and their exports written as 'campaigns export' writes them;
answers come from the simulated truth.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from campaigns.config import get_settings
from campaigns.gold.store import EXPORTS_DIR, export_dir
from campaigns.labelstudio.kinds import kit_for
from campaigns.lifecycle.training_set import read_training_set
from campaigns.lifecycle.transition import prepare_transition
from campaigns.metrics.gold_labels import resolve_gold
from campaigns.recoding.simulation import study_codes
from campaigns.recoding.synthetic import synthetic_transition
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import Campaign, CampaignCreate, CampaignKind, Sample
from campaigns.storage import SAMPLES_DIR, Storage
from nace_mapping import Correspondence


def export(storage: Storage, session, campaign_name: str, truth: dict[str, str], share: float):
    """Write what 'campaigns export' would: experts answered ``share`` of the sample, two each
    (they agree, except on one row in five, where the second says 'none of these')."""
    campaign = crud.get_campaign(session, campaign_name)
    sample = storage.read_table(f"{SAMPLES_DIR}/{campaign.sample_id}.parquet")
    ids = sample.column("request_id").to_pylist()
    answered = ids[: max(1, int(len(ids) * share))]
    rows = []
    for i, rid in enumerate(answered):
        for annotator in (1, 2):
            none = annotator == 2 and i % 5 == 0
            rows.append(
                {
                    "request_id": rid,
                    "annotator": str(annotator),
                    "status": "none_of_these" if none else "coded",
                    "code": None if none else truth[rid],
                    "updated_at": f"2026-01-0{annotator}",
                    "task_id": i,
                }
            )
    annotations = pa.Table.from_pylist(rows)
    gold = resolve_gold(annotations, sample)
    version = f"v{campaign.id}"
    folder = export_dir(campaign.id or 0, version)
    storage.write_table(annotations, f"{folder}/annotations.parquet")
    storage.write_table(gold, f"{folder}/gold.parquet")
    storage.write_bytes(version.encode(), f"{EXPORTS_DIR}/campaign={campaign.id}/LATEST")
    campaign.last_export_version = version
    crud.save(session, campaign)
    return len(answered)


@pytest.fixture
def transition(local_env):
    correspondence = Correspondence.builtin()
    codes = study_codes(correspondence, multivocal=6, univocal=20, seed=4)
    data = synthetic_transition(correspondence, rows=4000, seed=5, old_codes=codes)
    truth = dict(
        zip(
            data.truth.column("request_id").to_pylist(),
            data.truth.column("true_code").to_pylist(),
            strict=True,
        )
    )
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with session_scope(settings) as session:
        plan = prepare_transition(
            session, storage, correspondence, data.table, name="naf25", size=120, seed=1
        )
        crud.add_campaign(
            session,
            CampaignCreate(name="naf25", sample_id=plan.sample.id, kind=CampaignKind.TRANSITION),
        )
        answered = export(storage, session, "naf25", truth, share=0.9)
    return storage, truth, plan, answered


def test_dataset_then_next_batch_then_dataset_over_both_batches(transition, cli):
    storage, truth, plan, answered = transition
    out = cli("transition", "dataset", "naf25", "--min-confidence", "0.6").output
    assert "Rows by provenance" in out and "candidate model" in out and "majority" in out
    assert f"{answered} answered in 1 batch" in out
    path = storage.path("transition", "naf25", "dataset.parquet")
    dataset = read_training_set(path)
    assert dataset.num_rows == plan.rows
    full = storage.read_table("transition/naf25/dataset.parquet")
    counts = dict(zip(*pc.value_counts(full.column("provenance")).flatten(), strict=True))
    counts = {k.as_py(): v.as_py() for k, v in counts.items()}
    assert counts["univocal"] == plan.univocal and counts["quarantined"] == plan.quarantined
    assert sum(counts.values()) == plan.rows
    expert = full.filter(pc.equal(full.column("provenance"), "expert")).to_pylist()
    assert expert and all(r["code"] == truth[r["request_id"]] for r in expert)
    assert {r["agreement"] for r in expert} <= {0.5, 1.0}  # two experts, agreeing or not
    assert storage.exists("transition/naf25/split.parquet")
    assert storage.exists("transition/naf25/to_experts.parquet")

    out = cli("transition", "next-batch", "naf25", "--size", "60", "--seed", "3").output
    assert "Batch 2" in out and "create-batch naf25 --sample transition-batch-" in out
    settings = get_settings()
    with session_scope(settings) as session:
        batch = [s for s in crud.list_samples(session) if s.design == "pps-uncertainty"]
        assert len(batch) == 1 and batch[0].sample_size == 60
        params = json.loads(batch[0].design_params)
        assert (params["transition"], params["round"]) == ("naf25", 2)
        drawn = storage.read_table(f"{SAMPLES_DIR}/{batch[0].id}.parquet")
        first = storage.read_table(f"{SAMPLES_DIR}/{plan.sample.id}.parquet")
        assert not set(drawn.column("request_id").to_pylist()) & set(
            first.column("request_id").to_pylist()
        )
        pi = drawn.column("inclusion_prob").to_numpy()
        assert np.all((pi > 0) & (pi <= 1))
        assert set(drawn.column("task").to_pylist()) == {"choose"}

    # Drawing again before the batch is answered would leave it out of every estimate.
    refused = cli("transition", "next-batch", "naf25", ok=False)
    assert refused.exit_code == 2 and "no exported answer yet" in refused.output

    with session_scope(settings) as session:
        crud.add_campaign(
            session,
            CampaignCreate(name="naf25-r2", sample_id=batch[0].id, kind=CampaignKind.TRANSITION),
        )
        second = export(storage, session, "naf25-r2", truth, share=0.5)
    out = cli("transition", "dataset", "naf25").output
    assert f"{answered + second} answered in 2 batch" in out
    full = storage.read_table("transition/naf25/dataset.parquet")
    weights = full.filter(pc.equal(full.column("provenance"), "expert")).column("weight")
    assert len(set(weights.to_pylist())) > 2  # unequal weights over the two designs


def test_a_validation_part_becomes_a_campaign_of_confirm_or_reject_tasks(transition, cli):
    storage = transition[0]
    cli("transition", "next-batch", "naf25", "--size", "40", "--validate-above", "0.0")
    settings = get_settings()
    with session_scope(settings) as session:
        samples = [s for s in crud.list_samples(session) if s.design == "pps-uncertainty"]
        assert [s.id.endswith("-validate") for s in samples] == [True]
        sample: Sample = samples[0]
    # (create-batch itself makes a Label Studio project: see the integration tests)
    campaign = Campaign(id=7, name="naf25-r2-validate", sample_id=sample.id, kind="transition")
    kit = kit_for(campaign, settings)
    assert 'name="verdict"' in kit.label_config() and 'name="candidate"' in kit.label_config()
    drawn = storage.read_table(f"{SAMPLES_DIR}/{sample.id}.parquet")
    tasks = kit.tasks(drawn, campaign.id)
    assert len(tasks) == drawn.num_rows == 40
    proposed = drawn.column("proposed_code").to_pylist()
    assert [t["data"]["proposed_code"] for t in tasks] == proposed
    # The choose part of a batch keeps the candidates' screen.
    with session_scope(settings) as session:
        first = crud.get_campaign(session, "naf25")
    assert 'name="verdict"' not in kit_for(first, settings).label_config()


def test_a_gold_campaign_is_refused(local_env, cli):
    with session_scope(get_settings()) as session:
        session.add(
            Sample(
                id="s1",
                window_start=date(2026, 1, 1),
                window_end=date(2026, 1, 1),
                population_size=1,
                sample_size=1,
                uri="x",
            )
        )
        session.commit()
        crud.add_campaign(session, CampaignCreate(name="g", sample_id="s1"))
    refused = cli("transition", "dataset", "g", ok=False)
    assert refused.exit_code == 2 and "not a transition" in refused.output


def _job(api, started) -> dict:
    assert started.status_code == 202, started.text
    job = api.get(f"/jobs/{started.json()['id']}").json()  # background tasks ran already
    assert job["status"] == "succeeded", job
    return job["result"]


def test_the_api_builds_the_dataset_and_draws_a_batch_as_the_cli_does(transition, cli):
    from fastapi.testclient import TestClient

    from services.api.main import create_app

    storage, _truth, plan, answered = transition
    api = TestClient(create_app(), client=("127.0.0.1", 50000))
    with session_scope(get_settings()) as session:
        cid = crud.get_campaign(session, "naf25").id
    result = _job(api, api.post(f"/transition/campaigns/{cid}/dataset", json={"seed": 0}))
    assert result["rows"] == plan.rows == sum(result["counts"].values())
    assert result["counts"]["univocal"] == plan.univocal and result["batches"] == 1
    assert result["expert_rows"] == answered
    model = result["cross_validation"]["accuracy"]["model"]
    assert 0.0 <= model["ci_low"] <= model["estimate"] <= model["ci_high"] <= 1.0
    assert storage.exists("transition/naf25/dataset.parquet")

    batch = {"size": 30, "validate_above": 0.9, "seed": 3}
    result = _job(api, api.post(f"/transition/campaigns/{cid}/batches", json=batch))
    assert result["round"] == 2 and result["batch_id"].startswith("transition-batch-")
    sizes = {s["part"]: s["size"] for s in result["samples"]}
    assert sum(sizes.values()) == 30 and set(sizes) <= {"choose", "validate"}
    for sample in result["samples"]:
        drawn = storage.read_table(f"{SAMPLES_DIR}/{sample['id']}.parquet")
        assert drawn.num_rows == sample["size"]
        assert sample["id"].endswith("-validate") == (sample["part"] == "validate")

    # Refused at the request: not a transition campaign, an unknown one, a hostile sample id.
    assert api.post("/transition/campaigns/999/dataset", json={}).status_code == 404
    hostile = {"sample_id": "../../etc/passwd"}
    answer = api.post(f"/transition/campaigns/{cid}/batches/campaigns", json=hostile)
    assert answer.status_code == 422
    assert api.post(f"/transition/campaigns/{cid}/batches", json={"size": 0}).status_code == 422
