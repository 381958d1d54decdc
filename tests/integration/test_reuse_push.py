"""Reuse against the real servers: what a second campaign pushes, and how its check reads.

A first campaign is coded in Label Studio (the model's top-1 for some units, "cannot be coded"
for the others) and exported to S3; a second sample of the same window then reuses those
labels where text and context match: its reused units are never pushed, its check units are,
and once experts code them the metrics compare their code with the label reuse would have
given.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from campaigns.config import get_settings
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage, sample_key
from services.expert_simulator import ExpertAnswer, LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"


def _sample_id(cli, size: int, seed: int) -> str:
    cli("sample", "--days", "30", "--end", END, "--size", str(size), "--seed", str(seed))
    with session_scope(get_settings()) as session:
        return next(s.id for s in crud.list_samples(session) if s.seed == seed)


def _campaign_tasks(cli, expert: LabelStudioExpert, name: str, sample_id: str) -> dict:
    cli("create", name, "--sample", sample_id, "--suggestions", "preselected")
    cli("push", name)
    with session_scope(get_settings()) as session:
        project = crud.get_campaign(session, name).ls_project_id
    return {t["data"]["request_id"]: t for t in expert.tasks(project)}


def test_a_second_campaign_pushes_new_and_check_units_only(
    live_env, cli, label_studio, tmp_path: Path
):
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "2000", "--end", END, "--seed", "5")
    cli("traffic", "ingest", str(logs))
    storage = Storage.from_settings(get_settings())
    expert = LabelStudioExpert(label_studio.url, label_studio.token)

    first = _sample_id(cli, 80, 1)
    tasks = _campaign_tasks(cli, expert, "reuse-first", first)
    assert len(tasks) == 80
    for i, rid in enumerate(sorted(tasks)):
        top1 = tasks[rid]["data"]["suggestions"][0]["value"]
        answer = ExpertAnswer(cannot_code=True) if i % 4 == 0 else ExpertAnswer(code=top1)
        expert.annotate(tasks[rid]["id"], answer)
    cli("export", "reuse-first")

    second = _sample_id(cli, 400, 2)
    table = storage.read_table(sample_key(second))
    provenance = table.column("gold_provenance").to_pylist()
    reused, checks = provenance.count("reused"), provenance.count("check")
    assert reused > 0 and checks >= 1
    tasks = _campaign_tasks(cli, expert, "reuse-second", second)
    pushed = {
        rid
        for rid, p in zip(table["request_id"].to_pylist(), provenance, strict=True)
        if p != "reused"
    }
    assert set(tasks) == pushed and len(tasks) == 400 - reused

    # Experts code the check units with the model's top-1: they agree with the reused label
    # where the first campaign coded the top-1, not where it said "cannot be coded".
    check_rows = table.filter(pc.equal(table["gold_provenance"], "check")).to_pylist()
    for row in check_rows:
        task = tasks[row["request_id"]]
        expert.annotate(task["id"], ExpertAnswer(code=task["data"]["suggestions"][0]["value"]))
    agreeing = sum(r["reused_status"] == "coded" for r in check_rows)
    cli("export", "reuse-second")
    out = cli("metrics", "reuse-second", "--no-write").output
    assert f"{reused} unit(s) reuse an earlier campaign's gold label" in out
    assert (
        f"Reuse checked on {checks} unit(s) coded by experts: the reused label agrees on "
        f"{agreeing} (" in out
    )  # the share is design-weighted (the weights of the units annotated so far)
    line = next(x for x in out.splitlines() if x.startswith("Reuse checked on"))
    assert "95% CI" in line
