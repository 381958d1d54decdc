"""Reading the traffic table: the window a user samples from, and its descriptive statistics."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from campaigns.duck import connect, fetch_arrow
from campaigns.errors import EmptySelectionError
from campaigns.storage import Storage
from campaigns.traffic.ingest import TRAFFIC_DIR
from campaigns.traffic.schema import PARTITION_SCHEMA


@dataclass(frozen=True)
class Window:
    """Days ``[start, end)`` in UTC: ``end`` is excluded."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int, end: date | None = None) -> Window:
        """The ``days`` days up to and including ``end`` (default: today, UTC)."""
        if days <= 0:
            raise ValueError("a window needs at least one day")
        last = end or datetime.now(UTC).date()
        return cls(last - timedelta(days=days - 1), last + timedelta(days=1))

    def describe(self) -> str:
        return f"{self.start.isoformat()} to {(self.end - timedelta(days=1)).isoformat()}"


def traffic_dataset(storage: Storage) -> ds.Dataset:
    """The whole traffic as an Arrow dataset partitioned by ``day`` (raises if empty)."""
    files = storage.list_files(TRAFFIC_DIR, suffix=".parquet")
    if not files:
        raise EmptySelectionError(
            f"No traffic under {storage.uri(TRAFFIC_DIR)}.",
            "Run 'campaigns traffic ingest LOGS...' first.",
        )
    return ds.dataset(
        [storage.path(f) for f in files],
        filesystem=storage.fs,
        format="parquet",
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        partition_base_dir=storage.path(TRAFFIC_DIR),
    )


@dataclass(frozen=True)
class WindowView:
    """A window's traffic registered on a connection: query it by ``name``."""

    name: str
    rows: int


def window_relation(
    con: duckdb.DuckDBPyConnection, storage: Storage, window: Window, name: str = "window_traffic"
) -> WindowView:
    """Register the window's traffic as a view on ``con``; raises if it has no row.

    Callers query the returned view's ``name``, never a name they assume.

    On a local disk DuckDB reads the Parquet files itself (it then fetches the other columns of
    only the rows a query keeps, which makes top-n sampling 2-3x faster); on S3 it scans the
    Arrow dataset, since DuckDB's httpfs extension may not be installable.
    """
    dataset = traffic_dataset(storage)  # raises the helpful error when there is no traffic
    if isinstance(storage.fs, pafs.LocalFileSystem):
        glob = storage.path(TRAFFIC_DIR, "*", "*.parquet").replace("'", "''")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW traffic_all AS SELECT * FROM read_parquet("
            f"'{glob}', hive_partitioning = true, hive_types = {{'day': DATE}})"
        )
    else:
        con.register("traffic_all", dataset)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM traffic_all "
        f"WHERE day >= DATE '{window.start.isoformat()}' AND day < DATE '{window.end.isoformat()}'"
    )
    # Row counts from the Parquet footers of the window's partitions: no data read (DuckDB
    # counting over an Arrow dataset on S3 would scan a column of every file).
    count = dataset.count_rows(
        filter=(pc.field("day") >= pa.scalar(window.start))
        & (pc.field("day") < pa.scalar(window.end))
    )
    if count == 0:
        raise EmptySelectionError(
            f"No traffic between {window.describe()}.",
            "Widen the window (--days, --end) or ingest more logs; "
            "'campaigns traffic stats' shows which days exist.",
        )
    return WindowView(name, int(count))


def window_rows_fetcher(storage: Storage, window: Window):  # -> RowFetcher | None
    """For S3: fetch the window's rows whose ``column`` is in ``values`` with a filtered Arrow
    scan (bounded memory; 2x faster than DuckDB joining the Arrow dataset). None on a local
    disk, where DuckDB's own Parquet reader is faster still."""
    if isinstance(storage.fs, pafs.LocalFileSystem):
        return None

    def fetch(column: str, values: pa.Array) -> pa.Table:
        wanted = (
            pc.field(column).isin(values)
            & (pc.field("day") >= pa.scalar(window.start))
            & (pc.field("day") < pa.scalar(window.end))
        )
        return traffic_dataset(storage).to_table(filter=wanted)

    return fetch


