"""Transition campaigns (NAF rév.2 -> NAF 2025): create one from a table, read its split."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path

from campaigns.job_actions import transition_action
from campaigns.state.models import MAX_ID
from services.api.deps import ServiceDep
from services.api.routes.campaigns import start_job
from services.api.schemas import JobPublic, TransitionCreate, TransitionSplit

router = APIRouter(prefix="/transition", tags=["transition"])
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID, description="The campaign's id.")]


@router.post("/campaigns", response_model=JobPublic, status_code=202)
def create_transition_campaign(
    body: TransitionCreate, background: BackgroundTasks, service: ServiceDep
) -> Any:
    """Recode a table to NAF 2025 and create the experts' campaign for the multivocal rest.

    ``input`` names a Parquet file (or folder) of (text, old code) rows *on the storage root*,
    by key or full URI: training sets already live there beside the traffic, are often too
    big for a request body, and a path on the API server's own disk is no place for a client
    to point at. Copy the file there first (``aws s3 cp``, or any S3 client).

    Univocal rows are recoded automatically; a random sample of the multivocal ones becomes
    the campaign. In the background: a taken name or a missing file is refused at once (409,
    404), the rest is the job's. Its result holds the counts, the files written and the new
    campaign; push it next (``POST /campaigns/{id}/push``).
    """
    service.check_transition(body.name, body.input)
    action = transition_action(
        service.settings,
        body.input,
        name=body.name,
        size=body.size,
        seed=body.seed,
        text_column=body.text_column,
        code_column=body.code_column,
        overlap=body.overlap,
    )
    return start_job(background, service.session, service.settings, "transition", None, action)


@router.get("/campaigns/{campaign_id}/split", response_model=TransitionSplit)
def transition_split(campaign_id: CampaignId, service: ServiceDep) -> Any:
    """For each old code, the observed share of each new code, with Wilson 95% intervals.

    From the campaign's latest export (``POST /campaigns/{id}/export`` first): what
    back-casting the old training set to NAF 2025 needs.
    """
    campaign = service.campaign(campaign_id)
    shares = service.transition_split(campaign_id)
    return TransitionSplit(
        campaign_id=campaign_id,
        export_version=campaign.last_export_version,
        shares=shares.to_pylist(),
    )
