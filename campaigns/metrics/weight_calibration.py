"""Design weights calibrated to what the traffic already tells: raking with linearised variance.

Every request of the window has its confidence index and predicted code, so the population
count of any cell of them (confidence decile, predicted section, the threshold split) is known
exactly. The design weights ``w`` reproduce those counts only on average; raking (iterative
proportional fitting) multiplies them by factors ``g`` until the sample's weighted counts
match every margin exactly:

    for each margin m, repeatedly:  w_i <- w_i * T_m(c) / sum_{j in c} w_j   (c = i's category)

With one margin this is post-stratification; with several it converges to the raking
estimator of Deville & Sarndal (1992), a calibration estimator with the multiplicative
distance, asymptotically equivalent to the GREG (regression) estimator on the margins' dummy
variables. Confidence is strongly tied to correctness, so the part of an error rate that the
cells explain is no longer sampling noise: the intervals narrow at no cost in annotation.

Variance (Deville & Sarndal; Sarndal, Swensson & Wretman 1992, 6.6): a ratio
``R = sum(gw y) / sum(gw d)`` is linearised with residuals of the calibration variables,

    z_i = y_i - R d_i,   e_i = z_i - x_i' B,   B = (sum gw x x')^+ sum gw x z,
    u_i = g_i w_i e_i / sum(gw d),

and ``u`` goes through the same stratified variance as the plain estimator
(:func:`campaigns.metrics.intervals.stratified_variance`); the interval is then the score
interval on the effective sample size, as for every headline figure. That interval caps
``n_eff`` at the domain's units (a design effect below 1 near 0 or 1 is mostly strata without
a sampled error); calibration's gain is a design effect below 1 by construction, so here the
cap grows by the ratio of the plain to the calibrated variance, both from the same units.

What it buys depends on what confidence tells beyond the design's strata. On synthetic
traffic (``benchmarks/calibration_simulation.py``) the accuracy's interval narrows by about
7% for a simple random sample and by 0.3-1% for samples already stratified on confidence
(the strata already hold most of what confidence tells);
on the coverage population (``benchmarks/coverage_simulation.py --calibrated``) by 2-6% for
whole-sample figures, with coverage kept (small domains gain nothing and may widen by 1-3%).

Sparse cells: a category with fewer than ``min_units`` sampled units (none included) would get
a huge factor from a handful of units, or none at all; it is collapsed first, into its
neighbour for an ordered margin (confidence bins), into a pooled "other" category for an
unordered one (sections). Collapsing loses only a little of the gain, never the validity.

Why not a library: ``samplics`` (0.6.1, PyPI) declares itself unmaintained in favour of
``svy``, and pulls polars and statsmodels; ``svy`` (0.35, a Rust core through ``svy-rs``,
polars) is young and changes often. The part needed here is a few dozen lines of numpy with
the variance we need spelled out, so it lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from campaigns.metrics.binomial import score_interval
from campaigns.metrics.intervals import (
    ProportionIntervals,
    effective_sample_size,
    kish_effective_n,
    linearised_variance,
    stratified_variance,
)

MIN_UNITS = 10
"""A calibration category with fewer sampled units than this is merged with another one."""

METHOD = "wilson-calibrated"


@dataclass(frozen=True)
class Margin:
    """One set of known population counts: each sampled unit's category and the totals.

    ``order`` (for ordered categories such as confidence bins) lets a sparse category merge
    with its neighbour instead of a pooled "other"; ``groups`` (one per category of ``order``)
    keeps merges inside a group, so bins nested in the design's strata stay nested and the
    margins never contradict each other.
    """

    name: str
    labels: np.ndarray
    totals: Mapping[str, float]
    order: tuple[str, ...] | None = None
    groups: tuple[int, ...] | None = None
    min_units: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", np.asarray(self.labels).astype(str))
        unknown = set(np.unique(self.labels).tolist()) - set(self.totals)
        if unknown:
            raise ValueError(f"margin {self.name}: categories without a total: {sorted(unknown)}")


@dataclass(frozen=True)
class CalibratedWeights:
    """Raked weights, the calibration variables (dummies of the collapsed margins) and a
    summary of what was done."""

    weights: np.ndarray
    base: np.ndarray
    factors: np.ndarray
    design: np.ndarray
    margins: list[Margin]
    iterations: int
    converged: bool
    collapsed: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        g = self.factors
        return {
            "margins": {m.name: len(m.totals) for m in self.margins},
            "categories_collapsed": self.collapsed,
            "iterations": self.iterations,
            "converged": self.converged,
            "g_min": float(g.min()) if g.size else None,
            "g_max": float(g.max()) if g.size else None,
        }


def collapse_margin(margin: Margin, min_units: int = MIN_UNITS) -> tuple[Margin, int]:
    """Merge the categories with fewer than ``min_units`` sampled units; returns the number
    merged. Ordered: into the neighbour with fewer units; unordered: into "other", and that
    into the largest category if still too small."""
    present, inverse = np.unique(margin.labels, return_inverse=True)
    counts = dict(zip(present.tolist(), np.bincount(inverse).tolist(), strict=True))
    min_units = margin.min_units or min_units
    totals = {str(k): float(v) for k, v in margin.totals.items() if v > 0}
    units = {c: int(counts.get(c, 0)) for c in totals}
    mapping = {c: c for c in totals}
    merged = 0
    if margin.order is not None:
        barrier = dict(zip(margin.order, margin.groups or (0,) * len(margin.order), strict=True))
        groups = [[c] for c in margin.order if c in totals]
        while len(groups) > 1:
            sizes = [sum(units[c] for c in g) for g in groups]
            candidates = []
            for i, size in enumerate(sizes):
                if size >= min_units:
                    continue
                near = [
                    j
                    for j in (i - 1, i + 1)
                    if 0 <= j < len(groups) and barrier[groups[j][0]] == barrier[groups[i][0]]
                ]
                if near:
                    candidates.append((size, i, min(near, key=lambda j: sizes[j])))
            if not candidates:
                break
            _, i, j = min(candidates)
            low, high = sorted((i, j))
            groups[low] = groups[low] + groups[high]
            del groups[high]
            merged += 1
        for g in groups:
            for c in g:
                mapping[c] = "+".join(g)
    else:
        small = [c for c in totals if units[c] < min_units]
        if len(small) > 1 or (small and len(totals) > 1):
            pooled = "other"
            for c in small:
                mapping[c] = pooled
            merged = len(small)
            if sum(units[c] for c in small) < min_units:
                largest = max((c for c in totals if c not in small), key=units.get, default=None)
                if largest is not None:
                    for c in small:
                        mapping[c] = largest
    new_totals: dict[str, float] = {}
    for c, total in totals.items():
        new_totals[mapping[c]] = new_totals.get(mapping[c], 0.0) + total
    labels = np.array([mapping[c] for c in present.tolist()], dtype=str)[inverse]
    order = groups_out = None
    if margin.order is not None:
        order = tuple(dict.fromkeys(mapping[c] for c in margin.order if c in totals))
        first = {mapping[c]: barrier[c] for c in reversed(margin.order) if c in totals}
        groups_out = tuple(first[c] for c in order)
    return Margin(margin.name, labels, new_totals, order, groups_out, margin.min_units), merged


def _codes(margin: Margin) -> np.ndarray:
    """Each unit's position in ``margin.totals`` (every label has a total)."""
    keys = np.array(list(margin.totals), dtype=str)
    order = np.argsort(keys)
    return order[np.searchsorted(keys[order], margin.labels)]


