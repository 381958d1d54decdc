"""Background jobs: poll them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from campaigns.state import jobs
from services.api.bounds import Id, Limit, Offset
from services.api.deps import SessionDep
from services.api.schemas import JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=list[JobPublic])
def list_jobs(
    session: SessionDep,
    campaign_id: Annotated[Id | None, Query(description="Only this campaign's jobs.")] = None,
    offset: Annotated[Offset, Query()] = 0,
    limit: Annotated[Limit, Query()] = 50,
) -> list[JobPublic]:
    """Most recent first."""
    found = jobs.list_jobs(session, campaign_id=campaign_id, limit=limit, offset=offset)
    return [JobPublic.of(j) for j in found]


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: str, session: SessionDep) -> JobPublic:
    return JobPublic.of(jobs.get_job(session, job_id))