# Parallel GETs when copying a window off S3: one stream per file is slow on its own (each
# waits on its round trips), 16 keep an S3 server and the local disk busy.
_COPY_THREADS = 16
_COPY_CHUNK = 8 << 20
# Free space kept on the local disk beyond the copy itself.
_COPY_HEADROOM = 512 << 20


def _window_files(storage: Storage, window: Window) -> list[pafs.FileInfo]:
    """The Parquet files of the window's ``day=`` partitions, with their sizes (one listing)."""
    selector = pafs.FileSelector(storage.path(TRAFFIC_DIR), recursive=True, allow_not_found=True)
    base = storage.path(TRAFFIC_DIR) + "/"
    files = []
    for info in storage.fs.get_file_info(selector):
        if info.type != pafs.FileType.File or not info.path.endswith(".parquet"):
            continue
        partition, _, name = info.path.removeprefix(base).partition("/")
        if not partition.startswith("day=") or "/" in name:
            continue
        try:
            day = date.fromisoformat(partition.removeprefix("day="))
        except ValueError:
            continue
        if window.start <= day < window.end:
            files.append(info)
    return files


@contextmanager
def sampling_source(storage: Storage, window: Window) -> Iterator[Storage]:
    """The storage to draw a sample of ``window`` from: ``storage`` itself on a local disk; on
    S3, a temporary local copy of the window's partitions, removed on exit.

    Why copy: a sample reads the traffic twice (the light columns of every row to rank and
    count, then every column of the drawn rows), and on S3 the second read is a filtered
    Arrow scan that downloads and decodes every column of every row group holding a drawn
    row, which with a few thousand drawn rows is all of them: 1.1-1.4x one bare scan of all
    columns. Whole files fetched by parallel GETs (no decoding) arrive 3-5x faster than that
    scan, and then DuckDB's local reader ranks on the light columns and decodes the other
    columns of the drawn rows only. The copy costs local disk space the size of the window's
    files (streamed, not held in memory); without that much free space the sample is drawn
    from S3 directly, as before.
    """
    if isinstance(storage.fs, pafs.LocalFileSystem):
        yield storage
        return
    try:
        files = _window_files(storage, window)
    except OSError as err:
        raise storage._unavailable(err) from err
    scratch = tempfile.mkdtemp(prefix="campaigns-window-")
    try:
        needed = sum(info.size or 0 for info in files)
        if not files or shutil.disk_usage(scratch).free < needed + _COPY_HEADROOM:
            yield storage  # nothing to copy (the helpful error comes from the scan) or no room
            return
        base = storage.path(TRAFFIC_DIR) + "/"

        def copy(info: pafs.FileInfo) -> None:
            target = os.path.join(scratch, TRAFFIC_DIR, info.path.removeprefix(base))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with storage.fs.open_input_stream(info.path) as source, open(target, "wb") as out:
                while chunk := source.read(_COPY_CHUNK):
                    out.write(chunk)

        try:
            with ThreadPoolExecutor(min(_COPY_THREADS, len(files))) as pool:
                for _ in pool.map(copy, files):
                    pass
        except OSError as err:
            raise storage._unavailable(err) from err
        yield Storage.open(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def daily_stats(storage: Storage, window: Window, threshold: float):  # -> pa.Table
    """Requests, mean confidence and automatic-coding rate per day of the window."""
    with connect() as con:
        view = window_relation(con, storage, window)
        return fetch_arrow(
            con,
            f"""SELECT day, count(*) AS requests,
                      avg(confidence) AS mean_confidence,
                      avg((confidence >= $t)::INT) AS auto_coding_rate
               FROM {view.name} GROUP BY day ORDER BY day""",
            {"t": threshold},
        )


def confidence_histogram(storage: Storage, window: Window, bins: int = 10):  # -> pa.Table
    with connect() as con:
        view = window_relation(con, storage, window)
        return fetch_arrow(
            con,
            f"""SELECT least(floor(confidence * {bins}), {bins - 1}) / {bins} AS bin_start,
                       count(*) AS requests
                FROM {view.name} GROUP BY 1 ORDER BY 1""",
        )
