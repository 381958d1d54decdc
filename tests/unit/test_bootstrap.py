"""Stratified bootstrap of weighted ratios: known values, variance, coverage, edge cases.

Also the entry points re-exported from ``campaigns.metrics.intervals`` (``wilson``,
``proportion_intervals``), whose coverage near 0 and 1 is tested in test_interval_coverage.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from campaigns.metrics.bootstrap import stratified_bootstrap, wilson
from campaigns.metrics.intervals import proportion_intervals


def _small():
    # Two strata: a (weights 2) and b (weights 5).
    strata = np.array(["a", "a", "a", "b", "b", "b", "b"])
    weights = np.array([2.0, 2.0, 2.0, 5.0, 5.0, 5.0, 5.0])
    correct = np.array([1, 0, 1, 1, 1, 0, 0])
    coded = np.array([1, 1, 1, 1, 1, 1, 0])
    auto = np.array([1, 1, 0, 1, 0, 0, 1])
    num = np.column_stack([correct & coded, auto, correct & auto])
    den = np.column_stack([coded, np.ones(7, dtype=int), coded & auto])
    return num, den, weights, strata


def test_point_estimates_are_the_hand_computed_weighted_ratios():
    num, den, weights, strata = _small()
    result = stratified_bootstrap(num, den, weights, strata, replicates=200, seed=1)
    # accuracy: (2 + 2 + 5 + 5) / (3 * 2 + 3 * 5) = 14 / 21
    # auto rate: (2 + 2 + 5 + 5) / (3 * 2 + 4 * 5) = 14 / 26
    # accuracy of auto-coded coded units: (2 + 5) / (2 + 2 + 5) = 7 / 9
    np.testing.assert_allclose(result.estimate, [14 / 21, 14 / 26, 7 / 9], rtol=1e-12)
    assert result.replicates.shape == (200, 3)
    assert np.all(result.ci_low <= result.estimate) and np.all(result.estimate <= result.ci_high)
    assert np.all(result.se > 0)


def test_a_zero_denominator_gives_nan_not_an_error():
    num = np.array([[0.0, 1.0], [0.0, 1.0]])
    den = np.array([[0.0, 1.0], [0.0, 1.0]])
    result = stratified_bootstrap(num, den, np.ones(2), np.array(["s", "s"]), replicates=50)
    assert math.isnan(result.estimate[0]) and math.isnan(result.ci_low[0])
    assert math.isnan(result.se[0])
    assert result.estimate[1] == 1.0


@pytest.mark.parametrize("collapse", [True, False])
def test_srs_bootstrap_se_matches_the_binomial_standard_error(collapse):
    rng = np.random.default_rng(7)
    n, p = 2000, 0.8
    correct = (rng.random(n) < p).astype(float)
    result = stratified_bootstrap(
        correct, np.ones(n), np.ones(n), np.zeros(n), replicates=1000, seed=3, collapse=collapse
    )
    p_hat = correct.mean()
    assert result.estimate[0] == pytest.approx(p_hat)
    expected = math.sqrt(p * (1 - p) / n)
    assert abs(result.se[0] / expected - 1) < 0.10
    # 95% percentile interval about +-1.96 SE wide
    assert result.ci_high[0] - result.ci_low[0] == pytest.approx(2 * 1.96 * expected, rel=0.15)


def test_collapsed_and_per_unit_draws_give_the_same_spread():
    rng = np.random.default_rng(11)
    n = 3000
    strata = rng.integers(0, 4, n)
    weights = 10.0 * (strata + 1)
    correct = rng.random(n) < 0.6 + 0.1 * strata
    fast = stratified_bootstrap(correct, np.ones(n), weights, strata, replicates=800, seed=5)
    slow = stratified_bootstrap(
        correct, np.ones(n), weights, strata, replicates=800, seed=5, collapse=False
    )
    assert fast.estimate[0] == pytest.approx(slow.estimate[0], rel=1e-12)
    assert fast.se[0] == pytest.approx(slow.se[0], rel=0.10)


def test_coverage_of_the_95_percent_interval_on_a_known_population():
    rng = np.random.default_rng(2024)
    # Population: strata of different sizes and accuracies; 5% of units are not coded.
    sizes = np.array([20_000, 5_000, 1_000])
    accuracy = np.array([0.90, 0.75, 0.60])
    sample_sizes = np.array([300, 250, 200])  # sampling fractions 1.5%, 5%, 20%
    pop_correct = [rng.random(size) < acc for size, acc in zip(sizes, accuracy, strict=True)]
    pop_coded = [rng.random(size) < 0.95 for size in sizes]
    truth = sum(int((c & k).sum()) for c, k in zip(pop_correct, pop_coded, strict=True)) / sum(
        int(k.sum()) for k in pop_coded
    )
    strata = np.repeat(np.arange(3), sample_sizes)
    weights = np.repeat(sizes / sample_sizes, sample_sizes)
    fractions = np.repeat(sample_sizes / sizes, sample_sizes)
    covered = 0
    simulations = 200
    for sim in range(simulations):
        picks = [
            rng.choice(size, n, replace=False) for size, n in zip(sizes, sample_sizes, strict=True)
        ]
        correct = np.concatenate([pop_correct[h][picks[h]] for h in range(3)])
        coded = np.concatenate([pop_coded[h][picks[h]] for h in range(3)])
        result = stratified_bootstrap(
            correct & coded,
            coded,
            weights,
            strata,
            replicates=300,
            seed=sim,
            sampling_fractions=fractions,
        )
        covered += result.ci_low[0] <= truth <= result.ci_high[0]
    print(f"coverage {covered / simulations:.3f}")
    assert 0.90 <= covered / simulations <= 0.99


def test_single_unit_strata_are_fixed_and_do_not_crash():
    rng = np.random.default_rng(0)
    n = 500
    correct = (rng.random(n) < 0.7).astype(float)
    strata = np.zeros(n, dtype=int)
    strata[-1] = 1  # a stratum with one unit
    weights = np.ones(n)
    weights[-1] = 1000.0
    result = stratified_bootstrap(correct, np.ones(n), weights, strata, replicates=300)
    assert np.isfinite(result.se[0]) and result.se[0] > 0
    # Every stratum a singleton: nothing varies.
    alone = stratified_bootstrap(correct[:5], np.ones(5), np.ones(5), np.arange(5), replicates=50)
    assert alone.se[0] == pytest.approx(0.0, abs=1e-12)
    assert alone.ci_low[0] == alone.ci_high[0] == pytest.approx(correct[:5].mean())


def test_a_census_stratum_adds_no_variance_with_the_finite_population_correction():
    rng = np.random.default_rng(1)
    correct = (rng.random(400) < 0.5).astype(float)
    strata = np.zeros(400)
    census = stratified_bootstrap(
        correct, np.ones(400), np.ones(400), strata, sampling_fractions=np.ones(400)
    )
    sample = stratified_bootstrap(correct, np.ones(400), np.ones(400), strata)
    assert census.se[0] == pytest.approx(0.0, abs=1e-12)
    assert sample.se[0] > 0.01


def test_same_seed_same_intervals_other_seed_other_intervals():
    num, den, weights, strata = _small()
    big_num = np.tile(num, (50, 1))
    big_den = np.tile(den, (50, 1))
    big_w = np.tile(weights, 50)
    big_s = np.tile(strata, 50)
    first = stratified_bootstrap(big_num, big_den, big_w, big_s, replicates=300, seed=42)
    again = stratified_bootstrap(big_num, big_den, big_w, big_s, replicates=300, seed=42)
    other = stratified_bootstrap(big_num, big_den, big_w, big_s, replicates=300, seed=43)
    np.testing.assert_array_equal(first.ci_low, again.ci_low)
    np.testing.assert_array_equal(first.ci_high, again.ci_high)
    np.testing.assert_array_equal(first.replicates, again.replicates)
    assert not np.array_equal(first.replicates, other.replicates)


def test_per_unit_path_never_builds_a_dense_replicates_by_units_matrix():
    n, replicates = 100_000, 500  # dense float64 counts would take 400 MB
    rng = np.random.default_rng(2)
    values = rng.random(n)  # all distinct: no collapsing possible
    tracemalloc.start()
    try:
        result = stratified_bootstrap(values, np.ones(n), np.ones(n), np.zeros(n), replicates)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
    assert result.se[0] == pytest.approx(values.std(ddof=1) / math.sqrt(n), rel=0.1)


def test_wilson_known_values():
    # 8 of 10: the textbook Wilson 95% interval [0.4902, 0.9433]
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_proportion_intervals_binomial_for_equal_weight_srs_effective_n_otherwise():
    # Re-exported here from campaigns.metrics.intervals, where the method is described.
    correct = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0])
    coded = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0])  # 10 coded, 8 correct
    srs = proportion_intervals({"accuracy": (correct * coded, coded)}, np.full(12, 3.0))
    assert srs["accuracy"]["method"] == "wilson"
    assert srs["accuracy"]["n"] == 10
    assert srs["accuracy"]["estimate"] == pytest.approx(0.8)
    # 8 successes: Wilson's lower bound. 2 failures (fewer than 5): Jeffreys' upper bound,
    # not Wilson's 0.9433, whose coverage sags with so few units (Clopper-Pearson: 0.9748).
    assert round(srs["accuracy"]["ci_low"], 4) == 0.4902
    assert round(srs["accuracy"]["ci_high"], 4) == 0.9559

    weights = np.where(np.arange(12) < 6, 1.0, 4.0)
    strata = np.where(np.arange(12) < 6, "low", "high")
    stratified = proportion_intervals(
        {"accuracy": (correct * coded, coded)}, weights, strata, replicates=400
    )["accuracy"]
    assert stratified["method"] == "wilson-design"
    # (6 * 1 + 2 * 4) / (6 * 1 + 4 * 4)
    assert stratified["estimate"] == pytest.approx(14 / 22)
    assert stratified["ci_low"] < stratified["estimate"] < stratified["ci_high"]
    boot = proportion_intervals(
        {"accuracy": (correct * coded, coded)}, weights, strata, variance="bootstrap"
    )["accuracy"]
    assert boot["method"] == "wilson-design" and boot["estimate"] == stratified["estimate"]
    assert boot["ci_low"] < boot["estimate"] < boot["ci_high"]
