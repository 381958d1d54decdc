"""Exporting from Label Studio's S3 export storage instead of its API.

Offices that already run Label Studio often have a *target storage* on the project: Label
Studio writes one JSON object per annotation to ``s3://bucket/prefix/<annotation id>`` (the
annotation, its task nested under ``task``, its annotator under ``completed_by``), rewrites
it when the annotation changes and removes it when it is deleted. Reading that bucket costs
Label Studio nothing, which matters on a busy server, and it is how Insee turned its
campaigns into Parquet.

``export_from_storage`` produces the same versioned snapshot as ``export_campaign``
(``exports/campaign=ID/version=V/{annotations,gold}.parquet``, ``LATEST`` last), read by
the same kit, so metrics cannot tell the two sources apart. It is incremental: the
snapshot's folder keeps a cursor (every object's key, ETag and annotation id), and the next
export reads only objects that are new or whose ETag changed, and drops the rows of objects
that disappeared. The cursor lives in the version folder, so it moves with ``LATEST``: an
export interrupted before ``LATEST`` leaves the previous cursor and snapshot in force.

An empty or unreadable prefix is an error, never an export of 0 rows: a typo in the prefix
(or Label Studio's ``prefix/`` trailing-slash quirk) must not look like "no annotations yet".
Objects that are not annotations of the campaign's project are left out and reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Protocol
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import (
    ConfigurationError,
    EmptySelectionError,
    InputFormatError,
    InvalidArgumentError,
    NotFoundError,
    ServiceUnavailableError,
)
from campaigns.gold.store import (
    latest_extra,
    new_version,
    own_latest_annotations,
    write_snapshot,
)
from campaigns.labelstudio.kinds import CampaignKit
from campaigns.lifecycle.export import ExportSummary
from campaigns.metrics.gold_labels import resolve_gold
from campaigns.sampling.registry import load_sample_table
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignStatus
from campaigns.storage import Storage

CURSOR_FILE = "storage_cursor.json"
MAX_OBJECT_BYTES = 10_000_000
"""An annotation object is a few KB; a bigger one is not Label Studio's and is not read."""
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class StorageSource:
    """Where Label Studio's target storage writes: a bucket and a key prefix."""

    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def list_prefix(self) -> str:
        """Keys are ``prefix/<id>``; with Label Studio's trailing-slash quirk ``prefix//<id>``,
        which this prefix matches too."""
        return f"{self.prefix}/" if self.prefix else ""


def parse_source(uri: str) -> StorageSource:
    """``s3://bucket/prefix`` (a trailing slash is tolerated); anything else is refused."""
    parsed = urlparse(uri.strip())
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidArgumentError(
            f"Not an S3 location: {uri!r}.",
            "Give the export storage's bucket and prefix, e.g. --from-storage s3://bucket/ann.",
        )
    if not _BUCKET.match(parsed.netloc):
        raise InvalidArgumentError(f"Not a valid bucket name: {parsed.netloc!r}.")
    prefix = parsed.path.strip("/")
    if any(ord(c) < 32 for c in prefix) or parsed.query or parsed.fragment:
        raise InvalidArgumentError(f"Refused prefix in {uri!r}: control characters or '?#'.")
    return StorageSource(parsed.netloc, prefix)


@dataclass(frozen=True)
class StoredObject:
    key: str
    etag: str
    last_modified: str
    size: int


class AnnotationStore(Protocol):
    """What the export needs from an object store (S3 in production, a dict in unit tests)."""

    def list_objects(self, source: StorageSource) -> list[StoredObject]: ...

    def read_object(self, source: StorageSource, key: str) -> bytes: ...


