"""A transition campaign's dataset and next batch, read from and written to its state.

Where things are. ``campaigns transition create NAME`` stored the recoding's three parts under
``transition/NAME/`` and registered the first batch: the campaign's own simple random
sample. Each ``next-batch`` registers a new sample (``design='pps-uncertainty'``, its
``design_params`` naming the transition, the batch and its round) whose Parquet file holds
the drawn rows with their inclusion probabilities; a batch drawn with validation tasks has
two samples, its ``choose`` part and its ``validate`` part. The experts' answers are read
from the latest export of every campaign created on those samples.

Outputs, written atomically through ``Storage``: ``transition/NAME/dataset.parquet`` (every
input row, its code and provenance), ``split.parquet`` (estimated split per old code) and
``to_experts.parquet`` (rows under the confidence threshold).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session, col, select

from campaigns.config import Settings
from campaigns.duck import connect, fetch_arrow
from campaigns.errors import ConflictError, EmptySelectionError, InvalidArgumentError, NotFoundError
from campaigns.gold.store import latest_annotations, latest_gold
from campaigns.labelstudio.transition.validation_tasks import VALIDATION_SAMPLE_SUFFIX
from campaigns.lifecycle.transition import TRANSITION_DIR
from campaigns.recoding.active_batches import DEFAULT_FLOOR
from campaigns.recoding.candidate_model import ModelConfig
from campaigns.recoding.dataset import (
    DEFAULT_MIN_CONFIDENCE,
    DatasetInputs,
    TransitionDataset,
    build_dataset,
)
from campaigns.recoding.estimation import Interval
from campaigns.recoding.next_batch import CHOOSE, VALIDATE, NextBatch, plan_next_batch
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignCreate, CampaignKind, Sample
from campaigns.storage import Storage, sample_key

BATCH_KIND = "transition-batch"
BATCH_DESIGN = "pps-uncertainty"
QUARANTINE_COLUMNS = ("request_id", "text", "code", "reason")


class Workspace(Protocol):
    """What the workflow works with, passed in by its caller (``CampaignService`` passes
    itself): the campaign database's session, the storage root and the settings."""

    @property
    def session(self) -> Session: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def settings(self) -> Settings: ...


@dataclass
class Batch:
    """One annotation batch: its samples (parts) and the campaigns annotating them."""

    id: str
    round: int
    samples: list[Sample]
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(s.sample_size for s in self.samples)


def _params(sample: Sample) -> dict[str, object]:
    try:
        params = json.loads(sample.design_params or "{}")
    except json.JSONDecodeError:
        return {}
    return params if isinstance(params, dict) else {}


def transition_campaign(workspace: Workspace, ref: int | str) -> Campaign:
    """The campaign ``ref``, refused unless it is a transition campaign."""
    campaign = crud.get_campaign(workspace.session, ref)
    if campaign.kind != CampaignKind.TRANSITION:
        raise InvalidArgumentError(
            f"Campaign {campaign.name!r} is a {campaign.kind} campaign, not a transition one.",
            "Give the name of a campaign made by 'campaigns transition create'.",
        )
    return campaign


def transition_batches(session: Session, campaign: Campaign) -> list[Batch]:
    """The first batch (the campaign's own sample), then every registered next batch."""
    first = session.get(Sample, campaign.sample_id)
    if first is None:
        raise NotFoundError(f"Campaign {campaign.name!r} has no sample {campaign.sample_id!r}.")
    batches = [Batch(first.id, 1, [first])]
    grouped: dict[str, Batch] = {}
    for sample in session.exec(select(Sample).where(col(Sample.design) == BATCH_DESIGN)):
        params = _params(sample)
        if params.get("kind") != BATCH_KIND or params.get("transition") != campaign.name:
            continue
        batch_id = str(params["batch"])
        grouped.setdefault(batch_id, Batch(batch_id, int(str(params["round"])), []))
        grouped[batch_id].samples.append(sample)
    batches += sorted(grouped.values(), key=lambda b: b.round)
    for batch in batches:
        ids = [s.id for s in batch.samples]
        query = select(Campaign).where(
            col(Campaign.sample_id).in_(ids), col(Campaign.parent_id).is_(None)
        )
        batch.campaigns = list(session.exec(query.order_by(col(Campaign.id))))
    return batches


