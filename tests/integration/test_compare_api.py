"""Champion vs challenger against real servers: a randomized campaign in Label Studio, a real
model served behind the production API's batch contract, the API's compare and trend jobs.

The challenger is a small scikit-learn text classifier (character n-gram TF-IDF, naive Bayes)
trained at fixture time on synthetic declarations, served by FastAPI under uvicorn with the
contract of InseeFrLab/codif-ape-API's ``POST /batch/predict`` (HTTP basic auth, ``forms`` in,
``{"1".."k": {code, probabilite, libelle}, "IC", "MLversion"}`` out). Its first answer is a 503,
so the client's retry is exercised too; every prediction is the model's own.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

from campaigns.config import get_settings
from campaigns.labelstudio.regions import canonical
from campaigns.nomenclatures import old_nomenclature
from campaigns.service import CampaignService
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from campaigns.traffic.synthetic import generate_traffic, naf_subclasses
from nace_mapping import Level
from services.api.main import create_app
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"
MODEL_VERSION = "nb-char-1"
USER, PASSWORD = "challenger", "s3cret-model"


class SingleForm(BaseModel):
    """The contract's form (InseeFrLab/codif-ape-API ``src/api/models/forms.py``)."""

    description_activity: str
    other_nature_activity: str | None = None
    precision_act_sec_agricole: str | None = None
    type_form: str | None = None
    nature: str | None = None
    surface: str | None = None
    cj: str | None = None
    activity_permanence_status: str | None = None


class BatchForms(BaseModel):
    forms: list[SingleForm]


BASIC = HTTPBasic()


def checked(credentials: Annotated[HTTPBasicCredentials, Depends(BASIC)]) -> None:
    """The production API's optional HTTP basic auth, switched on."""
    if not (
        secrets.compare_digest(credentials.username, USER)
        and secrets.compare_digest(credentials.password, PASSWORD)
    ):
        raise HTTPException(401, "bad credentials")


def classifier_app(model, titles: dict[str, str], fail_first: int = 1) -> FastAPI:
    """The batch endpoint over ``model`` (codes without dots, as the production API gives)."""
    app = FastAPI()
    state = {"calls": 0, "texts": 0}
    app.state.counters = state

    @app.post("/batch/predict", dependencies=[Depends(checked)])
    def predict(
        forms: BatchForms,
        nb_echos_max: int = Query(default=5),
        prob_min: float = Query(default=0.01),
    ):
        state["calls"] += 1
        if state["calls"] <= fail_first:
            return JSONResponse({"detail": "warming up"}, status_code=503)
        texts = [f.description_activity for f in forms.forms]
        state["texts"] += len(texts)
        probs = model.predict_proba(texts)
        classes = model.classes_
        order = np.argsort(-probs, axis=1)[:, :nb_echos_max]
        responses = []
        for row, ranks in zip(probs, order, strict=True):
            kept = [(classes[j], float(row[j])) for j in ranks if row[j] >= prob_min]
            answer: dict = {
                str(i + 1): {
                    "code": code.replace(".", ""),
                    "probabilite": p,
                    "libelle": titles.get(code, ""),
                }
                for i, (code, p) in enumerate(kept)
            }
            answer["IC"] = float(row[ranks[0]] - row[ranks[1]])
            answer["MLversion"] = MODEL_VERSION
            responses.append(answer)
        return responses

    return app


@dataclass
class Challenger:
    url: str
    app: FastAPI
    model: object


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def challenger() -> Iterator[Challenger]:
    """A text classifier trained now on synthetic traffic, served by uvicorn on 127.0.0.1."""
    training = generate_traffic(n=8000, seed=77)
    texts = training.logs.column("text").to_pylist()
    codes = [canonical(c) for c in training.truth.column("true_code").to_pylist()]
    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True),
        MultinomialNB(alpha=0.02),
    )
    model.fit(texts, codes)
    titles = dict(zip(*naf_subclasses(), strict=True))
    app = classifier_app(model, titles)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the challenger server did not start"
        time.sleep(0.05)
    yield Challenger(url=f"http://127.0.0.1:{port}", app=app, model=model)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(live_env, monkeypatch) -> TestClient:
    monkeypatch.setenv("CAMPAIGNS_API_TOKEN", "s3cret-token")
    get_settings.cache_clear()
    return TestClient(create_app(), headers={"Authorization": "Bearer s3cret-token"})


def finished(api: TestClient, started) -> dict:
    assert started.status_code == 202, started.text
    for _ in range(600):
        job = api.get(f"/jobs/{started.json()['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job["error"]
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}")


