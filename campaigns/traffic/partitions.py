"""Writing checked log lines (the end of :mod:`campaigns.traffic.ingest`): the quarantine,
duplicates and conflicts, and the day partitions of the traffic.

A request logged twice keeps its first line; one already stored (in any partition the file
touches) keeps the stored row: same content = a duplicate, different content = a *conflict*,
recorded with both versions under ``conflicts/ingest/``. The kept rows go out in one
partitioned COPY, each partition file moved into place whole. :class:`IngestSummary` counts
what happened to every line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from campaigns.duck import fetch_arrow
from campaigns.storage import TMP_DIR, Storage
from campaigns.traffic.formats.json_lines import NOT_A_RECORD
from campaigns.traffic.schema import CONFLICT_SCHEMA, QUARANTINE_SCHEMA, TRAFFIC_SCHEMA

TRAFFIC_DIR = "traffic"
QUARANTINE_DIR = "quarantine/ingest"
CONFLICTS_DIR = "conflicts/ingest"


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


def quarantine(
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


def drop_repeats(
    con: duckdb.DuckDBPyConnection, storage: Storage, source: str, sha: str, summary: IngestSummary
) -> None:
    """Fill temp table ``dropped`` (line numbers not to write) and record the conflicts.

    A request logged twice in this file keeps its first line; one already stored (in any
    partition this file touches) keeps the stored row. A repeat with the same content is a
    duplicate; with another content, a conflict, recorded with both versions.
    """
    # Repeats within the file: grouped on the 64-bit request hash (cheaper than the string),
    # then compared on the request_id itself.
    run(
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
    run(
        con,
        """
        CREATE TEMP TABLE conflicts AS
        SELECT request_id, $source AS kept_source_file, kept_line_no, kept_version,
               $source AS source_file, line_no, version
        FROM repeats WHERE content <> kept_content
        """,
        {"source": source},
    )
    summary.duplicates_in_file = count(
        con, "SELECT count(*) FROM repeats WHERE content = kept_content"
    )
    run(con, "CREATE TEMP TABLE dropped AS SELECT line_no FROM repeats")

    stored = _stored_versions(con, storage)
    if stored is not None:
        con.register("stored_rows", stored)
        run(
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
        summary.already_present = count(con, "SELECT count(*) FROM collisions WHERE same")
        run(
            con,
            """
            INSERT INTO conflicts
            SELECT request_id, kept_source_file, kept_line_no, kept_version,
                   $source, line_no, version
            FROM collisions WHERE NOT same
            """,
            {"source": source},
        )
        run(con, "INSERT INTO dropped SELECT line_no FROM collisions")

    summary.conflicts = count(con, "SELECT count(*) FROM conflicts")
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


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> None:
    """Run a statement to completion (DuckDB 2 refuses new work while a result is pending)."""
    con.execute(sql, params).fetchall()


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def write_partitions(
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
