"""Integrity checks at load: a broken table is one clear error naming the file and the row.

The broken tables are small copies of the packaged official ones with one row spoiled, written
in the layouts the product reads (level/code/title/parent, NIV1..NIV5, Insee's pair list).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from nace_mapping import (
    Correspondence,
    CorrespondenceFormatError,
    InvalidCodeError,
    MissingColumnError,
    NaceMappingError,
    Nomenclature,
    TableIntegrityError,
    TableNotFoundError,
    UnknownCodeError,
    clean_title,
)
from nace_mapping.builtin import CORRESPONDENCE, NAF2008_LEVEL_ROWS, NOMENCLATURES, data_file


def packaged(filename: str) -> pd.DataFrame:
    raw = data_file(filename).read_bytes()
    return pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def level_rows() -> pd.DataFrame:
    """NAF rév.2 in the level/code/title/parent layout, depth first: row 2 is section A,
    row 3 its division 01, row 4 subclass 01.11Z."""
    return packaged(NAF2008_LEVEL_ROWS.filename)


@pytest.fixture(scope="module")
def naf2008() -> Nomenclature:
    return Nomenclature.builtin("naf2008")


@pytest.fixture(scope="module")
def naf2025() -> Nomenclature:
    return Nomenclature.builtin("naf2025")


def spoil(frame: pd.DataFrame, row: int, **cells: str) -> pd.DataFrame:
    """A copy with the cells of spreadsheet row ``row`` (header = row 1) replaced."""
    copy = frame.copy()
    for column, value in cells.items():
        copy.loc[row - 2, column] = value
    return copy


def one_error(path: Path, load=Nomenclature.from_path, **kwargs) -> str:
    with pytest.raises(TableIntegrityError) as err:
        load(path, **kwargs)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path.name}, ")
    return message


def test_the_packaged_level_rows_table_loads(level_rows: pd.DataFrame):
    assert level_rows["code"].head(3).tolist() == ["A", "01", "01.11Z"]


def test_a_subclass_under_the_wrong_division(level_rows: pd.DataFrame, tmp_path: Path):
    row = int(level_rows.index[level_rows["code"] == "52.24A"][0]) + 2
    spoil(level_rows, row, parent="53").to_csv(tmp_path / "naf.csv", index=False)
    assert one_error(tmp_path / "naf.csv") == (
        f"naf.csv, row {row}: subclass 52.24A has parent '53', but its code puts it in division 52"
    )


def test_a_division_under_a_section_the_table_lacks(level_rows: pd.DataFrame, tmp_path: Path):
    spoil(level_rows, 3, parent="Z").to_csv(tmp_path / "naf.csv", index=False)
    assert one_error(tmp_path / "naf.csv") == (
        "naf.csv, row 3: division 01 has parent 'Z', which is not a section of this table"
    )


def test_a_subclass_whose_division_is_missing(level_rows: pd.DataFrame, tmp_path: Path):
    without_01 = level_rows[level_rows["code"] != "01"]
    without_01.to_csv(tmp_path / "naf.csv", index=False)
    message = one_error(tmp_path / "naf.csv")
    n = int(level_rows["code"].str.startswith("01.").sum())
    assert message == (
        "naf.csv, row 3: subclass 01.11Z: its division 01 is not in this table "
        f"({n - 1} more rows with the same problem)"
    )


def test_a_code_listed_twice(level_rows: pd.DataFrame, tmp_path: Path):
    twice = pd.concat([level_rows, level_rows.iloc[[200]]], ignore_index=True)
    twice.to_csv(tmp_path / "naf.csv", index=False)
    code = level_rows.loc[200, "code"]
    assert one_error(tmp_path / "naf.csv") == (
        f"naf.csv, row {len(twice) + 1}: code {code} is listed twice (first at row 202)"
    )


def test_a_malformed_code(level_rows: pd.DataFrame, tmp_path: Path):
    spoil(level_rows, 40, code="1-2").to_csv(tmp_path / "naf.csv", index=False)
    assert one_error(tmp_path / "naf.csv") == "naf.csv, row 40: code '1-2' is not a NACE/NAF code"


def test_five_level_layout_parent_links(tmp_path: Path):
    frame = packaged(NOMENCLATURES["naf2008"].filename)
    row = int(frame.index[frame["NIV5"] == "52.24A"][0]) + 2
    first_52 = int(frame.index[frame["NIV2"] == "52"][0]) + 2
    spoil(frame, row, NIV1="G").to_csv(tmp_path / "five.csv", index=False)
    assert one_error(tmp_path / "five.csv") == (
        f"five.csv, row {row}: division 52 is under section G here but under section H "
        f"at row {first_52}"
    )
    spoil(frame, row, NIV4="52.23").to_csv(tmp_path / "five.csv", index=False)
    assert one_error(tmp_path / "five.csv") == (
        f"five.csv, row {row}: subclass 52.24A is under class 52.23 but its code says class 52.24"
    )
    spoil(frame, row, NIV2="5").to_csv(tmp_path / "five.csv", index=False)
    assert (
        one_error(tmp_path / "five.csv") == f"five.csv, row {row}: NIV2 '5' is not a NACE/NAF code"
    )


def test_a_correspondence_code_outside_its_nomenclature(
    naf2008: Nomenclature, naf2025: Nomenclature, tmp_path: Path
):
    frame = packaged(CORRESPONDENCE.filename).head(30)
    spoil(frame, 17, naf_2025="C").to_csv(tmp_path / CORRESPONDENCE.filename, index=False)
    assert one_error(tmp_path / CORRESPONDENCE.filename, Correspondence.from_path) == (
        "naf2008_to_naf2025.csv, row 17: new code 'C' is not a subclass"
    )
    spoil(frame, 9, naf_rev2="01.19Y").to_csv(tmp_path / "corr.csv", index=False)
    assert one_error(tmp_path / "corr.csv", Correspondence.from_path, old=naf2008) == (
        "corr.csv, row 9: old code '01.19Y' is not a subclass of NAF rév.2 (Insee)"
    )
    spoil(frame, 5, naf_2025="").to_csv(tmp_path / "half.csv", index=False)
    assert one_error(tmp_path / "half.csv", Correspondence.from_path) == (
        "half.csv, row 5: new code is empty (the other side is '01.14Z')"
    )
    # A fully empty row (a spreadsheet's tail) is not an error.
    spoil(frame, 5, naf_rev2="", naf_2025="").to_csv(tmp_path / "tail.csv", index=False)
    assert (
        len(Correspondence.from_path(tmp_path / "tail.csv", old=naf2008, new=naf2025).pairs) == 29
    )


def test_control_characters_never_survive_in_titles(tmp_path: Path):
    table = tmp_path / "naf.csv"
    table.write_text(
        "level,code,title,parent\n"
        'section,A,"AGRI\x0bCULTURE \x00 ET  PÊCHE ",\n'
        'division,01,"Culture\tet\r\nproduction\x7f",A\n'
        'subclass,01.11Y,"  Céréales\x1f\x08 ",01\n',
        encoding="utf-8",
    )
    nomenclature = Nomenclature.from_path(table)
    assert nomenclature.title("A") == "AGRI CULTURE ET PÊCHE"
    assert nomenclature.title("01") == "Culture et production"
    assert nomenclature.title("01.11Y") == "Céréales"
    control = {chr(c) for c in [*range(0x20), 0x7F]}
    assert not any(set(t) & control for t in nomenclature.titles.values() if t)
    assert clean_title("\x00\x0b ") is None


def test_a_damaged_builtin_table_fails_on_its_counts():
    damaged = Nomenclature.builtin("naf2008")
    del damaged.levels["01.11Z"]
    with pytest.raises(TableIntegrityError) as err:
        damaged.check_counts(NOMENCLATURES["naf2008"])
    assert str(err.value) == (
        "naf2008_5_levels.csv: 731 subclass codes where NAF rév.2 has 732 (PROVENANCE.md): "
        "the packaged table is damaged"
    )


def test_a_table_without_subclasses_is_refused(level_rows: pd.DataFrame, tmp_path: Path):
    level_rows[level_rows["level"] != "subclass"].to_csv(tmp_path / "naf.csv", index=False)
    with pytest.raises(TableIntegrityError, match=r"^naf\.csv: no subclass at all"):
        Nomenclature.from_path(tmp_path / "naf.csv")


@pytest.mark.parametrize(
    "error",
    [
        InvalidCodeError,
        UnknownCodeError,
        CorrespondenceFormatError,
        TableIntegrityError,
        TableNotFoundError,
        MissingColumnError,
    ],
)
def test_every_package_error_derives_from_one_base(error: type[Exception]):
    assert issubclass(error, NaceMappingError) and issubclass(error, ValueError)


def test_a_missing_file_is_a_package_error(tmp_path: Path):
    with pytest.raises(TableNotFoundError, match="file not found") as err:
        Nomenclature.from_path(tmp_path / "nope.csv")
    assert isinstance(err.value, FileNotFoundError)
