"""Priors for plans and Neyman allocation: from the last gold campaign, else the scores.

Pure figures on hand-made gold tables (known shrunk accuracies), and the whole path on
synthetic traffic in local storage: a gold campaign on an earlier window, its gold table
written directly as its export, then ``campaigns plan`` and ``campaigns sample`` with Neyman
allocation on the following window and no prior typed.
"""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from sqlmodel import select

from campaigns.sampling.designs import Design
from campaigns.sampling.planning import plan_sample_size
from campaigns.sampling.priors import (
    Priors,
    PriorSource,
    bin_index,
    comparable,
    gold_bin_accuracy,
    score_bin_means,
)


def _gold(confidence: list[float], correct: list[bool], weight: list[float] | None = None):
    n = len(confidence)
    return pa.table(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "status": ["coded"] * n,
            "predicted_code": ["4711Z"] * n,
            "gold_code": ["4711Z" if ok else "4719A" for ok in correct],
            "confidence": confidence,
            "score": [0.5 + c / 2 for c in confidence],
            "weight": weight or [1.0] * n,
        }
    )


def test_gold_accuracy_per_bin_is_shrunk_toward_the_overall_accuracy():
    # Bin [0, 0.5): 4 units, 2 right; bin [0.5, 1]: 16 units, 15 right; overall 17 / 20.
    gold = _gold([0.2] * 4 + [0.9] * 16, [True, False, True, False] + [True] * 15 + [False])
    accuracy, units = gold_bin_accuracy(gold, (0.5,))
    assert units == (4, 16)
    # (4 * 0.5 + 10 * 0.85) / 14 = 0.75; (16 * 0.9375 + 8.5) / 26 = 0.903846...
    assert accuracy == (0.75, 0.9038)


def test_a_bin_without_gold_units_gets_the_overall_accuracy_and_weights_count():
    # Two bins with gold, weights 3 and 1: overall (3 * 1 + 1 * 0) / 4 = 0.75 with 10 pseudo-units.
    gold = _gold([0.1, 0.9], [True, False], weight=[3.0, 1.0])
    accuracy, units = gold_bin_accuracy(gold, (0.5, 0.95))
    assert units == (1, 1, 0)
    assert accuracy == (round((1 * 1.0 + 7.5) / 11, 4), round((0 + 7.5) / 11, 4), 0.75)


def test_units_without_a_code_do_not_count():
    gold = _gold([0.9, 0.9, 0.9], [True, True, False]).set_column(
        1, "status", pa.array(["coded", "coded", "cannot_code"])
    )
    accuracy, units = gold_bin_accuracy(gold, ())
    assert units == (2,)
    assert accuracy == (1.0,)


def test_bins_cut_as_the_design_sql_does():
    index = bin_index(np.array([0.0, 0.49, 0.5, 0.8, 1.0, math.nan]), (0.5, 0.8))
    assert index.tolist() == [0, 0, 1, 2, 2, 2]


def test_score_means_per_bin_calibrated_or_raw():
    bins = np.array([0, 0, 1])
    scores = np.array([0.4, 0.6, 0.9])
    counts = np.array([1, 3, 2])
    # Bin 0: (0.4 + 3 * 0.6) / 4; bin 1: 0.9; bin 2 has no traffic: the overall 4.0 / 6.
    assert score_bin_means(bins, scores, counts, 3) == (0.55, 0.9, 0.6667)
    halved = score_bin_means(bins, scores, counts, 3, calibrate=lambda s: s / 2)
    assert halved == (0.275, 0.45, 0.3333)
    assert score_bin_means(bins, scores, np.zeros(3), 3) is None


def test_comparable_strata_need_the_same_variables():
    design = Design(confidence_edges=(0.5, 0.8))
    assert comparable(design, json.dumps({"confidence_edges": [0.5, 0.8], "by_section": False}))
    assert not comparable(design, json.dumps({"confidence_edges": [0.5]}))
    assert not comparable(design, json.dumps({"confidence_edges": [0.5, 0.8], "by_section": True}))


