"""Drift statistics comparing two windows of classifier traffic.

Pure statistics, no I/O: window ``a`` is the reference (baseline) and window ``b`` the window
under test. Two kinds of inputs are compared:

* a continuous score, the confidence index in ``[0, 1]``: a two-sample Kolmogorov-Smirnov test
  on the raw values, and a chi-square test, distances and PSI on the counts over fixed bins;
* a categorical distribution (predicted codes, sections): chi-square test, distances and PSI on
  the category counts over the union of the categories seen in either window.

Distances take two count vectors over the same bins and normalise them to proportions.
KL divergence and PSI divide by proportions and take logs, so an empty bin would give ``inf``;
both floor every proportion at :data:`EPSILON` (``1e-6``) and renormalise to sum to 1 before
computing. With no empty bin that floor changes nothing. Hellinger and Bhattacharyya need no
floor: they are finite except that the Bhattacharyya distance ``-ln(BC)`` is ``inf`` for two
distributions with disjoint supports (``BC = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

EPSILON = 1e-6
"""Floor applied to proportions in :func:`kl_divergence` and :func:`psi` (then renormalised)."""

DEFAULT_EDGES = np.linspace(0.0, 1.0, 11)
"""Ten equal-width bins over ``[0, 1]`` for the confidence index."""
DEFAULT_EDGES.setflags(write=False)


# --------------------------------------------------------------------------------------------
# Binning and normalisation
# --------------------------------------------------------------------------------------------


def _check_edges(edges: np.ndarray) -> np.ndarray:
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError("edges must be a 1-D array of at least two bin edges")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be finite and strictly increasing")
    return edges


def histogram_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of ``values`` in the bins delimited by ``edges`` (``len(edges) - 1`` bins).

    Bins are half-open ``[e_i, e_{i+1})`` except the last, which also holds ``edges[-1]``
    (as :func:`numpy.histogram`), so a confidence of exactly 1.0 falls in the top bin. A value
    outside ``[edges[0], edges[-1]]`` or a NaN raises ``ValueError`` rather than being dropped
    silently.
    """
    edges = _check_edges(edges)
    values = np.asarray(values, dtype=float).ravel()
    if np.any(np.isnan(values)):
        raise ValueError("values contain NaN")
    if values.size and (values.min() < edges[0] or values.max() > edges[-1]):
        raise ValueError(
            f"values outside the binned range [{edges[0]}, {edges[-1]}]: "
            f"min {values.min()}, max {values.max()}"
        )
    counts, _ = np.histogram(values, bins=edges)
    return counts.astype(np.int64)


