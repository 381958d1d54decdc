"""The gold-standard labeling interface, generated from the nomenclature (never hand-written).

The expert sees the text and its context, and the whole nomenclature as a searchable taxonomy.
What else depends on the campaign's suggestion mode (``SuggestionMode``):

- ``hidden`` (blind): nothing of the model. The search is the only way to code.
- ``shown`` / ``preselected``: the model's top-5 as one-click suggestions above the search
  ("none is right? search"); ``preselected`` tasks mark the top-1 ``selected``, so it is
  already ticked (the tasks differ, not the interface).
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

from xml.etree import ElementTree as ET

from campaigns.labelstudio.blocks import (
    CANNOT_CODE,
    DIFFICULTY,
    FLAGS,
    REMARK,
    SEARCH_WIDTH_PX,
    TAXONOMY,
    TEXT,
    UNSURE,
    HasTree,
    expert_flags,
    search_taxonomy,
    text_and_context,
)
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for
from campaigns.state.models import SuggestionMode

__all__ = [  # the shared names are read from here by gold tasks and results
    "CANNOT_CODE",
    "DIFFICULTY",
    "FLAGS",
    "REMARK",
    "SEARCH_HEADER_FIELD",
    "SEARCH_WIDTH_PX",
    "SUGGESTED",
    "SUGGESTIONS_HEADER_FIELD",
    "TAXONOMY",
    "TEXT",
    "UNSURE",
    "HasTree",
    "gold_standard_config",
    "search_taxonomy",
]

SUGGESTED = "suggested"
SUGGESTIONS_HEADER_FIELD = "suggestions_header"
SEARCH_HEADER_FIELD = "search_header"
"""Task fields holding the two headers around the suggestions in a ``randomized`` campaign."""


def gold_standard_config(
    nomenclature: HasTree,
    language: str = DEFAULT_LANGUAGE,
    suggestions: SuggestionMode = SuggestionMode.HIDDEN,
) -> str:
    """The labeling config of a gold campaign in ``language`` and suggestion mode."""
    texts = texts_for(language)
    view = ET.Element("View")
    text_and_context(view, texts)
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
    expert_flags(view, texts)
    return ET.tostring(view, encoding="unicode")
