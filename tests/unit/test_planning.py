"""The sample-size planner: textbook answers for SRS, and stratified plans that hold."""

from __future__ import annotations

import math

import pytest

from campaigns.errors import InvalidArgumentError
from campaigns.sampling.planning import plan_sample_size, stratified_margin


def test_simple_random_sampling_matches_the_textbook_formula_with_finite_population():
    # n0 = 1.96^2 * 0.25 / 0.03^2 = 1067.07; n = n0 / (1 + (n0 - 1) / N) = 964.2 -> 965
    plan = plan_sample_size({"all": 10_000}, {"all": 0.5}, 0.03, minimum=0)
    assert plan.sample_size == 965
    assert plan.margin <= 0.03
    smaller = stratified_margin({"all": 10_000}, {"all": 964}, {"all": 0.5})
    assert smaller > 0.03


def test_a_good_prior_needs_fewer_units_than_the_worst_case():
    worst = plan_sample_size({"all": 1_000_000}, {"all": 0.5}, 0.02, minimum=0)
    informed = plan_sample_size({"all": 1_000_000}, {"all": 0.9}, 0.02, minimum=0)
    # p(1-p) is 0.09 instead of 0.25: 0.36 times the units.
    assert informed.sample_size == pytest.approx(worst.sample_size * 0.36, rel=0.01)


def test_stratified_plan_reaches_its_margin_and_one_unit_less_does_not():
    pops = {"low": 20_000, "mid": 50_000, "high": 130_000}
    priors = {"low": 0.55, "mid": 0.8, "high": 0.97}
    plan = plan_sample_size(pops, priors, 0.015, allocation="neyman", minimum=2)
    assert plan.margin <= 0.015
    proportional = plan_sample_size(pops, priors, 0.015, allocation="proportional")
    assert plan.sample_size < proportional.sample_size  # Neyman is optimal for this variance
    assert sum(plan.sizes.values()) == plan.sample_size


def test_domain_margin_concerns_only_the_automatically_coded_strata():
    pops = {"conf[0.00,0.60)": 80_000, "conf[0.60,1.00]": 120_000}
    priors = {"conf[0.00,0.60)": 0.6, "conf[0.60,1.00]": 0.95}
    plan = plan_sample_size(
        pops, priors, 0.01, allocation="equal", minimum=2, domain={"conf[0.60,1.00]"}
    )
    n_auto = plan.sizes["conf[0.60,1.00]"]
    expected = 1.959963984540054 * math.sqrt(0.95 * 0.05 / n_auto * (1 - n_auto / 120_000))
    assert plan.margin == pytest.approx(expected)
    assert plan.margin <= 0.01


def test_margin_must_be_a_proportion():
    with pytest.raises(InvalidArgumentError, match="margin"):
        plan_sample_size({"all": 10}, {"all": 0.5}, 2.0)
