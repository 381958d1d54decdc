"""Reading a log file as lines of raw bytes (step 1 of :mod:`campaigns.traffic.ingest`).

The (optionally compressed) file is cut into lines with numpy on blocks of a few MiB: exact
physical line numbers, no byte is ever lost or reinterpreted (a ``\\x01`` or a lone ``\\r``
stays inside its line), invalid UTF-8 and over-long lines are measured and kept for the
quarantine instead of failing the file. A Parquet file enters as lines too, each row as one
JSON object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from campaigns.duck import quote_identifier, quote_literal
from campaigns.errors import InputFormatError

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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class LineCounter:
    """What :func:`read_lines` saw: its line count (once exhausted), or why it stopped."""

    def __init__(self) -> None:
        self.lines = 0
        self.error: Exception | None = None  # the file could not be read (e.g. corrupt gzip)


def read_lines(
    path: Path,
    *,
    max_line_bytes: int,
    block_bytes: int = READ_BLOCK_BYTES,
    counter: LineCounter | None = None,
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
    count = counter or LineCounter()
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


def _read_block(src: pa.NativeFile, size: int, count: LineCounter) -> pa.Buffer:
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


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() == ".parquet"


def register_lines(
    con: duckdb.DuckDBPyConnection, path: Path, max_line_bytes: int, counter: LineCounter
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
    counter.lines = int(con.execute("SELECT count(*) FROM raw_lines").fetchall()[0][0])


def unregister_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    if is_parquet(path):
        con.execute("DROP VIEW IF EXISTS raw_lines")
    else:
        con.unregister("raw_lines")
