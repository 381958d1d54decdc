"""Export after edits and deletions in Label Studio: only changed tasks are read, all reflected."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"


def gold_of(name: str) -> dict[str, tuple[str, str | None]]:
    settings = get_settings()
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, name)
        gold = gold_store.latest_gold(Storage.from_settings(settings), campaign)
    return {r["request_id"]: (r["status"], r["gold_code"]) for r in gold.to_pylist()}


def test_edits_and_deletions_are_reflected_incrementally(
    live_env, cli, tmp_path: Path, label_studio
):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "500", "--end", END, "--seed", "9")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "20", "--seed", "3")
    with session_scope(get_settings()) as session:
        sample_id = crud.list_samples(session)[0].id
    cli("create", "incremental", "--sample", sample_id, "--suggestions", "preselected")
    cli("push", "incremental")
    with session_scope(get_settings()) as session:
        project = crud.get_campaign(session, "incremental").ls_project_id
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(project)
    ids = {}
    for task in tasks[:6]:
        code = task["data"]["suggestions"][0]["value"]
        ids[task["data"]["request_id"]] = expert.annotate(task["id"], ExpertAnswer(code=code))
    assert "full: 6 tasks read" in cli("export", "incremental").output
    first = gold_of("incremental")
    assert len(first) == 6

    edited, deleted = tasks[0], tasks[1]
    new_code = edited["data"]["suggestions"][1]["value"]
    expert.update(ids[edited["data"]["request_id"]], ExpertAnswer(code=new_code))
    expert.delete(ids[deleted["data"]["request_id"]])
    expert.annotate(tasks[6]["id"], ExpertAnswer(cannot_code=True))

    out = cli("export", "incremental").output
    assert "incremental: 3 tasks read" in out
    second = gold_of("incremental")
    assert second[edited["data"]["request_id"]] == ("coded", new_code)
    assert deleted["data"]["request_id"] not in second
    assert second[tasks[6]["data"]["request_id"]] == ("cannot_code", None)
    assert len(second) == 6
    # Nothing changed since: nothing read, same content.
    assert "incremental: 0 tasks read" in cli("export", "incremental").output
    assert gold_of("incremental") == second
    # A full reread agrees with the incremental snapshot.
    cli("export", "incremental", "--full")
    assert gold_of("incremental") == second
