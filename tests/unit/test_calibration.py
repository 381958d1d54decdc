"""Reliability table, weighted ECE/MCE, PAVA isotonic fit and the label-free accuracy estimate."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from campaigns.metrics.calibration import (
    calibrated_accuracy_estimate,
    expected_calibration_error,
    fit_isotonic,
    max_calibration_error,
    pava,
    reliability_table,
)


def gold_from(scores, correct, weights=None, extra_rows: int = 0) -> pa.Table:
    """Coded rows predicting 'A' (gold 'A' when correct, else 'B'), plus non-coded rows."""
    scores = np.asarray(scores, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=float)
    n = scores.size
    return pa.table(
        {
            "status": ["coded"] * n + ["cannot_code", "skipped", "disagreement"][:extra_rows],
            "predicted_code": ["62.01Z"] * (n + extra_rows),
            "gold_code": pa.array(
                np.where(correct, "62.01Z", "62.02A").tolist() + [None] * extra_rows, pa.string()
            ),
            "score": np.concatenate([scores, np.full(extra_rows, 0.99)]),
            "confidence": np.concatenate([scores, np.full(extra_rows, 0.99)]),
            "weight": np.concatenate([weights, np.full(extra_rows, 50.0)]),
        }
    )


def simulated(n: int, power: float, seed: int) -> pa.Table:
    """Units right with probability score**power (power 1: perfectly calibrated)."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 1, n)
    correct = rng.uniform(0, 1, n) < scores**power
    return gold_from(scores, correct, rng.uniform(0.5, 2.0, n))


# Four bins [0, .25) [.25, .5) [.5, .75) [.75, 1]; total weight 10.
#   bin 0: s .1 right (w 1), s .2 wrong (w 3): share .4, mean score .175, accuracy .25
#   bin 1: s .25 right (w 2) - the left edge belongs to the upper bin: share .2, .25, 1.0
#   bin 2: empty
#   bin 3: s .9 right (w 2), s 1.0 wrong (w 2): share .4, mean score .95, accuracy .5
#   ECE = .4 * .075 + .2 * .75 + .4 * .45 = .36, MCE = .75
SMALL = gold_from([0.1, 0.2, 0.25, 0.9, 1.0], [1, 0, 1, 1, 0], [1, 3, 2, 2, 2], extra_rows=2)


def test_reliability_table_by_hand():
    table = reliability_table(SMALL, bins=4)
    assert table["bin_low"].to_pylist() == [0.0, 0.25, 0.5, 0.75]
    assert table["bin_high"].to_pylist() == [0.25, 0.5, 0.75, 1.0]
    assert table["n"].to_pylist() == [2, 1, 0, 2]
    assert table["weight_share"].to_pylist() == pytest.approx([0.4, 0.2, 0.0, 0.4])
    mean, acc, gap = (table[c].to_pylist() for c in ("mean_score", "accuracy", "gap"))
    assert mean[0] == pytest.approx(0.175) and acc[0] == pytest.approx(0.25)
    assert mean[1] == pytest.approx(0.25) and acc[1] == pytest.approx(1.0)
    assert math.isnan(mean[2]) and math.isnan(acc[2])
    assert mean[3] == pytest.approx(0.95) and acc[3] == pytest.approx(0.5)
    assert gap[3] == pytest.approx(-0.45)
    assert expected_calibration_error(SMALL, bins=4) == pytest.approx(0.36)
    assert max_calibration_error(SMALL, bins=4) == pytest.approx(0.75)


def test_reliability_counts_sum_to_coded_rows():
    gold = simulated(5_000, 1.0, seed=3)
    noisy = pa.concat_tables([gold, SMALL])  # SMALL adds 5 coded and 2 non-coded rows
    table = reliability_table(noisy, bins=10)
    assert table.num_rows == 10
    assert sum(table["n"].to_pylist()) == 5_005
    assert sum(table["weight_share"].to_pylist()) == pytest.approx(1.0)


