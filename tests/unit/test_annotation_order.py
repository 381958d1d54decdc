"""Figures read while experts are at work, when the annotated half is not a random half.

A population of 150,000 units in 4 confidence-band strata (60,000 / 45,000 / 30,000 / 15,000,
the most confident first); within a band, correctness rises with the confidence index (logit
slope 3 across the band), overall accuracy 0.85, 0.97 in the top band. Each run draws n = 400
units (proportional, Neyman, simple random), then half of them are annotated, in one of two
orders: random, or most-confident-first (within each stratum, units are taken by their
confidence percentile plus a normal noise of sd 0.25: experts who sorted the task list, with
some mixing from several experts and skips). Figures: the accuracy, the accuracy of the
automatically coded part (the top band) and of the manual part, with the plain ``N_h / n'_h``
weights and with the weighting-class adjustment of :mod:`campaigns.metrics.nonresponse`.
Seeded; 400 runs per design and order, so a true 95% coverage stays above 0.93 with high
probability (standard error 0.011). The long version is ``python -m
benchmarks.coverage_simulation --nonresponse``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pytest
from scipy.special import expit

from benchmarks.coverage_model import annotated_half
from campaigns.metrics.gold_metrics import annotation_order, reweight_to_annotated
from campaigns.metrics.intervals import design_intervals
from campaigns.metrics.nonresponse import annotation_order_test, group_adjustment
from campaigns.sampling.allocation import allocate

SIZES = np.array([60_000, 45_000, 30_000, 15_000])
BANDS = np.array([[0.8, 1.0], [0.6, 0.8], [0.3, 0.6], [0.0, 0.3]])
OFFSETS = np.array([3.8, 2.0, 1.2, 0.4])
SLOPE = 3.0
N_SAMPLE = 400
RUNS = 400


@cache
def population() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratum, confidence, success per unit; the true accuracy overall, auto and manual."""
    rng = np.random.default_rng(25)
    stratum = np.repeat(np.arange(SIZES.size), SIZES)
    u = rng.random(SIZES.sum())
    confidence = BANDS[stratum, 0] + u * (BANDS[stratum, 1] - BANDS[stratum, 0])
    success = rng.random(SIZES.sum()) < expit(OFFSETS[stratum] + SLOPE * (u - 0.5))
    den = domains(stratum)
    truth = (den & success[:, None]).sum(axis=0) / den.sum(axis=0)
    return stratum, confidence, success, truth


def domains(stratum: np.ndarray) -> np.ndarray:
    """Accuracy overall, of the automatically coded part (top band), of the manual part."""
    return np.column_stack([np.ones(stratum.size, bool), stratum == 0, stratum > 0])


def allocation(design: str) -> np.ndarray:
    if design == "srs":
        return np.array([N_SAMPLE])
    sd = {str(h): float(0.3 * (1 + h)) for h in range(SIZES.size)}
    sizes = allocate({str(h): int(s) for h, s in enumerate(SIZES)}, N_SAMPLE, design, sd=sd)
    return np.array([sizes[str(h)] for h in range(SIZES.size)])


def draw(rng: np.random.Generator, design: str) -> tuple[np.ndarray, np.ndarray]:
    """Drawn rows and their design stratum (one stratum for a simple random sample)."""
    if design == "srs":
        rows = rng.choice(SIZES.sum(), N_SAMPLE, replace=False)
        return rows, np.zeros(rows.size, dtype=int)
    sizes, starts = allocation(design), np.cumsum(SIZES) - SIZES
    rows = np.concatenate(
        [starts[h] + rng.choice(SIZES[h], sizes[h], replace=False) for h in range(SIZES.size)]
    )
    stratum, _, _, _ = population()
    return rows, stratum[rows]


@cache
def coverage(design: str, order: str) -> dict[str, np.ndarray]:
    stratum, confidence, success, truth = population()
    rng = np.random.default_rng([25, ("proportional", "neyman", "srs").index(design), len(order)])
    population_h = np.array([SIZES.sum()]) if design == "srs" else SIZES
    out = {
        f"{kind}:{est}": np.zeros(truth.size)
        for kind in ("hits", "width")
        for est in ("plain", "adjusted")
    }
    for _ in range(RUNS):
        rows, h = draw(rng, design)
        done = annotated_half(rng, confidence[rows], h, order)
        base = population_h[h] / np.bincount(h)[h]
        factor, group = group_adjustment(h.astype(str), confidence[rows], base, done)
        annotated = np.bincount(h[done], minlength=population_h.size)
        fractions = annotated[h[done]] / population_h[h[done]]
        num = domains(stratum[rows[done]]) & success[rows[done], None]
        den = domains(stratum[rows[done]])
        for est, weights, strata in (
            ("plain", population_h[h[done]] / annotated[h[done]], h[done]),
            ("adjusted", base[done] * factor[done], h[done] * 10 + group[done]),
        ):
            r = design_intervals(num, den, weights, strata, sampling_fractions=fractions)
            out[f"hits:{est}"] += (r.ci_low <= truth) & (truth <= r.ci_high)
            out[f"width:{est}"] += r.ci_high - r.ci_low
    return {key: value / RUNS for key, value in out.items()}


