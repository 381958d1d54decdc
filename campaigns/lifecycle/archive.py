"""Archiving a campaign: closed for pushes and webhooks; its exports and metrics stay readable."""

from __future__ import annotations

from sqlmodel import Session

from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignStatus


def archive_campaign(session: Session, campaign: Campaign) -> Campaign:
    """Close the campaign and its teams' campaigns (idempotent)."""
    for target in [campaign, *crud.team_campaigns(session, campaign)]:
        target.status = CampaignStatus.ARCHIVED
        crud.save(session, target)
    return campaign
