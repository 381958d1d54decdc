"""The transition dataset on the inputs its help describes, and what its split tells.

Rows of (id, text, old code) with no context column, or a context column only partly
filled, go through the model, the cross-validation, the assembly and the split. Run with
pandas' future string type (pandas 3's default, where a missing string is a NaN float), the
setting under which the dataset used to stop with ``ArrowTypeError: Expected bytes, got a
'float' object``. The split lists every candidate of each annotated old code (unpicked ones at
0 with an upper bound) and the model's cross-validated accuracy per old code.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from campaigns.metrics.intervals import Z95, wilson
from campaigns.recoding.dataset import DatasetInputs, build_dataset
from campaigns.recoding.simulation import (
    drawn_table,
    oracle,
    simulated_transition,
    srs,
    study_codes,
)
from nace_mapping import Correspondence, Nomenclature

CONTEXT = ["cj", "activ_nat_et"]


@pytest.fixture(scope="module")
def inputs() -> DatasetInputs:
    correspondence = Correspondence.builtin()
    new = Nomenclature.builtin("naf2025")
    titles = {c: new.title(c) or c for c in set(correspondence.pairs["new_code"])}
    codes = study_codes(correspondence, multivocal=5, univocal=10, seed=1)
    sim = simulated_transition(
        correspondence, titles, rows=2500, seed=2, old_codes=codes, multivocal_share=0.4
    )
    ids = sim.queue_ids
    pick, pi = srs(ids, 150, np.random.default_rng(0))
    chosen = list(ids[pick])
    return sim.inputs(
        oracle(sim, chosen, "b1"), drawn_table("b1", chosen, np.full(len(chosen), pi)), ["b1"]
    )


@pytest.fixture(autouse=True)
def pandas_3_strings():
    with pd.option_context("future.infer_string", True):
        yield


def without_context(inputs: DatasetInputs) -> DatasetInputs:
    return dataclasses.replace(
        inputs,
        univocal=inputs.univocal.drop_columns(CONTEXT),
        queue=inputs.queue.drop_columns(CONTEXT),
        quarantine=inputs.quarantine.drop_columns(CONTEXT),
    )


def partly_missing(inputs: DatasetInputs) -> DatasetInputs:
    """Every other row's context set to null, the rest kept."""

    def holes(table: pa.Table) -> pa.Table:
        odd = pa.array(np.arange(table.num_rows) % 2 == 1)
        for name in CONTEXT:
            column = pc.if_else(odd, pa.scalar(None, pa.string()), table.column(name))
            table = table.set_column(table.schema.get_field_index(name), name, column)
        return table

    return dataclasses.replace(
        inputs,
        univocal=holes(inputs.univocal),
        queue=holes(inputs.queue),
        quarantine=holes(inputs.quarantine),
    )


def check_partition(inputs: DatasetInputs, table: pa.Table) -> None:
    rows = inputs.univocal.num_rows + inputs.queue.num_rows + inputs.quarantine.num_rows
    assert table.num_rows == rows
    assert pc.count_distinct(table.column("request_id")).as_py() == rows


def test_the_minimal_input_needs_no_context(inputs):
    minimal = without_context(inputs)
    assert minimal.queue.column_names == [
        "request_id", "text", "code", "candidates", "n_candidates",
    ]  # fmt: skip
    result = build_dataset(minimal, min_confidence=0.5, folds=3)
    check_partition(minimal, result.table)
    assert result.counts["expert"] == 150
    assert result.run.cv is not None and result.run.cv.rows > 100
    assert result.counts["predicted"] + result.counts["to_expert"] > 0
    assert result.split.num_rows > 0


def test_a_context_missing_on_some_rows_is_read_as_missing(inputs):
    holed = partly_missing(inputs)
    result = build_dataset(holed, min_confidence=0.5, folds=3)
    check_partition(holed, result.table)
    assert result.run.cv is not None
    experts = result.run.expert_rows
    contexts = experts.column("context").to_pylist()
    assert None in contexts and any(c and "cj=" in c for c in contexts)  # nulls stay null
    kept = result.table.column("cj")
    assert 0 < kept.null_count < result.table.num_rows  # the input's columns kept as they are


@pytest.fixture(scope="module")
def full(inputs):
    """The dataset with one candidate no expert has picked: its answers taken back."""
    picked = inputs.experts.filter(pc.equal(inputs.experts.column("status"), "coded"))
    counts = picked.group_by("gold_code").aggregate([("request_id", "count")]).to_pylist()
    dropped = min(counts, key=lambda r: (r["request_id_count"], r["gold_code"]))["gold_code"]
    experts = inputs.experts.filter(
        pc.invert(pc.equal(inputs.experts.column("gold_code"), dropped))
    )
    with pd.option_context("future.infer_string", True):
        result = build_dataset(
            dataclasses.replace(inputs, experts=experts), min_confidence=0.5, folds=3
        )
    return result, dropped


def test_the_split_lists_every_candidate_unpicked_ones_at_zero(full):
    full, dropped = full
    split = full.split.to_pylist()
    groups = full.run.groups
    annotated = {r["old_code"] for r in split}
    assert annotated
    for old in annotated:
        rows = [r for r in split if r["old_code"] == old]
        assert {c for c in groups[old]} <= {r["new_code"] for r in rows}
        assert sum(r["share"] for r in rows) == pytest.approx(1.0)
        for r in rows:
            if r["n"] == 0:  # no expert picked it yet: 0, with the bound a pick would need
                n_eff = r["effective_n"]
                assert r["share"] == 0 and r["ci_low"] == 0
                assert r["ci_high"] == pytest.approx(Z95**2 / (n_eff + Z95**2))
                assert r["ci_high"] == pytest.approx(wilson(0, n_eff)[1])
                assert 0 < r["ci_high"] < 1
    unpicked = [r for r in split if r["n"] == 0]
    assert dropped in {r["new_code"] for r in unpicked}


def test_the_model_accuracy_per_old_code(full):
    full, _ = full
    cv = full.run.cv
    per_code = full.accuracy_by_old_code.to_pylist()
    assert {r["old_code"] for r in per_code} == set(cv.old_codes.tolist())
    assert sum(r["evaluated"] for r in per_code) == cv.rows
    accuracies = [r["accuracy"] for r in per_code]
    assert accuracies == sorted(accuracies)  # worst first: where to send experts
    for r in per_code:
        mine = cv.old_codes == r["old_code"]
        expected = float((cv.weights[mine] * cv.correct[mine]).sum() / cv.weights[mine].sum())
        assert r["accuracy"] == pytest.approx(expected)
        assert r["ci_low"] <= r["accuracy"] <= r["ci_high"]
    # Overall, the per-code figures average to the cross-validated accuracy.
    overall = float((cv.weights * cv.correct).sum() / cv.weights.sum())
    assert cv.accuracy["model"].estimate == pytest.approx(overall)
    # The split carries its old code's figure on each of its rows.
    by_code = {r["old_code"]: r["accuracy"] for r in per_code}
    for row in full.split.to_pylist():
        if row["old_code"] in by_code:
            assert row["model_accuracy"] == pytest.approx(by_code[row["old_code"]])
