"""Suggestion modes and the anchoring effect: tasks per mode, seeded arms, a known effect found."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import numpy as np
import pyarrow as pa
import pytest

from campaigns.config import Settings
from campaigns.labelstudio.gold.config import (
    SEARCH_HEADER_FIELD,
    SUGGESTED,
    SUGGESTIONS_HEADER_FIELD,
    gold_standard_config,
)
from campaigns.labelstudio.gold.tasks import ASSISTED, BLIND, assign_arms, gold_tasks
from campaigns.labelstudio.kinds import kit_for
from campaigns.labelstudio.texts import FRENCH
from campaigns.metrics.anchoring import anchoring_summary, with_arms
from campaigns.metrics.gold_metrics import compute_gold_metrics
from campaigns.metrics.report import render_report
from campaigns.state.models import CampaignCreate, SuggestionMode


class Tree:
    def tree(self) -> list[dict]:
        return [{"code": "C", "title": "Industrie", "children": [{"code": "10.71C"}]}]


def sample_table(n: int = 6) -> pa.Table:
    return pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "text": ["BOULANGERIE"] * n,
            "context": [json.dumps({"cj": "5499"})] * n,
            "predicted_codes": [["10.71C", "47.24Z"]] * n,
            "scores": [[0.9, 0.05]] * n,
            "confidence": [0.85] * n,
            "stratum": ["a", "b"] * (n // 2),
            "model_version": ["2.1"] * n,
        }
    )


def test_a_new_gold_campaign_is_blind_by_default():
    assert CampaignCreate(name="g", sample_id="s").suggestions == SuggestionMode.HIDDEN
    blind = ET.fromstring(gold_standard_config(Tree()))
    assert blind.find(f"Choices[@name='{SUGGESTED}']") is None
    headers = [h.get("value") for h in blind.iter("Header")]
    assert FRENCH.suggestions_header not in headers and FRENCH.search_header not in headers
    task = gold_tasks(sample_table(), 1, lambda c: None)[0]
    # Nothing of the model, not even in fields the interface does not show.
    assert "predictions" not in task
    assert not {"suggestions", "confidence", "stratum", "arm"} & set(task["data"])


@pytest.mark.parametrize(
    ("mode", "predicted"),
    [(SuggestionMode.PRESELECTED, True), (SuggestionMode.SHOWN, False)],
)
def test_shown_and_preselected_differ_only_by_the_selected_top1(mode, predicted):
    config = ET.fromstring(gold_standard_config(Tree(), "fr", mode))
    assert config.find(f"Choices[@name='{SUGGESTED}']").get("value") == "$suggestions"
    tasks = gold_tasks(sample_table(), 1, lambda c: None, suggestions=mode)
    assert all(len(t["data"]["suggestions"]) == 2 for t in tasks)
    assert all("predictions" not in t for t in tasks)  # no Label Studio prediction: fast import
    selected = [[s.get("selected", False) for s in t["data"]["suggestions"]] for t in tasks]
    assert selected == [[predicted, False]] * len(tasks)
    if predicted:
        assert tasks[0]["data"]["suggestions"][0]["value"] == "10.71C"


def test_randomized_tasks_carry_their_arm_and_their_headers():
    config = ET.fromstring(gold_standard_config(Tree(), "fr", SuggestionMode.RANDOMIZED))
    headers = [h.get("value") for h in config.iter("Header")]
    assert f"${SUGGESTIONS_HEADER_FIELD}" in headers and f"${SEARCH_HEADER_FIELD}" in headers
    tasks = gold_tasks(sample_table(40), 7, lambda c: None, suggestions="randomized")
    arms = [t["data"]["arm"] for t in tasks]
    assert arms.count(BLIND) == arms.count(ASSISTED) == 20
    for task in tasks:
        data = task["data"]
        if data["arm"] == BLIND:
            assert data["suggestions"] == [] and "predictions" not in task
            assert data[SUGGESTIONS_HEADER_FIELD] == data[SEARCH_HEADER_FIELD] == ""
            assert "confidence" not in data
        else:
            assert len(data["suggestions"]) == 2 and data["suggestions"][0]["selected"] is True
            assert data[SUGGESTIONS_HEADER_FIELD] == FRENCH.suggestions_header
    # The same campaign pushes the same arms, whatever the row order; another seed differs.
    reversed_rows = gold_tasks(
        sample_table(40).take(list(range(39, -1, -1))), 7, lambda c: None, suggestions="randomized"
    )
    again = {t["data"]["request_id"]: t["data"]["arm"] for t in reversed_rows}
    assert again == {t["data"]["request_id"]: t["data"]["arm"] for t in tasks}
    other = gold_tasks(sample_table(40), 8, lambda c: None, suggestions="randomized")
    assert [t["data"]["arm"] for t in other] != arms


def test_arms_are_halves_of_every_stratum():
    ids = [f"u{i}" for i in range(1001)]
    strata = [f"s{i % 7}" for i in range(1001)]
    arms = np.array(assign_arms(ids, strata, seed=3))
    for s in set(strata):
        inside = arms[np.array(strata) == s]
        assert abs((inside == BLIND).sum() - (inside == ASSISTED).sum()) <= 1


def test_the_kit_reads_the_campaign_mode_and_exports_the_arm(tmp_path):
    settings = Settings(_env_file=None, storage_root=str(tmp_path))
    campaign = CampaignCreate(name="g", sample_id="s", suggestions="randomized")
    kit = kit_for(campaign, settings)
    assert f"${SUGGESTIONS_HEADER_FIELD}" in kit.label_config()
    tasks = kit.tasks(sample_table(4), 1)
    for i, task in enumerate(tasks):
        task["id"] = i
        task["annotations"] = [{"id": i, "result": []}]
    annotations = kit.annotations(tasks)
    assert annotations.column("arm").to_pylist() == [t["data"]["arm"] for t in tasks]
    assert (
        "arm"
        not in kit_for(CampaignCreate(name="g", sample_id="s"), settings)
        .annotations(tasks)
        .column_names
    )


def simulated_campaign(
    n: int, *, accuracy: list[float], adopt: float, seed: int, error: float = 0.05
) -> tuple[pa.Table, pa.Table, float, float]:
    """A randomized campaign whose assisted experts adopt a wrong top-1 with prob. ``adopt``.

    Four strata of unequal sizes and weights, model accuracy ``accuracy[h]`` in stratum h;
    every expert also errs at random with prob. ``error`` (a code the model did not give).
    Returns gold, annotations, and the true effect on the measured accuracy: assisted experts
    count as right a wrong model answer with prob. ``adopt`` (unless they then err), so the
    effect is ``adopt * (1 - error) * (1 - population accuracy)``, the population accuracy
    weighting strata by N_h. Also returns that population accuracy.
    """
    rng = np.random.default_rng(seed)
    population = np.array([40_000, 25_000, 20_000, 15_000])
    sizes = np.array([n // 4] * 4)
    stratum = np.repeat(np.arange(4), sizes)
    ids = [f"r{i}" for i in range(stratum.size)]
    arms = np.array(assign_arms(ids, [f"h{h}" for h in stratum], seed=seed))
    codes = np.array([f"{10 + i // 10:02d}.{i % 10:02d}Z" for i in range(300)])
    truth = codes[rng.integers(0, 300, stratum.size)]
    model_right = rng.random(stratum.size) < np.asarray(accuracy)[stratum]
    predicted = np.where(model_right, truth, codes[(np.searchsorted(codes, truth) + 1) % 300])
    expert = truth.copy()
    assisted = arms == ASSISTED
    adopts = assisted & ~model_right & (rng.random(stratum.size) < adopt)
    expert[adopts] = predicted[adopts]
    errs = rng.random(stratum.size) < error
    expert[errs] = codes[(np.searchsorted(codes, truth[errs]) + 150) % 300]
    weight = (population / sizes)[stratum]
    gold = pa.table(
        {
            "request_id": ids,
            "text": ["ACTIVITE"] * stratum.size,
            "n_annotations": np.ones(stratum.size, dtype=np.int64),
            "status": ["coded"] * stratum.size,
            "gold_code": expert,
            "predicted_code": predicted,
            "predicted_codes": [[p, "99.99Z"] for p in predicted],
            "confidence": rng.random(stratum.size),
            "stratum": [f"h{h}" for h in stratum],
            "weight": weight,
            "stratum_population": population[stratum],
            "stratum_sample_size": sizes[stratum],
        }
    )
    annotations = pa.table(
        {
            "request_id": ids,
            "task_id": np.arange(stratum.size),
            "annotator": ["e1"] * stratum.size,
            "status": ["coded"] * stratum.size,
            "code": expert,
            "lead_time": np.full(stratum.size, 10.0),
            "created_at": ["2026-09-01T10:00:00"] * stratum.size,
            "updated_at": ["2026-09-01T10:00:00"] * stratum.size,
            "arm": arms,
        }
    )
    true_accuracy = float((population * np.asarray(accuracy)).sum() / population.sum())
    return gold, annotations, adopt * (1.0 - error) * (1.0 - true_accuracy), true_accuracy


def test_a_known_anchoring_effect_is_recovered_within_its_interval():
    gold, annotations, effect, accuracy = simulated_campaign(
        4000, accuracy=[0.9, 0.75, 0.6, 0.45], adopt=0.4, seed=11
    )
    summary = anchoring_summary(with_arms(gold, annotations), annotations, replicates=500)
    found = summary["effect"]["accuracy"]
    assert effect == pytest.approx(0.4 * 0.95 * (1 - 0.735))  # 10 points
    assert found["ci_low"] <= effect <= found["ci_high"]
    assert found["ci_low"] > 0  # and it is found: suggestions inflate the measured accuracy
    assert abs(found["estimate"] - effect) < 0.03
    blind, assisted = summary["arms"]["blind"], summary["arms"]["assisted"]
    assert blind["units"] == assisted["units"] == 2000
    # The blind arm measures the model's true accuracy (less the experts' own random errors).
    assert blind["accuracy"]["ci_low"] <= accuracy * 0.95 <= blind["accuracy"]["ci_high"]
    # One expert per task: agreement per annotation equals the accuracy of the gold label.
    assert assisted["agreement"]["estimate"] == pytest.approx(assisted["accuracy"]["estimate"])
    assert summary["effect"]["agreement"]["estimate"] == pytest.approx(found["estimate"])


def test_no_effect_gives_an_interval_around_zero():
    gold, annotations, effect, _ = simulated_campaign(
        4000, accuracy=[0.9, 0.75, 0.6, 0.45], adopt=0.0, seed=5
    )
    found = anchoring_summary(with_arms(gold, annotations), annotations, replicates=500)
    assert effect == 0.0
    assert found["effect"]["accuracy"]["ci_low"] <= 0 <= found["effect"]["accuracy"]["ci_high"]


def test_gold_metrics_report_anchoring_only_for_randomized_campaigns():
    gold, annotations, _, _ = simulated_campaign(
        400, accuracy=[0.9, 0.8, 0.7, 0.6], adopt=0.5, seed=2
    )
    metrics = compute_gold_metrics(
        gold, annotations, threshold=0.8, design="stratified", replicates=100
    )
    anchoring = metrics.summary["anchoring"]
    assert set(anchoring["arms"]) == {"blind", "assisted"}
    assert "anchoring effect" in render_report(metrics, title="t").lower()
    plain = compute_gold_metrics(
        gold, annotations.drop_columns(["arm"]), threshold=0.8, design="stratified", replicates=50
    )
    assert "anchoring" not in plain.summary
