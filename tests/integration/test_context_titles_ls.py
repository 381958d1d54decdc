"""Experts see human titles for the context codes, read back from the real Label Studio."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from campaigns.config import get_settings
from campaigns.state import crud
from campaigns.state.db import session_scope
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"


def test_pushed_tasks_show_context_titles(
    live_env, cli, label_studio, shared_dir: Path, tmp_path: Path, monkeypatch
):
    legal = shared_dir / "nace" / "legal_categories_cj.csv"
    natures = shared_dir / "nace" / "activity_nature.json"
    monkeypatch.setenv("CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES", str(legal))
    monkeypatch.setenv("CAMPAIGNS_CONTEXT_ACTIVITY_NATURES", str(natures))
    get_settings.cache_clear()

    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "400", "--end", END, "--seed", "5")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "25", "--seed", "2")
    settings = get_settings()
    with session_scope(settings) as session:
        sample_id = crud.list_samples(session)[0].id
    cli("create", "gold-titles", "--sample", sample_id)
    cli("push", "gold-titles")
    with session_scope(settings) as session:
        project_id = crud.get_campaign(session, "gold-titles").ls_project_id

    tasks = LabelStudioExpert(label_studio.url, label_studio.token).tasks(project_id)
    assert len(tasks) == 25

    # The expected titles, read independently from the reference files.
    raw_cj = legal.read_bytes().decode("cp1252")
    cj_titles = {
        r["code"]: " ".join(r["libelle"].split()) for r in csv.DictReader(raw_cj.splitlines())
    }
    nature_titles = {
        code: title
        for code, title in json.loads(natures.read_text(encoding="utf-8")).items()
        if set(title) != {"/"}
    }
    # The context of each task, from the traffic log lines.
    contexts = {
        line["request_id"]: line["context"]
        for line in map(json.loads, logs.read_text(encoding="utf-8").splitlines())
    }
    for task in tasks:
        shown = task["data"]["context_display"]
        context = contexts[task["data"]["request_id"]]
        cj, nature = context["cj"], context["activ_nat_et"]
        assert f"Legal category: {cj} ({cj_titles[cj]})" in shown
        assert f"Activity nature: {nature} ({nature_titles[nature]})" in shown
        perm = {"P": "permanent", "S": "seasonal"}[context["activ_perm_et"]]
        assert f"Permanent (P) / seasonal (S): {context['activ_perm_et']} ({perm})" in shown
        assert f"Event: {context['evenement_type']} |" in shown  # no documented title: raw
        if context.get("activ_surf_et") is not None:
            surface = context["activ_surf_et"]
            expected = str(int(surface)) if float(surface).is_integer() else str(surface)
            assert f"Surface (m2): {expected} |" in shown
    assert any("Société à responsabilité limitée" in t["data"]["context_display"] for t in tasks)
