"""Validation campaigns: the screen, the tasks and the reading of a yes, a no, a correction."""

from __future__ import annotations

from dataclasses import fields
from typing import Any
from xml.etree import ElementTree as ET

import pyarrow as pa
import pytest

from campaigns.config import Settings
from campaigns.labelstudio.kinds import kit_for
from campaigns.labelstudio.texts import ENGLISH, FRENCH, LabelingTexts
from campaigns.labelstudio.validation.config import (
    CANNOT_CODE,
    FLAGS,
    NO,
    REMARK,
    TAXONOMY,
    TEXT,
    VERDICT,
    YES,
    validation_config,
)
from campaigns.labelstudio.validation.results import validation_annotations
from campaigns.labelstudio.validation.tasks import validation_tasks
from campaigns.metrics.gold_labels import resolve_gold
from campaigns.state.models import CampaignKind

TREE = [
    {
        "code": "G",
        "title": "Commerce",
        "children": [
            {
                "code": "47",
                "title": "Commerce de détail",
                "children": [
                    {"code": "47.11Z", "title": "Commerce de détail en magasin non spécialisé"},
                    {"code": "47.24Z", "title": "Commerce de détail de pain"},
                ],
            }
        ],
    }
]
VALID = {"47.11Z", "47.24Z", "10.71C"}
TITLES = {"47.11Z": "Supérette", "47.24Z": "Pain"}


class Tree:
    def tree(self) -> list[dict[str, Any]]:
        return TREE


def region(name: str, kind: str, value: dict) -> dict:
    return {"from_name": name, "to_name": TEXT, "type": kind, "value": value}


def verdict(answer: str) -> dict:
    return region(VERDICT, "choices", {"choices": [answer]})


def taxonomy(*path: str) -> dict:
    return region(TAXONOMY, "taxonomy", {"taxonomy": [list(path)]})


def read(*results: list[dict], given: str = "47.11Z", **extra: Any) -> list[dict]:
    task = {
        "id": 7,
        "data": {"request_id": "r1", "given_code": given},
        "annotations": [
            {"id": i, "completed_by": i, "result": result, **extra}
            for i, result in enumerate(results, start=1)
        ],
    }
    return validation_annotations([task], VALID.__contains__).to_pylist()


def test_the_screen_asks_one_question_and_searches_only_on_no():
    root = ET.fromstring(validation_config(Tree()))
    question = root.find(f"Choices[@name='{VERDICT}']")
    assert [(c.get("alias"), c.get("value")) for c in question] == [
        (YES, FRENCH.validation_yes),
        (NO, FRENCH.validation_no),
    ]
    assert all(c.get("selected") is None for c in question)  # no answer pre-selected
    search = root.find("View[@visibleWhen='choice-selected']")
    assert (search.get("whenTagName"), search.get("whenChoiceValue")) == (VERDICT, NO)
    assert search.find(f"Taxonomy[@name='{TAXONOMY}']//Choice[@alias='47.24Z']") is not None
    assert root.find("Text[@name='given_code']").get("value") == "$given_code_display"
    assert root.find(f"Choices[@name='{FLAGS}']/Choice").get("alias") == CANNOT_CODE


def test_the_screen_speaks_the_language_and_stores_the_same_values():
    french, english = validation_config(Tree(), "fr"), validation_config(Tree(), "en")
    assert validation_config(Tree()) == french

    def stored(config: str) -> list[tuple[str, ...]]:
        return [
            (e.tag, e.get("name") or "", e.get("alias") or "", e.get("whenChoiceValue") or "")
            for e in ET.fromstring(config).iter()
        ]

    assert stored(french) == stored(english)
    english_texts = {str(getattr(ENGLISH, f.name)) for f in fields(LabelingTexts)}
    shown = [e.get("value") for e in ET.fromstring(french).iter("Header")]
    assert shown and not set(shown) & english_texts


