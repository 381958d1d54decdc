"""Shared helpers of the benchmark scripts: synthetic data, timing, peak memory."""

from __future__ import annotations

import resource
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from campaigns.traffic.synthetic import generate_traffic

DATA = Path(__file__).resolve().parent / "_data"
T = TypeVar("T")

# A nomenclature-shaped code list (no dependency on a table): 100 subclasses, 20 divisions.
CODES = [f"{10 + d:02d}.{(d * 7 + i) % 90 + 10:02d}Z" for d in range(20) for i in range(5)]
TITLES = [f"Activite numero {i} de fabrication et commerce de produits" for i in range(len(CODES))]


def synthetic_logs(lines: int, days: int = 90, seed: int = 0) -> Path:
    """A JSON-lines file of ``lines`` synthetic predictions (cached under benchmarks/_data)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"logs-{lines}-{days}-{seed}.jsonl"
    if not path.exists():
        generate_traffic(CODES, TITLES, n=lines, days=days, seed=seed).write_jsonl(path)
    return path


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def best_of(fn: Callable[[], object], runs: int) -> float:
    """The shortest of ``runs`` timings of ``fn``: the machine's noise only ever adds time."""
    return min(timed(fn)[1] for _ in range(runs))


def best_in_fresh_folders(
    runs: int, make: Callable[[Path], Callable[[], object]], work: Path
) -> float:
    """The fastest of ``runs`` runs of ``make(folder)()``, each writing into a fresh folder
    under ``work`` (removed after it): a run never finds the previous run's output."""
    best = float("inf")
    for i in range(runs):
        out = work / f"run-{i}"
        out.mkdir()
        _, seconds = timed(make(out))
        best = min(best, seconds)
        shutil.rmtree(out, ignore_errors=True)
    return best


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_traffic_root(rows: int, days: int = 90) -> Path:
    """A local storage root whose ``traffic/`` holds ``rows`` rows over ``days`` day partitions.

    Built directly by DuckDB in the traffic schema (the ingest path has its own benchmark).
    """
    from campaigns.duck import connect

    root = DATA / f"traffic-{rows}-{days}-v2"
    target = root / "traffic"
    if target.exists():
        return root
    target.mkdir(parents=True)
    con = connect()
    con.execute(f"""
        COPY (
          SELECT 'req-' || i AS request_id, md5_number_lower('req-' || i) AS request_hash,
                 TIMESTAMPTZ '2026-06-01 00:00:00+00' + to_seconds((i * 7919) % ({days} * 86400))
                     AS "timestamp",
                 'ACTIVITE ' || (hash(i) % 20000) AS text,
                 'ACTIVITE ' || (hash(i) % 20000) AS text_norm,
                 '{{"cj": "5499"}}' AS context,
                 [c1, c2, c3, c4, c5] AS predicted_codes,
                 [s1, s2, s3, s4, s5] AS scores,
                 c1 AS predicted_code, s1 AS score, s1 - s2 AS confidence,
                 'fasttext-ape' AS model_name, '2.1.0' AS model_version,
                 NULL::VARCHAR AS extra, 'bench.jsonl' AS source_file, i AS line_no,
                 (TIMESTAMPTZ '2026-06-01 00:00:00+00'
                     + to_seconds((i * 7919) % ({days} * 86400)))::DATE AS day
          FROM (
            SELECT i,
                   printf('%02d.%02dZ', 10 + hash(i) % 80, hash(i + 1) % 90 + 10) AS c1,
                   printf('%02d.%02dZ', 10 + hash(i + 2) % 80, hash(i + 3) % 90 + 10) AS c2,
                   '01.11Z' AS c3, '01.12Z' AS c4, '01.13Z' AS c5,
                   0.2 + 0.79 * ((hash(i + 4) % 1000) / 1000.0) ^ 0.3 AS s1,
                   (1 - s1) * 0.7 AS s2, (1 - s1) * 0.2 AS s3, (1 - s1) * 0.06 AS s4,
                   (1 - s1) * 0.04 AS s5
            FROM range({rows}) t(i)
          )
        ) TO '{target}' (FORMAT PARQUET, PARTITION_BY (day), COMPRESSION zstd)
    """)
    return root