def test_typed_priors_override_and_the_design_gets_found_ones():
    design = Design(confidence_edges=(0.5,), allocation="neyman")
    found = Priors((0.7, 0.95), PriorSource.GOLD, "g", (10, 30))
    assert found.apply(design).prior_accuracy == (0.7, 0.95)
    typed = Design(confidence_edges=(0.5,), allocation="neyman", prior_accuracy=(0.6, 0.9))
    kept = Priors((0.6, 0.9), PriorSource.TYPED)
    assert kept.apply(typed) is typed
    assert "gold campaign 'g' (40 coded units" in found.describe()


# -- the whole path: a window that follows a gold campaign ---------------------------------------

GOLD_END, NEXT_END = "2026-08-31", "2026-09-30"


@pytest.fixture
def after_gold(local_env, tmp_path, cli):
    """Traffic over two months, a gold campaign on the first one with its gold exported."""
    from campaigns.config import get_settings
    from campaigns.state.db import session_scope
    from campaigns.state.models import Campaign, CampaignKind, CampaignStatus, Sample
    from campaigns.storage import Storage

    logs = tmp_path / "traffic.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "4000", "--days", "60",
        "--end", NEXT_END, "--seed", "3")  # fmt: skip
    cli("traffic", "ingest", str(logs))
    cli("sample", "-n", "300", "--days", "30", "--end", GOLD_END,
        "--confidence-edges", "0.5")  # fmt: skip
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with session_scope(settings) as session:
        sample = session.exec(select(Sample)).one()
        units = storage.read_table(f"samples/{sample.id}.parquet")
        confidence = units.column("confidence").to_pylist()
        # Known errors: every other unit wrong below 0.5, every tenth at or above.
        low_seen = high_seen = 0
        right = []
        for c in confidence:
            if c < 0.5:
                right.append(low_seen % 2 == 0)
                low_seen += 1
            else:
                right.append(high_seen % 10 != 0)
                high_seen += 1
        predicted = units.column("predicted_code").to_pylist()
        gold = units.append_column("status", pa.array(["coded"] * units.num_rows)).append_column(
            "gold_code",
            pa.array([p if ok else "0111Z" for p, ok in zip(predicted, right, strict=True)]),
        )
        campaign = Campaign(
            name="gold-aug",
            kind=CampaignKind.GOLD,
            sample_id=sample.id,
            status=CampaignStatus.EXPORTED,
            last_export_version="v1",
        )
        session.add(campaign)
        session.commit()
        storage.write_table(gold, f"exports/campaign={campaign.id}/version=v1/gold.parquet")
        storage.write_bytes(b"v1", f"exports/campaign={campaign.id}/LATEST")
    weights = gold.column("weight").to_pylist()
    return {"confidence": confidence, "right": right, "weight": weights}


def _expected_priors(gold: dict) -> tuple[float, float]:
    """The module's formula, by hand: per bin accuracy shrunk with 10 pseudo-units."""
    rows = list(zip(gold["confidence"], gold["right"], gold["weight"], strict=True))
    overall = sum(w * ok for _, ok, w in rows) / sum(w for _, _, w in rows)
    out = []
    for in_bin in (lambda c: c < 0.5, lambda c: c >= 0.5):
        part = [(ok, w) for c, ok, w in rows if in_bin(c)]
        own = sum(w * ok for ok, w in part) / sum(w for _, w in part)
        out.append(round((len(part) * own + 10 * overall) / (len(part) + 10), 4))
    return out[0], out[1]


def test_plan_after_a_gold_campaign_runs_neyman_with_its_priors(after_gold):
    from campaigns.config import get_settings
    from campaigns.service import CampaignService
    from campaigns.traffic.window import Window

    low, high = _expected_priors(after_gold)
    assert 0.4 < low < 0.65 and 0.85 < high < 0.95  # the gold's known error rates, shrunk
    design = Design(confidence_edges=(0.5,), allocation="neyman")
    window = Window.last_days(30, date.fromisoformat(NEXT_END))
    with CampaignService.open(get_settings()) as service:
        plan = service.plan(window, design, margin=0.03)
    assert plan.prior_source is not None
    assert plan.prior_source.source is PriorSource.GOLD
    assert plan.prior_source.campaign == "gold-aug"
    assert plan.prior_source.accuracy == (low, high)
    assert sum(plan.prior_source.units) == 300
    assert set(plan.priors.values()) == {low, high}
    # The same sizes as the planner given those priors by hand: Neyman, not the 0.5 default.
    by_hand = plan_sample_size(
        plan.populations,
        {h: low if "0.00" in h else high for h in plan.populations},
        0.03,
        allocation="neyman",
    )
    assert plan.sizes == by_hand.sizes
    worst = plan_sample_size(plan.populations, dict.fromkeys(plan.populations, 0.5), 0.03)
    assert plan.sample_size < worst.sample_size


