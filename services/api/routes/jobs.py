"""Background jobs: poll them."""

from __future__ import annotations

from fastapi import APIRouter, Query

from campaigns.state import jobs
from campaigns.state.models import MAX_ID
from services.api.deps import SessionDep
from services.api.schemas import JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=list[JobPublic])
def list_jobs(
    session: SessionDep,
    campaign_id: int | None = Query(default=None, ge=0, le=MAX_ID),
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[JobPublic]:
    """Most recent first."""
    found = jobs.list_jobs(session, campaign_id=campaign_id, limit=limit, offset=offset)
    return [JobPublic.of(j) for j in found]


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: str, session: SessionDep) -> JobPublic:
    return JobPublic.of(jobs.get_job(session, job_id))
