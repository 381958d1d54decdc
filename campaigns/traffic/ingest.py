"""Prediction logs (JSON lines) -> day-partitioned Parquet traffic, with a quarantine.

One pass per file, in three steps that never run Python per line:

1. :func:`read_lines` cuts the (optionally compressed) file into lines as raw bytes, with
   numpy on blocks of a few MiB: exact physical line numbers, no byte is ever lost or
   reinterpreted (a ``\\x01`` or a lone ``\\r`` stays inside its line), invalid UTF-8 and
   over-long lines are measured and kept for the quarantine instead of failing the file.
2. A *line parser* (:data:`LineParser`: :func:`json_lines_parser`, or one of
   :mod:`campaigns.traffic.formats`: the API's Python-logging lines, any shape through a field
   mapping) turns each line into the log's fields, or a format-level reason, and shares
   everything else. A Parquet file enters here too, each row as one JSON object.
3. :data:`_CHECK_SQL` applies the rules every format shares (first failing rule = quarantine
   reason), normalises valid rows and materialises one table; the quarantine, the
   duplicate/conflict detection and the partitioned write (DuckDB ``COPY ... PARTITION_BY``)
   all read that table.

Idempotent: a file whose content was already ingested is skipped (by its SHA-256), and rows
whose ``request_id`` already sits in a partition the file touches are never written twice:
same content = a duplicate, different content = a *conflict*, recorded with both versions
under ``conflicts/ingest/``. Each partition file appears atomically (written under ``_tmp/``
then moved), so a crash leaves whole files only, and a rerun completes the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from campaigns.duck import connect, fetch_arrow, quote_identifier, quote_literal
from campaigns.errors import InputFormatError
from campaigns.storage import TMP_DIR, Storage
from campaigns.traffic.schema import (
    CODE_PATTERN,
    CONFLICT_SCHEMA,
    KNOWN_FIELDS,
    QUARANTINE_SCHEMA,
    TRAFFIC_SCHEMA,
)

if TYPE_CHECKING:
    from campaigns.traffic.formats.mapping import FieldMapping

TRAFFIC_DIR = "traffic"
QUARANTINE_DIR = "quarantine/ingest"
CONFLICTS_DIR = "conflicts/ingest"
MANIFEST_DIR = "_ingest_manifest"

# A quarantined line that is too long or not UTF-8 keeps only its first bytes (and its length):
# enough to recognise it, without copying megabytes of garbage into the quarantine.
QUARANTINE_PREFIX_BYTES = 4096
# Blocks small enough for the newline search to stay in the CPU cache, big enough that the
# per-block Python overhead is negligible (measured: 4 MiB blocks cut lines ~2x faster than 64).
READ_BLOCK_BYTES = 1 << 22
_NEWLINE = 10
_CR = 13
_BLANK_CODES = np.array([9, 10, 13, 32], dtype=np.uint8)  # the bytes JSON counts as blank
_BLANK_BYTES = (b"\t", b"\n", b"\r", b" ")

LINES_SCHEMA = pa.schema(
    [
        ("line_no", pa.int64()),  # 1-based physical line number (lines end at \n)
        # the line's bytes, terminator included (JSON ignores it; it saves a copy per line);
        # for a line longer than the maximum that spans blocks: its first bytes only
        ("raw", pa.binary()),
        ("line_bytes", pa.int64()),  # the line's full length, without \n or \r\n
        # empty, or starting with JSON whitespace: only such lines pay for the blank test
        ("maybe_blank", pa.bool_()),
    ]
)


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
    conflicts: int = 0
    quarantined: int = 0
    # lines of the log that are no prediction (startup messages, tracebacks...): the format
    # says so (NOT_A_RECORD); counted, neither ingested nor quarantined
    skipped_lines: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_uri: str | None = None
    conflicts_uri: str | None = None
    days: list[str] = field(default_factory=list)
    skipped_as_already_ingested: bool = False

    def accounted(self) -> int:
        """Every non-blank line lands in exactly one bucket: this equals ``lines - blank``."""
        return (
            self.written
            + self.already_present
            + self.duplicates_in_file
            + self.conflicts
            + self.quarantined
            + self.skipped_lines
        )

    @property
    def duplicates(self) -> int:
        """Lines not written because the same request, same content, is already kept."""
        return self.duplicates_in_file + self.already_present


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- step 1: lines as raw bytes -------------------------------------------------------------


class _LineCounter:
    """What :func:`read_lines` saw: its line count (once exhausted), or why it stopped."""

    def __init__(self) -> None:
        self.lines = 0
        self.error: Exception | None = None  # the file could not be read (e.g. corrupt gzip)


def read_lines(
    path: Path,
    *,
    max_line_bytes: int,
    block_bytes: int = READ_BLOCK_BYTES,
    counter: _LineCounter | None = None,
) -> pa.RecordBatchReader:
    """The lines of ``path`` (decompressed by extension: .gz, .zst, .bz2...) as Arrow batches.

    Why not DuckDB's ``read_csv`` with an impossible delimiter: one invalid UTF-8 byte or one
    over-long line fails the whole file there, a ``\\x01`` (its delimiter) silently cuts a line,
    and its line numbers cannot be trusted once a line is rejected. Here a line is whatever
    lies between two ``\\n`` bytes, untouched; a block's lines are one zero-copy Arrow array
    over the block, found with one vectorised newline search per block.

    A line longer than ``max_line_bytes`` is never held whole: only its first
    :data:`QUARANTINE_PREFIX_BYTES` are kept, with its length.
    """
    count = counter or _LineCounter()
    keep = max(max_line_bytes, QUARANTINE_PREFIX_BYTES)  # bytes of a pending line held

    def pending_line(pieces: list[pa.Buffer], length: int) -> pa.RecordBatch:
        """One line that spanned blocks (``length`` bytes without its line ending)."""
        data = b"".join(p.to_pybytes() for p in pieces)
        if length > max_line_bytes:
            data = _utf8_prefix(data[:QUARANTINE_PREFIX_BYTES])
        count.lines += 1
        maybe_blank = length == 0 or data[:1] in _BLANK_BYTES
        return pa.record_batch(
            [
                pa.array([count.lines]),
                pa.array([data], pa.binary()),
                pa.array([length]),
                pa.array([maybe_blank]),
            ],
            schema=LINES_SCHEMA,
        )

    def batches() -> Iterator[pa.RecordBatch]:
        head: list[pa.Buffer] = []  # the start of a line that continues in the next block
        head_bytes = 0  # its length so far (``head`` holds at most ``keep`` of them)
        head_cr = False  # whether it ends with \r (the first half of a \r\n)
        with pa.input_stream(str(path), compression="detect") as src:
            while (block := _read_block(src, block_bytes, count)).size:
                data = np.frombuffer(block, dtype=np.uint8)
                ends = np.flatnonzero(data == _NEWLINE)
                start = 0
                if ends.size and head_bytes:  # the pending line ends in this block
                    first = int(ends[0])
                    head.append(block.slice(0, max(min(first + 1, keep - head_bytes), 0)))
                    cr = bool(data[first - 1] == _CR) if first else head_cr
                    yield pending_line(head, head_bytes + first - cr)
                    head, head_bytes, start, ends = [], 0, first + 1, ends[1:]
                if ends.size:  # the block's whole lines: one zero-copy array over the block
                    offsets = np.empty(ends.size + 1, dtype=np.int32)
                    offsets[0] = start
                    offsets[1:] = ends + 1
                    sizes = np.diff(offsets).astype(np.int64)
                    crlf = (sizes >= 2) & (data[ends - 1] == _CR)
                    raw = pa.Array.from_buffers(
                        pa.binary(), ends.size, [None, pa.py_buffer(offsets), block]
                    )
                    numbers = np.arange(count.lines + 1, count.lines + 1 + ends.size)
                    count.lines += ends.size
                    maybe_blank = np.isin(data[offsets[:-1]], _BLANK_CODES)
                    yield pa.record_batch(
                        [pa.array(numbers), raw, pa.array(sizes - 1 - crlf), pa.array(maybe_blank)],
                        schema=LINES_SCHEMA,
                    )
                    start = int(ends[-1]) + 1
                if start < block.size:  # an unfinished line: keep its start for the next block
                    if head_bytes < keep:
                        head.append(block.slice(start, min(block.size - start, keep - head_bytes)))
                    head_bytes += block.size - start
                    head_cr = bool(data[-1] == _CR)
        if head_bytes:  # a last line without a newline (a trailing \r is kept in it)
            yield pending_line(head, head_bytes)

    return pa.RecordBatchReader.from_batches(LINES_SCHEMA, batches())


def _read_block(src: pa.NativeFile, size: int, count: _LineCounter) -> pa.Buffer:
    """The next block; a read error is kept for the caller (DuckDB, which pulls the
    batches, would bury it in a traceback of its own)."""
    try:
        return src.read_buffer(size)
    except Exception as err:
        count.error = err
        raise


def _utf8_prefix(data: bytes) -> bytes:
    """``data`` without the UTF-8 sequence its cut may have split (so the prefix decodes)."""
    for back in range(1, min(4, len(data)) + 1):
        lead = data[-back]
        if lead & 0xC0 != 0x80:  # the first byte of the last sequence (or an ASCII byte)
            length = 1 if lead < 0x80 else 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2
            return data if length <= back else data[:-back]
    return data


# -- step 2: line parsers -------------------------------------------------------------------

LineParser = Callable[[str], str]
"""A log line format: ``parser(relation)`` returns a SELECT over ``relation``.