class S3AnnotationStore:
    """The S3 server of the settings (``CAMPAIGNS_S3_*``), read with boto3 for ETags."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        if not (settings.s3_access_key_id and settings.s3_secret_access_key):
            raise ConfigurationError(
                "Reading an export storage needs S3 credentials.",
                "Set CAMPAIGNS_S3_ACCESS_KEY_ID and CAMPAIGNS_S3_SECRET_ACCESS_KEY (and "
                "CAMPAIGNS_S3_ENDPOINT_URL for MinIO or another S3 server).",
            )
        self.endpoint = settings.s3_endpoint_url or "the default AWS endpoint"
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            region_name=settings.s3_region,
            config=Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": "path"},
            ),
        )

    def _error(self, err: Exception, source: StorageSource) -> Exception:
        from botocore.exceptions import ClientError

        if isinstance(err, ClientError):
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchBucket", "404", "NotFound"):
                return NotFoundError(
                    f"No bucket {source.bucket!r} at {self.endpoint}.",
                    "Check the bucket of the project's export storage in Label Studio.",
                )
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return ConfigurationError(
                    f"S3 refused to list {source.uri} ({code}).",
                    "Check CAMPAIGNS_S3_ACCESS_KEY_ID / CAMPAIGNS_S3_SECRET_ACCESS_KEY: they "
                    "must be allowed to read that bucket.",
                )
            return ServiceUnavailableError(f"S3 answered {code} for {source.uri}.")
        return ServiceUnavailableError(
            f"Cannot reach S3 at {self.endpoint}: {type(err).__name__}.",
            "Check CAMPAIGNS_S3_ENDPOINT_URL and that the S3 server is running.",
        )

    def list_objects(self, source: StorageSource) -> list[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        found: list[StoredObject] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=source.bucket, Prefix=source.list_prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    found.append(
                        StoredObject(
                            key=str(item["Key"]),
                            etag=str(item.get("ETag", "")).strip('"'),
                            last_modified=item["LastModified"].astimezone(UTC).isoformat(),
                            size=int(item.get("Size", 0)),
                        )
                    )
        except (ClientError, BotoCoreError) as err:
            raise self._error(err, source) from err
        return found

    def read_object(self, source: StorageSource, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=source.bucket, Key=key)["Body"]
            return bytes(body.read(MAX_OBJECT_BYTES + 1))
        except (ClientError, BotoCoreError) as err:
            raise self._error(err, source) from err


@dataclass
class StorageExportSummary(ExportSummary):
    """An export's summary, plus what was read from the storage."""

    source: str = ""
    objects_listed: int = 0
    objects_read: int = 0
    objects_removed: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    """Objects left out (key -> why), every one known so far, not only this run's."""


def _parse_object(data: bytes, project_id: int | None) -> tuple[dict[str, Any] | None, str]:
    """``(annotation with its task, "")`` or ``(None, why it is not one)``."""
    if len(data) > MAX_OBJECT_BYTES:
        return None, f"larger than {MAX_OBJECT_BYTES // 1_000_000} MB"
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None, "not JSON"
    if not isinstance(body, dict):
        return None, "not a JSON object"
    task = body.get("task")
    if not isinstance(body.get("id"), int) or not isinstance(task, dict):
        return None, "not a Label Studio annotation (no id, no nested task)"
    if not isinstance(task.get("id"), int) or not isinstance(task.get("data"), dict):
        return None, "its task has no id or no data"
    if not isinstance(body.get("result", []), list | type(None)):
        return None, "its result is not a list"
    project = body.get("project", task.get("project"))
    if project_id is not None and project is not None and project != project_id:
        return None, f"an annotation of project {project}, not {project_id}"
    return body, ""


def _as_export_annotation(body: dict[str, Any]) -> dict[str, Any]:
    """The annotation as the API export gives it: annotator as the user id, no nested task.

    The storage object carries the annotator as ``{"id", "email", ...}`` where the API export
    has the bare id: normalising keeps both sources' snapshots identical.
    """
    annotation = {k: v for k, v in body.items() if k != "task"}
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        annotation["completed_by"] = who.get("id", who.get("email"))
    return annotation


