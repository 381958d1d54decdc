"""Intervals for design-weighted proportions that keep their coverage near 0 and 1.

Every headline figure and every point of the threshold curve is a ratio of design-weighted
totals, ``R = sum(w * y) / sum(w * d)`` (``y`` the 0/1 success, ``d`` the 0/1 or weighted domain
membership). Its 95% interval is a score interval on the design's effective sample size:

1. Design variance of ``R``, by linearisation (Taylor): with ``X = sum(w * d)`` and per unit
   ``u_i = w_i (y_i - R d_i) / X``,

       v = sum_h (1 - f_h) n_h / (n_h - 1) sum_{i in h} (u_i - mean_h u)^2

   over the strata ``h`` (``n_h`` sampled units, sampling fraction ``f_h``, 0 without the
   finite population correction). Units outside the domain stay in with ``u_i = 0``, so the
   randomness of the domain's sample size is counted. A stratum with one unit adds nothing
   (as in the bootstrap). Closed form, one pass, no Monte Carlo noise; the Rao-Wu bootstrap
   variance (``variance="bootstrap"``) gives the same coverage, slower.
2. Effective sample size (Kish): the number of simple-random-sample units that would give the
   same variance, ``n_eff = R (1 - R) / v``, capped at ``n_d``, the domain's sampled units
   (Korn & Graubard 1998, the NCHS standard for survey proportions). When ``R`` is 0 or 1, or
   ``v`` is 0, the variance says nothing: ``n_eff`` is then Kish's effective size of the
   weights, ``(sum_d w)^2 / sum_d w^2`` (``n_d`` with equal weights), never 0.
3. Interval: Wilson's score interval for ``R`` with ``n_eff`` trials,

       (R + z^2 / 2n  +-  z sqrt(R (1 - R) / n + z^2 / 4n^2)) / (1 + z^2 / n),   n = n_eff,

   except on a side where fewer than ``SPARSE_UNITS`` (5) effective units lie (successes
   ``x = n_eff R`` for the lower bound, failures ``n_eff - x`` for the upper): that bound is
   Jeffreys' one, the equal-tailed quantile of the ``Beta(x + 1/2, n - x + 1/2)`` posterior,
   ``Beta^-1(a/2; x + 1/2, n - x + 1/2)`` or ``Beta^-1(1 - a/2; ...)`` (0 or 1 when ``x`` is 0
   or ``n``; Brown, Cai & DasGupta 2001).
   With one stratum, equal weights and 0/1 data, ``n_eff`` is exactly ``n_d`` (the binomial
   count); that case is labelled ``wilson``, every other design ``wilson-design``.

Why this interval (``python -m benchmarks.coverage_simulation``: 150,000 units, 4 strata,
n = 400 drawn with proportional, Neyman and equal allocation and as a simple random sample,
complete and half-annotated campaigns, figures at 0.92, 0.96, 0.97 and 0.99 on domains of
about 400, 100 and 20 sampled units, 1,200 runs per design):

- The stratified percentile bootstrap collapses near 1: with few errors in the sample its
  replicates barely vary, so it is narrowest exactly when the estimate is too high (misses
  above the truth). It covered 91-95% for whole-sample figures at 0.92-0.97, 81-89% at 0.99,
  and 10-90% on domains of about 20 units, and gives a zero-width ``[1, 1]`` when every unit
  agrees.
- Wilson evaluates the binomial variance at the tested value, not at the estimate, so it
  stays honest near 1; on ``n_eff`` it carries the design effect. Every interval has width.
- The cap: an estimated design effect below 1 near 0 or 1 comes mostly from strata where no
  error happened to be sampled (their variance estimate is 0, the true one is not). Without
  it (Wilson alone), Neyman and equal allocations fell to 92.3-94.2% on whole-sample figures
  at 0.97-0.99; capped they hold 96.5-97.8%, at the price of some width there (the gain of a
  good allocation is not claimed near the bounds).
- Jeffreys' bound on a sparse side: Wilson's coverage oscillates with the counts and sags
  when fewer than about two errors are expected (as low as 84% for some sizes of a simple
  random sample). Until issue #25 that side switched to Clopper-Pearson below 10 effective
  units, which covers 98-100% where 95% is meant, and the stop rule paid for the excess in
  annotations. Exact binomial coverage (every n from 10 to 39, every third n from 40 to 400,
  p in 0.5-0.995; ``python -m benchmarks.coverage_simulation --exact``):

      interval                   n<40 mean  min  | n>=40 mean  min   max  <0.93  >0.975
      Wilson                         0.952 0.839 |      0.951 0.895 0.983 0.005  0.011
      former (Clopper-Pearson <10)   0.968 0.922 |      0.954 0.928 0.998 0.000  0.089
      Clopper-Pearson                0.977 0.951 |      0.963 0.950 0.998 0.000  0.104
      Jeffreys                       0.953 0.869 |      0.950 0.878 0.991 0.022  0.024
      Wilson, Jeffreys <3            0.956 0.900 |      0.951 0.918 0.991 0.002  0.016
      Wilson, Jeffreys <5 (chosen)   0.958 0.900 |      0.952 0.928 0.991 0.000  0.025
      Wilson, Jeffreys <10           0.960 0.900 |      0.953 0.928 0.991 0.000  0.041
      Wilson, CC on sparse side <5   0.960 0.910 |      0.952 0.928 0.995 0.000  0.028

  The chosen one keeps the former floor from 40 units up (0.928) with under a third of its
  cases above 0.975; below 40 units its mean is 0.958 and its lowest exact coverage 0.900
  (discreteness: no floor without Clopper-Pearson's excess). At p = 0.968 it covers 0.973
  (n = 36) and 0.972 (n = 72) where the former gave 0.994 and 0.992, and its expected width
  at n = 72 is 0.0913 against 0.0937 (``ratio: 0.974``; the required sample size goes as the
  square of the width, so about 5% fewer annotations to reach the same margin there).

With the former exact bounds the interval covered 94.3-99.7% over the whole grid (mean 98.1%;
the bootstrap 10-95%, mean 74%); with the bootstrap's variance in place of the linearised one
the coverage is the same (column ``score-bootvar``). The design simulation with Jeffreys' bound
(``--choice``, 500 runs per design, complete and half-annotated campaigns): figures at
0.92-0.97 on about 100-400 units covered 0.938-0.984 (11 of 48 cells above 0.975; the former
interval 0.938-0.996, 20 of 48), figures at 0.99 on those domains 0.962-0.990 (about 4 expected
errors: discreteness, and the cap at ``n_d``), figures on about 20 units 0.976 on average
(lowest 0.954; the former 0.993). Mean width 5.2% narrower over the grid (``ratio: 0.948``),
up to 11% on small domains near 1 and 3% on whole-sample figures at 0.99. The stop rule
scales the sample by the squared half-width, so at a fixed target margin it asks for about 10%
fewer annotations on average over the grid, up to about 20% on small domains near 1 and 6% on
whole-sample figures at 0.99; nothing changes where both sides have 10 or more effective units.
What this interval does not reach: 0.93-0.975 in every cell
of figures near 0.99, where a few errors decide the coverage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from campaigns.metrics.binomial import (  # re-exported: the interval's parts, one home
    SPARSE_UNITS,
    Z95,
    clopper_pearson_bounds,
    jeffreys_bounds,
    score_interval,
    wilson,
    wilson_bounds,
)

__all__ = [
    "SPARSE_UNITS",
    "Z95",
    "ProportionIntervals",
    "clopper_pearson_bounds",
    "design_intervals",
    "jeffreys_bounds",
    "proportion_intervals",
    "score_interval",
    "wilson",
    "wilson_bounds",
]

Variance = Literal["linearised", "bootstrap"]


@dataclass(frozen=True)
class ProportionIntervals:
    """Estimates and intervals of ``k`` ratio statistics (arrays of shape k).

    ``n`` counts the sampled units in each statistic's domain, ``effective_n`` is the ``n_eff``
    the interval used, ``variance`` the design variance of the estimate. NaN everywhere for a
    statistic whose domain has no weight. ``method`` is ``wilson`` (one stratum, equal weights,
    0/1 data: the binomial count) or ``wilson-design`` (effective sample size).
    """

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    variance: np.ndarray
    n: np.ndarray
    effective_n: np.ndarray
    method: str
    level: float


def _as_2d(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n_units, k)")
    return array


def linearised_variance(
    numerators: ArrayLike,
    denominators: ArrayLike,
    weights: ArrayLike,
    strata: ArrayLike,
    sampling_fractions: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Ratio estimates ``sum(w num) / sum(w den)`` and their stratified linearised variances.

    ``sampling_fractions`` (per unit, constant within a stratum) turns on the finite population
    correction ``1 - f_h``. Returns ``(estimate, variance)``, NaN where ``sum(w den)`` is 0.
    """
    num = _as_2d(numerators, "numerators")
    den = _as_2d(denominators, "denominators")
    w = np.asarray(weights, dtype=np.float64)
    n, k = num.shape
    if den.shape != (n, k) or w.shape != (n,) or np.shape(strata) != (n,):
        raise ValueError("numerators, denominators, weights and strata must have n_units rows")
    totals_x = w @ den
    totals_y = w @ num
    defined = totals_x != 0
    safe_x = np.where(defined, totals_x, 1.0)
    ratio = np.where(defined, totals_y / safe_x, 0.0)
    if n == 0:
        return np.full(k, np.nan), np.full(k, np.nan)

    u = w[:, None] * (num - den * ratio) / safe_x
    variance = stratified_variance(u, strata, sampling_fractions)
    estimate = np.where(defined, ratio, np.nan)
    return estimate, np.where(defined, variance, np.nan)


