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

Interval choice (``--choice``): the same population and designs, the interval now used
(Wilson on ``n_eff``, Jeffreys bounds on a side with fewer than 5 effective units) against the
former one (Clopper-Pearson bounds below 10), coverage and mean width per cell, then the exact
binomial coverage of the candidates over n = 10-400 (``--exact`` alone prints that table).
Annotation order (``--nonresponse``): a population with each unit's confidence known, half of
the sample annotated at random or most-confident-first, plain ``N_h / n'_h`` weights against
the weighting-class adjustment of ``campaigns.metrics.nonresponse``. Each ends with a
``ratio:`` line.

    python -m benchmarks.coverage_simulation --runs 1200
    python -m benchmarks.coverage_simulation --calibrated --runs 1000
    python -m benchmarks.coverage_simulation --choice --runs 1000
    python -m benchmarks.coverage_simulation --nonresponse --runs 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import expit

from benchmarks.coverage_model import (
    BANDS,
    CALIBRATED_FIGURES,
    DESIGNS,
    N_SAMPLE,
    SIZES,
    allocation,
    annotated_half,
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
    jeffreys_bounds,
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


def former_bounds(p: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval used before issue #25: Clopper-Pearson on a side with fewer than 10."""
    w_low, w_high = wilson_bounds(p, n)
    c_low, c_high = clopper_pearson_bounds(p, n)
    return np.where(n * p < 10, c_low, w_low), np.where(n * (1 - p) < 10, c_high, w_high)


def sparse_side_bounds(p: np.ndarray, n: np.ndarray, below: float, bounds=jeffreys_bounds):
    """Wilson, with ``bounds`` on a side with fewer than ``below`` units."""
    w_low, w_high = wilson_bounds(p, n)
    s_low, s_high = bounds(p, n)
    return np.where(n * p < below, s_low, w_low), np.where(n * (1 - p) < below, s_high, w_high)


def exact_coverage(bounds) -> dict[str, float]:
    """Exact binomial coverage of ``bounds(p, n)`` over n = 10-39, then every third n to 400,
    p in 0.5-0.99 (50 values) and 0.92, 0.96, 0.968, 0.97, 0.99, 0.995."""
    from scipy.stats import binom

    ps = np.concatenate([np.linspace(0.5, 0.99, 50), [0.92, 0.96, 0.968, 0.97, 0.99, 0.995]])
    small, big = [], []
    for n in [*range(10, 40), *range(40, 401, 3)]:
        x = np.arange(n + 1, dtype=np.float64)
        low, high = bounds(x / n, np.full(x.size, float(n)))
        inside = (low[None, :] <= ps[:, None]) & (ps[:, None] <= high[None, :])
        (small if n < 40 else big).append((binom.pmf(x[None, :], n, ps[:, None]) * inside).sum(1))
    s, b = np.array(small), np.array(big)
    width = {}
    for n in (36, 72):
        x = np.arange(n + 1, dtype=np.float64)
        low, high = bounds(x / n, np.full(x.size, float(n)))
        width[n] = float((binom.pmf(x, n, 0.968) * (high - low)).sum())
    return {
        "small_mean": s.mean(), "small_min": s.min(), "mean": b.mean(), "min": b.min(),
        "max": b.max(), "below": (b < 0.93).mean(), "above": (b > 0.975).mean(),
        "w36": width[36], "w72": width[72],
    }  # fmt: skip


EXACT_CANDIDATES = {
    "wilson": wilson_bounds,
    "former (CP <10)": former_bounds,
    "clopper-pearson": clopper_pearson_bounds,
    "jeffreys": jeffreys_bounds,
    "wilson, jeffreys <3": lambda p, n: sparse_side_bounds(p, n, 3),
    "wilson, jeffreys <5": score_interval,  # the interval now used
    "wilson, jeffreys <10": lambda p, n: sparse_side_bounds(p, n, 10),
}


def main_exact() -> None:
    print("Exact binomial coverage, simple random sample (n<40: 10-39; n>=40: 40-400 by 3)")
    print(
        f"{'interval':22s}{'n<40 mean':>10s}{'min':>7s}{'n>=40 mean':>11s}{'min':>7s}"
        f"{'max':>7s}{'<0.93':>7s}{'>0.975':>8s}{'width n=36':>11s}{'n=72':>8s}"
    )
    rows = {}
    for name, bounds in EXACT_CANDIDATES.items():
        r = rows[name] = exact_coverage(bounds)
        print(
            f"{name:22s}{r['small_mean']:10.3f}{r['small_min']:7.3f}{r['mean']:11.3f}"
            f"{r['min']:7.3f}{r['max']:7.3f}{r['below']:7.3f}{r['above']:8.3f}"
            f"{r['w36']:11.4f}{r['w72']:8.4f}"
        )
    chosen, former = rows["wilson, jeffreys <5"], rows["former (CP <10)"]
    print(
        f"Chosen: lowest exact coverage {chosen['small_min']:.3f} below 40 units, "
        f"{chosen['min']:.3f} from 40 up."
    )
    print(f"ratio: {chosen['w72'] / former['w72']:.3f} (expected width at p = 0.968, n = 72, "
          "chosen over former)")  # fmt: skip


def simulate_choice(runs: int, seed: int) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Coverage and mean width of the chosen and the former interval per (design, state)."""
    stratum, num, den, _, truth = population()
    results: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for d_index, design in enumerate(DESIGNS):
        rng = np.random.default_rng([seed, 200 + d_index])
        sizes = allocation(design)
        out = {(s, k): np.zeros(truth.size) for s in STATES for k in
               ("cover:chosen", "cover:former", "width:chosen", "width:former")}  # fmt: skip
        for _ in range(runs):
            rows = draw(rng, design, sizes)
            half = rng.choice(rows, rows.size // 2, replace=False)
            for state, chosen in (("complete", rows), ("half", half)):
                h = np.zeros(chosen.size, dtype=int) if design == "srs" else stratum[chosen]
                population_h = np.array([SIZES.sum()]) if design == "srs" else SIZES
                annotated = np.bincount(h, minlength=population_h.size)
                weights = population_h[h] / annotated[h]
                fractions = annotated[h] / population_h[h]
                r = design_intervals(
                    num[chosen], den[chosen], weights, h, sampling_fractions=fractions
                )
                old = former_bounds(r.estimate, r.effective_n)
                for name, (low, high) in (("chosen", (r.ci_low, r.ci_high)), ("former", old)):
                    out[state, f"cover:{name}"] += (low <= truth) & (truth <= high)
                    out[state, f"width:{name}"] += np.nan_to_num(high - low)
        for state in STATES:
            results[design, state] = {k: v / runs for (s, k), v in out.items() if s == state}
    return results


def main_choice(runs: int, seed: int) -> None:
    _, _, _, names, truth = population()
    start = time.perf_counter()
    results = simulate_choice(runs, seed)
    print(
        f"Chosen (Jeffreys <5) vs former (Clopper-Pearson <10) interval: {runs} runs per "
        f"design ({time.perf_counter() - start:.0f} s)"
    )
    print(
        f"{'design':13s}{'state':9s}{'figure':12s}{'truth':>7s}{'cover chosen':>13s}"
        f"{'cover former':>13s}{'width chosen':>13s}{'width former':>13s}"
    )
    large = np.array([not name.endswith("~20") for name in names])
    cells, widths = [], []
    for (design, state), r in results.items():
        for j, name in enumerate(names):
            print(
                f"{design:13s}{state:9s}{name:12s}{truth[j]:7.4f}{r['cover:chosen'][j]:13.3f}"
                f"{r['cover:former'][j]:13.3f}{r['width:chosen'][j]:13.4f}"
                f"{r['width:former'][j]:13.4f}"
            )
        cells.append((r["cover:chosen"], r["cover:former"]))
        widths.append((r["width:chosen"], r["width:former"]))
    chosen = np.array([c for c, _ in cells])
    former = np.array([f for _, f in cells])
    print(
        f"figures on ~100-400 units: chosen {chosen[:, large].min():.3f}-"
        f"{chosen[:, large].max():.3f}, former {former[:, large].min():.3f}-"
        f"{former[:, large].max():.3f}; cells above 0.975: chosen "
        f"{(chosen[:, large] > 0.975).mean():.2f}, former {(former[:, large] > 0.975).mean():.2f}"
    )
    print(
        f"figures on ~20 units: mean coverage chosen {chosen[:, ~large].mean():.3f}, former "
        f"{former[:, ~large].mean():.3f}; lowest chosen {chosen[:, ~large].min():.3f}"
    )
    w_new = np.array([w for w, _ in widths]).mean()
    w_old = np.array([w for _, w in widths]).mean()
    print(f"ratio: {w_new / w_old:.3f} (mean width, chosen over former interval)")
    main_exact()


ORDER_OFFSETS = np.array([3.8, 2.0, 1.2, 0.4])
ORDERS = ("random", "most-confident-first", "sorted")
ORDER_FIGURES = ("accuracy", "auto-coded part", "manual part")


def order_population() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratum (confidence band), confidence, success per unit; true accuracy overall, of the
    top band (the automatically coded part, about 0.97) and of the others (overall 0.85)."""
    rng = np.random.default_rng(25)
    stratum = np.repeat(np.arange(SIZES.size), SIZES)
    u = rng.random(SIZES.sum())
    confidence = BANDS[stratum, 0] + u * (BANDS[stratum, 1] - BANDS[stratum, 0])
    success = rng.random(SIZES.sum()) < expit(ORDER_OFFSETS[stratum] + 3.0 * (u - 0.5))
    den = order_domains(stratum)
    return stratum, confidence, success, (den & success[:, None]).sum(0) / den.sum(0)


def order_domains(stratum: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(stratum.size, bool), stratum == 0, stratum > 0])


def simulate_order(runs: int, seed: int) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Coverage and width, plain and adjusted weights, per (design, order)."""
    from campaigns.metrics.nonresponse import group_adjustment

    stratum, confidence, success, truth = order_population()
    results: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for d_index, design in enumerate(("proportional", "neyman", "srs")):
        sizes = allocation(design)
        population_h = np.array([SIZES.sum()]) if design == "srs" else SIZES
        for o_index, order in enumerate(ORDERS):
            rng = np.random.default_rng([seed, 300 + d_index, o_index])
            out = {f"{k}:{e}": np.zeros(truth.size)
                   for k in ("cover", "width", "bias") for e in ("plain", "adjusted")}  # fmt: skip
            for _ in range(runs):
                rows = draw(rng, design, sizes)
                h = np.zeros(rows.size, dtype=int) if design == "srs" else stratum[rows]
                done = annotated_half(rng, confidence[rows], h, order)
                base = population_h[h] / np.bincount(h)[h]
                factor, group = group_adjustment(h.astype(str), confidence[rows], base, done)
                annotated = np.bincount(h[done], minlength=population_h.size)
                fractions = annotated[h[done]] / population_h[h[done]]
                den = order_domains(stratum[rows[done]])
                num = den & success[rows[done], None]
                for est, weights, strata in (
                    ("plain", population_h[h[done]] / annotated[h[done]], h[done]),
                    ("adjusted", base[done] * factor[done], h[done] * 10 + group[done]),
                ):
                    r = design_intervals(num, den, weights, strata, sampling_fractions=fractions)
                    out[f"cover:{est}"] += (r.ci_low <= truth) & (truth <= r.ci_high)
                    out[f"width:{est}"] += r.ci_high - r.ci_low
                    out[f"bias:{est}"] += r.estimate - truth
            results[design, order] = {k: v / runs for k, v in out.items()}
    return results


def main_nonresponse(runs: int, seed: int) -> None:
    start = time.perf_counter()
    _, _, _, truth = order_population()
    results = simulate_order(runs, seed)
    print(
        f"Half-annotated campaigns, n = {N_SAMPLE}, {runs} runs per design and order "
        f"({time.perf_counter() - start:.0f} s); truths "
        + ", ".join(f"{n} {t:.3f}" for n, t in zip(ORDER_FIGURES, truth, strict=True))
    )
    print(
        f"{'design':13s}{'order':22s}{'figure':17s}{'cover plain':>12s}{'cover adj':>10s}"
        f"{'bias plain':>11s}{'bias adj':>9s}{'width plain':>12s}{'width adj':>10s}"
    )
    ratios = []
    for (design, order), r in results.items():
        for j, name in enumerate(ORDER_FIGURES):
            print(
                f"{design:13s}{order:22s}{name:17s}{r['cover:plain'][j]:12.3f}"
                f"{r['cover:adjusted'][j]:10.3f}{r['bias:plain'][j]:+11.4f}"
                f"{r['bias:adjusted'][j]:+9.4f}{r['width:plain'][j]:12.4f}"
                f"{r['width:adjusted'][j]:10.4f}"
            )
        if order == "random":
            ratios.append(r["width:adjusted"].mean() / r["width:plain"].mean())
    print(f"ratio: {np.mean(ratios):.3f} (mean width, adjusted over plain, random order)")


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
    parser.add_argument(
        "--choice", action="store_true", help="Chosen vs former interval, then --exact."
    )
    parser.add_argument("--exact", action="store_true", help="Exact binomial coverage only.")
    parser.add_argument(
        "--nonresponse", action="store_true", help="Random vs most-confident-first annotation."
    )
    args = parser.parse_args()
    if args.calibrated:
        main_calibrated(args.runs, args.seed)
        return
    if args.exact:
        main_exact()
        return
    if args.choice:
        main_choice(args.runs, args.seed)
        return
    if args.nonresponse:
        main_nonresponse(args.runs, args.seed)
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
