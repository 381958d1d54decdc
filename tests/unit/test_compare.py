"""Champion / challenger: the batch contract, the paired figures, a truly better model found."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from campaigns.errors import InputFormatError, ServiceUnavailableError
from campaigns.lifecycle.challenger import (
    TransientClassifierError,
    forms_of,
    parse_responses,
    predictions_from_classifier,
    predictions_from_table,
)
from campaigns.lifecycle.compare import compare_campaign, table_source
from campaigns.metrics.comparison import compare_models
from campaigns.metrics.report import comparison_section, render_page
from campaigns.state import crud
from campaigns.state.models import CampaignCreate
from campaigns.storage import Storage

CODES = np.array([f"{10 + i // 10:02d}.{i % 10:02d}Z" for i in range(300)])
LEVELS = pa.table(
    {"subclass": CODES.tolist(), "section": [chr(65 + int(c[:2]) // 5) for c in CODES]}
)


def paired_campaign(
    n: int, *, gain: float, seed: int, breaks: float = 0.02
) -> tuple[pa.Table, pa.Table, float, float]:
    """Gold and a challenger whose population accuracy is the champion's plus ``gain``.

    Four strata (unequal populations); the champion is right with prob. ``p_h``. The
    challenger breaks ``breaks`` of the champion's right answers and fixes a share ``q`` of its
    errors, ``q`` chosen so that ``(1 - p) q - breaks p = gain`` over the population.
    Returns gold, challenger predictions, the champion's and the challenger's true accuracy.
    """
    rng = np.random.default_rng(seed)
    population = np.array([50_000, 30_000, 15_000, 5_000])
    p = np.array([0.92, 0.8, 0.6, 0.4])
    p_bar = float((population * p).sum() / population.sum())
    q = (gain + breaks * p_bar) / (1 - p_bar)
    sizes = np.array([n // 4] * 4)
    stratum = np.repeat(np.arange(4), sizes)
    m = stratum.size
    truth_idx = rng.integers(0, CODES.size, m)
    truth = CODES[truth_idx]
    wrong = CODES[(truth_idx + 1 + rng.integers(0, 50, m)) % CODES.size]
    champion_right = rng.random(m) < p[stratum]
    challenger_right = np.where(champion_right, rng.random(m) >= breaks, rng.random(m) < q)
    champion = np.where(champion_right, truth, wrong)
    challenger = np.where(challenger_right, truth, CODES[(truth_idx + 77) % CODES.size])
    ids = [f"r{i}" for i in range(m)]
    gold = pa.table(
        {
            "request_id": ids,
            "text": [f"ACTIVITE {i}" for i in range(m)],
            "context": [json.dumps({"cj": "5499", "activ_surf_et": 80.0})] * m,
            "status": ["coded"] * m,
            "gold_code": truth,
            "predicted_code": champion,
            "predicted_codes": [[c, "99.99Z"] for c in champion],
            "confidence": rng.random(m),
            "model_version": ["2.1.0"] * m,
            "stratum": [f"h{h}" for h in stratum],
            "weight": (population / sizes)[stratum],
            "stratum_population": population[stratum],
            "stratum_sample_size": sizes[stratum],
        }
    )
    predictions = pa.table(
        {
            "request_id": ids,
            "predicted_codes": [[c, str(t)] for c, t in zip(challenger, truth, strict=True)],
            "scores": [[0.8, 0.2]] * m,
            "model_version": ["3.0.0"] * m,
        }
    )
    return gold, predictions_from_table(predictions), p_bar, p_bar + gain


def test_a_challenger_truly_better_by_3_points_is_found_better():
    gold, challenger, champion_true, challenger_true = paired_campaign(4000, gain=0.03, seed=4)
    result = compare_models(gold, challenger, threshold=0.5, levels=LEVELS, replicates=500)
    diff = result.summary["differences"]["accuracy_subclass"]
    assert diff["ci_low"] <= 0.03 <= diff["ci_high"]
    assert diff["ci_low"] > 0 and result.summary["verdict"] == "challenger better"
    figures = result.summary["figures"]
    for model, truth in (("champion", champion_true), ("challenger", challenger_true)):
        accuracy = figures[model]["accuracy_subclass"]
        assert accuracy["ci_low"] <= truth <= accuracy["ci_high"], model
    # Paired: the difference is known far better than from the two intervals side by side.
    width = diff["ci_high"] - diff["ci_low"]
    apart = np.hypot(
        *(figures[m]["accuracy_subclass"]["ci_high"] - figures[m]["accuracy_subclass"]["ci_low"]
          for m in ("champion", "challenger"))
    )  # fmt: skip
    assert width < 0.6 * apart
    # The accuracy difference is the weighted share of units only the challenger gets right
    # minus the share only the champion gets right.
    disc = result.summary["discordant"]
    assert diff["estimate"] == pytest.approx(
        disc["challenger_only_share"] - disc["champion_only_share"]
    )
    assert result.discordant.num_rows == disc["champion_only"] + disc["challenger_only"]
    # The challenger's rows in any order: the same figures (matched by request id).
    shuffled = challenger.take(np.random.default_rng(0).permutation(challenger.num_rows))
    again = compare_models(gold, shuffled, threshold=0.5, levels=LEVELS, replicates=500)
    for name in ("accuracy_subclass", "top_5_accuracy", "accuracy_auto_coded"):
        assert again.summary["differences"][name] == result.summary["differences"][name]
    # Top-2 holds the truth for the challenger by construction.
    assert figures["challenger"]["top_2_accuracy"]["estimate"] == pytest.approx(1.0)


def test_the_same_model_twice_differs_by_nothing():
    gold, _, _, _ = paired_campaign(800, gain=0.0, seed=1)
    same = predictions_from_table(
        gold.select(["request_id", "predicted_codes", "confidence", "model_version"])
    )
    result = compare_models(gold, same, threshold=0.5, levels=LEVELS, replicates=200)
    for name, diff in result.summary["differences"].items():
        assert diff["estimate"] == 0.0, name
        assert diff["verdict"] == "no significant difference", name
    assert result.discordant.num_rows == 0


def test_a_worse_challenger_is_found_worse_and_missing_predictions_count_as_wrong():
    gold, challenger, _, _ = paired_campaign(4000, gain=-0.05, seed=9)
    half = challenger.slice(0, challenger.num_rows - 10)
    result = compare_models(gold, half, threshold=0.5, levels=LEVELS, replicates=300)
    assert result.summary["verdict"] == "champion better"
    assert result.summary["challenger_missing"] == 10
    with pytest.raises(InputFormatError, match="duplicated"):
        predictions_from_table(pa.concat_tables([challenger, challenger.slice(0, 1)]))


def test_forms_follow_the_batch_contract():
    gold = pa.table(
        {
            "request_id": ["a", "b"],
            "text": ["BOULANGERIE", "TAXI"],
            "context": [
                json.dumps(
                    {"cj": "5499", "activ_nat_et": "10", "activ_surf_et": 80.0,
                     "liasse_type": "M", "activ_perm_et": "S", "evenement_type": "01P"}
                ),
                None,
            ],
        }
    )  # fmt: skip
    forms, dropped = forms_of(gold)
    assert forms[0] == {
        "description_activity": "BOULANGERIE",
        "other_nature_activity": None,
        "precision_act_sec_agricole": None,
        "type_form": "M",
        "nature": "10",
        "surface": None,  # 80 m2 is not one of the contract's surface classes 1-4
        "cj": "5499",
        "activity_permanence_status": "S",
    }
    assert dropped == 1 and forms[1]["description_activity"] == "TAXI"


def response(*codes: str, version: str = "run-42") -> dict:
    ranked = {
        str(i + 1): {"code": c, "probabilite": 0.6 / (i + 1), "libelle": "x"}
        for i, c in enumerate(codes)
    }
    return {**ranked, "IC": 0.3, "MLversion": version}


def test_responses_are_read_by_rank_with_canonical_codes():
    parsed = parse_responses([response("1071C", "4724Z")])
    assert parsed["predicted_codes"] == [["10.71C", "47.24Z"]]
    assert parsed["scores"] == [[0.6, 0.3]] and parsed["confidence"] == [0.3]
    assert parsed["model_version"] == ["run-42"]
    with pytest.raises(InputFormatError, match="not a prediction"):
        parse_responses([{"detail": "Not authenticated"}])


def test_batches_are_retried_then_fail_with_a_hint():
    gold = pa.table({"request_id": ["a", "b", "c"], "text": ["A", "B", "C"]})
    calls: list[int] = []

    def flaky(forms: list[dict]) -> list[dict]:
        calls.append(len(forms))
        if len(calls) == 2:  # the second batch fails once, then answers
            raise TransientClassifierError("503 Service Unavailable")
        return [response("1071C") for _ in forms]

    table, cost = predictions_from_classifier(gold, flaky, batch_size=2, wait_max=0.01)
    assert calls == [2, 1, 1] and cost["batches"] == 2
    assert table.column("request_id").to_pylist() == ["a", "b", "c"]

    def down(forms: list[dict]) -> list[dict]:
        raise TransientClassifierError("connection refused")

    with pytest.raises(ServiceUnavailableError, match="failed 3 times"):
        predictions_from_classifier(gold, down, attempts=3, wait_max=0.01)


def test_a_campaign_comparison_writes_the_dashboard_tables(state_session, state_settings):
    gold, challenger, _, _ = paired_campaign(400, gain=0.05, seed=3)
    storage = Storage.from_settings(state_settings)
    campaign = crud.add_campaign(state_session, CampaignCreate(name="blind-gold", sample_id="s1"))
    campaign.last_export_version = "v1"
    crud.save(state_session, campaign)
    storage.write_table(
        gold.append_column("n_annotations", pa.array([1] * gold.num_rows)),
        f"exports/campaign={campaign.id}/version=v1/gold.parquet",
    )
    storage.write_bytes(b"v1", f"exports/campaign={campaign.id}/LATEST")
    result = compare_campaign(
        state_session,
        storage,
        state_settings,
        campaign,
        table_source(challenger),
        threshold=0.5,
        replicates=100,
    )
    assert result.challenger_version == "3.0.0" and result.champion_versions == ["2.1.0"]
    assert set(result.written) == {"comparison", "comparison_discordant"}
    figures = storage.read_table(result.written["comparison"].removeprefix(storage.root_uri + "/"))
    assert {"campaign_id", "computed_on", "export_version", "challenger_version"} <= set(
        figures.column_names
    )
    assert set(figures.column("model").to_pylist()) == {"champion", "challenger", "difference"}
    assert f"campaign={campaign.id}/computed={date.today()}" in result.written["comparison"]
    as_json = result.as_json()
    assert as_json["summary"]["verdict"] in {"challenger better", "no significant difference"}
    page = render_page("t", [comparison_section(result.comparison, include_plotlyjs=True)])
    assert "Champion vs challenger" in page and "plotly" in page


def test_the_champion_automatic_coding_rate_is_the_census_when_the_window_gives_it():
    gold, challenger, _, _ = paired_campaign(600, gain=0.03, seed=5)
    sampled = compare_models(gold, challenger, threshold=0.5, levels=LEVELS, replicates=100)
    champion = sampled.summary["figures"]["champion"]["auto_coding_rate"]
    assert champion["method"] != "census" and champion["ci_low"] < champion["ci_high"]
    census = compare_models(
        gold,
        challenger,
        threshold=0.5,
        levels=LEVELS,
        replicates=100,
        champion_census=(0.4965, 120_028),
    )
    figure = census.summary["figures"]["champion"]["auto_coding_rate"]
    # As `campaigns metrics` reports it: the window's census, exact.
    assert figure == {
        "estimate": 0.4965,
        "ci_low": 0.4965,
        "ci_high": 0.4965,
        "n": 120_028,
        "method": "census",
    }
    # The challenger's figure and the paired difference are still measured on the gold units.
    assert census.summary["figures"]["challenger"] == sampled.summary["figures"]["challenger"]
    difference = census.summary["differences"]["auto_coding_rate"]
    assert difference["n"] == sampled.summary["differences"]["auto_coding_rate"]["n"] < 120_028
