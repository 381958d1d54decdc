"""The campaign figures assembled from an export: known answers on a tiny campaign."""

from __future__ import annotations

import pyarrow as pa
import pytest

from campaigns.metrics.gold_metrics import (
    compute_gold_metrics,
    coverage,
    headline_proportions,
    reweight_to_annotated,
)


def test_statuses_unsure_flags_experts_and_adjudication_list():
    gold = pa.table(
        {
            "request_id": ["a", "b", "c", "d", "e"],
            "text": ["A", "B", "C", "D", "E"],
            "status": ["coded", "coded", "disagreement", "cannot_code", "skipped"],
            "predicted_code": ["62.01Z", "62.02A", "43.99C", "62.01Z", "62.01Z"],
            "predicted_codes": [["62.01Z"], ["62.02A", "62.01Z"], ["43.99C"], ["62.01Z"], []],
            "gold_code": ["62.01Z", "62.01Z", None, None, None],
            "score": [0.9, 0.6, 0.7, 0.3, 0.8],
            "confidence": [0.8, 0.3, 0.5, 0.1, 0.7],
            "weight": [10.0, 10.0, 10.0, 10.0, 10.0],
            "n_annotations": [1, 1, 2, 1, 1],
            "stratum": ["all"] * 5,
        }
    )
    annotations = pa.table(
        {
            "request_id": ["a", "b", "c", "c", "d", "e"],
            "task_id": [1, 2, 3, 3, 4, 5],
            "annotator": ["x", "x", "x", "y", "y", "y"],
            "status": ["coded", "coded", "coded", "coded", "cannot_code", "skipped"],
            "code": ["62.01Z", "62.01Z", "43.99C", "43.21A", None, None],
            "unsure": [False, True, True, False, False, False],
            "lead_time": [10.0, 20.0, 30.0, 50.0, 5.0, 1.0],
            "created_at": ["2026-09-01T10:00:00Z"] * 2 + ["2026-09-02T10:00:00Z"] * 4,
            "updated_at": ["2026-09-01T10:00:00Z"] * 6,
        }
    )
    m = compute_gold_metrics(gold, annotations, threshold=0.5, design="srs", replicates=50)
    s = m.summary
    assert s["status_counts"] == {
        "coded": 2, "disagreement": 1, "cannot_code": 1, "skipped": 1
    }  # fmt: skip
    assert s["unsure_annotations"] == 2
    # Only the two coded units count: a right, b wrong.
    assert s["figures"]["accuracy"]["estimate"] == pytest.approx(0.5)
    assert s["figures"]["accuracy"]["method"] == "wilson"
    assert s["figures"]["top_2_accuracy"]["estimate"] == pytest.approx(1.0)
    # Manual coding counted right: b (confidence 0.3 < 0.5) is manual, a is right.
    assert s["figures"]["system_accuracy"]["estimate"] == pytest.approx(1.0)
    assert m.adjudication.column("request_id").to_pylist() == ["c"]
    experts = {r["annotator"]: r for r in m.experts.to_pylist()}
    assert experts["x"]["annotations"] == 3 and experts["x"]["median_lead_time_s"] == 20.0
    assert experts["y"]["skipped"] == 1 and experts["y"]["cannot_code"] == 1
    assert experts["y"]["active_days"] == 1 and experts["x"]["active_days"] == 2


def test_partial_campaign_reweights_annotated_units_and_reports_uncovered_strata():
    # Sample: 10 units in each of three strata (N = 1000, 3000, 500); experts annotated 2 in
    # A, 4 in B, none in C yet.
    gold = pa.table(
        {
            "request_id": list("abcdef"),
            "status": ["coded"] * 6,
            "stratum": ["A", "A", "B", "B", "B", "B"],
            "weight": [100.0, 100.0, 300.0, 300.0, 300.0, 300.0],
            "stratum_population": [1000, 1000, 3000, 3000, 3000, 3000],
            "stratum_sample_size": [10] * 6,
        }
    )
    strata = pa.table(
        {
            "stratum": ["A", "B", "C"],
            "population": [1000, 3000, 500],
            "sample_size": [10, 10, 10],
        }
    )
    reweighted = reweight_to_annotated(gold)
    assert reweighted.column("request_id").to_pylist() == list("abcdef")  # order kept
    assert reweighted.column("weight").to_pylist() == [500.0, 500.0] + [750.0] * 4
    assert reweighted.column("stratum_sample_size").to_pylist() == [2, 2, 4, 4, 4, 4]
    assert coverage(gold, strata) == {
        "strata": 3,
        "strata_annotated": 2,
        "population_share_covered": pytest.approx(4000 / 4500),
        "strata_without_annotations": ["C"],
    }


def test_a_stratified_campaign_where_every_unit_is_right_still_gets_an_interval():
    # The demo's case: a few dozen units in several strata, all coded right. The percentile
    # bootstrap reported 100.0% [100.0%, 100.0%]; the interval must keep a width.
    n = 36
    gold = pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "status": ["coded"] * n,
            "predicted_code": ["62.01Z"] * n,
            "predicted_codes": [["62.01Z"]] * n,
            "gold_code": ["62.01Z"] * n,
            "confidence": [0.2 + 0.02 * i for i in range(n)],
            "stratum": [f"s{i % 4}" for i in range(n)],
            "weight": [[400.0, 250.0, 100.0, 40.0][i % 4] for i in range(n)],
            "stratum_population": [[3600, 2250, 900, 360][i % 4] for i in range(n)],
            "stratum_sample_size": [9] * n,
        }
    )
    figures = {r["figure"]: r for r in headline_proportions(gold, threshold=0.5).to_pylist()}
    accuracy = figures["accuracy"]
    assert accuracy["estimate"] == 1.0 and accuracy["method"] == "wilson-design"
    assert accuracy["ci_high"] == 1.0
    # Kish's effective size of these weights is 24 of the 36 units: Wilson gives 24 / (24 + z^2).
    assert accuracy["ci_low"] == pytest.approx(24 / (24 + 1.959964**2), rel=1e-3)
    assert all(r["ci_high"] - r["ci_low"] > 0.05 for r in figures.values() if r["n"])
