"""Exporting a campaign: its annotations read back from Label Studio into a versioned snapshot.

The annotations and their gold, joined with the sample's design columns, become a new version
in the gold store (:mod:`campaigns.gold.store`, which moves ``LATEST`` last, so readers never
see half an export).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from campaigns.errors import NotFoundError
from campaigns.gold.store import new_version, own_latest_annotations, write_snapshot
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.kinds import CampaignKit
from campaigns.metrics.gold_labels import GOLD_RULE, resolve_gold
from campaigns.sampling.registry import load_sample_table
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignStatus
from campaigns.storage import Storage


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
    teams: dict[str, str] = field(default_factory=dict)
    outside_units: int = 0
    """Annotated tasks whose id is no unit of the campaign's sample (left out of the gold):
    an adopted project that gained tasks since ``campaigns adopt``."""

    def warning(self, adopted: bool) -> str | None:
        """What to say about ``outside_units``, or None when every annotated task is a unit."""
        if not self.outside_units:
            return None
        fix = (
            "run 'campaigns adopt' again to take them in"
            if adopted
            else "they are left out of the gold"
        )
        return f"{self.outside_units} annotated tasks are not units of this campaign yet: {fix}."


def export_campaign(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    kit: CampaignKit,
    campaign: Campaign,
    *,
    full: bool = False,
) -> ExportSummary:
    """Read the annotations into a new export version; ``LATEST`` points to it last.

    Incremental: after the first export, only the tasks Label Studio changed since the export
    cursor are read (created, edited or deleted annotations all bump a task's ``updated_at``),
    and they replace their rows of the previous version, so the export stays a faithful
    snapshot. ``full=True`` rereads every annotated task. Readers follow ``LATEST``, written
    only after both files are in place: they never see a half export, and an interrupted
    export is simply redone. Two exports of one campaign at once: the second is refused.
    """
    teams = crud.team_campaigns(session, campaign)
    if teams:
        return _export_teams(session, storage, gateway, kit, campaign, teams, full=full)
    if campaign.ls_project_id is None or campaign.id is None:
        raise NotFoundError(f"Campaign {campaign.id} has no Label Studio project.")
    with crud.export_lock(session, campaign):
        previous = None
        if not full and campaign.export_cursor:
            previous = own_latest_annotations(storage, campaign)
        if previous is None:
            tasks = gateway.annotated_tasks(campaign.ls_project_id)
            annotations = kit.annotations(tasks)
        else:
            tasks = gateway.changed_tasks(
                campaign.ls_project_id, since=campaign.export_cursor or ""
            )
            changed = pa.array([t["id"] for t in tasks], pa.int64())
            kept = previous.filter(pc.invert(pc.is_in(previous.column("task_id"), changed)))
            fresh = kit.annotations(tasks)
            annotations = pa.concat_tables([_as_schema(kept, fresh.schema), fresh])
        cursor = max([t.get("updated_at") or "" for t in tasks] + [campaign.export_cursor or ""])
        sample = load_sample_table(storage, crud.get_sample(session, campaign.sample_id))
        gold = resolve_gold(annotations, sample)
        outside = _outside_units(annotations, sample)
        ids = pa.array([campaign.id] * gold.num_rows, pa.int64())
        gold = gold.append_column("campaign_id", ids)
        version = new_version()
        ann_uri, gold_uri = write_snapshot(
            storage,
            campaign.id,
            version,
            annotations.append_column(
                "campaign_id", pa.array([campaign.id] * annotations.num_rows, pa.int64())
            ),
            gold,
        )
        campaign.last_export_version = version
        campaign.export_cursor = cursor or None
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
        outside_units=outside,
    )


def _export_teams(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    kit: CampaignKit,
    campaign: Campaign,
    teams: list[Campaign],
    *,
    full: bool,
) -> ExportSummary:
    parts = [export_campaign(session, storage, gateway, kit, t, full=full) for t in teams]
    counts: dict[str, int] = {}
    for part in parts:
        for status, n in part.status_counts.items():
            counts[status] = counts.get(status, 0) + n
    campaign.last_export_version = max(p.version for p in parts)
    if campaign.status != CampaignStatus.ARCHIVED:
        campaign.status = CampaignStatus.EXPORTED
    crud.save(session, campaign)
    return ExportSummary(
        campaign_id=campaign.id or 0,
        version=campaign.last_export_version,
        annotations=sum(p.annotations for p in parts),
        tasks_with_gold=sum(p.tasks_with_gold for p in parts),
        status_counts=counts,
        annotations_uri=" ".join(p.annotations_uri for p in parts),
        gold_uri=" ".join(p.gold_uri for p in parts),
        tasks_read=sum(p.tasks_read for p in parts),
        incremental=all(p.incremental for p in parts),
        teams={t.team or "": p.version for t, p in zip(teams, parts, strict=True)},
        outside_units=sum(p.outside_units for p in parts),
    )


def _value_counts(column: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    counts = column.value_counts()
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


def _outside_units(annotations: pa.Table, sample: pa.Table) -> int:
    """Distinct annotated request ids that are not units of the sample."""
    if annotations.num_rows == 0:
        return 0
    ids = pc.unique(annotations.column("request_id").combine_chunks().drop_null())
    return int(pc.sum(pc.invert(pc.is_in(ids, value_set=sample.column("request_id")))).as_py())


def _as_schema(kept: pa.Table, schema: pa.Schema) -> pa.Table:
    """Rows of an earlier export in today's columns: a column added since is null there."""
    columns = [
        kept.column(f.name).cast(f.type)
        if f.name in kept.column_names
        else pa.nulls(kept.num_rows, f.type)
        for f in schema
    ]
    return pa.table(columns, schema=schema)