def stratified_variance(
    linearised: ArrayLike, strata: ArrayLike, sampling_fractions: ArrayLike | None = None
) -> np.ndarray:
    """``sum_h (1 - f_h) n_h / (n_h - 1) sum_{i in h} (u_i - mean_h u)^2`` per column of ``u``.

    The variance of a total of linearised values ``u`` (``(n_units, k)``) under stratified
    simple random sampling; a stratum with one unit adds nothing.
    """
    u = _as_2d(linearised, "linearised")
    n = u.shape[0]
    if n == 0:
        return np.full(u.shape[1], np.nan)
    codes, _ = pd.factorize(np.asarray(strata), use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    u = u[order]
    means = np.add.reduceat(u, starts, axis=0) / sizes[:, None]
    u = u - np.repeat(means, sizes, axis=0)
    squares = np.add.reduceat(u * u, starts, axis=0)
    factor = np.zeros(sizes.size)
    several = sizes > 1
    factor[several] = sizes[several] / (sizes[several] - 1.0)
    if sampling_fractions is not None:
        f = np.asarray(sampling_fractions, dtype=np.float64)
        if f.shape != (n,) or np.any(~(f >= 0) | (f > 1)):
            raise ValueError("sampling_fractions must be n_units values in [0, 1]")
        per_stratum = np.bincount(codes, weights=f) / sizes
        factor *= 1.0 - per_stratum
    return factor @ squares


def kish_effective_n(denominators: ArrayLike, weights: ArrayLike) -> np.ndarray:
    """Kish's effective size of the weights in each domain: ``(sum w d)^2 / sum (w d)^2``."""
    wd = _as_2d(denominators, "denominators") * np.asarray(weights, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return wd.sum(axis=0) ** 2 / (wd * wd).sum(axis=0)


def effective_sample_size(
    estimate: np.ndarray, variance: np.ndarray, n_domain: np.ndarray, kish_n: np.ndarray
) -> np.ndarray:
    """``min(n_d, R (1 - R) / v)``, or Kish's ``n`` where ``R`` is 0 or 1 or ``v`` is 0."""
    informative = (estimate > 0) & (estimate < 1) & (variance > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        from_variance = estimate * (1.0 - estimate) / np.where(informative, variance, 1.0)
    capped = np.minimum(from_variance, n_domain)
    fallback = np.minimum(kish_n, n_domain)
    return np.where(np.isnan(estimate), np.nan, np.where(informative, capped, fallback))


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0) | (values == 1)))


