"""Samples of the traffic."""

from __future__ import annotations

from fastapi import APIRouter

from campaigns.state import crud
from campaigns.state.models import Sample
from campaigns.traffic.window import Window
from services.api.deps import ServiceDep, SessionDep
from services.api.schemas import SampleRequest

router = APIRouter(prefix="/samples", tags=["samples"])


@router.post("", response_model=Sample, status_code=201)
def create_sample(body: SampleRequest, service: ServiceDep) -> Sample:
    """Draw a simple random or stratified sample of the window (same parameters: same sample).

    The whole window is the frame (earlier gold labels reused by text) unless
    ``design.exclude_previous``.
    """
    window = Window.last_days(body.days, body.end)
    return service.sample(window, body.design.to_design(), size=body.size, seed=body.seed)


@router.get("", response_model=list[Sample])
def list_samples(session: SessionDep) -> list[Sample]:
    return crud.list_samples(session)


@router.get("/{sample_id}", response_model=Sample)
def get_sample(sample_id: str, session: SessionDep) -> Sample:
    return crud.get_sample(session, sample_id)
