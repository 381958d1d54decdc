"""Gold figures land on the registered model version in a real MLflow server.

Real servers throughout: Label Studio (experts annotate), S3 (the storage root and MLflow's
artifacts), ``mlflow server`` with its registry. The traffic's ``model_version`` is the
registered version's number, as the production API's ``MLversion`` names the version loaded.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient

from campaigns.config import get_settings
from campaigns.model_registry.feedback import feed_gold_metrics
from campaigns.model_registry.records import KEY_TAG
from campaigns.service import CampaignService
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from nace_mapping import Level
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = [
    pytest.mark.integration,
    # Nothing of the campaign database reaches MLflow: make test's PostgreSQL pass skips the
    # few minutes this test costs (it runs in the first pass, on SQLite).
    pytest.mark.skipif(
        os.environ.get("CAMPAIGNS_TEST_DATABASE") == "postgresql",
        reason="runs once, in the SQLite pass",
    ),
]
MODEL = "codif-ape"
END = "2026-09-30"
CAMPAIGN = "gold-registry"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "model-registry"


def _runs(client: MlflowClient, kind: str, *, finished_only: bool = True) -> list:
    experiment = client.get_experiment_by_name("annotation-campaigns")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`campaigns.kind` = '{kind}'"
    )
    return [r for r in runs if r.info.status == "FINISHED" or not finished_only]


@pytest.fixture
def registry_env(live_env, mlflow_server, monkeypatch) -> dict[str, str]:
    env = {
        "CAMPAIGNS_MLFLOW_TRACKING_URI": mlflow_server.url,
        "CAMPAIGNS_MLFLOW_MODEL_NAME": MODEL,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return live_env | env


def _first_suggestion(task: dict) -> str:
    return task["data"]["suggestions"][0]["value"]


def _annotated_campaign(cli, tmp_path: Path, label_studio) -> tuple[LabelStudioExpert, list]:
    """Traffic answered by registered version 1, a gold campaign, 8 units annotated."""
    logs, truth_path = tmp_path / "logs.jsonl", tmp_path / "truth.parquet"
    cli("traffic", "generate", str(logs), "--lines", "600", "--end", END, "--seed", "5",
        "--truth", str(truth_path))  # fmt: skip
    logs.write_text(logs.read_text().replace('"2.1.0"', '"1"'))  # MLversion: version 1
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "30", "--seed", "2")
    settings = get_settings()
    with session_scope(settings) as session:
        sample = crud.list_samples(session)[0]
    cli("create", CAMPAIGN, "--sample", sample.id, "--suggestions", "preselected")
    cli("push", CAMPAIGN)
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, CAMPAIGN)
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = sorted(expert.tasks(campaign.ls_project_id), key=lambda t: t["data"]["request_id"])
    truth = dict(zip(*pq.read_table(truth_path).to_pydict().values(), strict=True))
    for task in tasks[:6]:  # the model's code accepted
        expert.annotate(task["id"], ExpertAnswer(code=_first_suggestion(task)))
    from campaigns.nomenclatures import old_nomenclature

    nomenclature = old_nomenclature(settings)
    for task in tasks[6:8]:  # the true code, picked in the nomenclature
        code = truth[task["data"]["request_id"]]
        chain = nomenclature.ancestors(code)
        path = [chain[Level.SECTION], chain[Level.DIVISION], code]
        expert.annotate(task["id"], ExpertAnswer(via_taxonomy_path=path))
    return expert, tasks


@pytest.mark.timeout(1500)  # two MLflow starts: minutes on a loaded machine
def test_gold_metrics_land_on_the_registered_version(
    registry_env, mlflow_server, cli, label_studio, tmp_path, s3_client, monkeypatch
):
    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    client.create_registered_model(MODEL)
    client.create_model_version(MODEL, source="s3://models/codif-ape/1")
    client.create_model_version(MODEL, source="s3://models/codif-ape/2")
    expert, tasks = _annotated_campaign(cli, tmp_path, label_studio)
    cli("export", CAMPAIGN)

    # -- campaigns metrics: one evaluation run, its figures on version 1 ---------------------
    out = cli("metrics", CAMPAIGN).output
    assert f"registered version {MODEL}/1 tagged" in out
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, CAMPAIGN)
    figures_key = next(k for k in storage.list_files("metrics/figures") if k.endswith(".parquet"))
    figures = {r["figure"]: r for r in storage.read_table(figures_key).to_pylist()}
    accuracy = figures["accuracy"]

    [run] = _runs(client, "gold-evaluation")
    metrics = run.data.metrics
    assert metrics["accuracy"] == pytest.approx(accuracy["estimate"])
    assert metrics["accuracy_ci_low"] == pytest.approx(accuracy["ci_low"])
    assert metrics["accuracy_ci_high"] == pytest.approx(accuracy["ci_high"])
    assert accuracy["ci_low"] < accuracy["estimate"] <= accuracy["ci_high"]
    assert {"top_1_accuracy", "auto_coding_rate_ci_high", "system_accuracy"} <= set(metrics)
    params = run.data.params
    assert params["campaign"] == CAMPAIGN and params["export_version"] == (
        campaign.last_export_version
    )
    assert params["sample_id"] == campaign.sample_id and params["design"] == "srs"
    assert run.data.tags["model_version"] == "1"
    assert run.data.tags["registered_model_version"] == f"{MODEL}/1"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"threshold_curve.csv", "per_class.csv", "report.html", "summary.json"} <= artifacts
    # ...stored on the S3 server, through MLflow's artifact proxy.
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket="mlflow")["Contents"]]
    assert any(k.endswith(f"{run.info.run_id}/artifacts/report.html") for k in keys)
    # The gold table as the run's dataset input: S3 source and digest.
    [dataset_input] = run.inputs.dataset_inputs
    dataset = dataset_input.dataset
    gold_uri = storage.uri(
        f"exports/campaign={campaign.id}/version={campaign.last_export_version}/gold.parquet"
    )
    assert json.loads(dataset.source) == {"uri": gold_uri} and gold_uri.startswith("s3://")
    assert dataset.source_type == "s3" and len(dataset.digest) == 16
    assert json.loads(dataset.profile)["num_rows"] == 8
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "evaluation"

    version = client.get_model_version(MODEL, "1")
    tags = version.tags
    assert tags["gold_accuracy"] == f"{accuracy['estimate']:.4f}"
    assert tags["gold_accuracy_ci_low"] == f"{accuracy['ci_low']:.4f}"
    assert tags["gold_accuracy_ci_high"] == f"{accuracy['ci_high']:.4f}"
    assert tags["gold_campaign"] == CAMPAIGN and tags["gold_run_id"] == run.info.run_id
    assert tags["gold_run"].endswith(f"/runs/{run.info.run_id}")
    assert tags["gold_run"].startswith(mlflow_server.url)
    assert "gold_accuracy" not in client.get_model_version(MODEL, "2").tags

    # The same export again: nothing added.
    out = cli("metrics", CAMPAIGN).output
    assert f"run {run.info.run_id} already logged" in out
    assert len(_runs(client, "gold-evaluation", finished_only=False)) == 1

    # -- a challenger is tied to its own version; an unregistered one is reported ------------
    gold = storage.read_table(gold_uri.removeprefix(storage.uri() + "/"))
    coded = [r for r in gold.to_pylist() if r["status"] == "coded"]
    challenger = tmp_path / "challenger.parquet"
    for number in ("2", "7"):
        pq.write_table(
            pa.table({
                "request_id": [r["request_id"] for r in coded],
                "predicted_code": [r["gold_code"] for r in coded],  # always right
                "model_version": [number] * len(coded),
            }),
            challenger,
        )  # fmt: skip
        out = cli("compare", CAMPAIGN, "--challenger", str(challenger), "--replicates", "200")
        if number == "2":
            assert f"registered version {MODEL}/2 tagged" in out.output
        else:
            assert f"{MODEL} version 7 is not in the model registry" in out.output
    runs = {r.data.tags["model_version"]: r for r in _runs(client, "challenger-evaluation")}
    assert set(runs) == {"2", "7"}
    assert runs["2"].data.metrics["accuracy_subclass"] == pytest.approx(1.0)
    challenger_tags = client.get_model_version(MODEL, "2").tags
    assert challenger_tags["gold_accuracy"] == "1.0000"
    assert challenger_tags["gold_role"] == "challenger"
    assert challenger_tags["gold_run_id"] == runs["2"].info.run_id
    assert client.get_model_version(MODEL, "1").tags["gold_run_id"] == run.info.run_id

    # -- the nightly run: new annotations, one new run; a second night adds nothing ---------
    expert.annotate(tasks[8]["id"], ExpertAnswer(cannot_code=True))
    code = tasks[9]["data"]["suggestions"][1]["value"]  # the model's second choice: an error
    expert.annotate(tasks[9]["id"], ExpertAnswer(code=code))
    out = cli("nightly").output
    assert f"registered version {MODEL}/1 tagged" in out
    gold_runs = _runs(client, "gold-evaluation")
    assert len(gold_runs) == 2
    latest = next(r for r in gold_runs if r.info.run_id != run.info.run_id)
    assert client.get_model_version(MODEL, "1").tags["gold_run_id"] == latest.info.run_id
    assert latest.data.metrics["accuracy"] < metrics["accuracy"]  # one more error
    out = cli("nightly").output
    assert f"run {latest.info.run_id} already logged" in out
    assert len(_runs(client, "gold-evaluation", finished_only=False)) == 2

    # -- the trend: each version's accuracy by period, as a metric history ------------------
    out = cli("trend", "--replicates", "100", "--json").stdout
    assert json.loads(out)["rows"]  # the standard output stays JSON
    [trend] = _runs(client, "trend")
    history = client.get_metric_history(trend.info.run_id, "accuracy")
    assert trend.data.tags["model_version"] == "1" and [m.step for m in history] == [0]
    assert 0.5 < history[0].value <= 1.0  # 1 error in 9 coded units: about 0.9
    assert "gold_trend_month_accuracy" in client.get_model_version(MODEL, "1").tags
    cli("trend", "--replicates", "100")
    assert len(_runs(client, "trend")) == 1

    # -- the training set as a dataset a training run can log as its input ------------------
    out = cli("training-set", CAMPAIGN).output
    assert "MLflow: run" in out and "logged" in out
    [training] = _runs(client, "training-set")
    [training_input] = training.inputs.dataset_inputs
    assert training_input.dataset.name == f"training-{CAMPAIGN}"
    assert json.loads(training_input.dataset.profile)["num_rows"] == int(
        training.data.params["rows"]
    )
    assert json.loads(training_input.dataset.source)["uri"].startswith("s3://")
    assert "already logged" in cli("training-set", CAMPAIGN).output
    assert len(_runs(client, "training-set")) == 1

    # -- the server stopped mid-run: a warning, the figures stored, logged once it is back ---
    expert.annotate(tasks[10]["id"], ExpertAnswer(code=_first_suggestion(tasks[10])))
    steps: list[str] = []

    def stop_after_the_figures(step: str) -> None:
        steps.append(step)
        if step == "figures logged":
            mlflow_server.stop()

    with CampaignService.open(get_settings()) as service:
        service.export(CAMPAIGN)
        result = service.metrics(CAMPAIGN)
        feedback = feed_gold_metrics(
            service.settings,
            service.storage,
            service.session,
            service.campaign(CAMPAIGN),
            result,
            on_step=stop_after_the_figures,
        )
    assert steps == ["run created", "figures logged"]
    assert feedback is not None and feedback.logged == []
    [warning] = feedback.warnings
    assert "cannot be reached" in warning and "the figures are stored" in warning
    assert any(result.export_version in k for k in storage.list_files("metrics/figures"))
    # The nightly with MLflow away: warned, exported and stored all the same, exit code 0.
    expert.annotate(tasks[11]["id"], ExpertAnswer(code=_first_suggestion(tasks[11])))
    out = cli("nightly").output
    assert "Warning: MLflow at" in out and "cannot be reached" in out
    with session_scope(get_settings()) as session:
        version = crud.get_campaign(session, CAMPAIGN).last_export_version
    assert any(version in k for k in storage.list_files("metrics/figures"))

    mlflow_server.restart()
    out = cli("metrics", CAMPAIGN).output
    assert f"registered version {MODEL}/1 tagged" in out
    runs = _runs(client, "gold-evaluation", finished_only=False)
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)  # unfinished: gone
    newest = max(runs, key=lambda r: r.info.start_time)
    tags = client.get_model_version(MODEL, "1").tags
    assert tags["gold_run_id"] == newest.info.run_id
    assert "gold_trend_month_accuracy" in tags  # the trend's tags are not the gold run's to drop
    assert len({r.data.tags[KEY_TAG] for r in runs}) == 3

    # -- what someone opening the version in the MLflow UI sees -----------------------------
    shown = _model_version_page(mlflow_server.url)
    tags = client.get_model_version(MODEL, "1").tags
    assert tags["gold_accuracy_95ci"] in shown and tags["gold_run"] in shown


def _model_version_page(url: str) -> str:
    """The version's page in Chromium: its text, and a screenshot under test-artifacts/."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed: the MLflow UI check cannot run.")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/#/models/{MODEL}/versions/1")
        page.get_by_text("gold_accuracy_95ci").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "model-version.png"), full_page=True)
        text = page.inner_text("body")
        page.get_by_text("gold_run_id").first.scroll_into_view_if_needed()  # the tag list scrolls
        page.screenshot(path=str(ARTIFACTS / "model-version-run-link.png"))
        browser.close()
    return text
