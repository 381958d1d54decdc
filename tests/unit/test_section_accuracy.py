"""Accuracy per section with its interval, and the push's seeded task order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from campaigns.lifecycle.push import in_push_order
from campaigns.metrics.intervals import wilson
from campaigns.metrics.section_accuracy import MIN_SECTION_UNITS, with_section_accuracy


def _gold() -> pa.Table:
    # Division 62: 60 coded units, 54 right; division 47: 12 coded, 9 right, plus a skipped one.
    predicted = ["62.01Z"] * 54 + ["62.02A"] * 6 + ["47.11Z"] * 9 + ["47.19A"] * 3 + ["01.11Z"]
    gold_code = ["62.01Z"] * 60 + ["47.11Z"] * 12 + [None]
    status = ["coded"] * 72 + ["skipped"]
    return pa.table(
        {
            "request_id": [f"r{i}" for i in range(73)],
            "predicted_code": predicted,
            "gold_code": gold_code,
            "status": status,
            "weight": [10.0] * 73,
            "stratum": ["all"] * 73,
        }
    )


def test_each_section_gets_its_accuracy_interval_and_small_ones_are_marked():
    per_section = pa.table({"code": ["62", "47", "01"], "f1": [0.9, 0.8, float("nan")]})
    table = with_section_accuracy(per_section, _gold(), None)
    rows = {r["code"]: r for r in table.to_pylist()}
    assert table.column("code").to_pylist() == ["62", "47", "01"]  # the scores' order kept
    assert rows["62"]["accuracy"] == pytest.approx(0.9)
    assert rows["47"]["accuracy"] == pytest.approx(0.75)
    # One stratum, equal weights: the binomial count, so Wilson on 60 and 12 units.
    low, high = wilson(54, 60)
    assert rows["62"]["accuracy_ci_low"] == pytest.approx(low)
    assert rows["62"]["accuracy_ci_high"] == pytest.approx(high)
    assert rows["47"]["accuracy_n"] == 12 and rows["62"]["accuracy_n"] == 60
    assert rows["62"]["few_units"] is False and MIN_SECTION_UNITS <= 60
    assert rows["47"]["few_units"] is True  # marked, not hidden
    assert rows["47"]["accuracy_ci_high"] - rows["47"]["accuracy_ci_low"] > 0.3
    assert rows["01"]["accuracy"] is None  # only predicted: no unit of its own to score
    assert rows["62"]["accuracy_method"] == "wilson"


def test_tasks_are_pushed_in_a_seeded_random_order():
    table = pa.table({"request_id": [f"r{i:03d}" for i in range(200)]})
    first = in_push_order(table, seed=7, campaign_id=3).column("request_id").to_pylist()
    again = in_push_order(table, seed=7, campaign_id=3).column("request_id").to_pylist()
    other = in_push_order(table, seed=7, campaign_id=4).column("request_id").to_pylist()
    assert first == again != other
    assert sorted(first) == table.column("request_id").to_pylist()
    # Not the table's order: the first 100 pushed are spread over the whole table.
    positions = np.array([int(r[1:]) for r in first[:100]])
    assert 70 < positions.mean() < 130 and positions.max() > 150


def test_the_report_shows_every_scored_section_with_its_interval_and_mark():
    from campaigns.metrics.report import _sections_html

    per_section = pa.table({"code": ["62", "47", "01"], "f1": [0.9, 0.8, float("nan")]})
    page = _sections_html(with_section_accuracy(per_section, _gold(), None))
    assert "<td>62</td><td>90.0% [" in page and "<td>60</td>" in page
    assert "<td>47</td><td>75.0% [" in page and "<td>12 (few units)</td>" in page
    assert "<td>01</td>" not in page  # no unit of its own: nothing to estimate
