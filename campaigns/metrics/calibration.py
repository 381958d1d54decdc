"""Calibration of the classifier's top-1 probability against the annotated gold sample.

All figures use the coded rows of the gold table (``status = 'coded'`` with a gold code) and
weigh every sample unit by its design ``weight`` (1.0 if there is no weight column), so they
estimate the calibration on the whole traffic rather than on the sample.

Reliability: the score range [0, 1] is cut into ``bins`` equal-width bins ``[low, high)`` (the
last one closed, so a score of exactly 1.0 falls in it). In bin ``b``, ``mean_score`` is the
weighted mean score, ``accuracy`` the weighted share of units with ``predicted_code =
gold_code`` and ``weight_share`` the bin's share of the total weight.

Weighted expected calibration error::

    ECE = sum_b weight_share_b * |accuracy_b - mean_score_b|

i.e. the usual ECE (Guo et al. 2017) with the sample counts n_b / n replaced by the design
weight shares, so that it estimates the ECE of the traffic. The maximum calibration error is
``max_b |accuracy_b - mean_score_b|`` over the bins with positive weight.

Label-free accuracy estimate (in the spirit of NannyML's CBPE): fit a monotone map from score
to probability of being right on the (labelled) reference sample by weighted isotonic
regression, apply it to the scores of new, unlabelled traffic and average. This is unbiased
as long as P(correct | score) is unchanged between reference and new traffic (the score
distribution itself may shift).

Isotonic regression: scikit-learn is not a dependency of the project, and does not need to be:
``scipy.optimize.isotonic_regression`` (SciPy >= 1.12, the project requires >= 1.13) is a
compiled weighted pool-adjacent-violators algorithm (PAVA). A hand-written NumPy PAVA would
need a Python loop over the points (the algorithm is sequential: each merge depends on the
previous ones), which is slow on a large reference sample; SciPy's is linear-time in C.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa
from scipy.optimize import isotonic_regression

from campaigns.duck import connect, fetch_arrow


def _coded_arrays(gold: pa.Table, score_column: str) -> tuple[np.ndarray, ...]:
    """Scores, correctness (0/1) and weights of the coded rows, as float arrays."""
    missing = {"status", "predicted_code", "gold_code", score_column} - set(gold.column_names)
    if missing:
        raise ValueError(f"gold table lacks column(s) {sorted(missing)}")
    with connect() as con:
        con.register("gold_in", gold)
        weight = "weight::DOUBLE" if "weight" in gold.column_names else "1.0::DOUBLE"
        table = fetch_arrow(
            con,
            f"""
            SELECT "{score_column}"::DOUBLE AS s,
                   (predicted_code IS NOT DISTINCT FROM gold_code)::DOUBLE AS c,
                   {weight} AS w
            FROM gold_in WHERE status = 'coded' AND gold_code IS NOT NULL
            """,
        )
        s, c, w = (
            np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=float)
            for name in ("s", "c", "w")
        )
        if np.isnan(s).any():
            raise ValueError(f"coded rows with a missing {score_column!r}")
        if ((s < 0) | (s > 1)).any():
            raise ValueError(f"{score_column!r} must lie in [0, 1]")
        if np.isnan(w).any() or (w < 0).any():
            raise ValueError("design weights must be non-negative and not null")
        return s, c, w


def _bin_index(scores: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of each score on [0, 1]: [low, high), the last bin closed."""
    if bins < 1:
        raise ValueError("bins must be >= 1")
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)


def _binned(gold: pa.Table, bins: int, score_column: str) -> dict[str, np.ndarray]:
    s, c, w = _coded_arrays(gold, score_column)
    idx = _bin_index(s, bins)
    n = np.bincount(idx, minlength=bins)
    weight = np.bincount(idx, weights=w, minlength=bins)
    score_mass = np.bincount(idx, weights=w * s, minlength=bins)
    correct_mass = np.bincount(idx, weights=w * c, minlength=bins)
    total = weight.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.where(weight > 0, score_mass / weight, math.nan)
        accuracy = np.where(weight > 0, correct_mass / weight, math.nan)
        share = weight / total if total > 0 else np.full(bins, math.nan)
    edges = np.linspace(0.0, 1.0, bins + 1)
    return {
        "bin": np.arange(bins),
        "bin_low": edges[:-1],
        "bin_high": edges[1:],
        "n": n,
        "weight": weight,
        "weight_share": share,
        "mean_score": mean_score,
        "accuracy": accuracy,
        "gap": accuracy - mean_score,
    }


