"""Request and response bodies of the REST API that are not database tables."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    type: str = Field(description="Error class, stable across versions.")
    message: str
    hint: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class SampleRequest(BaseModel):
    size: int = Field(gt=0, le=1_000_000, description="Number of units to draw.")
    days: int = Field(default=90, gt=0, le=3660, description="Window length in days.")
    end: date | None = Field(default=None, description="Last day of the window (default today).")
    seed: int = Field(default=0, ge=0, description="Same window + design + seed = same sample.")


class PushResult(BaseModel):
    campaign_id: int
    project_id: int
    sample_size: int
    imported: int
    already_present: int
    project_url: str


class ExportResult(BaseModel):
    campaign_id: int
    version: str
    annotations: int
    tasks_with_gold: int
    status_counts: dict[str, int]
    annotations_uri: str
    gold_uri: str
    tasks_read: int
    incremental: bool
    gold_rule: str
