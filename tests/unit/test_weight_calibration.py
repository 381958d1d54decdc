"""Weights raked to the traffic's totals, the census automatic-coding rate, reused gold labels."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from campaigns.duck import connect
from campaigns.gold.reused import reuse_summary, with_reused_gold
from campaigns.metrics.gold_metrics import compute_gold_metrics, headline_proportions
from campaigns.metrics.traffic_totals import count_traffic_totals
from campaigns.metrics.weight_calibration import (
    Margin,
    calibrated_intervals,
    collapse_margin,
    rake,
)
from campaigns.sampling.reuse import (
    mark_reused,
    units_to_annotate,
)


def test_raking_matches_every_margin_and_one_margin_is_post_stratification():
    rng = np.random.default_rng(1)
    a = rng.choice(["x", "y", "z"], 300)
    b = rng.choice(["p", "q"], 300)
    weights = np.full(300, 10.0)
    totals_a = {"x": 1500.0, "y": 1000.0, "z": 500.0}
    totals_b = {"p": 1800.0, "q": 1200.0}
    raked = rake(weights, [Margin("a", a, totals_a), Margin("b", b, totals_b)])
    assert raked.converged
    for labels, totals in ((a, totals_a), (b, totals_b)):
        for category, total in totals.items():
            assert raked.weights[labels == category].sum() == pytest.approx(total)
    post = rake(weights, [Margin("a", a, totals_a)])
    for category, total in totals_a.items():
        inside = a == category
        assert np.allclose(post.weights[inside], total / inside.sum())


def test_sparse_categories_are_collapsed_into_their_neighbour_or_other():
    labels = np.array(["b0"] * 2 + ["b1"] * 30 + ["b2"] * 30 + ["b3"] * 1)
    totals = {"b0": 10.0, "b1": 300.0, "b2": 300.0, "b3": 5.0, "b4": 7.0}
    merged, count = collapse_margin(Margin("c", labels, totals, tuple(totals)), min_units=10)
    assert count == 3  # b0 into b1; b4 (no unit) and b3 into b2
    assert sum(merged.totals.values()) == sum(totals.values())
    assert set(merged.totals) == {"b0+b1", "b2+b3+b4"}
    # Bins nested in the design's strata are merged only within their stratum.
    grouped = Margin("c", labels, totals, tuple(totals), (0, 0, 1, 1, 1))
    merged, _ = collapse_margin(grouped, min_units=10)
    assert set(merged.totals) == {"b0+b1", "b2+b3+b4"} and merged.groups == (0, 1)
    apart = Margin("c", labels, totals, tuple(totals), (0, 1, 1, 2, 2))
    merged, _ = collapse_margin(apart, min_units=10)
    assert set(merged.totals) == {"b0", "b1", "b2", "b3+b4"}  # b0 alone in its stratum
    sections = np.array(["A"] * 40 + ["B"] * 3 + ["C"] * 2)
    merged, _ = collapse_margin(Margin("s", sections, {"A": 80, "B": 6, "C": 4, "D": 1}))
    assert merged.totals == {"A": 91.0}  # "other" still too small: into the largest


def test_the_calibrated_variance_uses_residuals_of_the_calibration_cells():
    # Correctness fully explained by the cell: calibrated variance 0 (Kish fallback), plain not.
    cell = np.repeat(["hi", "lo"], [60, 40])
    correct = (cell == "hi").astype(float)
    weights = np.full(100, 50.0)
    raked = rake(weights, [Margin("cell", cell, {"hi": 2500.0, "lo": 2500.0})])
    result = calibrated_intervals(correct, np.ones(100), raked)
    assert result.estimate[0] == pytest.approx(0.5)
    assert result.variance[0] == pytest.approx(0.0, abs=1e-12)
    assert result.method == "wilson-calibrated"


def _traffic(n: int = 2000) -> pa.Table:
    rng = np.random.default_rng(5)
    confidence = rng.random(n)
    return pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "text": [f"text {i}" for i in range(n)],
            "confidence": confidence,
            "predicted_code": rng.choice(["62.01Z", "47.11F", "01.11Z"], n),
        }
    )


def _sections() -> pa.Table:
    return pa.table({"division": ["62", "47", "01"], "section": ["J", "G", "A"]})


def test_the_automatic_coding_rate_is_counted_on_the_window():
    traffic = _traffic()
    with connect() as con:
        con.register("w", traffic)
        totals = count_traffic_totals(con, "w", 0.8, _sections())
    exact = float(np.mean(traffic.column("confidence").to_numpy() >= 0.8))
    assert totals.auto_coding_rate == exact
    assert totals.requests == 2000 and 0.8 in totals.confidence_edges
    assert sum(totals.by_confidence_bin.values()) == sum(totals.by_section.values()) == 2000
    assert set(totals.by_section) == {"J", "G", "A"}


def _gold_from(traffic: pa.Table, n: int = 400, seed: int = 9) -> pa.Table:
    """A simple random sample of the traffic, coded: right mostly when confident."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(traffic.num_rows, n, replace=False)
    sample = traffic.take(pa.array(rows))
    confidence = sample.column("confidence").to_numpy()
    right = rng.random(n) < 0.35 + 0.64 * confidence
    predicted = sample.column("predicted_code").to_pylist()
    return (
        sample.append_column("status", pa.array(["coded"] * n))
        .append_column(
            "gold_code",
            pa.array([p if ok else "99.99Z" for p, ok in zip(predicted, right, strict=True)]),
        )
        .append_column("predicted_codes", pa.array([[p] for p in predicted]))
        .append_column("weight", pa.array([traffic.num_rows / n] * n))
        .append_column("stratum", pa.array(["all"] * n))
        .append_column("stratum_population", pa.array([traffic.num_rows] * n))
        .append_column("stratum_sample_size", pa.array([n] * n))
        .append_column("n_annotations", pa.array([1] * n))
    )


