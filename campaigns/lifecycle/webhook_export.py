"""Label Studio webhooks: export a campaign as soon as its annotations change.

Optional: the nightly and on-demand exports (polling) remain the fallback, so a webhook that
is lost, late or never registered only delays an export. Label Studio (without Redis) calls the
webhook synchronously inside the annotator's save, with a 1 s timeout, and never retries:
the receiver must answer at once and never fail.

Registration: one webhook per campaign project, created with ``send_payload=False`` (Label
Studio then neither serialises the task, the annotation and the project counters into every
call, nor sends annotation content over the wire) and the project id in the URL's query.
The secret travels as ``Authorization: Bearer <secret>``, the API's own token, so the
receiving route needs no auth of its own.

Debounce: the export job that will pick a change up is an export job of the campaign still
*queued*; every webhook of a burst returns that one job. A queued webhook job stays queued
while another export of the campaign runs (it would read Label Studio too early and be refused
by the export lock anyway), then runs once: a burst yields one or two exports, never dozens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from campaigns.config import Settings
from campaigns.errors import (
    CampaignError,
    ConfigurationError,
    InputFormatError,
    NotFoundError,
    ServiceUnavailableError,
)
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.state import jobs
from campaigns.state.crud import STALE_LOCK, team_campaigns
from campaigns.state.jobs import Progress
from campaigns.state.models import MAX_ID, Campaign, Job, JobStatus, utcnow

logger = logging.getLogger(__name__)

EXPORT_KIND = "export"
# What changes an export: a created, edited or deleted annotation (skips are annotations too).
EXPORT_ACTIONS = (
    "ANNOTATION_CREATED",
    "ANNOTATIONS_CREATED",
    "ANNOTATION_UPDATED",
    "ANNOTATIONS_DELETED",
)
PROJECT_PARAM = "project"
WAIT_POLL_SECONDS = 0.5

# Serialises "find the queued job, else create one" within this process (the API server);
# across processes two simultaneous webhooks may at worst start one extra export.
_queue_lock = threading.Lock()


# -- registration ------------------------------------------------------------------------------
def webhook_url(url: str, project_id: int) -> str:
    """The receiver's URL with the project id in its query (``?project=<id>``)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != PROJECT_PARAM]
    query.append((PROJECT_PARAM, str(project_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def register_webhook(
    gateway: LabelStudioGateway, project_id: int, url: str, secret: str | None
) -> int:
    """Make Label Studio call ``url`` when the project's annotations change; return its id.

    ``url`` is the receiver (``https://<api>/webhooks/label-studio``); ``secret`` the API's
    bearer token (None when the API runs without one). Idempotent: a webhook of the project
    already pointing at the same URL is updated in place (actions, header, reactivated)
    rather than duplicated, so rerunning it also rotates the secret.
    """
    target = webhook_url(url, project_id)
    body: dict[str, Any] = {
        "url": target,
        "send_payload": False,
        "send_for_all_actions": False,
        "actions": list(EXPORT_ACTIONS),
        "headers": {"Authorization": f"Bearer {secret}"} if secret else {},
        "is_active": True,
    }
    existing = [
        hook
        for hook in _list_webhooks(gateway, project_id)
        if hook.get("project") == project_id and hook.get("url") == target
    ]
    if existing:
        keep, *duplicates = sorted(existing, key=lambda hook: int(hook["id"]))
        for hook in duplicates:  # left by an older, non-idempotent registration
            _request(gateway, "DELETE", f"/api/webhooks/{hook['id']}/")
        if _differs(keep, body):
            _request(gateway, "PATCH", f"/api/webhooks/{keep['id']}/", json=body)
        return int(keep["id"])
    created = _request(gateway, "POST", "/api/webhooks/", json=body | {"project": project_id})
    return int(created["id"])


def register_for_campaign(
    gateway: LabelStudioGateway, campaign: Campaign, url: str | None, secret: str | None
) -> int | None:
    """Best effort, for campaign creation: register unless no URL is configured.

    A failure is logged, never raised: the campaign works without its webhook (the exports
    still poll), and registering again later is harmless.
    """
    if not url or campaign.ls_project_id is None:
        return None
    try:
        return register_webhook(gateway, campaign.ls_project_id, url, secret)
    except CampaignError as err:
        logger.warning(
            "No webhook for campaign %s (exports will poll): %s", campaign.id, err.one_line()
        )
        return None


def register_campaign_webhooks(
    session: Session, gateway: LabelStudioGateway, campaign: Campaign, settings: Settings
) -> None:
    """At creation: every project of the campaign (its own, or its teams') notifies the API,
    when ``CAMPAIGNS_LABEL_STUDIO_WEBHOOK_URL`` is set. Best effort, like
    :func:`register_for_campaign`."""
    token = settings.api_token.get_secret_value() if settings.api_token else None
    for target in [campaign, *team_campaigns(session, campaign)]:
        register_for_campaign(gateway, target, settings.label_studio_webhook_url, token)


def _differs(hook: dict[str, Any], body: dict[str, Any]) -> bool:
    return any(
        sorted(hook.get(key) or []) != sorted(value) if key == "actions" else hook.get(key) != value
        for key, value in body.items()
    )


def _list_webhooks(gateway: LabelStudioGateway, project_id: int) -> list[dict[str, Any]]:
    listed = _request(gateway, "GET", "/api/webhooks/", params={"project": project_id})
    return list(listed.get("results", []) if isinstance(listed, dict) else listed)


def _request(gateway: LabelStudioGateway, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = gateway.http.request(method, path, **kwargs)
    except (httpx.TransportError, ConnectionError) as err:
        raise ServiceUnavailableError(
            f"Cannot reach Label Studio at {gateway.url}: {type(err).__name__}.",
            "Start it or fix CAMPAIGNS_LABEL_STUDIO_URL.",
        ) from err
    if response.status_code in (401, 403):
        raise ConfigurationError(
            f"Label Studio refused to manage webhooks ({response.status_code}).",
            "Check CAMPAIGNS_LABEL_STUDIO_TOKEN: its user must be able to change webhooks.",
        )
    if response.status_code == 404:
        raise NotFoundError(f"Label Studio answered 404 to {method} {path}: {response.text}")
    if response.status_code == 400:
        raise InputFormatError(
            f"Label Studio rejected the webhook: {response.text}",
            "A private or local receiver URL needs SSRF_PROTECTION_ENABLED=false in Label "
            "Studio's environment.",
        )
    if response.status_code >= 400:
        raise ServiceUnavailableError(
            f"Label Studio answered {response.status_code} to {method} {path}.",
            "Look at the Label Studio server log, then retry.",
        )
    return response.json() if response.content else None


# -- receiving ---------------------------------------------------------------------------------
def campaign_for_project(session: Session, project_id: int) -> Campaign:
    """The campaign whose Label Studio project is ``project_id``."""
    campaign = (
        session.exec(select(Campaign).where(Campaign.ls_project_id == project_id)).first()
        if 0 < project_id <= MAX_ID
        else None
    )
    if campaign is None:
        raise NotFoundError(
            f"No campaign has Label Studio project {project_id}.",
            "List campaigns with 'campaigns list' (or GET /campaigns).",
        )
    return campaign


def _export_jobs(session: Session, campaign_id: int, status: JobStatus) -> list[Job]:
    """The campaign's recent export jobs in ``status``, oldest first.

    Older than the export lock's staleness limit, a queued or running job is taken for one left
    by a dead process and ignored.
    """
    recent = utcnow() - STALE_LOCK
    stamp = col(Job.started_at) if status == JobStatus.RUNNING else col(Job.created_at)
    query = (
        select(Job)
        .where(Job.campaign_id == campaign_id, Job.kind == EXPORT_KIND, Job.status == status)
        .where(stamp >= recent)
        .order_by(col(Job.created_at))
    )
    return list(session.exec(query).all())


def debounced_export_job(session: Session, campaign_id: int) -> tuple[Job, bool]:
    """The export job that will include a change just made: ``(job, created)``.

    An export job of the campaign still queued has not read Label Studio yet, so it will see
    the change: it is returned. Otherwise a new queued job is created; run it with
    :func:`run_when_free`, which keeps it queued while another export runs.
    """
    with _queue_lock:
        queued = _export_jobs(session, campaign_id, JobStatus.QUEUED)
        if queued:
            return queued[0], False
        return jobs.create_job(session, EXPORT_KIND, campaign_id), True


def _export_running(engine: Engine, campaign_id: int, job_id: str) -> bool:
    """Whether another export of the campaign runs: an export job, or the CLI's export lock."""
    with Session(engine) as session:
        if any(j.id != job_id for j in _export_jobs(session, campaign_id, JobStatus.RUNNING)):
            return True
        campaign = session.get(Campaign, campaign_id)
        locked = campaign.export_started_at if campaign else None
        if locked is None:
            return False
        if locked.tzinfo is None:  # SQLite gives naive datetimes back
            return locked >= utcnow().replace(tzinfo=None) - STALE_LOCK
        return locked >= utcnow() - STALE_LOCK


def run_when_free(
    engine: Engine,
    job_id: str,
    campaign_id: int,
    action: Callable[[Session, Progress], Any],
    *,
    poll_seconds: float = WAIT_POLL_SECONDS,
    max_wait: timedelta = STALE_LOCK,
) -> None:
    """Run the queued job once no other export of the campaign runs (as ``jobs.run_job``).

    While it waits the job stays ``queued``, so the webhooks arriving meanwhile join it.
    Past ``max_wait`` it runs anyway: the export lock then decides (a refusal is recorded on
    the job as a ConflictError). Never raises.
    """
    deadline = time.monotonic() + max_wait.total_seconds()
    try:
        while time.monotonic() < deadline and _export_running(engine, campaign_id, job_id):
            time.sleep(poll_seconds)
    except Exception:  # a database hiccup while waiting: let the job itself record failures
        logger.exception("Waiting for the exports of campaign %s failed", campaign_id)
    jobs.run_job(engine, job_id, action)
