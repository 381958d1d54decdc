"""Campaigns: create, list, get, push, export, metrics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query

from campaigns import crud, lifecycle
from campaigns.kinds import kit_for
from campaigns.models import CampaignCreate, CampaignKind, CampaignPublic, CampaignStatus
from campaigns.nomenclatures import old_nomenclature
from services.api.deps import GatewayDep, SessionDep, SettingsDep, StorageDep
from services.api.schemas import ExportResult, PushResult

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("", response_model=CampaignPublic, status_code=201)
def create_campaign(
    body: CampaignCreate, session: SessionDep, gateway: GatewayDep, settings: SettingsDep
) -> Any:
    """Create a gold-standard campaign and its Label Studio project."""
    return lifecycle.create_campaign(session, gateway, kit_for(body.kind, settings), body)


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
def get_campaign(campaign_id: int, session: SessionDep) -> Any:
    return crud.get_campaign(session, campaign_id)


@router.post("/{campaign_id}/push", response_model=PushResult)
def push_campaign(
    campaign_id: int,
    session: SessionDep,
    storage: StorageDep,
    gateway: GatewayDep,
    settings: SettingsDep,
) -> Any:
    """Import the tasks not yet in Label Studio (idempotent: safe to retry)."""
    campaign = crud.get_campaign(session, campaign_id)
    summary = lifecycle.push_campaign(
        session, storage, gateway, kit_for(campaign.kind, settings), campaign
    )
    return asdict(summary)


@router.post("/{campaign_id}/export", response_model=ExportResult)
def export_campaign(
    campaign_id: int,
    session: SessionDep,
    storage: StorageDep,
    gateway: GatewayDep,
    settings: SettingsDep,
) -> Any:
    """Snapshot the annotations to Parquet (a new version; LATEST moves last)."""
    campaign = crud.get_campaign(session, campaign_id)
    summary = lifecycle.export_campaign(
        session, storage, gateway, kit_for(campaign.kind, settings), campaign
    )
    return asdict(summary)


@router.get("/{campaign_id}/metrics")
def campaign_metrics(
    campaign_id: int,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    threshold: float | None = Query(default=None, ge=0, le=1),
) -> dict[str, Any]:
    """Design-weighted accuracy and automatic-coding figures of the latest export."""
    from campaigns.metrics_view import metrics_json

    campaign = crud.get_campaign(session, campaign_id)
    gold = lifecycle.latest_gold(storage, campaign)
    design = crud.get_sample(session, campaign.sample_id).design
    t = settings.auto_coding_threshold if threshold is None else threshold
    return metrics_json(
        gold, threshold=t, design=design, levels=old_nomenclature(settings).levels_table()
    )
