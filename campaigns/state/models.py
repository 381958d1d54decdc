"""Campaign state: SQLModel tables and the public schemas of the REST API, side by side."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from campaigns.state.enums import (
    MAX_ID,
    MAX_SAMPLE_SIZE,
    MAX_SEED,
    NAME_PATTERN,
    CampaignKind,
    CampaignStatus,
    JobStatus,
    SuggestionMode,
)

__all__ = [
    "MAX_ID",
    "MAX_SAMPLE_SIZE",
    "MAX_SEED",
    "NAME_PATTERN",
    "Campaign",
    "CampaignBase",
    "CampaignCreate",
    "CampaignKind",
    "CampaignPublic",
    "CampaignStatus",
    "Job",
    "JobStatus",
    "Sample",
    "SuggestionMode",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Sample(SQLModel, table=True):
    """A drawn sample: its design, its window and where its units are stored."""

    id: str = Field(primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    window_start: date
    window_end: date
    design: str = "srs"
    design_params: str = "{}"
    seed: int = 0
    population_size: int
    sample_size: int
    uri: str


class CampaignBase(SQLModel):
    name: str = Field(
        index=True,
        unique=True,
        min_length=1,
        max_length=100,
        description="Letters, digits, '.', '_' and '-', starting with a letter or digit.",
    )
    kind: CampaignKind = CampaignKind.GOLD
    sample_id: str = Field(foreign_key="sample.id")
    description: str = ""
    annotations_per_task: int = Field(default=1, ge=1, le=10)
    routing: str = Field(
        default="",
        max_length=2000,
        description="Optional routing to expert teams, one Label Studio project each: rules "
        "'team=patterns' separated by ';', e.g. 'agri=A;trade=G,45;others=*' (section letters, "
        "divisions, ranges 10-33, code prefixes, * for the rest; first match wins).",
    )
    suggestions: SuggestionMode = Field(
        default=SuggestionMode.HIDDEN,
        description="Gold campaigns: what experts see of the model's answer. 'hidden' (blind, "
        "the default: a gold standard the model cannot bias), 'shown' (top-5 listed), "
        "'preselected' (top-5 listed, top-1 pre-selected), 'randomized' (each task blind or "
        "preselected by a seeded draw, to measure the anchoring effect).",
    )

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not re.fullmatch(NAME_PATTERN, value):
            raise ValueError(
                "a campaign name is letters, digits, '.', '_' and '-', starting with a letter "
                f"or digit (it becomes file names and storage keys); got {value!r}"
            )
        return value


class Campaign(CampaignBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team: str | None = None
    parent_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    status: CampaignStatus = CampaignStatus.CREATED
    ls_project_id: int | None = None
    tasks_pushed: int = 0
    last_export_version: str | None = None
    export_cursor: str | None = None
    export_started_at: datetime | None = None
    adopted_mapping: str | None = None
    """For a project adopted from Label Studio (``campaigns adopt``): how its own controls map
    to ours, as JSON (see ``campaigns.labelstudio.adopted.config``); None for projects we
    created."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CampaignCreate(CampaignBase):
    pass


class CampaignPublic(CampaignBase):
    id: int
    team: str | None
    parent_id: int | None
    status: CampaignStatus
    ls_project_id: int | None
    tasks_pushed: int
    last_export_version: str | None
    created_at: datetime
    updated_at: datetime


class Job(SQLModel, table=True):
    """A long action (push, export, metrics, report) run in the background; clients poll it."""

    id: str = Field(primary_key=True)
    kind: str = Field(index=True)
    campaign_id: int | None = Field(default=None, index=True)
    status: JobStatus = JobStatus.QUEUED
    done: int = 0
    total: int | None = None
    result: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_hint: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
