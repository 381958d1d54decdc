"""Probability samples of the traffic, drawn inside DuckDB.

Reproducible on any machine: units are ranked by ``md5(seed:request_id)``, a permutation that
depends on nothing but the seed and the ids (not on file order, thread count or DuckDB
version). Taking the first ``n`` of that random permutation is simple random sampling without
replacement, so every unit's inclusion probability is ``n / N`` and its design weight ``N / n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from campaigns.duck import fetch_arrow, scalar


@dataclass(frozen=True)
class SampleResult:
    table: pa.Table
    population_size: int
    sample_size: int


def random_key_sql(seed: int) -> str:
    """The SQL expression ranking units in the seed's random permutation."""
    return f"md5_number('{int(seed)}:' || request_id)"


def draw_simple_random_sample(
    con: duckdb.DuckDBPyConnection, view: str, *, n: int, seed: int
) -> SampleResult:
    """Simple random sample without replacement of ``n`` rows of ``view``.

    If the view holds fewer than ``n`` rows, all of them are taken (inclusion probability 1).
    """
    if n <= 0:
        raise ValueError("the sample size must be positive")
    population = int(scalar(con, f"SELECT count(*) FROM {view}"))
    taken = min(n, population)
    table = fetch_arrow(
        con,
        f"""SELECT *, 'all' AS stratum,
                   {taken}::DOUBLE / {population} AS inclusion_prob,
                   {population}::DOUBLE / {taken} AS weight,
                   {population}::BIGINT AS stratum_population,
                   {taken}::BIGINT AS stratum_sample_size
            FROM {view}
            ORDER BY {random_key_sql(seed)}, request_id
            LIMIT {taken}""",
    )
    return SampleResult(table=table, population_size=population, sample_size=taken)
