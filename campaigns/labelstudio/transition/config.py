"""The NACE Rev.2 -> Rev.2.1 transition interface, generated from the new nomenclature.

For a text whose old code is multivocal, the expert first says whether the text still fits
the old code's scope, then picks among that code's candidate new codes only (shown with
their titles, read from the task: Label Studio's dynamic choices). When none fits, the
whole new nomenclature is there as a searchable taxonomy, which also serves to filter
codes with dozens of candidates by typing.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from campaigns.labelstudio.gold.config import HasTree, _taxonomy_choices

TEXT = "text"
SCOPE = "scope"
CANDIDATE = "candidate"
FALLBACK = "fallback"
REMARK = "remark"
IN_SCOPE = "in_scope"
OUT_OF_SCOPE = "out_of_scope"
NONE_OF_THESE = "NONE"


def transition_config(new_nomenclature: HasTree) -> str:
    view = ET.Element("View")
    ET.SubElement(view, "Header", value="Activity description")
    ET.SubElement(view, "Text", name=TEXT, value="$text")
    ET.SubElement(view, "Text", name="old_code", value="$old_code_display")
    ET.SubElement(view, "Header", value="Does the text still fit the old code's scope?")
    scope = ET.SubElement(
        view, "Choices", name=SCOPE, toName=TEXT, choice="single", showInline="true"
    )
    ET.SubElement(scope, "Choice", value="Yes, it fits the old code", alias=IN_SCOPE)
    ET.SubElement(scope, "Choice", value="No, the old code was wrong", alias=OUT_OF_SCOPE)
    ET.SubElement(view, "Header", value="Which new code? (only this code's candidates)")
    ET.SubElement(
        view, "Choices", name=CANDIDATE, toName=TEXT, value="$candidates", choice="single"
    )
    ET.SubElement(
        view, "Header", value="None fits, or too many to scan? Search the whole new nomenclature"
    )
    taxonomy = ET.SubElement(
        view,
        "Taxonomy",
        name=FALLBACK,
        toName=TEXT,
        leafsOnly="true",
        maxUsages="1",
        placeholder="Type a code or words of its title",
    )
    _taxonomy_choices(taxonomy, new_nomenclature.tree())
    ET.SubElement(
        view,
        "TextArea",
        name=REMARK,
        toName=TEXT,
        placeholder="Remark (optional)",
        maxSubmissions="1",
        rows="2",
    )
    return ET.tostring(view, encoding="unicode")
