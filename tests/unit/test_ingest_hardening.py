"""Dirty logs never stop ingest: every odd line is quarantined (or recorded as a conflict) with
its reason, and every other line and file is ingested."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pyarrow as pa
import pytest

from campaigns.config import get_settings
from campaigns.errors import InputFormatError
from campaigns.storage import Storage
from campaigns.traffic import ingest
from campaigns.traffic.ingest import (
    QUARANTINE_PREFIX_BYTES,
    IngestSummary,
    ingest_file,
    json_lines_parser,
    read_lines,
)
from campaigns.traffic.schema import CONFLICT_SCHEMA, QUARANTINE_SCHEMA, TRAFFIC_SCHEMA
from campaigns.traffic.window import traffic_dataset


def line(request_id: str, **over: object) -> str:
    record: dict[str, object] = {
        "request_id": request_id,
        "timestamp": "2026-09-01T10:00:00Z",
        "text": "Boulangerie",
        "predictions": [{"code": "1071C", "score": 0.9}, {"code": "4724Z", "score": 0.05}],
    }
    record.update(over)
    return json.dumps(record)


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return Storage.open(str(tmp_path / "store"))


def write_bytes(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def quarantine(store: Storage, summary: IngestSummary) -> list[dict]:
    assert summary.quarantine_uri
    table = store.read_table(summary.quarantine_uri.removeprefix(store.root_uri + "/"))
    assert table.schema == QUARANTINE_SCHEMA
    return table.to_pylist()


def stored(store: Storage) -> dict[str, dict]:
    return {r["request_id"]: r for r in traffic_dataset(store).to_table().to_pylist()}


# -- 1. timestamps out of range ------------------------------------------------------------


def test_timestamps_out_of_the_representable_range_are_quarantined(tmp_path: Path, store):
    lines = [
        line("ok1"),
        line("y20000", timestamp="20000-01-01T00:00:00Z"),
        line("bc", timestamp="-0001-06-01T00:00:00Z"),
        line("inf", timestamp="infinity"),
        line("ninf", timestamp="-infinity"),
        line("ok2", timestamp="9999-12-31T23:59:59Z"),
    ]
    summary = ingest_file(write_bytes(tmp_path / "t.jsonl", [x.encode() for x in lines]), store)
    assert (summary.written, summary.quarantined) == (2, 4)
    reasons = {r["line_no"]: r["reason"] for r in quarantine(store, summary)}
    assert reasons == {
        2: "timestamp out of range: 20000-01-01T00:00:00Z",
        3: "timestamp out of range: -0001-06-01T00:00:00Z",
        4: "timestamp out of range: infinity",
        5: "timestamp out of range: -infinity",
    }
    assert sorted(stored(store)) == ["ok1", "ok2"]


# -- 2. invalid UTF-8, over-long lines ------------------------------------------------------


def test_invalid_utf8_and_overlong_lines_are_quarantined_and_later_files_ingested(
    tmp_path: Path, store
):
    long_text = "é" * 150  # 300 bytes of text: the line is over the 200-byte maximum
    first = write_bytes(
        tmp_path / "a.jsonl",
        [
            line("a1").encode(),
            line("bad-utf8").encode().replace(b"Boulangerie", b"Boulang\xffrie"),
            line("a2").encode(),
            line("long", text=long_text, ensure_ascii=False).encode(),
            line("a3").encode(),
        ],
    )
    first.write_bytes(
        first.read_bytes().replace(json.dumps(long_text).encode(), ('"' + long_text + '"').encode())
    )
    second = write_bytes(tmp_path / "b.jsonl", [line("b1").encode()])
    summaries = [ingest_file(p, store, max_line_bytes=200) for p in (first, second)]

    assert [s.written for s in summaries] == [3, 1]
    assert summaries[0].quarantine_reasons == {
        "invalid UTF-8": 1,
        "line longer than 200 bytes": 1,
    }
    bad = {r["line_no"]: r for r in quarantine(store, summaries[0])}
    assert bad[2]["reason"] == "invalid UTF-8"
    assert bad[2]["line"].startswith('{"request_id": "bad-utf8"')
    assert "Boulang\\xffrie" in bad[2]["line"]  # the bad byte, escaped
    assert bad[2]["line_bytes"] == len(line("bad-utf8").encode())
    long_line = first.read_bytes().split(b"\n")[3]
    assert bad[4]["reason"] == "line longer than 200 bytes"
    assert bad[4]["line_bytes"] == len(long_line) > 200
    assert long_line.decode().startswith(bad[4]["line"])
    assert sorted(stored(store)) == ["a1", "a2", "a3", "b1"]


def test_the_maximum_line_size_is_a_setting(tmp_path: Path, store, monkeypatch):
    monkeypatch.setenv("CAMPAIGNS_INGEST_MAX_LINE_BYTES", "180")
    get_settings.cache_clear()
    try:
        log = write_bytes(tmp_path / "s.jsonl", [line("s1").encode(), b"{" + b" " * 250 + b"}"])
        summary = ingest_file(log, store)
    finally:
        get_settings.cache_clear()
    assert summary.written == 1
    assert summary.quarantine_reasons == {"line longer than 180 bytes": 1}


def test_a_line_far_over_the_maximum_is_never_held_whole(tmp_path: Path):
    """Across read blocks, a huge line keeps its first bytes and its exact length only."""
    huge = b"x" * 50_000
    log = write_bytes(tmp_path / "h.jsonl", [b"first", huge + b"\r", b"", b"last"])
    rows = read_lines(log, max_line_bytes=1000, block_bytes=4096).read_all().to_pylist()
    assert [r["line_no"] for r in rows] == [1, 2, 3, 4]
    assert [r["line_bytes"] for r in rows] == [5, 50_000, 0, 4]
    assert rows[1]["raw"] == huge[:QUARANTINE_PREFIX_BYTES]
    assert rows[0]["raw"] == b"first\n"


def test_blank_lines_are_counted_and_lines_starting_blank_are_not_blank(tmp_path: Path, store):
    lines = [
        b"",
        b" \t \r",
        line("w1").encode(),
        b"  " + line("w2").encode(),  # leading whitespace: still a JSON line
        b" " + b"x" * 300,  # over the maximum, starting with a space: quarantined
        b"  \xff",  # not UTF-8, starting with spaces: quarantined
    ]
    summary = ingest_file(write_bytes(tmp_path / "w.jsonl", lines), store, max_line_bytes=250)
    assert (summary.lines, summary.blank_lines, summary.written) == (6, 2, 2)
    assert summary.quarantine_reasons == {"line longer than 250 bytes": 1, "invalid UTF-8": 1}


# -- 3. control bytes -------------------------------------------------------------------------


def test_a_line_with_a_control_byte_is_read_whole_never_truncated(tmp_path: Path, store):
    lines = [
        line("c1").encode() + b"\x01trailing garbage",  # was cut at \x01 and accepted
        line("c2").encode().replace(b"Boulangerie", b"Boulan\x01gerie"),
        line("c3").encode().replace(b", ", b",\r "),  # \r is JSON whitespace: valid line
        line("c4").encode(),
    ]
    summary = ingest_file(write_bytes(tmp_path / "c.jsonl", lines), store)
    assert summary.lines == 4
    bad = {r["line_no"]: r for r in quarantine(store, summary)}
    assert {n: r["reason"] for n, r in bad.items()} == {1: "invalid JSON", 2: "invalid JSON"}
    assert bad[1]["line"] == lines[0].decode()
    assert bad[2]["line"] == lines[1].decode()
    assert sorted(stored(store)) == ["c3", "c4"]
    assert stored(store)["c4"]["line_no"] == 4


# -- 4. predictions order, score types ------------------------------------------------------


def test_predictions_are_sorted_by_score_and_the_confidence_is_never_negative(
    tmp_path: Path, store
):
    lines = [
        line(
            "u1",
            predictions=[
                {"code": "4724Z", "score": 0.05},
                {"code": "1071C", "score": 0.9},
                {"code": "1071D", "score": 0.05},
            ],
        ),
        line("u2", predictions=[{"code": "1071C", "score": 0.6}]),
    ]
    ingest_file(write_bytes(tmp_path / "u.jsonl", [x.encode() for x in lines]), store)
    rows = stored(store)
    assert rows["u1"]["predicted_codes"] == ["10.71C", "47.24Z", "10.71D"]  # ties: as logged
    assert rows["u1"]["scores"] == [0.9, 0.05, 0.05]
    assert rows["u1"]["predicted_code"] == "10.71C"
    assert rows["u1"]["confidence"] == pytest.approx(0.85)
    assert rows["u2"]["confidence"] == pytest.approx(0.6)


@pytest.mark.parametrize("score", ["0.9", True, None, [0.9], {"v": 0.9}])
def test_a_score_that_is_not_a_json_number_is_quarantined(tmp_path: Path, store, score):
    lines = [line("n1", predictions=[{"code": "1071C", "score": score}]), line("n2")]
    summary = ingest_file(write_bytes(tmp_path / "n.jsonl", [x.encode() for x in lines]), store)
    assert summary.quarantine_reasons == {"prediction score is not a JSON number": 1}
    assert sorted(stored(store)) == ["n2"]


def test_a_string_score_beyond_the_tenth_prediction_is_seen_too(tmp_path: Path, store):
    many = [{"code": "1071C", "score": 0.01}] * 11 + [{"code": "1071C", "score": "0.01"}]
    log = write_bytes(tmp_path / "m.jsonl", [line("m1", predictions=many).encode()])
    assert ingest_file(log, store).quarantine_reasons == {
        "prediction score is not a JSON number": 1
    }


# -- 5. conflicts -----------------------------------------------------------------------------


def test_a_request_id_repeated_with_other_content_is_a_recorded_conflict(tmp_path: Path, store):
    first = write_bytes(
        tmp_path / "one.jsonl",
        [
            line("r1").encode(),
            line("r1").encode(),  # same content: a duplicate
            line("r1", text="Patisserie").encode(),  # other content: a conflict
            line("r2").encode(),
        ],
    )
    one = ingest_file(first, store)
    assert (one.written, one.duplicates_in_file, one.conflicts) == (2, 1, 1)
    assert one.accounted() == one.lines

    second = write_bytes(
        tmp_path / "two.jsonl",
        [
            line("r2").encode(),  # already stored, same content
            line("r1", predictions=[{"code": "4724Z", "score": 0.7}]).encode(),  # conflict
            line("r3").encode(),
        ],
    )
    two = ingest_file(second, store)
    assert (two.written, two.already_present, two.conflicts) == (1, 1, 1)
    assert two.accounted() == two.lines
    assert stored(store)["r1"]["text"] == "Boulangerie"  # the first version stays

    for summary, other_file, other_line in [(one, "one.jsonl", 3), (two, "two.jsonl", 2)]:
        assert summary.conflicts_uri
        table = store.read_table(summary.conflicts_uri.removeprefix(store.root_uri + "/"))
        assert table.schema == CONFLICT_SCHEMA
        (conflict,) = table.to_pylist()
        assert conflict["request_id"] == "r1"
        assert (conflict["kept_source_file"], conflict["kept_line_no"]) == ("one.jsonl", 1)
        assert (conflict["source_file"], conflict["line_no"]) == (other_file, other_line)
        kept, other = json.loads(conflict["kept_version"]), json.loads(conflict["version"])
        assert kept["text"] == "Boulangerie"
        assert kept["predicted_codes"] == ["10.71C", "47.24Z"]
        assert other != kept


# -- 7. one read, pluggable parser ------------------------------------------------------------


def test_each_file_is_read_once_for_all_its_lines(tmp_path: Path, store, monkeypatch):
    """Quarantine and traffic come from the same pass (the SHA-256 aside)."""
    opened: list[str] = []
    real = pa.input_stream

    def counting(path: str, *args: object, **kwargs: object) -> pa.NativeFile:
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pa, "input_stream", counting)
    log = write_bytes(tmp_path / "once.jsonl", [line("o1").encode(), b"not json"])
    summary = ingest_file(log, store)
    assert (summary.written, summary.quarantined) == (1, 1)
    assert opened == [str(log)]


def test_another_line_format_plugs_in_as_a_parser(tmp_path: Path, store):
    """A parser only maps lines to fields; the shared rules and the writing stay the same."""

    def tab_separated(relation: str) -> str:
        return f"""
        SELECT *,
            CASE WHEN len(parts) <> 4 THEN 'not 4 tab-separated fields' END AS format_reason,
            parts[1] AS request_id, parts[2] AS ts_raw, TRY_CAST(parts[2] AS TIMESTAMPTZ) AS ts,
            parts[3] AS text, NULL::VARCHAR AS context,
            [{{'code': parts[4], 'score': 1.0::DOUBLE}}] AS predictions,
            NULL::VARCHAR AS model_name, NULL::VARCHAR AS model_version, NULL::VARCHAR AS extra
        FROM (SELECT *, string_split(rtrim(line, chr(10)), chr(9)) AS parts FROM {relation})
        """

    log = write_bytes(
        tmp_path / "t.tsv", [b"t1\t2026-09-01T10:00:00Z\tBoulangerie\t1071C", b"t2\tbroken"]
    )
    summary = ingest_file(log, store, parser=tab_separated)
    assert (summary.written, summary.quarantine_reasons) == (
        1,
        {"not 4 tab-separated fields": 1},
    )
    assert stored(store)["t1"]["predicted_codes"] == ["10.71C"]


def test_partitions_have_the_traffic_schema(tmp_path: Path, store):
    ingest_file(write_bytes(tmp_path / "p.jsonl", [line("p1").encode()]), store)
    (part,) = store.list_files("traffic", suffix=".parquet")
    assert store.read_schema(part).remove_metadata() == TRAFFIC_SCHEMA


def test_a_crash_between_partitions_leaves_whole_files_and_a_rerun_completes(tmp_path: Path, store):
    lines = [line(f"k{i}", timestamp=f"2026-09-0{1 + i % 3}T10:00:00Z").encode() for i in range(9)]
    log = write_bytes(tmp_path / "k.jsonl", lines)

    def crash_after_first(day: str) -> None:
        raise RuntimeError(f"crash after {day}")

    with pytest.raises(RuntimeError, match="crash after 2026-09-01"):
        ingest_file(log, store, on_partition=crash_after_first)
    assert sorted(stored(store)) == ["k0", "k3", "k6"]  # day 1 whole, nothing else

    again = ingest_file(log, store)
    assert not again.skipped_as_already_ingested
    assert (again.written, again.already_present) == (6, 3)
    assert sorted(stored(store)) == sorted(f"k{i}" for i in range(9))
    assert ingest_file(log, store).skipped_as_already_ingested
    assert not store.list_files("_tmp")  # no scratch left behind


def test_a_file_that_cannot_be_decompressed_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, store
):
    data = gzip.compress(("\n".join(line(f"z{i}") for i in range(20_000)) + "\n").encode())
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(data[: len(data) // 2] + b"\x00" * 64)
    with pytest.raises(InputFormatError, match=r"Cannot read .*broken\.jsonl\.gz: "):
        ingest_file(broken, store)
    assert not store.list_files("")


@pytest.mark.parametrize("hash_delay", [0.0, 1.0])
def test_a_file_already_ingested_stops_its_parse_once_hashed(
    tmp_path: Path, store, monkeypatch, hash_delay: float
):
    """The hash runs beside the parse; a known content skips it, or interrupts it when the
    parse has already started (reruns stay cheap)."""
    log = write_bytes(tmp_path / "again.jsonl", [line("a1").encode()])
    assert ingest_file(log, store).written == 1
    real_sha256 = ingest.file_sha256

    def slow_sha256(path: Path) -> str:
        time.sleep(hash_delay)  # long enough for the parse below to be running
        return real_sha256(path)

    monkeypatch.setattr(ingest, "file_sha256", slow_sha256)

    def endless(relation: str) -> str:  # minutes of work, unless interrupted
        slow = "(SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3)"
        return f"SELECT * FROM ({json_lines_parser(relation)}) WHERE {slow} >= 0"

    started = time.perf_counter()
    again = ingest_file(log, store, parser=endless)
    assert again.skipped_as_already_ingested and again.written == 0
    assert time.perf_counter() - started < 20
