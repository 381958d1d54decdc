"""The long operations the API runs as background jobs, all in one place.

A job runs after its request has returned, so each action gets its own database session
(from the job runner, ``campaigns.state.jobs.run_job``) and builds its own
:class:`~campaigns.service.CampaignService` from the settings. The API routes and the
Label Studio webhook handler start the same actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.service import CampaignService
from campaigns.state.jobs import Progress

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


def run_action(settings: Settings, action: Callable[[CampaignService], Any]) -> Action:
    """Any service call as a job action (for the operations with no progress to report)."""

    def wrapped(session: Session, progress: Progress) -> Any:
        return action(CampaignService(session, settings))

    return wrapped