``relation`` holds the non-blank lines: ``line_no``, ``line_bytes``, ``raw`` (BLOB, the line
ending included) and ``line`` (``raw`` as VARCHAR; NULL when not UTF-8 or longer than the
maximum: such lines are quarantined whatever the parser says). The SELECT keeps those columns
and adds, typed as below, the log's fields (NULL when absent) and ``format_reason``, why the
line cannot be read in this format (NULL when it can). The rules every format shares
(required fields, timestamp range, codes, scores, blank text) come after, in
:data:`_CHECK_SQL`, with the normalisation and the writing.

    format_reason VARCHAR, request_id VARCHAR, ts_raw VARCHAR, ts TIMESTAMPTZ, text VARCHAR,
    context VARCHAR (a JSON object), predictions STRUCT(code VARCHAR, score DOUBLE)[],
    model_name VARCHAR, model_version VARCHAR, extra VARCHAR (a JSON object, or NULL)

Optionally ``logged_confidence DOUBLE``: the confidence index the model logged itself (kept
as ``confidence`` instead of the gap between the two best scores; it must lie in [0, 1]). A
``format_reason`` equal to :data:`NOT_A_RECORD` means the line is no prediction at all (a
startup message in an application log): it is counted in ``skipped_lines``, not quarantined.
"""

NOT_A_RECORD = "not a prediction record"

# The fields' values in one parse. json_transform is lenient (a number becomes a string, "0.9"
# or true a double), so the fields whose JSON type matters come out as JSON text where that is
# cheap: request_id (short: a string starts with a quote, an integer must fit 64 bits) and the
# scores (a number is what parses as one). A text is asked its type (json_type) only when its
# lenient value could come from something else than a string: it starts like a number, an
# array or an object, or reads true/false, NaN, Infinity. (Measured: a regular expression or
# a substring test over whole lines, to spot the same cases, costs more than the JSON text.)
_JSON_SPEC = json.dumps(
    {
        "request_id": "JSON",
        "timestamp": "VARCHAR",
        "text": "VARCHAR",
        "context": "JSON",
        "predictions": [{"code": "VARCHAR", "score": "JSON"}],
        "model_name": "VARCHAR",
        "model_version": "VARCHAR",
    }
)
_NOT_NUMBERS = "['VARCHAR', 'BOOLEAN', 'NULL', 'ARRAY', 'OBJECT']"
_NULL_PATCH = json.dumps(dict.fromkeys(KNOWN_FIELDS))
_NOT_TEXT_START = "['-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '[', '{']"


def json_lines_parser(relation: str) -> str:
    """One JSON object per line (the format documented in :mod:`campaigns.traffic.schema`).

    One parse of each line for the values (``json_transform``, the type-revealing fields as
    JSON text) and one ``json_keys`` to know whether the line holds fields to keep in
    ``extra`` (the costly ``json_merge_patch`` runs only then). Diagnostics (is it JSON at
    all? an object? a text that may not be a string? a null score?) run only for the lines
    that need them.
    """
    return f"""
    SELECT * EXCLUDE (j, parsed, rid_json, score_json),
        CASE
            WHEN NOT parsed THEN
                CASE WHEN json_valid(line) THEN 'not a JSON object' ELSE 'invalid JSON' END
            WHEN rid_json IS NULL AND text IS NULL AND predictions IS NULL
                 AND json_type(line) <> 'OBJECT' THEN 'not a JSON object'
            WHEN request_id IS NULL AND rid_json <> 'null' THEN 'request_id is not a string'
            WHEN (list_contains({_NOT_TEXT_START}, left(text, 1))
                  OR (list_contains(['t', 'f', 'N', 'I', 'n', 'i'], left(text, 1))
                      AND (text IN ('true', 'false') OR TRY_CAST(text AS DOUBLE) IS NOT NULL)))
                 AND json_type(line, '$.text') <> 'VARCHAR' THEN 'text is not a string'
            WHEN left(context, 1) <> '{{' THEN 'context is not an object'
            WHEN predictions IS NULL AND json_exists(line, '$.predictions')
                 AND json_type(line, '$.predictions') <> 'NULL'
                THEN 'predictions must be a non-empty list of {{code, score}}'
            WHEN list_count([p.score FOR p IN predictions]) < list_count(score_json)
                 OR (list_count(score_json) < len(predictions) AND list_has_any(
                        json_type(line, '$.predictions[*].score'), {_NOT_NUMBERS}))
                THEN 'prediction score is not a JSON number'
        END AS format_reason,
        TRY_CAST(ts_raw AS TIMESTAMPTZ) AS ts,
        -- known fields are 4 required + the optional ones given: more keys = extra fields
        CASE WHEN parsed AND len(json_keys(line)) > 4 + (context IS NOT NULL)::INT
                  + (model_name IS NOT NULL)::INT + (model_version IS NOT NULL)::INT
             THEN nullif(json_merge_patch(line, '{_NULL_PATCH}')::VARCHAR, '{{}}') END AS extra
    FROM (
        SELECT *,
            -- a JSON string (sliced: the JSON writer escapes only what needs it) or integer
            CASE WHEN left(rid_json, 1) = '"' THEN
                     CASE WHEN contains(rid_json, '\\') THEN rid_json ->> '$'
                          ELSE rid_json[2:-2] END
                 WHEN regexp_full_match(rid_json, '-?[0-9]+') AND TRY_CAST(rid_json AS HUGEINT)
                      BETWEEN -9223372036854775808 AND 18446744073709551615 THEN rid_json
            END AS request_id,
            [{{'code': p.code, 'score': TRY_CAST(p.score::VARCHAR AS DOUBLE)}}
             FOR p IN j.predictions] AS predictions,
            [p.score::VARCHAR FOR p IN j.predictions] AS score_json
        FROM (
            SELECT *, j IS NOT NULL AS parsed,
                j.request_id::VARCHAR AS rid_json, j."timestamp" AS ts_raw, j.text AS text,
                j.context::VARCHAR AS context, j.model_name AS model_name,
                j.model_version AS model_version
            FROM (
                SELECT *, TRY(json_transform(line, '{_JSON_SPEC}')) AS j FROM {relation}
            )
        )
    )
    """


# -- step 3: shared rules, normalisation ----------------------------------------------------

# Codes are checked all at once per line, one regex over "c1,c2,..." (5x cheaper than one per
# code). The usual spellings get a cheap path: "4399C" (undotted, upper case) and "43.99C".
_CODE = CODE_PATTERN.removeprefix("^").removesuffix("$")
_CODES_ANY = f" *{_CODE} *(?:, *{_CODE} *)*"
_CODES_UNDOTTED = "[0-9]{4}[A-Z]?(?:,[0-9]{4}[A-Z]?)*"
_CODES_DOTTED = r"[0-9]{2}\.[0-9]{2}[A-Z]?(?:,[0-9]{2}\.[0-9]{2}[A-Z]?)*"
# The range a timestamp must fall in: years 1-9999, what ISO 8601 dates and Python hold (a
# day partition of year 20000 or 1 BC, or "infinity", would break every reader downstream).
_TS_MIN = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
_TS_MAX = "TIMESTAMPTZ '10000-01-01 00:00:00+00'"
# Whitespace other than single inner spaces: only such texts pay for the regex that folds it.
_ODD_SPACE = (
    "contains(text, '  ') OR starts_with(text, ' ') OR ends_with(text, ' ') OR "
    + " OR ".join(f"contains(text, chr({c}))" for c in (9, 10, 11, 12, 13))
)

# The lines a parser sees: decoded when valid UTF-8 and not too long, blank lines left out
# (counted, not quarantined). Only a line the reader saw starting blank pays for the trim.
_SOURCE_SQL = """(
    SELECT * EXCLUDE (maybe_blank) FROM (
        SELECT line_no, line_bytes, raw, maybe_blank,
            CASE WHEN line_bytes <= {max_line_bytes} THEN TRY(decode(raw)) END AS line
        FROM raw_lines
    )
    WHERE NOT maybe_blank OR line IS NULL OR trim(line, E' \\t\\r\\n') <> ''
)"""

# One CASE per rule, in order: the first failing rule is the quarantine reason. Each step is
# a CTE so that DuckDB computes every intermediate list once.
_CHECK_SQL = """
WITH parsed AS (
    -- BY NAME: a parser that logs no confidence index gets a NULL logged_confidence column
    SELECT * FROM ({parsed})
    UNION ALL BY NAME SELECT NULL::DOUBLE AS logged_confidence WHERE false
),
fields AS (
    SELECT *,
        CASE WHEN starts_with(request_id, ' ') OR ends_with(request_id, ' ')
             THEN trim(request_id) ELSE request_id END AS rid,
        upper(strip_accents(CASE WHEN {odd_space}
             THEN trim(regexp_replace(text, '\\s+', ' ', 'g')) ELSE text END)) AS text_norm,
        [p.score FOR p IN predictions] AS scores_raw,
        [p.code FOR p IN predictions] AS codes_raw
    FROM parsed
),
forms AS (
    SELECT * EXCLUDE (codes_csv),
        CASE WHEN regexp_full_match(codes_csv, '{codes_undotted}') THEN 1
             WHEN regexp_full_match(codes_csv, '{codes_dotted}') THEN 2
             WHEN regexp_full_match(codes_csv, '{codes_any}') THEN 3
             ELSE 0 END AS code_form
    FROM (SELECT *, array_to_string(codes_raw, ',') AS codes_csv FROM fields)
),
checked AS (
    SELECT *,
        CASE
            WHEN line_bytes > {max_line_bytes} THEN 'line longer than {max_line_bytes} bytes'
            WHEN line IS NULL THEN 'invalid UTF-8'
            WHEN format_reason IS NOT NULL THEN format_reason
            WHEN rid IS NULL OR rid = '' THEN 'missing request_id'
            WHEN ts_raw IS NULL THEN 'missing timestamp'
            WHEN ts IS NULL THEN 'invalid timestamp: ' || left(ts_raw, 40)
            WHEN NOT (ts >= {ts_min} AND ts < {ts_max})
                THEN 'timestamp out of range: ' || left(ts_raw, 40)
            WHEN text IS NULL OR text_norm = '' THEN 'missing text'
            WHEN predictions IS NULL THEN 'missing predictions'
            WHEN len(predictions) = 0 OR list_count(codes_raw) < len(predictions)
                 OR list_count(scores_raw) < len(predictions)
                THEN 'predictions must be a non-empty list of {{code, score}}'
            WHEN code_form = 0 THEN 'invalid prediction code'
            WHEN list_min(scores_raw) < 0 OR list_max(scores_raw) > 1
                THEN 'prediction score outside [0, 1]'
            WHEN NOT (logged_confidence BETWEEN 0 AND 1)
                THEN 'confidence index outside [0, 1]'
        END AS reason
    FROM forms
),
ordered AS (
    SELECT *,
        reason IS NOT NULL
            OR list_bool_and([s >= coalesce(scores_raw[i + 1], s) FOR s, i IN scores_raw])
            AS best_first
    FROM checked
),
ranked AS (
    -- Predictions best first: sorted by score, descending (ties keep their logged order),
    -- only when they are not already (the usual case costs one pass over the scores).
    SELECT *,
        CASE WHEN best_first THEN codes_raw
             ELSE [s.code FOR s IN list_sort([{{'neg': -p.score, 'i': i, 'code': p.code}}
                                               FOR p, i IN predictions])]
        END AS codes_best,
        CASE WHEN best_first THEN scores_raw ELSE list_reverse_sort(scores_raw) END
            AS scores_best
    FROM ordered
)
SELECT
    line_no,
    line_bytes,
    reason,
    CASE WHEN reason IS NOT NULL THEN regexp_replace(line, '\\r?\\n$', '') END
        AS quarantined_line,
    -- too long or not UTF-8: the first bytes only (made text in _quarantine)
    CASE WHEN reason IS NOT NULL AND line IS NULL THEN raw[1:least(line_bytes, {prefix})] END
        AS quarantined_bytes,
    rid AS request_id,
    md5_number_lower(rid) AS request_hash,
    ts AS "timestamp",
    text,
    text_norm,
    context,
    -- "4399c", " 43.99C " -> "43.99C": valid codes, so the dot goes after 2 digits
    CASE code_form
        WHEN 1 THEN [left(c, 2) || '.' || substr(c, 3) FOR c IN codes_best]
        WHEN 2 THEN codes_best
        ELSE [left(c, 2) || '.' || substr(c, 3)
              FOR c IN [replace(upper(trim(c)), '.', '') FOR c IN codes_best]]
    END AS predicted_codes,
    scores_best AS scores,
    predicted_codes[1] AS predicted_code,
    scores_best[1] AS score,
    -- the index the model logged, else top score minus runner-up (never negative, since
    -- scores are sorted)
    coalesce(logged_confidence,
             CASE WHEN len(scores_best) > 1 THEN scores_best[1] - scores_best[2]
                  ELSE scores_best[1] END) AS confidence,
    model_name,
    model_version,
    extra,
    (ts AT TIME ZONE 'UTC')::DATE AS day
