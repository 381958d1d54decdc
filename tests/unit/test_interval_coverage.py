"""Coverage of the headline intervals near 1, on stratified samples of a known population.

The population is the benchmark's (``benchmarks/coverage_model.py``): 150,000 units in 4
strata (accuracy higher in the big, confident strata, as in production traffic) carrying
twelve figures, true values 0.92, 0.96, 0.97 and 0.99, each on a domain of about 400, 100 and
20 sampled units out of n = 400 (domains spread unevenly over the strata). Every run draws a
stratified sample (proportional, Neyman or equal allocation), computes all figures with
``proportion_intervals`` as ``headline_proportions`` does, then again on a random half of the
sample reweighted to the units annotated so far (``N_h / n'_h``), as a campaign is read while
experts are at work. Coverage is counted per design, annotation state and figure: 1,000 runs
each, so a true 95% coverage stays above 0.93 (three standard errors, 0.0069 each) and the
bounds below leave room for Monte Carlo noise. Seeded: the same numbers on every machine. The
longer version, every interval compared, is ``benchmarks/coverage_simulation.py``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from benchmarks.coverage_model import (
    CALIBRATED_FIGURES,
    FIGURES,
    N_SAMPLE,
    SIZES,
    allocation,
    confidence_population,
    design_weights,
    draw,
    population,
)
from campaigns.metrics.binomial import SPARSE_UNITS, score_interval
from campaigns.metrics.bootstrap import stratified_bootstrap
from campaigns.metrics.intervals import design_intervals, linearised_variance, proportion_intervals

RUNS = 1000


def figures(rows: np.ndarray) -> dict[str, dict]:
    """All figures of the units ``rows``, weighted by the units annotated per stratum."""
    stratum, num, den, names, _ = population()
    h, weights, fractions = design_weights(stratum, rows, "stratified")
    wanted = {name: (num[rows, j], den[rows, j]) for j, name in enumerate(names)}
    return proportion_intervals(wanted, weights, h, sampling_fractions=fractions, replicates=2)


@cache
def coverage(method: str) -> dict[tuple[str, str], float]:
    """Share of runs whose interval holds the truth, per (annotation state, figure)."""
    _, _, _, names, values = population()
    truth = dict(zip(names, values, strict=True))
    rng = np.random.default_rng({"proportional": 11, "neyman": 12, "equal": 13}[method])
    sizes = allocation(method)
    hits: dict[tuple[str, str], int] = {}
    for _ in range(RUNS):
        rows = draw(rng, method, sizes)
        half = rng.choice(rows, rows.size // 2, replace=False)
        for state, chosen in (("complete", rows), ("half", half)):
            for name, figure in figures(chosen).items():
                covered = figure["ci_low"] <= truth[name] <= figure["ci_high"]
                hits[state, name] = hits.get((state, name), 0) + int(covered)
    return {key: count / RUNS for key, count in hits.items()}


@pytest.mark.parametrize("method", ["proportional", "neyman", "equal"])
def test_every_figure_near_1_keeps_95_percent_coverage(method: str):
    observed = coverage(method)
    table = "\n".join(f"{state:8s} {name:10s} {c:.3f}" for (state, name), c in observed.items())
    print(f"\n{method}\n{table}")
    assert len(observed) == 2 * len(FIGURES)
    assert min(observed.values()) >= 0.93, table
    assert np.mean(list(observed.values())) >= 0.95
    # Not bought with absurd width: where errors are many (0.92 on the whole sample, about
    # 32 expected), the interval is Wilson's and stays close to 95%.
    assert observed["complete", "p0.92_d400"] <= 0.975


def test_the_percentile_bootstrap_fails_where_the_score_interval_holds():
    # The same population and design, the old interval: a small domain at 0.97 (about 20
    # units, most samples without a single error, so the replicates never vary).
    stratum, num, den, names, truth = population()
    j = names.index("p0.97_d20")
    rng = np.random.default_rng(21)
    sizes = allocation("proportional")
    old = new = 0
    runs = 150
    for run in range(runs):
        rows = draw(rng, "proportional", sizes)
        h = stratum[rows]
        weights = SIZES[h] / sizes[h]
        boot = stratified_bootstrap(num[rows, j], den[rows, j], weights, h, 200, seed=run)
        score = design_intervals(num[rows, j], den[rows, j], weights, h)
        old += int(boot.ci_low[0] <= truth[j] <= boot.ci_high[0])
        new += int(score.ci_low[0] <= truth[j] <= score.ci_high[0])
    assert old / runs < 0.80 < 0.93 <= new / runs


def test_no_interval_has_zero_width_when_every_unit_agrees():
    # 30 units in 3 strata, all correct: the percentile bootstrap says [1, 1].
    strata = np.repeat(["a", "b", "c"], 10)
    weights = np.repeat([50.0, 20.0, 5.0], 10)
    ones = np.ones(30)
    boot = stratified_bootstrap(ones, ones, weights, strata, replicates=200)
    assert boot.ci_low[0] == boot.ci_high[0] == 1.0
    result = design_intervals(ones, ones, weights, strata)
    assert result.method == "wilson-design"
    assert result.estimate[0] == 1.0 and result.ci_high[0] == 1.0
    # n_eff falls back on Kish's effective size of the weights (unequal weights count less
    # than 30 units), and the interval is Clopper-Pearson's [(alpha/2)^(1/n), 1] or Wilson's.
    kish = weights.sum() ** 2 / (weights**2).sum()
    assert result.effective_n[0] == pytest.approx(kish)
    assert 0.8 < result.ci_low[0] < 1.0 - 1e-3
    none = design_intervals(np.zeros(30), ones, weights, strata)
    assert none.ci_low[0] == 0.0 and none.ci_high[0] > 1e-3
    # Nothing varies within strata though strata differ: the variance is 0, the width is not.
    split = design_intervals((strata == "a").astype(float), ones, weights, strata)
    assert 0.0 < split.ci_low[0] < split.estimate[0] < split.ci_high[0] < 1.0


def test_simple_random_sample_is_the_binomial_count():
    correct = np.r_[np.ones(80), np.zeros(20)]
    result = design_intervals(correct, np.ones(100), np.full(100, 7.0))
    assert result.method == "wilson"
    assert result.effective_n[0] == 100
    # 80 of 100: textbook Wilson [0.7112, 0.8666]
    assert (round(result.ci_low[0], 4), round(result.ci_high[0], 4)) == (0.7112, 0.8666)
    # 8 of 10: 8 successes, Wilson's lower bound (0.4902); 2 failures, fewer than 5, Jeffreys'
    # upper bound Beta^-1(0.975; 8.5, 2.5) = 0.9559 (Clopper-Pearson's was 0.9748)
    small = design_intervals(correct[72:82], np.ones(10), np.ones(10))
    assert (round(small.ci_low[0], 4), round(small.ci_high[0], 4)) == (0.4902, 0.9559)


def test_linearised_variance_is_the_textbook_stratified_variance():
    # Whole-population proportion, 0/1 y: v = sum_h W_h^2 (1 - f_h) s_h^2 / n_h.
    rng = np.random.default_rng(3)
    sizes, big = np.array([50, 80, 30]), np.array([1000.0, 4000.0, 300.0])
    strata = np.repeat(np.arange(3), sizes)
    y = (rng.random(sizes.sum()) < np.repeat([0.9, 0.7, 0.5], sizes)).astype(float)
    weights = np.repeat(big / sizes, sizes)
    fractions = np.repeat(sizes / big, sizes)
    estimate, variance = linearised_variance(y, np.ones_like(y), weights, strata, fractions)
    shares = big / big.sum()
    expected = sum(
        shares[h] ** 2 * (1 - sizes[h] / big[h]) * y[strata == h].var(ddof=1) / sizes[h]
        for h in range(3)
    )
    assert estimate[0] == pytest.approx(shares @ [y[strata == h].mean() for h in range(3)])
    assert variance[0] == pytest.approx(expected, rel=1e-10)
    # The bootstrap estimates the same variance (Rao-Wu, n_h - 1 draws).
    boot = stratified_bootstrap(
        y, np.ones_like(y), weights, strata, 4000, sampling_fractions=fractions
    )
    assert boot.se[0] ** 2 == pytest.approx(expected, rel=0.1)
    with_boot = design_intervals(
        y, np.ones_like(y), weights, strata, sampling_fractions=fractions, variance="bootstrap"
    )
    assert with_boot.variance[0] == pytest.approx(expected, rel=0.1)


def test_score_interval_switches_to_jeffreys_bounds_only_on_a_sparse_side():
    p = np.array([0.96, 0.96, 0.5, 1.0, 0.0, np.nan])
    n = np.array([100.0, 400.0, 40.0, 3.0, 3.0, 10.0])
    low, high = score_interval(p, n)
    # 4 failures of 100: the upper bound is Jeffreys', the lower Wilson's.
    assert n[0] * (1 - p[0]) < SPARSE_UNITS <= n[1] * (1 - p[1])
    assert high[0] == pytest.approx(0.98635, abs=1e-4)  # Beta^-1(0.975; 96.5, 4.5)
    assert low[0] == pytest.approx(0.90163, abs=1e-4)  # Wilson
    assert np.all(low[:5] <= p[:5]) and np.all(p[:5] <= high[:5])
    assert np.all(high[:5] - low[:5] > 0.01)
    assert np.isnan(low[5]) and np.isnan(high[5])


# Calibrated estimator: the same four strata, now with each unit's confidence index known for
# the whole population, as every request's is in the traffic (``confidence_population``):
# within a stratum, correctness still rises with confidence, so the population's confidence
# deciles tell what the strata do not. Weights are raked to the strata and the deciles
# (``campaigns.metrics.weight_calibration``).
CALIBRATED_RUNS = 1000


@cache
def calibrated_coverage(method: str) -> dict[str, np.ndarray]:
    """Coverage and mean width of the plain and the calibrated intervals, per state."""
    from campaigns.metrics.weight_calibration import Margin, calibrated_intervals, rake

    stratum, deciles, num, den, _, truth = confidence_population()
    decile_totals = {str(d): float(c) for d, c in enumerate(np.bincount(deciles))}
    stratum_totals = {str(h): float(s) for h, s in enumerate(SIZES)}
    rng = np.random.default_rng({"proportional": 31, "neyman": 32, "srs": 33}[method])
    out = {
        f"{kind}:{est}:{state}": np.zeros(truth.size)
        for kind in ("hits", "width")
        for est in ("plain", "calibrated")
        for state in ("complete", "half")
    }
    sizes = allocation(method)
    for _ in range(CALIBRATED_RUNS):
        rows = draw(rng, method, sizes)
        half = rng.choice(rows, rows.size // 2, replace=False)
        for state, chosen in (("complete", rows), ("half", half)):
            h, weights, fractions = design_weights(stratum, chosen, method)
            plain = design_intervals(
                num[chosen], den[chosen], weights, h, sampling_fractions=fractions
            )
            raked = rake(
                weights,
                [
                    Margin("stratum", stratum[chosen], stratum_totals),
                    Margin("decile", deciles[chosen], decile_totals, tuple(decile_totals)),
                ],
            )
            calibrated = calibrated_intervals(
                num[chosen], den[chosen], raked, h, sampling_fractions=fractions
            )
            for est, r in (("plain", plain), ("calibrated", calibrated)):
                out[f"hits:{est}:{state}"] += (r.ci_low <= truth) & (truth <= r.ci_high)
                out[f"width:{est}:{state}"] += r.ci_high - r.ci_low
    return {key: value / CALIBRATED_RUNS for key, value in out.items()}


@pytest.mark.parametrize("method", ["proportional", "neyman", "srs"])
def test_calibrated_intervals_keep_their_coverage_and_are_narrower(method: str):
    observed = calibrated_coverage(method)
    names = confidence_population()[4]
    table = "\n".join(
        f"{key:24s} " + " ".join(f"{v:.4f}" for v in values) for key, values in observed.items()
    )
    print(f"\n{method} ({', '.join(names)})\n{table}")
    whole = np.array([m == N_SAMPLE for _, m in CALIBRATED_FIGURES])
    many_errors = np.array([m == N_SAMPLE and t <= 0.92 for t, m in CALIBRATED_FIGURES])
    for state in ("complete", "half"):
        hits = observed[f"hits:calibrated:{state}"]
        assert hits.min() >= 0.93, table
        # Where errors are many (whole sample, 0.80-0.92) the interval is Wilson's on n_eff:
        # close to 95%, not bought with width.
        assert hits[many_errors].max() <= 0.97, table
        plain = observed[f"width:plain:{state}"][whole].mean()
        assert observed[f"width:calibrated:{state}"][whole].mean() < plain, table
