"""Every input row of a transition with its NAF 2025 code and where that code comes from.

Provenance of a row's ``code``:

- ``univocal``: its old code has one new code (automatic, confidence 1);
- ``expert``: a multivocal row annotated in a batch (the gold code, with the experts'
  ``agreement``: the share of their answers that gave it);
- ``predicted``: the rest of the multivocal queue, coded by the candidate model with a
  calibrated ``confidence`` at or above ``min_confidence``;
- ``to_expert``: a row the model is not confident enough about: no code, its proposal in
  ``predicted_code``, listed for the next batch of experts;
- ``unknown``: experts answered without a code ("none of these", disagreement...), reason
  given;
- ``quarantined``: the input code is missing, malformed or unknown to the correspondence
  (the recoding's reason).

Rows are never dropped or duplicated: the output partitions the input. ``text`` and ``code``
come first, so ``campaigns.lifecycle.training_set.read_training_set`` reads the file as a
training set (rows without a code have a null ``code``: filter on ``provenance`` to choose).

The heavy parts run where they are cheap: joins and unions in DuckDB over Arrow, features in
Arrow and sparse matrices, and the model predicts each distinct (old code, text, context)
once (training sets repeat their texts a lot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow
from campaigns.recoding.candidate_model import (
    Calibration,
    CandidateModel,
    ModelConfig,
    fit_calibration,
    fit_features,
    fit_groups,
    group_candidates,
    training_matrix,
)
from campaigns.recoding.estimation import (
    ANSWERED,
    Interval,
    UnionWeights,
    estimate_split,
    union_weights,
    weighted_ratios,
)
from campaigns.recoding.evaluation import CrossValidation, cross_validate
from campaigns.recoding.features import context_sql
from campaigns.recoding.options import DEFAULT_MIN_CONFIDENCE

PROVENANCES = ("univocal", "expert", "predicted", "to_expert", "unknown", "quarantined")
EXPERT_COLUMNS = ("request_id", "status", "gold_code", "batch")
"""Required columns of the expert rows (optional: ``n_annotations, agreement, task,
proposed_code``)."""


@dataclass
class DatasetInputs:
    """What a transition has produced so far, as Arrow tables.

    ``univocal``, ``queue`` and ``quarantine`` are the recoding's three parts (old code in
    ``code``; ``new_code``, ``candidates`` and ``reason`` respectively). ``experts`` has one row
    per annotated queue row (see ``EXPERT_COLUMNS``), ``drawn`` one row per drawn row of every
    batch (``batch, request_id, inclusion_prob``), ``batches`` the batch ids in drawing order,
    ``titles`` the new codes' titles (a training row each).
    """

    univocal: pa.Table
    queue: pa.Table
    quarantine: pa.Table
    experts: pa.Table
    drawn: pa.Table
    batches: Sequence[str]
    titles: Mapping[str, str]


@dataclass
class ModelRun:
    """The fitted model and what was measured on the way."""

    model: CandidateModel
    weights: UnionWeights
    experts: pd.DataFrame
    cv: CrossValidation | None
    groups: dict[str, tuple[str, ...]]
    training_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class TransitionDataset:
    """The dataset and its figures."""

    table: pa.Table
    counts: dict[str, int]
    run: ModelRun
    split: pa.Table
    min_confidence: float
    validation: Interval | None = None
    """Share of validation tasks whose proposed code the experts confirmed (weighted)."""
    notes: list[str] = field(default_factory=list)

    @property
    def to_experts(self) -> pa.Table:
        return self.table.filter(pc.equal(self.table.column("provenance"), "to_expert"))

    @property
    def expected_accuracy_of_predicted(self) -> float:
        """Mean calibrated confidence of the predicted rows (a label-free estimate)."""
        rows = self.table.filter(pc.equal(self.table.column("provenance"), "predicted"))
        mean = pc.mean(rows.column("confidence")).as_py() if rows.num_rows else None
        return float(mean) if mean is not None else float("nan")


def _queue_view(queue: pa.Table) -> str:
    return f"""
        SELECT request_id::VARCHAR AS request_id, text::VARCHAR AS text, code AS old_code,
               candidates, {context_sql(queue.schema)} AS context
        FROM queue"""


def expert_frame(inputs: DatasetInputs, weights: UnionWeights) -> pd.DataFrame:
    """Answered expert rows of the queue, one per request, with their weights and old code."""
    missing = [c for c in EXPERT_COLUMNS if c not in inputs.experts.column_names]
    if missing:
        raise ValueError(f"expert rows lack {missing}")
    extra = [
        c
        for c in ("n_annotations", "agreement", "task", "proposed_code")
        if c in inputs.experts.column_names
    ]
    with connect() as con:
        con.register("queue", inputs.queue)
        con.register("experts", inputs.experts.select([*EXPERT_COLUMNS, *extra]))
        con.register("w", weights.table)
        frame = fetch_arrow(
            con,
            f"""
            WITH q AS ({_queue_view(inputs.queue)})
            SELECT e.request_id::VARCHAR AS request_id, q.old_code, q.text, q.context,
                   e.status, e.gold_code, e.batch, w.weight
                   {"".join(f", e.{c}" for c in extra)}
            FROM experts e JOIN q ON q.request_id = e.request_id::VARCHAR
            JOIN w ON w.request_id = e.request_id::VARCHAR
            WHERE e.status IN {ANSWERED}
            QUALIFY row_number() OVER (PARTITION BY e.request_id
                                       ORDER BY (e.status = 'coded') DESC, e.batch) = 1
            ORDER BY request_id
            """,
        ).to_pandas()
    for column in ("n_annotations", "agreement", "task", "proposed_code"):
        if column not in frame.columns:
            frame[column] = None
    return frame


def training_table(
    inputs: DatasetInputs,
    experts: pd.DataFrame,
    groups: Mapping[str, tuple[str, ...]],
    config: ModelConfig,
) -> pa.Table:
    """Titles, capped univocal rows and coded expert rows: ``text, context, label, source,
    request_id``."""
    wanted = sorted({code for cands in groups.values() for code in cands})
    titles = pa.table(
        {
            "text": pa.array([inputs.titles.get(c) or c for c in wanted], pa.string()),
            "context": pa.nulls(len(wanted), pa.string()),
            "label": pa.array(wanted, pa.string()),
            "source": pa.array(["title"] * len(wanted), pa.string()),
            "request_id": pa.nulls(len(wanted), pa.string()),
            "old_code": pa.nulls(len(wanted), pa.string()),
            "weight": pa.nulls(len(wanted), pa.float64()),
        }
    )
    coded = experts[(experts["status"] == "coded") & experts["gold_code"].notna()]
    expert_rows = pa.table(
        {
            "text": pa.array(coded["text"].tolist(), pa.string()),
            "context": pa.array(coded["context"].tolist(), pa.string()),
            "label": pa.array(coded["gold_code"].tolist(), pa.string()),
            "source": pa.array(["expert"] * len(coded), pa.string()),
            "request_id": pa.array(coded["request_id"].tolist(), pa.string()),
            "old_code": pa.array(coded["old_code"].tolist(), pa.string()),
            "weight": pa.array(coded["weight"].tolist(), pa.float64()),
        }
    )
    with connect() as con:
        con.register("univocal", inputs.univocal)
        con.register("wanted", pa.table({"code": pa.array(wanted, pa.string())}))
        univocal = fetch_arrow(
            con,
            f"""
            SELECT text::VARCHAR AS text, {context_sql(inputs.univocal.schema)} AS context,
                   new_code AS label, 'univocal' AS source, request_id::VARCHAR AS request_id,
                   NULL::VARCHAR AS old_code, NULL::DOUBLE AS weight
            FROM univocal SEMI JOIN wanted ON univocal.new_code = wanted.code
            QUALIFY row_number() OVER (
                PARTITION BY new_code ORDER BY md5(request_id::VARCHAR || ':' || $seed)
            ) <= $cap
            ORDER BY label, request_id
            """,
            {"seed": str(config.seed), "cap": config.univocal_per_code},
        )
    return pa.concat_tables([titles, univocal.cast(titles.schema), expert_rows])


def fit_model(inputs: DatasetInputs, config: ModelConfig, *, folds: int = 5) -> ModelRun:
    """Weights, training rows, cross-validation, calibration and the final model."""
    answered = inputs.experts.filter(
        pc.is_in(inputs.experts.column("status"), pa.array(list(ANSWERED)))
    )
    weights = union_weights(
        inputs.drawn,
        list(inputs.batches),
        answered.column("request_id").cast(pa.string()).to_pylist(),
    )
    experts = expert_frame(inputs, weights)
    groups = group_candidates(inputs.queue.column("code"), inputs.queue.column("candidates"))
    train = training_table(inputs, experts, groups, config)
    with connect() as con:
        con.register("queue", inputs.queue)
        sample = fetch_arrow(
            con,
            f"""
            SELECT text, context FROM ({_queue_view(inputs.queue)})
            ORDER BY md5(request_id || ':' || {int(config.seed)}) LIMIT {int(config.feature_rows)}
            """,
        )
    features = fit_features(train, sample, config)
    data = training_matrix(features, train)
    cv = (
        cross_validate(data, features, groups, experts, config, folds=folds, seed=config.seed)
        if folds >= 2
        else None
    )
    calibration = (
        fit_calibration(cv.oof_raw, cv.correct, cv.weights) if cv else Calibration(None, 0)
    )
    models = fit_groups(data, groups, config)
    counts = {s: int((data.source == s).sum()) for s in ("title", "univocal", "expert")}
    model = CandidateModel(features, models, config, calibration, counts)
    return ModelRun(model, weights, experts, cv, groups, counts)


def predict_queue(run: ModelRun, queue: pa.Table, exclude: Sequence[str]) -> pa.Table:
    """The model's code and confidence for every queue row not in ``exclude``:
    ``request_id, predicted_code, raw, confidence``.

    Each distinct (old code, text, context) is predicted once, then joined back to its rows.
    """
    with connect() as con:
        con.register("queue", queue)
        con.register("excluded", pa.table({"request_id": pa.array(list(exclude), pa.string())}))
        con.execute(
            f"""
            CREATE TEMP TABLE pending AS
            SELECT request_id, old_code, text, coalesce(context, '') AS context_key
            FROM ({_queue_view(queue)}) q ANTI JOIN excluded USING (request_id)
            """
        )
        distinct = fetch_arrow(
            con, "SELECT DISTINCT old_code, text, context_key FROM pending ORDER BY ALL"
        )
        predictions = run.model.predict(
            distinct.column("old_code"), distinct.column("text"), distinct.column("context_key")
        )
        con.register(
            "predicted",
            distinct.append_column("predicted_code", predictions.code)
            .append_column("raw", pa.array(predictions.raw))
            .append_column("confidence", pa.array(predictions.confidence)),
        )
        return fetch_arrow(
            con,
            """
            SELECT p.request_id, d.predicted_code, d.raw, d.confidence
            FROM pending p JOIN predicted d USING (old_code, text, context_key)
            """,
        )


def assemble(
    inputs: DatasetInputs,
    experts: pd.DataFrame,
    predictions: pa.Table,
    *,
    min_confidence: float,
) -> pa.Table:
    """The three parts with code and provenance, one table (DuckDB, UNION ALL BY NAME)."""
    expert_table = pa.Table.from_pandas(
        experts[
            ["request_id", "status", "gold_code", "batch", "weight", "n_annotations", "agreement"]
        ].astype({"n_annotations": "float64", "agreement": "float64"}),
        preserve_index=False,
    )
    with connect() as con:
        con.register("univocal", inputs.univocal)
        con.register("queue", inputs.queue)
        con.register("quarantine", inputs.quarantine)
        con.register("experts", expert_table)
        con.register("predictions", predictions)
        uni_extra = _extra(inputs.univocal, {"request_id", "text", "code", "new_code"})
        queue_extra = _extra(
            inputs.queue, {"request_id", "text", "code", "candidates", "n_candidates"}, "q."
        )
        bad_extra = _extra(inputs.quarantine, {"request_id", "text", "code", "reason"})
        return fetch_arrow(
            con,
            f"""
            SELECT request_id::VARCHAR AS request_id, text::VARCHAR AS text,
                   new_code::VARCHAR AS code, code::VARCHAR AS old_code,
                   'univocal' AS provenance, 1.0::DOUBLE AS confidence {uni_extra}
            FROM univocal
            UNION ALL BY NAME
            SELECT q.request_id::VARCHAR AS request_id, q.text::VARCHAR AS text,
                   CASE WHEN e.status = 'coded' THEN e.gold_code
                        WHEN e.status IS NOT NULL THEN NULL
                        WHEN p.confidence >= $min THEN p.predicted_code END AS code,
                   q.code::VARCHAR AS old_code,
                   CASE WHEN e.status = 'coded' THEN 'expert'
                        WHEN e.status IS NOT NULL OR p.predicted_code IS NULL THEN 'unknown'
                        WHEN p.confidence >= $min THEN 'predicted'
                        ELSE 'to_expert' END AS provenance,
                   CASE WHEN e.status IS NULL THEN p.confidence END AS confidence,
                   CASE WHEN e.status IS NULL THEN p.predicted_code END AS predicted_code,
                   e.agreement, e.n_annotations::BIGINT AS n_annotations, e.weight,
                   e.batch,
                   CASE WHEN e.status IS NOT NULL AND e.status <> 'coded'
                            THEN 'experts: ' || e.status
                        WHEN e.status IS NULL AND p.predicted_code IS NULL
                            THEN 'no model for this old code'
                        WHEN e.status IS NULL AND p.confidence < $min
                            THEN 'confidence ' || round(p.confidence, 3)::VARCHAR
                                 || ' < ' || $min::VARCHAR END AS reason,
                   q.candidates {queue_extra}
            FROM queue q
            LEFT JOIN experts e ON e.request_id = q.request_id::VARCHAR
            LEFT JOIN predictions p
                   ON e.status IS NULL AND p.request_id = q.request_id::VARCHAR
            UNION ALL BY NAME
            SELECT request_id::VARCHAR AS request_id, text::VARCHAR AS text,
                   NULL::VARCHAR AS code, code::VARCHAR AS old_code,
                   'quarantined' AS provenance, reason {bad_extra}
            FROM quarantine
            """,
            {"min": float(min_confidence)},
        )


def _extra(table: pa.Table, known: set[str], prefix: str = "") -> str:
    """``, "col1", "col2"`` for the input's other columns (context...), kept as they are."""
    return "".join(f', {prefix}"{c}"' for c in table.column_names if c not in known)


