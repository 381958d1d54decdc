"""Campaigns: create, list, get, progress, push, export and metrics (as jobs), archive, report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from campaigns.job_actions import export_action, metrics_action, push_action, run_action
from campaigns.lifecycle.push import check_pushable
from campaigns.state import crud, jobs
from campaigns.state.db import get_engine
from campaigns.state.jobs import Progress
from campaigns.state.models import (
    CampaignCreate,
    CampaignKind,
    CampaignPublic,
    CampaignStatus,
)
from services.api.bounds import CampaignId, Limit, Offset
from services.api.deps import ServiceDep, SessionDep, SettingsDep
from services.api.schemas import (
    AdoptRequest,
    CampaignMetricsPublic,
    CampaignProgressWithStop,
    JobPublic,
)

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
Threshold = Annotated[
    float | None, Query(ge=0, le=1, description="Automatic-coding threshold (default: setting).")
]


@router.post("", response_model=CampaignPublic, status_code=201)
def create_campaign(body: CampaignCreate, service: ServiceDep) -> Any:
    """Create a campaign and its Label Studio project(s) (one per team with a routing rule).

    With CAMPAIGNS_LABEL_STUDIO_WEBHOOK_URL set, each project notifies this API of new
    annotations, which starts an incremental export (polling remains the fallback).
    """
    return service.create(body)


@router.get("", response_model=list[CampaignPublic])
def list_campaigns(
    session: SessionDep,
    kind: CampaignKind | None = None,
    status: CampaignStatus | None = None,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[Limit, Query()] = 50,
) -> Any:
    return crud.list_campaigns(session, kind=kind, status=status, offset=offset, limit=limit)


@router.get("/{campaign_id}", response_model=CampaignPublic)
def get_campaign(campaign_id: CampaignId, service: ServiceDep) -> Any:
    return service.campaign(campaign_id)


def start_job(
    background: BackgroundTasks,
    session: Session,
    settings: SettingsDep,
    kind: str,
    campaign_id: int | None,
    action: Callable[[Session, Progress], Any],
) -> JobPublic:
    """Record a queued job and run ``action`` after the response is sent."""
    job = jobs.create_job(session, kind, campaign_id)
    background.add_task(jobs.run_job, get_engine(settings), job.id, action)
    return JobPublic.of(job)


@router.post("/{campaign_id}/push", response_model=JobPublic, status_code=202)
def push_campaign(campaign_id: CampaignId, background: BackgroundTasks, service: ServiceDep) -> Any:
    """Import the tasks not yet in Label Studio, in the background (idempotent: safe to retry).

    Poll ``GET /jobs/{id}``: ``done`` counts the tasks imported so far; the result is the
    push summary. An archived campaign makes the job fail with a ConflictError.
    """
    campaign = service.campaign(campaign_id)
    check_pushable(campaign)  # refused now (409), not in the job
    action = push_action(service.settings, campaign_id)
    return start_job(background, service.session, service.settings, "push", campaign.id, action)


@router.post("/{campaign_id}/export", response_model=JobPublic, status_code=202)
def export_campaign(
    campaign_id: CampaignId,
    background: BackgroundTasks,
    service: ServiceDep,
    full: bool = Query(default=False, description="Reread every task, not only the changed."),
    from_storage: str | None = Query(
        default=None,
        max_length=1000,
        pattern=r"^s3://[^/\s]+(/\S*)?$",
        description="Read Label Studio's S3 export storage (s3://bucket/prefix) instead of "
        "its API: one JSON object per annotation, only objects new or changed since the last "
        "export are read.",
    ),
) -> Any:
    """Export the annotations into a new versioned snapshot, in the background.

    Incremental: only tasks changed since the last export are read. The result is the export
    summary; an export already running for the campaign makes the job fail with a
    ConflictError.
    """
    campaign = service.campaign(campaign_id)
    action = (
        export_action(service.settings, campaign_id, full=full)
        if from_storage is None
        else run_action(
            service.settings, lambda s: s.export_from_storage(campaign_id, from_storage, full=full)
        )
    )
    return start_job(background, service.session, service.settings, "export", campaign.id, action)


@router.post("/{campaign_id}/archive", response_model=CampaignPublic)
def archive_campaign(campaign_id: CampaignId, service: ServiceDep) -> Any:
    """Close the campaign: no more pushes; its exports and metrics stay readable."""
    return service.archive(campaign_id)


@router.get("/{campaign_id}/progress", response_model=CampaignProgressWithStop)
def campaign_progress(
    campaign_id: CampaignId,
    service: ServiceDep,
    margin: Annotated[
        float | None,
        Query(
            gt=0,
            lt=1,
            description="Target half-width (default: the sample's planned margin, else the "
            "target_margin setting).",
        ),
    ] = None,
) -> Any:
    """Live counters from Label Studio (per team too), the latest export's agreement, and the
    stop rule: the headline accuracy's half-width against the target margin, the annotations
    still needed and the days they take at the last 7 days' pace. Reads the latest export
    (no Label Studio export: ``POST /campaigns/{id}/export`` is incremental)."""
    return service.progress(campaign_id, margin=margin)


@router.get("/{campaign_id}/metrics", response_model=CampaignMetricsPublic)
def campaign_metrics(
    campaign_id: CampaignId, service: ServiceDep, threshold: Threshold = None
) -> Any:
    """Every figure of the latest export, with 95% intervals (the keys of the metrics job).

    Computed on the fly, nothing written; ``POST`` writes the dashboard's tables.
    """
    return service.metrics(campaign_id, threshold=threshold, write=False).as_json()


@router.post("/{campaign_id}/metrics", response_model=JobPublic, status_code=202)
def compute_metrics(
    campaign_id: CampaignId,
    background: BackgroundTasks,
    service: ServiceDep,
    threshold: Threshold = None,
) -> Any:
    """Compute every figure of the latest export and write the dashboard's Parquet tables.

    In the background; the job's result is the figures and the tables written.
    """
    campaign = service.campaign(campaign_id)
    action = metrics_action(service.settings, campaign_id, threshold=threshold)
    return start_job(background, service.session, service.settings, "metrics", campaign.id, action)


@router.get("/{campaign_id}/validation-metrics", response_model=dict[str, Any])
def validation_metrics(
    campaign_id: CampaignId, service: ServiceDep, threshold: Threshold = None
) -> Any:
    """A validation campaign's share of given codes confirmed (by level, by coding mode, with
    95% intervals) and its corrections, from the latest export; nothing written."""
    return service.validation_metrics(campaign_id, threshold=threshold, write=False).as_json()


adoptions = APIRouter(prefix="/adoptions", tags=["campaigns"])


@adoptions.post("", response_model=JobPublic, status_code=202)
def adopt_project(body: AdoptRequest, background: BackgroundTasks, service: ServiceDep) -> Any:
    """Adopt an existing Label Studio project as a campaign (or refresh it), in the background.

    Reads the project's labeling config and maps its controls to ours; the project itself is
    never changed. The job's result is the adoption summary (mapping, tasks taken in).
    """
    fields = body.model_dump(exclude={"project_id", "kind", "name"})
    action = run_action(
        service.settings,
        lambda s: s.adopt(body.project_id, kind=body.kind, name=body.name, **fields),
    )
    return start_job(background, service.session, service.settings, "adopt", None, action)


@router.get(
    "/{campaign_id}/report",
    response_model=None,
    responses={200: {"content": {"text/html": {}}, "description": "The HTML report."}},
)
def campaign_report(
    campaign_id: CampaignId, service: ServiceDep, threshold: Threshold = None
) -> HTMLResponse:
    """The campaign's self-contained HTML report (threshold curve, levels, calibration...)."""
    page, _ = service.report(campaign_id, threshold=threshold, store=False)
    return HTMLResponse(page)