def _proportions_pair(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two count (or weight) vectors over the same bins, each normalised to sum to 1."""
    p = np.asarray(p, dtype=float).ravel()
    q = np.asarray(q, dtype=float).ravel()
    if p.shape != q.shape:
        raise ValueError(f"count vectors over different bins: {p.shape} vs {q.shape}")
    if p.size == 0:
        raise ValueError("count vectors are empty")
    for name, v in (("p", p), ("q", q)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"{name} must hold finite non-negative counts")
        if v.sum() <= 0:
            raise ValueError(f"{name} has a zero total; cannot normalise")
    return p / p.sum(), q / q.sum()


def _floored(p: np.ndarray) -> np.ndarray:
    """Proportions floored at :data:`EPSILON` and renormalised to sum to 1."""
    p = np.maximum(p, EPSILON)
    return p / p.sum()


# --------------------------------------------------------------------------------------------
# Distances between two distributions over the same bins
# --------------------------------------------------------------------------------------------


def hellinger(p: np.ndarray, q: np.ndarray) -> float:
    """Hellinger distance, in ``[0, 1]``: ``sqrt(0.5 * sum((sqrt(p) - sqrt(q))**2))``."""
    p, q = _proportions_pair(p, q)
    return float(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)))


def bhattacharyya(p: np.ndarray, q: np.ndarray) -> float:
    """Bhattacharyya distance ``-ln(BC)`` with ``BC = sum(sqrt(p * q))``.

    0 for identical distributions, ``inf`` for disjoint supports.
    """
    p, q = _proportions_pair(p, q)
    bc = float(np.sum(np.sqrt(p * q)))
    if bc <= 0.0:
        return math.inf
    # Rounding can push BC a hair above 1 for identical inputs; a distance is never negative.
    return max(0.0, -math.log(min(bc, 1.0)))


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Kullback-Leibler divergence ``KL(p || q) = sum(p * ln(p / q))``, natural log (nats).

    Proportions are floored at :data:`EPSILON` and renormalised, so empty bins give a large
    but finite value.
    """
    p, q = _proportions_pair(p, q)
    p, q = _floored(p), _floored(q)
    return max(0.0, float(np.sum(p * np.log(p / q))))


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index ``sum((a - e) * ln(a / e))``.

    ``expected`` is the reference window, ``actual`` the window under test. Proportions are
    floored at :data:`EPSILON` and renormalised. Rule of thumb: below 0.1 no shift, 0.1 to
    0.2 moderate, above 0.2 significant.
    """
    e, a = _proportions_pair(expected, actual)
    e, a = _floored(e), _floored(a)
    return max(0.0, float(np.sum((a - e) * np.log(a / e))))


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def ks_test(a_values: np.ndarray, b_values: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test (two-sided): ``(statistic, pvalue)``."""
    a_values = np.asarray(a_values, dtype=float).ravel()
    b_values = np.asarray(b_values, dtype=float).ravel()
    if a_values.size == 0 or b_values.size == 0:
        raise ValueError("KS test needs at least one value in each sample")
    result = stats.ks_2samp(a_values, b_values)
    return float(result.statistic), float(result.pvalue)


def chi2_test(counts_a: np.ndarray, counts_b: np.ndarray) -> tuple[float, float, int]:
    """Chi-square test of homogeneity on the 2xK table ``[counts_a; counts_b]``.

    Categories empty in both windows are dropped first (they would give zero expected
    frequencies). Pearson's statistic without Yates' continuity correction, so the statistic
    means the same thing whatever K. With fewer than two non-empty categories there is
    nothing to compare: ``(0.0, 1.0, 0)``. Returns ``(statistic, pvalue, dof)``.
    """
    a = np.asarray(counts_a, dtype=float).ravel()
    b = np.asarray(counts_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"count vectors over different categories: {a.shape} vs {b.shape}")
    if np.any(a < 0) or np.any(b < 0) or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("counts must be finite and non-negative")
    if a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("each window needs a non-zero total count")
    keep = (a + b) > 0
    table = np.vstack([a[keep], b[keep]])
    if table.shape[1] < 2:
        return 0.0, 1.0, 0
    statistic, pvalue, dof, _ = stats.chi2_contingency(table, correction=False)
    return float(statistic), float(pvalue), int(dof)


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftReport:
    """Drift of one scope between the reference window ``a`` and the window under test ``b``.

    ``kl_divergence`` is ``KL(a || b)`` and ``psi`` takes ``a`` as expected, ``b`` as actual.
    KS fields are NaN for categorical comparisons.
    """

    scope: str
    n_a: int
    n_b: int
    ks_statistic: float
    ks_pvalue: float
    chi2_statistic: float
    chi2_pvalue: float
    hellinger: float
    bhattacharyya: float
    kl_divergence: float
    psi: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _report_from_counts(
    scope: str,
    n_a: int,
    n_b: int,
    counts_a: np.ndarray,
    counts_b: np.ndarray,
    ks: tuple[float, float],
) -> DriftReport:
    chi2_stat, chi2_p, _ = chi2_test(counts_a, counts_b)
    return DriftReport(
        scope=scope,
        n_a=int(n_a),
        n_b=int(n_b),
        ks_statistic=ks[0],
        ks_pvalue=ks[1],
        chi2_statistic=chi2_stat,
        chi2_pvalue=chi2_p,
        hellinger=hellinger(counts_a, counts_b),
        bhattacharyya=bhattacharyya(counts_a, counts_b),
        kl_divergence=kl_divergence(counts_a, counts_b),
        psi=psi(counts_a, counts_b),
    )


def compare_confidence(
    a: np.ndarray,
    b: np.ndarray,
    edges: np.ndarray = DEFAULT_EDGES,
    scope: str = "overall",
) -> DriftReport:
    """Drift of the confidence score: KS on the raw values, the rest on binned counts.

    NaN scores (no confidence recorded) are left out; ``n_a`` / ``n_b`` count the values used.
    Each window needs at least one value; values outside the edges raise ``ValueError``.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        raise ValueError(f"scope {scope!r}: each window needs at least one confidence value")
    counts_a, counts_b = histogram_counts(a, edges), histogram_counts(b, edges)
    return _report_from_counts(scope, a.size, b.size, counts_a, counts_b, ks_test(a, b))


def _category_counts(labels: np.ndarray | Sequence[Any] | pd.Series) -> pd.Series:
    return pd.Series(np.asarray(labels, dtype=object)).value_counts(dropna=True)


RARE_CATEGORY_COUNT = 10
"""Categories seen fewer times than this in both windows together are pooled as one."""


def compare_categories(
    a_labels: np.ndarray | Sequence[Any] | pd.Series,
    b_labels: np.ndarray | Sequence[Any] | pd.Series,
    scope: str = "overall",
    *,
    rare_count: int = RARE_CATEGORY_COUNT,
) -> DriftReport:
    """Drift of a categorical distribution over the union of the categories of both windows.

    Missing labels (None/NaN) are left out; ``n_a`` / ``n_b`` count the labels used. KS
    fields are NaN (no order on categories). Categories rarer than ``rare_count`` over both
    windows are pooled into one: with 732 subclasses and a few thousand requests, most codes
    are seen a handful of times, and their sampling noise (a code seen twice in one window,
    never in the other, floored at 1e-6) would alone push PSI and KL past any alert level
    on traffic that has not moved. The usual chi-square rule of pooling cells with small
    expected counts, applied before every measure.
    """
    ca, cb = _category_counts(a_labels), _category_counts(b_labels)
    if ca.sum() == 0 or cb.sum() == 0:
        raise ValueError(f"scope {scope!r}: each window needs at least one label")
    categories = ca.index.union(cb.index)
    counts_a = ca.reindex(categories, fill_value=0).to_numpy(dtype=np.int64)
    counts_b = cb.reindex(categories, fill_value=0).to_numpy(dtype=np.int64)
    rare = counts_a + counts_b < rare_count
    if rare.sum() > 1:
        counts_a = np.append(counts_a[~rare], counts_a[rare].sum())
        counts_b = np.append(counts_b[~rare], counts_b[rare].sum())
    return _report_from_counts(
        scope, counts_a.sum(), counts_b.sum(), counts_a, counts_b, (math.nan, math.nan)
    )


def compare_windows(
    a: pd.DataFrame,
    b: pd.DataFrame,
    *,
    by: str | None = "section",
    edges: np.ndarray = DEFAULT_EDGES,
) -> list[DriftReport]:
    """All drift reports between two windows of traffic.

    Each frame has ``confidence`` (float) and ``predicted_code`` (str) columns, plus ``by``
    if given. Returns, in order: overall confidence drift (scope ``"overall"``), overall
    predicted-code drift (scope ``"overall:codes"``), then the confidence drift of each group
    of ``by`` present in both windows (scope = ``str(group)``), groups in sorted order. Groups
    seen in one window only, or with no confidence value in one window, get no report.
    """
    required = ["confidence", "predicted_code"] + ([by] if by is not None else [])
    for name, frame in (("a", a), ("b", b)):
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise KeyError(f"window {name} lacks column(s) {missing}")

    reports = [
        compare_confidence(
            a["confidence"].to_numpy(dtype=float),
            b["confidence"].to_numpy(dtype=float),
            edges,
            "overall",
        ),
        compare_categories(
            a["predicted_code"].to_numpy(), b["predicted_code"].to_numpy(), "overall:codes"
        ),
    ]
    if by is None:
        return reports

    # Only rows with a score matter for per-group confidence drift.
    a_scored = a.loc[a["confidence"].notna(), [by, "confidence"]]
    b_scored = b.loc[b["confidence"].notna(), [by, "confidence"]]
    groups_a = a_scored.groupby(by, sort=True, observed=True)["confidence"]
    groups_b = b_scored.groupby(by, sort=True, observed=True)["confidence"]
    common = sorted(set(groups_a.groups) & set(groups_b.groups), key=str)
    for group in common:
        reports.append(
            compare_confidence(
                groups_a.get_group(group).to_numpy(dtype=float),
                groups_b.get_group(group).to_numpy(dtype=float),
                edges,
                str(group),
            )
        )
    return reports


# --------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRule:
    """When to raise an alert.

    ``psi_max``: alert on any report whose PSI is strictly above it (0.2 is the usual
    "significant shift" rule of thumb). ``accuracy_min``: if set, alert when the measured
    accuracy is strictly below it.
    """

    psi_max: float = 0.2
    accuracy_min: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.psi_max) and self.psi_max >= 0):
            raise ValueError(f"psi_max must be a finite non-negative number, got {self.psi_max}")
        if self.accuracy_min is not None and not (0.0 <= self.accuracy_min <= 1.0):
            raise ValueError(f"accuracy_min must lie in [0, 1], got {self.accuracy_min}")


def evaluate_alerts(
    reports: Sequence[DriftReport], rule: AlertRule, accuracy: float | None = None
) -> list[str]:
    """Human-readable alert messages; an empty list means no alert.

    One message per report whose PSI exceeds ``rule.psi_max`` (NaN PSI never alerts), and one
    if ``accuracy`` is given, ``rule.accuracy_min`` is set and the accuracy is below it.
    Without a measured accuracy the accuracy rule cannot fire.
    """
    alerts = [
        f"PSI drift on {r.scope}: {r.psi:.4f} > {rule.psi_max:g} (n_a={r.n_a}, n_b={r.n_b})"
        for r in reports
        if r.psi > rule.psi_max
    ]
    if (
        rule.accuracy_min is not None
        and accuracy is not None
        and not math.isnan(accuracy)
        and accuracy < rule.accuracy_min
    ):
        alerts.append(f"Accuracy {accuracy:.4f} below the floor {rule.accuracy_min:g}")
    return alerts
