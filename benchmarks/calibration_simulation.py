"""Plain stratified vs calibrated-and-census headline figures, on realistic synthetic traffic.

The population is one synthetic traffic window (``campaigns.traffic.synthetic``: the bimodal
confidence of a fastText model in production, the model right more often when confident, a
true code per request). Each run draws n = 400 requests with each design (stratified on the
confidence edges 0.3, 0.6, 0.8 with proportional, Neyman and equal allocation, and a simple
random sample), codes them with their true codes, and computes the headline figures through
the production path (``headline_proportions`` with the window's ``TrafficTotals``) on the whole
sample ("complete") and on a random half reweighted to the units annotated so far ("half").
Reported per design, state and figure: coverage of the true value by the plain stratified
95% interval (``stratified_*`` columns) and by the headline one (calibrated, or census for
the automatic-coding rate and the system accuracy built on it), and their mean widths.

    python -m benchmarks.calibration_simulation --requests 150000 --runs 300
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import pyarrow as pa

from campaigns.config import Settings
from campaigns.duck import connect
from campaigns.metrics.gold_metrics import headline_proportions
from campaigns.metrics.traffic_totals import TrafficTotals, count_traffic_totals
from campaigns.nomenclatures import old_nomenclature
from campaigns.sampling.allocation import allocate
from campaigns.traffic.synthetic import generate_traffic

THRESHOLD = 0.8
EDGES = (0.3, 0.6, 0.8)
N_SAMPLE = 400
DESIGNS = ("proportional", "neyman", "equal", "srs")
PRIOR_ACCURACY = (0.45, 0.7, 0.85, 0.95)
FIGURES = (
    "accuracy",
    "accuracy_auto_coded",
    "accuracy_manual",
    "auto_coding_rate",
    "system_accuracy",
)


def population(requests: int, seed: int) -> tuple[pa.Table, TrafficTotals, dict[str, float]]:
    """The window as gold-ready rows (true code as gold), its totals and the true figures."""
    traffic = generate_traffic(n=requests, end=date(2026, 9, 30), seed=seed)
    flat = traffic.logs.column("predictions").combine_chunks().flatten()
    n = traffic.logs.num_rows
    scores = flat.field("score").to_numpy(zero_copy_only=False).reshape(n, 5)
    raw = np.asarray(flat.field("code").to_pylist(), dtype=str).reshape(n, 5)
    order = np.argsort(-scores, axis=1, kind="stable")
    scores = np.take_along_axis(scores, order, axis=1)
    dotted = np.array([[f"{c[:2]}.{c[2:]}" for c in row] for row in raw])
    codes = np.take_along_axis(dotted, order, axis=1)
    table = pa.table(
        {
            "request_id": traffic.logs.column("request_id"),
            "predicted_codes": pa.array(codes.tolist()),
            "predicted_code": pa.array(codes[:, 0]),
            "gold_code": traffic.truth.column("true_code"),
            "confidence": scores[:, 0] - scores[:, 1],
            "status": pa.array(["coded"] * n),
            "n_annotations": pa.array([1] * n),
        }
    )
    with connect() as con:
        con.register("window_rows", table)
        sections = old_nomenclature(Settings()).division_sections()
        totals = count_traffic_totals(con, "window_rows", THRESHOLD, sections, EDGES)
    confidence = table.column("confidence").to_numpy()
    correct = np.array(
        [
            p == g
            for p, g in zip(
                table["predicted_code"].to_pylist(), table["gold_code"].to_pylist(), strict=True
            )
        ]
    )
    auto = confidence >= THRESHOLD
    rate = auto.mean()
    truth = {
        "accuracy": correct.mean(),
        "accuracy_auto_coded": correct[auto].mean(),
        "accuracy_manual": correct[~auto].mean(),
        "auto_coding_rate": rate,
        "system_accuracy": 1 - rate * (1 - correct[auto].mean()),
    }
    return table, totals, truth


def strata_of(confidence: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(EDGES), confidence, side="right")


def allocation(design: str, populations: np.ndarray) -> np.ndarray:
    if design == "srs":
        return np.array([N_SAMPLE])
    sd = {str(h): float(np.sqrt(p * (1 - p))) for h, p in enumerate(PRIOR_ACCURACY)}
    sizes = allocate({str(h): int(s) for h, s in enumerate(populations)}, N_SAMPLE, design, sd=sd)
    return np.array([sizes[str(h)] for h in range(populations.size)])


def simulate(
    requests: int, runs: int, seed: int, designs: tuple[str, ...] = DESIGNS
) -> tuple[dict, dict[str, float]]:
    table, totals, truth = population(requests, seed)
    stratum = strata_of(table.column("confidence").to_numpy())
    populations = np.bincount(stratum, minlength=len(EDGES) + 1)
    results = {}
    for d_index, design in enumerate(DESIGNS):
        if design not in designs:
            continue
        rng = np.random.default_rng([seed, d_index])
        sizes = allocation(design, populations)
        acc = {
            (state, key): np.zeros(len(FIGURES))
            for state in ("complete", "half")
            for key in ("cover:plain", "cover:headline", "width:plain", "width:headline")
        }
        for _ in range(runs):
            if design == "srs":
                rows = rng.choice(table.num_rows, N_SAMPLE, replace=False)
            else:
                rows = np.concatenate(
                    [
                        rng.choice(np.flatnonzero(stratum == h), sizes[h], replace=False)
                        for h in range(populations.size)
                        if sizes[h]
                    ]
                )
            half = rng.choice(rows, rows.size // 2, replace=False)
            for state, chosen in (("complete", rows), ("half", half)):
                h = np.zeros(chosen.size, dtype=int) if design == "srs" else stratum[chosen]
                total_h = np.array([table.num_rows]) if design == "srs" else populations
                annotated = np.bincount(h, minlength=total_h.size)
                gold = table.take(pa.array(chosen))
                gold = gold.append_column("stratum", pa.array(h.astype(str)))
                gold = gold.append_column("weight", pa.array(total_h[h] / annotated[h]))
                gold = gold.append_column("stratum_population", pa.array(total_h[h]))
                gold = gold.append_column("stratum_sample_size", pa.array(annotated[h]))
                rows_out = {
                    r["figure"]: r
                    for r in headline_proportions(
                        gold, threshold=THRESHOLD, totals=totals
                    ).to_pylist()
                }
                for j, name in enumerate(FIGURES):
                    r, t = rows_out[name], truth[name]
                    acc[state, "cover:plain"][j] += (
                        r["stratified_ci_low"] <= t <= r["stratified_ci_high"]
                    )
                    acc[state, "cover:headline"][j] += r["ci_low"] <= t <= r["ci_high"]
                    acc[state, "width:plain"][j] += r["stratified_ci_high"] - r["stratified_ci_low"]
                    acc[state, "width:headline"][j] += r["ci_high"] - r["ci_low"]
        for state in ("complete", "half"):
            results[design, state] = {
                key: value / runs for (s, key), value in acc.items() if s == state
            }
    return results, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=150_000, help="Requests in the window.")
    parser.add_argument("--runs", type=int, default=300, help="Samples per design.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--designs", default=",".join(DESIGNS), help="Comma-separated.")
    args = parser.parse_args()
    start = time.perf_counter()
    designs = tuple(args.designs.split(","))
    results, truth = simulate(args.requests, args.runs, args.seed, designs)
    print(
        f"Plain stratified vs headline (calibrated / census) 95% intervals: {args.runs} runs "
        f"per design, n = {N_SAMPLE} of {args.requests:,} synthetic requests, strata on "
        f"confidence {list(EDGES)}, threshold {THRESHOLD} ({time.perf_counter() - start:.0f} s)"
    )
    print(
        f"{'design':13s}{'state':9s}{'figure':21s}{'truth':>7s}{'cover plain':>12s}"
        f"{'cover head':>11s}{'width plain':>12s}{'width head':>11s}{'change':>8s}"
    )
    for (design, state), r in results.items():
        for j, name in enumerate(FIGURES):
            wp, wh = r["width:plain"][j], r["width:headline"][j]
            print(
                f"{design:13s}{state:9s}{name:21s}{truth[name]:7.4f}{r['cover:plain'][j]:12.3f}"
                f"{r['cover:headline'][j]:11.3f}{wp:12.4f}{wh:11.4f}{wh / wp - 1:8.1%}"
            )


if __name__ == "__main__":
    main()
