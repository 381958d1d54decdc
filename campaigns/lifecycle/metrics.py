"""From a campaign's latest export to the figures the dashboard reads (compute, then write)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import EmptySelectionError, InvalidArgumentError
from campaigns.gold.store import latest_annotations, latest_gold
from campaigns.metrics.dashboard import json_safe, write_metrics
from campaigns.metrics.gold_metrics import GoldMetrics, compute_gold_metrics
from campaigns.metrics.traffic_totals import TrafficTotals, window_traffic_totals
from campaigns.nomenclatures import old_nomenclature
from campaigns.sampling.designs import Design
from campaigns.sampling.options import Duplicates
from campaigns.sampling.registry import load_frame, load_sample_table, load_strata
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignKind, Sample
from campaigns.storage import Storage, sample_key
from campaigns.traffic.window import Window


@dataclass
class CampaignMetrics:
    campaign_id: int
    export_version: str
    metrics: GoldMetrics
    written: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        """What the CLI (``--json``), ``GET /campaigns/{id}/metrics`` and the metrics job give."""
        return {
            "campaign_id": self.campaign_id,
            "export_version": self.export_version,
            "summary": json_safe(self.metrics.summary),
            "tables": self.written,
        }


def sample_traffic_totals(
    storage: Storage, settings: Settings, sample: Sample, threshold: float
) -> TrafficTotals | None:
    """The totals of the sample's window, when its frame is that window's requests.

    None for a sample that left earlier units out (its frame is not the window), counted
    distinct texts, or whose window's traffic is gone (retention): figures are then the plain
    stratified ones, and the summary says why.
    """
    design = Design.from_params(json.loads(sample.design_params or "{}"))
    if design.exclude_previous or design.duplicates != Duplicates.REQUESTS:
        return None
    try:
        return window_traffic_totals(
            storage,
            Window(sample.window_start, sample.window_end),
            threshold,
            old_nomenclature(settings).division_sections(),
            design.confidence_edges,
        )
    except EmptySelectionError:  # the window's traffic is no longer stored
        return None


def campaign_metrics(
    session: Session,
    storage: Storage,
    settings: Settings,
    campaign: Campaign,
    *,
    threshold: float | None = None,
    replicates: int = 1000,
    write: bool = True,
) -> CampaignMetrics:
    """Compute every figure of the latest export; write them as Parquet unless ``write=False``."""
    if campaign.kind != CampaignKind.GOLD:
        command = (
            "validation metrics" if campaign.kind == CampaignKind.VALIDATION else "transition split"
        )
        raise InvalidArgumentError(
            f"Campaign {campaign.id} is a {campaign.kind} campaign: it has no gold metrics.",
            f"Use 'campaigns {command} {campaign.name}' for a {campaign.kind} campaign.",
        )
    gold = latest_gold(storage, campaign, session)
    if gold.num_rows and gold.column("predicted_code").null_count == gold.num_rows:
        raise InvalidArgumentError(
            f"Campaign {campaign.name!r} has no model code for any unit: there is no model "
            "accuracy to measure.",
            "For an adopted project, adopt it again with --code-field naming the task field "
            "of the model's code.",
        )
    annotations = latest_annotations(storage, campaign, session)
    sample = crud.get_sample(session, campaign.sample_id)
    design = sample.design
    strata = (
        load_strata(storage, sample) if storage.exists(sample_key(sample.id, ".strata")) else None
    )
    threshold = settings.auto_coding_threshold if threshold is None else threshold
    metrics = compute_gold_metrics(
        gold,
        annotations,
        threshold=threshold,
        design=design,
        levels=old_nomenclature(settings).levels_table(),
        replicates=replicates,
        strata=strata,
        totals=sample_traffic_totals(storage, settings, sample, threshold),
        frame=load_frame(storage, sample),
        sample=load_sample_table(storage, sample),
    )
    version = campaign.last_export_version or "unknown"
    written: dict[str, str] = {}
    if write:
        written = write_metrics(
            storage,
            campaign.id or 0,
            metrics,
            export_version=version,
            computed_on=datetime.now(UTC).date(),
        )
    return CampaignMetrics(campaign.id or 0, version, metrics, written)
