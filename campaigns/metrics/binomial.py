"""Bounds of a binomial proportion: Wilson's, Jeffreys', Clopper-Pearson's, and the score
interval (Wilson, with Jeffreys' bound on a side with few units).

Why this pair, and how the design enters through the effective sample size: see
:mod:`campaigns.metrics.intervals`. These functions take a proportion and a (possibly
fractional) number of trials and know nothing of designs.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaincinv
from scipy.stats import norm

Z95 = 1.959963984540054
SPARSE_UNITS = 5.0
"""Below this many effective units on a side, that side's bound is Jeffreys'."""


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``; NaNs when n is 0."""
    if n <= 0:
        return (math.nan, math.nan)
    low, high = wilson_bounds(np.array([successes / n]), np.array([float(n)]), z)
    return (float(low[0]), float(high[0]))


def wilson_bounds(p: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds for proportions ``p`` over ``n`` (possibly fractional) trials."""
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / scale
        half = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / scale
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def clopper_pearson_bounds(
    p: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) bounds, with ``x = n p`` successes allowed to be fractional."""
    alpha = 1.0 - level
    x = p * n
    failures = n - x
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, betaincinv(np.maximum(x, 1e-300), failures + 1.0, alpha / 2), 0.0)
        high = np.where(
            failures > 0, betaincinv(x + 1.0, np.maximum(failures, 1e-300), 1 - alpha / 2), 1.0
        )
    return low, high


def jeffreys_bounds(
    p: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys bounds, ``Beta(x + 1/2, n - x + 1/2)`` quantiles with ``x = n p`` possibly
    fractional; 0 (1) when there is no success (failure)."""
    alpha = 1.0 - level
    x = p * n
    failures = n - x
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, betaincinv(x + 0.5, failures + 0.5, alpha / 2), 0.0)
        high = np.where(failures > 0, betaincinv(x + 0.5, failures + 0.5, 1 - alpha / 2), 1.0)
    return low, high


def score_interval(
    p: ArrayLike, n_eff: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson on ``n_eff`` trials, Jeffreys on a side with fewer than 5 units.

    The lower bound is Jeffreys' when the effective successes ``n_eff p`` are fewer than
    ``SPARSE_UNITS``, the upper bound when the effective failures are. Bounds always enclose
    ``p`` and have width for any finite ``n_eff > 0``; NaN where ``p`` or ``n_eff`` is.
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n = np.asarray(n_eff, dtype=np.float64)
    z = float(norm.ppf(1.0 - (1.0 - level) / 2.0))
    w_low, w_high = wilson_bounds(p, n, z)
    c_low, c_high = jeffreys_bounds(p, n, level)
    low = np.where(n * p < SPARSE_UNITS, c_low, w_low)
    high = np.where(n * (1.0 - p) < SPARSE_UNITS, c_high, w_high)
    missing = np.isnan(p) | ~(n > 0)
    low = np.where(missing, np.nan, np.minimum(low, p))
    high = np.where(missing, np.nan, np.maximum(high, p))
    return low, high