def _dummies(margins: Sequence[Margin], n: int) -> np.ndarray:
    columns = []
    for margin in margins:
        block = np.zeros((n, len(margin.totals)))
        block[np.arange(n), _codes(margin)] = 1.0
        columns.append(block)
    return np.hstack(columns) if columns else np.zeros((n, 0))


def rake(
    weights: ArrayLike,
    margins: Sequence[Margin],
    *,
    min_units: int = MIN_UNITS,
    max_iterations: int = 1000,
    tolerance: float = 1e-7,
) -> CalibratedWeights:
    """Rake ``weights`` to every margin's totals (after collapsing sparse categories).

    Margins must describe the same population (their totals have the same sum); one margin is
    post-stratification. Stops when every weighted count is within ``tolerance`` (relative) of
    its total.
    """
    w0 = np.asarray(weights, dtype=np.float64)
    collapsed: dict[str, int] = {}
    ready = []
    for margin in margins:
        margin, merged = collapse_margin(margin, min_units)
        collapsed[margin.name] = merged
        ready.append(margin)
    w = w0.copy()
    codes = []
    for margin in ready:
        codes.append((_codes(margin), np.array(list(margin.totals.values()), dtype=np.float64)))
    converged, iterations = not ready, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported)
        for code, target in codes:
            current = np.bincount(code, weights=w, minlength=target.size)
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(current > 0, target / current, 1.0)
            w = w * factor[code]
        worst = 0.0
        for code, target in codes:
            current = np.bincount(code, weights=w, minlength=target.size)
            worst = max(worst, float(np.max(np.abs(current - target) / np.maximum(target, 1.0))))
        if worst <= tolerance:
            converged = True
            break
    with np.errstate(invalid="ignore", divide="ignore"):
        factors = np.where(w0 > 0, w / np.where(w0 > 0, w0, 1.0), 1.0)
    return CalibratedWeights(
        weights=w,
        base=w0,
        factors=factors,
        design=_dummies(ready, w.size),
        margins=ready,
        iterations=iterations,
        converged=converged,
        collapsed=collapsed,
    )


