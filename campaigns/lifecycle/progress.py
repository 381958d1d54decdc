"""A campaign's progress: Label Studio's live counters, per team and for the whole, the latest
export's agreement and, for a gold campaign, when to stop (:mod:`.stop_rule`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.gold.store import latest_annotations, latest_gold
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.lifecycle.stop_rule import stop_estimate, target_margin
from campaigns.metrics.agreement import agreement_summary, ratings_from_annotations
from campaigns.metrics.headline import metrics_json
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignKind, Sample
from campaigns.storage import Storage, sample_key


def campaign_progress(
    session: Session, gateway: LabelStudioGateway, campaign: Campaign
) -> dict[str, object]:
    """Label Studio's counters for the campaign, summed over its teams (and per team)."""
    zero = {"tasks": 0, "tasks_annotated": 0, "annotations": 0, "skipped": 0}
    teams = crud.team_campaigns(session, campaign)
    per_team = {
        t.team or "": gateway.project_progress(t.ls_project_id) if t.ls_project_id else zero
        for t in teams
    }
    if teams:
        counts = {k: sum(c[k] for c in per_team.values()) for k in zero}
    elif campaign.ls_project_id:
        counts = gateway.project_progress(campaign.ls_project_id)
    else:
        counts = dict(zero)
    done = counts["tasks_annotated"] / counts["tasks"] if counts["tasks"] else 0.0
    return {**counts, "progress": done, "teams": per_team}


def progress_report(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    settings: Settings,
    campaign: Campaign,
    *,
    margin: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Label Studio's live counters (per team too), the latest export's agreement and, for
    a gold campaign, the stop rule: the headline accuracy's half-width against the target
    margin (``margin``, else the one stored at sampling, else the setting) and the
    annotations and days still needed (``campaigns.lifecycle.stop_rule``).

    Reads the latest export only (``campaigns export`` is incremental): no Label Studio
    export here, only its counters.
    """
    counts = campaign_progress(session, gateway, campaign)
    sample = crud.get_sample(session, campaign.sample_id)
    target, source = target_margin(sample.design_params, margin, settings.target_margin)
    agreement = None
    stop: dict[str, Any] | None = None
    order: dict[str, Any] | None = None
    stop_note = "no export yet: run 'campaigns export' to measure the interval"
    if campaign.last_export_version:
        annotations = latest_annotations(storage, campaign, session)
        agreement = agreement_summary(ratings_from_annotations(annotations))
        if campaign.kind != CampaignKind.GOLD:
            stop_note = f"a {campaign.kind} campaign has no headline accuracy"
        else:
            gold = latest_gold(storage, campaign, session)
            order = _annotation_order(storage, sample, gold)
            scored = gold.num_rows and gold.column("predicted_code").null_count < gold.num_rows
            accuracy = (
                metrics_json(gold, threshold=settings.auto_coding_threshold, design=sample.design)[
                    "accuracy"
                ]
                if scored
                else {"n": 0}
            )
            try:
                stop = stop_estimate(
                    accuracy,
                    annotations,
                    target=target,
                    margin_source=source,
                    tasks_annotated=gold.num_rows,
                    sample_size=sample.sample_size,
                    annotations_per_task=campaign.annotations_per_task,
                    now=now or datetime.now(UTC),
                    export_version=campaign.last_export_version,
                ).as_json()
                stop_note = None
            except ValueError:  # no coded unit yet: no interval to scale
                stop_note = (
                    "no coded unit in the latest export yet"
                    if scored
                    else "no model code in the latest export: no accuracy to measure"
                )
    return {
        "campaign_id": campaign.id,
        "status": campaign.status,
        "agreement": agreement,
        **counts,
        "target_margin": target,
        "margin_source": source,
        "stop": stop,
        "stop_note": stop_note,
        "annotation_order": order,
    }


def _annotation_order(storage: Storage, sample: Sample, gold: Any) -> dict[str, Any]:
    """Whether the units annotated so far differ from the rest (campaigns.metrics.nonresponse)."""
    from campaigns.metrics.gold_metrics import annotation_order
    from campaigns.sampling.registry import load_sample_table

    if not storage.exists(sample_key(sample.id)):
        return annotation_order(gold, None)
    return annotation_order(gold, load_sample_table(storage, sample))
