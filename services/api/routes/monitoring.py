"""Monitoring the model between campaigns: traffic drift, label-free accuracy (as jobs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks

from campaigns.job_actions import run_action
from campaigns.traffic.window import Window
from services.api.bounds import CampaignId
from services.api.deps import ServiceDep
from services.api.routes.campaigns import start_job
from services.api.schemas import DriftRequest, EstimateRequest, JobPublic

router = APIRouter(tags=["monitoring"])


@router.post("/drift", response_model=JobPublic, status_code=202)
def check_drift(body: DriftRequest, background: BackgroundTasks, service: ServiceDep) -> Any:
    """Compare recent traffic with a baseline window: confidence and predicted-code drift.

    In the background (it reads two windows of traffic). The result holds every report
    (overall confidence, predicted codes, each large enough NACE section: KS, chi-square,
    Hellinger, PSI), the ``alerts`` (any PSI above ``psi_max``, accuracy below
    ``accuracy_min``) and where the reports were stored. An alert is a result, not a failure:
    the job succeeds; a scheduler reads ``result.alerts``.
    """
    window = Window.last_days(body.days, body.end)
    action = run_action(
        service.settings,
        lambda svc: svc.drift(
            window,
            baseline_days=body.baseline_days,
            psi_max=body.psi_max,
            accuracy_min=body.accuracy_min,
            accuracy=body.accuracy,
            min_count=body.min_count,
            write=body.write,
        ).as_json(),
    )
    return start_job(background, service.session, service.settings, "drift", None, action)


@router.post("/campaigns/{campaign_id}/estimate", response_model=JobPublic, status_code=202)
def estimate_accuracy(
    campaign_id: CampaignId,
    body: EstimateRequest,
    background: BackgroundTasks,
    service: ServiceDep,
) -> Any:
    """Label-free accuracy of recent traffic from the model's own scores, beside a gold one.

    The top-1 score is calibrated on this campaign's latest gold export; the window's
    calibrated scores are averaged, with a bootstrap 95% interval, and shown beside the gold
    accuracy of ``gold_campaign_id`` (default: this campaign). ``diverged`` in the job's
    result says the two intervals do not overlap: concept drift or a nomenclature change.
    Unknown campaigns are refused at once (404); the computation runs in the background.
    """
    campaign = service.campaign(campaign_id)
    if body.gold_campaign_id is not None:
        service.campaign(body.gold_campaign_id)
    window = Window.last_days(body.days, body.end)
    action = run_action(
        service.settings,
        lambda svc: svc.estimate(
            campaign_id,
            window,
            replicates=body.replicates,
            gold=body.gold_campaign_id,
            max_rows=body.max_rows,
        ).as_json(),
    )
    return start_job(background, service.session, service.settings, "estimate", campaign.id, action)