def build_dataset(
    inputs: DatasetInputs,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    config: ModelConfig | None = None,
    folds: int = 5,
    run: ModelRun | None = None,
    predictions: pa.Table | None = None,
) -> TransitionDataset:
    """Fit, measure, predict and assemble (see the module docstring).

    ``run`` and ``predictions`` reuse a fitted model and its predictions (benchmarks time
    each step).
    """
    config = config or ModelConfig()
    run = run or fit_model(inputs, config, folds=folds)
    if predictions is None:
        predictions = predict_queue(run, inputs.queue, run.experts["request_id"].tolist())
    table = assemble(inputs, run.experts, predictions, min_confidence=min_confidence)
    counts = dict.fromkeys(PROVENANCES, 0)
    provenance = table.column("provenance").value_counts()
    for item in provenance.to_pylist():
        counts[item["values"]] = int(item["counts"])
    notes = [
        f"batch {b} has no answer yet: its {n} drawn rows are not represented in the estimates"
        for b, n in run.weights.left_out.items()
    ]
    if not run.model.calibration.calibrated:
        notes.append(
            f"confidence not calibrated ({run.model.calibration.rows} evaluated expert rows, "
            "fewer than 30): raw top probabilities"
        )
    return TransitionDataset(
        table=table,
        counts=counts,
        run=run,
        split=estimate_split(
            pa.Table.from_pandas(
                run.experts[["old_code", "status", "gold_code", "weight"]], preserve_index=False
            )
        ),
        min_confidence=min_confidence,
        validation=validation_confirmed(run.experts),
        notes=notes,
    )


def validation_confirmed(experts: pd.DataFrame) -> Interval | None:
    """Weighted share of validation tasks whose proposal the experts kept (None without any).

    A direct, design-weighted measure of the proposing model's accuracy on the rows it was
    confident about: confirmed = the gold code is the proposed code; a correction, "none of
    these" or a bare rejection count as not confirmed.
    """
    answered = ["coded", "none_of_these", "rejected"]
    rows = experts[(experts["task"] == "validate") & experts["status"].isin(answered)]
    if rows.empty:
        return None
    kept = ((rows["status"] == "coded") & (rows["gold_code"] == rows["proposed_code"])).to_numpy(
        dtype=np.float64
    )
    return weighted_ratios(
        {"confirmed": kept},
        np.ones(len(rows)),
        rows["weight"].to_numpy(dtype=np.float64),
        rows["batch"].to_numpy(dtype=object),
    )["confirmed"]
