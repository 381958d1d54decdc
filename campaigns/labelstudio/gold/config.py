"""The gold-standard labeling interface, generated from the nomenclature (never hand-written).

The expert sees the text and its context, the model's top-5 as one-click suggestions (the
top-1 pre-selected as a Label Studio prediction), and the whole nomenclature as a searchable
taxonomy for when no suggestion is right. A code picked in the taxonomy overrides the
suggestion. "Cannot be coded", a remark and a 1-5 difficulty rating complete the form; the
skip button is Label Studio's own.
"""

from __future__ import annotations

from typing import Any, Protocol
from xml.etree import ElementTree as ET

TEXT = "text"
SUGGESTED = "suggested"
TAXONOMY = "taxonomy"
FLAGS = "flags"
REMARK = "remark"
DIFFICULTY = "difficulty"
CANNOT_CODE = "cannot_code"
UNSURE = "unsure"


class HasTree(Protocol):
    def tree(self) -> list[dict[str, Any]]: ...


def _taxonomy_choices(parent: ET.Element, nodes: list[dict[str, Any]]) -> None:
    for node in nodes:
        title = (node.get("title") or "").strip()
        label = f"{node['code']} - {title}" if title else node["code"]
        choice = ET.SubElement(parent, "Choice", value=label, alias=node["code"])
        _taxonomy_choices(choice, node.get("children") or [])


def gold_standard_config(nomenclature: HasTree) -> str:
    view = ET.Element("View")
    ET.SubElement(view, "Header", value="Activity description")
    ET.SubElement(view, "Text", name=TEXT, value="$text")
    ET.SubElement(view, "Text", name="context", value="$context_display")
    ET.SubElement(view, "Header", value="Model suggestions (best first, with scores)")
    ET.SubElement(
        view, "Choices", name=SUGGESTED, toName=TEXT, value="$suggestions", choice="single"
    )
    ET.SubElement(view, "Header", value="None is right? Search the nomenclature")
    taxonomy = ET.SubElement(
        view,
        "Taxonomy",
        name=TAXONOMY,
        toName=TEXT,
        leafsOnly="true",
        maxUsages="1",
        placeholder="Type a code or words of its title",
    )
    _taxonomy_choices(taxonomy, nomenclature.tree())
    flags = ET.SubElement(view, "Choices", name=FLAGS, toName=TEXT, choice="single")
    ET.SubElement(flags, "Choice", value="Cannot be coded (too vague)", alias=CANNOT_CODE)
    ET.SubElement(flags, "Choice", value="Unsure: needs a second opinion", alias=UNSURE)
    ET.SubElement(
        view,
        "TextArea",
        name=REMARK,
        toName=TEXT,
        placeholder="Remark (optional)",
        maxSubmissions="1",
        rows="2",
    )
    ET.SubElement(view, "Header", value="Difficulty (1 easy - 5 very hard)")
    ET.SubElement(view, "Rating", name=DIFFICULTY, toName=TEXT, maxRating="5")
    return ET.tostring(view, encoding="unicode")
