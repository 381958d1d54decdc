"""Union-of-batches weights, split and accuracy estimates (campaigns.recoding.estimation)."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from campaigns.metrics.bootstrap import wilson
from campaigns.recoding.active_batches import inclusion_probabilities, proposal
from campaigns.recoding.estimation import estimate_split, union_weights, weighted_ratios


def drawn(rows: list[tuple[str, str, float]]) -> pa.Table:
    batch, rid, pi = zip(*rows, strict=True)
    return pa.table({"batch": list(batch), "request_id": list(rid), "inclusion_prob": list(pi)})


def weights_of(result) -> dict[str, float]:
    table = result.table
    return dict(
        zip(table.column("request_id").to_pylist(), table.column("weight").to_pylist(), strict=True)
    )


def test_one_simple_random_batch_weighs_n_over_n():
    result = union_weights(drawn([("b1", f"r{i}", 0.25) for i in range(5)]), ["b1"], ["r0", "r3"])
    # two of five drawn rows answered: 1/pi expanded by 5/2
    assert weights_of(result) == pytest.approx({"r0": 10.0, "r3": 10.0})
    assert result.batch_shares == {"b1": 1.0}


def test_two_batches_follow_the_formula():
    rows = [
        ("b1", "a", 0.2),
        ("b1", "b", 0.2),
        ("b2", "c", 0.5),
        ("b2", "d", 0.25),
        ("b2", "e", 1.0),
    ]
    result = union_weights(drawn(rows), ["b1", "b2"], ["a", "b", "c", "d", "e"])
    lam1, lam2 = 2 / 5, 3 / 5
    assert weights_of(result) == pytest.approx(
        {
            "a": lam1 / 0.2 + lam2,
            "b": lam1 / 0.2 + lam2,
            "c": lam2 / 0.5,
            "d": lam2 / 0.25,
            "e": lam2,
        }
    )


def test_a_batch_without_answers_is_left_out_and_reported():
    rows = [("b1", "a", 0.5), ("b1", "b", 0.5), ("b2", "c", 0.5)]
    result = union_weights(drawn(rows), ["b1", "b2"], ["a"])
    assert result.left_out == {"b2": 1}
    assert weights_of(result) == pytest.approx({"a": 2 * (1 / 0.5)})


def test_the_combined_estimator_is_exactly_unbiased_under_an_adaptive_second_batch():
    """Enumerate every outcome of a two-batch design on five rows: batch 1 draws one row at
    random, batch 2 one of the four others with probabilities that depend on what batch 1
    saw. The expected estimate of the total equals the total, exactly."""
    y = np.array([1.0, 0.0, 3.0, 2.0, 5.0])
    ids = [f"r{i}" for i in range(5)]
    expected = 0.0
    for first in range(5):
        rest = [i for i in range(5) if i != first]
        # the doubt depends on batch 1's answer: adaptivity is what could bias the estimate
        doubt = np.array([abs(y[i] - y[first]) + 0.1 for i in rest])
        pi = inclusion_probabilities(proposal(doubt, 0.2), 1)
        for k, second in enumerate(rest):
            table = drawn([("b1", ids[first], 0.2), ("b2", ids[second], float(pi[k]))])
            w = weights_of(union_weights(table, ["b1", "b2"], [ids[first], ids[second]]))
            estimate = w[ids[first]] * y[first] + w[ids[second]] * y[second]
            expected += 0.2 * pi[k] * estimate
    assert expected == pytest.approx(y.sum(), rel=1e-12)


def test_the_naive_union_would_be_biased_on_the_same_design():
    y = np.array([1.0, 0.0, 3.0, 2.0, 5.0])
    expected = 0.0
    for first, second in itertools.permutations(range(5), 2):
        rest = [i for i in range(5) if i != first]
        doubt = np.array([abs(y[i] - y[first]) + 0.1 for i in rest])
        pi = inclusion_probabilities(proposal(doubt, 0.2), 1)[rest.index(second)]
        expected += 0.2 * pi * (y[first] + y[second]) / 2
    assert abs(expected - y.mean()) > 0.1


def test_split_shares_are_weighted_and_intervals_use_the_effective_size():
    experts = pa.table(
        {
            "old_code": ["01.19Z"] * 4 + ["03.11Z"] * 2,
            "status": ["coded", "coded", "coded", "none_of_these", "coded", "coded"],
            "gold_code": ["01.13Y", "01.13Y", "01.19Y", None, "03.11Y", "03.30Y"],
            "weight": [1.0, 1.0, 2.0, 5.0, 3.0, 3.0],
        }
    )
    split = estimate_split(experts).to_pylist()
    first = {r["new_code"]: r for r in split if r["old_code"] == "01.19Z"}
    assert first["01.13Y"]["share"] == pytest.approx(0.5)
    assert first["01.19Y"]["estimated_rows"] == pytest.approx(2.0)
    n_eff = 16 / 6  # (1+1+2)^2 / (1+1+4)
    assert first["01.13Y"]["effective_n"] == pytest.approx(n_eff)
    assert (first["01.13Y"]["ci_low"], first["01.13Y"]["ci_high"]) == pytest.approx(
        wilson(0.5 * n_eff, n_eff)
    )
    equal = [r for r in split if r["old_code"] == "03.11Z"]
    assert [r["share"] for r in equal] == pytest.approx([0.5, 0.5])
    assert (equal[0]["ci_low"], equal[0]["ci_high"]) == pytest.approx(wilson(1, 2))


def test_weighted_ratios_with_equal_weights_are_plain_means():
    hits = np.array([1, 0, 1, 1, 0, 1, 1, 1], dtype=float)
    figures = weighted_ratios(
        {"acc": hits, "diff": hits - 0.5}, np.ones(8), np.full(8, 3.0), np.array(["b1"] * 8)
    )
    assert figures["acc"].estimate == pytest.approx(0.75)
    assert figures["diff"].estimate == pytest.approx(0.25)
    assert figures["acc"].ci_low < 0.75 < figures["acc"].ci_high
    assert figures["acc"].n == 8
