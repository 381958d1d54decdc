"""Sampling: a 2,000-unit simple random sample of 10M rows of traffic (90 day partitions).

Three methods, each in its own process so its peak memory is its own:
- ours: ``draw_simple_random_sample`` (reproducible md5 permutation, inclusion probabilities)
- bare DuckDB ``USING SAMPLE 2000 ROWS (reservoir)`` on the same files: the engine's floor
- pandas: load the window into memory, then ``DataFrame.sample``

    python -m benchmarks.bench_sample --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import date

from benchmarks._common import peak_rss_mib, synthetic_traffic_root, timed

N = 2000


def run(method: str, root: str) -> dict[str, float]:
    from campaigns.duck import connect
    from campaigns.sampling import draw_simple_random_sample
    from campaigns.storage import Storage
    from campaigns.traffic import Window, window_relation

    window = Window(date(2026, 6, 1), date(2026, 9, 1))
    if method == "ours":

        def go() -> int:
            con = connect()
            window_relation(con, Storage.open(root), window)
            return draw_simple_random_sample(con, "window_traffic", n=N, seed=1).table.num_rows
    elif method == "duckdb":

        def go() -> int:
            con = connect()
            return len(
                con.execute(
                    f"SELECT * FROM read_parquet('{root}/traffic/*/*.parquet',"
                    " hive_partitioning=true)"
                    " WHERE day >= DATE '2026-06-01' AND day < DATE '2026-09-01'"
                    f" USING SAMPLE {N} ROWS (reservoir, 1)"
                ).fetchall()
            )
    else:

        def go() -> int:
            import pandas as pd

            frame = pd.read_parquet(f"{root}/traffic")
            return len(frame.sample(n=N, random_state=1))

    taken, seconds = timed(go)
    assert taken == N
    return {"seconds": seconds, "peak_rss_mib": peak_rss_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--method", choices=["prepare", "ours", "duckdb", "pandas"])
    parser.add_argument("--root")
    args = parser.parse_args()
    if args.method == "prepare":
        print(synthetic_traffic_root(args.rows))
        return
    if args.method:
        print(json.dumps(run(args.method, args.root)))
        return
    # Data are made in a child process: Linux children inherit the parent's peak RSS.
    root = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_sample",
                "--method",
                "prepare",
                "--rows",
                str(args.rows),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    print(f"simple random sample of {N} from {args.rows:,} rows (90 day partitions, local disk)")
    results = {}
    for method, label in [
        ("ours", "annotation-campaigns SRS       "),
        ("duckdb", "bare DuckDB USING SAMPLE      "),
        ("pandas", "pandas load + DataFrame.sample"),
    ]:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_sample", "--method", method, "--root", root],
            capture_output=True,
            text=True,
            check=True,
        )
        results[method] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[method]
        print(f"  {label}: {r['seconds']:6.2f} s   peak RSS {r['peak_rss_mib']:7.0f} MiB")
    ours, bare, pandas = (results[m]["seconds"] for m in ("ours", "duckdb", "pandas"))
    print(f"  ours / bare DuckDB: {ours / bare:.2f}x the time; pandas / ours: {pandas / ours:.1f}x")


if __name__ == "__main__":
    main()