def _part(storage: Storage, folder: str, name: str) -> pa.Table | None:
    path = f"{folder}/{name}"
    return storage.read_table(path) if storage.exists(path) else None


def _answers(workspace: Workspace, campaign: Campaign, batch: str) -> pa.Table | None:
    """Gold rows of the campaign's latest export with the experts' agreement (None if none)."""
    try:
        gold = latest_gold(workspace.storage, campaign, workspace.session)
        annotations = latest_annotations(workspace.storage, campaign, workspace.session)
    except (EmptySelectionError, NotFoundError):
        return None
    optional = [c for c in ("task", "proposed_code") if c in gold.column_names]
    with connect() as con:
        con.register("gold", gold)
        con.register("ann", annotations.select(["request_id", "status", "code"]))
        return fetch_arrow(
            con,
            f"""
            SELECT g.request_id::VARCHAR AS request_id, g.status, g.gold_code::VARCHAR AS gold_code,
                   $batch AS batch, g.n_annotations,
                   (SELECT avg(CASE WHEN a.status = 'coded' AND a.code = g.gold_code
                                    THEN 1.0 ELSE 0.0 END)
                    FROM ann a WHERE a.request_id = g.request_id) AS agreement
                   {"".join(f", g.{c}" for c in optional)}
            FROM gold g
            """,
            {"batch": batch},
        )


def load_inputs(workspace: Workspace, campaign: Campaign) -> tuple[DatasetInputs, list[Batch]]:
    """Everything the transition has produced so far, as ``DatasetInputs``."""
    from campaigns.nomenclatures import new_nomenclature

    storage = workspace.storage
    folder = f"{TRANSITION_DIR}/{campaign.name}"
    univocal = _part(storage, folder, "univocal.parquet")
    queue = _part(storage, folder, "multivocal_queue.parquet")
    if univocal is None or queue is None:
        raise NotFoundError(
            f"No recoded rows under {storage.uri(folder)}.",
            "The transition's files are written by 'campaigns transition create'.",
        )
    quarantine = _part(storage, folder, "quarantine.parquet") or pa.table(
        {c: pa.array([], pa.string()) for c in QUARANTINE_COLUMNS}
    )
    batches = transition_batches(workspace.session, campaign)
    drawn_parts, answer_parts = [], []
    for batch in batches:
        for sample in batch.samples:
            rows = storage.read_table(
                sample_key(sample.id), columns=["request_id", "inclusion_prob"]
            )
            drawn_parts.append(
                pa.table(
                    {
                        "batch": pa.array([batch.id] * rows.num_rows, pa.string()),
                        "request_id": rows.column("request_id").cast(pa.string()),
                        "inclusion_prob": rows.column("inclusion_prob").cast(pa.float64()),
                    }
                )
            )
        for campaign_of_batch in batch.campaigns:
            answers = _answers(workspace, campaign_of_batch, batch.id)
            if answers is not None and answers.num_rows:
                answer_parts.append(answers)
    experts = (
        pa.concat_tables(answer_parts, promote_options="default")
        if answer_parts
        else pa.table(
            {
                "request_id": pa.array([], pa.string()),
                "status": pa.array([], pa.string()),
                "gold_code": pa.array([], pa.string()),
                "batch": pa.array([], pa.string()),
            }
        )
    )
    nomenclature = new_nomenclature(workspace.settings)
    codes = {c for cands in queue.column("candidates").to_pylist() for c in cands or []}
    titles = {c: nomenclature.title(c) or c for c in sorted(codes)}
    inputs = DatasetInputs(
        univocal=univocal,
        queue=queue,
        quarantine=quarantine,
        experts=experts,
        drawn=pa.concat_tables(drawn_parts),
        batches=[b.id for b in batches],
        titles=titles,
    )
    return inputs, batches


@dataclass
class DatasetFiles:
    dataset: str
    split: str
    to_experts: str


