"""Per-class design-weighted scores, hardest classes and section confusion (hand-computed)."""

from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa
import pytest

from campaigns.metrics.class_scores import (
    hardest_classes,
    macro_f1,
    per_class_scores,
    section_confusion,
    weighted_f1,
)

A, B, F_CODE, Z = "62.01Z", "62.02A", "43.99C", "01.11Z"

LEVELS = pa.table(
    {
        "subclass": [A, B, F_CODE, Z],
        "class": ["62.01", "62.02", "43.99", "01.11"],
        "group": ["62.0", "62.0", "43.9", "01.1"],
        "division": ["62", "62", "43", "01"],
        "section": ["J", "J", "F", "A"],
        "subclass_title": ["prog", "conseil", "autres", "cereales"],
        "section_title": ["info", "info", "construction", "agriculture"],
    }
)


def gold_table(rows: list[tuple], extra: list[tuple] = ()) -> pa.Table:
    """rows: (predicted, gold, weight) coded rows; extra: (status, predicted, weight)."""
    status = ["coded"] * len(rows) + [e[0] for e in extra]
    predicted = [r[0] for r in rows] + [e[1] for e in extra]
    gold = [r[1] for r in rows] + [None] * len(extra)
    weight = [float(r[2]) for r in rows] + [float(e[2]) for e in extra]
    n = len(status)
    return pa.table(
        {
            "status": status,
            "predicted_code": predicted,
            "gold_code": pa.array(gold, pa.string()),
            "score": [0.5] * n,
            "confidence": [0.5] * n,
            "weight": weight,
        }
    )


# Six coded rows, two classes, unequal weights.
#   A: TP = 1 + 2 = 3, predicted A weight = 1 + 2 + 3 = 6, gold A weight = 1 + 2 + 4 = 7
#      precision 1/2, recall 3/7, F1 = 2*3 / (6 + 7) = 6/13
#   B: TP = 1 + 5 = 6, predicted B weight = 1 + 4 + 5 = 10, gold B weight = 3 + 1 + 5 = 9
#      precision 3/5, recall 2/3, F1 = 2*6 / (10 + 9) = 12/19
SIX = [(A, A, 1), (A, A, 2), (A, B, 3), (B, B, 1), (B, A, 4), (B, B, 5)]


def by_code(table: pa.Table, key: str = "code") -> dict[str, dict]:
    return {row[key]: row for row in table.to_pylist()}


def test_hand_computed_weighted_precision_recall_f1():
    scores = per_class_scores(gold_table(SIX))
    assert scores["code"].to_pylist() == [B, A]  # weighted support 9 > 7
    rows = by_code(scores)
    a, b = rows[A], rows[B]
    assert a["precision"] == pytest.approx(1 / 2)
    assert a["recall"] == pytest.approx(3 / 7)
    assert a["f1"] == pytest.approx(6 / 13)
    assert b["precision"] == pytest.approx(3 / 5)
    assert b["recall"] == pytest.approx(2 / 3)
    assert b["f1"] == pytest.approx(12 / 19)
    # the harmonic-mean form gives the same value
    assert b["f1"] == pytest.approx(2 * 0.6 * (2 / 3) / (0.6 + 2 / 3))
    assert (a["support"], a["weighted_support"], a["predicted"]) == (3, 7.0, 3)
    assert (b["support"], b["weighted_support"], b["predicted"]) == (3, 9.0, 3)
    assert macro_f1(scores) == pytest.approx((6 / 13 + 12 / 19) / 2)
    assert weighted_f1(scores) == pytest.approx((7 * 6 / 13 + 9 * 12 / 19) / 16)


def test_non_coded_rows_are_ignored():
    noisy = gold_table(
        SIX,
        extra=[("cannot_code", A, 100), ("skipped", B, 50), ("disagreement", A, 7)],
    )
    assert per_class_scores(noisy).to_pylist() == per_class_scores(gold_table(SIX)).to_pylist()


def test_undefined_precision_and_recall_are_nan():
    # Z is only predicted (never gold): recall undefined; F_CODE is only gold: precision undefined
    scores = by_code(per_class_scores(gold_table([(A, A, 1), (Z, F_CODE, 2)])))
    assert math.isnan(scores[Z]["recall"]) and scores[Z]["precision"] == 0.0
    assert math.isnan(scores[F_CODE]["precision"]) and scores[F_CODE]["recall"] == 0.0
    assert scores[Z]["f1"] == 0.0 and scores[F_CODE]["f1"] == 0.0
    assert scores[A]["f1"] == 1.0
    assert macro_f1(per_class_scores(gold_table([(A, A, 1), (Z, F_CODE, 2)]))) == 1 / 3


