"""Champion / challenger on a large gold table: the paired comparison beside one model's figures.

A gold table of ``--rows`` units in 20 strata (numpy, seeded; design weights N_h / n_h) and a
challenger's predictions for every unit are built in memory. Timed, in the same run:

- ``single``: what scoring one model costs: its indicators (one DuckDB pass over the gold
  and the nomenclature levels), its 13 figures' intervals (``proportion_intervals``) and a
  stratified bootstrap of them with ``--replicates`` replicates;
- ``compare``: ``campaigns.lifecycle.compare.compare_models``: both models' indicators (one
  pass over gold x challenger x levels), both models' 26 figures' intervals, one paired
  bootstrap of the 26 figures (the differences' replicates), and the discordant units.

Reading the challenger's table (``predictions_from_table``: codes made canonical, one row
per request id checked) is input loading, like building the gold: not timed. Goal: the
comparison costs at most twice one model's figures. The last line is ``ratio: X``.

    python -m benchmarks.bench_compare --rows 1000000 --replicates 1000
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks._common import peak_rss_mib, timed
from campaigns.lifecycle.challenger import predictions_from_table
from campaigns.metrics.bootstrap import stratified_bootstrap
from campaigns.metrics.comparison import (
    CHAMPION,
    compare_models,
    model_indicators,
    model_statistics,
)
from campaigns.metrics.intervals import proportion_intervals

STRATA = 20
THRESHOLD = 0.5
CODES = np.array([f"{10 + i // 10:02d}.{i % 10:02d}{'ABC'[i % 3]}" for i in range(400)])


def levels_table() -> pa.Table:
    """Subclass -> section for the synthetic codes (a division's section: 21 sections)."""
    return pa.table(
        {
            "subclass": CODES.tolist(),
            "section": [chr(65 + (int(c[:2]) - 10) // 2) for c in CODES],
        }
    )


def synthetic(rows: int, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """A gold table (champion in it) and the challenger's predictions, both ``rows`` long."""
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, STRATA, rows)
    sizes = np.bincount(stratum, minlength=STRATA)
    population = (sizes * rng.uniform(20, 400, STRATA)).round().astype(np.int64)
    status = rng.choice(
        np.array(["coded", "cannot_code", "skipped", "invalid", "disagreement"]),
        size=rows,
        p=[0.86, 0.05, 0.04, 0.03, 0.02],
    )
    confidence = np.clip(stratum / STRATA + rng.random(rows) / STRATA, 0.0, 1.0)
    truth = rng.integers(0, CODES.size, rows)

    def top5(accuracy: np.ndarray) -> np.ndarray:
        """Five candidate code indexes per unit, the truth first with prob. ``accuracy``."""
        cand = (truth[:, None] + np.array([0, 1, 7, 40, 133])) % CODES.size
        wrong = rng.random(rows) >= accuracy
        rank = rng.integers(1, 5, rows)
        swapped = cand.copy()
        r = np.arange(rows)
        swapped[r, 0], swapped[r, rank] = cand[r, rank], cand[r, 0]
        return np.where(wrong[:, None], swapped, cand)

    champion = top5(0.35 + 0.6 * confidence)
    challenger = top5(0.38 + 0.6 * confidence)

    def lists(index: np.ndarray) -> pa.ListArray:
        flat = pa.array(CODES[index].ravel())
        if isinstance(flat, pa.ChunkedArray):  # numpy strings beyond a chunk's size
            flat = flat.combine_chunks()
        return pa.ListArray.from_arrays(pa.array(np.arange(0, 5 * rows + 1, 5, np.int32)), flat)

    ids = pa.array(np.char.add("r", np.arange(rows).astype(str)))
    gold = pa.table(
        {
            "request_id": ids,
            "text": pa.array(np.full(rows, "ACTIVITE")),
            "status": status,
            "gold_code": pa.array(CODES[truth], mask=status != "coded"),
            "predicted_code": CODES[champion[:, 0]],
            "predicted_codes": lists(champion),
            "confidence": confidence,
            "stratum": np.char.add("c", stratum.astype(str)),
            "weight": population[stratum] / sizes[stratum],
            "stratum_population": population[stratum],
            "stratum_sample_size": sizes[stratum],
        }
    )
    scores = np.sort(rng.dirichlet(np.ones(5), rows), axis=1)[:, ::-1]
    predictions = pa.table(
        {
            "request_id": ids,
            "predicted_codes": lists(challenger),
            "confidence": scores[:, 0] - scores[:, 1],
            "model_version": pa.array(np.full(rows, "3.0.0")),
        }
    )
    return gold, predictions


def single_model(gold: pa.Table, levels: pa.Table, replicates: int) -> np.ndarray:
    """One model's figures with their intervals and the stratified bootstrap of them."""
    x, _ = model_indicators(gold, None, THRESHOLD, levels)
    stats = model_statistics(x, CHAMPION)
    weights = np.asarray(x["weight"], np.float64)
    strata = pd.factorize(np.asarray(x["stratum"], dtype=object), use_na_sentinel=False)[0]
    fractions = np.clip(np.asarray(x["fraction"], np.float64), 0.0, 1.0)
    proportion_intervals(
        stats, weights, strata, replicates=replicates, sampling_fractions=fractions
    )
    num = np.column_stack([v[0] for v in stats.values()])
    den = np.column_stack([v[1] for v in stats.values()])
    boot = stratified_bootstrap(
        num, den, weights, strata, replicates=replicates, sampling_fractions=fractions
    )
    return boot.estimate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="Time each side this many times, interleaved, and keep the fastest (the machine "
        "may be shared: the minimum is the run least disturbed).",
    )
    args = parser.parse_args()

    (gold, raw), t_build = timed(lambda: synthetic(args.rows, args.seed))
    challenger = predictions_from_table(raw)
    levels = levels_table()
    print(f"synthetic gold: {args.rows:,} units, {STRATA} strata, and a challenger for each "
          f"({t_build:.1f} s to build)")  # fmt: skip
    single_model(gold.slice(0, 1000), levels, 10)  # warm-up (imports, DuckDB)
    singles, compares = [], []
    for _ in range(max(1, args.repeat)):
        singles.append(timed(lambda: single_model(gold, levels, args.replicates))[1])
        result, seconds = timed(
            lambda: compare_models(
                gold, challenger, threshold=THRESHOLD, levels=levels, replicates=args.replicates
            )
        )
        compares.append(seconds)
    t_single, t_compare = min(singles), min(compares)
    print(
        f"single model, 13 figures + bootstrap ({args.replicates} replicates): {t_single:7.2f} s"
        f"  (fastest of {', '.join(f'{t:.2f}' for t in singles)})"
    )
    print(
        f"compare, 2 x 13 figures + paired bootstrap + discordant units: {t_compare:7.2f} s"
        f"  (fastest of {', '.join(f'{t:.2f}' for t in compares)}; goal: at most 2x the single"
        " model)"
    )
    diff = result.summary["differences"]["accuracy_subclass"]
    print(
        f"accuracy difference (challenger - champion): {diff['estimate']:+.4f} "
        f"[{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}], {diff['verdict']}; "
        f"{result.discordant.num_rows:,} discordant units"
    )
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")
    print(f"ratio: {t_compare / t_single:.2f}")


if __name__ == "__main__":
    main()