def test_the_calibrated_headline_keeps_the_stratified_figure_beside_it():
    traffic = _traffic()
    with connect() as con:
        con.register("w", traffic)
        totals = count_traffic_totals(con, "w", 0.8, _sections())
    gold = _gold_from(traffic)
    plain = {r["figure"]: r for r in headline_proportions(gold, threshold=0.8).to_pylist()}
    rows = headline_proportions(gold, threshold=0.8, totals=totals).to_pylist()
    figures = {r["figure"]: r for r in rows}
    rate = figures["auto_coding_rate"]
    assert rate["method"] == "census" and rate["ci_low"] == rate["ci_high"] == rate["estimate"]
    assert rate["estimate"] == totals.auto_coding_rate and rate["n"] == 2000
    assert rate["stratified_estimate"] == plain["auto_coding_rate"]["estimate"]
    auto = figures["accuracy_auto_coded"]
    system = figures["system_accuracy"]
    r = totals.auto_coding_rate
    assert system["estimate"] == pytest.approx(1 - r * (1 - auto["estimate"]))
    assert system["ci_low"] == pytest.approx(1 - r * (1 - auto["ci_low"]))
    assert system["method"] == "census+wilson-calibrated"
    accuracy = figures["accuracy"]
    assert accuracy["method"] == "wilson-calibrated"
    assert accuracy["stratified_method"] == "wilson"
    assert accuracy["stratified_estimate"] == plain["accuracy"]["estimate"]
    # Confidence explains correctness here: the calibrated interval is the narrower.
    assert accuracy["ci_high"] - accuracy["ci_low"] < 0.95 * (
        accuracy["stratified_ci_high"] - accuracy["stratified_ci_low"]
    )
    n = gold.num_rows
    annotations = pa.table(
        {
            "request_id": gold.column("request_id"),
            "task_id": pa.array(range(n), pa.int64()),
            "annotator": ["x"] * n,
            "status": ["coded"] * n,
            "code": gold.column("gold_code"),
            "lead_time": [10.0] * n,
            "created_at": ["2026-09-01T10:00:00Z"] * n,
            "updated_at": ["2026-09-01T10:00:00Z"] * n,
        }
    )
    metrics = compute_gold_metrics(
        gold, annotations, threshold=0.8, design="srs", replicates=20, totals=totals
    )
    summary = metrics.summary
    assert summary["calibration"]["applied"] is True
    assert summary["calibration"]["traffic"]["auto_coding_rate"] == r
    curve = metrics.threshold_curve.to_pylist()
    point = next(p for p in curve if p["threshold"] == 0.8)
    assert point["auto_coding_rate"] == point["auto_coding_rate_ci_high"] == r
    exact = np.mean(traffic.column("confidence").to_numpy() >= 0.3)
    assert next(p for p in curve if p["threshold"] == 0.3)["auto_coding_rate"] == exact
    assert point["system_accuracy"] == pytest.approx(1 - r * (1 - point["accuracy_auto_coded"]))