# Section level through LEVELS (62.xx -> J, 43.99C -> F):
#   (A, B, 2) J->J right; (A, F, 1) gold F pred J; (F, F, 3) F right; (F, A, 4) gold J pred F
#   J: TP 2, predicted 3, gold 6 -> precision 2/3, recall 1/3, F1 4/9
#   F: TP 3, predicted 7, gold 4 -> precision 3/7, recall 3/4, F1 6/11
SECTION_ROWS = [(A, B, 2), (A, F_CODE, 1), (F_CODE, F_CODE, 3), (F_CODE, A, 4)]


def test_section_scores_through_levels():
    scores = per_class_scores(gold_table(SECTION_ROWS), level="section", levels=LEVELS)
    assert scores["code"].to_pylist() == ["J", "F"]
    rows = by_code(scores)
    assert rows["J"]["precision"] == pytest.approx(2 / 3)
    assert rows["J"]["recall"] == pytest.approx(1 / 3)
    assert rows["J"]["f1"] == pytest.approx(4 / 9)
    assert rows["F"]["precision"] == pytest.approx(3 / 7)
    assert rows["F"]["recall"] == pytest.approx(3 / 4)
    assert rows["F"]["f1"] == pytest.approx(6 / 11)
    assert (rows["J"]["support"], rows["F"]["predicted"]) == (2, 2)


def test_section_needs_levels_and_prefix_levels_match_levels_table():
    gold = gold_table(SECTION_ROWS)
    with pytest.raises(ValueError, match="section"):
        per_class_scores(gold, level="section")
    with pytest.raises(ValueError, match="level"):
        per_class_scores(gold, level="chapter")
    for level in ("division", "group", "class"):
        from_prefix = per_class_scores(gold, level=level)
        from_levels = per_class_scores(gold, level=level, levels=LEVELS)
        pd.testing.assert_frame_equal(from_prefix.to_pandas(), from_levels.to_pandas())
    division = by_code(per_class_scores(gold, level="division"))
    assert set(division) == {"62", "43"}
    assert division["62"]["precision"] == pytest.approx(2 / 3)
    group = by_code(per_class_scores(gold, level="group"))
    assert set(group) == {"62.0", "43.9"}
    klass = by_code(per_class_scores(gold, level="class"))
    assert set(klass) == {"62.01", "62.02", "43.99"}
    # subclass 62.01Z -> 62.02A is wrong at class level but right at group level
    assert klass["62.02"]["recall"] == 0.0 and group["62.0"]["weighted_support"] == 6.0


def test_section_confusion_long_format():
    table = section_confusion(gold_table(SECTION_ROWS, extra=[("invalid", A, 9)]), LEVELS)
    rows = {(r["gold_section"], r["predicted_section"]): r for r in table.to_pylist()}
    assert set(rows) == {("F", "F"), ("F", "J"), ("J", "F"), ("J", "J")}
    assert {k: (r["weighted_count"], r["count"]) for k, r in rows.items()} == {
        ("F", "F"): (3.0, 1),
        ("F", "J"): (1.0, 1),
        ("J", "F"): (4.0, 1),
        ("J", "J"): (2.0, 1),
    }
    assert sum(table["count"].to_pylist()) == len(SECTION_ROWS)


# A: 1 right; 3 errors: -> B (w 1), -> B (w 1), -> F (w 3): error mass 5, most frequent B (2)
#    even though F carries more weight. F: 1 right, 4 errors -> A of weight 1: mass 4 (more
#    errors by count, less mass). Z: 2 errors of weight 10 but support 2 < 3. B: never wrong.
HARD_ROWS = (
    [(A, A, 1), (B, A, 1), (B, A, 1), (F_CODE, A, 3)]
    + [(F_CODE, F_CODE, 1)]
    + [(A, F_CODE, 1)] * 4
    + [(A, Z, 10), (B, Z, 10)]
    + [(B, B, 1)] * 3
)


def test_hardest_classes_ranks_by_weighted_error_mass():
    table = hardest_classes(gold_table(HARD_ROWS))
    assert table["gold_code"].to_pylist() == [A, F_CODE]
    first = table.to_pylist()[0]
    assert first["most_confused_with"] == B
    assert first["most_confused_count"] == 2
    assert first["most_confused_weight"] == 2.0
    assert (first["support"], first["errors"], first["weighted_errors"]) == (4, 3, 5.0)
    assert first["error_rate"] == pytest.approx(5 / 6)
    second = table.to_pylist()[1]
    assert (second["most_confused_with"], second["most_confused_count"]) == (A, 4)
    assert second["error_rate"] == pytest.approx(4 / 5)


def test_hardest_classes_min_support_and_top():
    table = hardest_classes(gold_table(HARD_ROWS), min_support=1)
    assert table["gold_code"].to_pylist() == [Z, A, F_CODE]
    assert table.to_pylist()[0]["error_rate"] == 1.0
    assert hardest_classes(gold_table(HARD_ROWS), top=1)["gold_code"].to_pylist() == [A]