FROM ranked
"""

_TRAFFIC_COLUMNS = ", ".join(
    f'"{f.name}"' if f.name != "source_file" else "$source AS source_file" for f in TRAFFIC_SCHEMA
)


def _content(alias: str = "") -> str:
    """SQL: a hash of what a row says (everything but where it was logged), to tell a
    repeated request (same content: a duplicate) from a conflicting one."""
    a = f"{alias}." if alias else ""
    return (
        f'hash({a}"timestamp", {a}text, {a}context, {a}predicted_codes, {a}scores, '
        f"{a}model_name, {a}model_version, {a}extra)"
    )


def _version(alias: str = "") -> str:
    """SQL: one version of a request as JSON (what a reviewer compares in the conflicts)."""
    a = f"{alias}." if alias else ""
    return (
        f"to_json({{'timestamp': {a}\"timestamp\", 'text': {a}text, "
        f"'context': {a}context::JSON, 'predicted_codes': {a}predicted_codes, "
        f"'scores': {a}scores, 'model_name': {a}model_name, "
        f"'model_version': {a}model_version, 'extra': {a}extra::JSON}})::VARCHAR"
    )


# -- ingest ---------------------------------------------------------------------------------


def ingest_file(
    path: Path,
    storage: Storage,
    *,
    on_partition: Callable[[str], None] | None = None,
    max_line_bytes: int | None = None,
    parser: LineParser = json_lines_parser,
    mapping: FieldMapping | None = None,
) -> IngestSummary:
    """Ingest one log file (optionally compressed) into ``storage``.

    ``parser`` reads each line (the JSON-lines format by default); ``mapping`` reads JSON
    lines of another shape through a field mapping instead. A ``.parquet`` file is read with
    DuckDB's ``read_parquet``, each row as one JSON object (line numbers are row numbers).

    Malformed lines never fail the file: they are quarantined with their reason. Only a file
    that cannot be read at all (missing, corrupt compression) raises :class:`InputFormatError`,
    before anything is written. ``max_line_bytes`` defaults to the ``ingest_max_line_bytes``
    setting.
    """
    if not path.is_file():
        raise InputFormatError(f"No log file at {path}.", "Check the path.")
    if max_line_bytes is None:
        from campaigns.config import get_settings

        max_line_bytes = get_settings().ingest_max_line_bytes
    summary = IngestSummary(source=str(path), sha256="")
    con = connect()
    if mapping is not None:
        try:
            _check_mapping(con, path, max_line_bytes, mapping)
        except BaseException:
            con.close()
            raise
        parser = mapping.parser()
    # The SHA-256 is computed while the lines are parsed (hashlib runs outside the GIL):
    # nothing is written before it is known, and a file already ingested stops the parse as
    # soon as it is.
    hashing = _HashWhileParsing(path, storage, con)
    try:
        hashing.parse(lambda: _check_lines(con, path, max_line_bytes, parser, summary))
        summary.sha256 = sha = hashing.sha256()
        previous = hashing.previous()
        if previous is not None:
            return _from_manifest(summary, previous)
        _quarantine(con, storage, path.name, sha, summary)
        _drop_repeats(con, storage, path.name, sha, summary)
        _write_partitions(con, storage, path.name, sha, summary, on_partition)
    finally:
        hashing.join()  # never leave it reading the file (or interrupting) after a failure
        con.close()

    record = asdict(summary) | {"ingested_at": datetime.now(UTC).isoformat()}
    storage.write_bytes(json.dumps(record, indent=2).encode(), _manifest(sha))
    return summary


def _manifest(sha: str) -> str:
    return f"{MANIFEST_DIR}/{sha}.json"


class _HashWhileParsing:
    """A thread hashing the file; when the hash names an ingested file, it stops the parse.

    The thread interrupts the DuckDB connection until the parse has stopped: an interrupt
    that lands between two queries is ignored by DuckDB, so one alone could miss. The caller
    reads the outcome (which waits for the thread) before it writes anything.
    """

    def __init__(self, path: Path, storage: Storage, con: duckdb.DuckDBPyConnection) -> None:
        self._sha = ""
        self._previous: dict | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._parsing = False
        self._thread = threading.Thread(
            target=self._run, args=(path, storage, con), name="ingest-sha256", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path, storage: Storage, con: duckdb.DuckDBPyConnection) -> None:
        try:
            self._sha = file_sha256(path)
            if not storage.exists(_manifest(self._sha)):
                return
            previous = json.loads(storage.read_bytes(_manifest(self._sha)))
            with self._lock:
                self._previous = previous
            while True:
                with self._lock:
                    if not self._parsing:
                        return
                    con.interrupt()
                time.sleep(0.01)
        except BaseException as err:  # re-raised in the caller's thread
            self._error = err

    def parse(self, run: Callable[[], None]) -> None:
        """``run()``, unless the file is known to be ingested (before or while it runs)."""
        with self._lock:
            if self._previous is not None:
                return
            self._parsing = True
        try:
            run()
        except duckdb.InterruptException:
            with self._lock:
                if self._previous is None:  # not ours: someone else interrupted
                    raise
        finally:
            with self._lock:
                self._parsing = False

    def join(self) -> None:
        self._thread.join()

    def _wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error

    def sha256(self) -> str:
        self._wait()
        return self._sha

    def previous(self) -> dict | None:
        """The manifest of this content's earlier ingest, if any."""
        self._wait()
        return self._previous


