"""Recoding (text, old code) rows NAF rév.2 -> NAF 2025, beside a pandas merge baseline.

Both read the same Parquet file and produce the same three parts (univocal with the new code,
multivocal queue with candidates, quarantine); ours runs in DuckDB with validation and
ordered outputs, the baseline is a straightforward pandas normalise + merge + split.

    python -m benchmarks.bench_recode --rows 10000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._common import DATA, timed
from nace_mapping import Correspondence, recode_parquet


def input_file(rows: int, corr: Correspondence) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"recode-{rows}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    olds = np.array(sorted(set(corr.pairs["old_code"])))
    codes = olds[rng.integers(0, len(olds), rows)]
    undotted = rng.random(rows) < 0.5  # real data mixes 62.01Z and 6201Z
    codes = np.where(undotted, np.char.replace(codes, ".", ""), codes)
    codes[rng.random(rows) < 0.001] = "99.99Z"  # a few unknown codes
    texts = np.char.add("TEXTE ", (np.arange(rows) % 50_000).astype(str))
    pq.write_table(pa.table({"text": texts, "code": codes}), path)
    return path


def pandas_baseline(path: Path, corr: Correspondence, out: Path) -> None:
    frame = pd.read_parquet(path)
    code = frame["code"].str.strip().str.upper()
    frame["code"] = code.where(
        code.str.contains(".", regex=False), code.str[:2] + "." + code.str[2:]
    )
    targets = corr.pairs.groupby("old_code")["new_code"].agg(list).rename("candidates")
    merged = frame.merge(targets, left_on="code", right_index=True, how="left")
    n = merged["candidates"].str.len()
    uni = merged[n == 1].assign(new_code=lambda d: d["candidates"].str[0])
    uni.drop(columns="candidates").to_parquet(out / "univocal.parquet")
    merged[n > 1].to_parquet(out / "multivocal_queue.parquet")
    merged[merged["candidates"].isna()].to_parquet(out / "quarantine.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--correspondence", help="A correspondence table (default: the built-in official one)."
    )
    args = parser.parse_args()
    corr = (
        Correspondence.from_path(args.correspondence)
        if args.correspondence
        else Correspondence.builtin()
    )
    path = input_file(args.rows, corr)
    work = Path(tempfile.mkdtemp(prefix="bench-recode-"))
    try:
        summary, ours = timed(lambda: recode_parquet(path, work / "ours", corr))
        (work / "pandas").mkdir()
        _, naive = timed(lambda: pandas_baseline(path, corr, work / "pandas"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.rows
    print(f"recode of {n:,} (text, old code) rows, {len(corr.pairs)} correspondence pairs")
    print(
        f"  annotation-campaigns recode_parquet: {ours:6.2f} s  {n / ours:>12,.0f} rows/s"
        f"  ({summary['univocal']:,} univocal, {summary['multivocal']:,} queued,"
        f" {summary['quarantined']:,} quarantined)"
    )
    print(f"  pandas normalise + merge + split   : {naive:6.2f} s  {n / naive:>12,.0f} rows/s")
    print(f"  speed-up: {naive / ours:.1f}x")
    print(f"ratio: {ours / naive:.2f}")


if __name__ == "__main__":
    main()
