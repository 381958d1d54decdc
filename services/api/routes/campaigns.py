"""Campaigns: create, list, get, progress, push, export (as jobs), archive, metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from campaigns.errors import ConflictError
from campaigns.labelstudio.kinds import kit_for
from campaigns.lifecycle import core as lifecycle
from campaigns.lifecycle import webhook_export as webhooks
from campaigns.lifecycle.metrics import campaign_metrics as campaign_metrics_of
from campaigns.metrics.agreement import agreement_summary, ratings_from_annotations
from campaigns.metrics.headline import metrics_json
from campaigns.metrics.report import render_report
from campaigns.nomenclatures import old_nomenclature
from campaigns.state import crud, jobs
from campaigns.state.db import get_engine
from campaigns.state.jobs import Progress
from campaigns.state.models import (
    MAX_ID,
    Campaign,
    CampaignCreate,
    CampaignKind,
    CampaignPublic,
    CampaignStatus,
)
from campaigns.storage import Storage
from services.api.actions import export_action, push_action
from services.api.deps import GatewayDep, SessionDep, SettingsDep, StorageDep
from services.api.schemas import CampaignProgress, JobPublic

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID, description="The campaign's id.")]


@router.post("", response_model=CampaignPublic, status_code=201)
def create_campaign(
    body: CampaignCreate, session: SessionDep, gateway: GatewayDep, settings: SettingsDep
) -> Any:
    """Create a campaign and its Label Studio project(s) (one per team with a routing rule).

    With CAMPAIGNS_LABEL_STUDIO_WEBHOOK_URL set, each project notifies this API of new
    annotations, which starts an incremental export (polling remains the fallback).
    """
    campaign = lifecycle.create_campaign(session, gateway, kit_for(body.kind, settings), body)
    webhooks.register_campaign_webhooks(session, gateway, campaign, settings)
    return campaign


@router.get("", response_model=list[CampaignPublic])
def list_campaigns(
    session: SessionDep,
    kind: CampaignKind | None = None,
    status: CampaignStatus | None = None,
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=50, ge=1, le=500),
) -> Any:
    return crud.list_campaigns(session, kind=kind, status=status, offset=offset, limit=limit)


@router.get("/{campaign_id}", response_model=CampaignPublic)
def get_campaign(campaign_id: CampaignId, session: SessionDep) -> Any:
    return crud.get_campaign(session, campaign_id)


def _start(
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    kind: str,
    campaign: Campaign,
    action: Callable[[Session, Progress], Any],
) -> JobPublic:
    job = jobs.create_job(session, kind, campaign.id)
    background.add_task(jobs.run_job, get_engine(settings), job.id, action)
    return JobPublic.of(job)


@router.post("/{campaign_id}/push", response_model=JobPublic, status_code=202)
def push_campaign(
    campaign_id: CampaignId, background: BackgroundTasks, session: SessionDep, settings: SettingsDep
) -> Any:
    """Import the tasks not yet in Label Studio, in the background (idempotent: safe to retry).

    Poll ``GET /jobs/{id}``: ``done`` counts the tasks imported so far; the result is a
    PushResult.
    """
    campaign = crud.get_campaign(session, campaign_id)
    if campaign.status == CampaignStatus.ARCHIVED:
        raise ConflictError(f"Campaign {campaign_id} is archived.", "Create a new campaign.")

    action = push_action(settings, campaign_id)
    return _start(background, session, settings, "push", campaign, action)


@router.post("/{campaign_id}/export", response_model=JobPublic, status_code=202)
def export_campaign(
    campaign_id: CampaignId,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    full: bool = Query(default=False, description="Reread every task, not only the changed."),
) -> Any:
    """Export the annotations into a new versioned export, in the background.

    Incremental: only tasks changed since the last export are read. The result is an
    ExportResult; an export already running for the campaign makes the job fail with a
    ConflictError.
    """
    campaign = crud.get_campaign(session, campaign_id)
    action = export_action(settings, campaign_id, full=full)
    return _start(background, session, settings, "export", campaign, action)


@router.post("/{campaign_id}/archive", response_model=CampaignPublic)
def archive_campaign(campaign_id: CampaignId, session: SessionDep) -> Any:
    """Close the campaign: no more pushes; its exports and metrics stay readable."""
    campaign = crud.get_campaign(session, campaign_id)
    campaign.status = CampaignStatus.ARCHIVED
    return crud.save(session, campaign)


@router.get("/{campaign_id}/progress", response_model=CampaignProgress)
def campaign_progress(
    campaign_id: CampaignId, session: SessionDep, storage: StorageDep, gateway: GatewayDep
) -> Any:
    """Live counters from Label Studio (per team too), and the latest export's agreement."""
    campaign = crud.get_campaign(session, campaign_id)
    counts = lifecycle.campaign_progress(session, gateway, campaign)
    agreement = None
    if campaign.last_export_version:
        annotations = lifecycle.latest_annotations(storage, campaign, session)
        agreement = agreement_summary(ratings_from_annotations(annotations))
    return CampaignProgress(
        campaign_id=campaign_id,
        status=campaign.status,
        agreement=agreement,
        **counts,
    )


@router.get("/{campaign_id}/metrics")
def campaign_metrics(
    campaign_id: CampaignId,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    threshold: float | None = Query(default=None, ge=0, le=1),
) -> dict[str, Any]:
    """Headline design-weighted figures of the latest export, with 95% intervals."""
    campaign = crud.get_campaign(session, campaign_id)
    gold = lifecycle.latest_gold(storage, campaign, session)
    design = crud.get_sample(session, campaign.sample_id).design
    t = settings.auto_coding_threshold if threshold is None else threshold
    return metrics_json(
        gold, threshold=t, design=design, levels=old_nomenclature(settings).levels_table()
    )


@router.post("/{campaign_id}/metrics", response_model=JobPublic, status_code=202)
def compute_metrics(
    campaign_id: CampaignId,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    threshold: float | None = Query(default=None, ge=0, le=1),
) -> Any:
    """Compute every figure of the latest export and write the dashboard's Parquet tables.

    In the background; the job's result lists the tables written.
    """
    campaign = crud.get_campaign(session, campaign_id)

    def action(job_session: Session, progress: Progress) -> Any:
        target = crud.get_campaign(job_session, campaign_id)
        result = campaign_metrics_of(
            job_session, Storage.from_settings(settings), settings, target, threshold=threshold
        )
        return {
            "export_version": result.export_version,
            "summary": result.metrics.summary,
            "tables": result.written,
        }

    return _start(background, session, settings, "metrics", campaign, action)


@router.get(
    "/{campaign_id}/report",
    response_model=None,
    responses={200: {"content": {"text/html": {}}, "description": "The HTML report."}},
)
def campaign_report(
    campaign_id: CampaignId,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    threshold: float | None = Query(default=None, ge=0, le=1),
) -> HTMLResponse:
    """The campaign's self-contained HTML report (threshold curve, levels, calibration...)."""
    campaign = crud.get_campaign(session, campaign_id)
    result = campaign_metrics_of(
        session, storage, settings, campaign, threshold=threshold, write=False
    )
    return HTMLResponse(render_report(result.metrics, title=f"Campaign {campaign.name}"))
