"""Request and response bodies of the REST API that are not database tables."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from campaigns.sampling.allocation import Allocation
from campaigns.sampling.designs import Design, Duplicates
from campaigns.state.models import Job, JobStatus


class ErrorBody(BaseModel):
    type: str = Field(description="Error class, stable across versions.")
    message: str
    hint: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class DesignSpec(BaseModel):
    """A sampling design; all defaults = simple random sampling of requests."""

    confidence_edges: list[float] = Field(
        default_factory=list, description="Inner cut points of the confidence-index strata."
    )
    by_section: bool = Field(default=False, description="Stratify by predicted NACE section.")
    allocation: Allocation = Allocation.PROPORTIONAL
    minimum: int = Field(default=2, ge=0, le=10_000, description="Minimum units per stratum.")
    fixed: dict[str, int] = Field(default_factory=dict, description="Fixed size per stratum.")
    prior_accuracy: list[float] = Field(
        default_factory=list, description="One value, or one per confidence bin (Neyman)."
    )
    duplicates: Duplicates = Duplicates.REQUESTS
    include_previous: bool = Field(
        default=False, description="Allow units of earlier campaigns to be drawn again."
    )

    def to_design(self) -> Design:
        return Design(
            confidence_edges=tuple(self.confidence_edges),
            by_section=self.by_section,
            allocation=Allocation.FIXED if self.fixed else self.allocation,
            minimum=self.minimum,
            fixed=tuple(sorted(self.fixed.items())),
            prior_accuracy=tuple(self.prior_accuracy),
            duplicates=self.duplicates,
            exclude_previous=not self.include_previous,
        )


class SampleRequest(BaseModel):
    size: int = Field(gt=0, le=1_000_000, description="Number of units to draw.")
    days: int = Field(default=90, gt=0, le=3660, description="Window length in days.")
    end: date | None = Field(default=None, description="Last day of the window (default today).")
    seed: int = Field(default=0, ge=0, description="Same window + design + seed = same sample.")
    design: DesignSpec = Field(default_factory=DesignSpec)


class CampaignMetricsPublic(BaseModel):
    """Every figure of a gold campaign's latest export: the same keys in the CLI's ``--json``,
    this route, the metrics job's result and the dashboard's ``figures`` table."""

    campaign_id: int
    export_version: str
    summary: dict[str, Any] = Field(
        description="design, threshold, units_annotated, status_counts, figures (each with "
        "estimate, ci_low, ci_high, n, method), macro_f1, calibration, agreement, coverage."
    )
    tables: dict[str, str] = Field(description="Dashboard tables written (empty on GET).")


class JobPublic(BaseModel):
    """A background action; poll ``GET /jobs/{id}`` until ``status`` is final."""

    id: str
    kind: str
    campaign_id: int | None
    status: JobStatus
    done: int = Field(description="Units of work done so far (tasks imported, ...).")
    total: int | None = Field(description="Units of work in all, when known.")
    result: dict[str, Any] | None = Field(description="The action's result once succeeded.")
    error: ErrorBody | None = Field(description="Why it failed, once failed.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        error = (
            ErrorBody(type=job.error_type, message=job.error_message or "", hint=job.error_hint)
            if job.error_type
            else None
        )
        return cls(
            id=job.id,
            kind=job.kind,
            campaign_id=job.campaign_id,
            status=job.status,
            done=job.done,
            total=job.total,
            result=json.loads(job.result) if job.result else None,
            error=error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class CampaignProgress(BaseModel):
    campaign_id: int
    status: str
    tasks: int = Field(description="Tasks in the Label Studio project(s).")
    tasks_annotated: int = Field(description="Tasks with at least one submitted annotation.")
    annotations: int
    skipped: int = Field(description="Annotations the experts skipped.")
    progress: float = Field(description="tasks_annotated / tasks.")
    teams: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="The same counters per team of a routed campaign."
    )
    agreement: dict[str, Any] | None = Field(
        description="Agreement figures of the latest export (tasks with several annotations)."
    )
