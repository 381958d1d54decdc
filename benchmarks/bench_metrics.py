"""Bootstrap intervals of the headline figures on a large synthetic gold table.

A gold table of ``--rows`` units in 20 strata (numpy, seeded) is built in memory. Timed:

- ``ours``: the curve's indicators at 3 thresholds (4 statistics each: automatic-coding rate,
  accuracy of auto-coded, accuracy of manual, system accuracy; k = 12) and one call of
  ``stratified_bootstrap`` with ``--replicates`` replicates (identical units collapsed, the
  default). Also shown: the same call forced onto the per-unit drawing path (what unit-level
  weights or continuous statistics would cost), and the full 21-threshold curve (k = 84).
- ``baseline``: the straightforward pandas loop, one replicate at a time
  ``df.groupby('stratum').sample(frac=1, replace=True)`` then the same 12 weighted ratios. It
  runs only ``--baseline-replicates`` replicates and is extrapolated linearly.

The last line is ``ratio: X``, ours / the baseline in time (lower is better).

    python -m benchmarks.bench_metrics --rows 1000000 --replicates 1000
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks._common import peak_rss_mib, timed
from campaigns.metrics.bootstrap import stratified_bootstrap
from campaigns.metrics.threshold_curve import auto_coding_curve, curve_inputs

HEADLINE_THRESHOLDS = np.array([0.3, 0.5, 0.7])
STRATA = 20


def synthetic_gold(rows: int, seed: int = 0) -> pa.Table:
    """``rows`` annotated units in 20 confidence strata with design weights N_h / n_h."""
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, STRATA, rows)
    sample_size = np.bincount(stratum, minlength=STRATA)
    population = (sample_size * rng.uniform(20, 400, STRATA)).round().astype(np.int64)
    low = stratum / STRATA
    confidence = np.clip(low + rng.random(rows) / STRATA, 0.0, 1.0)
    status = rng.choice(
        np.array(["coded", "cannot_code", "skipped", "invalid", "disagreement"]),
        size=rows,
        p=[0.86, 0.05, 0.04, 0.03, 0.02],
    )
    codes = np.array([f"{10 + i // 10:02d}.{i % 10:02d}Z" for i in range(200)])
    predicted = codes[rng.integers(0, codes.size, rows)]
    right = rng.random(rows) < 0.35 + 0.6 * confidence
    gold = np.where(right, predicted, codes[rng.integers(0, codes.size, rows)])
    return pa.table(
        {
            "status": status,
            "predicted_code": predicted,
            "gold_code": pa.array(gold, mask=status != "coded"),
            "confidence": confidence,
            "stratum": np.char.add("c", stratum.astype(str)),
            "weight": population[stratum] / sample_size[stratum],
            "stratum_population": population[stratum],
            "stratum_sample_size": sample_size[stratum],
        }
    )


def ours(gold: pa.Table, replicates: int, collapse: bool = True) -> np.ndarray:
    inputs = curve_inputs(gold, HEADLINE_THRESHOLDS)
    result = stratified_bootstrap(
        inputs.numerators,
        inputs.denominators,
        inputs.weights,
        inputs.strata,
        replicates=replicates,
        seed=0,
        sampling_fractions=inputs.sampling_fractions,
        collapse=collapse,
    )
    return np.column_stack([result.estimate, result.ci_low, result.ci_high])


def _headline(df: pd.DataFrame) -> list[float]:
    w = df["weight"].to_numpy()
    usable = df["usable"].to_numpy()
    coded = df["coded"].to_numpy()
    correct = df["correct"].to_numpy()
    out = []
    for t in HEADLINE_THRESHOLDS:
        auto = df["confidence"].to_numpy() >= t
        out += [
            (w * (usable & auto)).sum() / (w * usable).sum(),
            (w * (correct & auto)).sum() / (w * (coded & auto)).sum(),
            (w * (correct & ~auto)).sum() / (w * (coded & ~auto)).sum(),
            (w * (coded & (~auto | correct))).sum() / (w * coded).sum(),
        ]
    return out


def baseline(gold: pa.Table, replicates: int) -> np.ndarray:
    df = gold.select(["status", "predicted_code", "gold_code", "confidence", "stratum", "weight"])
    df = df.to_pandas()
    df["usable"] = df["status"] != "skipped"
    df["coded"] = (df["status"] == "coded") & df["gold_code"].notna()
    df["correct"] = df["coded"] & (df["predicted_code"] == df["gold_code"])
    stats = []
    for r in range(replicates):
        replicate = df.groupby("stratum").sample(frac=1, replace=True, random_state=r)
        stats.append(_headline(replicate))
    return np.array(stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--baseline-replicates", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    gold, t_build = timed(lambda: synthetic_gold(args.rows, args.seed))
    print(f"synthetic gold table: {args.rows:,} units, {STRATA} strata ({t_build:.1f} s to build)")
    rss_table = peak_rss_mib()
    print(f"headline figures: 4 statistics x thresholds {HEADLINE_THRESHOLDS.tolist()} (k = 12)")

    table, t_ours = timed(lambda: ours(gold, args.replicates))
    rss_ours = peak_rss_mib()
    print(f"ours      {args.replicates} replicates: {t_ours:7.2f} s  (indicators + one bootstrap)")
    _, t_unit = timed(lambda: ours(gold, args.replicates, collapse=False))
    print(f"ours, per-unit draws (no collapsing): {t_unit:7.2f} s")
    _, t_curve = timed(lambda: auto_coding_curve(gold, replicates=args.replicates))
    print(f"full curve, 21 thresholds (k = 84):   {t_curve:7.2f} s")
    print(f"peak RSS: {rss_table:.0f} MiB after building the table, {rss_ours:.0f} MiB after ours")
    tracemalloc.start()
    ours(gold, args.replicates)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"ours: peak of its own allocations (tracemalloc, numpy included): {traced:.0f} MiB")

    base_reps = min(args.baseline_replicates, args.replicates)
    base, t_base = timed(lambda: baseline(gold, base_reps))
    t_base_full = t_base * args.replicates / base_reps
    print(
        f"baseline  {base_reps} replicates: {t_base:7.2f} s  -> {t_base_full:.1f} s for "
        f"{args.replicates} (linear extrapolation from {base_reps} replicates; pandas "
        "groupby().sample(frac=1, replace=True) per replicate)"
    )
    print(f"speed-up: {t_base_full / t_ours:.0f}x")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")

    names = ["auto_coding_rate", "accuracy_auto", "accuracy_manual", "system_accuracy"]
    print("\nthreshold  statistic          estimate  [95% CI]            baseline SD x 1.96")
    spread = 1.96 * base.std(axis=0, ddof=1) if base_reps > 1 else np.full(12, np.nan)
    for i, (estimate, low, high) in enumerate(table):
        t = HEADLINE_THRESHOLDS[i // 4]
        print(
            f"{t:9.2f}  {names[i % 4]:17s}  {estimate:.4f}  [{low:.4f}, {high:.4f}]"
            f"    +-{spread[i]:.4f}"
        )
    # Ours / the pandas baseline (extrapolated to the same replicates), in time.
    print(f"ratio: {t_ours / t_base_full:.4f}")


if __name__ == "__main__":
    main()
