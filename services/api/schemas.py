"""Request and response bodies of the REST API that are not database tables."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from campaigns.recoding.options import DEFAULT_FLOOR, DEFAULT_MIN_CONFIDENCE
from campaigns.sampling.allocation import Allocation
from campaigns.sampling.designs import Design, Duplicates
from campaigns.sampling.planning import Plan
from campaigns.state.models import NAME_PATTERN, CampaignKind, Job, JobStatus
from campaigns.traffic.options import DEFAULT_MIN_COUNT
from campaigns.traffic.window import Window
from services.api.bounds import (
    CalibrationReplicates,
    Days,
    Folds,
    Id,
    Overlap,
    RowCount,
    SampleSize,
    Seed,
    StratumMinimum,
    StratumSize,
    TransitionQueueSize,
)


class ErrorBody(BaseModel):
    type: str = Field(description="Error class, stable across versions.")
    message: str
    hint: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class DesignSpec(BaseModel):
    """A sampling design; all defaults = simple random sampling of requests."""

    confidence_edges: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=list,
        max_length=99,
        description="Inner cut points of the confidence-index strata.",
    )
    by_section: bool = Field(default=False, description="Stratify by predicted NACE section.")
    allocation: Allocation = Allocation.PROPORTIONAL
    minimum: StratumMinimum = Field(default=2, description="Minimum units per stratum.")
    fixed: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        StratumSize,
    ] = Field(default_factory=dict, max_length=10_000, description="Fixed size per stratum.")
    prior_accuracy: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=list,
        max_length=100,
        description="One value, or one per confidence bin (Neyman).",
    )
    duplicates: Duplicates = Duplicates.REQUESTS
    exclude_previous: bool = Field(
        default=False,
        description="Leave out units of earlier campaigns (the frame shrinks; the excluded "
        "share is reported). Default: the whole window, earlier gold labels reused by text.",
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
            exclude_previous=self.exclude_previous,
        )


class SampleRequest(BaseModel):
    size: SampleSize = Field(description="Number of units to draw.")
    days: Days = Field(default=90, description="Window length in days.")
    end: date | None = Field(
        default=None,
        ge=date(1970, 1, 1),
        le=date(9000, 1, 1),
        description="Last day of the window (default today).",
    )
    seed: Seed = Field(default=0, description="Same window + design + seed = same sample.")
    design: DesignSpec = Field(default_factory=DesignSpec)


_FIELD = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")]


class AdoptRequest(BaseModel):
    """An existing Label Studio project to adopt (see ``campaigns adopt --help``)."""

    project_id: Id = Field(description="The Label Studio project's id.")
    kind: CampaignKind = Field(description="What the project's experts do.")
    name: str = Field(pattern=NAME_PATTERN, max_length=100, description="The campaign's name.")
    id_field: _FIELD | None = Field(default=None, description="Task field identifying a unit.")
    text_field: _FIELD | None = Field(default=None, description="Task field of the text.")
    code_field: _FIELD | None = Field(default=None, description="Task field of the code judged.")
    confidence_field: _FIELD | None = Field(
        default=None, description="Task field of the model's confidence index."
    )


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


class StopRulePublic(BaseModel):
    """The headline accuracy's interval against the target margin, and the work left."""

    accuracy: float
    ci_low: float
    ci_high: float
    half_width: float = Field(description="(ci_high - ci_low) / 2 of the headline accuracy.")
    target_margin: float
    margin_source: Literal["planning", "option", "default"]
    units_done: int = Field(description="Coded units in the latest export.")
    units_needed: int = Field(description="units_done * (half_width / target_margin)^2.")
    units_left: int
    tasks_annotated: int
    tasks_left: int = Field(description="units_left over the share of tasks that got a code.")
    sample_size: int
    design_effect: float | None = Field(description="units_done / the effective sample size.")
    annotations_per_task: int
    annotations_left: int
    pace_per_day: float = Field(description="Annotations a day over the last 7 days.")
    days_left: float | None = Field(description="None when nothing was annotated in 7 days.")
    export_version: str | None
    reached: bool
    beyond_sample: bool = Field(description="The sample is too small to reach the target.")


