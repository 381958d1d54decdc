"""Planning a sample: how many units a design needs for a target margin of error."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from campaigns.traffic.window import Window
from services.api.deps import ServiceDep
from services.api.schemas import PlanPublic, PlanRequest

router = APIRouter(prefix="/plan", tags=["samples"])


class PriorSourcePublic(BaseModel):
    """Where the plan's prior accuracy per confidence bin came from."""

    source: Literal["typed", "gold", "calibrated-scores", "scores", "worst-case"] = Field(
        description="typed (prior_accuracy given), gold (latest gold campaign on the same "
        "strata), calibrated-scores (the window's top-1 scores calibrated on the latest gold "
        "campaign), scores (raw top-1 scores, no gold yet) or worst-case (0.5)."
    )
    accuracy: list[float] = Field(description="One prior accuracy per confidence bin.")
    campaign: str | None = Field(default=None, description="The gold campaign used, if any.")
    units: list[int] = Field(
        default_factory=list, description="Coded gold units per bin (gold source)."
    )
    description: str


class PlanWithPriorsPublic(PlanPublic):
    prior_source: PriorSourcePublic


@router.post("", response_model=PlanWithPriorsPublic)
def plan_sample(body: PlanRequest, service: ServiceDep) -> PlanWithPriorsPublic:
    """Sample size per stratum for a design to reach a target 95% margin on a window.

    Uses the window's real stratum sizes and a prior accuracy per confidence bin: the one
    given, else the latest gold campaign's on the same strata, else the window's (calibrated)
    top-1 scores; ``prior_source`` says which. Synchronous and read-only: it counts the
    window's traffic and draws nothing; then draw the sample with ``POST /samples`` and the
    same design (Neyman allocation finds the same priors).
    """
    window = Window.last_days(body.days, body.end)
    design = body.design.to_design()
    plan = service.plan(
        window, design, margin=body.margin, auto_coded=body.auto_coded, threshold=body.threshold
    )
    public = PlanPublic.of(plan, window, design, auto_coded=body.auto_coded)
    priors = plan.prior_source
    assert priors is not None  # the service always says where the priors came from
    return PlanWithPriorsPublic(
        **public.model_dump(),
        prior_source=PriorSourcePublic(**priors.as_json(), description=priors.describe()),
    )
