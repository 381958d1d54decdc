"""A challenger's answers are checked, never trusted: shapes, numbers, codes."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from campaigns.errors import InputFormatError
from campaigns.lifecycle.challenger import parse_responses
from campaigns.lifecycle.challenger_answers import (
    codes_outside_nomenclature,
    printable,
    read_answers,
)
from nace_mapping import Nomenclature

LEVELS = Nomenclature.builtin("naf2008").levels_table()


def answer(*ranks: tuple[object, object], ic: object = 0.3, version: object = "v2") -> dict:
    out: dict = {
        str(i): {"code": code, "probabilite": score, "libelle": "x"}
        for i, (code, score) in enumerate(ranks, start=1)
    }
    return out | {"IC": ic, "MLversion": version}


def test_a_good_answer_is_read_as_before():
    parsed = parse_responses([answer(("4711F", 0.7), ("47.19B", 0.2))])
    assert parsed == {
        "predicted_codes": [["47.11F", "47.19B"]],
        "scores": [[0.7, 0.2]],
        "confidence": [0.3],
        "model_version": ["v2"],
    }
    # No IC: the gap between the two best scores, the index's definition.
    no_ic = answer(("4711F", 0.7), ("4719B", 0.2))
    del no_ic["IC"]
    assert read_answers([no_ic])["confidence"] == [pytest.approx(0.5)]
    # Integers are numbers too (a score of 1, an IC of 0).
    assert read_answers([answer(("4711F", 1), ic=0)])["scores"] == [[1.0]]


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (answer(("4711F", math.nan)), "score nan, not between 0 and 1"),
        (answer(("4711F", math.inf)), "not between 0 and 1"),
        (answer(("4711F", -0.1)), "not between 0 and 1"),
        (answer(("4711F", 1.5)), "not between 0 and 1"),
        (answer(("4711F", 0.9), ic=7.5), "IC 7.5, not between 0 and 1"),
        (answer(("4711F", 0.9), ic=math.nan), "IC nan"),
        (answer(("4711F", "high")), "score high, not a number"),
        (answer(("4711F", True)), "not a number"),
        (answer(("4711F", None)), "score None, not a number"),
        (answer(("4711F", 0.9), ic="0.3"), "IC 0.3, not a number"),
        ({"1": "4764Z"}, "rank 1 = 4764Z, not an object"),
        ({"1": ["4764Z", 0.9]}, "not an object"),
        (answer((4764, 0.9)), "code 4764, not a code"),
        (answer(("", 0.9)), "not a code"),
        (answer((None, 0.9)), "code None, not a code"),
        (answer(("4711F", 0.9), version={"a": 1}), "MLversion"),
        ({"detail": "Not authenticated"}, "not a prediction"),
        ([1, 2], "not a prediction"),
        ("4711F", "not a prediction"),
    ],
)
def test_malformed_answers_are_one_clear_error(bad, said):
    with pytest.raises(InputFormatError) as caught:
        parse_responses([answer(("4711F", 0.9)), bad])
    line = caught.value.one_line()
    assert said in line and "\n" not in line
    assert "not a prediction" in said or "answer 2 " in line  # which answer, counted from 1


def test_hostile_text_is_shown_short_and_printable():
    with pytest.raises(InputFormatError) as caught:
        parse_responses([answer(("4711F", "\x1b[31mhigh\nnext line" + "x" * 10_000))])
    line = caught.value.one_line()
    assert "\n" not in line and "\x1b" not in line and len(line) < 400
    assert printable("a\x00b\u202ec") == "a?b?c"
    assert printable("x" * 500, 10) == "x" * 10 + "..."


def test_codes_outside_the_nomenclature_are_counted_and_listed():
    parsed = read_answers(
        [
            answer(("../../ZZZ<script>", 0.9), ("4711F", 0.1)),
            answer(("4711F", 0.9), ("9999Z", 0.1)),
            answer(("../../ZZZ<script>", 0.6), ("4719B", 0.3)),
            answer(("4711F", 0.9)),
            answer(("Z" * 5_000, 0.9)),  # cut, still counted, never a gold code
        ]
    )
    assert parsed["predicted_codes"][0] == ["../../ZZZ<script>", "47.11F"]
    assert len(parsed["predicted_codes"][4][0]) <= 21
    predictions = pa.table(
        {"request_id": ["a", "b", "c", "d", "e"], **parsed},
    )
    note = codes_outside_nomenclature(predictions, LEVELS)["codes_not_in_nomenclature"]
    assert note["predictions"] == 4 and note["units"] == 4
    assert note["codes"]["../../ZZZ<script>"] == 2 and note["codes"]["99.99Z"] == 1
    assert next(iter(note["codes"])) == "../../ZZZ<script>"  # most frequent first
    fine = predictions.slice(3, 1)
    assert codes_outside_nomenclature(fine, LEVELS) == {}
