"""Simple random sampling: reproducible, without replacement, with the right probabilities."""

from __future__ import annotations

import pyarrow as pa
import pytest

from campaigns.duck import connect
from campaigns.sampling import draw_simple_random_sample


def population(n: int) -> pa.Table:
    return pa.table(
        {"request_id": [f"r{i}" for i in range(n)], "confidence": [i / n for i in range(n)]}
    )


def draw(table: pa.Table, n: int, seed: int):
    con = connect()
    con.register("pop", table)
    return draw_simple_random_sample(con, "pop", n=n, seed=seed)


def test_same_seed_same_sample_whatever_the_row_order():
    table = population(5000)
    shuffled = table.take(pa.array(list(range(4999, -1, -1))))
    a, b = draw(table, 100, seed=7), draw(shuffled, 100, seed=7)
    assert a.table.column("request_id").to_pylist() == b.table.column("request_id").to_pylist()
    other = draw(table, 100, seed=8)
    assert set(a.table.column("request_id").to_pylist()) != set(
        other.table.column("request_id").to_pylist()
    )


def test_inclusion_probabilities_are_n_over_N_and_weights_sum_to_N():
    result = draw(population(5000), 200, seed=1)
    ids = result.table.column("request_id").to_pylist()
    assert len(set(ids)) == 200
    # Summed over the population, inclusion probabilities give n; each is n/N.
    assert result.table.column("inclusion_prob").to_pylist() == [pytest.approx(0.04)] * 200
    assert sum(result.table.column("weight").to_pylist()) == pytest.approx(5000)
    assert (result.population_size, result.sample_size) == (5000, 200)


def test_every_unit_is_equally_likely():
    # Over many seeds each unit of a 50-unit population is drawn about n/N = 20% of the time.
    table = population(50)
    hits = dict.fromkeys(table.column("request_id").to_pylist(), 0)
    for seed in range(200):
        for rid in draw(table, 10, seed).table.column("request_id").to_pylist():
            hits[rid] += 1
    rates = [h / 200 for h in hits.values()]
    assert min(rates) > 0.09 and max(rates) < 0.32


def test_asking_more_than_the_population_takes_everything_with_probability_one():
    result = draw(population(30), 100, seed=0)
    assert result.sample_size == 30
    assert set(result.table.column("inclusion_prob").to_pylist()) == {1.0}
