"""Sampling: 2,000 units from 10M rows of traffic (90 day partitions), on local disk and on S3.

Each method runs in its own process so its peak memory is its own (best of three runs for
the DuckDB methods, one for pandas):
- ``srs``: our simple random sample (reproducible md5 permutation, inclusion probabilities)
- ``stratified``: our stratified sample over 20 confidence-index strata, proportional
  allocation with at least 2 per stratum (one pass: a per-stratum heap of the smallest keys)
- ``duckdb``: bare DuckDB ``USING SAMPLE 2000 ROWS (reservoir)`` over the same columns, the
  engine's floor for one scan of the window
- ``pandas``: load the window into memory, cut the strata, ``groupby().sample()``

On S3 (SeaweedFS started by the script on 127.0.0.1) the same files are read through the Arrow
dataset, as the product does.

    python -m benchmarks.bench_sample --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from benchmarks._common import peak_rss_mib, synthetic_traffic_root, timed

N = 2000
EDGES = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 20 confidence bins


def run(method: str, root: str) -> dict[str, float]:
    from campaigns.duck import connect
    from campaigns.sampling.designs import Design, draw_sample_from
    from campaigns.storage import Storage
    from campaigns.traffic.window import (
        Window,
        traffic_dataset,
        window_relation,
        window_rows_fetcher,
    )

    window = Window(date(2026, 6, 1), date(2026, 9, 1))
    storage = Storage.open(root)
    design = Design(confidence_edges=EDGES) if method == "stratified" else Design()

    def ours() -> int:
        con = connect()
        view = window_relation(con, storage, window)
        fetch = window_rows_fetcher(storage, window)
        return draw_sample_from(con, view.name, design, n=N, seed=1, fetch_rows=fetch).sample_size

    def bare() -> int:
        con = connect()
        if root.startswith("s3://"):
            con.register("traffic_all", traffic_dataset(storage))
            source = "traffic_all"
        else:
            source = f"read_parquet('{root}/traffic/*/*.parquet', hive_partitioning=true)"
        return len(
            con.execute(
                f"SELECT * FROM {source}"
                " WHERE day >= DATE '2026-06-01' AND day < DATE '2026-09-01'"
                f" USING SAMPLE {N} ROWS (reservoir, 1)"
            ).fetchall()
        )

    def pandas_stratified() -> int:
        import numpy as np
        import pandas as pd

        frame = pd.read_parquet(f"{root}/traffic")
        frame["stratum"] = np.digitize(frame["confidence"], EDGES)
        sizes = (frame["stratum"].value_counts() / len(frame) * N).round().clip(lower=2)
        parts = [g.sample(n=int(sizes[h]), random_state=1) for h, g in frame.groupby("stratum")]
        return min(N, len(pd.concat(parts)))

    go = {"srs": ours, "stratified": ours, "duckdb": bare, "pandas": pandas_stratified}[method]
    # Best of three for the fast methods (same process, same page cache for all of them).
    runs = [timed(go) for _ in range(1 if method == "pandas" else 3)]
    taken, seconds = runs[0][0], min(t for _, t in runs)
    assert abs(taken - N) <= 20, taken
    return {"seconds": seconds, "peak_rss_mib": peak_rss_mib()}


def _child(args: list[str], env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_sample", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return out.stdout.strip().splitlines()[-1]


def _report(title: str, root: str, methods: list[str], env: dict[str, str] | None) -> None:
    labels = {
        "srs": "ours, simple random sample     ",
        "stratified": "ours, stratified (20 strata)   ",
        "duckdb": "bare DuckDB scan, same columns ",
        "pandas": "pandas load + groupby().sample ",
    }
    print(title)
    results = {}
    for method in methods:
        results[method] = json.loads(_child(["--method", method, "--root", root], env))
        r = results[method]
        print(f"  {labels[method]}: {r['seconds']:6.2f} s   peak RSS {r['peak_rss_mib']:7.0f} MiB")
    strat, bare = results["stratified"]["seconds"], results["duckdb"]["seconds"]
    line = f"  stratified / bare scan: {strat / bare:.2f}x the time"
    if "pandas" in results:
        line += f"; pandas / stratified: {results['pandas']['seconds'] / strat:.1f}x"
    print(line)


def _upload_to_s3(root: Path, workdir: Path) -> tuple[object, dict[str, str]]:
    import pyarrow.fs as pafs

    from services.local_stack import start_s3

    server = start_s3(workdir / "s3")
    s3 = pafs.S3FileSystem(
        access_key=server.access_key,
        secret_key=server.secret_key,
        endpoint_override=server.endpoint,
        scheme="http",
        region="us-east-1",
        allow_bucket_creation=True,
    )
    s3.create_dir("bench")
    pafs.copy_files(
        str(root / "traffic"),
        "bench/traffic",
        source_filesystem=pafs.LocalFileSystem(),
        destination_filesystem=s3,
        use_threads=True,
    )
    env = os.environ | server.env("s3://bench")
    return server, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--method", choices=["prepare", "srs", "stratified", "duckdb", "pandas"])
    parser.add_argument("--root")
    parser.add_argument("--no-s3", action="store_true", help="Skip the S3 half.")
    args = parser.parse_args()
    if args.method == "prepare":
        print(synthetic_traffic_root(args.rows))
        return
    if args.method:
        print(json.dumps(run(args.method, args.root)))
        return
    # Data are made in a child process: Linux children inherit the parent's peak RSS.
    root = Path(_child(["--method", "prepare", "--rows", str(args.rows)]))
    rows = f"{args.rows:,} rows, 90 day partitions"
    _report(
        f"sample of {N} from {rows}, local disk",
        str(root),
        ["srs", "stratified", "duckdb", "pandas"],
        None,
    )
    if args.no_s3:
        return
    with tempfile.TemporaryDirectory() as tmp:
        server, env = _upload_to_s3(root, Path(tmp))
        try:
            _report(
                f"sample of {N} from {rows}, S3 (SeaweedFS on loopback)",
                "s3://bench",
                ["srs", "stratified", "duckdb"],
                env,
            )
        finally:
            server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
