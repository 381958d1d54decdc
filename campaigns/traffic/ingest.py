"""Prediction logs (JSON lines) -> day-partitioned Parquet traffic, with a quarantine.

All parsing and validation happens inside DuckDB; Python only loops over day partitions.
Idempotent: a file whose content was already ingested is skipped (by its SHA-256), and rows
whose ``request_id`` already sits in the day partition are never written twice. Each partition
file is written atomically, so a crash leaves whole files only, and a rerun completes the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow, scalar
from campaigns.errors import InputFormatError
from campaigns.storage import Storage
from campaigns.traffic.schema import (
    CODE_PATTERN,
    KNOWN_FIELDS,
    QUARANTINE_SCHEMA,
    TRAFFIC_SCHEMA,
)

TRAFFIC_DIR = "traffic"
QUARANTINE_DIR = "quarantine/ingest"
MANIFEST_DIR = "_ingest_manifest"


@dataclass
class IngestSummary:
    """What happened to every line of one log file."""

    source: str
    sha256: str
    lines: int = 0
    blank_lines: int = 0
    written: int = 0
    already_present: int = 0
    duplicates_in_file: int = 0
    quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_uri: str | None = None
    days: list[str] = field(default_factory=list)
    skipped_as_already_ingested: bool = False

    def accounted(self) -> int:
        """Every non-blank line lands in exactly one bucket: this equals ``lines - blank``."""
        return self.written + self.already_present + self.duplicates_in_file + self.quarantined


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _null_patch() -> str:
    return json.dumps(dict.fromkeys(KNOWN_FIELDS))


# One CASE per rule, in order: the first failing rule is the quarantine reason.
_PARSE_SQL = f"""
WITH parsed AS (
    SELECT line_no, line,
        CASE WHEN json_valid(line) THEN line::JSON END AS j
    FROM lines WHERE coalesce(trim(line), '') <> ''
), extracted AS (
    SELECT line_no, line, j,
        j IS NOT NULL AS is_json,
        json_type(j) AS top_type,
        -- one pass over each document for all scalar fields and all types
        json_extract_string(j, ['$.request_id', '$.timestamp', '$.text',
                                '$.model_name', '$.model_version']) AS s,
        json_type(j, ['$.request_id', '$.text', '$.context', '$.predictions']) AS t,
        s[1] AS request_id, t[1] AS request_id_type,
        s[2] AS ts_raw, TRY_CAST(s[2] AS TIMESTAMPTZ) AS ts,
        s[3] AS text, t[2] AS text_type,
        t[3] AS context_type, j->'$.context' AS context,
        t[4] AS predictions_type,
        TRY(json_transform_strict(j->'$.predictions', '[{{"code": "VARCHAR", "score": "DOUBLE"}}]'))
            AS predictions,
        s[4] AS model_name, s[5] AS model_version,
        json_merge_patch(j, '{_null_patch()}') AS extra
    FROM parsed
), checked AS (
    SELECT *,
        CASE
            WHEN NOT is_json THEN 'invalid JSON'
            WHEN top_type <> 'OBJECT' THEN 'not a JSON object'
            WHEN request_id IS NULL OR trim(request_id) = '' THEN 'missing request_id'
            WHEN request_id_type NOT IN ('VARCHAR', 'BIGINT', 'UBIGINT')
                THEN 'request_id is not a string'
            WHEN ts_raw IS NULL THEN 'missing timestamp'
            WHEN ts IS NULL THEN 'invalid timestamp: ' || left(ts_raw, 40)
            WHEN text IS NULL OR text_type <> 'VARCHAR' OR trim(text) = '' THEN 'missing text'
            WHEN context_type IS NOT NULL AND context_type NOT IN ('OBJECT', 'NULL')
                THEN 'context is not an object'
            WHEN predictions_type IS NULL THEN 'missing predictions'
            WHEN predictions IS NULL OR len(predictions) = 0
                THEN 'predictions must be a non-empty list of {{code, score}}'
            WHEN list_bool_or([p.code IS NULL
                               OR NOT regexp_matches(trim(p.code), '{CODE_PATTERN}')
                               FOR p IN predictions]) THEN 'invalid prediction code'
            WHEN list_bool_or([p.score IS NULL OR NOT isfinite(p.score)
                               OR p.score < 0 OR p.score > 1
                               FOR p IN predictions]) THEN 'prediction score outside [0, 1]'
            ELSE NULL
        END AS reason
    FROM extracted
)
SELECT * FROM checked
"""

_GOOD_SQL = """
SELECT
    trim(request_id) AS request_id,
    md5_number_lower(trim(request_id)) AS request_hash,
    ts AS "timestamp",
    text,
    upper(strip_accents(trim(regexp_replace(text, '\\s+', ' ', 'g')))) AS text_norm,
    CASE WHEN context_type = 'OBJECT' THEN context::VARCHAR END AS context,
    [regexp_replace(upper(trim(p.code)), '^([0-9]{2})\\.?([0-9]{2})([A-Z]?)$', '\\1.\\2\\3')
        FOR p IN predictions] AS predicted_codes,
    [p.score FOR p IN predictions] AS scores,
    predicted_codes[1] AS predicted_code,
    scores[1] AS score,
    CASE WHEN len(scores) > 1 THEN scores[1] - scores[2] ELSE scores[1] END AS confidence,
    model_name,
    model_version,
    CASE WHEN extra::VARCHAR = '{}' THEN NULL ELSE extra::VARCHAR END AS extra,
    $source AS source_file,
    line_no,
    (ts AT TIME ZONE 'UTC')::DATE AS day
