"""Planning a sample: how many units a design needs for a target margin of error."""

from __future__ import annotations

from fastapi import APIRouter

from campaigns.traffic.window import Window
from services.api.deps import ServiceDep
from services.api.schemas import PlanPublic, PlanRequest

router = APIRouter(prefix="/plan", tags=["samples"])


@router.post("", response_model=PlanPublic)
def plan_sample(body: PlanRequest, service: ServiceDep) -> PlanPublic:
    """Sample size per stratum for a design to reach a target 95% margin on a window.

    Uses the window's real stratum sizes and a prior accuracy (default 0.5, the worst case).
    Synchronous and read-only: it counts the window's traffic and draws nothing; then draw the
    sample with ``POST /samples`` and the same design.
    """
    window = Window.last_days(body.days, body.end)
    design = body.design.to_design()
    plan = service.plan(
        window, design, margin=body.margin, auto_coded=body.auto_coded, threshold=body.threshold
    )
    return PlanPublic.of(plan, window, design, auto_coded=body.auto_coded)
