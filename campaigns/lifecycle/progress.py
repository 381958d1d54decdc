"""A campaign's progress: Label Studio's live counters, per team and for the whole."""

from __future__ import annotations

from sqlmodel import Session

from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.state import crud
from campaigns.state.models import Campaign


def campaign_progress(
    session: Session, gateway: LabelStudioGateway, campaign: Campaign
) -> dict[str, object]:
    """Label Studio's counters for the campaign, summed over its teams (and per team)."""
    zero = {"tasks": 0, "tasks_annotated": 0, "annotations": 0, "skipped": 0}
    teams = crud.team_campaigns(session, campaign)
    per_team = {
        t.team or "": gateway.project_progress(t.ls_project_id) if t.ls_project_id else zero
        for t in teams
    }
    if teams:
        counts = {k: sum(c[k] for c in per_team.values()) for k in zero}
    elif campaign.ls_project_id:
        counts = gateway.project_progress(campaign.ls_project_id)
    else:
        counts = dict(zero)
    done = counts["tasks_annotated"] / counts["tasks"] if counts["tasks"] else 0.0
    return {**counts, "progress": done, "teams": per_team}