def _tasks_of(bodies: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Annotations grouped back into tasks, the shape every kit's reader takes."""
    tasks: dict[int, dict[str, Any]] = {}
    for body in sorted(bodies, key=lambda b: str(b.get("updated_at") or "")):
        task = body["task"]
        entry = tasks.setdefault(task["id"], {"id": task["id"], "annotations": []})
        entry["data"] = task["data"]  # the latest object's copy of the task data
        entry["annotations"].append(_as_export_annotation(body))
    return list(tasks.values())


def _previous(storage: Storage, campaign: Campaign, source: StorageSource) -> tuple[Any, Any]:
    """The latest snapshot's annotations and storage cursor, when that cursor is ours."""
    cursor_bytes = latest_extra(storage, campaign, CURSOR_FILE)
    if cursor_bytes is None:
        return None, None  # no snapshot yet, or it came from the API: read the storage whole
    cursor = json.loads(cursor_bytes)
    if cursor.get("source") != source.uri:
        return None, None
    return own_latest_annotations(storage, campaign), cursor


def export_from_storage(
    session: Session,
    storage: Storage,
    store: AnnotationStore,
    kit: CampaignKit,
    campaign: Campaign,
    source_uri: str,
    *,
    full: bool = False,
) -> StorageExportSummary:
    """Read the annotation objects under ``source_uri`` into a new export version.

    Incremental after the first export from the same source (``full=True`` rereads all).
    The campaign's export lock is held throughout, as for an API export.
    """
    source = parse_source(source_uri)
    if crud.team_campaigns(session, campaign):
        raise InvalidArgumentError(
            f"Campaign {campaign.name!r} has expert teams, each with its own project and "
            "export storage.",
            "Export each team campaign with its own --from-storage prefix.",
        )
    if campaign.id is None:
        raise NotFoundError("The campaign has no id.")
    with crud.export_lock(session, campaign):
        listed = store.list_objects(source)
        previous, cursor = (None, None) if full else _previous(storage, campaign, source)
        known: dict[str, dict[str, Any]] = dict((cursor or {}).get("objects", {}))
        if not listed:
            if known:
                raise EmptySelectionError(
                    f"{source.uri} is empty, but the last export read {len(known)} objects "
                    "from it: refusing to export every annotation as deleted.",
                    "Check the prefix and the project's export storage in Label Studio.",
                )
            raise EmptySelectionError(
                f"No object under {source.uri}: nothing to export.",
                "Check the bucket and prefix of the project's export storage in Label Studio "
                "(objects are prefix/<annotation id>; give the prefix without a trailing "
                "slash), and sync it once if annotations predate the storage.",
            )
        current = {o.key: o for o in listed}
        changed = [o for o in listed if known.get(o.key, {}).get("etag") != o.etag]
        removed = [k for k in known if k not in current]
        bodies: list[dict[str, Any]] = []
        for obj in changed:
            body, why = (
                (None, f"larger than {MAX_OBJECT_BYTES // 1_000_000} MB")
                if obj.size > MAX_OBJECT_BYTES
                else _parse_object(store.read_object(source, obj.key), campaign.ls_project_id)
            )
            entry: dict[str, Any] = {"etag": obj.etag, "last_modified": obj.last_modified}
            if body is None:
                entry["skipped"] = why
            else:
                entry["annotation_id"] = body["id"]
                bodies.append(body)
            known[obj.key] = entry
        for key in removed:
            known.pop(key)
        readable = sum(1 for entry in known.values() if "annotation_id" in entry)
        skipped = {k: str(e["skipped"]) for k, e in known.items() if "skipped" in e}
        if readable == 0:
            reasons = "; ".join(f"{k!r}: {why}" for k, why in list(skipped.items())[:3])
            raise InputFormatError(
                f"{len(listed)} objects under {source.uri}, none an annotation of Label Studio "
                f"project {campaign.ls_project_id} ({reasons}).",
                "Check that this prefix is the project's export storage.",
            )
        fresh = kit.annotations(_tasks_of(bodies))
        annotations = fresh
        if previous is not None:
            # Rows of objects rewritten or removed since the cursor, and of every fresh id.
            touched = set(removed) | {o.key for o in changed}
            dropped = [
                e["annotation_id"]
                for k, e in (cursor or {}).get("objects", {}).items()
                if "annotation_id" in e and k in touched
            ]
            dropped += [b["id"] for b in bodies]
            stale = pc.is_in(previous.column("annotation_id"), pa.array(dropped, pa.int64()))
            kept = previous.filter(pc.invert(stale)).select(fresh.column_names)
            annotations = pa.concat_tables([kept, fresh])
        summary = _write_snapshot(session, storage, campaign, annotations, source, known)
        summary.tasks_read = len({b["task"]["id"] for b in bodies})
        summary.incremental = previous is not None
        summary.objects_listed = len(listed)
        summary.objects_read = len(changed)
        summary.objects_removed = len(removed)
        summary.skipped = skipped
    return summary


def _write_snapshot(
    session: Session,
    storage: Storage,
    campaign: Campaign,
    annotations: pa.Table,
    source: StorageSource,
    objects: dict[str, dict[str, Any]],
) -> StorageExportSummary:
    """Annotations, gold and cursor into a new version folder, then ``LATEST`` (as
    ``export_campaign`` writes them: readers never see half an export)."""
    cid = campaign.id or 0
    sample = load_sample_table(storage, crud.get_sample(session, campaign.sample_id))
    gold = resolve_gold(annotations, sample)
    gold = gold.append_column("campaign_id", pa.array([cid] * gold.num_rows, pa.int64()))
    version = new_version()
    cursor = {"source": source.uri, "objects": objects}
    ann_uri, gold_uri = write_snapshot(
        storage,
        cid,
        version,
        annotations.append_column(
            "campaign_id", pa.array([cid] * annotations.num_rows, pa.int64())
        ),
        gold,
        {CURSOR_FILE: json.dumps(cursor, sort_keys=True).encode()},
    )
    campaign.last_export_version = version
    if campaign.status != CampaignStatus.ARCHIVED:
        campaign.status = CampaignStatus.EXPORTED
    statuses = gold.column("status").value_counts().to_pylist()
    counts = {str(s["values"]): int(s["counts"]) for s in statuses}
    return StorageExportSummary(
        campaign_id=cid,
        version=version,
        annotations=annotations.num_rows,
        tasks_with_gold=int(counts.get("coded", 0)),
        status_counts=counts,
        annotations_uri=ann_uri,
        gold_uri=gold_uri,
        source=source.uri,
    )
