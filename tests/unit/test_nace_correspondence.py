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
    Nomenclature,
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
def official(shared_dir: Path) -> Correspondence:
    return Correspondence.from_path(shared_dir / "nace" / "naf2008_to_naf2025.csv")


def insee_layout(shared_dir: Path, n: int = 60) -> pd.DataFrame:
    src = pd.read_csv(shared_dir / "nace" / "naf2008_to_naf2025.csv", dtype=str).head(n)
    return pd.DataFrame(
        {
            INSEE_HEADERS[0]: src["naf_rev2"].str.replace(".", "", regex=False),
            INSEE_HEADERS[1]: src["naf_rev2"].str[:5],
            INSEE_HEADERS[2]: src["label_rev2"],
            INSEE_HEADERS[3]: src["naf_2025"].str[:5],
            INSEE_HEADERS[4]: src["naf_2025"],
            INSEE_HEADERS[5]: src["label_2025_provisional"],
        }
    )


def test_official_table_counts(official: Correspondence):
    assert len(official.univocal_codes()) == 520
    assert len(official.multivocal_codes()) == 212
    assert official.candidates("0111Z") == ["01.11Y"]
    assert len(official.candidates("47.99A")) > 20
    assert official.is_multivocal("47.99A") and official.is_univocal("01.11Z")


def test_insee_spreadsheet_layout_in_csv_and_xlsx(shared_dir: Path, tmp_path: Path):
    frame = insee_layout(shared_dir)
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


def test_missing_columns_say_what_was_found(tmp_path: Path):
    pd.DataFrame({"old": ["0111Z"], "new": ["0111Y"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(CorrespondenceFormatError, match=r"found \['old', 'new'\]"):
        Correspondence.from_path(tmp_path / "x.csv")


def test_duplicates_are_dropped_and_counted(shared_dir: Path, tmp_path: Path):
    frame = insee_layout(shared_dir, 10)
    pd.concat([frame, frame.head(3)]).to_csv(tmp_path / "dup.csv", index=False)
    corr = Correspondence.from_path(tmp_path / "dup.csv")
    assert (len(corr.pairs), corr.duplicates_dropped) == (10, 3)


def test_codes_are_checked_against_the_nomenclatures(shared_dir: Path, tmp_path: Path):
    frame = insee_layout(shared_dir, 5)
    frame.iloc[0, 4] = "99.99Y"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    new = Nomenclature.from_path(shared_dir / "nace" / "naf2025_sections_divisions_subclasses.csv")
    with pytest.raises(UnknownCodeError, match=r"99\.99Y"):
        Correspondence.from_path(tmp_path / "bad.csv", new=new)
    frame.iloc[0, 4] = "01.11"
    frame.to_csv(tmp_path / "level.csv", index=False)
    with pytest.raises(CorrespondenceFormatError, match="must hold subclasses"):
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
