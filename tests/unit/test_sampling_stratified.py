"""Stratified sampling: strata, probabilities, weights, exclusions, duplicates, unbiasedness."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from campaigns.duck import connect
from campaigns.sampling.designs import Design, Duplicates, draw_sample_from

SECTIONS = pa.table({"division": ["01", "10", "47", "62"], "section": ["A", "C", "G", "J"]})
CODES = ["01.11Z", "10.71C", "47.11F", "62.01Z"]


def population(n: int, seed: int = 0, distinct_texts: int | None = None) -> pa.Table:
    """Traffic whose correctness depends on confidence (as a real classifier's does)."""
    rng = np.random.default_rng(seed)
    confidence = rng.beta(4, 2, n)  # mostly confident, as production traffic is
    codes = rng.choice(CODES, n, p=[0.1, 0.2, 0.5, 0.2])
    correct = rng.random(n) < 0.35 + 0.6 * confidence
    texts = rng.integers(0, distinct_texts or n, n)
    return pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "text_norm": [f"TEXT {t}" for t in texts],
            "confidence": confidence,
            "predicted_code": codes,
            "correct": correct,
        }
    )


def draw(table: pa.Table, design: Design, n: int, seed: int = 1, **kwargs):
    con = connect()
    con.register("pop", table)
    return draw_sample_from(con, "pop", design, n=n, seed=seed, sections=SECTIONS, **kwargs)


DESIGN = Design(confidence_edges=(0.3, 0.6, 0.8), by_section=True, minimum=3)


def test_each_unit_is_in_its_stratum_and_weights_sum_to_each_stratum_population():
    pop = population(20_000)
    result = draw(pop, DESIGN, 400)
    sample = result.table.to_pandas()
    assert len(sample) == 400 and sample["request_id"].is_unique
    section = sample["predicted_code"].str[:2].map({"01": "A", "10": "C", "47": "G", "62": "J"})
    bins = np.digitize(sample["confidence"], [0.3, 0.6, 0.8])
    labels = np.array(DESIGN.confidence_labels)[bins]
    assert (sample["stratum"] == section + " x " + labels).all()
    strata = result.strata.to_pandas().set_index("stratum")
    assert len(strata) == 16
    weights = sample.groupby("stratum")["weight"].sum()
    assert np.allclose(weights, strata.loc[weights.index, "population"])
    # Summed over the population, inclusion probabilities give the sample size.
    assert (strata["population"] * strata["inclusion_prob"]).sum() == pytest.approx(400)
    assert strata["sample_size"].min() >= 3
    assert (sample["weight"] * sample["inclusion_prob"]).round(9).eq(1).all()


def test_same_design_and_seed_give_the_same_sample_whatever_the_row_order():
    pop = population(5000)
    reversed_pop = pop.take(pa.array(np.arange(4999, -1, -1)))
    a = draw(pop, DESIGN, 120).table.column("request_id").to_pylist()
    b = draw(reversed_pop, DESIGN, 120).table.column("request_id").to_pylist()
    assert a == b
    assert a != draw(pop, DESIGN, 120, seed=2).table.column("request_id").to_pylist()


def test_units_of_earlier_campaigns_are_never_drawn_again():
    pop = population(3000, distinct_texts=1500)
    first = draw(pop, Design(confidence_edges=(0.5,)), 300).table
    again = draw(pop, Design(confidence_edges=(0.5,)), 300, excluded=first).table
    assert not set(first.column("request_id").to_pylist()) & set(
        again.column("request_id").to_pylist()
    )
    assert not set(first.column("text_norm").to_pylist()) & set(
        again.column("text_norm").to_pylist()
    )


def test_distinct_texts_are_drawn_once_and_weighted_by_their_occurrences():
    pop = population(6000, distinct_texts=800)
    design = Design(confidence_edges=(0.5,), duplicates=Duplicates.DISTINCT)
    totals = []
    for seed in range(40):
        sample = draw(pop, design, 100, seed=seed).table.to_pandas()
        assert sample["text_norm"].is_unique
        assert np.allclose(
            sample["weight"],
            sample["occurrences"] * sample["stratum_population"] / sample["stratum_sample_size"],
        )
        totals.append(sample["weight"].sum())
    # Weighted by occurrences, the sample still estimates the number of requests (6,000).
    assert abs(np.mean(totals) - 6000) < 3 * np.std(totals) / np.sqrt(len(totals)) + 1


def test_weighted_estimate_is_unbiased_where_the_unweighted_mean_is_not():
    pop = population(20_000, seed=3)
    truth = float(np.mean(pop.column("correct").to_numpy()))
    # Equal allocation oversamples the (less accurate) low-confidence strata on purpose.
    design = Design(confidence_edges=(0.2, 0.4, 0.6, 0.8), allocation="equal")
    con = connect()
    con.register("pop", pop)
    weighted, unweighted = [], []
    for seed in range(150):
        s = draw_sample_from(con, "pop", design, n=250, seed=seed).table.to_pandas()
        weighted.append(np.average(s["correct"], weights=s["weight"]))
        unweighted.append(s["correct"].mean())
    se = np.std(weighted) / np.sqrt(len(weighted))
    assert abs(np.mean(weighted) - truth) < 3 * se
    assert abs(np.mean(unweighted) - truth) > 10 * se  # ignoring the design is visibly biased


def test_neyman_gives_more_units_to_strata_with_more_expected_errors():
    pop = population(20_000)
    design = Design(confidence_edges=(0.5,), allocation="neyman", prior_accuracy=(0.6, 0.98))
    strata = draw(pop, design, 300).strata.to_pandas().set_index("stratum")
    low, high = strata.loc["conf[0.00,0.50)"], strata.loc["conf[0.50,1.00]"]
    sd_low, sd_high = np.sqrt(0.6 * 0.4), np.sqrt(0.98 * 0.02)
    expected_low = (
        300
        * low["population"]
        * sd_low
        / (low["population"] * sd_low + high["population"] * sd_high)
    )
    assert abs(low["sample_size"] - expected_low) <= 1
    assert low["sample_size"] + high["sample_size"] == 300
    # Sampling fractions follow the standard deviations: 0.49 / 0.14 = 3.5 times higher.
    assert low["inclusion_prob"] / high["inclusion_prob"] == pytest.approx(3.5, rel=0.05)


def test_bad_designs_are_refused_with_a_hint():
    from campaigns.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="increasing"):
        Design(confidence_edges=(0.8, 0.3))
    with pytest.raises(InvalidArgumentError, match="prior accuracies"):
        Design(confidence_edges=(0.5,), prior_accuracy=(0.9, 0.8, 0.7))