def design_intervals(
    numerators: ArrayLike,
    denominators: ArrayLike,
    weights: ArrayLike,
    strata: ArrayLike | None = None,
    *,
    sampling_fractions: ArrayLike | None = None,
    level: float = 0.95,
    variance: Variance = "linearised",
    replicates: int = 1000,
    seed: int = 0,
) -> ProportionIntervals:
    """Estimates and score intervals of ``k`` ratios ``sum(w * num) / sum(w * den)``.

    ``numerators`` and ``denominators`` are ``(n_units, k)`` (a 1-D array is one statistic),
    ``strata`` any labels (None: one stratum). ``variance="bootstrap"`` takes the design
    variance from the Rao-Wu bootstrap (``replicates``, ``seed``) instead of linearisation.
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    num = _as_2d(numerators, "numerators")
    den = _as_2d(denominators, "denominators")
    w = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den))):
        raise ValueError("numerators and denominators must be finite")
    labels = np.zeros(w.size, dtype=np.int8) if strata is None else np.asarray(strata)
    estimate, v = linearised_variance(num, den, w, labels, sampling_fractions)
    if variance == "bootstrap":
        from campaigns.metrics.bootstrap import stratified_bootstrap  # only this path needs it

        boot = stratified_bootstrap(
            num,
            den,
            w,
            labels,
            replicates=replicates,
            seed=seed,
            level=level,
            sampling_fractions=sampling_fractions,
        )
        v = np.where(np.isnan(estimate), np.nan, boot.se**2)
    elif variance != "linearised":
        raise ValueError(f"unknown variance {variance!r}")
    n_domain = (den > 0).sum(axis=0)
    srs = (
        w.size > 0
        and pd.unique(labels).size == 1
        and bool(np.all(w == w[0]))
        and _is_binary(num)
        and _is_binary(den)
    )
    if srs:  # the binomial count itself: n_eff is the domain's number of units
        effective_n = np.where(np.isnan(estimate), np.nan, n_domain.astype(np.float64))
    else:
        effective_n = effective_sample_size(estimate, v, n_domain, kish_effective_n(den, w))
    low, high = score_interval(estimate, effective_n, level)
    return ProportionIntervals(
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        variance=v,
        n=n_domain,
        effective_n=effective_n,
        method="wilson" if srs else "wilson-design",
        level=level,
    )


def proportion_intervals(
    proportions: Mapping[str, tuple[ArrayLike, ArrayLike]],
    weights: ArrayLike,
    strata: ArrayLike | None = None,
    *,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    sampling_fractions: ArrayLike | None = None,
    variance: Variance = "linearised",
) -> dict[str, dict[str, float | int | str]]:
    """Estimate and interval of named proportions: ``name -> (success, domain)`` per unit.

    Each value gives two per-unit arrays, the 0/1 success indicator and the 0/1 (or weighted)
    domain membership; the estimate is ``sum(w * success) / sum(w * domain)`` and the interval
    the score interval of :func:`design_intervals`, all proportions from one call.
    ``replicates`` and ``seed`` only matter with ``variance="bootstrap"``. Returns
    ``name -> {"estimate", "ci_low", "ci_high", "n", "method"}`` with ``n`` the number of
    sample units in the domain and ``method`` ``wilson`` or ``wilson-design``.
    """
    names = list(proportions)
    if not names:
        return {}
    w = np.asarray(weights, dtype=np.float64)
    num = np.column_stack([np.asarray(proportions[name][0], dtype=np.float64) for name in names])
    den = np.column_stack([np.asarray(proportions[name][1], dtype=np.float64) for name in names])
    if num.shape != (w.size, len(names)) or den.shape != num.shape:
        raise ValueError("every indicator must have one value per unit")
    result = design_intervals(
        num,
        den,
        w,
        strata,
        sampling_fractions=sampling_fractions,
        level=level,
        variance=variance,
        replicates=replicates,
        seed=seed,
    )
    return {
        name: {
            "estimate": float(result.estimate[j]),
            "ci_low": float(result.ci_low[j]),
            "ci_high": float(result.ci_high[j]),
            "n": int(result.n[j]),
            "method": result.method,
        }
        for j, name in enumerate(names)
    }