def test_calibration_is_refused_when_the_strata_do_not_cover_the_window():
    traffic = _traffic()
    with connect() as con:
        con.register("w", traffic)
        totals = count_traffic_totals(con, "w", 0.8, _sections())
    gold = _gold_from(traffic)
    gold = gold.set_column(
        gold.schema.get_field_index("stratum_population"),
        "stratum_population",
        pa.array([1800] * gold.num_rows),  # the frame left 200 requests of the window out
    )
    figures = {
        r["figure"]: r for r in headline_proportions(gold, threshold=0.8, totals=totals).to_pylist()
    }
    assert figures["accuracy"]["method"] == "wilson"
    assert figures["auto_coding_rate"]["method"] == "census"


def test_reused_gold_labels_skip_the_experts_and_count_in_the_figures():
    sample = pa.table(
        {
            "request_id": ["a", "b", "c", "d", "e"],
            "text_norm": ["bakery", "plumber", "bakery shop", "taxi", "florist"],
            "predicted_code": ["10.71C", "43.22A", "10.71C", "49.32Z", "47.76Z"],
            "weight": [10.0, 10.0, 10.0, 30.0, 20.0],
        }
    )
    earlier = pa.table(
        {
            "text_norm": ["bakery", "taxi", "taxi", "florist"],
            "reused_gold_code": ["10.71C", "49.31Z", "49.32Z", "47.76Z"],
            "reused_status": ["coded", "coded", "coded", "coded"],
            "reused_from_campaign": pa.array([1, 1, 2, 2], pa.int64()),
        }
    )
    marked = mark_reused(sample, earlier, seed=0)
    assert marked.column("request_id").to_pylist() == ["a", "b", "c", "d", "e"]
    # "taxi": the earlier campaigns disagree, so experts code it; of the two reusable units,
    # one (seeded) goes to experts as a check of reuse.
    provenance = marked.column("gold_provenance").to_pylist()
    assert provenance == ["reused", "new", "new", "new", "check"]
    assert marked.column("earlier_gold_conflict").to_pylist() == [False] * 3 + [True, False]
    assert marked.column("reused_gold_code").to_pylist() == ["10.71C", None, None, None, "47.76Z"]
    assert units_to_annotate(marked).column("request_id").to_pylist() == ["b", "c", "d", "e"]
    exported = marked.filter(pa.array([False, True, False, True, False])).drop_columns(
        ["reused_gold_code", "reused_status", "reused_from_campaign"]
    )
    exported = exported.append_column("n_annotations", pa.array([1, 1], pa.int64()))
    exported = exported.append_column("status", pa.array(["coded", "coded"]))
    exported = exported.append_column("gold_code", pa.array(["43.22A", "49.32Z"]))
    exported = exported.append_column("campaign_id", pa.array([3, 3], pa.int64()))
    gold = with_reused_gold(exported, marked, 3)
    assert sorted(gold.column("request_id").to_pylist()) == ["a", "b", "d"]
    assert gold.column("n_annotations").to_pylist() == [1, 1, 0]
    summary = reuse_summary(gold, marked)
    assert summary["units"] == 1
    assert summary["share_of_units"] == pytest.approx(1 / 3)
    assert summary["weighted_share"] == pytest.approx(10 / 50)
    assert summary["conflicts"] == 1 and summary["check_units"] == 1