def test_cli_plan_and_sample_say_where_the_priors_came_from(after_gold, cli):
    from campaigns.config import get_settings
    from campaigns.state.db import session_scope
    from campaigns.state.models import Sample

    low, high = _expected_priors(after_gold)
    out = cli("plan", "--days", "30", "--end", NEXT_END, "--margin", "0.03",
              "--confidence-edges", "0.5", "--allocation", "neyman").output  # fmt: skip
    assert "Priors: prior accuracy from gold campaign 'gold-aug' (300 coded units" in out
    assert f"{low:.2f}" in out and f"{high:.2f}" in out
    out = cli("sample", "-n", "200", "--days", "30", "--end", NEXT_END, "--margin", "0.03",
              "--confidence-edges", "0.5", "--allocation", "neyman").output  # fmt: skip
    assert "Neyman allocation: prior accuracy from gold campaign 'gold-aug'" in out
    with session_scope(get_settings()) as session:
        drawn = [s for s in session.exec(select(Sample)).all() if "neyman" in s.design_params]
    params = json.loads(drawn[0].design_params)
    assert params["prior_accuracy"] == [low, high]
    assert params["prior_source"]["source"] == "gold"
    assert params["prior_source"]["campaign"] == "gold-aug"
    assert params["target_margin"] == 0.03
    # Typed priors still win, and say so.
    out = cli("plan", "--days", "30", "--end", NEXT_END, "--confidence-edges", "0.5",
              "--allocation", "neyman", "--prior-accuracy", "0.6,0.9").output  # fmt: skip
    assert "Priors: prior accuracy typed" in out


def test_without_a_comparable_gold_the_scores_are_calibrated_on_it(after_gold, cli):
    out = cli("plan", "--days", "30", "--end", NEXT_END, "--margin", "0.03",
              "--confidence-edges", "0.3,0.7", "--allocation", "neyman").output  # fmt: skip
    assert "top-1 scores, calibrated on gold campaign 'gold-aug'" in out


def test_before_any_gold_the_raw_scores_are_the_prior(local_env, tmp_path, cli):
    logs = tmp_path / "traffic.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "1500", "--days", "30",
        "--end", NEXT_END, "--seed", "4")  # fmt: skip
    cli("traffic", "ingest", str(logs))
    out = cli("plan", "--days", "30", "--end", NEXT_END, "--confidence-edges", "0.5",
              "--allocation", "neyman").output  # fmt: skip
    assert "raw top-1 scores (no gold campaign yet)" in out
    out = cli("sample", "-n", "100", "--days", "30", "--end", NEXT_END,
              "--confidence-edges", "0.5", "--allocation", "neyman").output  # fmt: skip
    assert "Neyman allocation: prior accuracy from the window's raw top-1 scores" in out


def test_api_plan_says_where_the_priors_came_from(after_gold):
    from fastapi.testclient import TestClient

    from services.api.main import create_app

    low, high = _expected_priors(after_gold)
    body = {
        "margin": 0.03,
        "days": 30,
        "end": NEXT_END,
        "design": {"confidence_edges": [0.5], "allocation": "neyman"},
    }
    answer = TestClient(create_app(), client=("127.0.0.1", 50000)).post("/plan", json=body)
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["prior_source"]["source"] == "gold"
    assert plan["prior_source"]["campaign"] == "gold-aug"
    assert plan["prior_source"]["accuracy"] == [low, high]
    assert [s["prior_accuracy"] for s in plan["strata"]] == [low, high]
