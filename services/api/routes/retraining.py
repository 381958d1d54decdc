"""Retraining: a campaign's coded units as training rows (as a job)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body

from campaigns.job_actions import training_set_action
from services.api.bounds import CampaignId
from services.api.deps import ServiceDep
from services.api.routes.campaigns import start_job
from services.api.schemas import JobPublic, TrainingSetRequest

router = APIRouter(prefix="/campaigns", tags=["retraining"])


@router.post("/{campaign_id}/training-set", response_model=JobPublic, status_code=202)
def export_training_set(
    campaign_id: CampaignId,
    background: BackgroundTasks,
    service: ServiceDep,
    body: Annotated[TrainingSetRequest, Body()] = TrainingSetRequest(),
) -> Any:
    """Turn the coded units of the latest export into training rows, in the background.

    Each row keeps the text, the gold code, the design weight and its provenance. With
    ``compare_with`` (a training set *on the storage root*, as the transition input: the
    server's own disk is no place for a client to point at), the texts whose label there
    differs from the gold code are written beside. The body may be omitted.
    """
    campaign = service.campaign(campaign_id)
    action = training_set_action(service.settings, campaign_id, compare_with=body.compare_with)
    return start_job(
        background, service.session, service.settings, "training-set", campaign.id, action
    )
