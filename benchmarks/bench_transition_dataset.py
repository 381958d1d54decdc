"""``transition dataset`` on millions of input rows, beside the recoding alone (its floor).

The input is synthetic (``campaigns.recoding.synthetic``: the real correspondence, Zipf-like
old codes, 35% of rows on multivocal codes, texts drawn from each new code's vocabulary),
cached under ``benchmarks/_data``. Experts answered a simple random batch of the queue
(``--experts`` rows, the synthetic truth). Each phase runs in its own process, so its peak
memory is its own:

- ``recode``: read the Parquet input, ``nace_mapping.recode_table`` (DuckDB): the three
  parts. What the transition costs without any model: the engine's floor.
- ``dataset``: the same recoding, then ``campaigns.recoding.dataset.build_dataset``: union
  weights, training rows (univocal rows capped at 300 per candidate code, titles, expert
  rows: training is on that capped subsample), 5-fold cross-validation, calibration, the
  final per-old-code models, prediction of every distinct (old code, text, context) of the
  queue, assembly of every input row with code and provenance, written as one Parquet file.

    python -m benchmarks.bench_transition_dataset --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks._common import DATA, peak_rss_mib


def input_files(rows: int) -> tuple[Path, Path]:
    """The synthetic input (text, code, context) and its truth, generated once."""
    from campaigns.recoding.synthetic import synthetic_transition
    from nace_mapping import Correspondence

    DATA.mkdir(exist_ok=True)
    table_path = DATA / f"transition-{rows}.parquet"
    truth_path = DATA / f"transition-{rows}.truth.parquet"
    if not (table_path.exists() and truth_path.exists()):
        data = synthetic_transition(Correspondence.builtin(), rows=rows, seed=0)
        pq.write_table(data.table, table_path)
        pq.write_table(data.truth.select(["request_id", "true_code"]), truth_path)
    return table_path, truth_path


def run_recode(table_path: Path) -> dict[str, object]:
    from nace_mapping import Correspondence, recode_table

    correspondence = Correspondence.builtin()
    start = time.perf_counter()
    result = recode_table(pq.read_table(table_path), correspondence)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_mib": peak_rss_mib(),
        "univocal": result.univocal.num_rows,
        "multivocal": result.multivocal.num_rows,
        "quarantined": result.quarantine.num_rows,
    }


def run_dataset(table_path: Path, truth_path: Path, experts: int) -> dict[str, object]:
    from campaigns.recoding.candidate_model import ModelConfig
    from campaigns.recoding.dataset import DatasetInputs, build_dataset, fit_model, predict_queue
    from campaigns.recoding.simulation import drawn_table
    from nace_mapping import Correspondence, Nomenclature, recode_table

    correspondence = Correspondence.builtin()
    new = Nomenclature.builtin("naf2025")
    titles = {c: new.title(c) or c for c in set(correspondence.pairs["new_code"])}
    truth = pq.read_table(truth_path)
    start = time.perf_counter()
    result = recode_table(pq.read_table(table_path), correspondence)
    recoded = time.perf_counter() - start
    # The experts' batch: a simple random sample of the queue, answered with the truth.
    queue = result.multivocal
    rng = np.random.default_rng(0)
    picked = np.sort(rng.choice(queue.num_rows, size=min(experts, queue.num_rows), replace=False))
    ids = queue.column("request_id").take(pa.array(picked)).combine_chunks()
    answers = truth.filter(pc.is_in(truth.column("request_id"), value_set=ids))
    gold = pa.table(
        {
            "request_id": answers.column("request_id"),
            "status": pa.array(["coded"] * answers.num_rows),
            "gold_code": answers.column("true_code"),
            "batch": pa.array(["b1"] * answers.num_rows),
        }
    )
    drawn = drawn_table("b1", ids.to_pylist(), np.full(len(ids), len(ids) / queue.num_rows))
    inputs = DatasetInputs(result.univocal, queue, result.quarantine, gold, drawn, ["b1"], titles)
    phases = {"recode": recoded}
    mark = time.perf_counter()
    run = fit_model(inputs, ModelConfig(), folds=5)
    phases["train (weights, cv, calibration, models)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    predictions = predict_queue(run, queue, run.experts["request_id"].tolist())
    phases["predict the queue"] = time.perf_counter() - mark
    mark = time.perf_counter()
    built = build_dataset(inputs, run=run, predictions=predictions)
    with tempfile.TemporaryDirectory() as folder:
        pq.write_table(built.table, Path(folder) / "dataset.parquet", compression="zstd")
    phases["assemble + write Parquet"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    predicted = built.table.filter(pc.equal(built.table.column("provenance"), "predicted"))
    sample = predicted.slice(0, 200_000).select(["request_id", "code"])
    joined = sample.join(truth, "request_id")
    accuracy = pc.mean(
        pc.cast(pc.equal(joined.column("code"), joined.column("true_code")), pa.float64())
    ).as_py()
    cv = built.run.cv
    return {
        "seconds": seconds,
        "recode_seconds": recoded,
        "phases": phases,
        "distinct": int(
            pc.count_distinct(
                pc.binary_join_element_wise(queue.column("code"), queue.column("text"), "|")
            ).as_py()
        ),
        "peak_mib": peak_rss_mib(),
        "counts": built.counts,
        "training": built.run.training_counts,
        "cv": cv.lines() if cv else [],
        "true_accuracy_predicted": accuracy,
        "expected_accuracy_predicted": built.expected_accuracy_of_predicted,
    }


def child(phase: str, rows: int, experts: int) -> dict[str, object]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_transition_dataset",
            "--phase",
            phase,
            "--rows",
            str(rows),
            "--experts",
            str(experts),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--experts", type=int, default=2000, help="Expert rows (one batch).")
    parser.add_argument("--phase", choices=["recode", "dataset"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    table_path, truth_path = input_files(args.rows)
    if args.phase == "recode":
        print(json.dumps(run_recode(table_path)))
        return
    if args.phase == "dataset":
        print(json.dumps(run_dataset(table_path, truth_path, args.experts)))
        return
    recode = child("recode", args.rows, args.experts)
    dataset = child("dataset", args.rows, args.experts)
    n = args.rows
    print(
        f"transition dataset of {n:,} input rows ({recode['univocal']:,} univocal, "
        f"{recode['multivocal']:,} multivocal, {recode['quarantined']:,} quarantined), "
        f"{args.experts:,} expert rows"
    )
    print(
        f"  recode alone (engine floor)       : {recode['seconds']:7.2f} s  "
        f"{n / recode['seconds']:>11,.0f} rows/s  peak {recode['peak_mib']:,.0f} MiB"
    )
    print(
        f"  dataset: recode + train + predict : {dataset['seconds']:7.2f} s  "
        f"{n / dataset['seconds']:>11,.0f} rows/s  peak {dataset['peak_mib']:,.0f} MiB"
        f"  (its recode {dataset['recode_seconds']:.2f} s)"
    )
    for phase, took in dataset["phases"].items():
        print(f"    {phase:<40} {took:7.2f} s")
    print(
        f"  training rows (capped subsample): {dataset['training']}; the queue's "
        f"{recode['multivocal']:,} rows have {dataset['distinct']:,} distinct (old code, text)"
    )
    print(f"  rows by provenance: {dataset['counts']}")
    for line in dataset["cv"]:
        print(f"  cv  {line}")
    print(
        f"  predicted rows: true accuracy {dataset['true_accuracy_predicted']:.1%} (first 200k),"
        f" expected from calibrated confidence {dataset['expected_accuracy_predicted']:.1%}"
    )
    print(f"ratio: {dataset['seconds'] / recode['seconds']:.1f}")


if __name__ == "__main__":
    main()
