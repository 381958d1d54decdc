"""Pushing a campaign's tasks into Label Studio, in bulk and idempotently.

Each task carries a stable key, so a push retried after a crash imports exactly what is
missing (see the gateway). An archived campaign refuses pushes: it is closed for good.

Tasks go in a seeded random order (the sample's seed and the campaign's id): with Label Studio
serving tasks in import order, or experts reading the list top down, the units annotated
first are then still a random subsample of each stratum, never the sample table's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
from sqlmodel import Session

from campaigns.errors import ConflictError, NotFoundError
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.kinds import CampaignKit
from campaigns.labelstudio.routing import parse_routes, units_of_team
from campaigns.sampling.registry import load_sample_table
from campaigns.sampling.reuse import units_to_annotate
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignStatus
from campaigns.storage import Storage


def _team_units(
    session: Session, campaign: Campaign, table: pa.Table, sections: pa.Table | None
) -> pa.Table:
    """The units of the sample that the routing rule sends to this team campaign."""
    if campaign.team is None or campaign.parent_id is None:
        return table
    parent = crud.get_campaign(session, campaign.parent_id)
    if sections is None:
        raise NotFoundError("Routing needs the nomenclature's sections (division -> section).")
    return units_of_team(table, campaign.team, parse_routes(parent.routing.split(";")), sections)


@dataclass
class PushSummary:
    campaign_id: int
    project_id: int
    sample_size: int
    imported: int
    already_present: int
    project_url: str
    teams: dict[str, int] = field(default_factory=dict)


def in_push_order(table: pa.Table, seed: int, campaign_id: int) -> pa.Table:
    """The units in a random order fixed by the sample's seed and the campaign: a rerun
    imports what is missing in the same order."""
    import numpy as np

    rng = np.random.default_rng([abs(int(seed)), int(campaign_id), 25])
    return table.take(pa.array(rng.permutation(table.num_rows)))


def check_pushable(campaign: Campaign) -> None:
    """An archived campaign is closed for good: it takes no more tasks."""
    if campaign.status == CampaignStatus.ARCHIVED:
        raise ConflictError(
            f"Campaign {campaign.id} is archived: it takes no more tasks.",
            "Create a new campaign on a new sample.",
        )


def push_campaign(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    kit: CampaignKit,
    campaign: Campaign,
    *,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
    sections: pa.Table | None = None,
) -> PushSummary:
    """Import the sample's tasks that are not yet in the project (safe to rerun).

    A routed campaign pushes each team's units into its team's project.
    """
    check_pushable(campaign)
    teams = crud.team_campaigns(session, campaign)
    if teams:
        parts = [
            push_campaign(
                session, storage, gateway, kit, team,
                batch_size=batch_size, on_batch=on_batch, sections=sections,
            )
            for team in teams
        ]  # fmt: skip
        campaign.tasks_pushed = sum(team.tasks_pushed for team in teams)
        if campaign.status == CampaignStatus.CREATED:
            campaign.status = CampaignStatus.PUSHED
        crud.save(session, campaign)
        return PushSummary(
            campaign_id=campaign.id or 0,
            project_id=0,
            sample_size=sum(p.sample_size for p in parts),
            imported=sum(p.imported for p in parts),
            already_present=sum(p.already_present for p in parts),
            project_url=", ".join(p.project_url for p in parts),
            teams={t.team or "": p.sample_size for t, p in zip(teams, parts, strict=True)},
        )
    if campaign.ls_project_id is None:
        raise NotFoundError(f"Campaign {campaign.id} has no Label Studio project.")
    sample = crud.get_sample(session, campaign.sample_id)
    table = _team_units(session, campaign, load_sample_table(storage, sample), sections)
    table = units_to_annotate(table)  # units reusing an earlier gold label need no expert
    assert campaign.id is not None
    table = in_push_order(table, sample.seed, campaign.id)
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
