"""Reading annotations back: statuses, codes, validation, and the gold rule."""

from __future__ import annotations

import pyarrow as pa

from campaigns.labelstudio.gold.results import annotations_table, canonical
from campaigns.metrics.gold_labels import resolve_gold
from services.expert_simulator import ExpertAnswer, annotation_payload

VALID = {"62.01Z", "62.02A", "43.99C"}


def task(request_id: str, *answers: ExpertAnswer, who: str = "e1") -> dict:
    return {
        "id": hash(request_id) % 10_000,
        "data": {"request_id": request_id},
        "annotations": [
            annotation_payload(a)
            | {"id": i + 1, "completed_by": f"{who}{i}", "updated_at": f"2026-10-0{i + 1}"}
            for i, a in enumerate(answers)
        ],
    }


def parse(*tasks: dict) -> list[dict]:
    return annotations_table(tasks, VALID.__contains__).to_pylist()


def test_canonical_codes():
    assert canonical("6201z") == "62.01Z"
    assert canonical(" 62.01Z - Programmation") == "62.01Z"
    assert canonical("J") == "J"


def test_statuses_and_codes_round_trip():
    rows = parse(
        task("a", ExpertAnswer(code="62.01Z", difficulty=2, remark="easy")),
        task("b", ExpertAnswer(via_taxonomy_path=["J", "62", "6202a"])),
        task("c", ExpertAnswer(cannot_code=True)),
        task("d", ExpertAnswer(skip=True)),
        task("e", ExpertAnswer(code="99.99Z")),
        task("f", ExpertAnswer(difficulty=3)),
    )
    got = {r["request_id"]: (r["status"], r["code"], r["invalid_reason"]) for r in rows}
    assert got == {
        "a": ("coded", "62.01Z", None),
        "b": ("coded", "62.02A", None),
        "c": ("cannot_code", None, None),
        "d": ("skipped", None, None),
        "e": ("invalid", None, "code 99.99Z is not in the nomenclature"),
        "f": ("invalid", None, "no code chosen"),
    }
    assert rows[0]["difficulty"] == 2 and rows[0]["remark"] == "easy"


def test_taxonomy_overrides_the_suggestion():
    payload = annotation_payload(ExpertAnswer(code="62.01Z"))
    payload["result"] += annotation_payload(ExpertAnswer(via_taxonomy_path=["F", "43", "43.99C"]))[
        "result"
    ]
    rows = annotations_table(
        [{"id": 1, "data": {"request_id": "x"}, "annotations": [payload]}], VALID.__contains__
    ).to_pylist()
    assert (rows[0]["code"], rows[0]["suggested_code"]) == ("43.99C", "62.01Z")


def test_gold_is_the_majority_and_ties_go_to_adjudication():
    annotations = annotations_table(
        [
            task(
                "maj",
                ExpertAnswer(code="62.01Z"),
                ExpertAnswer(code="62.01Z"),
                ExpertAnswer(code="62.02A"),
            ),
            task("tie", ExpertAnswer(code="62.01Z"), ExpertAnswer(code="62.02A")),
            task(
                "vague",
                ExpertAnswer(cannot_code=True),
                ExpertAnswer(cannot_code=True),
                ExpertAnswer(code="62.01Z"),
            ),
            task("one", ExpertAnswer(code="43.99C")),
        ],
        VALID.__contains__,
    )
    sample = pa.table(
        {"request_id": ["maj", "tie", "vague", "one", "not-annotated"], "weight": [10.0] * 5}
    )
    gold = {
        r["request_id"]: (r["status"], r["gold_code"], r["n_annotations"])
        for r in resolve_gold(annotations, sample).to_pylist()
    }
    assert gold == {
        "maj": ("coded", "62.01Z", 3),
        "tie": ("disagreement", None, 2),
        "vague": ("cannot_code", None, 3),
        "one": ("coded", "43.99C", 1),
    }


def test_a_french_screen_annotation_as_label_studio_stores_it():
    """Captured from Label Studio 1.23 in Chromium: the second suggestion clicked, a code
    picked in the search, "Incertain" ticked, on the French screen. Aliases and codes only."""
    result = [
        {
            "value": {"choices": ["62.02A"]},
            "from_name": "suggested",
            "to_name": "text",
            "type": "choices",
            "origin": "prediction-changed",
        },
        {
            "value": {"taxonomy": [["F", "43", "43.99C"]]},
            "from_name": "taxonomy",
            "to_name": "text",
            "type": "taxonomy",
            "origin": "manual",
        },
        {
            "value": {"choices": ["unsure"]},
            "from_name": "flags",
            "to_name": "text",
            "type": "choices",
            "origin": "manual",
        },
    ]
    rows = annotations_table(
        [{"id": 1, "data": {"request_id": "x"}, "annotations": [{"id": 9, "result": result}]}],
        VALID.__contains__,
    ).to_pylist()
    row = rows[0]
    assert (row["status"], row["code"], row["suggested_code"]) == ("coded", "43.99C", "62.02A")
    assert row["unsure"] is True
