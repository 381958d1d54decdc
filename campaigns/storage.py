"""One adapter for the storage root, so a local directory and ``s3://bucket/prefix`` behave alike.

Everything goes through :mod:`pyarrow.fs`; DuckDB then queries the Arrow datasets it opens
(DuckDB's httpfs extension cannot be downloaded on air-gapped machines).

Writes are atomic for readers: a file is first written under ``_tmp/`` (outside every dataset
folder, so no reader lists it) and then moved into place. On a local disk the move is a rename;
on S3 it is a server-side copy, which makes the object appear whole or not at all.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from campaigns.config import Settings
from campaigns.errors import (
    ConfigurationError,
    InputFormatError,
    InvalidArgumentError,
    NotFoundError,
    ServiceUnavailableError,
)

if TYPE_CHECKING:
    import pyarrow.dataset as ds

# pyarrow >= 21 sends streaming checksums that several S3 servers refuse or store corrupt,
# and no SDK should probe a cloud metadata address from an office network.
os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

TMP_DIR = "_tmp"
SAMPLES_DIR = "samples"


def sample_key(sample_id: str, suffix: str = "") -> str:
    """Where a drawn sample's units live (``suffix`` ``.strata`` / ``.frame``: its strata, its
    frame). The registry writes them; the gold store reads the units that reuse a gold label."""
    return f"{SAMPLES_DIR}/{sample_id}{suffix}.parquet"


@dataclass(frozen=True)
class Storage:
    """A storage root: a pyarrow filesystem and the base path inside it."""

    fs: pafs.FileSystem
    base: str
    root_uri: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        return cls.open(settings.storage_root, settings)

    @classmethod
    def open(cls, root: str, settings: Settings | None = None) -> Storage:
        """Open ``root`` (a local directory or ``s3://bucket/prefix``)."""
        if root.startswith("s3://"):
            return cls._open_s3(root, settings or Settings())
        if "://" in root and not root.startswith("file://"):
            raise ConfigurationError(
                f"Unsupported storage root {root!r}.",
                "Use a local directory or s3://bucket/prefix (CAMPAIGNS_STORAGE_ROOT).",
            )
        path = os.path.abspath(root.removeprefix("file://"))
        os.makedirs(path, exist_ok=True)
        return cls(pafs.LocalFileSystem(), path.rstrip("/"), path)

    @classmethod
    def _open_s3(cls, root: str, settings: Settings) -> Storage:
        parsed = urlparse(root)
        bucket, prefix = parsed.netloc, parsed.path.strip("/")
        if not bucket:
            raise ConfigurationError(
                f"No bucket in storage root {root!r}.", "Use s3://bucket/prefix."
            )
        if not (settings.s3_access_key_id and settings.s3_secret_access_key):
            raise ConfigurationError(
                "S3 storage root set but no S3 credentials.",
                "Set CAMPAIGNS_S3_ACCESS_KEY_ID and CAMPAIGNS_S3_SECRET_ACCESS_KEY.",
            )
        kwargs: dict[str, object] = {
            "access_key": settings.s3_access_key_id,
            "secret_key": settings.s3_secret_access_key.get_secret_value(),
            "region": settings.s3_region,
            "allow_bucket_creation": True,
            "connect_timeout": 5,
            "request_timeout": 60,
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
        }
        if settings.s3_endpoint_url:
            endpoint = urlparse(settings.s3_endpoint_url)
            kwargs["endpoint_override"] = endpoint.netloc
            kwargs["scheme"] = endpoint.scheme or "http"
        fs = pafs.S3FileSystem(**kwargs)  # type: ignore[arg-type]
        storage = cls(fs, f"{bucket}/{prefix}".rstrip("/"), root.rstrip("/"))
        storage._ensure_bucket(bucket, settings)
        return storage

    def _ensure_bucket(self, bucket: str, settings: Settings) -> None:
        try:
            info = self.fs.get_file_info(bucket)
            if info.type == pafs.FileType.NotFound:
                self.fs.create_dir(bucket)
        except OSError as err:
            raise ServiceUnavailableError(
                f"Cannot reach S3 at {settings.s3_endpoint_url or 'the default AWS endpoint'}: "
                f"{_first_line(err)}",
                "Check CAMPAIGNS_S3_ENDPOINT_URL and that the S3 server is running.",
            ) from err

    # -- paths -----------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        """The filesystem path of ``parts`` below the root (never outside it)."""
        rel = _relative_key(parts)
        return f"{self.base}/{rel}" if rel else self.base

    def uri(self, *parts: str) -> str:
        rel = _relative_key(parts)
        return f"{self.root_uri}/{rel}" if rel else self.root_uri

    def exists(self, *parts: str) -> bool:
        try:
            return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound
        except OSError as err:
            raise self._unavailable(err) from err

    def list_files(self, *parts: str, suffix: str = "") -> list[str]:
        """Files below ``parts`` (recursive), as paths relative to the root, sorted."""
        selector = pafs.FileSelector(self.path(*parts), recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as err:
            raise self._unavailable(err) from err
        prefix = self.base + "/"
        return sorted(
            i.path.removeprefix(prefix)
            for i in infos
            if i.type == pafs.FileType.File and i.path.endswith(suffix)
        )

    # -- atomic writes ---------------------------------------------------------------------
    def write_table(self, table: pa.Table, *parts: str) -> str:
        """Write ``table`` as one Parquet file at ``parts``, atomically. Returns its URI."""
        buffer = io.BytesIO()
        import pyarrow.parquet as pq  # here: it loads pandas, which a start does not need

        pq.write_table(table, buffer, compression="zstd")
        return self.write_bytes(buffer.getvalue(), *parts)

    def write_bytes(self, data: bytes, *parts: str) -> str:
        target = self.path(*parts)
        tmp = self.path(TMP_DIR, f"{uuid.uuid4().hex}.part")
        try:
            self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
            self.fs.create_dir(self.path(TMP_DIR), recursive=True)
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
            self.fs.move(tmp, target)
        except OSError as err:
            self._discard(tmp)
            raise self._unavailable(err) from err
        return self.uri(*parts)

    def _discard(self, path: str) -> None:
        with contextlib.suppress(OSError):
            self.fs.delete_file(path)

    def delete(self, *parts: str) -> None:
        path = self.path(*parts)
        try:
            info = self.fs.get_file_info(path)
            if info.type == pafs.FileType.Directory:
                self.fs.delete_dir(path)
            elif info.type == pafs.FileType.File:
                self.fs.delete_file(path)
        except OSError as err:
            raise self._unavailable(err) from err

    # -- reads -----------------------------------------------------------------------------
    def read_bytes(self, *parts: str) -> bytes:
        if not self.exists(*parts):
            raise NotFoundError(f"No file at {self.uri(*parts)}.")
        with self.fs.open_input_stream(self.path(*parts)) as src:
            return bytes(src.read())

    def read_table(self, *parts: str, columns: list[str] | None = None) -> pa.Table:
        import pyarrow.parquet as pq

        if not self.exists(*parts):
            raise NotFoundError(f"No file at {self.uri(*parts)}.")
        try:
            return pq.read_table(self.path(*parts), filesystem=self.fs, columns=columns)
        except OSError as err:
            raise self._unavailable(err) from err

    def read_schema(self, *parts: str) -> pa.Schema:
        """The schema of a Parquet file (its footer only)."""
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(self.path(*parts), filesystem=self.fs)
        except OSError as err:
            raise self._unavailable(err) from err

    def dataset(self, *parts: str, partitioning: str | None = "hive") -> ds.Dataset:
        """An Arrow dataset over the Parquet files below ``parts`` (DuckDB can query it)."""
        import pyarrow.dataset as ds

        files = self.list_files(*parts, suffix=".parquet")
        paths = [self.path(f) for f in files]
        part = ds.partitioning(flavor="hive") if partitioning == "hive" else None
        return ds.dataset(
            paths,
            filesystem=self.fs,
            format="parquet",
            partitioning=part,
            partition_base_dir=self.path(*parts),
        )

    def _unavailable(self, err: OSError) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"Storage error at {self.root_uri}: {_first_line(err)}",
            "Check that the storage root exists and the S3 server is reachable.",
        )


# -- files handed over on the storage root ------------------------------------------------
def input_key(storage: Storage, ref: str) -> str:
    """The storage key of a file a client names: a key below the root, or its full URI.

    API clients put their tables on the storage root (where the traffic already is) rather
    than on the server's own disk, which is no place for a client to point at.
    """
    root = storage.root_uri.rstrip("/") + "/"
    key = ref.removeprefix(root)
    if not storage.exists(key):
        raise NotFoundError(
            f"No file at {storage.uri(key)}.",
            f"Copy the table below the storage root {storage.root_uri} and give its "
            "key (e.g. inputs/training.parquet) or its full URI.",
        )
    return key


def read_input_table(storage: Storage, ref: str) -> pa.Table:
    """A Parquet table (file or folder) on the storage root, by key or URI."""
    key = input_key(storage, ref)
    try:
        return storage.read_table(key)
    except pa.ArrowException as err:  # storage errors are already ServiceUnavailableError
        raise InputFormatError(
            f"Cannot read {storage.uri(key)} as Parquet: {_first_line(err)}",
            "Give a Parquet file (or a folder of Parquet files).",
        ) from err


@contextlib.contextmanager
def local_copy(storage: Storage, ref: str) -> Iterator[str]:
    """A local path to a file on the storage root: the file itself, or a temporary copy.

    For readers that only open local files (DuckDB without its httpfs extension, which an
    air-gapped machine cannot install); the copy streams, never the whole file in memory.
    """
    import pyarrow.fs as pafs

    key = input_key(storage, ref)
    if isinstance(storage.fs, pafs.LocalFileSystem):
        yield storage.path(key)
        return
    with tempfile.TemporaryDirectory(prefix="campaigns-input-") as folder:
        target = os.path.join(folder, PurePosixPath(key).name)
        try:
            with (
                storage.fs.open_input_stream(storage.path(key)) as source,
                open(target, "wb") as out,
            ):
                shutil.copyfileobj(source, out, 1 << 20)
        except OSError as err:
            raise ServiceUnavailableError(
                f"Cannot copy {storage.uri(key)}: {_first_line(err)}",
                "Check that it is a file and the S3 server is reachable.",
            ) from err
        yield target


def _relative_key(parts: tuple[str, ...]) -> str:
    """``parts`` joined into a key below the root; refuses any key that could leave it.

    Keys are built from names users chose (campaigns, samples, files): a ``..`` segment, a
    backslash or a control character is refused here, whatever layer let it through.
    """
    segments = [s for p in parts if p for s in p.split("/") if s]
    for segment in segments:
        if segment in (".", "..") or "\\" in segment or any(ord(c) < 32 for c in segment):
            raise InvalidArgumentError(
                f"Refused storage key {'/'.join(parts)!r}: it must stay below the storage root.",
                "Use names made of letters, digits, '.', '_' and '-'.",
            )
    return "/".join(segments)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