def _from_manifest(summary: IngestSummary, previous: dict) -> IngestSummary:
    summary.skipped_as_already_ingested = True
    summary.lines = previous["lines"]
    summary.blank_lines = previous["blank_lines"]
    summary.quarantined = previous["quarantined"]
    summary.skipped_lines = previous.get("skipped_lines", 0)
    summary.quarantine_reasons = previous["quarantine_reasons"]
    summary.quarantine_uri = previous["quarantine_uri"]
    summary.duplicates_in_file = previous["duplicates_in_file"]
    summary.conflicts = previous.get("conflicts", 0)
    summary.conflicts_uri = previous.get("conflicts_uri")
    summary.already_present = previous["written"] + previous["already_present"]
    return summary


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() == ".parquet"


def _register_lines(
    con: duckdb.DuckDBPyConnection, path: Path, max_line_bytes: int, counter: _LineCounter
) -> None:
    """``raw_lines`` (:data:`LINES_SCHEMA`): the file's lines, or a Parquet file's rows as
    JSON objects."""
    if not is_parquet(path):
        con.register("raw_lines", read_lines(path, max_line_bytes=max_line_bytes, counter=counter))
        return
    try:
        names = [
            r[0]
            for r in con.execute(
                "DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}
            ).fetchall()
        ]
    except duckdb.Error as err:
        raise InputFormatError(f"Cannot read {path}: {err}", "Is it a Parquet file?") from err
    row = ", ".join(f"{quote_literal(n)}: {quote_identifier(n)}" for n in names)
    con.execute(
        f"""
        CREATE TEMP VIEW raw_lines AS
        SELECT file_row_number + 1 AS line_no, encode(j) AS raw, strlen(j) AS line_bytes,
               false AS maybe_blank
        FROM (SELECT file_row_number, to_json({{{row}}})::VARCHAR AS j
              FROM read_parquet({quote_literal(str(path))}, file_row_number = true))
        """
    )
    counter.lines = _count(con, "SELECT count(*) FROM raw_lines")


