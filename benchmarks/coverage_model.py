"""The population and the designs the interval coverage is measured on, written once.

Read by ``benchmarks/coverage_simulation.py`` (every interval compared, long runs) and by
``tests/unit/test_interval_coverage.py`` (the chosen interval's coverage, seeded).

A fixed population of 150,000 units in 4 strata (60,000 / 45,000 / 30,000 / 15,000; accuracy
higher in the big, confident strata: logit offsets +1.2, +0.4, -0.4, -1.2) carries figures
given as (true value, expected sampled units in the domain out of n = 400): a figure's domain
is spread unevenly over the strata (relative shares 0.6, 0.9, 1.2, 1.6). Units of a stratum
are exchangeable under simple random sampling within it, so a figure's domain is the
stratum's first ``D_h`` units and its successes the first ``C_h`` of those. Samples of n = 400
are drawn with proportional, Neyman (prior errors growing in the low strata) or equal
allocation, or as a simple random sample, and weighted to the units annotated so far
(``N_h / n'_h``), so a random part of a sample is read as a campaign is while experts work.

The calibrated variant (:func:`confidence_population`): the same strata are confidence bands
(the highest first), each unit's confidence index known for the whole population, and within
a band correctness still rises with confidence (logit slope 3 across the band); successes are
drawn (seed 7), and each unit carries its population confidence decile.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.special import expit, logit

from campaigns.sampling.allocation import allocate

SIZES = np.array([60_000, 45_000, 30_000, 15_000])
OFFSETS = np.array([1.2, 0.4, -0.4, -1.2])  # logit accuracy by stratum, around the figure's
SPREAD = np.array([0.6, 0.9, 1.2, 1.6])  # domain share by stratum, relative
N_SAMPLE = 400
DESIGNS = ("proportional", "neyman", "equal", "srs")
FIGURES = tuple((t, m) for t in (0.92, 0.96, 0.97, 0.99) for m in (400, 100, 20))
"""(true value, expected sampled units in the domain): whole-sample figures and domains."""
BANDS = np.array([[0.8, 1.0], [0.6, 0.8], [0.3, 0.6], [0.0, 0.3]])
CONFIDENCE_SLOPE = 3.0
CALIBRATED_FIGURES = (
    (0.80, 400), (0.85, 400), (0.92, 400), (0.97, 400), (0.92, 100), (0.97, 100), (0.97, 20)
)  # fmt: skip


def figure_name(truth: float, units: int) -> str:
    return f"p{truth:.2f}_d{units}"


def _domain_sizes(units: int) -> np.ndarray:
    share = np.minimum(1.0, units / N_SAMPLE * SPREAD / (SIZES / SIZES.sum() @ SPREAD))
    return np.round(SIZES * share).astype(int)


def _shift_for(target: float, offsets: np.ndarray, counts: np.ndarray) -> float:
    """Logit shift making the accuracy ``target`` over units with these logit ``offsets``
    (``counts`` units each), by bisection."""
    low, high = -10.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        value = counts @ expit(logit(target) + mid + offsets) / counts.sum()
        low, high = (mid, high) if value < target else (low, mid)
    return (low + high) / 2


@cache
def population(
    figures: tuple[tuple[float, int], ...] = FIGURES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """Per unit: stratum, success and domain indicators per figure; names; true values."""
    stratum = np.repeat(np.arange(SIZES.size), SIZES)
    position = np.arange(SIZES.sum()) - np.repeat(np.cumsum(SIZES) - SIZES, SIZES)
    num, den, truth = [], [], []
    for t, m in figures:
        domain = _domain_sizes(m)
        shift = _shift_for(t, OFFSETS, domain)
        successes = np.round(domain * expit(logit(t) + shift + OFFSETS)).astype(int)
        den.append(position < np.repeat(domain, SIZES))
        num.append(position < np.repeat(successes, SIZES))
        truth.append(successes.sum() / domain.sum())
    names = tuple(figure_name(t, m) for t, m in figures)
    return stratum, np.column_stack(num), np.column_stack(den), names, np.array(truth)


@cache
def confidence_population(
    figures: tuple[tuple[float, int], ...] = CALIBRATED_FIGURES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], np.ndarray]:
    """Stratum and confidence decile per unit, success and domain indicators, names, truths."""
    rng = np.random.default_rng(7)
    stratum = np.repeat(np.arange(SIZES.size), SIZES)
    u = rng.random(SIZES.sum())
    confidence = BANDS[stratum, 0] + u * (BANDS[stratum, 1] - BANDS[stratum, 0])
    position = np.arange(SIZES.sum()) - np.repeat(np.cumsum(SIZES) - SIZES, SIZES)
    logit_offsets = OFFSETS[stratum] + CONFIDENCE_SLOPE * (u - 0.5)
    num, den, truth = [], [], []
    for t, m in figures:
        domain = position < np.repeat(_domain_sizes(m), SIZES)
        shift = _shift_for(t, logit_offsets[domain], np.ones(int(domain.sum())))
        success = domain & (rng.random(SIZES.sum()) < expit(logit(t) + shift + logit_offsets))
        num.append(success)
        den.append(domain)
        truth.append(success.sum() / domain.sum())
    deciles = np.searchsorted(np.quantile(confidence, np.linspace(0, 1, 11)[1:-1]), confidence)
    names = tuple(figure_name(t, m) for t, m in figures)
    return stratum, deciles, np.column_stack(num), np.column_stack(den), names, np.array(truth)


def allocation(design: str) -> np.ndarray:
    """Units per stratum (one stratum of ``N_SAMPLE`` for a simple random sample)."""
    if design == "srs":
        return np.array([N_SAMPLE])
    sd = {str(h): float(np.sqrt(0.9 * 0.1) * (1 + h)) for h in range(SIZES.size)}
    sizes = allocate({str(h): int(s) for h, s in enumerate(SIZES)}, N_SAMPLE, design, sd=sd)
    return np.array([sizes[str(h)] for h in range(SIZES.size)])


def draw(rng: np.random.Generator, design: str, sizes: np.ndarray) -> np.ndarray:
    """Row indices of one sample without replacement (stratified unless ``srs``)."""
    if design == "srs":
        return rng.choice(SIZES.sum(), N_SAMPLE, replace=False)
    starts = np.cumsum(SIZES) - SIZES
    return np.concatenate(
        [starts[h] + rng.choice(SIZES[h], sizes[h], replace=False) for h in range(SIZES.size)]
    )


def design_weights(
    stratum: np.ndarray, rows: np.ndarray, design: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratum labels, weights ``N_h / n'_h`` and sampling fractions of the units ``rows``."""
    h = np.zeros(rows.size, dtype=int) if design == "srs" else stratum[rows]
    totals = np.array([SIZES.sum()]) if design == "srs" else SIZES
    annotated = np.bincount(h, minlength=totals.size)
    return h, totals[h] / annotated[h], annotated[h] / totals[h]


ORDER_NOISE = 0.25
"""Most-confident-first annotation: the confidence percentile plus a normal noise of this sd."""


def annotated_half(
    rng: np.random.Generator, confidence: np.ndarray, strata: np.ndarray, order: str
) -> np.ndarray:
    """Half of each stratum annotated: at random, most-confident-first (confidence percentile
    plus a normal noise of sd 0.25), or strictly sorted (no unit below the median annotated)."""
    key = rng.random(confidence.size)
    if order != "random":
        percentile = np.empty(confidence.size)
        for h in np.unique(strata):
            inside = np.flatnonzero(strata == h)
            percentile[inside] = np.argsort(np.argsort(confidence[inside])) / inside.size
        noise = 0.0 if order == "sorted" else ORDER_NOISE
        key = -(percentile + rng.normal(0.0, noise, confidence.size))
    chosen = np.zeros(confidence.size, bool)
    for h in np.unique(strata):
        inside = np.flatnonzero(strata == h)
        chosen[inside[np.argsort(key[inside])[: inside.size // 2]]] = True
    return chosen
