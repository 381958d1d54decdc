"""The experts' language: every displayed word from one module, stored values language-free."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, get_args
from xml.etree import ElementTree as ET

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from campaigns.labelstudio.gold.config import (
    CANNOT_CODE,
    FLAGS,
    SEARCH_WIDTH_PX,
    SUGGESTED,
    TAXONOMY,
    TEXT,
    UNSURE,
    gold_standard_config,
)
from campaigns.labelstudio.gold.results import annotations_table
from campaigns.labelstudio.gold.tasks import context_display, gold_tasks
from campaigns.labelstudio.kinds import kit_for
from campaigns.labelstudio.texts import (
    CONTEXT_FIELDS,
    DEFAULT_LANGUAGE,
    ENGLISH,
    FRENCH,
    LANGUAGES,
    LabelingTexts,
    labels_of,
    texts_for,
)
from campaigns.labelstudio.transition.config import (
    CANDIDATE,
    FALLBACK,
    NONE_OF_THESE,
    OUT_OF_SCOPE,
    SCOPE,
    transition_config,
)
from campaigns.labelstudio.transition.notes import load_candidate_notes
from campaigns.labelstudio.transition.results import transition_annotations
from campaigns.labelstudio.transition.tasks import transition_tasks
from campaigns.state.models import CampaignKind, SuggestionMode

TREE = [
    {
        "code": "C",
        "title": "Industrie manufacturière",
        "children": [
            {
                "code": "10",
                "title": "Industries alimentaires",
                "children": [{"code": "10.71C", "title": "Boulangerie et boulangerie-pâtisserie"}],
            }
        ],
    }
]
DISPLAYED = {"Header": "value", "TextArea": "placeholder", "Taxonomy": "placeholder"}


class Tree:
    def tree(self) -> list[dict[str, Any]]:
        return TREE


def displayed_strings(config: str) -> list[str]:
    """What the expert reads in a config: headers, placeholders, labels of fixed choices.

    Taxonomy choices are left out: they are codes and the nomenclature's own titles.
    """
    root = ET.fromstring(config)
    shown = [e.get(attribute) for tag, attribute in DISPLAYED.items() for e in root.iter(tag)]
    shown += [choice.get("value") for choices in root.iter("Choices") for choice in choices]
    return shown


def stored_values(config: str) -> list[tuple[str, ...]]:
    """What Label Studio stores: tag names, control names, dynamic values and aliases."""
    return [
        (e.tag, e.get("name") or "", e.get("toName") or "", e.get("alias") or "")
        for e in ET.fromstring(config).iter()
    ]


def test_every_language_says_everything():
    assert DEFAULT_LANGUAGE == "fr" and set(LANGUAGES) == {"fr", "en"}
    for language in LANGUAGES:
        texts = texts_for(language)
        for field in fields(LabelingTexts):
            assert getattr(texts, field.name), (language, field.name)
        assert set(texts.context_labels) == set(CONTEXT_FIELDS)
        assert set(texts.project_descriptions) == {k.value for k in CampaignKind}
        assert all("{sample}" in d for d in texts.project_descriptions.values())
    # French is French: no displayed string is left in English.
    same = [
        f.name for f in fields(LabelingTexts) if getattr(FRENCH, f.name) == getattr(ENGLISH, f.name)
    ]
    assert same == []


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="fr, en"):
        texts_for("de")


def test_the_setting_selects_the_language(monkeypatch):
    assert get_args(Settings.model_fields["language"].annotation) == LANGUAGES
    assert Settings(_env_file=None).language == "fr"
    monkeypatch.setenv("CAMPAIGNS_LANGUAGE", "en")
    assert Settings(_env_file=None).language == "en"
    monkeypatch.setenv("CAMPAIGNS_LANGUAGE", "de")
    with pytest.raises(ValueError):
        Settings(_env_file=None)


def assisted_gold_config(nomenclature: Tree, language: str = DEFAULT_LANGUAGE) -> str:
    return gold_standard_config(nomenclature, language, SuggestionMode.PRESELECTED)


@pytest.mark.parametrize("build", [gold_standard_config, assisted_gold_config, transition_config])
def test_configs_show_the_language_and_store_the_same_values(build):
    french, english = build(Tree(), "fr"), build(Tree(), "en")
    assert build(Tree()) == french  # French by default
    shown_fr, shown_en = displayed_strings(french), displayed_strings(english)
    french_texts = {str(getattr(FRENCH, f.name)) for f in fields(LabelingTexts)}
    english_texts = {str(getattr(ENGLISH, f.name)) for f in fields(LabelingTexts)}
    assert shown_fr and set(shown_fr) <= french_texts
    assert set(shown_en) <= english_texts
    assert not set(shown_fr) & english_texts
    # Whatever the language, Label Studio stores the same names, aliases and codes.
    assert stored_values(french) == stored_values(english)


def test_flags_and_scope_store_aliases():
    gold = ET.fromstring(gold_standard_config(Tree()))
    flags = gold.find(f"Choices[@name='{FLAGS}']")
    assert [c.get("alias") for c in flags] == [CANNOT_CODE, UNSURE]
    assert [c.get("value") for c in flags] == [FRENCH.cannot_code, FRENCH.unsure]
    transition = ET.fromstring(transition_config(Tree()))
    scope = transition.find(f"Choices[@name='{SCOPE}']")
    assert [c.get("alias") for c in scope] == ["in_scope", OUT_OF_SCOPE]
    assert transition.find("Text[@name='context']").get("value") == "$context_display"


@pytest.mark.parametrize("build", [gold_standard_config, transition_config])
def test_search_is_wide_enough_to_read_a_title(build):
    taxonomy = ET.fromstring(build(Tree())).find("Taxonomy")
    assert int(taxonomy.get("dropdownWidth")) == SEARCH_WIDTH_PX >= 400
    assert taxonomy.get("minWidth") == f"{SEARCH_WIDTH_PX}px"
    assert taxonomy.find(".//Choice[@alias='10.71C']") is not None


def _choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": TEXT, "type": "choices", "value": {"choices": [value]}}


def test_an_annotation_reads_the_same_whichever_language_was_shown():
    def gold(flag: str) -> dict:
        annotation = {"id": 1, "result": [_choice(SUGGESTED, "10.71C"), _choice(FLAGS, flag)]}
        task = {"id": 1, "data": {"request_id": "r"}, "annotations": [annotation]}
        return annotations_table([task], {"10.71C"}.__contains__).to_pylist()[0]

    # The alias Label Studio stores, or a label of either language (hand-written result).
    for flag in (CANNOT_CODE, FRENCH.cannot_code, ENGLISH.cannot_code):
        assert gold(flag)["status"] == "cannot_code", flag
    for flag in (UNSURE, FRENCH.unsure, ENGLISH.unsure):
        row = gold(flag)
        assert (row["status"], row["code"], row["unsure"]) == ("coded", "10.71C", True)
    assert labels_of(CANNOT_CODE) == {FRENCH.cannot_code, ENGLISH.cannot_code}

    def transition(scope: str) -> dict:
        data = {"request_id": "r", "old_code": "10.71C", "candidates": [{"value": "10.71Y"}]}
        result = [_choice(SCOPE, scope), _choice(CANDIDATE, NONE_OF_THESE)]
        result.append(
            {
                "from_name": FALLBACK,
                "to_name": TEXT,
                "type": "taxonomy",
                "value": {"taxonomy": [["C", "10", "10.72Y"]]},
            }
        )
        task = {"id": 1, "data": data, "annotations": [{"id": 1, "result": result}]}
        return transition_annotations([task], {"10.71Y", "10.72Y"}.__contains__).to_pylist()[0]

    for scope in (OUT_OF_SCOPE, FRENCH.out_of_scope, ENGLISH.out_of_scope):
        row = transition(scope)
        assert (row["status"], row["new_code"], row["out_of_scope"]) == ("coded", "10.72Y", True)
        assert row["in_candidates"] is False
    assert transition("in_scope")["out_of_scope"] is False


CONTEXT = {"cj": "5499", "activ_nat_et": "10", "activ_surf_et": 80.0, "activ_perm_et": "S"}
TITLES = {"cj": {"5499": "SARL"}, "activ_nat_et": {"10": "Commerce de détail"}}


def test_context_line_in_each_language():
    line = context_display(json.dumps(CONTEXT), TITLES)
    assert line == (
        "Catégorie juridique : 5499 (SARL) | Nature de l'activité : 10 (Commerce de détail)"
        " | Surface (m²) : 80 | Permanente (P) / saisonnière (S) : S (saisonnière)"
    )
    english = context_display(json.dumps(CONTEXT), TITLES, "en")
    assert english.startswith("Legal category: 5499 (SARL) | Activity nature: 10")
    assert english.endswith("Permanent (P) / seasonal (S): S (seasonal)")
    assert context_display(None) == FRENCH.no_context
    assert context_display("{}", language="en") == ENGLISH.no_context


def test_gold_tasks_speak_french_by_default():
    sample = pa.table(
        {
            "request_id": ["r1"],
            "text": ["BOULANGERIE"],
            "context": [json.dumps(CONTEXT)],
            "predicted_codes": [["10.71C", "99.99Z"]],
            "scores": [[0.9, 0.1]],
            "confidence": [0.9],
            "stratum": ["all"],
            "model_version": ["1"],
        }
    )
    titles = {"10.71C": "Boulangerie et boulangerie-pâtisserie"}
    data = gold_tasks(sample, 1, titles.get, context_titles=TITLES, suggestions="shown")[0]["data"]
    assert data["context_display"].startswith("Catégorie juridique : 5499 (SARL)")
    assert [s["value"] for s in data["suggestions"]] == ["10.71C", "99.99Z"]
    assert "code inconnu" in data["suggestions"][1]["html"]


def queue(**extra: list) -> pa.Table:
    return pa.table(
        {
            "request_id": ["r1"],
            "text": ["BOULANGERIE"],
            "old_code": ["10.71C"],
            "candidates": [["10.71Y", "10.72Y"]],
            **extra,
        }
    )


NEW_TITLES = {"10.71Y": "Boulangerie", "10.72Y": "Biscuiterie"}


def test_transition_tasks_show_the_gold_context_and_candidate_notes():
    notes = {"10.71Y": "Comprend : pain frais.\nNe comprend pas : biscottes <industrielles>"}
    data = transition_tasks(
        queue(context=[json.dumps(CONTEXT)]),
        7,
        {"10.71C": "Boulangerie et boulangerie-pâtisserie"}.get,
        NEW_TITLES.get,
        context_titles=TITLES,
        candidate_notes=notes,
    )[0]["data"]
    assert data["context_display"] == context_display(json.dumps(CONTEXT), TITLES)
    assert data["old_code_display"] == (
        "Ancien code (NAF rév.2) : 10.71C – Boulangerie et boulangerie-pâtisserie"
    )
    first, second, none = data["candidates"]
    assert first["value"] == "10.71Y" and "<b>10.71Y</b> Boulangerie" in first["html"]
    assert (
        "Comprend : pain frais.\nNe comprend pas : biscottes &lt;industrielles&gt;"
        in (first["html"])
    )
    assert "candidate-note" not in second["html"]  # no note, no empty box
    assert none == {"value": NONE_OF_THESE, "html": "<i>Aucun de ces codes</i>"}


def test_transition_context_from_separate_columns_or_a_struct():
    as_columns = transition_tasks(
        queue(cj=["5499"], activ_nat_et=["10"], other=["x"]),
        1,
        lambda c: None,
        NEW_TITLES.get,
        language="en",
    )[0]["data"]
    assert as_columns["context_display"] == "Legal category: 5499 | Activity nature: 10"
    assert as_columns["old_code_display"] == "Old code (NAF rév.2): 10.71C - untitled"
    as_struct = transition_tasks(
        queue(context=[{"cj": "5499"}]), 1, lambda c: None, NEW_TITLES.get, context_titles=TITLES
    )[0]["data"]
    assert as_struct["context_display"] == "Catégorie juridique : 5499 (SARL)"
    bare = transition_tasks(queue(), 1, lambda c: None, NEW_TITLES.get)[0]["data"]
    assert bare["context_display"] == FRENCH.no_context


def test_candidate_notes_from_csv_and_parquet(tmp_path):
    csv_path = tmp_path / "notes.csv"
    csv_path.write_text(
        'Code;Note\n1071Y;"Comprend : pain, viennoiseries; ne comprend pas : biscottes"\n'
        "10.72Y;Biscuits\n10.72Y;Ne comprend pas : pain\n;orphan\n",
        encoding="utf-8",
    )
    assert load_candidate_notes(str(csv_path)) == {
        "10.71Y": "Comprend : pain, viennoiseries; ne comprend pas : biscottes",
        "10.72Y": "Biscuits\nNe comprend pas : pain",
    }
    parquet_path = tmp_path / "notes.parquet"
    pq.write_table(pa.table({"code": ["10.71Y", "10.72Y"], "note": ["Pain", None]}), parquet_path)
    assert load_candidate_notes(str(parquet_path)) == {"10.71Y": "Pain"}


def test_candidate_notes_errors_say_what_to_fix(tmp_path):
    with pytest.raises(ConfigurationError) as err:
        load_candidate_notes(str(tmp_path / "missing.csv"))
    assert "not found" in err.value.message and "CAMPAIGNS_CANDIDATE_NOTES" in err.value.hint
    bad = tmp_path / "bad.csv"
    bad.write_text("code,title\n10.71Y,Boulangerie\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="no code and note columns"):
        load_candidate_notes(str(bad))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ConfigurationError, match="Cannot read"):
        load_candidate_notes(str(broken))


def test_kits_follow_the_settings(tmp_path, monkeypatch):
    notes = tmp_path / "notes.csv"
    monkeypatch.setenv("CAMPAIGNS_LANGUAGE", "en")
    settings = Settings(_env_file=None, candidate_notes=str(notes))
    kit = kit_for(CampaignKind.TRANSITION, settings)
    assert ENGLISH.scope_question in kit.label_config()
    with pytest.raises(ConfigurationError):  # the notes table is read when tasks are built
        kit.tasks(queue(), 1)
    notes.write_text("code,note\n10.71Y,Comprend : pain\n", encoding="utf-8")
    html = kit.tasks(queue(), 1)[0]["data"]["candidates"][0]["html"]
    assert "Comprend : pain" in html
    monkeypatch.delenv("CAMPAIGNS_LANGUAGE")
    gold = kit_for(CampaignKind.GOLD, Settings(_env_file=None)).label_config()
    assert FRENCH.cannot_code in gold and ENGLISH.cannot_code not in gold
    assert TAXONOMY in gold
