"""Ingest: every line is accounted for, reruns are idempotent, partitions are by UTC day."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from campaigns.errors import InputFormatError
from campaigns.storage import Storage
from campaigns.traffic.ingest import ingest_file
from campaigns.traffic.window import traffic_dataset


def line(request_id: str, **over: object) -> str:
    record: dict[str, object] = {
        "request_id": request_id,
        "timestamp": "2026-09-01T23:30:00+02:00",
        "text": "Maçonnerie  générale",
        "context": {"cj": "5499"},
        "predictions": [{"code": "4399C", "score": 0.9}, {"code": "41.20a", "score": 0.05}],
        "model_name": "ft",
        "model_version": "1",
    }
    record.update(over)
    return json.dumps(record)


BAD_LINES = {
    "not json": "invalid JSON",
    "[1, 2]": "not a JSON object",
    line("b1", timestamp="yesterday"): "invalid timestamp: yesterday",
    line("b2", predictions=[{"code": "ABC", "score": 0.5}]): "invalid prediction code",
    line("b3", predictions=[{"code": "7022Z", "score": 1.5}]): "prediction score outside [0, 1]",
    line("b4", predictions=[]): "predictions must be a non-empty list of {code, score}",
    line("b5", text=""): "missing text",
    line("", text="x"): "missing request_id",
    line("b6", predictions=[{"code": "7022Z", "score": "high"}]): (
        "prediction score is not a JSON number"
    ),
}


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return Storage.open(str(tmp_path / "store"))


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_good_lines_are_normalised_and_partitioned_by_utc_day(tmp_path: Path, store: Storage):
    log = write(
        tmp_path / "a.jsonl",
        [line("a1", extra_field=3), line("a2", timestamp="2026-09-02T10:00:00")],
    )
    summary = ingest_file(log, store)
    assert (summary.lines, summary.written, summary.quarantined) == (2, 2, 0)
    table = traffic_dataset(store).to_table().sort_by("request_id").to_pylist()
    # 23:30 at +02:00 is 21:30 UTC on the same day; a timestamp without zone is UTC.
    assert [str(r["day"]) for r in table] == ["2026-09-01", "2026-09-02"]
    assert table[0]["text_norm"] == "MACONNERIE GENERALE"
    assert table[0]["predicted_codes"] == ["43.99C", "41.20A"]
    assert table[0]["confidence"] == pytest.approx(0.85)
    assert json.loads(table[0]["extra"]) == {"extra_field": 3}
    assert table[1]["extra"] is None


def test_every_malformed_line_is_quarantined_with_its_reason(tmp_path: Path, store: Storage):
    lines = [line("ok1"), *BAD_LINES, "", line("ok2"), line("ok1")]
    summary = ingest_file(write(tmp_path / "mixed.jsonl", lines), store)
    assert summary.lines == len(lines)
    assert summary.blank_lines == 1
    assert summary.written == 2
    assert summary.duplicates_in_file == 1
    assert summary.quarantined == len(BAD_LINES)
    assert summary.accounted() == summary.lines - summary.blank_lines
    quarantine = store.read_table(summary.quarantine_uri.removeprefix(store.root_uri + "/"))
    by_line = dict(
        zip(
            quarantine.column("line").to_pylist(),
            quarantine.column("reason").to_pylist(),
            strict=True,
        )
    )
    assert by_line == BAD_LINES
    assert quarantine.column("line_no").to_pylist() == list(range(2, 2 + len(BAD_LINES)))


def test_reingesting_is_idempotent_and_overlapping_files_do_not_duplicate(
    tmp_path: Path, store: Storage
):
    first = write(tmp_path / "one.jsonl", [line("r1"), line("r2")])
    assert ingest_file(first, store).written == 2
    again = ingest_file(first, store)
    assert again.skipped_as_already_ingested and again.written == 0
    overlap = write(tmp_path / "two.jsonl", [line("r2"), line("r3")])
    second = ingest_file(overlap, store)
    assert (second.written, second.already_present) == (1, 1)
    ids = sorted(traffic_dataset(store).to_table(columns=["request_id"]).column(0).to_pylist())
    assert ids == ["r1", "r2", "r3"]


def test_gzipped_logs_are_read(tmp_path: Path, store: Storage):
    path = tmp_path / "logs.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write(line("g1") + "\n" + line("g2") + "\n")
    assert ingest_file(path, store).written == 2


def test_missing_file_is_a_clear_error(tmp_path: Path, store: Storage):
    with pytest.raises(InputFormatError, match="No log file"):
        ingest_file(tmp_path / "nope.jsonl", store)