class CampaignProgressWithStop(CampaignProgress):
    target_margin: float = Field(
        description="Target half-width: ?margin=, else stored at sampling, else the setting."
    )
    margin_source: Literal["planning", "option", "default"]
    stop: StopRulePublic | None = Field(
        description="When to stop annotating (gold campaigns with an export); see stop_note."
    )
    stop_note: str | None = Field(description="Why there is no stop rule, if there is none.")
    annotation_order: dict[str, Any] | None = Field(
        default=None,
        description="Do the units annotated so far differ from the rest in confidence or "
        "section within strata (tested, p-values, suspect, warning)?",
    )


# -- windows of traffic: the bounds keep every window (and a baseline before it) in the calendar
WindowDays = Annotated[Days, Field(description="Window: this many days up to end.")]
LastDay = Annotated[
    date | None,
    Field(
        ge=date(1900, 1, 1),
        le=date(9999, 12, 30),
        description="Last day of the window, included (default: today, UTC).",
    ),
]
Proportion = Annotated[float, Field(ge=0, le=1)]


class PlanDesign(BaseModel):
    """A sampling design to plan: as ``DesignSpec``, without fixed sizes (the plan finds them)."""

    confidence_edges: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=list,
        description="Inner cut points of the confidence-index strata, increasing.",
    )
    by_section: bool = Field(default=False, description="Stratify by predicted NACE section.")
    allocation: Allocation = Allocation.PROPORTIONAL
    minimum: StratumMinimum = Field(default=2, description="Minimum units per stratum.")
    prior_accuracy: list[Proportion] = Field(
        default_factory=list,
        description="Expected accuracy: one value, or one per confidence bin (default 0.5, "
        "the worst case).",
    )
    duplicates: Duplicates = Duplicates.REQUESTS
    exclude_previous: bool = Field(
        default=False,
        description="Leave out units of earlier campaigns (the frame shrinks; the excluded "
        "share is reported). Default: the whole window, earlier gold labels reused by text.",
    )

    @field_validator("allocation")
    @classmethod
    def _not_fixed(cls, value: Allocation) -> Allocation:
        if value == Allocation.FIXED:
            raise ValueError("a plan computes the sizes: fixed allocation has nothing to plan")
        return value

    def to_design(self) -> Design:
        return Design(
            confidence_edges=tuple(self.confidence_edges),
            by_section=self.by_section,
            allocation=self.allocation,
            minimum=self.minimum,
            prior_accuracy=tuple(self.prior_accuracy),
            duplicates=self.duplicates,
            exclude_previous=self.exclude_previous,
        )


class PlanRequest(BaseModel):
    margin: float = Field(
        default=0.02, gt=0, lt=1, description="Target half-width of the 95% interval."
    )
    auto_coded: bool = Field(
        default=False,
        description="Plan for the error rate of the automatically coded part (confidence >= "
        "threshold, which must then be one of design.confidence_edges) instead of the accuracy.",
    )
    threshold: Proportion | None = Field(
        default=None, description="Automatic-coding threshold (default: the setting)."
    )
    days: WindowDays = 90
    end: LastDay = None
    design: PlanDesign = Field(default_factory=PlanDesign)


class StratumPlan(BaseModel):
    stratum: str
    population: int = Field(description="Units of the window in the stratum.")
    prior_accuracy: float
    sample_size: int


class PlanPublic(BaseModel):
    """Units a design needs for a target margin of error, per stratum (``campaigns plan``)."""

    sample_size: int
    margin: float = Field(description="Half-width of the 95% interval these sizes give.")
    target_margin: float
    reachable: bool = Field(description="False when even a census misses the target margin.")
    target: Literal["accuracy", "auto_coded_error_rate"]
    design: str = Field(description="srs or stratified.")
    window_start: date
    window_end: date = Field(description="First day after the window.")
    strata: list[StratumPlan]

    @classmethod
    def of(cls, plan: Plan, window: Window, design: Design, *, auto_coded: bool) -> PlanPublic:
        return cls(
            sample_size=plan.sample_size,
            margin=plan.margin,
            target_margin=plan.target_margin,
            reachable=plan.reachable,
            target="auto_coded_error_rate" if auto_coded else "accuracy",
            design=design.name,
            window_start=window.start,
            window_end=window.end,
            strata=[
                StratumPlan(
                    stratum=h,
                    population=plan.populations[h],
                    prior_accuracy=plan.priors[h],
                    sample_size=size,
                )
                for h, size in plan.sizes.items()
            ],
        )


