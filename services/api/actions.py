"""The background actions behind the API's jobs: each opens what it needs from the settings.

A job runs after its request has returned, so it gets its own session (from the job runner)
and its own storage and Label Studio clients, built here from the settings.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.kinds import kit_for
from campaigns.lifecycle import core as lifecycle
from campaigns.nomenclatures import old_nomenclature
from campaigns.state import crud
from campaigns.state.jobs import Progress
from campaigns.storage import Storage

Action = Any  # Callable[[Session, Progress], Any]


def export_action(settings: Settings, campaign_id: int, *, full: bool = False) -> Action:
    """Incremental export of a campaign's annotations into a new export version."""

    def action(session: Session, progress: Progress) -> Any:
        target = crud.get_campaign(session, campaign_id)
        return lifecycle.export_campaign(
            session,
            Storage.from_settings(settings),
            LabelStudioGateway.from_settings(settings),
            kit_for(target.kind, settings),
            target,
            full=full,
        )

    return action


def push_action(settings: Settings, campaign_id: int) -> Action:
    """Idempotent import of a campaign's missing tasks; progress counts tasks imported."""

    def action(session: Session, progress: Progress) -> Any:
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            progress(done, None)

        target = crud.get_campaign(session, campaign_id)
        return lifecycle.push_campaign(
            session,
            Storage.from_settings(settings),
            LabelStudioGateway.from_settings(settings),
            kit_for(target.kind, settings),
            target,
            on_batch=on_batch,
            sections=old_nomenclature(settings).division_sections(),
        )

    return action