def transition_dataset(
    workspace: Workspace,
    ref: int | str,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    folds: int = 5,
    seed: int = 0,
) -> tuple[TransitionDataset, DatasetFiles, list[Batch]]:
    """Build the transition's dataset and write it beside its recoded parts."""
    if not 0.0 <= min_confidence <= 1.0:
        raise InvalidArgumentError("--min-confidence is a probability between 0 and 1.")
    campaign = transition_campaign(workspace, ref)
    inputs, batches = load_inputs(workspace, campaign)
    result = build_dataset(
        inputs, min_confidence=min_confidence, config=ModelConfig(seed=seed), folds=folds
    )
    folder = f"{TRANSITION_DIR}/{campaign.name}"
    storage = workspace.storage
    files = DatasetFiles(
        dataset=storage.write_table(result.table, f"{folder}/dataset.parquet"),
        split=storage.write_table(result.split, f"{folder}/split.parquet"),
        to_experts=storage.write_table(result.to_experts, f"{folder}/to_experts.parquet"),
    )
    return result, files, batches


@dataclass
class RegisteredBatch:
    plan: NextBatch
    batch_id: str
    round: int
    samples: list[Sample]


def _refuse_unanswered(batches: Sequence[Batch], inputs: DatasetInputs) -> None:
    answered = set(inputs.experts.column("request_id").to_pylist())
    drawn = inputs.drawn.to_pydict()
    for batch in batches:
        ids = {r for r, b in zip(drawn["request_id"], drawn["batch"], strict=True) if b == batch.id}
        if ids & answered:
            continue
        where = (
            f"campaign(s) {', '.join(c.name for c in batch.campaigns)}"
            if batch.campaigns
            else "no campaign yet"
        )
        raise ConflictError(
            f"Batch {batch.round} ({batch.id}, {where}) has no exported answer yet: a new batch "
            "would leave its rows out of every estimate.",
            "Create its campaign ('campaigns transition create-batch'), push it, let experts "
            "answer, run 'campaigns export', then draw the next batch.",
        )


def register_next_batch(
    workspace: Workspace,
    ref: int | str,
    *,
    size: int,
    floor: float = DEFAULT_FLOOR,
    seed: int = 0,
    validate_above: float | None = None,
    folds: int = 5,
) -> RegisteredBatch:
    """Draw the next batch of the transition and register it as sample(s); push nothing."""
    if size < 1:
        raise InvalidArgumentError("--size must be at least 1.")
    if not 0.0 < floor <= 1.0:
        raise InvalidArgumentError("--floor is a share in (0, 1].")
    campaign = transition_campaign(workspace, ref)
    inputs, batches = load_inputs(workspace, campaign)
    _refuse_unanswered(batches, inputs)
    plan = plan_next_batch(
        inputs,
        size=size,
        floor=floor,
        seed=seed,
        validate_above=validate_above,
        config=ModelConfig(seed=seed),
        folds=folds,
    )
    if plan.table.num_rows == 0:
        raise EmptySelectionError(
            f"Every multivocal row of {campaign.name!r} has been drawn already.",
            f"Build the dataset: campaigns transition dataset {campaign.name}",
        )
    round_ = len(batches) + 1
    params: dict[str, object] = {
        "kind": BATCH_KIND,
        "transition": campaign.name,
        "round": round_,
        "size": size,
        "floor": floor,
        "validate_above": validate_above,
    }
    digest = hashlib.sha1(json.dumps(params | {"seed": seed}, sort_keys=True).encode())
    batch_id = f"transition-batch-{digest.hexdigest()[:10]}"
    samples = []
    today = datetime.now(UTC).date()
    for part in (CHOOSE, VALIDATE):
        rows = plan.table.filter(pc.equal(plan.table.column("task"), part))
        if rows.num_rows == 0:
            continue
        sample_id = batch_id if part == CHOOSE else f"{batch_id}{VALIDATION_SAMPLE_SUFFIX}"
        rows = (
            rows.append_column("sample_id", pa.array([sample_id] * rows.num_rows, pa.string()))
            .append_column("batch", pa.array([batch_id] * rows.num_rows, pa.string()))
            .append_column("round", pa.array([round_] * rows.num_rows, pa.int64()))
        )
        uri = workspace.storage.write_table(rows, sample_key(sample_id))
        sample = workspace.session.get(Sample, sample_id) or Sample(
            id=sample_id,
            window_start=today,
            window_end=today,
            design=BATCH_DESIGN,
            design_params=json.dumps(params | {"batch": batch_id, "part": part}),
            seed=seed,
            population_size=plan.pool,
            sample_size=rows.num_rows,
            uri=uri,
        )
        workspace.session.add(sample)
        samples.append(sample)
    workspace.session.commit()
    for sample in samples:
        workspace.session.refresh(sample)
    return RegisteredBatch(plan, batch_id, round_, samples)