def _unregister_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    if is_parquet(path):
        con.execute("DROP VIEW IF EXISTS raw_lines")
    else:
        con.unregister("raw_lines")


def _check_mapping(
    con: duckdb.DuckDBPyConnection, path: Path, max_line_bytes: int, mapping: FieldMapping
) -> None:
    """Refuse a mapping whose source fields are nowhere in the file's first rows."""
    from campaigns.traffic.formats.mapping import check_sources

    counter = _LineCounter()
    sample_rows = 1000
    if is_parquet(path):
        _register_lines(con, path, max_line_bytes, counter)
        sample = f"(SELECT decode(raw) AS line FROM raw_lines LIMIT {sample_rows})"
    else:  # the first block's lines only (a few thousand): the file is read whole later
        reader = read_lines(path, max_line_bytes=max_line_bytes, counter=counter)
        try:
            first = next(iter(reader), None)
        finally:
            reader.close()
        rows = LINES_SCHEMA.empty_table()
        if first is not None:
            rows = pa.Table.from_batches([first.slice(0, sample_rows)])
        con.register("raw_lines", rows)
        sample = (
            "(SELECT TRY(decode(raw)) AS line FROM raw_lines "
            f"WHERE line_bytes <= {int(max_line_bytes)})"
        )
    try:
        check_sources(mapping, sample, con, path.name)
    finally:
        _unregister_lines(con, path)


