"""Retraining: gold units become training rows; training labels they contradict are listed."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaigns.errors import (
    ConfigurationError,
    EmptySelectionError,
    InputFormatError,
    NotFoundError,
)
from campaigns.lifecycle.training_set import (
    export_training_set,
    label_conflicts,
    read_training_set,
    training_rows,
)
from campaigns.state.models import Campaign
from campaigns.storage import Storage

GOLD_ROWS = [
    # request_id, text, status, gold_code, weight
    ("r1", "café", "coded", "62.01Z", 10.0),
    ("r2", "Maçonnerie  générale", "coded", "43.99C", 2.5),
    ("r3", "boulangerie", "cannot_code", None, 4.0),
    ("r4", "illisible", "skipped", None, 4.0),
    ("r5", "xx", "invalid", None, 4.0),
    ("r6", "conseil", "disagreement", None, 7.0),
    ("r7", "taxi", "coded", "49.32Z", 1.25),
]


def gold_table(rows: list[tuple[str, str, str, str | None, float]] = GOLD_ROWS) -> pa.Table:
    request_id, text, status, gold_code, weight = (list(c) for c in zip(*rows, strict=True))
    return pa.table(
        {
            "request_id": request_id,
            "text": text,
            "text_norm": [t.upper() for t in text],
            "predicted_code": ["62.01Z"] * len(rows),
            "status": status,
            "gold_code": pa.array(gold_code, pa.string()),
            "weight": weight,
            "stratum": ["all"] * len(rows),
            "campaign_id": pa.array([3] * len(rows), pa.int64()),
        }
    )


def rows(campaign_id: int = 3) -> pa.Table:
    return training_rows(gold_table(), campaign_id=campaign_id, nomenclature_name="NAF rév.2")


def test_training_rows_keep_only_coded_units_with_their_weights() -> None:
    assert rows().to_pylist() == [
        {
            "text": "café",
            "code": "62.01Z",
            "weight": 10.0,
            "source_campaign": 3,
            "nomenclature": "NAF rév.2",
            "request_id": "r1",
        },
        {
            "text": "Maçonnerie  générale",
            "code": "43.99C",
            "weight": 2.5,
            "source_campaign": 3,
            "nomenclature": "NAF rév.2",
            "request_id": "r2",
        },
        {
            "text": "taxi",
            "code": "49.32Z",
            "weight": 1.25,
            "source_campaign": 3,
            "nomenclature": "NAF rév.2",
            "request_id": "r7",
        },
    ]
    assert rows().schema.field("source_campaign").type == pa.int64()


def test_training_rows_one_row_per_request() -> None:
    doubled = gold_table([*GOLD_ROWS, ("r1", "café", "coded", "62.01Z", 10.0)])
    out = training_rows(doubled, campaign_id=3, nomenclature_name="n")
    assert out.column("request_id").to_pylist() == ["r1", "r2", "r7"]


def test_training_rows_refuse_a_table_that_is_not_a_gold_table() -> None:
    with pytest.raises(ConfigurationError) as err:
        training_rows(pa.table({"text": ["a"]}), campaign_id=3, nomenclature_name="n")
    assert "gold_code" in err.value.message
    assert err.value.hint is not None and "text" in err.value.hint


def training_set() -> pa.Table:
    return pa.table(
        {
            "text": [
                "CAFE  ",  # same text as r1, same code in another format: no conflict
                " Cafe",  # same text as r1, another code: conflict
                "MACONNERIE GENERALE",  # same text as r2, same code lower-case: no conflict
                "taxi",  # r7, another code: conflict
                "taxi",  # the same wrong label again: reported once
                "boulangerie",  # not coded in the gold: never a conflict
                "plomberie",  # not in the gold at all
                None,
            ],
            "code": ["6201Z", "5610A", " 43.99c", "4932z ", "49.32z", "10.71C", "43.22A", "1"],
            "other": list(range(8)),
        }
    )


def test_label_conflicts_match_texts_and_codes_whatever_their_format() -> None:
    conflicts = label_conflicts(rows(), training_set())
    assert conflicts.to_pylist() == [
        {
            "text": "café",
            "training_code": "5610A",
            "gold_code": "62.01Z",
            "weight": 10.0,
            "source_campaign": 3,
            "request_id": "r1",
        },
    ]


def test_label_conflicts_report_both_codes_for_each_differing_label() -> None:
    train = pa.table({"text": ["TAXI", "taxi "], "code": ["49.39A", "4939B"]})
    conflicts = label_conflicts(rows(), train)
    assert conflicts.select(["request_id", "training_code", "gold_code"]).to_pylist() == [
        {"request_id": "r7", "training_code": "49.39A", "gold_code": "49.32Z"},
        {"request_id": "r7", "training_code": "4939B", "gold_code": "49.32Z"},
    ]


def test_read_training_set_from_csv_keeps_codes_as_text(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    # codes that look like numbers must not be read as numbers (0111 is not 111)
    path.write_text("id,text,code\n1,café,0111\n2,Maçonnerie,62.10\n", encoding="utf-8")
    table = read_training_set(str(path))
    assert table.column_names == ["text", "code"]
    assert table.to_pylist() == [
        {"text": "café", "code": "0111"},
        {"text": "Maçonnerie", "code": "62.10"},
    ]


def test_read_training_set_from_parquet(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"code": ["6201Z"], "text": ["café"], "n": [1]}), path)
    assert read_training_set(str(path)).to_pylist() == [{"text": "café", "code": "6201Z"}]


def test_read_training_set_names_the_columns_it_found(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("libelle,code\ncafé,6201Z\n", encoding="utf-8")
    with pytest.raises(InputFormatError) as err:
        read_training_set(str(path))
    assert "'text'" in err.value.message
    assert err.value.hint is not None
    assert "found: libelle, code" in err.value.hint


def test_read_training_set_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        read_training_set(str(tmp_path / "nope.parquet"))


def campaign(version: str | None = "v1") -> Campaign:
    return Campaign(id=3, name="x", sample_id="s", last_export_version=version)


def test_export_training_set_writes_rows_and_conflicts(tmp_path: Path) -> None:
    storage = Storage.open(str(tmp_path / "store"))
    train = tmp_path / "train.parquet"
    pq.write_table(training_set().drop(["other"]), train)
    result = export_training_set(
        storage, gold_table(), campaign(), nomenclature_name="NAF rév.2", compare_with=str(train)
    )
    folder = tmp_path / "store" / "training" / "campaign=3" / "export-v1"
    assert result.rows == 3
    assert result.conflicts == 1
    assert result.uri == storage.uri("training/campaign=3/export-v1/training.parquet")
    assert result.conflicts_uri == storage.uri("training/campaign=3/export-v1/conflicts.parquet")
    written = pq.read_table(folder / "training.parquet")
    assert written.column("code").to_pylist() == ["62.01Z", "43.99C", "49.32Z"]
    assert written.column("weight").to_pylist() == [10.0, 2.5, 1.25]
    conflicts = pq.read_table(folder / "conflicts.parquet")
    assert conflicts.select(["training_code", "gold_code"]).to_pylist() == [
        {"training_code": "5610A", "gold_code": "62.01Z"}
    ]


def test_export_training_set_without_comparison_writes_no_conflicts(tmp_path: Path) -> None:
    storage = Storage.open(str(tmp_path))
    result = export_training_set(
        storage, gold_table(), campaign(), nomenclature_name="n", compare_with=None
    )
    assert (result.rows, result.conflicts, result.conflicts_uri) == (3, 0, None)
    assert storage.list_files("training") == ["training/campaign=3/export-v1/training.parquet"]


def test_export_training_set_bad_training_set_writes_nothing(tmp_path: Path) -> None:
    storage = Storage.open(str(tmp_path / "store"))
    bad = tmp_path / "train.csv"
    bad.write_text("label,code\na,1\n", encoding="utf-8")
    with pytest.raises(InputFormatError):
        export_training_set(
            storage, gold_table(), campaign(), nomenclature_name="n", compare_with=str(bad)
        )
    assert storage.list_files("training") == []


def test_export_training_set_needs_an_export(tmp_path: Path) -> None:
    with pytest.raises(EmptySelectionError):
        export_training_set(
            Storage.open(str(tmp_path)),
            gold_table(),
            campaign(version=None),
            nomenclature_name="n",
            compare_with=None,
        )
