"""The correspondence NAF rév.2 -> NAF 2025, in Insee's published layouts, and recoding."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nace_mapping import (
    Correspondence,
    CorrespondenceFormatError,
    MissingColumnError,
    Nomenclature,
    TableIntegrityError,
    UnknownCodeError,
    recode_parquet,
    recode_table,
)

INSEE_HEADERS = [
    "NAFold-code\n(code niveau sous-classe de la nomenclature actuelle)",
    "NACEold-code\n(niveau classe)",
    "NAFold-intitulé\n(niveau sous-classe)",
    "NACEnew-code\n(niveau classe)",
    "NAFnew-code\n(code niveau sous-classe de la nomenclature 2025, "
    "correspondance logique avec les NAFold-codes)",
    "NAFnew-intitulé\n(niveau sous-classe)",
]


@pytest.fixture(scope="module")
def official() -> Correspondence:
    return Correspondence.builtin()


@pytest.fixture(scope="module")
def naf2025() -> Nomenclature:
    return Nomenclature.builtin("naf2025")


def insee_layout(official: Correspondence, n: int = 60) -> pd.DataFrame:
    """The first ``n`` pairs as Insee's spreadsheet lays them out (long headers, undotted old
    codes, titles from the two nomenclatures)."""
    old, new = Nomenclature.builtin("naf2008"), Nomenclature.builtin("naf2025")
    src = official.pairs.head(n)
    return pd.DataFrame(
        {
            INSEE_HEADERS[0]: src["old_code"].str.replace(".", "", regex=False),
            INSEE_HEADERS[1]: src["old_code"].str[:5],
            INSEE_HEADERS[2]: src["old_code"].map(old.title),
            INSEE_HEADERS[3]: src["new_code"].str[:5],
            INSEE_HEADERS[4]: src["new_code"],
            INSEE_HEADERS[5]: src["new_code"].map(new.title),
        }
    )


def test_official_table_counts(official: Correspondence):
    assert len(official.pairs) == 1223
    assert len(official.univocal_codes()) == 520
    assert len(official.multivocal_codes()) == 212
    assert official.candidates("0111Z") == ["01.11Y"]
    assert len(official.candidates("47.99A")) > 20
    assert official.is_multivocal("47.99A") and official.is_univocal("01.11Z")
    assert official.sources("46.89Y") == []  # new in NAF 2025: no source code


def test_the_one_target_missing_from_naf2025_is_reported_not_invented(official: Correspondence):
    assert official.candidates("99.00Z") == ["99.00Y"]
    assert len(official.quirks) == 1 and "99.00Y" in official.quirks[0]
    assert "no division 99" in official.quirks[0]


def test_candidates_of_a_class_say_the_table_maps_subclasses(official: Correspondence):
    with pytest.raises(UnknownCodeError, match=r"01\.11 is a class"):
        official.candidates("0111")


def test_insee_spreadsheet_layout_in_csv_and_xlsx(official: Correspondence, tmp_path: Path):
    frame = insee_layout(official)
    frame.to_csv(tmp_path / "table.csv", index=False)
    frame.to_excel(tmp_path / "table.xlsx", index=False)
    short = frame.iloc[:, [0, 2, 4, 5]]
    short.columns = ["NAFold-code", "NAFold-intitulé", "NAFnew-code", "NAFnew-intitulé"]
    short.to_csv(tmp_path / "short.csv", index=False)
    loaded = [
        Correspondence.from_path(tmp_path / f) for f in ("table.csv", "table.xlsx", "short.csv")
    ]
    assert {len(c.pairs) for c in loaded} == {60}
    assert loaded[1].candidates("01.11Z") == ["01.11Y"]
    assert loaded[1].target_title("01.11Y").startswith("Culture de céréales")
    assert all(c.pairs["row"].tolist() == list(range(2, 62)) for c in loaded)


def test_missing_columns_say_what_was_found(tmp_path: Path):
    pd.DataFrame({"old": ["0111Z"], "new": ["0111Y"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(CorrespondenceFormatError, match=r"found \['old', 'new'\]"):
        Correspondence.from_path(tmp_path / "x.csv")


def test_duplicates_are_dropped_and_counted(official: Correspondence, tmp_path: Path):
    frame = insee_layout(official, 10)
    pd.concat([frame, frame.head(3)]).to_csv(tmp_path / "dup.csv", index=False)
    corr = Correspondence.from_path(tmp_path / "dup.csv")
    assert (len(corr.pairs), corr.duplicates_dropped) == (10, 3)


def test_codes_are_checked_against_the_nomenclatures(
    official: Correspondence, naf2025: Nomenclature, tmp_path: Path
):
    frame = insee_layout(official, 5)
    frame.iloc[3, 4] = "99.99Y"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(TableIntegrityError) as err:
        Correspondence.from_path(tmp_path / "bad.csv", new=naf2025)
    assert str(err.value) == (
        "bad.csv, row 5: new code '99.99Y' is not a subclass of NAF 2025 (Insee)"
    )
    frame.iloc[3, 4] = "01.11"
    frame.to_csv(tmp_path / "level.csv", index=False)
    with pytest.raises(TableIntegrityError, match=r"^level\.csv, row 5: new code .01\.11. is not"):
        Correspondence.from_path(tmp_path / "level.csv")


def test_recode_partitions_the_input(official: Correspondence, tmp_path: Path):
    table = pa.table(
        {
            "text": ["a", "b", "c", "d", "e", "f"],
            "code": ["0111Z", "47.99a", "99.99Z", "xx", None, "01.11Z"],
        }
    )
    result = recode_table(table, official)
    assert result.univocal.to_pylist() == [
        {"text": "a", "code": "01.11Z", "new_code": "01.11Y"},
        {"text": "f", "code": "01.11Z", "new_code": "01.11Y"},
    ]
    queued = result.multivocal.to_pylist()
    assert [(r["text"], r["code"], r["n_candidates"]) for r in queued] == [
        ("b", "47.99A", len(official.candidates("47.99A")))
    ]
    assert queued[0]["candidates"] == official.candidates("47.99A")
    reasons = dict(
        zip(
            result.quarantine.column("text").to_pylist(),
            result.quarantine.column("reason").to_pylist(),
            strict=True,
        )
    )
    assert reasons == {
        "c": "unknown to the correspondence",
        "d": "invalid code syntax",
        "e": "missing code",
    }
    assert result.summary["rows"] == 6
    pq.write_table(table, tmp_path / "in.parquet")
    summary = recode_parquet(tmp_path / "in.parquet", tmp_path / "out", official)
    assert (summary["univocal"], summary["multivocal"], summary["quarantined"]) == (2, 1, 3)
    assert pq.read_table(tmp_path / "out" / "multivocal_queue.parquet").num_rows == 1


def test_a_missing_code_column_is_a_package_error_and_still_a_key_error(
    official: Correspondence,
):
    table = pa.table({"text": ["a"], "ape": ["0111Z"]})
    with pytest.raises(MissingColumnError, match="No column 'code'") as err:
        recode_table(table, official)
    assert isinstance(err.value, KeyError) and str(err.value).startswith("No column")
