"""Exports started by Label Studio's webhooks, debounced, as background jobs.

Optional: the nightly and on-demand exports (polling) remain the fallback, so a webhook that
is lost, late or never registered only delays an export. Label Studio (without Redis) calls
the webhook synchronously inside the annotator's save, with a 1 s timeout, and never
retries: the receiver must answer at once and never fail. (Registration:
``campaigns.labelstudio.webhooks``.)

Debounce: the export job that will pick a change up is an export job of the campaign still
*queued*; every webhook of a burst returns that one job. A queued webhook job stays queued
while another export of the campaign runs (it would read Label Studio too early and be
refused by the export lock anyway), then runs once: a burst yields one or two exports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from campaigns.errors import (
    NotFoundError,
)
from campaigns.state import jobs
from campaigns.state.crud import STALE_LOCK
from campaigns.state.jobs import Progress
from campaigns.state.models import MAX_ID, Campaign, Job, JobStatus, utcnow

logger = logging.getLogger(__name__)

EXPORT_KIND = "export"
WAIT_POLL_SECONDS = 0.5

# Serialises "find the queued job, else create one" within this process (the API server);
# across processes two simultaneous webhooks may at worst start one extra export.
_queue_lock = threading.Lock()


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