@pytest.mark.parametrize("design", ["proportional", "neyman", "srs"])
@pytest.mark.parametrize("order", ["random", "most-confident-first"])
def test_adjusted_figures_in_either_annotation_order(design, order):
    observed = coverage(design, order)
    table = "\n".join(f"{k:15s} " + " ".join(f"{v:.3f}" for v in vs) for k, vs in observed.items())
    print(f"\n{design} {order} (accuracy, auto-coded part, manual part)\n{table}")
    if order == "random":  # nothing to correct: the adjustment costs no coverage
        assert observed["hits:adjusted"].min() >= 0.93, table
        assert observed["hits:plain"].min() >= 0.93, table
        assert observed["width:adjusted"].mean() <= 1.1 * observed["width:plain"].mean(), table
    else:
        # The plain weights collapse on the headline accuracy (0.02-0.33); the groups recover
        # most of it (0.86-0.91), not all: what is left is the confidence gradient inside
        # each group. The goal of 0.93 everywhere is not reached on this strong a gradient.
        assert observed["hits:plain"][0] < 0.4, table
        assert observed["hits:adjusted"][0] >= 0.85, table
        assert observed["hits:adjusted"].min() >= 0.83, table


def test_plain_weights_fail_when_the_most_confident_units_are_annotated_first():
    observed = coverage("srs", "most-confident-first")
    assert observed["hits:plain"][0] < 0.1, observed  # the headline accuracy, biased upward


def _sample_and_gold(order: str, seed: int) -> tuple[pa.Table, pa.Table]:
    _, confidence, success, _ = population()
    rng = np.random.default_rng(seed)
    rows, h = draw(rng, "proportional")
    done = annotated_half(rng, confidence[rows], h, order)
    ids = [f"req-{r}" for r in rows]
    sample = pa.table(
        {
            "request_id": ids,
            "stratum": [f"b{x}" for x in h],
            "confidence": confidence[rows],
            "predicted_code": ["62.01Z" if x % 2 else "47.11Z" for x in rows],
            "weight": (SIZES[h] / allocation("proportional")[h]).astype(float),
        }
    )
    gold = sample.filter(pa.array(done)).append_column(
        "stratum_sample_size", pa.array(allocation("proportional")[h[done]], pa.int64())
    )
    gold = gold.append_column("correct", pa.array(success[rows[done]]))
    return sample, gold


def test_the_order_test_flags_sorted_annotation_and_passes_a_random_one():
    sample, gold = _sample_and_gold("random", 1)
    passed = annotation_order(gold, sample)
    assert passed["tested"] and not passed["suspect"], passed
    assert 0.4 < passed["annotated_confidence_percentile"] < 0.6
    sample, gold = _sample_and_gold("sorted", 1)
    failed = annotation_order(gold, sample)
    assert failed["suspect"] and failed["confidence_p_value"] < 1e-10, failed
    assert failed["annotated_confidence_percentile"] > 0.7
    assert "uniform sampling" in failed["warning"]


def test_the_order_test_is_not_run_when_nothing_is_left_to_compare():
    sample, _ = _sample_and_gold("random", 2)
    everything = annotation_order_test(sample, sample.column("request_id"))
    assert everything["tested"] is False and everything["units_annotated"] == N_SAMPLE


def test_reweighting_with_the_sample_adjusts_within_confidence_groups():
    sample, gold = _sample_and_gold("most-confident-first", 3)
    plain = reweight_to_annotated(gold)
    adjusted = reweight_to_annotated(gold, sample)
    # Both weight the annotated units up to each stratum's population...
    for table in (plain, adjusted):
        totals = {}
        for s, w in zip(table["stratum"].to_pylist(), table["weight"].to_pylist(), strict=True):
            totals[s] = totals.get(s, 0.0) + w
        assert totals == pytest.approx({f"b{h}": float(n) for h, n in enumerate(SIZES)})
    # ...but the adjusted weights lean on the low-confidence units that were annotated.
    conf = np.asarray(adjusted["confidence"])
    w_plain, w_adj = np.asarray(plain["weight"]), np.asarray(adjusted["weight"])
    low = conf < np.median(conf)
    assert w_adj[low].sum() > w_plain[low].sum()
    assert "variance_stratum" in adjusted.column_names
    assert len(set(adjusted["variance_stratum"].to_pylist())) > SIZES.size


def test_metrics_and_progress_print_the_test_and_warn_when_it_fails():
    from rich.console import Console

    from services.cli.figures_table import print_annotation_order

    for order, expected in (("random", "Annotation order: annotated units at the 0.5"),
                            ("sorted", "not a random part of the sample")):  # fmt: skip
        sample, gold = _sample_and_gold(order, 4)
        console = Console(record=True, width=300)
        print_annotation_order(console, annotation_order(gold, sample))
        assert expected in console.export_text(), console.export_text()
    console = Console(record=True, width=300)
    print_annotation_order(console, annotation_order(gold, None))
    assert console.export_text() == ""  # no sample table: nothing tested, nothing said