def _check_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    max_line_bytes: int,
    parser: LineParser,
    summary: IngestSummary,
) -> None:
    """Read, parse, check and normalise every line into the temp table ``checked``."""
    counter = _LineCounter()
    _register_lines(con, path, max_line_bytes, counter)
    source = _SOURCE_SQL.format(max_line_bytes=int(max_line_bytes))
    sql = _CHECK_SQL.format(
        parsed=parser(source),
        max_line_bytes=int(max_line_bytes),
        ts_min=_TS_MIN,
        ts_max=_TS_MAX,
        codes_undotted=_CODES_UNDOTTED,
        codes_dotted=_CODES_DOTTED,
        codes_any=_CODES_ANY,
        odd_space=_ODD_SPACE,
        prefix=QUARANTINE_PREFIX_BYTES,
    )
    try:
        _run(con, f"CREATE TEMP TABLE checked AS {sql}")
    except duckdb.Error:
        if counter.error is None:
            raise
        raise InputFormatError(  # the file itself: unreadable, corrupt compression...
            f"Cannot read {path}: {counter.error}",
            "Logs must be JSON lines, optionally compressed (.gz, .zst).",
        ) from counter.error
    finally:
        _unregister_lines(con, path)
    summary.lines = counter.lines
    summary.blank_lines = counter.lines - _count(con, "SELECT count(*) FROM checked")