def reliability_table(gold: pa.Table, bins: int = 10, score_column: str = "score") -> pa.Table:
    """One row per equal-width score bin (empty bins included, with NaN means).

    Columns ``bin``, ``bin_low``, ``bin_high``, ``n`` (coded sample units), ``weight`` (their
    summed design weight), ``weight_share``, ``mean_score`` (weighted), ``accuracy`` (weighted
    share of predicted = gold) and ``gap = accuracy - mean_score`` (negative: overconfident).
    """
    return pa.table(_binned(gold, bins, score_column))


def expected_calibration_error(
    gold: pa.Table, bins: int = 10, score_column: str = "score"
) -> float:
    """Weighted ECE: sum over bins of weight_share * |accuracy - mean_score| (NaN if empty)."""
    t = _binned(gold, bins, score_column)
    keep = t["weight"] > 0
    if not keep.any():
        return math.nan
    return float(np.sum(t["weight_share"][keep] * np.abs(t["gap"][keep])))


def max_calibration_error(gold: pa.Table, bins: int = 10, score_column: str = "score") -> float:
    """Largest |accuracy - mean_score| over the bins with positive weight (NaN if none)."""
    t = _binned(gold, bins, score_column)
    keep = t["weight"] > 0
    if not keep.any():
        return math.nan
    return float(np.max(np.abs(t["gap"][keep])))


def pava(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted least-squares non-decreasing fit to ``y`` (in the given order), by PAVA."""
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        return y.copy()
    w = None if weights is None else np.asarray(weights, dtype=float)
    return np.asarray(isotonic_regression(y, weights=w, increasing=True).x, dtype=float)


def fit_isotonic(
    scores: np.ndarray, correct: np.ndarray, weights: np.ndarray | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """Weighted isotonic regression of ``correct`` (0/1) on ``scores``; returns the map.

    Tied scores are pooled first (weighted mean of their outcomes), PAVA runs on the distinct
    scores, and the returned function interpolates linearly between the fitted points and is
    constant beyond the smallest and largest reference score (scikit-learn's
    ``out_of_bounds='clip'``). The map is non-decreasing and takes values in [0, 1].
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(correct, dtype=float)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=float)
    if not (s.shape == y.shape == w.shape) or s.ndim != 1:
        raise ValueError("scores, correct and weights must be 1-d arrays of the same length")
    keep = w > 0
    if not keep.any():
        raise ValueError("no point with positive weight to fit")
    if np.isnan(s[keep]).any() or np.isnan(y[keep]).any():
        raise ValueError("scores and outcomes must not be NaN")
    xs, inverse = np.unique(s[keep], return_inverse=True)
    pooled_w = np.bincount(inverse, weights=w[keep])
    pooled_y = np.bincount(inverse, weights=w[keep] * y[keep]) / pooled_w
    fitted = pava(pooled_y, pooled_w)

    def calibrated(values: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(values, dtype=float), xs, fitted)

    return calibrated


def _histogram_map(
    s: np.ndarray, c: np.ndarray, w: np.ndarray, bins: int, fallback: Callable
) -> Callable[[np.ndarray], np.ndarray]:
    idx = _bin_index(s, bins)
    weight = np.bincount(idx, weights=w, minlength=bins)
    correct = np.bincount(idx, weights=w * c, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(weight > 0, correct / weight, math.nan)

    def calibrated(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        out = accuracy[_bin_index(values, bins)]
        empty = np.isnan(out)
        out[empty] = fallback(values[empty])
        return out

    return calibrated


def calibrated_accuracy_estimate(
    reference_gold: pa.Table,
    traffic_scores: np.ndarray,
    bins: int = 10,
    *,
    score_column: str = "score",
    method: str = "isotonic",
) -> float:
    """Label-free estimate of the accuracy on new traffic from its scores alone (CBPE-like).

    ``method='isotonic'`` (default) maps each traffic score through the weighted isotonic fit
    of correctness on score over the coded rows of ``reference_gold`` and returns the mean
    calibrated probability; ``bins`` is then unused. ``method='histogram'`` uses instead the
    weighted reference accuracy of the score's equal-width bin (``bins`` bins; a bin empty in
    the reference falls back to the isotonic map). Traffic scores must lie in [0, 1].
    """
    if method not in ("isotonic", "histogram"):
        raise ValueError("method must be 'isotonic' or 'histogram'")
    values = np.asarray(traffic_scores, dtype=float).ravel()
    if values.size == 0:
        return math.nan
    if np.isnan(values).any() or ((values < 0) | (values > 1)).any():
        raise ValueError("traffic scores must lie in [0, 1] and not be NaN")
    s, c, w = _coded_arrays(reference_gold, score_column)
    if s.size == 0:
        raise ValueError("the reference gold table has no coded row")
    mapping = fit_isotonic(s, c, w)
    if method == "histogram":
        mapping = _histogram_map(s, c, w, bins, mapping)
    return float(np.mean(mapping(values)))
