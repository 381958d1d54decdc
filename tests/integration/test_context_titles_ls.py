"""Experts see human titles for the context codes, read back from the real Label Studio.

No setting names a table: the built-in official tables (legal categories, activity natures)
are the default, and the expected titles are read independently from the packaged files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from campaigns.config import get_settings
from campaigns.labelstudio.texts import texts_for
from campaigns.state import crud
from campaigns.state.db import session_scope
from nace_mapping.builtin import ACTIVITY_NATURES, LEGAL_CATEGORIES, data_file
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration
END = "2026-09-30"


def test_pushed_tasks_show_the_builtin_context_titles(live_env, cli, label_studio, tmp_path: Path):
    assert "CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES" not in live_env
    assert "CAMPAIGNS_CONTEXT_ACTIVITY_NATURES" not in live_env
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "400", "--end", END, "--seed", "5")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "25", "--seed", "2")
    settings = get_settings()
    with session_scope(settings) as session:
        sample_id = crud.list_samples(session)[0].id
    cli("create", "gold-titles", "--sample", sample_id, "--suggestions", "preselected")
    cli("push", "gold-titles")
    with session_scope(settings) as session:
        project_id = crud.get_campaign(session, "gold-titles").ls_project_id

    tasks = LabelStudioExpert(label_studio.url, label_studio.token).tasks(project_id)
    assert len(tasks) == 25

    # The expected titles, read independently from the packaged files.
    raw_cj = data_file(LEGAL_CATEGORIES.filename).read_bytes().decode("cp1252")
    cj_titles = {
        r["code"]: " ".join(r["libelle"].split()) for r in csv.DictReader(raw_cj.splitlines())
    }
    raw_natures = data_file(ACTIVITY_NATURES.filename).read_text(encoding="utf-8")
    nature_titles = {
        code: title for code, title in json.loads(raw_natures).items() if set(title) != {"/"}
    }
    texts = texts_for(settings.language)

    def item(field: str, value: object) -> str:
        return texts.context_item.format(label=texts.context_labels[field], value=value)

    # The context of each task, from the traffic log lines.
    contexts = {
        line["request_id"]: line["context"]
        for line in map(json.loads, logs.read_text(encoding="utf-8").splitlines())
    }
    for task in tasks:
        shown = task["data"]["context_display"]
        context = contexts[task["data"]["request_id"]]
        cj, nature = context["cj"], context["activ_nat_et"]
        assert f"{item('cj', cj)} ({cj_titles[cj]})" in shown
        assert f"{item('activ_nat_et', nature)} ({nature_titles[nature]})" in shown
        perm = context["activ_perm_et"]
        perm_title = texts.fixed_context_titles["activ_perm_et"][perm]
        assert f"{item('activ_perm_et', perm)} ({perm_title})" in shown
        event = context["evenement_type"]
        assert f"{item('evenement_type', event)} |" in shown  # no documented title: raw
        if context.get("activ_surf_et") is not None:
            surface = context["activ_surf_et"]
            expected = str(int(surface)) if float(surface).is_integer() else str(surface)
            assert f"{item('activ_surf_et', expected)} |" in shown
    assert any("Société à responsabilité limitée" in t["data"]["context_display"] for t in tasks)