def calibrated_intervals(
    numerators: ArrayLike,
    denominators: ArrayLike,
    calibrated: CalibratedWeights,
    strata: ArrayLike | None = None,
    *,
    sampling_fractions: ArrayLike | None = None,
    level: float = 0.95,
) -> ProportionIntervals:
    """Estimates and score intervals of ratios with raked weights, variance from residuals."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.ndim == 1:
        num, den = num[:, None], den[:, None]
    w = calibrated.weights
    n = num.shape[0]
    labels = np.zeros(n, dtype=np.int8) if strata is None else np.asarray(strata)
    totals_x = w @ den
    defined = totals_x != 0
    safe_x = np.where(defined, totals_x, 1.0)
    ratio = np.where(defined, (w @ num) / safe_x, 0.0)
    z = num - den * ratio
    x = calibrated.design
    if x.shape[1]:
        xw = x * w[:, None]
        beta = np.linalg.pinv(xw.T @ x) @ (xw.T @ z)
        z = z - x @ beta
    variance = stratified_variance(w[:, None] * z / safe_x, labels, sampling_fractions)
    estimate = np.where(defined, ratio, np.nan)
    variance = np.where(defined, variance, np.nan)
    n_domain = (den > 0).sum(axis=0)
    # The score interval caps n_eff at the domain's units (a design effect below 1 near 0 or 1
    # is mostly strata without a sampled error). Calibration's gain is a design effect below 1
    # by construction: the cap grows by the variance ratio of the plain to the calibrated
    # estimator, both estimated on the same units.
    _, plain = linearised_variance(num, den, calibrated.base, labels, sampling_fractions)
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = np.where((plain > 0) & (variance > 0), plain / variance, 1.0)
    effective_n = effective_sample_size(
        estimate, variance, n_domain * gain, kish_effective_n(den, w)
    )
    low, high = score_interval(estimate, effective_n, level)
    return ProportionIntervals(
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        variance=variance,
        n=n_domain,
        effective_n=effective_n,
        method=METHOD,
        level=level,
    )