def test_tasks_show_whose_code_is_judged():
    sample = pa.table(
        {
            "request_id": ["a", "b", "c"],
            "text": ["SUPERETTE", "BOULANGERIE", "RIEN"],
            "context": ['{"cj": "5499"}', None, None],
            "predicted_code": ["4711Z", "47.11Z", None],
            "confidence": [0.934, 0.41, None],
            "stratum": ["s1", "s2", "s2"],
            "assigned_code": [None, "47.24Z", None],
        }
    )
    tasks = validation_tasks(sample, 3, TITLES.get)
    assert [t["data"]["request_id"] for t in tasks] == ["a", "b"]  # "c": nothing to judge
    a, b = (t["data"] for t in tasks)
    assert (a["given_code"], a["given_by"], a["confidence"]) == ("47.11Z", "model", 0.934)
    assert a["given_code_display"] == (
        "Code proposé (par le modèle, indice de confiance 0.93) : 47.11Z – Supérette"
    )
    assert (b["given_code"], b["given_by"]) == ("47.24Z", "clerk")
    assert "par un gestionnaire" in b["given_code_display"] and a["campaign_key"] == "3:a"
    english = validation_tasks(sample, 3, TITLES.get, language="en")[0]["data"]
    assert english["given_code_display"].startswith("Proposed code (by the model")


def test_yes_no_correction_and_the_rest():
    rows = read(
        [verdict(YES)],
        [verdict(NO), taxonomy("G", "47", "47.24Z")],
        [taxonomy("G", "47", "4724z")],  # a pick without the question answered
        [verdict(NO)],
        [verdict(NO), region(FLAGS, "choices", {"choices": [CANNOT_CODE]})],
        [verdict(NO), taxonomy("G", "99", "99.99Z")],
        [],
        [verdict(FRENCH.validation_yes)],  # a hand-written result with the label
        [verdict(YES), region(REMARK, "textarea", {"text": ["plutôt 4724Z"]})],
    )
    got = [(r["status"], r["code"], r["confirmed"]) for r in rows]
    assert got == [
        ("coded", "47.11Z", True),
        ("coded", "47.24Z", False),
        ("coded", "47.24Z", False),
        ("invalid", None, None),
        ("cannot_code", None, None),
        ("invalid", None, None),
        ("invalid", None, None),
        ("coded", "47.11Z", True),
        ("code_in_remark", None, None),
    ]
    reasons = [r["invalid_reason"] for r in rows]
    assert reasons[3] == "answered no without picking a code"
    assert reasons[5] == "code 99.99Z is not in the nomenclature" and reasons[6] == "no answer"
    assert "47.24Z" in reasons[8]
    assert read([verdict(YES)], was_cancelled=True)[0]["status"] == "skipped"


def test_a_given_code_outside_the_nomenclature_cannot_be_confirmed():
    row = read([verdict(YES)], given="99.99Z")[0]
    assert (row["status"], row["code"]) == ("invalid", None)
    assert "99.99Z" in row["invalid_reason"]


def test_hostile_results_are_read_without_crashing():
    rows = read(
        [{"from_name": VERDICT, "value": "oui"}],
        [{"from_name": TAXONOMY, "value": {"taxonomy": "47.11Z"}}],
        ["not a region", {"from_name": FLAGS, "value": {"choices": "cannot_code"}}],
    )
    assert [r["status"] for r in rows] == ["invalid", "invalid", "invalid"]


def test_gold_rule_and_agreement_read_validation_annotations():
    annotations = validation_annotations(
        [
            {
                "id": 1,
                "data": {"request_id": "r1", "given_code": "47.11Z"},
                "annotations": [
                    {"id": 1, "completed_by": 1, "result": [verdict(YES)]},
                    {"id": 2, "completed_by": 2, "result": [verdict(YES)]},
                    {"id": 3, "completed_by": 3, "result": [verdict(NO), taxonomy("47.24Z")]},
                ],
            }
        ],
        VALID.__contains__,
    )
    gold = resolve_gold(annotations, pa.table({"request_id": ["r1"], "weight": [1.0]}))
    assert gold.select(["status", "gold_code"]).to_pylist() == [
        {"status": "coded", "gold_code": "47.11Z"}
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_kit_of_a_validation_campaign(language):
    kit = kit_for(CampaignKind.VALIDATION, Settings(_env_file=None, language=language))
    root = ET.fromstring(kit.label_config())
    assert root.find(f"Choices[@name='{VERDICT}']") is not None
    assert len(root.findall(".//Taxonomy/Choice/Choice/Choice")) == 732  # NAF rév.2
    table = kit.annotations(
        [
            {
                "id": 1,
                "data": {"request_id": "r", "given_code": "47.11Z"},
                "annotations": [{"id": 1, "completed_by": 1, "result": [verdict(YES)]}],
            }
        ]
    )
    assert {"request_id", "annotator", "status", "code", "updated_at"} <= set(table.column_names)
