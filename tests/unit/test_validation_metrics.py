"""Validation figures: share confirmed with its interval, by level and coding mode, corrections."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from campaigns.config import Settings
from campaigns.labelstudio.validation.config import NO, TAXONOMY, TEXT, VERDICT, YES
from campaigns.labelstudio.validation.results import validation_annotations
from campaigns.metrics.bootstrap import wilson
from campaigns.metrics.gold_labels import resolve_gold
from campaigns.metrics.validation_metrics import (
    NotAValidationExport,
    validation_metrics,
    write_validation_metrics,
)
from campaigns.nomenclatures import old_nomenclature
from campaigns.storage import Storage

LEVELS = old_nomenclature(Settings(_env_file=None)).levels_table()


def answer(expert: int, given: str, picked: str | None, remark: str | None = None) -> dict:
    result = [{"from_name": VERDICT, "to_name": TEXT, "type": "choices",
               "value": {"choices": [YES if picked == given else NO]}}]  # fmt: skip
    if picked not in (None, given):
        result.append({"from_name": TAXONOMY, "to_name": TEXT, "type": "taxonomy",
                       "value": {"taxonomy": [[picked]]}})  # fmt: skip
    if remark:
        result.append({"from_name": "remark", "to_name": TEXT, "type": "textarea",
                       "value": {"text": [remark]}})  # fmt: skip
    return {"id": None, "completed_by": expert, "result": result, "updated_at": "2026-10-01"}


# request id -> (given code, confidence, answers of the experts: picked codes)
UNITS: dict[str, tuple[str, float | None, list[str | None]]] = {
    "u1": ("47.11B", 0.95, ["47.11B"]),
    "u2": ("47.11B", 0.91, ["47.11B"]),
    "u3": ("47.11B", 0.85, ["47.11D"]),  # corrected inside the class 47.11
    "u4": ("10.71C", 0.99, ["10.71C"]),
    "u5": ("10.71C", 0.30, ["10.71C"]),
    "u6": ("10.71C", 0.40, ["47.24Z"]),  # corrected into another section
    "u7": ("62.01Z", 0.20, ["62.01Z"]),
    "u8": ("62.01Z", None, ["62.01Z"]),  # a clerk's code: no confidence
    "u9": ("62.01Z", 0.95, ["62.01Z", "62.02A"]),  # two experts disagree
    "u10": ("62.01Z", 0.50, [None]),  # "no" with the code typed in the remark
}


def export() -> tuple[pa.Table, pa.Table]:
    tasks, n = [], 0
    for rid, (given, _, picks) in UNITS.items():
        annotations = []
        for expert, picked in enumerate(picks, start=1):
            n += 1
            remark = "4724Z" if picked is None else None
            annotations.append(answer(expert, given, picked, remark) | {"id": n})
        tasks.append({"id": n, "data": {"request_id": rid, "given_code": given},
                      "annotations": annotations})  # fmt: skip
    annotations = validation_annotations(tasks, LEVELS.column("subclass").to_pylist().__contains__)
    sample = pa.table(
        {
            "request_id": list(UNITS),
            "text": [f"TEXT {rid}" for rid in UNITS],
            "confidence": [u[1] for u in UNITS.values()],
            "weight": [100.0] * len(UNITS),
            "stratum": ["all"] * len(UNITS),
            "stratum_sample_size": [len(UNITS)] * len(UNITS),
            "stratum_population": [1000] * len(UNITS),
        }
    )
    return resolve_gold(annotations, sample), annotations


def test_share_confirmed_with_wilson_interval_levels_and_modes():
    gold, annotations = export()
    result = validation_metrics(gold, annotations, threshold=0.8, levels=LEVELS)
    summary = result.summary
    # u1..u8 have a gold code (u9 is a tie, u10 a code in the remark): 6 of 8 confirmed.
    assert summary["units_with_a_code"] == 8
    confirmed = summary["confirmed"]
    assert confirmed["estimate"] == pytest.approx(6 / 8) and confirmed["n"] == 8
    # The interval is the project's proportion interval (a Wilson score interval for this
    # simple random design): it brackets the estimate, stays in [0, 1] and is as wide as
    # eight units make it.
    assert 0.0 <= confirmed["ci_low"] < 6 / 8 < confirmed["ci_high"] <= 1.0
    low, high = wilson(6, 8)
    assert confirmed["ci_high"] - confirmed["ci_low"] >= 0.8 * (high - low)
    levels = summary["by_level"]
    assert levels["confirmed_class"]["estimate"] == pytest.approx(7 / 8)  # u3 keeps 47.11
    assert levels["confirmed_section"]["estimate"] == pytest.approx(7 / 8)
    assert levels["confirmed_subclass"]["estimate"] == pytest.approx(6 / 8)
    modes = summary["by_mode"]
    assert (modes["automatic"]["n"], modes["automatic"]["estimate"]) == (4, pytest.approx(3 / 4))
    assert (modes["manual"]["n"], modes["manual"]["estimate"]) == (3, pytest.approx(2 / 3))
    assert (modes["unknown"]["n"], modes["unknown"]["estimate"]) == (1, 1.0)
    assert summary["status_counts"] == {"coded": 8, "disagreement": 1, "code_in_remark": 1}
    assert result.figures.column("figure").to_pylist()[0] == "confirmed"
    assert result.by_mode.column("mode").to_pylist() == ["automatic", "manual", "unknown"]


def test_corrections_and_the_review_list():
    gold, annotations = export()
    result = validation_metrics(gold, annotations, threshold=0.8, levels=LEVELS)
    corrections = {
        (r["given_code"], r["gold_code"]): r["n"] for r in result.corrections.to_pylist()
    }
    assert corrections == {("47.11B", "47.11D"): 1, ("10.71C", "47.24Z"): 1}
    assert result.corrections.column("gold_title").to_pylist()[0]
    review = {r["request_id"]: r for r in result.review.to_pylist()}
    assert set(review) == {"u9", "u10"}
    assert review["u9"]["status"] == "disagreement" and "62.02A" in review["u9"]["proposed"]
    assert review["u10"]["status"] == "code_in_remark" and "47.24Z" in review["u10"]["proposed"]


def test_a_stratified_design_and_no_levels_table():
    gold, annotations = export()
    strata = ["a" if i % 2 else "b" for i in range(gold.num_rows)]
    weights = [10.0 if s == "a" else 30.0 for s in strata]
    gold = gold.set_column(gold.schema.get_field_index("stratum"), "stratum", pa.array(strata))
    gold = gold.set_column(gold.schema.get_field_index("weight"), "weight", pa.array(weights))
    result = validation_metrics(gold, annotations, threshold=0.8, replicates=200)
    confirmed = result.summary["confirmed"]
    assert confirmed["ci_low"] <= confirmed["estimate"] <= confirmed["ci_high"]
    assert "confirmed_section" not in result.summary["by_level"]  # needs the levels table
    assert result.summary["by_level"]["confirmed_class"]["n"] == 8


def test_another_kind_of_export_is_refused():
    gold, annotations = export()
    with pytest.raises(NotAValidationExport):
        validation_metrics(gold, annotations.drop_columns(["given_code"]), threshold=0.8)


def test_tables_for_the_dashboard(tmp_path):
    gold, annotations = export()
    result = validation_metrics(gold, annotations, threshold=0.8, levels=LEVELS)
    storage = Storage.open(str(tmp_path))
    written = write_validation_metrics(
        storage, 4, result, export_version="v1", computed_on=date(2026, 10, 2)
    )
    assert set(written) == {"figures", "by_mode", "corrections", "review", "summary"}
    figures = storage.read_table(
        "metrics/validation_figures/campaign=4/computed=2026-10-02/export-v1.parquet"
    )
    assert set(figures.column("campaign_id").to_pylist()) == {4}