class DriftRequest(BaseModel):
    """Window B (``days`` up to ``end``) against baseline A (``baseline_days`` right before)."""

    days: WindowDays = 30
    end: LastDay = None
    baseline_days: Days | None = Field(
        default=None, description="Baseline length (default: same as days)."
    )
    psi_max: float = Field(
        default=0.2,
        ge=0,
        allow_inf_nan=False,
        description="Alert when a PSI is above this (0.2: significant).",
    )
    accuracy_min: Proportion | None = Field(
        default=None, description="Alert when accuracy is below this floor (needs accuracy)."
    )
    accuracy: Proportion | None = Field(
        default=None, description="An accuracy estimate (e.g. the last campaign's) to check."
    )
    min_count: RowCount = Field(
        default=DEFAULT_MIN_COUNT,
        description="Fewest requests per window for a section to get its own report.",
    )
    write: bool = Field(default=True, description="Store the reports under metrics/drift.")


class EstimateRequest(BaseModel):
    """Label-free accuracy of a window, calibrated on the campaign of the path."""

    days: WindowDays = 30
    end: LastDay = None
    replicates: CalibrationReplicates = Field(
        default=200,
        description="Bootstrap refits of the calibration (memory grows with them).",
    )
    gold_campaign_id: Id | None = Field(
        default=None,
        description="Campaign whose gold accuracy to show beside (default: the reference); "
        "one sampled from the window makes it a concept-drift check.",
    )
    max_rows: RowCount | None = Field(
        default=None,
        description="Average over a reproducible random subsample of this many requests.",
    )


StorageKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        description="A file below the storage root: its key (e.g. inputs/training.parquet) or "
        "its full URI.",
    ),
]


class TrainingSetRequest(BaseModel):
    compare_with: StorageKey | None = Field(
        default=None,
        description="An existing training set on the storage root (Parquet or CSV with columns "
        "text, code): the texts whose label differs from the gold code are listed beside.",
    )


class TransitionCreate(BaseModel):
    """A transition campaign from a table of (text, NAF rév.2 code) rows on the storage root."""

    name: str = Field(
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="A unique campaign name: letters, digits, '.', '_' and '-'.",
    )
    input: StorageKey
    size: TransitionQueueSize = Field(default=500, description="Multivocal rows to annotate.")
    seed: Seed = Field(default=0, description="Seed of the queue's sample.")
    text_column: str = Field(default="text", min_length=1, max_length=200)
    code_column: str = Field(
        default="code", min_length=1, max_length=200, description="The NAF rév.2 code."
    )
    overlap: Overlap = Field(default=1, description="Experts per task.")


class TransitionShare(BaseModel):
    old_code: str
    new_code: str | None
    n: int = Field(description="Coded tasks of the old code given this new code.")
    n_old: int = Field(description="Coded tasks of the old code.")
    weighted_n: float
    share: float = Field(description="Design-weighted share of the old code's coded tasks.")
    ci_low: float = Field(description="Wilson 95% interval.")
    ci_high: float


class TransitionSplit(BaseModel):
    """For each old code, the observed share of each new code (``campaigns transition split``)."""

    campaign_id: int
    export_version: str | None
    shares: list[TransitionShare]


class TransitionDatasetRequest(BaseModel):
    """Build a transition's whole dataset in NAF 2025 (``campaigns transition dataset``)."""

    min_confidence: float = Field(
        default=DEFAULT_MIN_CONFIDENCE,
        ge=0.0,
        le=1.0,
        description="Predicted rows under it go to experts.",
    )
    folds: Folds = Field(default=5, description="Cross-validation folds (0: none).")
    seed: Seed = 0


class TransitionBatchRequest(BaseModel):
    """Draw a transition's next batch (``campaigns transition next-batch``)."""

    size: SampleSize = Field(default=300, description="Rows to draw.")
    floor: float = Field(
        default=DEFAULT_FLOOR, gt=0.0, le=1.0, description="Share of the draw spread uniformly."
    )
    validate_above: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Rows whose confidence reaches it become confirm-or-reject tasks, in a "
        "separate sample ('<batch>-validate').",
    )
    folds: Folds = 5
    seed: Seed = 0


class TransitionBatchCampaign(BaseModel):
    """The campaign of a drawn batch sample (``campaigns transition create-batch``)."""

    sample_id: str = Field(
        min_length=1, max_length=200, pattern=NAME_PATTERN, description="A sample of the batch."
    )
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    overlap: Overlap = Field(default=1, description="Experts per task.")


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