def test_score_column_is_selectable():
    gold = SMALL.set_column(
        SMALL.schema.get_field_index("confidence"), "confidence", pa.array([0.3] * 7)
    )
    table = reliability_table(gold, bins=4, score_column="confidence")
    assert table["n"].to_pylist() == [0, 5, 0, 0]
    # one bin, mean confidence .3, weighted accuracy 5/10
    assert expected_calibration_error(gold, bins=4, score_column="confidence") == pytest.approx(0.2)


def test_ece_separates_calibrated_from_overconfident_model():
    calibrated = expected_calibration_error(simulated(50_000, 1.0, seed=11))
    overconfident = expected_calibration_error(simulated(50_000, 3.0, seed=12))
    assert calibrated < 0.02
    assert overconfident > 0.1
    assert max_calibration_error(simulated(50_000, 3.0, seed=12)) > 0.2


def test_pava_textbook_examples():
    assert pava(np.array([1, 3, 2, 4, 3, 5])) == pytest.approx([1, 2.5, 2.5, 3.5, 3.5, 5])
    assert pava(np.array([4, 5, 1, 6, 8, 7])) == pytest.approx(
        [10 / 3, 10 / 3, 10 / 3, 6, 7.5, 7.5]
    )
    # weighted: pooling 3 (w 1) with 2 (w 3) gives (3 + 6) / 4
    assert pava(np.array([1, 3, 2]), np.array([1, 1, 3])) == pytest.approx([1, 2.25, 2.25])
    y = np.random.default_rng(0).normal(size=500).cumsum() * 0.1 + np.linspace(0, 5, 500)
    fitted = pava(y)
    assert np.all(np.diff(fitted) >= -1e-12)
    assert fitted.sum() == pytest.approx(y.sum())  # PAVA preserves the (weighted) mean


def test_fit_isotonic_pools_ties_interpolates_and_clips():
    mapping = fit_isotonic(
        np.array([0.2, 0.2, 0.5, 0.8, 0.9]),
        np.array([1, 0, 1, 0, 1]),
        np.array([1.0, 1.0, 1.0, 3.0, 1.0]),
    )
    # tied 0.2 -> 0.5; then 1 (0.5), 0 (0.8, w 3) violate -> pooled (1 + 0) / 4 = 0.25, which
    # violates 0.5 -> pooled (0.5*2 + 0.25*4) / 6 = 1/3; 0.9 -> 1
    values = mapping(np.array([0.0, 0.2, 0.5, 0.8, 0.85, 0.9, 1.0]))
    assert values == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1.0, 1.0])
    grid = mapping(np.linspace(0, 1, 101))
    assert np.all(np.diff(grid) >= 0) and grid.min() >= 0 and grid.max() <= 1


def test_label_free_accuracy_estimate_under_score_shift():
    rng = np.random.default_rng(2024)
    # Same model on both sides: right with probability score**2 (miscalibrated, overconfident).
    # Reference sample: Poisson-sampled from traffic with scores ~ Beta(2, 2), high scores
    # oversampled, design weight 1 / inclusion probability.
    population = rng.beta(2, 2, 100_000)
    inclusion = 0.1 + 0.3 * population
    picked = rng.uniform(size=population.size) < inclusion
    ref_scores = population[picked]
    ref_correct = rng.uniform(size=ref_scores.size) < ref_scores**2
    reference = gold_from(ref_scores, ref_correct, 1 / inclusion[picked], extra_rows=3)
    # New traffic has shifted scores ~ Beta(5, 2); its realised accuracy is the truth.
    traffic = rng.beta(5, 2, 50_000)
    truth = float(np.mean(rng.uniform(size=traffic.size) < traffic**2))
    assert abs(float(traffic.mean()) - truth) > 0.1  # the raw scores would be far off
    estimate = calibrated_accuracy_estimate(reference, traffic)
    assert abs(estimate - truth) < 0.02
    binned = calibrated_accuracy_estimate(reference, traffic, bins=20, method="histogram")
    assert abs(binned - truth) < 0.03


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="score"):
        reliability_table(gold_from([1.2], [1]))
    with pytest.raises(ValueError, match="traffic"):
        calibrated_accuracy_estimate(SMALL, np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="method"):
        calibrated_accuracy_estimate(SMALL, np.array([0.5]), method="cbpe")
