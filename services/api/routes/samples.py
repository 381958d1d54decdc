"""Samples of the traffic."""

from __future__ import annotations

from fastapi import APIRouter

from campaigns import crud
from campaigns.models import Sample
from campaigns.samples import draw_sample
from campaigns.traffic import Window
from services.api.deps import SessionDep, StorageDep
from services.api.schemas import SampleRequest

router = APIRouter(prefix="/samples", tags=["samples"])


@router.post("", response_model=Sample, status_code=201)
def create_sample(body: SampleRequest, session: SessionDep, storage: StorageDep) -> Sample:
    """Draw a simple random sample of the window (same parameters: same sample)."""
    window = Window.last_days(body.days, body.end)
    return draw_sample(session, storage, window, size=body.size, seed=body.seed)


@router.get("", response_model=list[Sample])
def list_samples(session: SessionDep) -> list[Sample]:
    return crud.list_samples(session)


@router.get("/{sample_id}", response_model=Sample)
def get_sample(sample_id: str, session: SessionDep) -> Sample:
    return crud.get_sample(session, sample_id)