def test_compare_and_trend_on_a_randomized_campaign(
    api: TestClient, cli, tmp_path: Path, label_studio, challenger: Challenger, monkeypatch
):
    logs, truth_path = tmp_path / "logs.jsonl", tmp_path / "truth.parquet"
    cli("traffic", "generate", str(logs), "--lines", "1500", "--end", END, "--seed", "8",
        "--truth", str(truth_path))  # fmt: skip
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "60", "--end", END, "--size", "40", "--seed", "5")
    settings = get_settings()
    with session_scope(settings) as session:
        sample_id = crud.list_samples(session)[0].id
    cli("create", "cmp-gold", "--sample", sample_id, "--suggestions", "randomized")
    cli("push", "cmp-gold")
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, "cmp-gold")
    assert campaign.suggestions == "randomized"

    # Label Studio took both arms in one project: blind tasks carry nothing of the model.
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(campaign.ls_project_id)
    arms = [t["data"]["arm"] for t in tasks]
    assert sorted(set(arms)) == ["assisted", "blind"] and len(tasks) == 40
    for task in tasks:
        blind = task["data"]["arm"] == "blind"
        assert (task["data"]["suggestions"] == []) is blind
        if not blind:  # the assisted arm opens with the model's top-1 ticked
            assert task["data"]["suggestions"][0]["selected"] is True

    # Experts code every task right: blind ones through the search, assisted ones by a click
    # when the truth is among the suggestions.
    truth = dict(zip(*pq.read_table(truth_path).to_pydict().values(), strict=True))
    nomenclature = old_nomenclature(settings)
    for task in tasks:
        code = truth[task["data"]["request_id"]]
        suggested = [s["value"] for s in task["data"]["suggestions"]]
        if code in suggested:
            answer = ExpertAnswer(code=code)
        else:
            chain = nomenclature.ancestors(code)
            answer = ExpertAnswer(
                via_taxonomy_path=[chain[Level.SECTION], chain[Level.DIVISION], code]
            )
        expert.annotate(task["id"], answer)
    cli("export", "cmp-gold")

    with CampaignService.open(get_settings()) as service:
        anchoring = service.metrics("cmp-gold", write=False).metrics.summary["anchoring"]
        gold = service.latest_gold("cmp-gold")
    assert anchoring["arms"]["blind"]["units"] + anchoring["arms"]["assisted"]["units"] == 40
    assert anchoring["effect"]["accuracy"]["estimate"] is not None

    # The API's compare job posts the blind arm's texts to the served model (one 503 first).
    started = api.post(
        f"/campaigns/{campaign.id}/compare",
        json={
            "challenger_url": challenger.url,
            "challenger_user": USER,
            "challenger_password": PASSWORD,
            "batch_size": 7,
            "replicates": 300,
        },
    )
    job = finished(api, started)
    result = job["result"]
    blind_units = anchoring["arms"]["blind"]["units"]
    assert job["kind"] == "compare" and job["done"] == blind_units
    assert result["gold"] == "blind arm only" and result["units_left_out"] == 40 - blind_units
    assert result["challenger_version"] == MODEL_VERSION and result["batches"] == -(
        -blind_units // 7
    )
    assert challenger.app.state.counters["texts"] == blind_units
    # The challenger's accuracy is its own predictions' against the gold, on the blind arm
    # (a simple random sample: every unit weighs the same).
    blind = gold.filter(pc.is_in(gold.column("request_id"), pa.array(
        [t["data"]["request_id"] for t in tasks if t["data"]["arm"] == "blind"])))  # fmt: skip
    coded = blind.filter(pc.equal(blind.column("status"), "coded"))
    predicted = challenger.model.predict(coded.column("text").to_pylist())
    expected = float(np.mean(predicted == np.array(coded.column("gold_code").to_pylist())))
    accuracy = result["summary"]["figures"]["challenger"]["accuracy_subclass"]
    assert accuracy["estimate"] == pytest.approx(expected)
    assert accuracy["n"] == coded.num_rows
    diff = result["summary"]["differences"]["accuracy_subclass"]
    assert diff["ci_low"] <= diff["estimate"] <= diff["ci_high"]
    assert set(result["tables"]) == {"comparison", "comparison_discordant"}

    # A wrong password is a configuration error, reported on the job, not retried.
    refused = api.post(
        f"/campaigns/{campaign.id}/compare",
        json={"challenger_url": challenger.url, "challenger_user": USER,
              "challenger_password": "nope"},
    ).json()  # fmt: skip
    for _ in range(100):
        job = api.get(f"/jobs/{refused['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "failed" and job["error"]["type"] == "ConfigurationError"
    bad = api.post(f"/campaigns/{campaign.id}/compare", json={})
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "InvalidArgumentError"

    # The same challenger as a Parquet on the storage root, through the API.
    storage = Storage.from_settings(get_settings())
    texts = gold.column("text").to_pylist()
    storage.write_table(
        pa.table({"request_id": gold.column("request_id"),
                  "predicted_code": challenger.model.predict(texts).tolist(),
                  "model_version": [MODEL_VERSION] * gold.num_rows}),
        "inputs/challenger.parquet",
    )  # fmt: skip
    from_table = finished(
        api,
        api.post(
            f"/campaigns/{campaign.id}/compare",
            json={"challenger_parquet": "inputs/challenger.parquet", "replicates": 300},
        ),
    )["result"]
    assert from_table["summary"]["figures"]["challenger"]["accuracy_subclass"][
        "estimate"
    ] == pytest.approx(expected)

    # The CLI twin, with a report holding the comparison section.
    monkeypatch.setenv("CHALLENGER_API_PASSWORD", PASSWORD)
    report = tmp_path / "compare.html"
    out = cli("compare", "cmp-gold", "--challenger-api", challenger.url, "--api-user", USER,
              "--replicates", "200", "--report", str(report), "--json").stdout  # fmt: skip
    assert json.loads(out)["summary"]["verdict"] in {
        "challenger better",
        "champion better",
        "no significant difference",
    }
    assert "Champion vs challenger" in report.read_text(encoding="utf-8")

    # Accuracy over time, as a job: one month of traffic here; an unreachable floor alerts.
    trend = finished(api, api.post("/trend", params={"floor": 0.999, "replicates": 200}))
    assert trend["result"]["alert"] is True
    periods = {r["period"] for r in trend["result"]["rows"]}
    assert periods and all(p.endswith("-01") for p in periods)
    assert cli("trend", "--floor", "0.999", "--replicates", "100", ok=False).exit_code == 1
