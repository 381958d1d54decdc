"""A code typed in the remark is proposed for adjudication, never lost as "no code chosen"."""

from __future__ import annotations

import pyarrow as pa

from campaigns.labelstudio.gold.results import annotations_table
from campaigns.labelstudio.remark_codes import (
    CODE_IN_REMARK,
    MAX_REMARK_CHARS,
    code_in_remark,
    codes_in_text,
)
from campaigns.metrics.gold_labels import resolve_gold
from services.expert_simulator import ExpertAnswer, annotation_payload

VALID = {"47.11Z", "47.19B", "10.71C", "62.01Z"}


def parse(*answers: ExpertAnswer) -> list[dict]:
    tasks = [
        {
            "id": i,
            "data": {"request_id": f"r{i}"},
            "annotations": [annotation_payload(a) | {"id": i, "completed_by": 1}],
        }
        for i, a in enumerate(answers)
    ]
    return annotations_table(tasks, VALID.__contains__).to_pylist()


def test_codes_as_people_type_them():
    assert codes_in_text("4711Z") == ["47.11Z"]
    assert codes_in_text("plutôt 47.11z, voir aussi 4719B et 4711Z") == ["47.11Z", "47.19B"]
    assert codes_in_text(["ligne 1", "code 1071C"]) == ["10.71C"]  # a TextArea's lines
    # Not codes: glued to letters or digits, surfaces, phone numbers, dates, prices.
    for text in ["12000m2", "1200 m2", "0611223344", "01/02/2024", "A4711ZB", "1.5 kg", "47.11"]:
        assert codes_in_text(text) == [], text
    assert codes_in_text(None) == [] and codes_in_text(4711) == []


def test_a_hostile_remark_costs_no_more_than_a_normal_one():
    huge = "9" * 10_000_000 + " 4711Z"
    assert codes_in_text(huge) == []  # only the start is read
    assert codes_in_text("x" * (MAX_REMARK_CHARS - 10) + " 4711Z") == ["47.11Z"]
    assert codes_in_text("\x00\u202e4711Z\u200b") == ["47.11Z"]


def test_proposals_and_their_reasons():
    valid = VALID.__contains__
    assert code_in_remark("rien à signaler", None, valid) is None
    status, reason = code_in_remark("4711Z", None, valid)
    assert status == CODE_IN_REMARK and "47.11Z" in reason and "confirm" in reason
    assert "choose one" in code_in_remark("4711Z ou 4719B", None, valid)[1]
    assert "not in the nomenclature" in code_in_remark("9999Z", None, valid)[1]
    # A remark repeating the picked code changes nothing; another code is a conflict.
    assert code_in_remark("c'est bien 4711Z", "47.11Z", valid) is None
    assert "47.19B" in code_in_remark("plutôt 4719B", "47.11Z", valid)[1]


def test_gold_reader_sends_remark_codes_to_adjudication():
    rows = parse(
        ExpertAnswer(remark="4711Z"),  # nothing picked, the code typed in the remark
        ExpertAnswer(remark="pas de code"),  # nothing at all: still "no code chosen"
        ExpertAnswer(code="47.11Z", remark="hésité avec 4719B"),  # the suggestion kept
        ExpertAnswer(via_taxonomy_path=["G", "47", "47.11Z"], remark="4719B ?"),  # explicit
        ExpertAnswer(cannot_code=True, remark="4711Z"),  # explicit "cannot be coded"
        ExpertAnswer(code="47.11Z", remark="4711Z"),  # the remark agrees
    )
    got = [(r["status"], r["code"]) for r in rows]
    assert got == [
        (CODE_IN_REMARK, None),
        ("invalid", None),
        (CODE_IN_REMARK, None),
        ("coded", "47.11Z"),
        ("cannot_code", None),
        ("coded", "47.11Z"),
    ]
    assert "47.11Z" in rows[0]["invalid_reason"] and rows[1]["invalid_reason"] == "no code chosen"


def test_the_gold_rule_keeps_the_unit_out_of_the_gold_codes():
    annotations = annotations_table(
        [
            {
                "id": 1,
                "data": {"request_id": "r"},
                "annotations": [
                    annotation_payload(ExpertAnswer(remark="voir 4711Z"))
                    | {"id": 1, "completed_by": 1}
                ],
            }
        ],
        VALID.__contains__,
    )
    gold = resolve_gold(annotations, pa.table({"request_id": ["r"], "weight": [1.0]}))
    assert gold.to_pylist()[0]["status"] == CODE_IN_REMARK
    assert gold.to_pylist()[0]["gold_code"] is None
