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

from campaigns.labelstudio.gold.config import HasTree, search_taxonomy
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for

TEXT = "text"
SCOPE = "scope"
CANDIDATE = "candidate"
FALLBACK = "fallback"
REMARK = "remark"
IN_SCOPE = "in_scope"
OUT_OF_SCOPE = "out_of_scope"
NONE_OF_THESE = "NONE"


def transition_config(new_nomenclature: HasTree, language: str = DEFAULT_LANGUAGE) -> str:
    texts = texts_for(language)
    view = ET.Element("View")
    ET.SubElement(view, "Header", value=texts.description_header)
    ET.SubElement(view, "Text", name=TEXT, value="$text")
    ET.SubElement(view, "Text", name="context", value="$context_display")
    ET.SubElement(view, "Text", name="old_code", value="$old_code_display")
    ET.SubElement(view, "Header", value=texts.scope_question)
    scope = ET.SubElement(
        view, "Choices", name=SCOPE, toName=TEXT, choice="single", showInline="true"
    )
    ET.SubElement(scope, "Choice", value=texts.in_scope, alias=IN_SCOPE)
    ET.SubElement(scope, "Choice", value=texts.out_of_scope, alias=OUT_OF_SCOPE)
    ET.SubElement(view, "Header", value=texts.candidates_header)
    ET.SubElement(
        view, "Choices", name=CANDIDATE, toName=TEXT, value="$candidates", choice="single"
    )
    ET.SubElement(view, "Header", value=texts.fallback_header)
    search_taxonomy(view, FALLBACK, new_nomenclature, texts.search_placeholder)
    ET.SubElement(
        view,
        "TextArea",
        name=REMARK,
        toName=TEXT,
        placeholder=texts.remark_placeholder,
        maxSubmissions="1",
        rows="2",
    )
    return ET.tostring(view, encoding="unicode")