def _quarantine(
    con: duckdb.DuckDBPyConnection, storage: Storage, source: str, sha: str, summary: IngestSummary
) -> None:
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM checked WHERE reason IS NOT NULL "
            "GROUP BY reason ORDER BY count(*) DESC, reason"
        ).fetchall()
    )
    summary.skipped_lines = reasons.pop(NOT_A_RECORD, 0)
    if not reasons:
        return
    summary.quarantine_reasons = reasons
    summary.quarantined = sum(summary.quarantine_reasons.values())
    bad = fetch_arrow(
        con,
        "SELECT $source AS source_file, line_no, reason, quarantined_line AS line, line_bytes, "
        "quarantined_bytes FROM checked WHERE reason IS NOT NULL AND reason <> $skipped "
        "ORDER BY line_no",
        {"source": source, "skipped": NOT_A_RECORD},
    )
    summary.quarantine_uri = storage.write_table(
        _with_bytes_as_text(bad).cast(QUARANTINE_SCHEMA), f"{QUARANTINE_DIR}/{sha[:16]}.parquet"
    )


def _with_bytes_as_text(bad: pa.Table) -> pa.Table:
    """Lines that are not UTF-8 (or cut) as text: valid sequences kept, other bytes as \\xNN.

    Python runs here for such lines only (SQL can escape every byte of a BLOB, quotes
    included, not only the invalid ones), and they hold at most QUARANTINE_PREFIX_BYTES each.
    """
    raw = bad.column("quarantined_bytes")
    mask = pc.is_valid(raw)
    if not pc.any(mask).as_py():
        return bad.drop_columns(["quarantined_bytes"])
    text = [
        b.decode("utf-8", "backslashreplace") if b is not None else None for b in raw.to_pylist()
    ]
    lines = pc.if_else(mask, pa.array(text, pa.string()), bad.column("line"))
    index = bad.schema.get_field_index("line")
    return bad.set_column(index, "line", lines).drop_columns(["quarantined_bytes"])


def _drop_repeats(
    con: duckdb.DuckDBPyConnection, storage: Storage, source: str, sha: str, summary: IngestSummary
) -> None:
    """Fill temp table ``dropped`` (line numbers not to write) and record the conflicts.

    A request logged twice in this file keeps its first line; one already stored (in any
    partition this file touches) keeps the stored row. A repeat with the same content is a
    duplicate; with another content, a conflict, recorded with both versions.
    """
    # Repeats within the file: grouped on the 64-bit request hash (cheaper than the string),
    # then compared on the request_id itself.
    _run(
        con,
        f"""
        CREATE TEMP TABLE repeats AS
        SELECT line_no, request_id, {_content()} AS content, {_version()} AS version,
               first_value(line_no) OVER w AS kept_line_no,
               first_value({_content()}) OVER w AS kept_content,
               first_value({_version()}) OVER w AS kept_version
        FROM checked
        WHERE reason IS NULL AND request_hash IN (
            SELECT request_hash FROM checked WHERE reason IS NULL
            GROUP BY request_hash HAVING count(*) > 1)
        WINDOW w AS (PARTITION BY request_id ORDER BY line_no)
        QUALIFY line_no <> kept_line_no
        """,
    )
    _run(
        con,
        """
        CREATE TEMP TABLE conflicts AS
        SELECT request_id, $source AS kept_source_file, kept_line_no, kept_version,
               $source AS source_file, line_no, version
        FROM repeats WHERE content <> kept_content
        """,
        {"source": source},
    )
    summary.duplicates_in_file = _count(
        con, "SELECT count(*) FROM repeats WHERE content = kept_content"
    )
    _run(con, "CREATE TEMP TABLE dropped AS SELECT line_no FROM repeats")

    stored = _stored_versions(con, storage)
    if stored is not None:
        con.register("stored_rows", stored)
        _run(
            con,
            f"""
            CREATE TEMP TABLE collisions AS
            SELECT c.line_no, c.request_id, {_content("c")} AS content,
                   {_version("c")} AS version,
                   bool_or({_content("s")} = {_content("c")}) AS same,
                   arg_min(s.source_file, (s.source_file, s.line_no)) AS kept_source_file,
                   arg_min(s.line_no, (s.source_file, s.line_no)) AS kept_line_no,
                   arg_min({_version("s")}, (s.source_file, s.line_no)) AS kept_version
            FROM checked c JOIN stored_rows s USING (request_id)
            WHERE c.reason IS NULL AND c.line_no NOT IN (SELECT line_no FROM dropped)
            GROUP BY ALL
            """,
        )
        con.unregister("stored_rows")
        summary.already_present = _count(con, "SELECT count(*) FROM collisions WHERE same")
        _run(
            con,
            """
            INSERT INTO conflicts
            SELECT request_id, kept_source_file, kept_line_no, kept_version,
                   $source, line_no, version
            FROM collisions WHERE NOT same
            """,
            {"source": source},
        )
        _run(con, "INSERT INTO dropped SELECT line_no FROM collisions")

    summary.conflicts = _count(con, "SELECT count(*) FROM conflicts")
    if summary.conflicts:
        table = fetch_arrow(con, "SELECT * FROM conflicts ORDER BY line_no")
        summary.conflicts_uri = storage.write_table(
            table.cast(CONFLICT_SCHEMA), f"{CONFLICTS_DIR}/{sha[:16]}.parquet"
        )


