"""The gold-standard labeling interface, generated from the nomenclature (never hand-written).

The expert sees the text and its context, and the whole nomenclature as a searchable taxonomy.
What else depends on the campaign's suggestion mode (``SuggestionMode``):

- ``hidden`` (blind): nothing of the model. The search is the only way to code.
- ``shown`` / ``preselected``: the model's top-5 as one-click suggestions above the search
  ("none is right? search"); ``preselected`` tasks also carry the top-1 as a Label Studio
  prediction, so it is already selected (the tasks differ, not the interface).
- ``randomized``: one project holds blind and assisted tasks, so the two headers around the
  suggestions are read from each task (``$suggestions_header``, ``$search_header``): a blind
  task has no suggestions and empty headers, and reads like a ``hidden`` one.

A code picked in the taxonomy overrides the suggestion. "Cannot be coded", a remark and a 1-5
difficulty rating complete the form; the skip button is Label Studio's own.

Every displayed word comes from ``campaigns.labelstudio.texts`` in the deployment's
language; every stored value is a code or one of the aliases below, the same in every
language (what ``results`` reads).
"""

from __future__ import annotations

from typing import Any, Protocol
from xml.etree import ElementTree as ET

from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for
from campaigns.state.models import SuggestionMode

TEXT = "text"
SUGGESTED = "suggested"
TAXONOMY = "taxonomy"
FLAGS = "flags"
REMARK = "remark"
DIFFICULTY = "difficulty"
CANNOT_CODE = "cannot_code"
UNSURE = "unsure"
SUGGESTIONS_HEADER_FIELD = "suggestions_header"
SEARCH_HEADER_FIELD = "search_header"
"""Task fields holding the two headers around the suggestions in a ``randomized`` campaign."""

SEARCH_WIDTH_PX = 640
"""Width of the taxonomy search drop-down: Label Studio opens it as wide as the search box
(about 180 px), where a NAF title wraps word by word; at 640 px most titles fit on one line
and the longest (129 characters, 84.12Z) on two (measured in Chromium on Label Studio 1.23).
Titles already wrap at word boundaries there: no ``<Style>`` is needed."""


class HasTree(Protocol):
    def tree(self) -> list[dict[str, Any]]: ...


def _taxonomy_choices(parent: ET.Element, nodes: list[dict[str, Any]]) -> None:
    for node in nodes:
        title = (node.get("title") or "").strip()
        label = f"{node['code']} - {title}" if title else node["code"]
        choice = ET.SubElement(parent, "Choice", value=label, alias=node["code"])
        _taxonomy_choices(choice, node.get("children") or [])


def search_taxonomy(
    view: ET.Element, name: str, nomenclature: HasTree, placeholder: str
) -> ET.Element:
    """The searchable nomenclature, wide enough to read a title (shared by both kinds).

    ``minWidth`` widens the search box itself and ``dropdownWidth`` the list under it (both
    are attributes of Label Studio 1.23's Taxonomy tag). Choices carry the code as alias,
    so results hold codes, never titles.
    """
    taxonomy = ET.SubElement(
        view,
        "Taxonomy",
        name=name,
        toName=TEXT,
        leafsOnly="true",
        maxUsages="1",
        placeholder=placeholder,
        minWidth=f"{SEARCH_WIDTH_PX}px",
        maxWidth="100%",
        dropdownWidth=str(SEARCH_WIDTH_PX),
    )
    _taxonomy_choices(taxonomy, nomenclature.tree())
    return taxonomy


def gold_standard_config(
    nomenclature: HasTree,
    language: str = DEFAULT_LANGUAGE,
    suggestions: SuggestionMode = SuggestionMode.HIDDEN,
) -> str:
    """The labeling config of a gold campaign in ``language`` and suggestion mode."""
    texts = texts_for(language)
    view = ET.Element("View")
    ET.SubElement(view, "Header", value=texts.description_header)
    ET.SubElement(view, "Text", name=TEXT, value="$text")
    ET.SubElement(view, "Text", name="context", value="$context_display")
    if suggestions != SuggestionMode.HIDDEN:
        per_task = suggestions == SuggestionMode.RANDOMIZED
        ET.SubElement(
            view,
            "Header",
            value=f"${SUGGESTIONS_HEADER_FIELD}" if per_task else texts.suggestions_header,
        )
        ET.SubElement(
            view, "Choices", name=SUGGESTED, toName=TEXT, value="$suggestions", choice="single"
        )
        ET.SubElement(
            view, "Header", value=f"${SEARCH_HEADER_FIELD}" if per_task else texts.search_header
        )
    search_taxonomy(view, TAXONOMY, nomenclature, texts.search_placeholder)
    flags = ET.SubElement(view, "Choices", name=FLAGS, toName=TEXT, choice="single")
    ET.SubElement(flags, "Choice", value=texts.cannot_code, alias=CANNOT_CODE)
    ET.SubElement(flags, "Choice", value=texts.unsure, alias=UNSURE)
    ET.SubElement(
        view,
        "TextArea",
        name=REMARK,
        toName=TEXT,
        placeholder=texts.remark_placeholder,
        maxSubmissions="1",
        rows="2",
    )
    ET.SubElement(view, "Header", value=texts.difficulty_header)
    ET.SubElement(view, "Rating", name=DIFFICULTY, toName=TEXT, maxRating="5")
    return ET.tostring(view, encoding="unicode")
