"""Context titles: the built-in Insee tables by default, the user's tables when set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from campaigns.labelstudio.context_titles import (
    _builtin_table,
    _load_table,
    context_titles,
    load_context_titles,
)
from campaigns.labelstudio.gold.tasks import context_display, gold_tasks
from nace_mapping.builtin import ACTIVITY_NATURES, LEGAL_CATEGORIES, data_file


@pytest.fixture
def tables(tmp_path: Path) -> tuple[str, str]:
    """The packaged tables copied to files, as a user would point the settings at them."""
    paths = []
    for table in (LEGAL_CATEGORIES, ACTIVITY_NATURES):
        path = tmp_path / table.filename
        path.write_bytes(data_file(table.filename).read_bytes())
        paths.append(str(path))
    return paths[0], paths[1]


def test_real_titles_are_read(tables):
    titles = load_context_titles(*tables)
    assert titles["cj"]["5499"] == "Société à responsabilité limitée (sans autre indication)"
    assert titles["cj"]["1000"] == "Entrepreneur individuel"
    assert titles["activ_nat_et"]["10"] == "Commerce de détail en magasin"
    assert titles["activ_nat_et"]["04"] == "Fabrication, production"  # leading zero kept
    assert titles["activ_perm_et"] == {"P": "permanent", "S": "seasonal"}
    # Event and form types have no documented titles: left raw.
    assert "evenement_type" not in titles and "liasse_type" not in titles


def test_every_cj_row_of_the_csv_is_loaded(tables):
    raw = data_file(LEGAL_CATEGORIES.filename).read_bytes().decode("cp1252")
    rows = list(csv.DictReader(raw.splitlines()))
    titles = load_context_titles(tables[0], None)["cj"]
    assert len(titles) == len({r["code"] for r in rows if r["libelle"].strip()})
    assert all(not title.endswith(" ") for title in titles.values())


def test_placeholder_titles_are_missing(tables):
    raw = json.loads(data_file(ACTIVITY_NATURES.filename).read_text(encoding="utf-8"))
    placeholders = [code for code, title in raw.items() if set(title) == {"/"}]
    assert "03" in placeholders
    natures = load_context_titles(None, tables[1])["activ_nat_et"]
    assert not set(placeholders) & set(natures)
    assert not any("/" * 3 in title for title in natures.values())
    assert context_display('{"activ_nat_et": "03"}', {"activ_nat_et": natures}, "en") == (
        "Activity nature: 03"
    )


def test_unset_paths_give_the_builtin_official_tables(tables):
    builtin = load_context_titles(None, None)
    assert builtin == load_context_titles(*tables)
    assert len(builtin["cj"]) == 297 and len(builtin["activ_nat_et"]) == 14
    assert builtin["cj"]["5499"] == "Société à responsabilité limitée (sans autre indication)"
    assert builtin["activ_nat_et"]["04"] == "Fabrication, production"
    assert context_titles(Settings(_env_file=None))["cj"]["1000"] == "Entrepreneur individuel"


def test_a_setting_replaces_only_its_own_table(tmp_path):
    mine = tmp_path / "cj.csv"
    mine.write_text("code,libelle\n5499,SARL\n", encoding="utf-8")
    titles = load_context_titles(str(mine), None)
    assert titles["cj"] == {"5499": "SARL"}
    assert titles["activ_nat_et"]["10"] == "Commerce de détail en magasin"  # built-in


def test_control_characters_are_stripped_from_titles(tmp_path):
    table = tmp_path / "cj.csv"
    table.write_bytes(b'code,libelle\n5499,"Soci\x00\xc3\xa9t\xc3\xa9\x0bA  "\n1000,"\x01\x02"\n')
    assert load_context_titles(str(table), None)["cj"] == {"5499": "Société A"}


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
    _builtin_table.cache_clear()
    load_context_titles(None, None)
    load_context_titles(None, None)
    assert _builtin_table.cache_info().misses == 2 and _builtin_table.cache_info().hits == 2
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
    assert context_display(context, load_context_titles(*tables), "en") == (
        "Legal category: 5499 (Société à responsabilité limitée (sans autre indication))"
        " | Activity nature: 10 (Commerce de détail en magasin) | Surface (m2): 120.5"
        " | Event: 01P | Form type: M | Permanent (P) / seasonal (S): P (permanent)"
    )


def test_surface_without_useless_decimals():
    assert context_display('{"activ_surf_et": 120.0}', language="en") == "Surface (m2): 120"
    assert context_display('{"activ_surf_et": 80}', language="en") == "Surface (m2): 80"
    assert (
        context_display('{"activ_surf_et": null, "cj": ""}', language="en") == "No context given."
    )


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
    tasks = gold_tasks(
        sample, 1, lambda code: None, context_titles=load_context_titles(*tables), language="en"
    )
    assert tasks[0]["data"]["context_display"] == (
        "Legal category: 1000 (Entrepreneur individuel) | Activity nature: 99 (Autre)"
        " | Permanent (P) / seasonal (S): S (seasonal)"
    )
