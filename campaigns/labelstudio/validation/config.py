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

from campaigns.labelstudio.gold.config import (
    CANNOT_CODE,
    DIFFICULTY,
    FLAGS,
    REMARK,
    TAXONOMY,
    TEXT,
    UNSURE,
    HasTree,
    search_taxonomy,
)
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for

VERDICT = "verdict"
YES = "yes"
NO = "no"
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

    No answer is pre-selected: a default "yes" would let a hurried expert confirm without
    reading, and the share confirmed is exactly what the campaign measures. The search opens
    on "no" only (``visibleWhen``; Label Studio matches the alias and leaves a hidden
    control's result out of the submitted annotation).
    """
    texts = texts_for(language)
    view = ET.Element("View")
    ET.SubElement(view, "Header", value=texts.description_header)
    ET.SubElement(view, "Text", name=TEXT, value="$text")
    ET.SubElement(view, "Text", name="context", value="$context_display")
    ET.SubElement(view, "Text", name=GIVEN_CODE, value="$given_code_display")
    ET.SubElement(view, "Header", value=texts.validation_question)
    verdict = ET.SubElement(
        view,
        "Choices",
        name=VERDICT,
        toName=TEXT,
        choice="single",
        showInline="true",
        required="true",
    )
    ET.SubElement(verdict, "Choice", value=texts.validation_yes, alias=YES)
    ET.SubElement(verdict, "Choice", value=texts.validation_no, alias=NO)
    search = ET.SubElement(
        view, "View", visibleWhen="choice-selected", whenTagName=VERDICT, whenChoiceValue=NO
    )
    ET.SubElement(search, "Header", value=texts.validation_search_header)
    search_taxonomy(search, TAXONOMY, nomenclature, texts.search_placeholder)
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
