"""Headline metrics on a hand-made gold table: known answers."""

from __future__ import annotations

import pyarrow as pa
import pytest

from campaigns.metrics.headline import metrics_json, wilson


def test_wilson_known_values():
    # 8 successes of 10: Wilson 95% interval [0.4902, 0.9433] (textbook value).
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


def test_levels_top_k_and_coding_modes():
    gold = pa.table(
        {
            "request_id": ["a", "b", "c", "d", "e"],
            "status": ["coded", "coded", "coded", "cannot_code", "skipped"],
            "predicted_code": ["62.01Z", "62.02A", "43.99C", "62.01Z", "62.01Z"],
            "predicted_codes": [
                ["62.01Z", "62.02A"],
                ["62.02A", "62.01Z"],
                ["43.99C", "43.21A"],
                ["62.01Z"],
                ["62.01Z"],
            ],
            "gold_code": ["62.01Z", "62.01Z", "43.21A", None, None],
            "confidence": [0.9, 0.5, 0.95, 0.2, 0.85],
            "weight": [1.0, 1.0, 2.0, 1.0, 1.0],
        }
    )
    levels = pa.table(
        {
            "subclass": ["62.01Z", "62.02A", "43.99C", "43.21A"],
            "class": ["62.01", "62.02", "43.99", "43.21"],
            "group": ["62.0", "62.0", "43.9", "43.2"],
            "division": ["62", "62", "43", "43"],
            "section": ["J", "J", "F", "F"],
        }
    )
    m = metrics_json(gold, threshold=0.8, design="srs", levels=levels)
    # Only coded tasks count: a right (w1), b wrong (w1), c wrong (w2) -> 1/4 weighted.
    assert m["accuracy"]["estimate"] == pytest.approx(0.25)
    assert m["accuracy"]["n"] == 3
    by_level = {k: v["estimate"] for k, v in m["accuracy_by_level"].items()}
    assert by_level == pytest.approx(
        {"section": 1.0, "division": 1.0, "group": 0.5, "class": 0.25, "subclass": 0.25}
    )
    assert m["top_k_accuracy"][1]["estimate"] == pytest.approx(0.25)
    assert m["top_k_accuracy"][2]["estimate"] == pytest.approx(1.0)
    # Auto-coded (confidence >= 0.8) among non-skipped: a, c (w 1 + 2) of a, b, c, d (w 5).
    assert m["auto_coding_rate"]["estimate"] == pytest.approx(3 / 5)
    assert m["accuracy_auto_coded"]["estimate"] == pytest.approx(1 / 3)
    assert m["accuracy_manual"]["estimate"] == pytest.approx(0.0)
    assert m["status_counts"] == {"coded": 3, "cannot_code": 1, "skipped": 1}
