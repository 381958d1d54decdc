"""Exporting a campaign: its annotations read back from Label Studio into a versioned snapshot.

``exports/campaign=ID/version=V/{annotations,gold}.parquet``, joined with the sample's design
columns; ``LATEST`` moves last, so readers never see half an export. Also the readers of the
latest snapshot that metrics, progress and the training set use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from campaigns.errors import EmptySelectionError, NotFoundError
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.kinds import CampaignKit
from campaigns.metrics.gold_labels import GOLD_RULE, resolve_gold
from campaigns.sampling.registry import load_sample_table
from campaigns.sampling.reuse import PROVENANCE, with_reused_gold
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignStatus
from campaigns.storage import Storage

EXPORTS_DIR = "exports"


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
        previous = None if full else _previous_annotations(storage, campaign)
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
            annotations = pa.concat_tables([kept.select(fresh.column_names), fresh])
        cursor = max([t.get("updated_at") or "" for t in tasks] + [campaign.export_cursor or ""])
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
    )


def _latest_version(storage: Storage, campaign: Campaign) -> str | None:
    pointer = f"{EXPORTS_DIR}/campaign={campaign.id}/LATEST"
    if not storage.exists(pointer):
        return None
    return storage.read_bytes(pointer).decode().strip()


def _previous_annotations(storage: Storage, campaign: Campaign) -> pa.Table | None:
    version = _latest_version(storage, campaign)
    if version is None or not campaign.export_cursor:
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


def _team_tables(
    session: Session | None, storage: Storage, campaign: Campaign, name: str
) -> pa.Table | None:
    if session is None:
        return None
    teams = crud.team_campaigns(session, campaign)
    if not teams:
        return None
    tables = []
    for team in teams:
        if _latest_version(storage, team) is None:
            continue
        table = _latest_file(storage, team, name)
        tables.append(table.append_column("team", pa.array([team.team] * table.num_rows)))
    if not tables:
        raise EmptySelectionError(
            f"No team of campaign {campaign.id} has an export yet.",
            f"Run 'campaigns export {campaign.id}' first.",
        )
    return pa.concat_tables(tables, promote_options="default")


def latest_gold(storage: Storage, campaign: Campaign, session: Session | None = None) -> pa.Table:
    """The gold table (one row per annotated unit) of the campaign's latest export.

    For a routed campaign (given the session), the union of its teams', with a ``team`` column.
    Units of the sample that reuse an earlier gold label (``gold_provenance`` ``reused``, see
    :mod:`campaigns.sampling.reuse`) come with it, so every reader sees the same gold.
    """
    teams = _team_tables(session, storage, campaign, "gold.parquet")
    gold = teams if teams is not None else _latest_file(storage, campaign, "gold.parquet")
    return _with_reused_units(storage, campaign, gold)


def _with_reused_units(storage: Storage, campaign: Campaign, gold: pa.Table) -> pa.Table:
    """The gold rows plus the sample's reused units (a campaign's, never a team's alone)."""
    path = f"samples/{campaign.sample_id}.parquet"
    if campaign.parent_id is not None or not storage.exists(path):
        return gold
    if PROVENANCE not in storage.read_schema(path).names:
        return gold
    return with_reused_gold(gold, storage.read_table(path), campaign.id or 0)


def latest_annotations(
    storage: Storage, campaign: Campaign, session: Session | None = None
) -> pa.Table:
    """Every annotation (one row per expert and task) of the campaign's latest export."""
    teams = _team_tables(session, storage, campaign, "annotations.parquet")
    return teams if teams is not None else _latest_file(storage, campaign, "annotations.parquet")
