"""Transition campaigns (NAF rév.2 -> NAF 2025): create one from a table, read its split,
build its dataset, draw its next batches and create their campaigns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks

from campaigns.job_actions import run_action, transition_action
from campaigns.service import CampaignService
from campaigns.state.models import CampaignPublic
from services.api.bounds import CampaignId
from services.api.deps import ServiceDep
from services.api.routes.campaigns import start_job
from services.api.schemas import (
    JobPublic,
    TransitionBatchCampaign,
    TransitionBatchRequest,
    TransitionCreate,
    TransitionDatasetRequest,
    TransitionSplit,
)

router = APIRouter(prefix="/transition", tags=["transition"])


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


@router.post("/campaigns/{campaign_id}/dataset", response_model=JobPublic, status_code=202)
def transition_dataset(
    campaign_id: CampaignId,
    body: TransitionDatasetRequest,
    background: BackgroundTasks,
    service: ServiceDep,
) -> Any:
    """Every input row with its NAF 2025 code and provenance, written beside the recoding.

    Provenances: univocal, expert, predicted (a classifier restricted to each row's
    candidates), to_expert (under ``min_confidence``), unknown, quarantined. Reads every
    batch's latest export. A job: its result holds the counts, the files written, the
    model's cross-validated accuracy beside its baselines (95% intervals) and the notes.
    """
    from campaigns.recoding.workflow import dataset_summary, transition_campaign

    transition_campaign(service, campaign_id)  # refused at once: unknown, or another kind

    def action(svc: CampaignService) -> dict[str, object]:
        return dataset_summary(
            *svc.transition_dataset(
                campaign_id, min_confidence=body.min_confidence, folds=body.folds, seed=body.seed
            )
        )

    return start_job(
        background,
        service.session,
        service.settings,
        "transition-dataset",
        campaign_id,
        run_action(service.settings, action),
    )


@router.post("/campaigns/{campaign_id}/batches", response_model=JobPublic, status_code=202)
def next_transition_batch(
    campaign_id: CampaignId,
    body: TransitionBatchRequest,
    background: BackgroundTasks,
    service: ServiceDep,
) -> Any:
    """Draw the next batch of unannotated multivocal rows, more likely where the model doubts.

    Inclusion probabilities (1 - confidence, mixed with a uniform ``floor``) are recorded
    with the sample(s). A job: its result names the batch and its samples; create each one's
    campaign next (``POST /transition/campaigns/{id}/batches/campaigns``). Refused while an
    earlier batch has no exported answer (its rows would be left out of every estimate).
    """
    from campaigns.recoding.workflow import batch_summary, transition_campaign

    transition_campaign(service, campaign_id)  # refused at once: unknown, or another kind

    def action(svc: CampaignService) -> dict[str, object]:
        return batch_summary(
            svc.next_transition_batch(
                campaign_id,
                size=body.size,
                floor=body.floor,
                seed=body.seed,
                validate_above=body.validate_above,
                folds=body.folds,
            )
        )

    return start_job(
        background,
        service.session,
        service.settings,
        "transition-batch",
        campaign_id,
        run_action(service.settings, action),
    )


@router.post(
    "/campaigns/{campaign_id}/batches/campaigns", response_model=CampaignPublic, status_code=201
)
def create_transition_batch(
    campaign_id: CampaignId, body: TransitionBatchCampaign, service: ServiceDep
) -> Any:
    """The campaign (and Label Studio project) of a drawn batch sample; push it next.

    On a batch's own sample experts choose among candidates; on its ``-validate`` sample
    they confirm or reject the proposed code.
    """
    return service.create_transition_batch(
        campaign_id, body.sample_id, name=body.name, overlap=body.overlap
    )
