"""The long operations the API runs as background jobs, all in one place.

A job runs after its request has returned, so each action gets its own database session
(from the job runner, ``campaigns.state.jobs.run_job``) and builds its own
:class:`~campaigns.service.CampaignService` from the settings. The API routes and the
Label Studio webhook handler start the same actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.service import CampaignService
from campaigns.state.jobs import Progress
from campaigns.state.models import CampaignPublic

Action = Callable[[Session, Progress], Any]


def push_action(settings: Settings, campaign_id: int) -> Action:
    """Idempotent import of a campaign's missing tasks; progress counts tasks imported."""

    def action(session: Session, progress: Progress) -> Any:
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            progress(done, None)

        return CampaignService(session, settings).push(campaign_id, on_batch=on_batch)

    return action


def export_action(settings: Settings, campaign_id: int, *, full: bool = False) -> Action:
    """Incremental export of a campaign's annotations into a new export version."""

    def action(session: Session, progress: Progress) -> Any:
        return CampaignService(session, settings).export(campaign_id, full=full)

    return action


def metrics_action(settings: Settings, campaign_id: int, *, threshold: float | None) -> Action:
    """Every figure of the latest export, written as the dashboard's Parquet tables."""

    def action(session: Session, progress: Progress) -> Any:
        result = CampaignService(session, settings).metrics(campaign_id, threshold=threshold)
        return result.as_json()

    return action


def transition_action(
    settings: Settings,
    input_ref: str,
    *,
    name: str,
    size: int,
    seed: int = 0,
    text_column: str = "text",
    code_column: str = "code",
    overlap: int = 1,
) -> Action:
    """Recode a Parquet table of the storage root to NAF 2025 and create the experts' campaign.

    The result: the recoding's counts and files, the sample drawn, and the campaign created
    (push it next, as any campaign).
    """

    def action(session: Session, progress: Progress) -> Any:
        service = CampaignService(session, settings)
        plan, campaign = service.create_transition(
            service.read_input(input_ref),
            name=name,
            size=size,
            seed=seed,
            text_column=text_column,
            code_column=code_column,
            overlap=overlap,
        )
        return {
            "rows": plan.rows,
            "univocal": plan.univocal,
            "multivocal": plan.multivocal,
            "quarantined": plan.quarantined,
            "quarantine_reasons": plan.quarantine_reasons,
            "univocal_uri": plan.univocal_uri,
            "queue_uri": plan.queue_uri,
            "sample_id": plan.sample.id,
            "sample_size": plan.sample.sample_size,
            "campaign": CampaignPublic.model_validate(campaign).model_dump(mode="json"),
        }

    return action


def training_set_action(
    settings: Settings, campaign_id: int, *, compare_with: str | None = None
) -> Action:
    """Training rows from the latest export; ``compare_with`` is a key on the storage root."""

    def action(session: Session, progress: Progress) -> Any:
        export, nomenclature = CampaignService(session, settings).training_set(
            campaign_id, compare_with=compare_with, on_storage=True
        )
        return {"nomenclature": nomenclature, "compared_with": compare_with} | asdict(export)

    return action


def run_action(settings: Settings, action: Callable[[CampaignService], Any]) -> Action:
    """Any service call as a job action (for the operations with no progress to report)."""

    def wrapped(session: Session, progress: Progress) -> Any:
        return action(CampaignService(session, settings))

    return wrapped
