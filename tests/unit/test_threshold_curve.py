"""The automatic-coding curve: hand-computed values, monotonicity, one pass for all."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

import campaigns.metrics.threshold_curve as threshold_curve
from campaigns.metrics.threshold_curve import STATISTICS, auto_coding_curve


def _hand_table() -> pa.Table:
    return pa.table(
        {
            "status": [
                "coded",  # right, auto at 0.5
                "coded",  # wrong, auto at 0.5
                "coded",  # right, manual at 0.5
                "cannot_code",
                "skipped",  # the most confident unit, but never counted
                "coded",  # right, auto at 0.5
                "coded",  # wrong, manual at 0.5
                "invalid",
                "disagreement",
            ],
            "confidence": [0.9, 0.7, 0.3, 0.8, 0.97, 0.6, 0.2, 0.1, 0.55],
            "predicted_code": ["A", "A", "B", "C", "D", "E", "F", "H", "I"],
            "gold_code": ["A", "B", "B", None, None, "E", "G", None, None],
            "predicted_codes": [["A"], ["A"], ["B"], ["C"], ["D"], ["E"], ["F"], ["H"], ["I"]],
            "stratum": ["s1"] * 4 + ["s2"] * 5,
            "weight": [2.0] * 4 + [4.0] * 5,
        }
    )


def _row(curve: pa.Table, threshold: float) -> dict:
    rows = curve.to_pylist()
    return next(r for r in rows if r["threshold"] == pytest.approx(threshold))


def test_curve_values_at_one_threshold_match_the_hand_computation():
    curve = auto_coding_curve(_hand_table(), thresholds=np.array([0.0, 0.5, 0.95, 1.0]))
    row = _row(curve, 0.5)
    # usable (all but skipped): s1 4 units x 2 + s2 4 units x 4 = 24; confident: 1, 2, 4, 6, 9
    assert row["auto_coding_rate"] == pytest.approx((2 + 2 + 2 + 4 + 4) / 24)
    # coded and confident: 1, 2, 6 (weights 2, 2, 4); right: 1, 6
    assert row["accuracy_auto_coded"] == pytest.approx(6 / 8)
    # coded below 0.5: 3, 7 (weights 2, 4); right: 3
    assert row["accuracy_manual"] == pytest.approx(2 / 6)
    # coded: 1, 2, 3, 6, 7 = 14; counted correct: 1, 3 (manual), 6, 7 (manual) = 12
    assert row["system_accuracy"] == pytest.approx(12 / 14)
    assert (row["n_auto"], row["n_manual"]) == (3, 2)
    for name in STATISTICS:
        assert row[f"{name}_ci_low"] <= row[name] <= row[f"{name}_ci_high"]

    # The skipped unit is the only one at 0.95 or above: no automatic coding there.
    assert _row(curve, 0.95)["auto_coding_rate"] == 0.0
    top = _row(curve, 1.0)
    assert top["auto_coding_rate"] == 0.0 and top["n_auto"] == 0
    assert math.isnan(top["accuracy_auto_coded"]) and math.isnan(top["accuracy_auto_coded_ci_low"])
    assert top["system_accuracy"] == 1.0  # everything coded by hand
    bottom = _row(curve, 0.0)
    assert bottom["auto_coding_rate"] == 1.0
    assert math.isnan(bottom["accuracy_manual"])
    assert bottom["accuracy_auto_coded"] == pytest.approx(8 / 14)  # accuracy of all coded: 1, 3, 6


def _simulated(n: int = 3000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, 5, n)
    population = np.array([40_000, 30_000, 20_000, 8_000, 2_000])[stratum]
    sample_size = np.bincount(stratum, minlength=5)[stratum]
    confidence = np.clip(rng.beta(2 + stratum, 2, n), 0, 1)
    status = rng.choice(
        ["coded", "cannot_code", "skipped", "invalid", "disagreement"],
        size=n,
        p=[0.85, 0.05, 0.04, 0.03, 0.03],
    )
    predicted = rng.integers(0, 30, n).astype(str)
    right = rng.random(n) < 0.3 + 0.65 * confidence
    gold = np.where(right, predicted, "wrong")
    return pa.table(
        {
            "status": status,
            "predicted_code": predicted,
            "gold_code": pa.array(np.where(status == "coded", gold, None)),
            "confidence": confidence,
            "stratum": np.char.add("h", stratum.astype(str)),
            "weight": population / sample_size,
            "stratum_population": population,
            "stratum_sample_size": sample_size,
        }
    )


def test_auto_coding_rate_falls_with_the_threshold_from_one():
    curve = auto_coding_curve(_simulated(), replicates=200)
    thresholds = curve.column("threshold").to_numpy()
    np.testing.assert_allclose(thresholds, np.round(np.arange(0, 1.0001, 0.05), 2))
    rate = curve.column("auto_coding_rate").to_numpy()
    assert rate[0] == 1.0
    assert np.all(np.diff(rate) <= 0)
    assert rate[10] < rate[2]  # it really moves
    n_auto = curve.column("n_auto").to_numpy()
    assert np.all(np.diff(n_auto) <= 0)


def test_system_accuracy_is_at_least_the_accuracy_of_all_coded_units():
    gold = _simulated(seed=1)
    coded = gold.column("status").to_numpy(zero_copy_only=False) == "coded"
    right = coded & (
        gold.column("predicted_code").to_numpy(zero_copy_only=False)
        == gold.column("gold_code").to_numpy(zero_copy_only=False)
    )
    w = gold.column("weight").to_numpy()
    overall = (w * right).sum() / (w * coded).sum()
    curve = auto_coding_curve(gold, replicates=200)
    system = curve.column("system_accuracy").to_numpy()
    assert system[0] == pytest.approx(overall)
    assert np.all(system >= overall - 1e-12)
    assert system[10] > overall + 0.05
    # accurate where the model is confident: auto-coded beat manual at a middle threshold
    row = curve.to_pylist()[10]
    assert row["accuracy_auto_coded"] > row["accuracy_manual"]


def test_the_whole_curve_costs_one_pass(monkeypatch):
    import campaigns.metrics.bootstrap as bootstrap

    calls, boots = [], []
    original, original_boot = threshold_curve.design_intervals, bootstrap.stratified_bootstrap

    def counting(numerators, denominators, *args, **kwargs):
        calls.append(numerators.shape[1])
        return original(numerators, denominators, *args, **kwargs)

    def counting_boot(numerators, *args, **kwargs):
        boots.append(numerators.shape[1])
        return original_boot(numerators, *args, **kwargs)

    monkeypatch.setattr(threshold_curve, "design_intervals", counting)
    monkeypatch.setattr(bootstrap, "stratified_bootstrap", counting_boot)
    curve = auto_coding_curve(_simulated(n=500), replicates=100)
    assert calls == [4 * curve.num_rows] and curve.num_rows == 21
    assert boots == []  # linearised variance: no replicates at all
    auto_coding_curve(_simulated(n=500), replicates=100, variance="bootstrap")
    assert boots == [4 * 21]


def test_the_ends_of_the_curve_keep_their_width():
    # At threshold 0 everything is automatic (rate 1), at 1 nothing is (rate 0): the estimates
    # sit on the bounds, the intervals must not (a percentile bootstrap gave [1, 1], [0, 0]).
    curve = auto_coding_curve(_simulated(n=300, seed=4))
    first, last = curve.to_pylist()[0], curve.to_pylist()[-1]
    assert first["auto_coding_rate"] == 1.0 == first["auto_coding_rate_ci_high"]
    assert 0.95 < first["auto_coding_rate_ci_low"] < 1.0
    assert last["auto_coding_rate"] == 0.0 == last["auto_coding_rate_ci_low"]
    assert 0.0 < last["auto_coding_rate_ci_high"] < 0.05
    assert last["system_accuracy"] == 1.0 and last["system_accuracy_ci_low"] < 1.0


def test_same_input_same_curve_and_seeded_bootstrap_variance():
    gold = _simulated(n=800, seed=3)
    first = auto_coding_curve(gold, replicates=150, seed=9)
    again = auto_coding_curve(gold, replicates=150, seed=10)
    assert first.to_pandas().equals(again.to_pandas())  # closed form: the seed plays no part
    boot = auto_coding_curve(gold, replicates=150, seed=9, variance="bootstrap")
    boot_again = auto_coding_curve(gold, replicates=150, seed=9, variance="bootstrap")
    boot_other = auto_coding_curve(gold, replicates=150, seed=10, variance="bootstrap")
    assert boot.to_pandas().equals(boot_again.to_pandas())  # NaN-aware comparison
    lows = "system_accuracy_ci_low"
    assert not np.array_equal(boot.column(lows).to_numpy(), boot_other.column(lows).to_numpy())
    # Both variances agree to Monte Carlo noise.
    np.testing.assert_allclose(
        boot.column(lows).to_numpy(), first.column(lows).to_numpy(), atol=0.01, equal_nan=True
    )
