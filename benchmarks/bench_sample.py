"""Sampling: 2,000 units from ``--rows`` rows of traffic (90 day partitions), local disk and S3.

Methods (each run in a process of its own, so its peak memory is its own):

- ``srs``: our simple random sample (reproducible splitmix64 permutation, inclusion
  probabilities)
- ``stratified``: our stratified sample over 20 confidence-index strata, proportional
  allocation with at least 2 per stratum (one pass: a per-stratum heap of the smallest keys)
- ``duckdb``: the reference, bare DuckDB ``USING SAMPLE 2000 ROWS (reservoir)`` over the same
  columns: the engine's floor for one scan of the window
- ``pandas``: load the window into memory, cut the strata, ``groupby().sample()`` (up to 10M
  rows: beyond, it needs more memory than the machine has)

Ours and the reference alternate, one run per process, ``--rounds`` times; each figure is the
best of its runs. On S3 (SeaweedFS started by the script on 127.0.0.1, 10M rows at most) ours
goes through ``sampling_source`` as the product does (the window's files copied to local disk,
then sampled there) and the reference scans the same files through the Arrow dataset. Above
10M rows the 10M case is run too, to show how time grows with the rows.

The last line is ``ratio: X``, ours stratified / the bare scan in time (lower is better): on
S3 when S3 is measured, else on local disk at ``--rows``.

    python -m benchmarks.bench_sample --rows 10000000
    python -m benchmarks.bench_sample --rows 100000000
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
BASE_ROWS = 10_000_000  # the size the scaling is measured from; also the S3 and pandas bound
LABELS = {
    "srs": "ours, simple random sample     ",
    "stratified": "ours, stratified (20 strata)   ",
    "duckdb": "bare DuckDB scan, same columns ",
    "pandas": "pandas load + groupby().sample ",
}


def run(method: str, root: str) -> dict[str, float]:
    from campaigns.duck import connect
    from campaigns.sampling.designs import Design, draw_sample_from
    from campaigns.storage import Storage
    from campaigns.traffic.window import (
        Window,
        sampling_source,
        traffic_dataset,
        window_relation,
        window_rows_fetcher,
    )

    window = Window(date(2026, 6, 1), date(2026, 9, 1))
    storage = Storage.open(root)
    design = Design(confidence_edges=EDGES) if method == "stratified" else Design()

    def ours() -> int:  # as campaigns.sampling.registry.draw_sample does
        with connect() as con, sampling_source(storage, window) as source:
            view = window_relation(con, source, window)
            fetch = window_rows_fetcher(source, window)
            return draw_sample_from(
                con, view.name, design, n=N, seed=1, fetch_rows=fetch
            ).sample_size

    def bare() -> int:
        with connect() as con:
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
    taken, seconds = timed(go)
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


def _measure(
    title: str, root: str, methods: list[str], env: dict[str, str] | None, rounds: int
) -> dict[str, dict[str, float]]:
    """Each method once per round, in turn (ours and the reference alternate); best of each."""
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for _ in range(rounds):
        for method in methods:
            if method == "pandas" and runs[method]:
                continue  # one run: it is the slow, memory-bound comparison
            runs[method].append(json.loads(_child(["--method", method, "--root", root], env)))
    print(title)
    best = {}
    for method in methods:
        seconds = min(r["seconds"] for r in runs[method])
        rss = max(r["peak_rss_mib"] for r in runs[method])
        best[method] = {"seconds": seconds, "peak_rss_mib": rss}
        print(
            f"  {LABELS[method]}: {seconds:7.2f} s   peak RSS {rss:7.0f} MiB"
            f"   (best of {len(runs[method])})"
        )
    strat, bare = best["stratified"]["seconds"], best["duckdb"]["seconds"]
    line = f"  stratified / bare scan: {strat / bare:.2f}x the time"
    if "pandas" in best:
        line += f"; pandas / stratified: {best['pandas']['seconds'] / strat:.1f}x"
    print(line)
    return best


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=BASE_ROWS)
    parser.add_argument("--rounds", type=int, default=3, help="Runs of each method (best of).")
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
    local = ["srs", "stratified", "duckdb"] + (["pandas"] if args.rows <= BASE_ROWS else [])
    results = _measure(
        f"sample of {N} from {args.rows:,} rows, 90 day partitions, local disk",
        str(root),
        local,
        None,
        args.rounds,
    )
    ratio = results["stratified"]["seconds"] / results["duckdb"]["seconds"]
    if args.rows > BASE_ROWS:
        base_root = Path(_child(["--method", "prepare", "--rows", str(BASE_ROWS)]))
        base = _measure(
            f"the same from {BASE_ROWS:,} rows, local disk (the scaling's base)",
            str(base_root),
            ["stratified", "duckdb"],
            None,
            args.rounds,
        )
        grow = results["stratified"]["seconds"] / base["stratified"]["seconds"]
        print(
            f"  ours stratified, {args.rows:,} / {BASE_ROWS:,} rows: {grow:.1f}x the time for "
            f"{args.rows / BASE_ROWS:.0f}x the rows; peak RSS "
            f"{results['stratified']['peak_rss_mib']:.0f} MiB"
        )
    if not args.no_s3 and args.rows <= BASE_ROWS:
        with tempfile.TemporaryDirectory() as tmp:
            server, env = _upload_to_s3(root, Path(tmp))
            try:
                s3 = _measure(
                    f"sample of {N} from {args.rows:,} rows, S3 (SeaweedFS on loopback)",
                    "s3://bench",
                    ["stratified", "duckdb", "srs"],
                    env,
                    args.rounds,
                )
            finally:
                server.stop()  # type: ignore[attr-defined]
        ratio = s3["stratified"]["seconds"] / s3["duckdb"]["seconds"]
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
