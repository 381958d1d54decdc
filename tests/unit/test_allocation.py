"""Allocation of a sample across strata: every method, its bounds and its exact total."""

from __future__ import annotations

import math

import pytest

from campaigns.errors import InvalidArgumentError
from campaigns.sampling.allocation import allocate

POP = {"a": 6000, "b": 3000, "c": 1000}


def test_proportional_follows_population_shares_exactly():
    assert allocate(POP, 100, "proportional") == {"a": 60, "b": 30, "c": 10}


def test_equal_gives_each_stratum_the_same_size():
    assert allocate(POP, 90, "equal") == {"a": 30, "b": 30, "c": 30}


def test_equal_caps_a_small_stratum_at_its_population_and_gives_the_rest_to_others():
    assert allocate({"a": 1000, "b": 1000, "tiny": 5}, 60, "equal") == {
        "a": 28,
        "b": 27,
        "tiny": 5,
    }


def test_neyman_is_proportional_to_population_times_standard_deviation():
    sd = {"a": math.sqrt(0.05 * 0.95), "b": math.sqrt(0.3 * 0.7), "c": math.sqrt(0.5 * 0.5)}
    sizes = allocate(POP, 200, "neyman", sd=sd, minimum=0)
    weights = {h: POP[h] * sd[h] for h in POP}
    total = sum(weights.values())
    for h in POP:
        assert abs(sizes[h] - 200 * weights[h] / total) <= 1
    assert sum(sizes.values()) == 200


def test_minimum_per_stratum_is_honoured_and_total_kept():
    sizes = allocate({"big": 100_000, "small": 50, "rare": 3}, 40, "proportional", minimum=5)
    assert sizes["small"] == 5 and sizes["rare"] == 3  # a 3-unit stratum is taken whole
    assert sum(sizes.values()) == 40


def test_fixed_sizes_are_taken_as_given_within_bounds():
    sizes = allocate(POP, 0, "fixed", fixed={"a": 10, "c": 2000}, minimum=2)
    assert sizes == {"a": 10, "b": 2, "c": 1000}


def test_fixed_sizes_naming_unknown_strata_are_an_error():
    with pytest.raises(InvalidArgumentError, match="no traffic: z"):
        allocate(POP, 0, "fixed", fixed={"z": 3})


def test_too_small_a_sample_for_the_minimum_says_how_many_are_needed():
    with pytest.raises(InvalidArgumentError) as err:
        allocate(POP, 5, "proportional", minimum=2)
    assert "at least 6" in err.value.one_line()


def test_a_sample_larger_than_the_population_takes_everything():
    assert allocate(POP, 50_000, "neyman", sd=dict.fromkeys(POP, 0.1)) == POP


def test_neyman_without_prior_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="prior"):
        allocate(POP, 100, "neyman")


def test_neyman_from_gold_priors_gives_a_known_allocation():
    # Priors 0.75 and 0.9038 (a gold campaign's shrunk accuracies, see test_priors): sd 0.4330
    # and 0.2949; shares 2000 * 0.4330 = 866.0 and 8000 * 0.2949 = 2358.9, so 100 units split
    # 26.85 / 73.15 -> 27 / 73 (proportional would give 20 / 80).
    from campaigns.sampling.designs import Design

    design = Design(confidence_edges=(0.5,), allocation="neyman", prior_accuracy=(0.75, 0.9038))
    populations = {"conf[0.00,0.50)": 2000, "conf[0.50,1.00]": 8000}
    sd = design.prior_sd(list(populations))
    sizes = allocate(populations, 100, "neyman", sd=sd)
    assert sizes == {"conf[0.00,0.50)": 27, "conf[0.50,1.00]": 73}
