"""The automatic-coding curve: what each confidence threshold would give, with intervals.

A text is coded automatically when the model's confidence (gap between its two best scores)
is at least the threshold; below it, an expert codes it by hand. For each candidate threshold
the curve estimates, design-weighted over the gold sample:

- ``auto_coding_rate``: share of usable units (every status except ``skipped``) that would be
  coded automatically;
- ``accuracy_auto_coded``: accuracy of the model on the coded units it would code itself;
- ``accuracy_manual``: accuracy the model would have had on the coded units sent to experts;
- ``system_accuracy``: accuracy of the whole process over coded units, counting manual coding
  as correct: the weighted mean of ``(confidence < t) or (predicted == gold)``.

Units that are not ``coded`` (cannot_code, invalid, disagreement, skipped) are never counted as
model errors. A missing confidence counts as below every threshold. Every point gets the
score interval on the design's effective sample size of :mod:`campaigns.metrics.intervals`
(Wilson, Jeffreys bounds where fewer than 5 effective units lie on a side), which keeps its
coverage at the ends of the curve, where rates reach 0 and 1 and a percentile bootstrap
collapses to zero width. The ``4 x len(thresholds)`` statistics are stacked as columns, so the
whole curve costs one pass (one linearised variance, or one bootstrap with
``variance="bootstrap"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.metrics.intervals import Variance, design_intervals

STATISTICS = ("auto_coding_rate", "accuracy_auto_coded", "accuracy_manual", "system_accuracy")


def default_thresholds() -> np.ndarray:
    """0, 0.05, ..., 1."""
    return np.round(np.arange(0, 1.0001, 0.05), 2)


@dataclass(frozen=True)
class CurveInputs:
    """Per-unit inputs of the curve's intervals: column ``4 * i + j`` is statistic ``j`` of
    ``STATISTICS`` at threshold ``i``."""

    numerators: np.ndarray  # (n_units, 4 * n_thresholds) bool
    denominators: np.ndarray  # (n_units, 4 * n_thresholds) bool
    weights: np.ndarray
    strata: np.ndarray
    sampling_fractions: np.ndarray | None
    n_auto: np.ndarray  # coded sample units with confidence >= t, per threshold
    n_manual: np.ndarray  # coded sample units with confidence < t, per threshold


def _numpy(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def curve_inputs(gold: pa.Table, thresholds: np.ndarray) -> CurveInputs:
    """Numerator and denominator indicators of the four statistics at every threshold."""
    missing = {"status", "predicted_code", "gold_code", "confidence", "weight", "stratum"} - set(
        gold.column_names
    )
    if missing:
        raise ValueError(f"gold table lacks columns {sorted(missing)}")
    status = gold.column("status")
    coded = pc.fill_null(
        pc.and_(pc.equal(status, "coded"), pc.is_valid(gold.column("gold_code"))), False
    ).to_numpy(zero_copy_only=False)
    usable = pc.fill_null(pc.not_equal(status, "skipped"), False).to_numpy(zero_copy_only=False)
    correct = coded & pc.fill_null(
        pc.equal(gold.column("predicted_code"), gold.column("gold_code")), False
    ).to_numpy(zero_copy_only=False)
    confidence = pc.fill_null(pc.cast(gold.column("confidence"), pa.float64()), np.nan)
    confidence = confidence.to_numpy(zero_copy_only=False)
    weights = _numpy(gold, "weight").astype(np.float64)
    if np.any(np.isnan(weights)):
        raise ValueError("gold table has units without a design weight")

    n, t_count = gold.num_rows, thresholds.size
    auto = confidence[:, None] >= thresholds[None, :]  # NaN confidence -> False
    manual = ~auto
    numerators = np.empty((n, t_count, 4), dtype=bool)
    denominators = np.empty((n, t_count, 4), dtype=bool)
    numerators[:, :, 0] = usable[:, None] & auto
    denominators[:, :, 0] = usable[:, None]
    numerators[:, :, 1] = correct[:, None] & auto
    denominators[:, :, 1] = coded[:, None] & auto
    numerators[:, :, 2] = correct[:, None] & manual
    denominators[:, :, 2] = coded[:, None] & manual
    numerators[:, :, 3] = coded[:, None] & (manual | correct[:, None])
    denominators[:, :, 3] = coded[:, None]

    fractions = None
    if {"stratum_population", "stratum_sample_size"} <= set(gold.column_names):
        population = _numpy(gold, "stratum_population").astype(np.float64)
        size = _numpy(gold, "stratum_sample_size").astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = size / population
        if np.all(np.isfinite(f)) and np.all(f >= 0):
            fractions = np.minimum(f, 1.0)
    return CurveInputs(
        numerators=numerators.reshape(n, 4 * t_count),
        denominators=denominators.reshape(n, 4 * t_count),
        weights=weights,
        strata=_numpy(gold, "stratum"),
        sampling_fractions=fractions,
        n_auto=(coded[:, None] & auto).sum(axis=0),
        n_manual=(coded[:, None] & manual).sum(axis=0),
    )


def with_census_rates(curve: pa.Table, rates: np.ndarray) -> pa.Table:
    """The curve with the traffic's census automatic-coding rate at each threshold.

    The rate is then exact (zero-width interval) and the system accuracy is built on it,
    ``1 - rate * (1 - accuracy_auto_coded)``, with the bounds of ``accuracy_auto_coded``.
    Thresholds without a census rate (NaN) keep their estimates.
    """
    known = ~np.isnan(rates)
    columns = {
        name: curve.column(name).to_numpy(zero_copy_only=False) for name in curve.column_names
    }
    for suffix in ("", "_ci_low", "_ci_high"):
        name = f"auto_coding_rate{suffix}"
        columns[name] = np.where(known, rates, columns[name])
        auto = columns[f"accuracy_auto_coded{suffix}"]
        # No automatically coded unit in the sample: nothing to say unless none is coded.
        built = 1.0 - rates * (1.0 - np.where(np.isnan(auto) & (rates == 0), 1.0, auto))
        system = f"system_accuracy{suffix}"
        columns[system] = np.where(known, built, columns[system])
    return pa.table(columns)


def auto_coding_curve(
    gold: pa.Table,
    thresholds: np.ndarray | None = None,
    replicates: int = 1000,
    seed: int = 0,
    *,
    variance: Variance = "linearised",
) -> pa.Table:
    """One row per threshold: the four statistics with 95% intervals, and counts.

    Columns: ``threshold``, then for each statistic ``s`` of ``STATISTICS`` the columns ``s``,
    ``s_ci_low``, ``s_ci_high``; then ``n_auto`` and ``n_manual`` (coded sample units at or
    above / below the threshold). NaN where a statistic's domain is empty. The design variance
    uses the ``stratum_sample_size / stratum_population`` finite population correction when the
    gold table carries both columns; ``replicates`` and ``seed`` drive the bootstrap when
    ``variance="bootstrap"``.
    """
    t = default_thresholds() if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError("thresholds must be a non-empty 1-D array of finite values")
    inputs = curve_inputs(gold, t)
    result = design_intervals(
        inputs.numerators,
        inputs.denominators,
        inputs.weights,
        inputs.strata,
        sampling_fractions=inputs.sampling_fractions,
        variance=variance,
        replicates=replicates,
        seed=seed,
    )
    columns: dict[str, np.ndarray] = {"threshold": t}
    for j, name in enumerate(STATISTICS):
        columns[name] = result.estimate[j::4]
        columns[f"{name}_ci_low"] = result.ci_low[j::4]
        columns[f"{name}_ci_high"] = result.ci_high[j::4]
    columns["n_auto"] = inputs.n_auto.astype(np.int64)
    columns["n_manual"] = inputs.n_manual.astype(np.int64)
    return pa.table(columns)