def batch_campaign(
    workspace: Workspace,
    ref: int | str,
    sample_id: str,
    *,
    name: str | None = None,
    overlap: int = 1,
) -> CampaignCreate:
    """The transition campaign to create on a registered batch sample.

    On the batch's 'choose' part experts pick among candidates; on its 'validate' part they
    confirm or reject the proposed code (the kit follows the sample, see
    ``campaigns.labelstudio.transition.validation_tasks``). Both answer into the dataset.
    """
    campaign = transition_campaign(workspace, ref)
    sample = workspace.session.get(Sample, sample_id)
    params = _params(sample) if sample is not None else {}
    if sample is None or params.get("transition") != campaign.name:
        raise NotFoundError(
            f"No batch sample {sample_id!r} of the transition {campaign.name!r}.",
            f"Draw one with 'campaigns transition next-batch {campaign.name}'.",
        )
    validate = params.get("part") == VALIDATE
    suffix = VALIDATION_SAMPLE_SUFFIX if validate else ""
    what = "validation of proposed codes" if validate else "choice among candidates"
    return CampaignCreate(
        name=name or f"{campaign.name}-r{params['round']}{suffix}",
        sample_id=sample_id,
        kind=CampaignKind.TRANSITION,
        annotations_per_task=overlap,
        description=f"NAF rév.2 -> NAF 2025 transition, batch {params['round']} ({what})",
    )


def _interval_json(interval: Interval | None) -> dict[str, float | int | None] | None:
    if interval is None:
        return None
    finite = not math.isnan(interval.estimate)
    return {
        "estimate": interval.estimate if finite else None,
        "ci_low": interval.ci_low if finite else None,
        "ci_high": interval.ci_high if finite else None,
        "n": interval.n,
    }


def dataset_summary(
    result: TransitionDataset, files: DatasetFiles, batches: Sequence[Batch]
) -> dict[str, object]:
    """What ``campaigns transition dataset`` prints, as JSON (the API job's result)."""
    run = result.run
    expected = result.expected_accuracy_of_predicted
    return {
        "rows": sum(result.counts.values()),
        "counts": dict(result.counts),
        "files": {"dataset": files.dataset, "split": files.split, "to_experts": files.to_experts},
        "batches": len(batches),
        "expert_rows": len(run.experts),
        "training_counts": dict(run.training_counts),
        "cross_validation": None
        if run.cv is None
        else {
            "folds": run.cv.folds,
            "rows": run.cv.rows,
            "accuracy": {k: _interval_json(v) for k, v in run.cv.accuracy.items()},
        },
        "calibrated": run.model.calibration.calibrated,
        "expected_accuracy_of_predicted": None if math.isnan(expected) else expected,
        "validation_confirmed": _interval_json(result.validation),
        "min_confidence": result.min_confidence,
        "notes": list(result.notes),
    }


def batch_summary(registered: RegisteredBatch) -> dict[str, object]:
    """What ``campaigns transition next-batch`` prints, as JSON (the API job's result)."""
    plan = registered.plan
    return {
        "batch_id": registered.batch_id,
        "round": registered.round,
        "pool": plan.pool,
        "floor": plan.floor,
        "pi_min": plan.pi_min,
        "pi_max": plan.pi_max,
        "samples": [
            {
                "id": s.id,
                "size": s.sample_size,
                "part": VALIDATE if s.id.endswith(VALIDATION_SAMPLE_SUFFIX) else CHOOSE,
            }
            for s in registered.samples
        ],
        "model_accuracy": None
        if plan.run.cv is None
        else _interval_json(plan.run.cv.accuracy.get("model")),
    }
