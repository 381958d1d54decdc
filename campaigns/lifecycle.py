"""A campaign's life: create its Label Studio project, push its tasks, export its annotations.

These functions are what the CLI and the REST API both call; they hold no I/O of their own
beyond the storage, the database session and the Label Studio gateway they are handed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from campaigns import crud
from campaigns.errors import EmptySelectionError, NotFoundError
from campaigns.gold import GOLD_RULE, resolve_gold
from campaigns.kinds import CampaignKit
from campaigns.labelstudio import LabelStudioGateway
from campaigns.models import Campaign, CampaignCreate, CampaignStatus
from campaigns.samples import load_sample_table
from campaigns.storage import Storage

EXPORTS_DIR = "exports"


def create_campaign(
    session: Session, gateway: LabelStudioGateway, kit: CampaignKit, data: CampaignCreate
) -> Campaign:
    """Record the campaign and create its Label Studio project (undone if that fails)."""
    campaign = crud.add_campaign(session, data)
    title = campaign.name if len(campaign.name) >= 3 else f"Campaign {campaign.name}"
    try:
        project_id = gateway.create_project(
            title[:50],
            kit.label_config(),
            description=data.description or f"{data.kind} campaign on sample {data.sample_id}",
            overlap=data.annotations_per_task,
        )
    except Exception:
        session.delete(campaign)
        session.commit()
        raise
    campaign.ls_project_id = project_id
    return crud.save(session, campaign)


@dataclass
class PushSummary:
    campaign_id: int
    project_id: int
    sample_size: int
    imported: int
    already_present: int
    project_url: str


def push_campaign(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    kit: CampaignKit,
    campaign: Campaign,
    *,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> PushSummary:
    """Import the sample's tasks that are not yet in the project (safe to rerun)."""
    if campaign.ls_project_id is None:
        raise NotFoundError(f"Campaign {campaign.id} has no Label Studio project.")
    sample = crud.get_sample(session, campaign.sample_id)
    table = load_sample_table(storage, sample)
    assert campaign.id is not None
    tasks = kit.tasks(table, campaign.id)
    imported = gateway.import_tasks(
        campaign.ls_project_id, tasks, batch_size=batch_size, on_batch=on_batch
    )
    campaign.tasks_pushed = gateway.task_count(campaign.ls_project_id)
    if campaign.status == CampaignStatus.CREATED:
        campaign.status = CampaignStatus.PUSHED
    crud.save(session, campaign)
    return PushSummary(
        campaign_id=campaign.id,
        project_id=campaign.ls_project_id,
        sample_size=table.num_rows,
        imported=imported,
        already_present=len(tasks) - imported,
        project_url=gateway.project_url(campaign.ls_project_id),
    )


@dataclass
class ExportSummary:
    campaign_id: int
    version: str
    annotations: int
    tasks_with_gold: int
    status_counts: dict[str, int]
    annotations_uri: str
    gold_uri: str
    tasks_read: int = 0
    incremental: bool = False
    gold_rule: str = GOLD_RULE


def export_dir(campaign_id: int, version: str) -> str:
    return f"{EXPORTS_DIR}/campaign={campaign_id}/version={version}"


def export_campaign(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    kit: CampaignKit,
    campaign: Campaign,
    *,
    full: bool = False,
) -> ExportSummary:
    """Sync the annotations into a new export version; ``LATEST`` points to it last.

    Incremental: after the first export, only the tasks Label Studio changed since the sync
    cursor are read (created, edited or deleted annotations all bump a task's ``updated_at``),
    and they replace their rows of the previous version, so the export stays a faithful
    snapshot. ``full=True`` rereads every annotated task. Readers follow ``LATEST``, written
    only after both files are in place: they never see a half export, and an interrupted
    export is simply redone. Two syncs of one campaign at once: the second is refused.
    """
    if campaign.ls_project_id is None or campaign.id is None:
        raise NotFoundError(f"Campaign {campaign.id} has no Label Studio project.")
    with crud.sync_lock(session, campaign):
        previous = None if full else _previous_annotations(storage, campaign)
        if previous is None:
            tasks = gateway.annotated_tasks(campaign.ls_project_id)
            annotations = kit.annotations(tasks)
        else:
            tasks = gateway.changed_tasks(campaign.ls_project_id, since=campaign.sync_cursor or "")
            changed = pa.array([t["id"] for t in tasks], pa.int64())
            kept = previous.filter(pc.invert(pc.is_in(previous.column("task_id"), changed)))
            fresh = kit.annotations(tasks)
            annotations = pa.concat_tables([kept.select(fresh.column_names), fresh])
        cursor = max([t.get("updated_at") or "" for t in tasks] + [campaign.sync_cursor or ""])
        sample = load_sample_table(storage, crud.get_sample(session, campaign.sample_id))
        gold = resolve_gold(annotations, sample)
        ids = pa.array([campaign.id] * gold.num_rows, pa.int64())
        gold = gold.append_column("campaign_id", ids)
        version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        folder = export_dir(campaign.id, version)
        ann_uri = storage.write_table(
            annotations.append_column(
                "campaign_id", pa.array([campaign.id] * annotations.num_rows, pa.int64())
            ),
            f"{folder}/annotations.parquet",
        )
        gold_uri = storage.write_table(gold, f"{folder}/gold.parquet")
        storage.write_bytes(version.encode(), f"{EXPORTS_DIR}/campaign={campaign.id}/LATEST")
        campaign.last_export_version = version
        campaign.sync_cursor = cursor or None
        if campaign.status != CampaignStatus.ARCHIVED:
            campaign.status = CampaignStatus.EXPORTED
    counts = dict(zip(*_value_counts(gold.column("status")), strict=True))
    return ExportSummary(
        campaign_id=campaign.id,
        version=version,
        annotations=annotations.num_rows,
        tasks_with_gold=int(counts.get("coded", 0)),
        status_counts=counts,
        annotations_uri=ann_uri,
        gold_uri=gold_uri,
        tasks_read=len(tasks),
        incremental=previous is not None,
    )


def _latest_version(storage: Storage, campaign: Campaign) -> str | None:
    pointer = f"{EXPORTS_DIR}/campaign={campaign.id}/LATEST"
    if not storage.exists(pointer):
        return None
    return storage.read_bytes(pointer).decode().strip()


def _previous_annotations(storage: Storage, campaign: Campaign) -> pa.Table | None:
    version = _latest_version(storage, campaign)
    if version is None or not campaign.sync_cursor:
        return None
    return storage.read_table(f"{export_dir(campaign.id or 0, version)}/annotations.parquet")


def _value_counts(column: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    counts = column.value_counts()
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


def _latest_file(storage: Storage, campaign: Campaign, name: str) -> pa.Table:
    version = _latest_version(storage, campaign)
    if version is None:
        raise EmptySelectionError(
            f"Campaign {campaign.id} has no export yet.",
            f"Run 'campaigns export {campaign.id}' first.",
        )
    return storage.read_table(f"{export_dir(campaign.id or 0, version)}/{name}")


def latest_gold(storage: Storage, campaign: Campaign) -> pa.Table:
    """The gold table (one row per annotated unit) of the campaign's latest export."""
    return _latest_file(storage, campaign, "gold.parquet")


def latest_annotations(storage: Storage, campaign: Campaign) -> pa.Table:
    """Every annotation (one row per expert and task) of the campaign's latest export."""
    return _latest_file(storage, campaign, "annotations.parquet")
