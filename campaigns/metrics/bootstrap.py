"""Stratified bootstrap intervals for design-weighted ratio estimates, vectorised.

Proportions do not take their intervals from here any more: a percentile interval collapses
near 0 and 1 (``[1, 1]`` when every unit agrees) and under-covers there. Headline figures and
the threshold curve use the score interval on the effective sample size of
:mod:`campaigns.metrics.intervals` (``wilson`` and ``Z95``, of :mod:`campaigns.metrics.binomial`,
are re-exported here for existing importers). The bootstrap stays for what needs replicates:
statistics that are not plain proportions, joint replicates of many statistics, and the design
variance when ``variance="bootstrap"`` is asked of the intervals.

Every statistic is a ratio of design-weighted totals, ``sum(w * num) / sum(w * den)``: an
accuracy is ``num = correct, den = coded``, a rate over a domain is ``num = in the domain and
auto-coded, den = in the domain``. Units outside a statistic's domain stay in the sample with
zero numerator and denominator, which is the correct domain estimator under the design (the
domain's sample size is random, and the bootstrap reproduces that).

Resampling scheme: the Rao-Wu (1988) rescaling bootstrap with ``m_h = n_h - 1`` draws.
In stratum ``h`` (``n_h`` sampled units) a replicate draws ``n_h - 1`` units with replacement
from the stratum's ``n_h`` units, giving multiplicities ``m_i`` (an exact multinomial), and
the unit's replicate weight is::

    w_i* = w_i * (1 - lambda_h + lambda_h * n_h / (n_h - 1) * m_i),  lambda_h = sqrt(1 - f_h)

``f_h`` is the stratum's sampling fraction (0 unless ``sampling_fractions`` is given, i.e. no
finite population correction). For a total this makes the bootstrap variance equal to the
usual unbiased stratified variance estimator ``sum_h N_h^2 (1 - f_h) s_h^2 / n_h``; plain
resampling of ``n_h`` units would underestimate it by the factor ``(n_h - 1) / n_h``, which
matters for small strata. Weights stay non-negative (``lambda_h <= 1``).

A stratum with a single sampled unit has no within-stratum variance estimate: its
contribution is kept fixed at its observed value in every replicate (it adds nothing to the
variance). Collapse such strata into a neighbour upstream if their variance matters.

Speed: a replicate total is linear in the multiplicities, so all replicates and statistics
come from matrix products ``counts (R, n_h) @ [w*num, w*den] (n_h, 2k)``, per stratum, with no
Python loop over units or replicates. Two exact ways to draw the counts:

- *collapsed* (the usual case): units whose rows ``[w*num, w*den]`` are identical are
  exchangeable, so the multinomial over units summed within groups of identical rows is
  exactly a multinomial over the groups with probabilities ``size_g / n_h``. Indicator
  statistics with one weight per stratum have a few dozen distinct rows per stratum, so
  ``Generator.multinomial(n_h - 1, size_g / n_h, size=R)`` is tiny whatever ``n_h`` is.
- *per unit* (many distinct rows, e.g. calibrated weights or continuous values): replicates in
  chunks sized to keep the dense count block near 16 MB; each chunk draws ``n_h - 1`` uniform
  unit indices per replicate and counts them with one ``bincount`` (the same multinomial).
  Peak memory is a few copies of that block, never ``R x n``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from campaigns.metrics.binomial import Z95, wilson

__all__ = ["Z95", "BootstrapResult", "stratified_bootstrap", "wilson"]

# Per-unit path: elements of one dense (replicates x units) count block (16 MB as float64).
_BLOCK_ELEMENTS = 1 << 21
# Per-unit path: bins of one bincount (2 MB of int64, cache-sized: random increments stay fast).
_TALLY_ELEMENTS = 1 << 18
# Collapse a stratum when it has at most this share of distinct rows.
_COLLAPSE_SHARE = 0.125
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimates and percentile intervals of ``k`` ratio statistics (arrays of shape k).

    ``replicates`` holds the ``(R, k)`` replicate estimates (NaN where a replicate's denominator
    is 0). Everything is NaN for a statistic whose observed denominator is 0.
    """

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    se: np.ndarray
    replicates: np.ndarray
    level: float


def _as_2d(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n_units, k)")
    return array


