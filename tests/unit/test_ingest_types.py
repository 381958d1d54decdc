"""The JSON types a lenient parse could hide: a request_id, a text or a score of the wrong type
is quarantined with its reason, whatever its spelling; right types are read exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaigns.storage import Storage
from campaigns.traffic.ingest import ingest_file
from campaigns.traffic.window import traffic_dataset

PREDICTIONS = '[{"code": "1071C", "score": 0.9}, {"code": "4724Z", "score": 0.05}]'


def raw_line(request_id: str = '"r1"', text: str = '"Boulangerie"', preds: str = PREDICTIONS):
    return (
        f'{{"request_id": {request_id}, "timestamp": "2026-09-01T10:00:00Z", '
        f'"text": {text}, "predictions": {preds}}}'
    )


def ingest_one(tmp_path: Path, line: str) -> tuple[dict, list[dict]]:
    store = Storage.open(str(tmp_path / "store"))
    log = tmp_path / "t.jsonl"
    log.write_text(line + "\n", encoding="utf-8")
    summary = ingest_file(log, store)
    rows = traffic_dataset(store).to_table().to_pylist() if summary.written else []
    return summary.quarantine_reasons, rows


@pytest.mark.parametrize(
    "value", ["1.5", "true", "false", '{"a": 1}', "[1]", "99999999999999999999999", "NaN", "1e3"]
)
def test_a_request_id_that_is_neither_string_nor_integer_is_refused(tmp_path: Path, value):
    reasons, _ = ingest_one(tmp_path, raw_line(request_id=value))
    assert reasons == {"request_id is not a string": 1}


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("123", "123"),
        ("-5", "-5"),
        ("18446744073709551615", "18446744073709551615"),
        ('"a\\"b\\\\c\\u00e9/"', 'a"b\\cé/'),
        ('" r2 "', "r2"),
    ],
)
def test_string_and_integer_request_ids_are_read_exactly(tmp_path: Path, value, stored):
    reasons, rows = ingest_one(tmp_path, raw_line(request_id=value))
    assert reasons == {}
    assert rows[0]["request_id"] == stored


@pytest.mark.parametrize(
    "value", ["5", "-1", "1e3", "true", "false", "[1]", '{"a": 1}', "NaN", "Infinity", "-Infinity"]
)
def test_a_text_that_is_not_a_string_is_refused(tmp_path: Path, value):
    reasons, _ = ingest_one(tmp_path, raw_line(text=value))
    assert reasons == {"text is not a string": 1}


@pytest.mark.parametrize(
    "value", ['"5 rue de la Paix"', '"true"', '"[brouillon]"', '"NaN"', '"{x}"', '"-"', '"Tab\\tx"']
)
def test_strings_that_look_like_other_types_are_texts(tmp_path: Path, value):
    reasons, rows = ingest_one(tmp_path, raw_line(text=value))
    assert reasons == {}
    assert rows[0]["text"] == json.loads(value)


@pytest.mark.parametrize(
    ("preds", "reason"),
    [
        ('[{"code": "1071C", "score": "0.9"}]', "prediction score is not a JSON number"),
        ('[{"code": "1071C", "score": null}]', "prediction score is not a JSON number"),
        ('[{"code": "1071C", "score": false}]', "prediction score is not a JSON number"),
        ('[{"code": "1071C"}]', "predictions must be a non-empty list of {code, score}"),
        ('[{"code": "1071C", "score": 0.5}, {"code": "4724Z"}]', (
            "predictions must be a non-empty list of {code, score}")),
        ('{"code": "1071C", "score": 0.5}', (
            "predictions must be a non-empty list of {code, score}")),
        ('[{"code": "1071C", "score": NaN}]', "prediction score outside [0, 1]"),
        ('[{"code": "1071C", "score": 1e-7}, {"code": "1071D", "score": 2}]', (
            "prediction score outside [0, 1]")),
    ],
)  # fmt: skip
def test_scores_must_be_json_numbers(tmp_path: Path, preds, reason):
    reasons, _ = ingest_one(tmp_path, raw_line(preds=preds))
    assert reasons == {reason: 1}


def test_scores_in_every_number_spelling_are_read(tmp_path: Path):
    preds = (
        '[{"code": "1071C", "score": 9e-1}, {"code": "4724Z", "score": 0}, '
        '{"code": "4724Z", "score": 1E-2}]'
    )
    reasons, rows = ingest_one(tmp_path, raw_line(preds=preds))
    assert reasons == {}
    assert rows[0]["scores"] == [0.9, 0.01, 0.0]
