"""A campaign split by expert team: one real Label Studio project per team."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.lifecycle.metrics import campaign_metrics
from campaigns.nomenclatures import old_nomenclature
from campaigns.sampling.registry import load_sample_table
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import SuggestionMode
from campaigns.storage import Storage
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"


def test_each_team_project_receives_exactly_its_units(live_env, cli, tmp_path: Path, label_studio):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "1500", "--end", END, "--seed", "8")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "60", "--seed", "2")
    settings = get_settings()
    storage = Storage.from_settings(settings)
    with session_scope(settings) as session:
        sample = crud.list_samples(session)[0]
    out = cli(
        "create", "routed", "--sample", sample.id, "--suggestions", "preselected",
        "--route", "trade=G", "--route", "food=10-11,56", "--route", "others=*",
    ).output  # fmt: skip
    assert "trade: project" in out and "others: project" in out

    cli("push", "routed")
    again = cli("push", "routed").output
    assert "Pushed 0 new tasks (60 already there)" in again

    # Expected routing, computed independently from the sample and the nomenclature.
    table = load_sample_table(storage, sample).to_pylist()
    section_of = {
        r["division"]: r["section"]
        for r in old_nomenclature(settings).division_sections().to_pylist()
    }

    def team(code: str) -> str:
        if section_of.get(code[:2]) == "G":
            return "trade"
        if code[:2] in ("10", "11") or code.startswith("56"):
            return "food"
        return "others"

    expected = {t: {r["request_id"] for r in table if team(r["predicted_code"]) == t} for t in
                ("trade", "food", "others")}  # fmt: skip
    assert all(expected.values()), "the synthetic sample should reach every team"
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    with session_scope(settings) as session:
        parent = crud.get_campaign(session, "routed")
        teams = {t.team: t for t in crud.team_campaigns(session, parent)}
    assert set(teams) == {"trade", "food", "others"}
    assert {t.suggestions for t in teams.values()} == {SuggestionMode.PRESELECTED}
    project = expert.client.get(f"/api/projects/{teams['trade'].ls_project_id}/").json()
    assert (
        project["description"] == f"Campagne de référence : donnez le bon code NAF de "
        f"chaque libellé (échantillon {sample.id})."
    )  # French by default
    for name, campaign in teams.items():
        tasks = expert.tasks(campaign.ls_project_id)
        assert {t["data"]["request_id"] for t in tasks} == expected[name]
        # Each team's expert codes one task (the suggestion).
        for task in tasks[:1]:
            expert.annotate(task["id"], ExpertAnswer(code=task["data"]["suggestions"][0]["value"]))

    out = cli("export", "routed").output
    assert "Exported 3 annotations" in out
    with session_scope(settings) as session:
        parent = crud.get_campaign(session, "routed")
        gold = gold_store.latest_gold(storage, parent, session)
        result = campaign_metrics(session, storage, settings, parent, replicates=200)
    assert gold.num_rows == 3
    assert sorted(set(gold.column("team").to_pylist())) == ["food", "others", "trade"]
    by_team = result.metrics.by_team
    accuracy = by_team.filter(pc.equal(by_team["figure"], "accuracy"))
    assert sorted(accuracy["team"].to_pylist()) == ["food", "others", "trade"]
    assert accuracy["n"].to_pylist() == [1, 1, 1]
    assert "by_team" in result.written
    assert result.metrics.summary["figures"]["accuracy"]["n"] == 3
