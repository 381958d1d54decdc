"""The NACE Rev.2 -> Rev.2.1 transition interface, generated from the new nomenclature.

For a text whose old code is multivocal, the expert reads the text and its context, says
whether the text still fits the old code's scope, then picks among that code's candidate new
codes only (shown with their titles and, when configured, their explanatory notes, read from
the task: Label Studio's dynamic choices). When none fits, the whole new nomenclature is
there as a searchable taxonomy, which also serves to filter codes with dozens of candidates
by typing.

Displayed words come from ``campaigns.labelstudio.texts``; stored values are the aliases
below and codes, the same in every language.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from campaigns.labelstudio.blocks import (
    REMARK,
    TEXT,
    HasTree,
    remark_area,
    search_taxonomy,
    text_and_context,
)
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, LabelingTexts, texts_for

SCOPE = "scope"
CANDIDATE = "candidate"
FALLBACK = "fallback"
IN_SCOPE = "in_scope"
OUT_OF_SCOPE = "out_of_scope"
NONE_OF_THESE = "NONE"


__all__ = ["REMARK", "TEXT", "candidates_and_search", "transition_config"]


def candidates_and_search(
    view: ET.Element, texts: LabelingTexts, new_nomenclature: HasTree
) -> None:
    """The old code's candidates (read from the task), then the whole new nomenclature."""
    ET.SubElement(view, "Header", value=texts.candidates_header)
    ET.SubElement(
        view, "Choices", name=CANDIDATE, toName=TEXT, value="$candidates", choice="single"
    )
    ET.SubElement(view, "Header", value=texts.fallback_header)
    search_taxonomy(view, FALLBACK, new_nomenclature, texts.search_placeholder)


def transition_config(new_nomenclature: HasTree, language: str = DEFAULT_LANGUAGE) -> str:
    texts = texts_for(language)
    view = ET.Element("View")
    text_and_context(view, texts)
    ET.SubElement(view, "Text", name="old_code", value="$old_code_display")
    ET.SubElement(view, "Header", value=texts.scope_question)
    scope = ET.SubElement(
        view, "Choices", name=SCOPE, toName=TEXT, choice="single", showInline="true"
    )
    ET.SubElement(scope, "Choice", value=texts.in_scope, alias=IN_SCOPE)
    ET.SubElement(scope, "Choice", value=texts.out_of_scope, alias=OUT_OF_SCOPE)
    candidates_and_search(view, texts, new_nomenclature)
    remark_area(view, texts)
    return ET.tostring(view, encoding="unicode")
