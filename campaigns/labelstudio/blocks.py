"""The pieces every labeling screen is built from, written once for every campaign kind.

A gold, a validation and a transition screen differ in their middle (suggestions, a
yes/no verdict, candidates) but share their edges: the text and its context on top, the
searchable nomenclature, the "cannot be coded / unsure" flags, the remark and the
difficulty rating below. Each piece here appends its elements to a ``View`` and uses the
stored names below, so every kind's results are read by the same names
(``campaigns.labelstudio.regions``).

Displayed words come from ``campaigns.labelstudio.texts``; stored values are these names,
the aliases and codes, the same in every language.
"""

from __future__ import annotations

from typing import Any, Protocol
from xml.etree import ElementTree as ET

from campaigns.labelstudio.texts import LabelingTexts

TEXT = "text"
TAXONOMY = "taxonomy"
FLAGS = "flags"
REMARK = "remark"
DIFFICULTY = "difficulty"
CANNOT_CODE = "cannot_code"
UNSURE = "unsure"
VERDICT = "verdict"
YES = "yes"
NO = "no"

SEARCH_WIDTH_PX = 640
"""Width of the taxonomy search drop-down: Label Studio opens it as wide as the search box
(about 180 px), where a NAF title wraps word by word; at 640 px most titles fit on one line
and the longest (129 characters, 84.12Z) on two (measured in Chromium on Label Studio 1.23).
Titles already wrap at word boundaries there: no ``<Style>`` is needed."""


class HasTree(Protocol):
    def tree(self) -> list[dict[str, Any]]: ...


def text_and_context(view: ET.Element, texts: LabelingTexts) -> None:
    """The description header, the text and its context (the top of every screen)."""
    ET.SubElement(view, "Header", value=texts.description_header)
    ET.SubElement(view, "Text", name=TEXT, value="$text")
    ET.SubElement(view, "Text", name="context", value="$context_display")


def _taxonomy_choices(parent: ET.Element, nodes: list[dict[str, Any]]) -> None:
    for node in nodes:
        title = (node.get("title") or "").strip()
        label = f"{node['code']} - {title}" if title else node["code"]
        choice = ET.SubElement(parent, "Choice", value=label, alias=node["code"])
        _taxonomy_choices(choice, node.get("children") or [])


def search_taxonomy(
    view: ET.Element, name: str, nomenclature: HasTree, placeholder: str
) -> ET.Element:
    """The searchable nomenclature, wide enough to read a title (shared by every kind).

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


def verdict_block(view: ET.Element, texts: LabelingTexts) -> ET.Element:
    """The yes/no question on a given code; returns the ``View`` shown on "no" only.

    No answer is pre-selected: a default "yes" would let a hurried expert confirm without
    reading, and the share confirmed is what such a campaign measures. What opens on "no"
    (``visibleWhen``) is the caller's; Label Studio leaves a hidden control's result out of
    the submitted annotation.
    """
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
    return ET.SubElement(
        view, "View", visibleWhen="choice-selected", whenTagName=VERDICT, whenChoiceValue=NO
    )


def remark_area(view: ET.Element, texts: LabelingTexts) -> None:
    """A free remark (where experts sometimes type a code: see ``remark_codes``)."""
    ET.SubElement(
        view,
        "TextArea",
        name=REMARK,
        toName=TEXT,
        placeholder=texts.remark_placeholder,
        maxSubmissions="1",
        rows="2",
    )


def expert_flags(view: ET.Element, texts: LabelingTexts) -> None:
    """ "Cannot be coded" / "unsure", the remark and the 1-5 difficulty rating."""
    flags = ET.SubElement(view, "Choices", name=FLAGS, toName=TEXT, choice="single")
    ET.SubElement(flags, "Choice", value=texts.cannot_code, alias=CANNOT_CODE)
    ET.SubElement(flags, "Choice", value=texts.unsure, alias=UNSURE)
    remark_area(view, texts)
    ET.SubElement(view, "Header", value=texts.difficulty_header)
    ET.SubElement(view, "Rating", name=DIFFICULTY, toName=TEXT, maxRating="5")
