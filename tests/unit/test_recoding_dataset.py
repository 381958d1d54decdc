"""The transition dataset on a simulated queue whose truth is known.

Done when: the dataset's predicted rows are more accurate than both baselines (majority
candidate of the observed split, uniform candidate), with intervals; every input row is
there once with its provenance; the training-set reader reads it.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from campaigns.lifecycle.training_set import read_training_set
from campaigns.metrics.bootstrap import Z95, wilson
from campaigns.recoding.dataset import PROVENANCES, build_dataset
from campaigns.recoding.evaluation import majority_codes
from campaigns.recoding.simulation import (
    drawn_table,
    oracle,
    simulated_transition,
    srs,
    study_codes,
)
from nace_mapping import Correspondence, Nomenclature


@pytest.fixture(scope="module")
def simulated():
    correspondence = Correspondence.builtin()
    new = Nomenclature.builtin("naf2025")
    titles = {c: new.title(c) or c for c in set(correspondence.pairs["new_code"])}
    codes = study_codes(correspondence, multivocal=12, univocal=40, seed=1)
    sim = simulated_transition(
        correspondence, titles, rows=15_000, seed=2, old_codes=codes, multivocal_share=0.3
    )
    ids = sim.queue_ids
    pick, pi = srs(ids, 400, np.random.default_rng(0))
    chosen = list(ids[pick])
    inputs = sim.inputs(
        oracle(sim, chosen, "b1"), drawn_table("b1", chosen, np.full(len(chosen), pi)), ["b1"]
    )
    result = build_dataset(inputs, min_confidence=0.5)
    return sim, inputs, result


def test_every_input_row_is_there_once_with_its_provenance(simulated):
    sim, inputs, result = simulated
    table = result.table
    rows = inputs.univocal.num_rows + inputs.queue.num_rows + inputs.quarantine.num_rows
    assert table.num_rows == rows == sum(result.counts.values())
    assert pc.count_distinct(table.column("request_id")).as_py() == rows
    assert set(result.counts) == set(PROVENANCES)
    assert result.counts["univocal"] == inputs.univocal.num_rows
    assert result.counts["quarantined"] == inputs.quarantine.num_rows > 0
    assert result.counts["expert"] == 400
    assert result.counts["predicted"] + result.counts["to_expert"] == inputs.queue.num_rows - 400
    # codes: univocal = the single target, expert = gold, to_expert and quarantined have none
    by = {p: table.filter(pc.equal(table.column("provenance"), p)) for p in PROVENANCES}
    assert by["to_expert"].column("code").null_count == by["to_expert"].num_rows
    assert pc.all(pc.less(by["to_expert"].column("confidence"), 0.5)).as_py()
    assert pc.all(pc.greater_equal(by["predicted"].column("confidence"), 0.5)).as_py()
    assert by["quarantined"].column("reason").null_count == 0
    expert = by["expert"].to_pylist()
    assert all(r["code"] == sim.truth[r["request_id"]] and r["agreement"] is None for r in expert)
    assert all(r["weight"] == pytest.approx(inputs.queue.num_rows / 400) for r in expert)
    assert "cj" in table.column_names  # the input's context columns are kept
    assert all(
        r["predicted_code"] in r["candidates"] for r in by["predicted"].slice(0, 500).to_pylist()
    )


def test_the_training_set_reader_reads_it(simulated, tmp_path):
    _, _, result = simulated
    path = tmp_path / "dataset.parquet"
    pq.write_table(result.table, path)
    training = read_training_set(str(path))
    assert training.column_names == ["text", "code"]
    assert training.num_rows == result.table.num_rows


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean difference of two per-row scores on the same rows, with a normal 95% interval."""
    d = a - b
    half = Z95 * d.std(ddof=1) / math.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def test_predicted_rows_beat_both_baselines_with_intervals(simulated):
    sim, _inputs, result = simulated
    # Cross-validation on the expert rows (what the command prints).
    cv = result.run.cv.accuracy
    assert cv["model"].estimate > cv["majority"].estimate > cv["uniform"].estimate
    assert cv["model - majority"].ci_low > 0 and cv["model - uniform"].ci_low > 0

    # The truth on the rows the dataset predicted (what the simulation alone can tell).
    table = result.table
    predicted = table.filter(pc.equal(table.column("provenance"), "predicted")).to_pylist()
    truth = np.array([sim.truth[r["request_id"]] for r in predicted], dtype=object)
    model = np.array([r["code"] for r in predicted], dtype=object) == truth
    experts = result.run.experts
    groups = result.run.groups
    majority = majority_codes(
        experts["old_code"].to_numpy(dtype=object),
        experts["gold_code"].to_numpy(dtype=object),
        experts["weight"].to_numpy(dtype=float),
        [groups[o] for o in experts["old_code"]],
    )
    major = np.array(
        [
            float(majority[r["old_code"]] == t)
            if r["old_code"] in majority
            else (1 / len(r["candidates"]))
            for r, t in zip(predicted, truth, strict=True)
        ]
    )
    uniform = np.array([1 / len(r["candidates"]) for r in predicted])
    accuracy, n = float(model.mean()), model.size
    low, high = wilson(model.sum(), n)
    diff_major = paired_difference(model.astype(float), major)
    diff_uniform = paired_difference(model.astype(float), uniform)
    print(
        f"\npredicted rows: {n}; true accuracy model {accuracy:.1%} [{low:.1%}, {high:.1%}], "
        f"majority {major.mean():.1%}, uniform {uniform.mean():.1%}; model - majority "
        f"{diff_major[0]:+.1%} [{diff_major[1]:+.1%}, {diff_major[2]:+.1%}], model - uniform "
        f"{diff_uniform[0]:+.1%} [{diff_uniform[1]:+.1%}, {diff_uniform[2]:+.1%}]"
    )
    print("cross-validation:", *result.run.cv.lines(), sep="\n  ")
    assert diff_major[1] > 0 and diff_uniform[1] > 0
    # The calibrated confidence is honest: its mean is the accuracy, within a few points.
    assert abs(result.expected_accuracy_of_predicted - accuracy) < 0.05


def test_split_estimates_cover_the_truth(simulated):
    sim, _, result = simulated
    truth = sim.true_split().set_index(["old_code", "new_code"])["share"]
    rows = result.split.to_pylist()
    inside = [
        r["ci_low"] <= truth.get((r["old_code"], r["new_code"]), 0) <= r["ci_high"] for r in rows
    ]
    assert np.mean(inside) >= 0.85
    shares = pa.table({"o": [r["old_code"] for r in rows], "s": [r["share"] for r in rows]})
    sums = shares.group_by("o").aggregate([("s", "sum")]).column("s_sum").to_pylist()
    assert sums == pytest.approx([1.0] * len(sums))
