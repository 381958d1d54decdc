"""Seeds give independent samples: overlaps follow the hypergeometric law, keys are exact.

Two simple random samples of ``n`` from ``N`` units drawn independently share a hypergeometric
number of units: mean ``n^2 / N``, variance ``n (n/N) (1 - n/N) (N - n) / (N - 1)``. Ranking by
``request_hash XOR c(seed)`` gave the right mean but a heavy tail (some pairs of seeds drew
almost the same sample, others disjoint ones); these tests check the whole law.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyarrow as pa
import pytest

from campaigns.duck import connect
from campaigns.sampling.designs import (
    Design,
    draw_sample_from,
    draw_simple_random_sample,
    hashed_key_sql,
    mix64,
    unit_key,
)


def hashed_population(n: int, prefix: str = "r") -> pa.Table:
    """Traffic as ingest stores it: request id and the low 64 bits of its md5."""
    rid = f"'{prefix}' || i"
    query = f"""SELECT {rid} AS request_id, md5_number_lower({rid}) AS request_hash,
                       (i % 997) / 997.0 AS confidence
                FROM range({n}) t(i)"""
    return connect().sql(query).arrow().read_all()


def sample_ids(table: pa.Table, n: int, seed: int, design: Design | None = None) -> list[str]:
    con = connect()
    con.register("pop", table)
    if design is None:
        result = draw_simple_random_sample(con, "pop", n=n, seed=seed)
    else:
        result = draw_sample_from(con, "pop", design, n=n, seed=seed)
    return result.table.column("request_id").to_pylist()


def hypergeometric_moments(n: int, big_n: int) -> tuple[float, float]:
    share = n / big_n
    return n * share, n * share * (1 - share) * (big_n - n) / (big_n - 1)


def test_sql_key_is_the_reference_mixer_bit_for_bit():
    # DuckDB refuses to wrap UBIGINT products: the SQL must reproduce the modulo-2^64 mixer
    # exactly, including at the extremes of the range.
    rng = np.random.default_rng(5)
    hashes = [0, 1, 2**63, 2**64 - 1, *(int(h) for h in rng.integers(0, 2**64, 500, np.uint64))]
    con = connect()
    con.register("h", pa.table({"h": pa.array(hashes, pa.uint64())}))
    for seed in (0, 1, 2, 99, 2**31 + 7):
        rows = con.execute(f"SELECT {hashed_key_sql(seed, 'h')} FROM h").fetchall()
        got = [row[0] for row in rows]
        assert got == [unit_key(h, seed) for h in hashes]
    # mix64 is a bijection that moves every bit: neighbours land far apart.
    assert mix64(0) == 0 and len({mix64(i) for i in range(10_000)}) == 10_000
    flips = [bin(mix64(x) ^ mix64(x ^ 1)).count("1") for x in range(1, 2000)]
    assert 30 < np.mean(flips) < 34


def test_overlap_of_samples_across_many_seeds_is_hypergeometric():
    big_n, n, seeds = 20_000, 400, 40
    table = hashed_population(big_n)
    samples = [set(sample_ids(table, n, seed)) for seed in range(seeds)]
    overlaps = np.array([len(a & b) for a, b in itertools.combinations(samples, 2)])
    mean, variance = hypergeometric_moments(n, big_n)  # 8 and 7.7
    pairs = overlaps.size  # 780
    print(f"overlap mean {overlaps.mean():.2f} (expected {mean:.2f}), var {overlaps.var():.2f}")
    # The pairs share seeds, so they are not independent; 5 standard errors of the
    # independent-pairs mean still leaves room, and the old XOR key fails the variance badly.
    assert abs(overlaps.mean() - mean) < 5 * math.sqrt(variance / pairs)
    assert 0.6 * variance < overlaps.var() < 1.5 * variance
    assert overlaps.max() < mean + 7 * math.sqrt(variance)
    assert all(len(s) == n for s in samples)


def test_four_consecutive_seeds_share_what_independent_samples_share():
    # The reported case: SRS of 1,500 from 30,000 with seeds 1..4 shared no unit at all.
    table = hashed_population(30_000)
    samples = [set(sample_ids(table, 1500, seed)) for seed in (1, 2, 3, 4)]
    mean, variance = hypergeometric_moments(1500, 30_000)  # 75, about 68
    for a, b in itertools.combinations(samples, 2):
        assert abs(len(a & b) - mean) < 4 * math.sqrt(variance)


def test_stratified_samples_of_different_seeds_overlap_as_independent_ones():
    table = hashed_population(20_000)
    design = Design(confidence_edges=(0.5, 0.8), minimum=2)
    samples = [set(sample_ids(table, 300, seed, design)) for seed in range(12)]
    overlaps = np.array([len(a & b) for a, b in itertools.combinations(samples, 2)])
    # Proportional allocation: within each stratum the overlap is hypergeometric, and the
    # expected total is sum_h n_h^2 / N_h, which is n^2 / N for proportional sizes.
    mean, variance = hypergeometric_moments(300, 20_000)
    assert abs(overlaps.mean() - mean) < 1.5
    assert overlaps.max() < mean + 7 * math.sqrt(variance)


def test_same_seed_same_sample_whatever_the_row_order_and_whether_the_hash_is_stored():
    table = hashed_population(5000)
    reversed_rows = table.take(pa.array(np.arange(4999, -1, -1)))
    first = sample_ids(table, 200, seed=11)
    assert sample_ids(reversed_rows, 200, seed=11) == first
    assert len(set(first)) == 200
    # Without the stored hash the key is computed from md5(request_id), as ingest would have:
    # the same units, in the same order.
    plain = table.drop_columns(["request_hash"])
    assert sample_ids(plain, 200, seed=11) == first
    assert set(sample_ids(table, 200, seed=12)) != set(first)


@pytest.mark.parametrize("seed", [0, 3])
def test_the_sample_is_the_units_with_the_smallest_keys(seed: int):
    # The drawn units are exactly the n smallest keys of the reference mixer: the sampler adds
    # no other randomness (so the inclusion probability of every unit is n / N).
    table = hashed_population(3000)
    keys = {
        rid: unit_key(h, seed)
        for rid, h in zip(
            table.column("request_id").to_pylist(),
            table.column("request_hash").to_pylist(),
            strict=True,
        )
    }
    expected = sorted(keys, key=keys.__getitem__)[:150]
    assert sample_ids(table, 150, seed) == expected