def _stored_versions(con: duckdb.DuckDBPyConnection, storage: Storage) -> pa.Table | None:
    """The stored rows whose request_id this file holds too, in the days it touches.

    Reads the request_id column of those partitions, and the whole rows of the few that
    collide (none, for a file of new days: nothing is read at all).
    """
    days = [
        row[0].isoformat()
        for row in con.execute(
            "SELECT DISTINCT day FROM checked WHERE reason IS NULL ORDER BY day"
        ).fetchall()
    ]
    files = [
        f for d in days for f in storage.list_files(f"{TRAFFIC_DIR}/day={d}", suffix=".parquet")
    ]
    if not files:
        return None
    ids = pa.concat_tables([storage.read_table(f, columns=["request_id"]) for f in files]).column(
        "request_id"
    )
    con.register("stored_ids", pa.table({"request_id": pc.unique(ids)}))
    hits = fetch_arrow(
        con,
        "SELECT DISTINCT request_id FROM checked JOIN stored_ids USING (request_id) "
        "WHERE reason IS NULL",
    ).column("request_id")
    con.unregister("stored_ids")
    if not len(hits):
        return None
    dataset = ds.dataset([storage.path(f) for f in files], filesystem=storage.fs, format="parquet")
    return dataset.to_table(filter=ds.field("request_id").isin(hits))


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> None:
    """Run a statement to completion (DuckDB 2 refuses new work while a result is pending)."""
    con.execute(sql, params).fetchall()


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def _write_partitions(
    con: duckdb.DuckDBPyConnection,
    storage: Storage,
    source: str,
    sha: str,
    summary: IngestSummary,
    on_partition: Callable[[str], None] | None,
) -> None:
    """Write the kept rows with one partitioned COPY, then move each file into place.

    DuckDB writes into a private folder (under the root's ``_tmp/`` on a local disk, so the
    move is a rename; a local temp folder for S3, then an upload + server-side copy); readers
    see each partition file appear whole.
    """
    local = isinstance(storage.fs, pafs.LocalFileSystem)
    if local:
        storage.fs.create_dir(storage.path(TMP_DIR), recursive=True)
        scratch = storage.path(TMP_DIR, f"ingest-{uuid.uuid4().hex}")
    else:
        scratch = tempfile.mkdtemp(prefix="campaigns-ingest-")
    try:
        written = con.execute(
            f"""
            COPY (
                SELECT {_TRAFFIC_COLUMNS}, day
                FROM checked c ANTI JOIN dropped d USING (line_no)
                WHERE c.reason IS NULL
            ) TO $dir (FORMAT PARQUET, PARTITION_BY (day),
                       COMPRESSION zstd, COMPRESSION_LEVEL 1,
                       FILENAME_PATTERN 'part-{sha[:16]}-{{uuid}}')
            """,
            {"source": source, "dir": scratch},
        ).fetchall()
        summary.written = int(written[0][0]) if written else 0
        for folder in sorted(Path(scratch).glob("day=*")) if os.path.isdir(scratch) else []:
            day = folder.name.removeprefix("day=")
            for part in sorted(folder.glob("*.parquet")):
                target = f"{TRAFFIC_DIR}/day={day}/{part.name}"
                if local:
                    storage.fs.create_dir(storage.path(TRAFFIC_DIR, f"day={day}"), recursive=True)
                    storage.fs.move(str(part), storage.path(target))
                else:
                    storage.write_bytes(part.read_bytes(), target)
            summary.days.append(day)
            if on_partition:
                on_partition(day)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ingest_files(
    paths: Iterable[Path],
    storage: Storage,
    *,
    on_file: Callable[[IngestSummary], None] | None = None,
    max_line_bytes: int | None = None,
    parser: LineParser = json_lines_parser,
    mapping: FieldMapping | None = None,
) -> list[IngestSummary]:
    summaries = []
    for path in paths:
        summary = ingest_file(
            path, storage, max_line_bytes=max_line_bytes, parser=parser, mapping=mapping
        )
        summaries.append(summary)
        if on_file:
            on_file(summary)
    return summaries
