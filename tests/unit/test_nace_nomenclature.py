"""Nomenclatures read from the official files: known counts, normalisation, levels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nace_mapping import (
    CorrespondenceFormatError,
    InvalidCodeError,
    Level,
    Nomenclature,
    UnknownCodeError,
    level_of,
    normalize_code,
    truncate_code,
)


@pytest.fixture(scope="module")
def naf2008(shared_dir: Path) -> Nomenclature:
    return Nomenclature.from_path(shared_dir / "nace" / "naf2008_5_levels.csv")


@pytest.fixture(scope="module")
def naf2025(shared_dir: Path) -> Nomenclature:
    return Nomenclature.from_path(shared_dir / "nace" / "naf2025_sections_divisions_subclasses.csv")


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


def test_naf2025_derives_groups_and_classes_and_lacks_section_v(naf2025: Nomenclature):
    # The table lists 747 "subclasses", one of which is section V (extraterritorial
    # organisations) mislabelled: it is kept as a section and reported as a quirk.
    assert len(naf2025) == 746
    assert naf2025.level("V") is Level.SECTION
    assert naf2025.quirks == ["V is listed as a subclass but is a section: kept as a section"]
    assert len(naf2025.codes(Level.DIVISION)) == 86
    assert naf2025.parent("01.11Y") == "01.11"
    assert naf2025.parent("01.11") == "01.1"
    assert naf2025.title("01.11") is None  # derived level: no title in this table
    assert "99.00Y" not in naf2025
    with pytest.raises(UnknownCodeError, match="not in"):
        naf2025.validate("99.00Z")


def test_titles_are_cleaned(naf2025: Nomenclature):
    assert all(t == " ".join(t.split()) for t in naf2025.titles.values() if t)


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


def test_builtin_sample_is_marked_as_a_sample():
    sample = Nomenclature.builtin_sample("naf2008")
    assert "SAMPLE" in sample.name
    assert 100 < len(sample) < 732
    assert "47.99A" in sample


def test_xlsx_and_unrecognised_layouts(tmp_path: Path, shared_dir: Path):
    frame = pd.read_csv(shared_dir / "nace" / "naf2008_5_levels.csv", dtype=str).head(20)
    frame.to_excel(tmp_path / "naf.xlsx", index=False)
    assert len(Nomenclature.from_path(tmp_path / "naf.xlsx")) == 20
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(CorrespondenceFormatError, match="not a nomenclature table"):
        Nomenclature.from_path(tmp_path / "bad.csv")
