"""Planning a sample: how many units a design needs for a target margin of error."""

from __future__ import annotations

from fastapi import APIRouter

from campaigns.traffic.window import Window
from services.api.deps import ServiceDep
from services.api.schemas import (
    PlanPublic,
    PlanRequest,
    PlanWithPriorsPublic,
    PriorSourcePublic,
)

router = APIRouter(prefix="/plan", tags=["samples"])


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
