"""Context titles read from the real reference tables in ../shared/nace."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from campaigns.labelstudio.context_titles import _load_table, context_titles, load_context_titles
from campaigns.labelstudio.gold.tasks import context_display, gold_tasks


@pytest.fixture
def tables(shared_dir: Path) -> tuple[str, str]:
    nace = shared_dir / "nace"
    return str(nace / "legal_categories_cj.csv"), str(nace / "activity_nature.json")


def test_real_titles_are_read(tables):
    titles = load_context_titles(*tables)
    assert titles["cj"]["5499"] == "Société à responsabilité limitée (sans autre indication)"
    assert titles["cj"]["1000"] == "Entrepreneur individuel"
    assert titles["activ_nat_et"]["10"] == "Commerce de détail en magasin"
    assert titles["activ_nat_et"]["04"] == "Fabrication, production"  # leading zero kept
    assert titles["activ_perm_et"] == {"P": "permanent", "S": "seasonal"}
    # Event and form types have no documented titles: left raw.
    assert "evenement_type" not in titles and "liasse_type" not in titles


def test_every_cj_row_of_the_csv_is_loaded(tables, shared_dir):
    raw = (shared_dir / "nace" / "legal_categories_cj.csv").read_bytes().decode("cp1252")
    rows = list(csv.DictReader(raw.splitlines()))
    titles = load_context_titles(tables[0], None)["cj"]
    assert len(titles) == len({r["code"] for r in rows if r["libelle"].strip()})
    assert all(not title.endswith(" ") for title in titles.values())


def test_placeholder_titles_are_missing(tables, shared_dir):
    raw = json.loads((shared_dir / "nace" / "activity_nature.json").read_text(encoding="utf-8"))
    placeholders = [code for code, title in raw.items() if set(title) == {"/"}]
    assert "03" in placeholders
    natures = load_context_titles(None, tables[1])["activ_nat_et"]
    assert not set(placeholders) & set(natures)
    assert not any("/" * 3 in title for title in natures.values())
    assert context_display('{"activ_nat_et": "03"}', {"activ_nat_et": natures}) == (
        "Activity nature: 03"
    )


def test_unset_paths_give_builtin_titles_only():
    assert load_context_titles(None, None) == {"activ_perm_et": {"P": "permanent", "S": "seasonal"}}


def test_missing_path_is_a_configuration_error_with_a_hint(tmp_path):
    with pytest.raises(ConfigurationError) as err:
        load_context_titles(str(tmp_path / "nope.csv"), None)
    assert "nope.csv" in err.value.message and "not found" in err.value.message
    assert "CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES" in err.value.hint
    with pytest.raises(ConfigurationError) as err:
        load_context_titles(None, str(tmp_path / "nope.json"))
    assert "CAMPAIGNS_CONTEXT_ACTIVITY_NATURES" in err.value.hint


def test_unrecognised_columns_are_a_configuration_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        load_context_titles(str(bad), None)
    assert "foo, bar" in err.value.message
    assert "libelle" in err.value.hint


def test_other_layouts_are_accepted(tmp_path):
    semicolon = tmp_path / "cj.csv"
    semicolon.write_text("Code;Libellé\n0100;Titre zéro\n5499;SARL\n", encoding="utf-8")
    assert load_context_titles(str(semicolon), None)["cj"] == {"0100": "Titre zéro", "5499": "SARL"}
    listed = tmp_path / "natures.json"
    listed.write_text(json.dumps([{"code": "04", "title": "Fab"}, {"code": "05", "title": "//"}]))
    assert load_context_titles(None, str(listed))["activ_nat_et"] == {"04": "Fab"}
    natures_csv = tmp_path / "natures.csv"
    natures_csv.write_text("code,label\n10,Commerce\n", encoding="utf-8")
    assert load_context_titles(None, str(natures_csv))["activ_nat_et"] == {"10": "Commerce"}


def test_tables_are_cached_by_path(tables):
    _load_table.cache_clear()
    load_context_titles(*tables)
    load_context_titles(*tables)
    assert _load_table.cache_info().misses == 2 and _load_table.cache_info().hits == 2
    # Callers get their own dicts: editing one leaves the cache alone.
    load_context_titles(*tables)["cj"].clear()
    assert load_context_titles(*tables)["cj"]


def test_settings_choose_the_tables(tables, monkeypatch):
    monkeypatch.setenv("CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES", tables[0])
    monkeypatch.setenv("CAMPAIGNS_CONTEXT_ACTIVITY_NATURES", tables[1])
    settings = Settings(_env_file=None)
    assert settings.context_legal_categories == tables[0]
    assert context_titles(settings)["activ_nat_et"]["16"] == "Commerce de détail sur marchés"


def test_context_display_reads_human_titles(tables):
    context = json.dumps(
        {
            "cj": "5499",
            "activ_nat_et": "10",
            "activ_surf_et": 120.5,
            "evenement_type": "01P",
            "liasse_type": "M",
            "activ_perm_et": "P",
        }
    )
    assert context_display(context, load_context_titles(*tables)) == (
        "Legal category: 5499 (Société à responsabilité limitée (sans autre indication))"
        " | Activity nature: 10 (Commerce de détail en magasin) | Surface (m2): 120.5"
        " | Event: 01P | Form type: M | Permanent (P) / seasonal (S): P (permanent)"
    )


def test_surface_without_useless_decimals():
    assert context_display('{"activ_surf_et": 120.0}') == "Surface (m2): 120"
    assert context_display('{"activ_surf_et": 80}') == "Surface (m2): 80"
    assert context_display('{"activ_surf_et": null, "cj": ""}') == "No context given."


def test_gold_tasks_carry_the_titles(tables):
    sample = pa.table(
        {
            "request_id": ["r1"],
            "text": ["BOULANGERIE"],
            "context": ['{"cj": "1000", "activ_nat_et": "99", "activ_perm_et": "S"}'],
            "predicted_codes": [["1071C"]],
            "scores": [[0.9]],
            "confidence": [0.9],
            "stratum": ["all"],
            "model_version": ["1"],
        }
    )
    tasks = gold_tasks(sample, 1, lambda code: None, context_titles=load_context_titles(*tables))
    assert tasks[0]["data"]["context_display"] == (
        "Legal category: 1000 (Entrepreneur individuel) | Activity nature: 99 (Autre)"
        " | Permanent (P) / seasonal (S): S (seasonal)"
    )
