"""The validation interface: experts confirm or reject a code someone already gave.

A validation campaign checks codes that exist: the model's (what automatic coding would
have written) or a clerk's. The expert reads the text, its context and the given code with
its title, and answers one question: is this the right code? On "no", the whole
nomenclature opens as a searchable taxonomy to pick the right one (hidden until then, so
a "yes" costs one click). "Cannot be coded", "unsure", a remark and a difficulty rating are
those of the gold-standard screen, with the same stored values, so agreement and expert
figures read both kinds alike.

Displayed words come from ``campaigns.labelstudio.texts``; stored values are the aliases
below and codes, the same in every language.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from campaigns.labelstudio.blocks import (
    CANNOT_CODE,
    DIFFICULTY,
    FLAGS,
    NO,
    REMARK,
    TAXONOMY,
    TEXT,
    UNSURE,
    VERDICT,
    YES,
    HasTree,
    expert_flags,
    search_taxonomy,
    text_and_context,
    verdict_block,
)
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for

GIVEN_CODE = "given_code"

__all__ = [
    "CANNOT_CODE",
    "DIFFICULTY",
    "FLAGS",
    "GIVEN_CODE",
    "NO",
    "REMARK",
    "TAXONOMY",
    "TEXT",
    "UNSURE",
    "VERDICT",
    "YES",
    "validation_config",
]


def validation_config(nomenclature: HasTree, language: str = DEFAULT_LANGUAGE) -> str:
    """The labeling config of a validation campaign over ``nomenclature``.

    The given code with its title, the yes/no verdict (``verdict_block``: nothing
    pre-selected), and on "no" only the whole nomenclature to search.
    """
    texts = texts_for(language)
    view = ET.Element("View")
    text_and_context(view, texts)
    ET.SubElement(view, "Text", name=GIVEN_CODE, value="$given_code_display")
    search = verdict_block(view, texts)
    ET.SubElement(search, "Header", value=texts.validation_search_header)
    search_taxonomy(search, TAXONOMY, nomenclature, texts.search_placeholder)
    expert_flags(view, texts)
    return ET.tostring(view, encoding="unicode")
