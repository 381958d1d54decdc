"""Nomenclatures: the built-in official tables (known counts), normalisation, levels."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from nace_mapping import (
    CorrespondenceFormatError,
    InvalidCodeError,
    Level,
    NaceMappingError,
    Nomenclature,
    UnknownCodeError,
    level_of,
    normalize_code,
    truncate_code,
)
from nace_mapping.builtin import NAF2008_LEVEL_ROWS, data_file


@pytest.fixture(scope="module")
def naf2008() -> Nomenclature:
    return Nomenclature.builtin("naf2008")


@pytest.fixture(scope="module")
def naf2025() -> Nomenclature:
    return Nomenclature.builtin("naf2025")


@pytest.mark.parametrize("raw", ["62.01Z", "6201Z", "6201z", " 62.01 z"])
def test_spellings_of_a_subclass_normalise_alike(raw: str):
    assert normalize_code(raw) == "62.01Z"
    assert level_of(raw) is Level.SUBCLASS


@pytest.mark.parametrize(
    ("raw", "level", "canonical"),
    [
        ("j", Level.SECTION, "J"),
        ("62", Level.DIVISION, "62"),
        ("620", Level.GROUP, "62.0"),
        ("62.01", Level.CLASS, "62.01"),
        ("0111Y", Level.SUBCLASS, "01.11Y"),
    ],
)
def test_levels_from_syntax(raw: str, level: Level, canonical: str):
    assert (level_of(raw), normalize_code(raw)) == (level, canonical)


@pytest.mark.parametrize("bad", ["", "6", "62.01ZZ", "ABC", "6201-Z"])
def test_malformed_codes_are_a_clear_error(bad: str):
    with pytest.raises(InvalidCodeError, match="not a NACE/NAF code"):
        normalize_code(bad)


def test_truncation_by_syntax():
    assert truncate_code("6201Z", Level.CLASS) == "62.01"
    assert truncate_code("6201Z", Level.GROUP) == "62.0"
    with pytest.raises(InvalidCodeError, match="has no subclass"):
        truncate_code("62.01", Level.SUBCLASS)


def test_naf2008_has_the_published_counts(naf2008: Nomenclature):
    assert len(naf2008) == 732
    assert [len(naf2008.codes(level)) for level in Level] == [21, 88, 272, 615, 732]
    assert naf2008.truncate("52.24A", Level.SECTION) == "H"
    assert naf2008.ancestors("5224A") == {
        Level.SECTION: "H",
        Level.DIVISION: "52",
        Level.GROUP: "52.2",
        Level.CLASS: "52.24",
        Level.SUBCLASS: "52.24A",
    }
    assert naf2008.title("62.01Z") == "Programmation informatique"
    assert naf2008.name == "NAF rév.2 (Insee)" and naf2008.quirks == []


def test_naf2025_derives_groups_and_classes_and_lacks_section_v(naf2025: Nomenclature):
    # The table lists 747 "subclasses", one of which is section V (extraterritorial
    # organisations) mislabelled: it is kept as a section and reported as a quirk.
    assert len(naf2025) == 746
    assert naf2025.level("V") is Level.SECTION
    assert naf2025.quirks == ["V is listed as a subclass but is a section: kept as a section"]
    assert [len(naf2025.codes(level)) for level in Level] == [22, 86, 286, 650, 746]
    assert naf2025.parent("01.11Y") == "01.11"
    assert naf2025.parent("01.11") == "01.1"
    assert naf2025.title("01.11") is None  # derived level: no title in this table
    assert "99.00Y" not in naf2025
    with pytest.raises(UnknownCodeError, match="not in"):
        naf2025.validate("99.00Z")


def test_naf2025_reports_its_missing_division_99_as_a_known_gap(naf2025: Nomenclature):
    with pytest.raises(UnknownCodeError, match=r"99\.00Y .*no division 99 .*known gap"):
        naf2025.validate("9900Y")


def test_titles_are_cleaned(naf2025: Nomenclature, naf2008: Nomenclature):
    for nomenclature in (naf2025, naf2008):
        titles = [t for t in nomenclature.titles.values() if t]
        assert titles and all(t == " ".join(t.split()) for t in titles)
    # The source's stray trailing space ("CONSTRUCTION ") is gone.
    assert naf2025.title("F") == "CONSTRUCTION"


def test_both_naf2008_layouts_agree(naf2008: Nomenclature):
    """The packaged section/division/subclass file is the same NAF rév.2 as the 5-level one."""
    raw = data_file(NAF2008_LEVEL_ROWS.filename).read_bytes()
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    other = Nomenclature.from_frame(frame, "NAF rév.2 (levels)")
    assert other.subclasses == naf2008.subclasses
    assert {d: other.parent(d) for d in other.codes(Level.DIVISION)} == {
        d: naf2008.parent(d) for d in naf2008.codes(Level.DIVISION)
    }
    assert {level: len(other.codes(level)) for level in (Level.SECTION, Level.DIVISION)} == {
        Level.SECTION: 21,
        Level.DIVISION: 88,
    }


def test_levels_table_and_tree(naf2008: Nomenclature):
    table = naf2008.levels_table()
    assert table.num_rows == 732
    row = table.filter(table.column("subclass").to_numpy(zero_copy_only=False) == "62.01Z")
    assert row.to_pylist()[0] | {"subclass_title": None, "section_title": None} == {
        "subclass": "62.01Z",
        "class": "62.01",
        "group": "62.0",
        "division": "62",
        "section": "J",
        "subclass_title": None,
        "section_title": None,
    }
    tree = naf2008.tree()
    assert len(tree) == 21
    assert sum(len(d["children"]) for s in tree for d in s["children"]) == 732


def test_unknown_builtin_edition_is_a_package_error():
    with pytest.raises(NaceMappingError, match="naf2008 or naf2025"):
        Nomenclature.builtin("naf1993")


def test_xlsx_and_unrecognised_layouts(tmp_path: Path, naf2008: Nomenclature):
    rows = [naf2008.ancestors(code) for code in naf2008.subclasses[:20]]
    frame = pd.DataFrame(
        {f"NIV{level.depth}": [chain[level] for chain in rows] for level in Level}
        | {
            f"LIB_NIV{level.depth}": [naf2008.title(chain[level]) for chain in rows]
            for level in Level
        }
    )
    frame.to_excel(tmp_path / "naf.xlsx", index=False)
    loaded = Nomenclature.from_path(tmp_path / "naf.xlsx")
    assert len(loaded) == 20 and loaded.title("01.11Z") == naf2008.title("01.11Z")
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(CorrespondenceFormatError, match="not a nomenclature table"):
        Nomenclature.from_path(tmp_path / "bad.csv")
