"""Ingest: JSON-lines logs -> validated, day-partitioned Parquet, beside a pandas baseline.

Baseline (same run, same file): ``pandas.read_json(lines=True)`` then ``to_parquet`` into one
file — no validation, no quarantine, no partitioning, no idempotence: the floor of what a
naive script does.

    python benchmarks/bench_ingest.py --lines 1000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks._common import synthetic_logs, timed
from campaigns.storage import Storage
from campaigns.traffic.ingest import ingest_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    logs = synthetic_logs(args.lines)
    size_mib = logs.stat().st_size / 2**20
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        summary, ours = timed(lambda: ingest_file(logs, Storage.open(str(work / "store"))))
        assert summary.written == args.lines, summary

        def baseline() -> None:
            frame = pd.read_json(logs, lines=True)
            frame.to_parquet(work / "baseline.parquet")

        _, naive = timed(baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"ingest of {args.lines:,} log lines ({size_mib:.0f} MiB)")
    print(
        f"  annotation-campaigns ingest_file : {ours:6.2f} s  {args.lines / ours:>10,.0f} rows/s"
        "  (validated, quarantine, day partitions, atomic, idempotent)"
    )
    print(
        f"  pandas read_json + to_parquet   : {naive:6.2f} s  {args.lines / naive:>10,.0f} rows/s"
        "  (no validation, one file)"
    )
    print(f"  speed-up: {naive / ours:.1f}x")


if __name__ == "__main__":
    main()
