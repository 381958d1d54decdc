"""Ingest: JSON-lines logs -> validated, day-partitioned Parquet, beside two baselines.

All three run in the same process on the same file (read once beforehand, so that none of
them pays for the disk alone):

- ours: ``ingest_file`` (validation, quarantine, conflicts, idempotence, atomic partitions);
- DuckDB's own copy, the floor for this work: ``COPY (SELECT *, day FROM
  read_json_auto(file)) TO dir (FORMAT PARQUET, PARTITION_BY (day))`` (the logs hold no
  ``day``: it is the UTC date of ``timestamp``, as in ours). No validation, no quarantine;
- the engine's floor for our output: the same DuckDB copy, but deriving the traffic table's
  columns (request hash, normalised text, dotted codes, scores, confidence...; zstd), still
  without any validation, quarantine, duplicate check or atomic move. What ingest adds beyond
  this line is the price of its guarantees;
- pandas ``read_json(lines=True)`` then ``to_parquet`` into one file: what a naive script does.

The last line is ``ratio: X``, ours / DuckDB copy (lower is better). The default size is the
1M-line reference run; tests only ever run it with a few hundred lines.

    python -m benchmarks.bench_ingest --lines 1000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmarks._common import best_in_fresh_folders, synthetic_logs
from campaigns.duck import connect
from campaigns.storage import Storage
from campaigns.traffic.ingest import ingest_file

# The traffic table's columns straight from DuckDB's own JSON reader, no rule checked.
FLOOR_SQL = """
COPY (
    SELECT request_id, md5_number_lower(request_id) AS request_hash,
           "timestamp"::TIMESTAMPTZ AS "timestamp", text, upper(strip_accents(text)) AS text_norm,
           context::VARCHAR AS context,
           [left(p.code, 2) || '.' || substr(p.code, 3) FOR p IN predictions] AS predicted_codes,
           [p.score FOR p IN predictions] AS scores,
           left(predictions[1].code, 2) || '.' || substr(predictions[1].code, 3)
               AS predicted_code,
           predictions[1].score AS score,
           predictions[1].score - predictions[2].score AS confidence,
           model_name, model_version, NULL::VARCHAR AS extra, 'logs.jsonl' AS source_file,
           0::BIGINT AS line_no, CAST("timestamp" AS DATE) AS day
    FROM read_json_auto($logs)
) TO $out (FORMAT PARQUET, PARTITION_BY (day), COMPRESSION zstd, COMPRESSION_LEVEL 1)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="log lines (default 1M)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each; the best counts")
    return parser


def main(argv: list[str] | None = None) -> float:
    """Run the three ingests; print their times and the ratio; return the ratio."""
    args = build_parser().parse_args(argv)
    logs = synthetic_logs(args.lines)
    size_mib = logs.stat().st_size / 2**20
    with logs.open("rb") as src:  # into the page cache, for all three alike
        while src.read(1 << 24):
            pass

    def ours(out: Path) -> Callable[[], object]:
        def run() -> None:
            summary = ingest_file(logs, Storage.open(str(out / "store")))
            assert summary.written == args.lines, summary

        return run

    def duckdb_copy(out: Path) -> Callable[[], object]:
        def run() -> None:
            con = connect()
            con.execute(
                'COPY (SELECT *, CAST("timestamp" AS DATE) AS day FROM read_json_auto($logs)) '
                "TO $out (FORMAT PARQUET, PARTITION_BY (day))",
                {"logs": str(logs), "out": str(out / "copy")},
            ).fetchall()
            con.close()

        return run

    def duckdb_floor(out: Path) -> Callable[[], object]:
        def run() -> None:
            con = connect()
            con.execute(FLOOR_SQL, {"logs": str(logs), "out": str(out / "floor")}).fetchall()
            con.close()

        return run

    def pandas(out: Path) -> Callable[[], object]:
        def run() -> None:
            pd.read_json(logs, lines=True).to_parquet(out / "baseline.parquet")

        return run

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        ours_s = best_in_fresh_folders(args.runs, ours, work)
        copy_s = best_in_fresh_folders(args.runs, duckdb_copy, work)
        floor_s = best_in_fresh_folders(args.runs, duckdb_floor, work)
        pandas_s = best_in_fresh_folders(args.runs, pandas, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(name: str, seconds: float, note: str) -> None:
        print(f"  {name:<34}: {seconds:7.2f} s {args.lines / seconds:>11,.0f} rows/s  ({note})")

    best_of = f", best of {args.runs}" if args.runs > 1 else ""
    print(f"ingest of {args.lines:,} log lines ({size_mib:.0f} MiB){best_of}")
    row(
        "annotation-campaigns ingest_file",
        ours_s,
        "validated, quarantine, conflicts, day partitions, atomic, idempotent",
    )
    row("DuckDB COPY read_json_auto by day", copy_s, "no validation, no quarantine")
    row("DuckDB COPY into the traffic schema", floor_s, "same columns, no validation: floor")
    row("pandas read_json + to_parquet", pandas_s, "no validation, one file")
    print(f"  vs pandas: {pandas_s / ours_s:.1f}x faster")
    print(f"  floor / DuckDB copy: {floor_s / copy_s:.2f}; ours / floor: {ours_s / floor_s:.2f}")
    ratio = ours_s / copy_s
    print(f"ratio: {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
