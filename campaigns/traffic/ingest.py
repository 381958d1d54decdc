"""Prediction logs (JSON lines) -> day-partitioned Parquet traffic, with a quarantine.

One pass per file, in three steps that never run Python per line:

1. :mod:`campaigns.traffic.lines` cuts the (optionally compressed) file into lines as raw
   bytes, with numpy on blocks of a few MiB: exact physical line numbers, no byte is ever lost
   or reinterpreted (a ``\\x01`` or a lone ``\\r`` stays inside its line), invalid UTF-8 and
   over-long lines are measured and kept for the quarantine instead of failing the file.
2. A *line parser* (:data:`~campaigns.traffic.formats.json_lines.LineParser`, one per format
   in :mod:`campaigns.traffic.formats`: JSON lines, the API's Python-logging lines, any shape
   through a field mapping) turns each line into the log's fields, or a format-level reason,
   and shares everything else. A Parquet file enters here too, each row as one JSON object.
3. :mod:`campaigns.traffic.rules` applies the rules every format shares (first failing rule =
   quarantine reason), normalises valid rows and materialises one table; the quarantine, the
   duplicate/conflict detection and the partitioned write (DuckDB ``COPY ... PARTITION_BY``)
   all read that table (:mod:`campaigns.traffic.partitions`).

Idempotent: a file whose content was already ingested is skipped (by its SHA-256), and rows
whose ``request_id`` already sits in a partition the file touches are never written twice:
same content = a duplicate, different content = a *conflict*, recorded with both versions
under ``conflicts/ingest/``. Each partition file appears atomically (written under ``_tmp/``
then moved), so a crash leaves whole files only, and a rerun completes the rest.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from campaigns.duck import connect
from campaigns.errors import InputFormatError
from campaigns.storage import Storage
from campaigns.traffic.formats.json_lines import NOT_A_RECORD, LineParser, json_lines_parser
from campaigns.traffic.lines import (
    LINES_SCHEMA,
    QUARANTINE_PREFIX_BYTES,
    LineCounter,
    file_sha256,
    is_parquet,
    read_lines,
    register_lines,
    unregister_lines,
)
from campaigns.traffic.partitions import (
    CONFLICTS_DIR,
    QUARANTINE_DIR,
    TRAFFIC_DIR,
    IngestSummary,
    count,
    drop_repeats,
    quarantine,
    run,
    write_partitions,
)
from campaigns.traffic.rules import check_sql

if TYPE_CHECKING:
    from campaigns.traffic.formats.mapping import FieldMapping

# Names readers of the traffic know from here (where each lives is in its module's docstring).
__all__ = [
    "CONFLICTS_DIR",
    "NOT_A_RECORD",
    "QUARANTINE_DIR",
    "QUARANTINE_PREFIX_BYTES",
    "TRAFFIC_DIR",
    "IngestSummary",
    "LineParser",
    "ingest_file",
    "json_lines_parser",
    "read_lines",
]

MANIFEST_DIR = "_ingest_manifest"


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
        quarantine(con, storage, path.name, sha, summary)
        drop_repeats(con, storage, path.name, sha, summary)
        write_partitions(con, storage, path.name, sha, summary, on_partition)
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


def _check_mapping(
    con: duckdb.DuckDBPyConnection, path: Path, max_line_bytes: int, mapping: FieldMapping
) -> None:
    """Refuse a mapping whose source fields are nowhere in the file's first rows."""
    from campaigns.traffic.formats.mapping import check_sources

    counter = LineCounter()
    sample_rows = 1000
    if is_parquet(path):
        register_lines(con, path, max_line_bytes, counter)
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
        unregister_lines(con, path)


def _check_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    max_line_bytes: int,
    parser: LineParser,
    summary: IngestSummary,
) -> None:
    """Read, parse, check and normalise every line into the temp table ``checked``."""
    counter = LineCounter()
    register_lines(con, path, max_line_bytes, counter)
    sql = check_sql(parser, max_line_bytes)
    try:
        run(con, f"CREATE TEMP TABLE checked AS {sql}")
    except duckdb.Error:
        if counter.error is None:
            raise
        raise InputFormatError(  # the file itself: unreadable, corrupt compression...
            f"Cannot read {path}: {counter.error}",
            "Logs must be JSON lines, optionally compressed (.gz, .zst).",
        ) from counter.error
    finally:
        unregister_lines(con, path)
    summary.lines = counter.lines
    summary.blank_lines = counter.lines - count(con, "SELECT count(*) FROM checked")