FROM checked_lines
WHERE reason IS NULL
QUALIFY row_number() OVER (PARTITION BY trim(request_id) ORDER BY line_no) = 1
"""


def ingest_file(
    path: Path,
    storage: Storage,
    *,
    on_partition: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Ingest one JSON-lines log file (optionally gzipped) into ``storage``."""
    if not path.is_file():
        raise InputFormatError(f"No log file at {path}.", "Check the path.")
    sha = file_sha256(path)
    summary = IngestSummary(source=str(path), sha256=sha)
    manifest = f"{MANIFEST_DIR}/{sha}.json"
    if storage.exists(manifest):
        previous = json.loads(storage.read_bytes(manifest))
        summary.skipped_as_already_ingested = True
        summary.lines = previous["lines"]
        summary.blank_lines = previous["blank_lines"]
        summary.quarantined = previous["quarantined"]
        summary.quarantine_reasons = previous["quarantine_reasons"]
        summary.quarantine_uri = previous["quarantine_uri"]
        summary.duplicates_in_file = previous["duplicates_in_file"]
        summary.already_present = previous["written"] + previous["already_present"]
        return summary

    con = connect()
    try:
        con.execute(
            """CREATE TEMP TABLE lines AS
               SELECT row_number() OVER () AS line_no, line
               FROM read_csv(?, columns={'line': 'VARCHAR'}, header=false, delim=E'\\x01',
                             quote='', escape='', auto_detect=false, strict_mode=false,
                             null_padding=false, max_line_size=10000000)""",
            [str(path)],
        )
    except duckdb.Error as err:
        raise InputFormatError(
            f"Cannot read {path} as text lines: {str(err).splitlines()[0]}",
            "Logs must be UTF-8 JSON lines, optionally gzip-compressed (.gz).",
        ) from err
    summary.lines = scalar(con, "SELECT count(*) FROM lines")
    summary.blank_lines = scalar(
        con, "SELECT count(*) FROM lines WHERE coalesce(trim(line), '') = ''"
    )
    con.execute(f"CREATE TEMP TABLE checked_lines AS {_PARSE_SQL}")

    bad = fetch_arrow(
        con,
        "SELECT $source AS source_file, line_no, reason, line FROM checked_lines "
        "WHERE reason IS NOT NULL ORDER BY line_no",
        {"source": path.name},
    )
    if bad.num_rows:
        summary.quarantined = bad.num_rows
        summary.quarantine_reasons = dict(
            con.execute(
                "SELECT reason, count(*) FROM checked_lines WHERE reason IS NOT NULL "
                "GROUP BY reason ORDER BY count(*) DESC"
            ).fetchall()
        )
        summary.quarantine_uri = storage.write_table(
            bad.cast(QUARANTINE_SCHEMA), f"{QUARANTINE_DIR}/{sha[:16]}.parquet"
        )

    valid = scalar(con, "SELECT count(*) FROM checked_lines WHERE reason IS NULL")
    good = fetch_arrow(con, _GOOD_SQL, {"source": path.name})
    summary.duplicates_in_file = valid - good.num_rows
    for day, rows in _split_by_day(good):
        fresh = _drop_present(rows, storage, day)
        summary.already_present += rows.num_rows - fresh.num_rows
        if fresh.num_rows:
            storage.write_table(
                fresh.cast(TRAFFIC_SCHEMA),
                f"{TRAFFIC_DIR}/day={day}/part-{sha[:16]}.parquet",
            )
            summary.written += fresh.num_rows
            summary.days.append(day)
        if on_partition:
            on_partition(day)
    con.close()

    record = asdict(summary) | {"ingested_at": datetime.now(UTC).isoformat()}
    storage.write_bytes(json.dumps(record, indent=2).encode(), manifest)
    return summary


def _split_by_day(table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
    if table.num_rows == 0:
        return
    table = table.sort_by("day")
    days = table.column("day")
    for day in pc.unique(days).to_pylist():
        mask = pc.equal(days, pa.scalar(day, pa.date32()))
        yield day.isoformat(), table.filter(mask).drop_columns(["day"])


def _drop_present(rows: pa.Table, storage: Storage, day: str) -> pa.Table:
    """Rows whose request_id is not yet in the day's partition (makes reruns idempotent)."""
    existing = storage.list_files(f"{TRAFFIC_DIR}/day={day}", suffix=".parquet")
    if not existing:
        return rows
    present = pa.concat_tables(
        [storage.read_table(f, columns=["request_id"]) for f in existing]
    ).column("request_id")
    keep = pc.invert(pc.is_in(rows.column("request_id"), value_set=present))
    return rows.filter(keep)


def ingest_files(
    paths: Iterable[Path],
    storage: Storage,
    *,
    on_file: Callable[[IngestSummary], None] | None = None,
) -> list[IngestSummary]:
    summaries = []
    for path in paths:
        summary = ingest_file(path, storage)
        summaries.append(summary)
        if on_file:
            on_file(summary)
    return summaries
