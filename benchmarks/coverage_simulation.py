"""Coverage of 95% intervals for design-weighted proportions near 1, by simulation.

The population and designs are :mod:`benchmarks.coverage_model`'s (shared with the unit test
of the chosen interval): 150,000 units in 4 strata carrying twelve figures, true values 0.92,
0.96, 0.97 and 0.99, each on a domain of about 400 (the whole sample), 100 and 20 sampled
units. Each run draws n = 400 units with each allocation (proportional, Neyman, equal, and a
simple random sample), then computes every figure on the whole sample ("complete") and on a
random half of it reweighted to the units annotated so far (``N_h / n'_h``, "half"), as a
campaign is read while experts are at work.

Intervals compared (coverage = share of runs whose interval holds the true value):

- ``pct-boot``: the former interval, Rao-Wu stratified bootstrap percentiles;
- ``score``: the interval now used (``campaigns.metrics.intervals``): Wilson on the effective
  sample size ``min(n_d, R(1-R)/v)`` with the linearised variance, exact bounds on a side with
  fewer than 10 effective units;
- ``score-bootvar``: the same with the bootstrap's variance in place of the linearised one;
- ablations of it: ``wilson-uncap`` (no cap at ``n_d``, no exact bounds), ``wilson-cap`` (cap,
  no exact bounds), ``cp-cap`` (Clopper-Pearson on both sides, i.e. Korn & Graubard).

Calibrated estimator (``--calibrated``): the same strata, now confidence bands (the highest
first) with each unit's confidence index known for the whole population, as every request's
is in the traffic (``coverage_model.confidence_population``). Weights are raked to the
strata and the population's confidence deciles (``campaigns.metrics.weight_calibration``);
coverage and mean width of the plain stratified interval and of the calibrated one, per
design and annotation state.

    python -m benchmarks.coverage_simulation --runs 1200
    python -m benchmarks.coverage_simulation --calibrated --runs 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.coverage_model import (
    CALIBRATED_FIGURES,
    DESIGNS,
    N_SAMPLE,
    SIZES,
    allocation,
    confidence_population,
    design_weights,
    draw,
    population,
)
from campaigns.metrics.binomial import clopper_pearson_bounds, score_interval, wilson_bounds
from campaigns.metrics.bootstrap import stratified_bootstrap
from campaigns.metrics.intervals import (
    design_intervals,
    effective_sample_size,
    kish_effective_n,
    linearised_variance,
)
from campaigns.metrics.weight_calibration import Margin, calibrated_intervals, rake

STATES = ("complete", "half")
METHODS = ("pct-boot", "score", "score-bootvar", "wilson-uncap", "wilson-cap", "cp-cap")
BOOTSTRAP_METHODS = ("pct-boot", "score-bootvar")


def intervals(
    num: np.ndarray,
    den: np.ndarray,
    weights: np.ndarray,
    strata: np.ndarray,
    fractions: np.ndarray,
    replicates: int,
    seed: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every method's bounds for all figures of one sample."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    score = design_intervals(num, den, weights, strata, sampling_fractions=fractions)
    out["score"] = (score.ci_low, score.ci_high)
    estimate, variance = linearised_variance(num, den, weights, strata, fractions)
    capped = score.effective_n  # min(n_d, R(1-R)/v), or the binomial count for a SRS
    if replicates:
        boot = stratified_bootstrap(
            num, den, weights, strata, replicates, seed=seed, sampling_fractions=fractions
        )
        out["pct-boot"] = (boot.ci_low, boot.ci_high)
        n_eff = capped
        if score.method != "wilson":
            n_domain = (den > 0).sum(axis=0).astype(np.float64)
            n_eff = effective_sample_size(
                estimate, boot.se**2, n_domain, kish_effective_n(den, weights)
            )
        out["score-bootvar"] = score_interval(estimate, n_eff)
    informative = (estimate > 0) & (estimate < 1) & (variance > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        uncapped = estimate * (1 - estimate) / variance
    uncapped = np.where(informative, uncapped, kish_effective_n(den, weights))
    out["wilson-uncap"] = wilson_bounds(estimate, uncapped)
    out["wilson-cap"] = wilson_bounds(estimate, capped)
    out["cp-cap"] = clopper_pearson_bounds(estimate, capped)
    return out


def simulate(runs: int, replicates: int, seed: int) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Coverage and mean width per (design, state), per method, for every figure."""
    stratum, num, den, _, truth = population()
    results: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for d_index, design in enumerate(DESIGNS):
        rng = np.random.default_rng([seed, d_index])
        sizes = allocation(design)
        hits = {(s, m): np.zeros(truth.size) for s in STATES for m in METHODS}
        width = {(s, m): np.zeros(truth.size) for s in STATES for m in METHODS}
        for run in range(runs):
            rows = draw(rng, design, sizes)
            half = rng.choice(rows, rows.size // 2, replace=False)
            for state, chosen in (("complete", rows), ("half", half)):
                h, weights, fractions = design_weights(stratum, chosen, design)
                bounds = intervals(
                    num[chosen], den[chosen], weights, h, fractions, replicates, seed=run
                )
                for method, (low, high) in bounds.items():
                    hits[state, method] += (low <= truth) & (truth <= high)
                    width[state, method] += np.nan_to_num(high - low)
        for state in STATES:
            results[design, state] = {
                m: hits[state, m] / runs
                for m in METHODS
                if replicates or m not in BOOTSTRAP_METHODS
            } | {f"width:{m}": width[state, m] / runs for m in ("pct-boot", "score")}
    return results


def simulate_calibrated(runs: int, seed: int) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Coverage and mean width of the plain and the calibrated intervals per (design, state)."""
    stratum, deciles, num, den, _, truth = confidence_population()
    decile_totals = {str(d): float(c) for d, c in enumerate(np.bincount(deciles))}
    stratum_totals = {str(h): float(s) for h, s in enumerate(SIZES)}
    results: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for d_index, design in enumerate(DESIGNS):
        rng = np.random.default_rng([seed, 100 + d_index])
        sizes = allocation(design)
        out = {
            (state, f"{kind}:{est}"): np.zeros(truth.size)
            for state in STATES
            for kind in ("cover", "width")
            for est in ("plain", "calibrated")
        }
        for _ in range(runs):
            rows = draw(rng, design, sizes)
            half = rng.choice(rows, rows.size // 2, replace=False)
            for state, chosen in (("complete", rows), ("half", half)):
                h, weights, fractions = design_weights(stratum, chosen, design)
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
                    out[state, f"cover:{est}"] += (r.ci_low <= truth) & (truth <= r.ci_high)
                    out[state, f"width:{est}"] += np.nan_to_num(r.ci_high - r.ci_low)
        for state in STATES:
            results[design, state] = {
                key: value / runs for (s, key), value in out.items() if s == state
            }
    return results


def main_calibrated(runs: int, seed: int) -> None:
    _, _, _, _, names, truth = confidence_population()
    start = time.perf_counter()
    results = simulate_calibrated(runs, seed)
    print(
        f"Plain vs calibrated 95% intervals: {runs} runs per design, n = {N_SAMPLE} of "
        f"{SIZES.sum():,} units, 4 confidence-band strata, raked to 10 confidence deciles "
        f"({time.perf_counter() - start:.0f} s)"
    )
    print(
        f"{'design':13s}{'state':9s}{'figure':13s}{'truth':>7s}{'cover plain':>12s}"
        f"{'cover calib':>12s}{'width plain':>12s}{'width calib':>12s}{'change':>8s}"
    )
    whole = np.array([m == N_SAMPLE for _, m in CALIBRATED_FIGURES])
    summary = []
    for (design, state), r in results.items():
        for j, name in enumerate(names):
            wp, wc = r["width:plain"][j], r["width:calibrated"][j]
            print(
                f"{design:13s}{state:9s}{name:13s}{truth[j]:7.4f}{r['cover:plain'][j]:12.3f}"
                f"{r['cover:calibrated'][j]:12.3f}{wp:12.4f}{wc:12.4f}{wc / wp - 1:8.1%}"
            )
        summary.append(
            (
                design,
                state,
                r["cover:plain"][whole].mean(),
                r["cover:calibrated"][whole].mean(),
                r["width:plain"][whole].mean(),
                r["width:calibrated"][whole].mean(),
                r["cover:calibrated"].min(),
            )
        )
    print("\nWhole-sample figures (0.80-0.97 on ~400 units): mean coverage and width")
    print(
        f"{'design':13s}{'state':9s}{'cover plain':>12s}{'cover calib':>12s}"
        f"{'width plain':>12s}{'width calib':>12s}{'change':>8s}{'min cover (all)':>16s}"
    )
    for design, state, cp, cc, wp, wc, low in summary:
        print(
            f"{design:13s}{state:9s}{cp:12.3f}{cc:12.3f}{wp:12.4f}{wc:12.4f}"
            f"{wc / wp - 1:8.1%}{low:16.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1200, help="Samples per design.")
    parser.add_argument(
        "--replicates", type=int, default=1000, help="Bootstrap replicates (0: skip pct-boot)."
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--calibrated", action="store_true", help="Plain vs calibrated intervals instead."
    )
    args = parser.parse_args()
    if args.calibrated:
        main_calibrated(args.runs, args.seed)
        return
    _, _, _, names, truth = population()
    start = time.perf_counter()
    results = simulate(args.runs, args.replicates, args.seed)
    methods = [m for m in METHODS if args.replicates or m not in BOOTSTRAP_METHODS]
    print(
        f"Coverage of 95% intervals: {args.runs} runs per design, n = {N_SAMPLE} of "
        f"{SIZES.sum():,} units, 4 strata ({time.perf_counter() - start:.0f} s)"
    )
    header = f"{'design':13s}{'state':9s}{'figure':12s}{'truth':>7s}" + "".join(
        f"{m:>14s}" for m in methods
    )
    header += f"{'width pct':>11s}{'width score':>12s}"
    print(header)
    table = []
    for (design, state), by_method in results.items():
        for j, name in enumerate(names):
            row = [by_method[m][j] for m in methods]
            table.append(row)
            widths = by_method["width:pct-boot"][j], by_method["width:score"][j]
            print(
                f"{design:13s}{state:9s}{name:12s}{truth[j]:7.4f}"
                + "".join(f"{c:14.3f}" for c in row)
                + (f"{widths[0]:11.4f}" if args.replicates else f"{'':11s}")
                + f"{widths[1]:12.4f}"
            )
    values = np.array(table)
    print(f"{'min':41s}" + "".join(f"{c:14.3f}" for c in values.min(axis=0)))
    print(f"{'mean':41s}" + "".join(f"{c:14.3f}" for c in values.mean(axis=0)))
    print(f"{'share < 0.94':41s}" + "".join(f"{c:14.3f}" for c in (values < 0.94).mean(axis=0)))


if __name__ == "__main__":
    main()
