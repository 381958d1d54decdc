"""Drift statistics: distances, tests, window comparison and alerts against known values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from campaigns.traffic.drift_statistics import (
    AlertRule,
    DriftReport,
    bhattacharyya,
    chi2_test,
    compare_categories,
    compare_confidence,
    compare_windows,
    evaluate_alerts,
    hellinger,
    histogram_counts,
    kl_divergence,
    ks_test,
    psi,
)


def test_histogram_counts_puts_each_value_in_its_bin_and_one_in_the_top_bin():
    edges = np.linspace(0, 1, 5)  # [0, .25), [.25, .5), [.5, .75), [.75, 1]
    values = np.array([0.0, 0.1, 0.25, 0.3, 0.6, 0.75, 0.99, 1.0])
    assert histogram_counts(values, edges).tolist() == [2, 2, 1, 3]
    with pytest.raises(ValueError, match="outside"):
        histogram_counts(np.array([0.5, 1.2]), edges)


def test_identical_distributions_have_zero_distance():
    counts = np.array([12, 30, 7, 0, 51])
    # Scaling the counts does not change the proportions.
    for distance in (hellinger, bhattacharyya, kl_divergence, psi):
        assert distance(counts, 3 * counts) == pytest.approx(0.0, abs=1e-12), distance.__name__


def test_disjoint_distributions_are_at_hellinger_one_and_infinite_bhattacharyya():
    p, q = np.array([1, 0]), np.array([0, 1])
    assert hellinger(p, q) == pytest.approx(1.0, abs=1e-12)
    assert bhattacharyya(p, q) == math.inf


def test_hellinger_and_bhattacharyya_known_values():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    bc = math.sqrt(0.45) + math.sqrt(0.05)  # sum(sqrt(p * q))
    assert bhattacharyya(p, q) == pytest.approx(-math.log(bc), abs=1e-12)
    assert hellinger(p, q) == pytest.approx(math.sqrt(1 - bc), abs=1e-12)


def test_kl_divergence_hand_computed():
    # KL([.5, .5] || [.9, .1]) = .5 ln(.5/.9) + .5 ln(.5/.1) = .5 ln(25/9) = ln(5/3) ≈ 0.5108
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert expected == pytest.approx(0.5108256237659907, abs=1e-12)
    assert kl_divergence(np.array([5, 5]), np.array([9, 1])) == pytest.approx(expected, abs=1e-9)
    # Not symmetric: KL(q || p) = .9 ln(.9/.5) + .1 ln(.1/.5) ≈ 0.3681
    reverse = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert kl_divergence(np.array([9, 1]), np.array([5, 5])) == pytest.approx(reverse, abs=1e-9)


def test_kl_and_psi_stay_finite_on_an_empty_bin():
    p, q = np.array([5, 5]), np.array([10, 0])
    # q floored at 1e-6 then renormalised: KL ≈ .5 ln(.5) + .5 ln(.5 / 1e-6) ≈ 6.21
    q_floor = np.array([1.0, 1e-6]) / (1 + 1e-6)
    expected = 0.5 * math.log(0.5 / q_floor[0]) + 0.5 * math.log(0.5 / q_floor[1])
    assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-9)
    assert math.isfinite(psi(p, q)) and psi(p, q) > 5


def test_psi_hand_computed_three_bins():
    # expected e = [.5, .3, .2], actual a = [.3, .3, .4]:
    #   (.3 - .5) ln(.3/.5) = -.2 * -0.5108256237659907 = 0.10216512475319814
    #   (.3 - .3) ln(.3/.3) = 0
    #   (.4 - .2) ln(.4/.2) =  .2 *  0.6931471805599453 = 0.13862943611198905
    # PSI = 0.24079456086518719
    assert psi(np.array([50, 30, 20]), np.array([30, 30, 40])) == pytest.approx(
        0.24079456086518719, abs=1e-9
    )
    # PSI is symmetric in its two arguments.
    assert psi(np.array([30, 30, 40]), np.array([50, 30, 20])) == pytest.approx(
        0.24079456086518719, abs=1e-9
    )


def test_distances_reject_mismatched_or_empty_counts():
    with pytest.raises(ValueError):
        hellinger(np.array([1, 2]), np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        psi(np.array([0, 0]), np.array([1, 2]))


def test_ks_detects_a_one_sd_shift_and_not_a_resample():
    rng = np.random.default_rng(20240601)
    x = rng.normal(0.0, 1.0, 500)
    shifted = rng.normal(1.0, 1.0, 500)
    same = rng.normal(0.0, 1.0, 500)
    stat, p = ks_test(x, shifted)
    assert p < 1e-6 and stat > 0.3
    _, p_same = ks_test(x, same)
    assert p_same > 0.01


def test_chi2_known_table_and_empty_categories_dropped():
    # Every expected count is 20: chi2 = (10² + 0 + 10²) * 2 / 20 = 20 on 2 dof, p = exp(-20/2).
    stat, p, dof = chi2_test(np.array([10, 20, 30]), np.array([30, 20, 10]))
    assert (stat, dof) == (pytest.approx(20.0, abs=1e-9), 2)
    assert p == pytest.approx(math.exp(-10), rel=1e-9)
    # A category empty in both windows is dropped, so nothing changes.
    assert chi2_test(np.array([10, 0, 20, 30]), np.array([30, 0, 20, 10])) == (stat, p, dof)
    # 2x2 table, no Yates correction: chi2 = 4 * 10² / 20 = 20 on 1 dof, p = erfc(sqrt(20/2)).
    stat, p, dof = chi2_test(np.array([10, 30]), np.array([30, 10]))
    assert (stat, dof) == (pytest.approx(20.0, abs=1e-9), 1)
    assert p == pytest.approx(math.erfc(math.sqrt(10)), rel=1e-9)


def test_compare_confidence_identical_and_shifted():
    rng = np.random.default_rng(7)
    a = rng.beta(5, 2, 2000)
    same = compare_confidence(a, a.copy())
    assert (same.n_a, same.n_b) == (2000, 2000)
    assert same.ks_statistic == 0.0 and same.ks_pvalue == pytest.approx(1.0)
    assert same.psi == pytest.approx(0.0, abs=1e-12)
    assert same.hellinger == pytest.approx(0.0, abs=1e-12)
    assert same.chi2_statistic == pytest.approx(0.0, abs=1e-9)

    shifted = compare_confidence(a, rng.beta(2, 5, 2000), scope="A")
    assert shifted.scope == "A"
    assert shifted.psi > 1.0 and shifted.ks_pvalue < 1e-6 and shifted.chi2_pvalue < 1e-6
    assert set(shifted.as_dict()) == {
        "scope", "n_a", "n_b", "ks_statistic", "ks_pvalue", "chi2_statistic", "chi2_pvalue",
        "hellinger", "bhattacharyya", "kl_divergence", "psi",
    }  # fmt: skip


def test_compare_categories_uses_the_union_of_categories():
    report = compare_categories(["a", "a", "b"], ["b", "c", "c", "c"], rare_count=0)
    assert (report.n_a, report.n_b) == (3, 4)
    assert math.isnan(report.ks_statistic) and math.isnan(report.ks_pvalue)
    # Over the union [a, b, c]: counts [2, 1, 0] vs [0, 1, 3].
    assert report.hellinger == pytest.approx(hellinger([2, 1, 0], [0, 1, 3]), abs=1e-12)
    assert report.psi == pytest.approx(psi([2, 1, 0], [0, 1, 3]), abs=1e-12)
    same = compare_categories(np.array(["x", "y", "y"]), ["y", "x", "y"], rare_count=0)
    assert same.psi == pytest.approx(0.0, abs=1e-12) and same.chi2_pvalue == pytest.approx(1.0)


def test_rare_categories_are_pooled_before_measuring():
    # 20 codes seen once or twice each: pooled into one cell, where a and b agree exactly;
    # the frequent code "f" keeps its own cell.
    a = ["f"] * 50 + [f"r{i}" for i in range(20)]
    b = ["f"] * 50 + [f"r{i + 20}" for i in range(20)]
    pooled = compare_categories(a, b)
    assert pooled.psi == pytest.approx(0.0, abs=1e-12)
    assert compare_categories(a, b, rare_count=0).psi > 1.0  # noise alone, unpooled
    # A frequent code that appears only in the second window is still drift.
    shifted = compare_categories(["f"] * 50, ["f"] * 25 + ["g"] * 25)
    assert shifted.psi > 0.2


def _window(rng: np.random.Generator, n: int, shift_section: str | None) -> pd.DataFrame:
    sections = rng.choice(np.array(["A", "C", "G"]), size=n)
    confidence = rng.beta(6, 2, n)
    if shift_section is not None:
        hit = sections == shift_section
        confidence[hit] = rng.beta(2, 4, hit.sum())
    codes = np.char.add(sections.astype(str), rng.choice(np.array(["01", "02", "03"]), size=n))
    return pd.DataFrame({"confidence": confidence, "predicted_code": codes, "section": sections})


def test_compare_windows_flags_the_shifted_section():
    rng = np.random.default_rng(42)
    a = _window(rng, 6000, None)
    b = _window(rng, 6000, "C")
    # A section present in one window only gets no per-section report.
    b.loc[b.index[:5], "section"] = "Z"
    reports = compare_windows(a, b)
    scopes = [r.scope for r in reports]
    assert scopes == ["overall", "overall:codes", "A", "C", "G"]
    assert all(isinstance(r, DriftReport) for r in reports)
    by_section = {r.scope: r for r in reports[2:]}
    worst = max(by_section.values(), key=lambda r: r.psi)
    assert worst.scope == "C"
    assert by_section["C"].psi > 0.2
    assert by_section["A"].psi < 0.05 and by_section["G"].psi < 0.05
    assert reports[0].n_a == 6000 and reports[2].n_a == int((a["section"] == "A").sum())

    no_groups = compare_windows(a, b, by=None)
    assert [r.scope for r in no_groups] == ["overall", "overall:codes"]


def _report(scope: str, value: float) -> DriftReport:
    return DriftReport(scope, 100, 100, 0.1, 0.5, 1.0, 0.5, 0.1, 0.01, 0.05, value)


def test_evaluate_alerts_on_psi_and_accuracy():
    rule = AlertRule(psi_max=0.2, accuracy_min=0.8)
    calm = [_report("overall", 0.05), _report("A", 0.2)]  # 0.2 is not above 0.2
    assert evaluate_alerts(calm, rule, accuracy=0.85) == []
    assert evaluate_alerts(calm, rule) == []

    alerts = evaluate_alerts([*calm, _report("C", 0.31)], rule, accuracy=0.85)
    assert len(alerts) == 1 and "C" in alerts[0] and "PSI" in alerts[0]

    low = evaluate_alerts(calm, rule, accuracy=0.75)
    assert len(low) == 1 and "ccuracy" in low[0]

    both = evaluate_alerts([_report("C", 0.31)], rule, accuracy=0.75)
    assert len(both) == 2

    # No accuracy floor configured: low accuracy alone does not alert.
    assert evaluate_alerts(calm, AlertRule(), accuracy=0.1) == []
    assert AlertRule().psi_max == 0.2
