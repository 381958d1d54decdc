"""Label Studio webhooks: an annotation created, updated or deleted starts an export.

Label Studio calls ``POST /webhooks/label-studio`` (registered per campaign project by
``campaigns.labelstudio.webhooks.register_webhook``, with the API's bearer token).
It never gets a 5xx:
a change that starts (or joins) an export is answered 202 with the export job, anything else
200 ``{"ignored": reason}``. Polling (the exports on demand and the nightly job) stays the
fallback for any webhook lost on the way.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from campaigns.errors import NotFoundError
from campaigns.job_actions import export_action
from campaigns.labelstudio.webhooks import EXPORT_ACTIONS
from campaigns.lifecycle import webhook_export
from campaigns.state.db import get_engine
from campaigns.state.models import CampaignStatus
from services.api.bounds import Id
from services.api.deps import SessionDep, SettingsDep
from services.api.schemas import JobPublic

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class ProjectRef(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: Id | None = None


class LabelStudioEvent(BaseModel):
    """What Label Studio posts: ``action``, plus the objects when the payload is sent."""

    model_config = ConfigDict(extra="allow")

    action: str = Field(default="", description="e.g. ANNOTATION_CREATED.")
    project: ProjectRef | Id | None = Field(
        default=None, description="The project (only when the webhook sends its payload)."
    )

    def project_id(self) -> int | None:
        if isinstance(self.project, ProjectRef):
            return self.project.id
        return self.project


class WebhookIgnored(BaseModel):
    ignored: str = Field(description="Why no export was started.")


def _ignored(reason: str) -> JSONResponse:
    return JSONResponse(status_code=200, content={"ignored": reason})


@router.post(
    "/label-studio",
    response_model=JobPublic,
    status_code=202,
    responses={200: {"model": WebhookIgnored, "description": "Not a change to export."}},
)
def label_studio_webhook(
    event: LabelStudioEvent,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    project: Annotated[
        Id | None, Query(description="The project, when not in the payload.")
    ] = None,
) -> Any:
    """Start (or join) an incremental export of the campaign whose project changed.

    Debounced: while an export job of the campaign is still queued, every webhook returns
    that job; a job queued behind a running export waits for it. Answered at once (Label
    Studio waits for the answer inside the annotator's save, 1 s at most).
    """
    if event.action not in EXPORT_ACTIONS:
        return _ignored(f"action {event.action or '(none)'!r} does not change annotations")
    project_id = event.project_id() or project
    if project_id is None:
        return _ignored("no project id in the payload nor in the URL")
    try:
        campaign = webhook_export.campaign_for_project(session, project_id)
        if campaign.status == CampaignStatus.ARCHIVED:
            return _ignored(f"campaign {campaign.id} is archived")
        assert campaign.id is not None
        job, created = webhook_export.debounced_export_job(session, campaign.id)
    except NotFoundError:
        return _ignored(f"project {project_id} is not a campaign's")
    except Exception as err:  # Label Studio must never get a 5xx; polling will catch up
        logger.exception("Webhook for project %s not handled", project_id)
        return _ignored(f"export not started ({type(err).__name__}); the next export catches up")
    if created:
        campaign_id = campaign.id

        action = export_action(settings, campaign_id)
        background.add_task(
            webhook_export.run_when_free, get_engine(settings), job.id, campaign_id, action
        )
    return JobPublic.of(job)
