"""Transition validation tasks: confirm or reject the model's proposed NAF 2025 code."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import numpy as np
import pyarrow as pa

from campaigns.config import Settings
from campaigns.labelstudio.gateway import KEY_FIELD
from campaigns.labelstudio.kinds import transition_kit
from campaigns.labelstudio.transition.config import CANDIDATE, FALLBACK, NONE_OF_THESE
from campaigns.labelstudio.transition.validation_tasks import (
    NO,
    VERDICT,
    YES,
    transition_validation_annotations,
    transition_validation_config,
    transition_validation_tasks,
)
from campaigns.metrics.gold_labels import resolve_gold
from campaigns.recoding.dataset import build_dataset
from campaigns.recoding.simulation import drawn_table, simulated_transition, study_codes
from nace_mapping import Correspondence, Nomenclature

NEW = Nomenclature.builtin("naf2025")
OLD = Nomenclature.builtin("naf2008")


def sample() -> pa.Table:
    return pa.table(
        {
            "request_id": ["r1", "r2"],
            "text": ["CULTURE DE MELONS", "VENTE DE POIRES"],
            "old_code": ["01.19Z", "01.28Z"],
            "candidates": [["01.13Y", "01.19Y"], ["01.13Y", "01.28Y"]],
            "proposed_code": ["01.13Y", None],
            "confidence": [0.91, 0.4],
            "cj": ["5499", "1000"],
            "inclusion_prob": [0.1, 0.2],
            "weight": [10.0, 5.0],
        }
    )


def test_the_config_asks_yes_or_no_and_shows_the_other_candidates_only_on_no():
    view = ET.fromstring(transition_validation_config(NEW, "en"))
    verdict = view.find(f"Choices[@name='{VERDICT}']")
    assert verdict is not None and verdict.get("required") == "true"
    assert [c.get("alias") for c in verdict] == [YES, NO]
    hidden = view.find("View[@visibleWhen='choice-selected']")
    assert hidden is not None and hidden.get("whenChoiceValue") == NO
    assert hidden.find(f"Choices[@name='{CANDIDATE}']").get("value") == "$candidates"
    assert hidden.find(f"Taxonomy[@name='{FALLBACK}']") is not None
    assert view.find("Text[@name='proposed']").get("value") == "$proposed_display"


def test_tasks_show_the_proposal_and_offer_the_other_candidates():
    tasks = transition_validation_tasks(sample(), 7, OLD.title, NEW.title, language="en")
    assert len(tasks) == 1  # r2 has no proposal: nothing to confirm
    data = tasks[0]["data"]
    assert data[KEY_FIELD] == "7:r1" and data["proposed_code"] == "01.13Y"
    assert "01.13Y" in data["proposed_display"] and "0.91" in data["proposed_display"]
    assert [c["value"] for c in data["candidates"]] == ["01.19Y", NONE_OF_THESE]
    assert "Legal category" in data["context_display"]


def answer(*regions: dict, cancelled: bool = False, annotation_id: int = 1) -> dict:
    return {
        "id": annotation_id,
        "completed_by": 3,
        "result": list(regions),
        "was_cancelled": cancelled,
        "updated_at": "2026-01-01T00:00:00Z",
    }


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def parse(*annotations: dict) -> list[dict]:
    task = transition_validation_tasks(sample(), 7, OLD.title, NEW.title)[0]
    task |= {"id": 11, "annotations": list(annotations)}
    return transition_validation_annotations([task], NEW.__contains__).to_pylist()


def test_answers_become_codes_confirmations_or_reasons():
    yes, other, none, bare, searched, skipped, empty = parse(
        answer(choice(VERDICT, YES)),
        answer(choice(VERDICT, NO), choice(CANDIDATE, "01.19Y")),
        answer(choice(VERDICT, NO), choice(CANDIDATE, NONE_OF_THESE)),
        answer(choice(VERDICT, NO)),
        answer(
            choice(VERDICT, NO),
            {"from_name": FALLBACK, "type": "taxonomy", "value": {"taxonomy": [["A", "01.24Y"]]}},
        ),
        answer(cancelled=True),
        answer(),
    )
    assert (yes["status"], yes["new_code"], yes["confirmed"]) == ("coded", "01.13Y", True)
    assert (other["status"], other["new_code"], other["confirmed"]) == ("coded", "01.19Y", False)
    assert other["in_candidates"] is True
    assert (none["status"], none["new_code"]) == ("none_of_these", None)
    assert (bare["status"], bare["confirmed"]) == ("rejected", False)
    assert (searched["status"], searched["new_code"]) == ("coded", "01.24Y")
    assert searched["in_candidates"] is False
    assert skipped["status"] == "skipped" and empty["status"] == "invalid"
    # the displayed French label is read like the alias
    (label,) = parse(answer(choice(VERDICT, "Oui, le code est correct")))
    assert label["status"] == "coded" and label["confirmed"] is True


def test_the_kit_feeds_the_export_gold_rule(tmp_path):
    kit = transition_kit(
        validate=True, settings=Settings(storage_root=str(tmp_path), language="en")
    )
    assert "verdict" in kit.label_config()
    tasks = kit.tasks(sample(), 3)
    tasks[0] |= {
        "id": 1,
        "annotations": [
            answer(choice(VERDICT, YES), annotation_id=1),
            answer(choice(VERDICT, NO), choice(CANDIDATE, "01.19Y"), annotation_id=2),
            answer(choice(VERDICT, YES), annotation_id=3),
        ],
    }
    annotations = kit.annotations(tasks)
    assert "code" in annotations.column_names
    gold = resolve_gold(annotations, sample()).to_pylist()
    assert [(g["request_id"], g["status"], g["gold_code"]) for g in gold] == [
        ("r1", "coded", "01.13Y")
    ]
    assert gold[0]["proposed_code"] == "01.13Y"  # the sample's columns ride along


def test_validation_answers_count_in_the_measured_accuracy():
    """Answers of validation tasks are expert rows: they enter the cross-validation and the
    design-weighted share of proposals confirmed."""
    correspondence = Correspondence.builtin()
    titles = {c: NEW.title(c) or c for c in set(correspondence.pairs["new_code"])}
    codes = study_codes(correspondence, multivocal=5, univocal=10, seed=3)
    sim = simulated_transition(correspondence, titles, rows=3000, seed=1, old_codes=codes)
    ids = list(sim.queue_ids[:60])
    candidates = dict(
        zip(
            sim.queue.column("request_id").to_pylist(),
            sim.queue.column("candidates").to_pylist(),
            strict=True,
        )
    )
    # The first 40 rows were validation tasks: proposals right on 30 of them (confirmed),
    # wrong on 10 (corrected to the truth); the other 20 were ordinary choices.
    proposed = [
        sim.truth[r] if i < 30 else next(c for c in candidates[r] if c != sim.truth[r])
        for i, r in enumerate(ids[:40])
    ]
    experts = pa.table(
        {
            "request_id": ids,
            "status": ["coded"] * 60,
            "gold_code": [sim.truth[r] for r in ids],
            "batch": ["b1"] * 60,
            "task": ["validate"] * 40 + ["choose"] * 20,
            "proposed_code": proposed + [None] * 20,
        }
    )
    inputs = sim.inputs(experts, drawn_table("b1", ids, np.full(60, 0.05)), ["b1"])
    result = build_dataset(inputs, folds=3)
    assert result.validation is not None
    assert result.validation.estimate == 0.75 and result.validation.n == 40
    assert result.run.cv is not None and result.run.cv.rows == 60
    assert result.counts["expert"] == 60
