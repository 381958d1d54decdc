"""An adopted project's annotations read through its mapping, as our own readers read ours."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from campaigns.config import Settings
from campaigns.errors import ConflictError
from campaigns.labelstudio.adopted.config import AdoptedMapping
from campaigns.labelstudio.adopted.results import adopted_annotations
from campaigns.labelstudio.kinds import kit_for
from campaigns.metrics.gold_labels import resolve_gold
from campaigns.state.models import Campaign, CampaignKind

SETTINGS = Settings(_env_file=None)
OLD = {"47.11B", "47.24Z", "10.71C"}
NEW = {"47.11G", "47.12G", "47.24Y"}


def gold_mapping(**changes) -> AdoptedMapping:
    fields = {
        "kind": "gold",
        "project_id": 3,
        "text_field": "libelle",
        "id_field": "liasse_numero",
        "taxonomy": "taxonomy",
        "cannot_code_leaves": ["Inclassable", "XXXXX"],
        "remark": "Remarques",
        "difficulty": "rating",
    }
    return AdoptedMapping(**(fields | changes))


def region(name: str, kind: str, value: dict, to_name: str = "text") -> dict:
    return {"from_name": name, "to_name": to_name, "type": kind, "value": value}


def tax(*path: str) -> dict:
    return region("taxonomy", "taxonomy", {"taxonomy": [list(path)]})


def remark(text: str) -> dict:
    return region("Remarques", "textarea", {"text": [text]})


def task(tid: int, *results: list, data: dict | None = None, **extra) -> dict:
    return {
        "id": tid,
        "data": {"liasse_numero": f"L{tid}", "libelle": "X"} | (data or {}),
        "annotations": [
            {"id": tid * 10 + i, "completed_by": i, "result": r, "updated_at": "2026-01-0{i}"}
            | extra
            for i, r in enumerate(results, start=1)
        ],
    }


def rows(mapping: AdoptedMapping, *tasks: dict, valid: set[str] = OLD) -> list[dict]:
    return adopted_annotations(mapping, tasks, valid.__contains__).to_pylist()


def test_gold_results_as_insee_exports_stored_them():
    got = rows(
        gold_mapping(),
        task(1, [tax("G - Commerce", "47 - Commerce de détail", "47.24Z // 4724Z - Pain")]),
        task(2, [tax("G", "47", "47.24Z"), region("rating", "rating", {"rating": 4}, "diff")]),
        task(3, [tax("4724Z")]),  # undotted
        task(4, [tax("Inclassable")]),
        task(5, [tax("XXXXX"), remark("trop vague")]),
        task(6, [remark("4711B")]),  # the code typed in the remark
        task(7, [tax("G", "47", "47.99Z")]),  # not in the nomenclature
        task(8, [], was_cancelled=True),
    )
    summary = [(r["request_id"], r["status"], r["code"]) for r in got]
    assert summary == [
        ("L1", "coded", "47.24Z"),
        ("L2", "coded", "47.24Z"),
        ("L3", "coded", "47.24Z"),
        ("L4", "cannot_code", None),
        ("L5", "cannot_code", None),
        ("L6", "code_in_remark", None),
        ("L7", "invalid", None),
        ("L8", "skipped", None),
    ]
    assert got[1]["difficulty"] == 4 and got[4]["remark"] == "trop vague"
    assert got[6]["invalid_reason"] == "code 47.99Z is not in the nomenclature"
    assert "47.11B" in got[5]["invalid_reason"]


def test_cannot_be_coded_is_never_an_invalid_code():
    mapping = gold_mapping(cannot_code_choices={"flags": ["Inclassable", "cannot_code"]})
    flag = region("flags", "choices", {"choices": ["Inclassable"]})
    got = rows(mapping, task(1, [flag, tax("G", "47", "47.24Z")]), task(2, [tax("xxxxx")]))
    assert [(r["status"], r["code"], r["invalid_reason"]) for r in got] == [
        ("cannot_code", None, None),
        ("cannot_code", None, None),
    ]


def test_units_are_identified_by_the_chosen_field_or_the_task_id():
    by_task = rows(gold_mapping(id_field=None), task(5, [tax("47.24Z")]))
    assert by_task[0]["request_id"] == "5"
    no_id = rows(gold_mapping(), {"id": 6, "data": {}, "annotations": [{"id": 1, "result": []}]})
    assert no_id[0]["request_id"] is None  # never another unit's id


def test_suggestion_choices_of_a_gold_project():
    mapping = gold_mapping(
        candidates={"name": "Choisissez", "fields": ["ape_1", "ape_2"], "dynamic": None}
    )
    data = {"ape_1": "4711B", "ape_2": "47.24Z - Pain"}
    pick = region("Choisissez", "choices", {"choices": ["$ape_2"]})  # a hand-written result
    resolved = region("Choisissez", "choices", {"choices": ["4711B"]})  # the browser's value
    got = rows(mapping, task(1, [pick], data=data), task(2, [resolved], data=data))
    assert [(r["status"], r["code"], r["suggested_code"]) for r in got] == [
        ("coded", "47.24Z", "47.24Z"),
        ("coded", "47.11B", "47.11B"),
    ]


def test_validation_results_of_the_validate_template():
    mapping = AdoptedMapping(
        kind="validation",
        project_id=4,
        text_field="libelle",
        code_field="apet_manual",
        taxonomy="taxonomy",
        cannot_code_leaves=["Inclassable", "XXXXX"],
        remark="Remarques",
        verdict={"name": "NAF2008_OK", "yes": ["Oui"], "no": ["Non"]},
    )
    oui = region("NAF2008_OK", "choices", {"choices": ["Oui"]})
    non = region("NAF2008_OK", "choices", {"choices": ["Non"]})
    data = {"apet_manual": "4711B"}
    got = rows(
        mapping,
        task(1, [oui], [non, tax("G", "47", "47.24Z // 4724Z - Pain")], data=data),
        task(2, [non, tax("XXXXX")], [non, remark("c'est 1071C")], [non], data=data),
    )
    assert [(r["status"], r["code"], r["given_code"], r["confirmed"]) for r in got] == [
        ("coded", "47.11B", "47.11B", True),
        ("coded", "47.24Z", "47.11B", False),
        ("cannot_code", None, "47.11B", None),
        ("code_in_remark", None, "47.11B", None),
        ("invalid", None, "47.11B", None),
    ]


def test_transition_results_of_the_naf2025_template():
    mapping = AdoptedMapping(
        kind="transition",
        project_id=5,
        text_field="libelle",
        code_field="NAF2008_code_intitule",
        taxonomy="taxonomy",
        cannot_code_leaves=["Inclassable", "XXXXX"],
        remark="Remarques",
        candidates={
            "name": "Choisissez dans la liste",
            "fields": ["NAF2025_1", "NAF2025_2", "NAF2025_3"],
            "dynamic": None,
        },
    )
    data = {
        "NAF2008_code_intitule": "47.11B - Commerce d'alimentation générale",
        "NAF2025_1": "47.11G",
        "NAF2025_2": "47.12G",
        "NAF2025_3": "",
    }
    pick = region("Choisissez dans la liste", "choices", {"choices": ["$NAF2025_2"]})
    picked_value = region("Choisissez dans la liste", "choices", {"choices": ["47.11G"]})
    got = rows(
        mapping,
        task(1, [pick], [picked_value], data=data),
        task(2, [tax("G", "47", "47.24Y // 4724Y - Pain")], [tax("XXXXX")], data=data),
        valid=NEW,
    )
    assert [(r["status"], r["code"], r["old_code"], r["in_candidates"]) for r in got] == [
        ("coded", "47.12G", "47.11B", True),
        ("coded", "47.11G", "47.11B", True),
        ("coded", "47.24Y", "47.11B", False),
        ("cannot_code", None, "47.11B", None),
    ]


def test_hostile_annotations_do_not_crash_the_reader():
    got = rows(
        gold_mapping(),
        task(1, "not a list"),
        task(2, ["region?", {"from_name": "taxonomy", "value": {"taxonomy": "47.24Z"}}]),
        task(3, [{"from_name": "taxonomy", "value": {"taxonomy": [[]]}}]),
        task(4, [{"from_name": "rating", "value": {"rating": "cinq"}}]),
        {"id": 5, "data": "nope", "annotations": ["x", None]},
    )
    assert [r["status"] for r in got] == ["invalid"] * 4


def test_the_kit_reads_through_the_stored_mapping_and_never_writes():
    campaign = Campaign(
        name="adopted",
        kind=CampaignKind.GOLD,
        sample_id="s1",
        adopted_mapping=gold_mapping().to_json(),
    )
    kit = kit_for(campaign, SETTINGS)
    table = kit.annotations([task(1, [tax("C", "10", "10.71C // 1071C - Boulangerie")])])
    assert table.select(["request_id", "status", "code"]).to_pylist() == [
        {"request_id": "L1", "status": "coded", "code": "10.71C"}
    ]
    for build in (kit.label_config, lambda: kit.tasks(pa.table({}), 1)):
        with pytest.raises(ConflictError) as err:
            build()
        assert "campaigns adopt" in err.value.one_line()
    plain = kit_for(Campaign(name="ours", kind=CampaignKind.GOLD, sample_id="s1"), SETTINGS)
    assert "<Taxonomy" in plain.label_config()


def test_the_gold_rule_runs_on_adopted_annotations():
    annotations = adopted_annotations(
        gold_mapping(),
        [
            task(1, [tax("47.24Z")], [tax("47.24Z")], [tax("47.11B")]),
            task(2, [tax("47.24Z")], [tax("XXXXX")]),
        ],
        OLD.__contains__,
    )
    sample = pa.table({"request_id": ["L1", "L2"], "day": [date(2026, 1, 1)] * 2})
    gold = {r["request_id"]: (r["status"], r["gold_code"]) for r in
            resolve_gold(annotations, sample).to_pylist()}  # fmt: skip
    assert gold["L1"] == ("coded", "47.24Z")
    assert gold["L2"][0] in {"coded", "cannot_code"}  # one vote each: the latest status wins
