"""Ingest of the production API's logs (``--format insee-api``), beside the obvious script.

The API logs Python dict literals, not JSON. Both ingests run in the same process on the same
file (read once beforehand, so that neither pays for the disk alone):

- ours: ``ingest_file(parser=insee_api_parser)``: the literals turned into JSON in DuckDB,
  validation, quarantine, conflicts, idempotence, atomic day partitions;
- the reference: what Insee's own log-transform script does, ``ast.literal_eval`` of each
  message then ``pandas.json_normalize``, the same columns derived (request id hash, codes,
  scores, confidence, UTC day) and ``to_parquet(partition_cols=["day"])``. No validation.

The synthetic log holds what a real one does: French texts with apostrophes (so both quote
kinds), a few startup and traceback lines. The last line is ``ratio: X``, ours / reference
(lower is better). The default size is the 1M-line reference run; tests only ever run it
with a few hundred lines.

    python -m benchmarks.bench_ingest_insee --lines 1000000
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import CODES, DATA, TITLES, best_in_fresh_folders
from campaigns.storage import Storage
from campaigns.traffic.formats.insee_api import insee_api_parser
from campaigns.traffic.ingest import ingest_file
from campaigns.traffic.synthetic import generate_traffic

# One line in this many is no prediction (startup, warnings, tracebacks): skipped by both.
NOISE_EVERY = 500
NOISE = [
    "{stamp} - INFO - Application startup complete.",
    "{stamp} - WARNING - Slow request: 2.31 s",
    "Traceback (most recent call last):",
]
APOSTROPHES = ["D'ACTIVITE ", "L'ENTREPRISE ", "VENTE D'ARTICLES ", ""]


def api_logs(lines: int, days: int = 90, seed: int = 0) -> Path:
    """A log file of ``lines`` prediction lines in the API's format (cached)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"api-{lines}-{days}-{seed}.log"
    if path.exists():
        return path
    traffic = generate_traffic(CODES, TITLES, n=lines, days=days, seed=seed).logs
    rng = np.random.default_rng(seed)
    prefix = np.array(APOSTROPHES)[rng.integers(0, len(APOSTROPHES), lines)]
    stamps = pd.Series(traffic.column("timestamp").to_pandas()).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    columns = traffic.select(["text", "context", "predictions"]).to_pylist()
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for i, (row, stamp, pre) in enumerate(zip(columns, stamps, prefix, strict=True)):
            stamp = stamp[:23].replace(".", ",")
            if i % NOISE_EVERY == 0:
                out.write(NOISE[i // NOISE_EVERY % len(NOISE)].format(stamp=stamp) + "\n")
            ctx = row["context"]
            query = {
                "description_activity": pre + row["text"],
                "other_nature_activity": None,
                "precision_act_sec_agricole": None,
                "type_form": ctx["liasse_type"],
                "nature": ctx["activ_nat_et"],
                "surface": ctx["activ_surf_et"],
                "cj": ctx["cj"],
                "activity_permanence_status": ctx["activ_perm_et"],
            }
            preds = row["predictions"]
            response: dict[str, object] = {
                str(k): {"code": p["code"], "probabilite": p["score"], "libelle": "Activite"}
                for k, p in enumerate(preds, start=1)
            }
            response["IC"] = round(preds[0]["score"] - preds[1]["score"], 6)
            response["MLversion"] = "run-4f2a"
            out.write(f"{stamp} - INFO - { ({'Query': query, 'Response': response})!r}\n")
    tmp.rename(path)
    return path


def pandas_ast(logs: Path, out: Path) -> int:
    """The reference: one ``ast.literal_eval`` per line, pandas, partitioned Parquet."""
    stamps, messages = [], []
    with logs.open(encoding="utf-8") as src:
        for line in src:
            parts = line.rstrip("\n").split(" - ", 2)
            if len(parts) == 3 and parts[2].startswith("{'Query'"):
                stamps.append(parts[0])
                messages.append(parts[2])
    records = pd.json_normalize([ast.literal_eval(m) for m in messages], max_level=1)
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(stamps, format="%Y-%m-%d %H:%M:%S,%f", utc=True),
            "text": records["Query.description_activity"],
            "model_version": records["Response.MLversion"],
            "confidence": records["Response.IC"],
        }
    )
    ranks = sorted((c for c in records if c.split(".")[-1].isdigit()), key=lambda c: int(c[9:]))
    preds = records[ranks].to_numpy()
    frame["predicted_codes"] = [[p["code"] for p in row] for row in preds]
    frame["scores"] = [[p["probabilite"] for p in row] for row in preds]
    frame["request_id"] = [
        "api-" + hashlib.md5(f"{s} {m}".encode()).hexdigest()
        for s, m in zip(stamps, messages, strict=True)
    ]
    frame["day"] = frame["timestamp"].dt.strftime("%Y-%m-%d")
    frame.to_parquet(out, partition_cols=["day"])
    return len(frame)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="log lines (default 1M)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each; the best counts")
    return parser


def main(argv: list[str] | None = None) -> float:
    """Run both ingests; print their times and the ratio; return the ratio."""
    args = build_parser().parse_args(argv)
    logs = api_logs(args.lines)
    size_mib = logs.stat().st_size / 2**20
    with logs.open("rb") as src:  # into the page cache, for both alike
        while src.read(1 << 24):
            pass

    def ours(out: Path) -> Callable[[], object]:
        def run() -> None:
            summary = ingest_file(logs, Storage.open(str(out / "store")), parser=insee_api_parser)
            assert summary.written == args.lines, summary

        return run

    def reference(out: Path) -> Callable[[], object]:
        def run() -> None:
            assert pandas_ast(logs, out / "reference") == args.lines

        return run

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-insee-"))
    try:
        ours_s = best_in_fresh_folders(args.runs, ours, work)
        reference_s = best_in_fresh_folders(args.runs, reference, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(name: str, seconds: float, note: str) -> None:
        print(f"  {name:<34}: {seconds:7.2f} s {args.lines / seconds:>11,.0f} rows/s  ({note})")

    best_of = f", best of {args.runs}" if args.runs > 1 else ""
    print(f"ingest of {args.lines:,} API log lines ({size_mib:.0f} MiB){best_of}")
    row(
        "annotation-campaigns insee-api",
        ours_s,
        "validated, quarantine, conflicts, day partitions, atomic, idempotent",
    )
    row("pandas + ast.literal_eval", reference_s, "no validation, day partitions")
    ratio = ours_s / reference_s
    print(f"  vs pandas + ast: {reference_s / ours_s:.1f}x faster")
    print(f"ratio: {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
