"""A validation campaign's figures from its latest export (compute, then write).

The validation twin of ``campaigns.lifecycle.metrics``: the share of given codes experts
confirmed, by level and by coding mode, and their corrections; Parquet for the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import InvalidArgumentError
from campaigns.gold.store import latest_annotations, latest_gold
from campaigns.metrics.dashboard import json_safe
from campaigns.metrics.validation_metrics import (
    NotAValidationExport,
    ValidationMetrics,
    validation_metrics,
    write_validation_metrics,
)
from campaigns.nomenclatures import old_nomenclature
from campaigns.state.models import Campaign, CampaignKind
from campaigns.storage import Storage


@dataclass
class ValidationCampaignMetrics:
    campaign_id: int
    export_version: str
    metrics: ValidationMetrics
    written: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        """What the CLI (``--json``) and the API give, under one set of keys."""
        return json_safe(self.metrics.summary) | {
            "campaign_id": self.campaign_id,
            "export_version": self.export_version,
            "tables": self.written,
        }


def validation_campaign_metrics(
    session: Session,
    storage: Storage,
    settings: Settings,
    campaign: Campaign,
    *,
    threshold: float | None = None,
    write: bool = True,
) -> ValidationCampaignMetrics:
    """Figures of the latest export; written as Parquet unless ``write=False``."""
    if campaign.kind != CampaignKind.VALIDATION:
        raise InvalidArgumentError(
            f"Campaign {campaign.name!r} is a {campaign.kind} campaign, not a validation one.",
            "Use 'campaigns metrics' for gold campaigns.",
        )
    gold = latest_gold(storage, campaign, session)
    annotations = latest_annotations(storage, campaign, session)
    try:
        result = validation_metrics(
            gold,
            annotations,
            threshold=settings.auto_coding_threshold if threshold is None else threshold,
            levels=old_nomenclature(settings).levels_table(),
        )
    except NotAValidationExport as err:
        raise InvalidArgumentError(
            f"The latest export of {campaign.name!r} is not a validation export ({err}).",
            f"Export it again: campaigns export {campaign.name} --full",
        ) from err
    version = campaign.last_export_version or "unknown"
    written = (
        write_validation_metrics(
            storage,
            campaign.id or 0,
            result,
            export_version=version,
            computed_on=datetime.now(UTC).date(),
        )
        if write
        else {}
    )
    return ValidationCampaignMetrics(campaign.id or 0, version, result, written)
