"""The official tables shipped in ``nace_mapping/data`` and what they must contain.

The expected counts are the published ones (see ``data/PROVENANCE.md``): a packaged table that
was truncated or edited by mistake fails at load instead of silently shrinking the taxonomy
experts code into. A test checks this registry against PROVENANCE.md (counts and sha256).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable

from nace_mapping.codes import Level


@dataclass(frozen=True)
class BuiltinTable:
    """One packaged file: its name, the edition it holds and the counts it must have."""

    filename: str
    edition: str
    counts: dict[str, int] = field(default_factory=dict)


NOMENCLATURES: dict[str, BuiltinTable] = {
    "naf2008": BuiltinTable(
        "naf2008_5_levels.csv",
        "NAF rév.2",
        {
            Level.SECTION: 21,
            Level.DIVISION: 88,
            Level.GROUP: 272,
            Level.CLASS: 615,
            Level.SUBCLASS: 732,
        },
    ),
    "naf2025": BuiltinTable(
        "naf2025_sections_divisions_subclasses.csv",
        "NAF 2025",
        # 22 sections: V is listed (as a "subclass"), its division 99 is not; groups and
        # classes are derived from the 746 subclass codes.
        {
            Level.SECTION: 22,
            Level.DIVISION: 86,
            Level.GROUP: 286,
            Level.CLASS: 650,
            Level.SUBCLASS: 746,
        },
    ),
}

NAF2008_LEVEL_ROWS = BuiltinTable(
    "naf2008_sections_divisions_subclasses.csv",
    "NAF rév.2",
    {Level.SECTION: 21, Level.DIVISION: 88, Level.SUBCLASS: 732},
)
"""NAF rév.2 again, in the section/division/subclass layout (cross-checked by the tests)."""

CORRESPONDENCE = BuiltinTable(
    "naf2008_to_naf2025.csv",
    "NAF rév.2 -> NAF 2025 (Insee, January 2026)",
    {"pairs": 1223, "univocal": 520, "multivocal": 212},
)

LEGAL_CATEGORIES = BuiltinTable("legal_categories_cj.csv", "Insee legal categories", {"codes": 297})
ACTIVITY_NATURES = BuiltinTable("activity_nature.json", "Sirene activity natures", {"codes": 14})

NAF2025_GAPS: dict[str, str] = {
    code: "the NAF 2025 source table has no division 99 (section V, extraterritorial organisations)"
    for code in ("99", "99.0", "99.00", "99.00Y")
}
"""NAF 2025 codes that exist but that the packaged table lacks: reported, never invented."""


def data_file(filename: str) -> Traversable:
    """A packaged data file (read it with ``read_bytes`` or ``resources.as_file``)."""
    return resources.files("nace_mapping") / "data" / filename
