"""Agreement statistics against published known answers and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from campaigns.metrics.agreement import (
    agreement_summary,
    annotator_vs_majority,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    pairwise_agreement,
)

# Fleiss (1971) as tabulated on Wikipedia ("Fleiss' kappa", worked example): 10 subjects,
# 14 ratings each, 5 categories; the cell is the number of raters putting the subject in the
# category. Published answer: P-bar = 0.378, P-e = 0.213, kappa = 0.210.
FLEISS_COUNTS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C (also the
# Wikipedia example): 4 observers, 12 units, nominal values, None = missing.
# Published answer: alpha_nominal = 0.743.
KRIPPENDORFF_DATA = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def long_table(rows: list[tuple[object, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task_id", "annotator", "label"])


def fleiss_table() -> pa.Table:
    rows = []
    for subject, counts in enumerate(FLEISS_COUNTS):
        labels = np.repeat([f"c{j}" for j in range(5)], counts)
        rows += [(subject, f"rater{r}", str(label)) for r, label in enumerate(labels)]
    return pa.Table.from_pandas(long_table(rows), preserve_index=False)


def krippendorff_table() -> pa.Table:
    rows = [
        (f"u{unit + 1}", coder, None if value is None else str(value))
        for coder, values in KRIPPENDORFF_DATA.items()
        for unit, value in enumerate(values)
    ]
    return pa.Table.from_pandas(long_table(rows), preserve_index=False)


def cohen_table() -> pd.DataFrame:
    """Wikipedia's "Cohen's kappa" example: 50 items, yes/yes 20, yes/no 5, no/yes 10, no/no 15.

    p_o = 35/50 = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = (0.7 - 0.5) / 0.5 = 0.4.
    """
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10
    pairs += [("no", "no")] * 15
    rows = [(i, "A", a) for i, (a, _) in enumerate(pairs)]
    rows += [(i, "B", b) for i, (_, b) in enumerate(pairs)]
    return long_table(rows)


def test_fleiss_kappa_matches_fleiss_1971_example():
    assert fleiss_kappa(fleiss_table()) == pytest.approx(0.210, abs=0.001)


def test_fleiss_kappa_uses_only_tasks_with_the_modal_number_of_ratings():
    # A task with more (16) and one with fewer (2) ratings than the modal 14: both ignored.
    rows = [(99, f"rater{r}", f"c{r % 2}") for r in range(16)]
    extra = long_table([*rows, (98, "rater0", "c0"), (98, "rater1", "c4")])
    table = pd.concat([fleiss_table().to_pandas(), extra], ignore_index=True)
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=0.001)


def test_krippendorff_alpha_matches_krippendorff_2011_example():
    assert krippendorff_alpha_nominal(krippendorff_table()) == pytest.approx(0.743, abs=0.001)


def test_krippendorff_alpha_ignores_units_with_a_single_rating():
    lone = long_table([("u99", "A", "1"), ("u98", "B", "7")])
    table = pd.concat([krippendorff_table().to_pandas(), lone], ignore_index=True)
    assert krippendorff_alpha_nominal(table) == pytest.approx(0.743, abs=0.001)


def test_cohen_kappa_matches_hand_computed_example():
    assert cohen_kappa(cohen_table()) == pytest.approx(0.4, abs=1e-9)


def test_cohen_kappa_uses_only_tasks_both_annotators_labelled():
    extra = long_table([(100, "A", "yes"), (101, "B", "no"), (102, "A", "no"), (102, "B", None)])
    table = pd.concat([cohen_table(), extra], ignore_index=True)
    assert cohen_kappa(pa.Table.from_pandas(table, preserve_index=False)) == pytest.approx(0.4)


def test_cohen_kappa_raises_on_three_annotators():
    table = long_table([(1, "A", "x"), (1, "B", "x"), (1, "C", "y"), (2, "A", "y")])
    with pytest.raises(ValueError, match="exactly 2 annotators, found 3"):
        cohen_kappa(table)


def test_cohen_kappa_raises_when_annotators_share_no_task():
    table = long_table([(1, "A", "x"), (2, "B", "x")])
    with pytest.raises(ValueError, match="share none"):
        cohen_kappa(table)


def test_perfect_agreement_gives_one_everywhere():
    labels = ["a", "b", "c", "a", "b", "c"]
    rows = [(task, who, label) for task, label in enumerate(labels) for who in ("A", "B")]
    table = long_table(rows)
    assert cohen_kappa(table) == pytest.approx(1.0)
    assert fleiss_kappa(table) == pytest.approx(1.0)
    assert krippendorff_alpha_nominal(table) == pytest.approx(1.0)
    assert pairwise_agreement(table) == pytest.approx(1.0)


def test_pairwise_agreement_pools_pairs_over_tasks():
    # task 1: a, a, b -> 1 of 3 pairs agree; task 2: x, x -> 1 of 1; task 3: single rating.
    table = long_table(
        [(1, "A", "a"), (1, "B", "a"), (1, "C", "b"), (2, "A", "x"), (2, "B", "x"), (3, "A", "q")]
    )
    assert pairwise_agreement(table) == pytest.approx(2 / 4)


def test_summary_returns_none_for_kappas_without_overlap():
    table = long_table([(1, "A", "x"), (2, "B", "y"), (3, "A", "y"), (3, "B", None)])
    summary = agreement_summary(table)
    assert summary == {
        "tasks_with_overlap": 0,
        "annotators": 2,
        "percent_agreement": None,
        "cohen_kappa": None,
        "fleiss_kappa": None,
        "krippendorff_alpha": None,
    }


def test_summary_on_cohen_example():
    summary = agreement_summary(cohen_table())
    assert summary["tasks_with_overlap"] == 50
    assert summary["annotators"] == 2
    assert summary["percent_agreement"] == pytest.approx(0.7)
    assert summary["cohen_kappa"] == pytest.approx(0.4)
    # Two raters per task: Fleiss' kappa pools both marginals, p_e = 0.55^2 + 0.45^2 = 0.505.
    assert summary["fleiss_kappa"] == pytest.approx((0.7 - 0.505) / (1 - 0.505))
    assert summary["krippendorff_alpha"] is not None


def test_summary_omits_cohen_kappa_for_more_than_two_annotators():
    summary = agreement_summary(krippendorff_table())
    assert summary["annotators"] == 4
    assert summary["cohen_kappa"] is None
    assert summary["krippendorff_alpha"] == pytest.approx(0.743, abs=0.001)
    assert summary["tasks_with_overlap"] == 11


def test_annotator_vs_majority():
    table = long_table(
        [
            (1, "A", "a"),
            (1, "B", "a"),
            (1, "C", "b"),  # majority a
            (2, "A", "x"),
            (2, "B", "y"),  # tie: excluded
            (3, "A", "q"),  # single rating: excluded
            (4, "A", "z"),
            (4, "C", "z"),  # majority z
            (5, "D", "z"),  # D never on a scored task
        ]
    )
    result = annotator_vs_majority(table)
    assert list(result.columns) == ["annotator", "tasks", "agreement_with_majority"]
    assert result["annotator"].tolist() == ["A", "B", "C", "D"]
    assert result["tasks"].tolist() == [2, 1, 2, 0]
    got = result["agreement_with_majority"].tolist()
    assert got[:3] == pytest.approx([1.0, 1.0, 0.5])
    assert math.isnan(got[3])


def test_duplicate_ratings_are_rejected():
    table = long_table([(1, "A", "x"), (1, "A", "y"), (1, "B", "x")])
    with pytest.raises(ValueError, match="repeat a"):
        krippendorff_alpha_nominal(table)
