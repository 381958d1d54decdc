"""Background jobs: a row per long action, updated as it runs, so clients can poll it.

The runner is deliberately small (a thread from the web server's pool, state in the campaign
database): a campaign service runs a handful of pushes and exports a day, and a job that dies
with its process is visible as ``running`` with no progress, to be rerun (every action is
idempotent). A queue (Celery, RQ) would add a broker to deploy for no gain at this volume.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from campaigns.errors import CampaignError, NotFoundError
from campaigns.state.models import Job, JobStatus, utcnow

Progress = Callable[[int, int | None], None]


def create_job(session: Session, kind: str, campaign_id: int | None = None) -> Job:
    job = Job(id=uuid.uuid4().hex, kind=kind, campaign_id=campaign_id)
    session.add(job)
    session.commit()
    session.refresh(job)
    return job


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"No job {job_id!r}.", "GET /jobs lists the recent jobs.")
    return job


def list_jobs(
    session: Session, *, campaign_id: int | None = None, limit: int = 50, offset: int = 0
) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc())  # type: ignore[attr-defined]
    if campaign_id is not None:
        query = query.where(Job.campaign_id == campaign_id)
    return list(session.exec(query.offset(offset).limit(limit)).all())


def _update(engine: Engine, job_id: str, **values: Any) -> None:
    with Session(engine) as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        for key, value in values.items():
            setattr(job, key, value)
        session.add(job)
        session.commit()


def _jsonable(result: Any) -> Any:
    return asdict(result) if is_dataclass(result) and not isinstance(result, type) else result


def run_job(engine: Engine, job_id: str, action: Callable[[Session, Progress], Any]) -> None:
    """Run ``action(session, progress)`` and record its outcome on the job row.

    Never raises: a failure is stored on the job (type, message, hint) for the client to read.
    """
    _update(engine, job_id, status=JobStatus.RUNNING, started_at=utcnow())

    def progress(done: int, total: int | None = None) -> None:
        _update(engine, job_id, done=done, total=total)

    try:
        with Session(engine) as session:
            result = action(session, progress)
    except Exception as err:  # the job must record every failure, not die silently
        known = isinstance(err, CampaignError)
        _update(
            engine,
            job_id,
            status=JobStatus.FAILED,
            finished_at=utcnow(),
            error_type=type(err).__name__,
            error_message=err.message if known else str(err),
            error_hint=err.hint
            if known
            else "Unexpected error: see the API server's log; the action can be rerun.",
        )
        return
    _update(
        engine,
        job_id,
        status=JobStatus.SUCCEEDED,
        finished_at=utcnow(),
        result=json.dumps(_jsonable(result), default=str),
    )
