"""Simple random sampling: reproducible, without replacement, with the right probabilities."""

from __future__ import annotations

import pyarrow as pa
import pytest

from campaigns.duck import connect
from campaigns.sampling.designs import draw_simple_random_sample


def population(n: int, hashed: bool = False) -> pa.Table:
    table = pa.table(
        {"request_id": [f"r{i}" for i in range(n)], "confidence": [i / n for i in range(n)]}
    )
    if hashed:  # as ingest stores it: md5 of the request id, lower 64 bits
        con = connect()
        con.register("t", table)
        table = con.sql("SELECT *, md5_number_lower(request_id) AS request_hash FROM t").arrow()
        table = table.read_all() if hasattr(table, "read_all") else table
    return table


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


@pytest.mark.parametrize("hashed", [False, True], ids=["md5-of-id", "stored-hash"])
def test_every_unit_is_equally_likely(hashed: bool):
    # Over many seeds each unit of a 50-unit population is drawn about n/N = 20% of the time.
    table = population(50, hashed)
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


def test_stored_hash_gives_a_reproducible_sample_and_missing_hashes_fall_back():
    hashed = population(3000, hashed=True)
    a, b = draw(hashed, 100, seed=5), draw(hashed.take(pa.array(range(2999, -1, -1))), 100, seed=5)
    assert a.table.column("request_id").to_pylist() == b.table.column("request_id").to_pylist()
    assert len(set(a.table.column("request_id").to_pylist())) == 100
    assert sum(a.table.column("weight").to_pylist()) == pytest.approx(3000)
    # One row without its hash (traffic ingested by an older version): the md5 path is used,
    # so no unit silently loses its chance of being drawn.
    partial = hashed.set_column(
        hashed.schema.get_field_index("request_hash"),
        "request_hash",
        pa.array([None, *hashed.column("request_hash").to_pylist()[1:]], pa.uint64()),
    )
    plain = draw(population(3000), 100, seed=5).table.column("request_id").to_pylist()
    assert draw(partial, 100, seed=5).table.column("request_id").to_pylist() == plain
    # That path computes the key ingest would have stored: the same units either way.
    assert plain == a.table.column("request_id").to_pylist()