def _row_groups(block: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Group identical rows of a column-major float64 block: (representative row, group id).

    Rows are hashed from their bit patterns, then the grouping is checked element by element,
    so a hash collision can never merge different rows (it returns None instead).
    """
    bits = block.view(np.uint64)
    key = np.zeros(block.shape[0], dtype=np.uint64)
    for j in range(bits.shape[1]):
        key ^= bits[:, j]
        key *= _HASH_MULT
        key ^= key >> np.uint64(29)
    group, _ = pd.factorize(key)
    # factorize numbers groups in order of first appearance: a new group raises the running max
    running = np.maximum.accumulate(group)
    first = np.flatnonzero(np.concatenate([[True], running[1:] > running[:-1]]))
    if not np.array_equal(block, block[first][group]):
        return None
    return first, group


def _add_unit_draws(
    totals: np.ndarray, block: np.ndarray, draws: int, scale: float, rng: np.random.Generator
) -> None:
    """Per-unit path: ``totals += scale * counts @ block`` with exact multinomial counts.

    Counts are drawn as ``draws`` uniform unit indices per replicate, tallied by ``bincount``
    over a few replicates at a time (the tally array stays in cache, ~2 MB), into a dense block
    of up to ``_BLOCK_ELEMENTS`` counts that feeds one matrix product.
    """
    replicates = totals.shape[0]
    n_h = block.shape[0]
    chunk = max(1, min(replicates, _BLOCK_ELEMENTS // n_h))
    tally = max(1, min(chunk, _TALLY_ELEMENTS // n_h))
    index_type = np.int32 if tally * n_h < 2**31 else np.int64
    offsets = (np.arange(tally) * n_h).astype(index_type)[:, None]
    counts = np.empty((chunk, n_h))
    for start in range(0, replicates, chunk):
        c = min(chunk, replicates - start)
        for sub in range(0, c, tally):
            t = min(tally, c - sub)
            picks = rng.integers(0, n_h, size=(t, draws), dtype=index_type)
            picks += offsets[:t]
            tallies = np.bincount(picks.ravel(), minlength=t * n_h)
            counts[sub : sub + t] = tallies.reshape(t, n_h)
        totals[start : start + c] += scale * (counts[:c] @ block)


def stratified_bootstrap(
    numerators: np.ndarray,
    denominators: np.ndarray,
    weights: np.ndarray,
    strata: np.ndarray,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    *,
    sampling_fractions: np.ndarray | None = None,
    collapse: bool = True,
) -> BootstrapResult:
    """Rao-Wu stratified bootstrap of ``k`` ratios ``sum(w * num) / sum(w * den)``.

    ``numerators`` and ``denominators`` are ``(n_units, k)`` (bool or numeric; a 1-D array is
    one statistic), ``weights`` the design weights, ``strata`` any hashable labels.
    ``sampling_fractions`` (per unit, constant within a stratum, e.g. ``n_h / N_h``) turns on
    the finite population correction. ``collapse=False`` forces the per-unit drawing path
    (same distribution; only for checking). Returns percentile intervals at ``level`` and the
    standard deviation of the replicates as standard error. Deterministic for a given seed.
    """
    num = _as_2d(numerators, "numerators")
    den = _as_2d(denominators, "denominators")
    w = np.asarray(weights, dtype=np.float64)
    n, k = num.shape
    if den.shape != (n, k) or w.shape != (n,) or np.shape(strata) != (n,):
        raise ValueError("numerators, denominators, weights and strata must have n_units rows")
    if replicates < 2:
        raise ValueError("replicates must be at least 2")
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    fractions = None
    if sampling_fractions is not None:
        fractions = np.asarray(sampling_fractions, dtype=np.float64)
        if fractions.shape != (n,) or np.any(~(fractions >= 0) | (fractions > 1)):
            raise ValueError("sampling_fractions must be n_units values in [0, 1]")

    codes, _ = pd.factorize(np.asarray(strata), use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])

    rng = np.random.default_rng(seed)
    point = np.zeros(2 * k)
    totals = np.zeros((replicates, 2 * k))
    for h in range(bounds.size - 1):
        idx = order[bounds[h] : bounds[h + 1]]
        n_h = idx.size
        block = np.empty((n_h, 2 * k), order="F")  # columns contiguous for hashing
        np.multiply(num[idx], w[idx, None], out=block[:, :k])
        np.multiply(den[idx], w[idx, None], out=block[:, k:])
        if not np.all(np.isfinite(block)):
            raise ValueError("numerators and denominators must be finite")
        block += 0.0  # -0.0 -> 0.0, so equal rows have equal bits
        stratum_total = block.sum(axis=0)
        point += stratum_total
        if n_h == 1:  # no variance information: fixed contribution
            totals += stratum_total
            continue
        lam = 1.0 if fractions is None else math.sqrt(1.0 - float(fractions[idx].mean()))
        draws = n_h - 1
        scale = lam * n_h / draws
        totals += (1.0 - lam) * stratum_total
        groups = _row_groups(block) if collapse else None
        if groups is not None and groups[0].size <= _COLLAPSE_SHARE * n_h:
            first, group = groups
            sizes = np.bincount(group, minlength=first.size)
            counts = rng.multinomial(draws, sizes / n_h, size=replicates)
            totals += scale * (counts.astype(np.float64) @ block[first])
            continue
        _add_unit_draws(totals, block, draws, scale, rng)

    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.where(point[k:] != 0, point[:k] / point[k:], np.nan)
        ratios = np.where(totals[:, k:] != 0, totals[:, :k] / totals[:, k:], np.nan)
    ratios[:, np.isnan(estimate)] = np.nan
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN statistics
        low, high = np.nanquantile(ratios, [alpha, 1.0 - alpha], axis=0)
        se = np.nanstd(ratios, axis=0, ddof=1)
    return BootstrapResult(estimate, low, high, se, ratios, level)
