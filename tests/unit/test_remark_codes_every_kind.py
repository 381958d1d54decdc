"""Every campaign kind reads a valid code typed in the remark: proposed, never lost.

Gold, validation, transition and transition-validation annotations with nothing picked and a
remark naming a code of the campaign's nomenclature come out ``code_in_remark``, the code in
``invalid_reason``; the export's gold rule then keeps the unit for a person to confirm.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from campaigns.labelstudio.gold.results import annotations_table
from campaigns.labelstudio.remark_codes import CODE_IN_REMARK
from campaigns.labelstudio.transition.config import (
    CANDIDATE,
    NONE_OF_THESE,
    REMARK,
    SCOPE,
    TEXT,
)
from campaigns.labelstudio.transition.results import transition_annotations
from campaigns.labelstudio.transition.validation_tasks import (
    NO,
    VERDICT,
    YES,
    transition_validation_annotations,
)
from campaigns.labelstudio.validation.results import validation_annotations
from campaigns.metrics.gold_labels import resolve_gold
from nace_mapping import Nomenclature

OLD = Nomenclature.builtin("naf2008")
NEW = Nomenclature.builtin("naf2025")


def region(name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"from_name": name, "to_name": TEXT, "type": kind, "value": value}


def choice(name: str, value: str) -> dict[str, Any]:
    return region(name, "choices", {"choices": [value]})


def remark(text: str) -> dict[str, Any]:
    return region(REMARK, "textarea", {"text": [text]})


def tasks(data: dict[str, Any], *results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "data": {"request_id": f"r{i}"} | data,
            "annotations": [
                {"id": i, "completed_by": 1, "result": result, "updated_at": "2026-01-01"}
            ],
        }
        for i, result in enumerate(results, start=1)
    ]


def test_gold_reads_the_remark_code():
    rows = annotations_table(tasks({}, [remark("voir 4711F")]), OLD.__contains__).to_pylist()
    assert (rows[0]["status"], rows[0]["code"]) == (CODE_IN_REMARK, None)
    assert "47.11F" in rows[0]["invalid_reason"]


def test_validation_reads_the_remark_code():
    answered_no = [choice(VERDICT, NO), remark("plutôt 4724Z")]
    rows = validation_annotations(
        tasks({"given_code": "47.11F"}, answered_no), OLD.__contains__
    ).to_pylist()
    assert (rows[0]["status"], rows[0]["code"]) == (CODE_IN_REMARK, None)
    assert "47.24Z" in rows[0]["invalid_reason"]


TRANSITION = {"old_code": "62.01Z", "candidates": [{"value": "62.10Y"}, {"value": NONE_OF_THESE}]}


def test_transition_reads_the_remark_code_the_issue_met():
    """ "None of these", nothing picked, "plutôt 6120Y": was ``invalid`` with no reason."""
    table = transition_annotations(
        tasks(
            TRANSITION,
            [choice(CANDIDATE, NONE_OF_THESE), remark("plutôt 6120Y")],  # the issue's case
            [remark("6120Y")],  # nothing answered but the remark
            [choice(CANDIDATE, NONE_OF_THESE), remark("aucun ne va")],  # no code anywhere
            [choice(CANDIDATE, "62.10Y"), remark("hésité avec 6120Y")],  # an explicit pick
            [remark("9999Y")],  # not a NAF 2025 code: still proposed, and said so
            [choice(CANDIDATE, NONE_OF_THESE), remark("plutôt 4711F")],  # an old code only
            [],
        ),
        NEW.__contains__,
    )
    assert "invalid_reason" in table.column_names
    rows = table.to_pylist()
    got = [(r["status"], r["new_code"]) for r in rows]
    assert got == [
        (CODE_IN_REMARK, None),
        (CODE_IN_REMARK, None),
        ("none_of_these", None),
        ("coded", "62.10Y"),
        (CODE_IN_REMARK, None),
        (CODE_IN_REMARK, None),
        ("invalid", None),
    ]
    reasons = [r["invalid_reason"] for r in rows]
    assert "61.20Y" in reasons[0] and "confirm" in reasons[0]
    assert "61.20Y" in reasons[1]
    assert reasons[2] is None and reasons[3] is None
    assert "99.99Y" in reasons[4] and "not in the nomenclature" in reasons[4]
    assert "47.11F" in reasons[5] and "not in the nomenclature" in reasons[5]
    assert reasons[6] == "no code chosen"


def test_transition_remark_code_is_not_gold():
    annotations = transition_annotations(
        tasks(TRANSITION, [choice(SCOPE, "in_scope"), remark("plutôt 61.20Y")]), NEW.__contains__
    ).rename_columns({"new_code": "code"})
    gold = resolve_gold(annotations, pa.table({"request_id": ["r1"], "weight": [1.0]}))
    assert [(r["status"], r["gold_code"]) for r in gold.to_pylist()] == [(CODE_IN_REMARK, None)]


def test_transition_validation_reads_the_remark_code():
    data = TRANSITION | {"proposed_code": "62.10Y"}
    rows = transition_validation_annotations(
        tasks(
            data,
            [choice(VERDICT, NO), choice(CANDIDATE, NONE_OF_THESE), remark("plutôt 6120Y")],
            [choice(VERDICT, NO), remark("6120Y")],  # "no", nothing picked
            [choice(VERDICT, YES), remark("ou 6120Y ?")],  # a yes, another code typed
            [choice(VERDICT, YES), remark("oui, 6210Y")],  # the remark agrees
            [choice(VERDICT, NO), choice(CANDIDATE, NONE_OF_THESE)],
        ),
        NEW.__contains__,
    ).to_pylist()
    got = [(r["status"], r["new_code"]) for r in rows]
    assert got == [
        (CODE_IN_REMARK, None),
        (CODE_IN_REMARK, None),
        (CODE_IN_REMARK, None),
        ("coded", "62.10Y"),
        ("none_of_these", None),
    ]
    assert all("61.20Y" in r["invalid_reason"] for r in rows[:3])
    assert rows[4]["invalid_reason"] is None
