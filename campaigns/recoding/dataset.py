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

Why over 500 lines: the dataset is one pass over the transition's rows (univocal, expert,
predicted, to_expert) and the split per old code that goes with it; the candidate model,
its evaluation and the batches live in their own modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow
from campaigns.metrics.intervals import Z95, wilson_bounds
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
    """The answered expert rows as the cross-validation's numpy work reads them."""
    cv: CrossValidation | None
    groups: dict[str, tuple[str, ...]]
    training_counts: dict[str, int] = field(default_factory=dict)
    expert_rows: pa.Table | None = None
    """The same rows as Arrow (:func:`expert_table`), which every table here is built from."""


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
    def accuracy_by_old_code(self) -> pa.Table:
        """The model's cross-validated accuracy per old code, worst first."""
        return accuracy_by_old_code(self.run.cv)

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


_EXTRA_EXPERT_COLUMNS = {
    "n_annotations": pa.float64(),
    "agreement": pa.float64(),
    "task": pa.string(),
    "proposed_code": pa.string(),
}


def expert_table(inputs: DatasetInputs, weights: UnionWeights) -> pa.Table:
    """Answered expert rows of the queue, one per request, with their weights and old code:
    ``request_id, old_code, text, context, status, gold_code, batch, weight`` and the optional
    columns (null when the experts table lacks them). Arrow from DuckDB, never through pandas:
    a missing context stays a null (pandas 3 would make it a NaN float)."""
    missing = [c for c in EXPERT_COLUMNS if c not in inputs.experts.column_names]
    if missing:
        raise ValueError(f"expert rows lack {missing}")
    extra = [
        f"e.{c}::{'DOUBLE' if kind == pa.float64() else 'VARCHAR'} AS {c}"
        if c in inputs.experts.column_names
        else f"NULL::{'DOUBLE' if kind == pa.float64() else 'VARCHAR'} AS {c}"
        for c, kind in _EXTRA_EXPERT_COLUMNS.items()
    ]
    present = [c for c in _EXTRA_EXPERT_COLUMNS if c in inputs.experts.column_names]
    with connect() as con:
        con.register("queue", inputs.queue)
        con.register("experts", inputs.experts.select([*EXPERT_COLUMNS, *present]))
        con.register("w", weights.table)
        return fetch_arrow(
            con,
            f"""
            WITH q AS ({_queue_view(inputs.queue)})
            SELECT e.request_id::VARCHAR AS request_id, q.old_code, q.text,
                   q.context::VARCHAR AS context, e.status, e.gold_code::VARCHAR AS gold_code,
                   e.batch::VARCHAR AS batch, w.weight::DOUBLE AS weight, {", ".join(extra)}
            FROM experts e JOIN q ON q.request_id = e.request_id::VARCHAR
            JOIN w ON w.request_id = e.request_id::VARCHAR
            WHERE e.status IN {ANSWERED}
            QUALIFY row_number() OVER (PARTITION BY e.request_id
                                       ORDER BY (e.status = 'coded') DESC, e.batch) = 1
            ORDER BY request_id
            """,
        )


def training_table(
    inputs: DatasetInputs,
    experts: pa.Table,
    groups: Mapping[str, tuple[str, ...]],
    config: ModelConfig,
) -> pa.Table:
    """Titles, capped univocal rows and coded expert rows (``experts``: :func:`expert_table`):
    ``text, context, label, source, request_id``."""
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
    with connect() as con:
        con.register("univocal", inputs.univocal)
        con.register("experts", experts)
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
        expert_rows = fetch_arrow(
            con,
            """
            SELECT text, context, gold_code AS label, 'expert' AS source, request_id,
                   old_code, weight
            FROM experts WHERE status = 'coded' AND gold_code IS NOT NULL
            ORDER BY request_id
            """,
        )
    return pa.concat_tables([titles, univocal.cast(titles.schema), expert_rows.cast(titles.schema)])


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
    rows = expert_table(inputs, weights)
    experts = rows.to_pandas()
    groups = group_candidates(inputs.queue.column("code"), inputs.queue.column("candidates"))
    train = training_table(inputs, rows, groups, config)
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
    return ModelRun(model, weights, experts, cv, groups, counts, expert_rows=rows)


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
    experts: pa.Table,
    predictions: pa.Table,
    *,
    min_confidence: float,
) -> pa.Table:
    """The three parts with code and provenance, one table (DuckDB, UNION ALL BY NAME);
    ``experts`` as :func:`expert_table` gives them."""
    expert_table = experts.select(
        ["request_id", "status", "gold_code", "batch", "weight", "n_annotations", "agreement"]
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
    experts = run.expert_rows
    if experts is None:  # a run built by hand around a frame
        experts = pa.Table.from_pandas(run.experts, preserve_index=False)
    if predictions is None:
        predictions = predict_queue(run, inputs.queue, experts.column("request_id").to_pylist())
    table = assemble(inputs, experts, predictions, min_confidence=min_confidence)
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
        split=complete_split(
            estimate_split(experts.select(["old_code", "status", "gold_code", "weight"])),
            run.groups,
            run.cv,
        ),
        min_confidence=min_confidence,
        validation=validation_confirmed(experts),
        notes=notes,
    )


def validation_confirmed(experts: pa.Table) -> Interval | None:
    """Weighted share of validation tasks whose proposal the experts kept (None without any).

    A direct, design-weighted measure of the proposing model's accuracy on the rows it was
    confident about: confirmed = the gold code is the proposed code; a correction, "none of
    these" or a bare rejection count as not confirmed.
    """
    answered = pa.array(["coded", "none_of_these", "rejected"])
    rows = experts.filter(
        pc.and_(
            pc.fill_null(pc.equal(experts.column("task"), "validate"), False),
            pc.is_in(experts.column("status"), answered),
        )
    )
    if rows.num_rows == 0:
        return None
    kept = pc.fill_null(
        pc.and_(
            pc.equal(rows.column("status"), "coded"),
            pc.equal(rows.column("gold_code"), rows.column("proposed_code")),
        ),
        False,
    )
    return weighted_ratios(
        {"confirmed": kept.to_numpy(zero_copy_only=False).astype(np.float64)},
        np.ones(rows.num_rows),
        rows.column("weight").to_numpy(zero_copy_only=False).astype(np.float64),
        np.asarray(rows.column("batch").to_pylist(), dtype=object),
    )["confirmed"]


SPLIT_ACCURACY_COLUMNS = ("model_accuracy", "model_accuracy_low", "model_accuracy_high")


def complete_split(
    split: pa.Table, groups: Mapping[str, Sequence[str]], cv: CrossValidation | None
) -> pa.Table:
    """The split with every candidate of each annotated old code, and the model's accuracy.

    A candidate no expert has picked yet is listed at share 0 with the Wilson upper bound of 0
    picks over the old code's effective size (``z^2 / (n_eff + z^2)``): left out, the others
    would read as the whole story (one candidate at 1.000 [0.829, 1.000]). Each row also
    carries its old code's cross-validated model accuracy (``model_accuracy``, its Wilson
    interval over the Kish effective size, and ``model_evaluated`` rows; null without
    cross-validation): where it is low, experts are worth sending.
    """
    pairs = pa.table(
        {
            "old_code": pa.array([o for o, cands in groups.items() for _ in cands], pa.string()),
            "new_code": pa.array([c for cands in groups.values() for c in cands], pa.string()),
        }
    )
    accuracy = accuracy_by_old_code(cv)
    with connect() as con:
        con.register("split", split)
        con.register("pairs", pairs)
        con.register("accuracy", accuracy)
        return fetch_arrow(
            con,
            """
            WITH olds AS (SELECT DISTINCT old_code, n_old, effective_n FROM split),
            listed AS (
                SELECT * FROM split
                UNION ALL
                SELECT p.old_code, p.new_code, 0::BIGINT AS n, o.n_old, 0.0 AS share,
                       0.0 AS ci_low, $z2 / (o.effective_n + $z2) AS ci_high, o.effective_n,
                       0.0 AS estimated_rows
                FROM pairs p JOIN olds o USING (old_code)
                ANTI JOIN split s ON s.old_code = p.old_code AND s.new_code = p.new_code
            )
            SELECT r.*, a.accuracy AS model_accuracy, a.ci_low AS model_accuracy_low,
                   a.ci_high AS model_accuracy_high, a.evaluated AS model_evaluated
            FROM listed r LEFT JOIN accuracy a USING (old_code)
            ORDER BY r.old_code, r.share DESC, r.new_code
            """,
            {"z2": Z95 * Z95},
        )


def accuracy_by_old_code(cv: CrossValidation | None) -> pa.Table:
    """Per old code, the cross-validated model accuracy: ``old_code, evaluated, accuracy,
    ci_low, ci_high`` (design-weighted, Wilson over the Kish effective size), worst first."""
    schema = pa.schema(
        [
            ("old_code", pa.string()),
            ("evaluated", pa.int64()),
            ("accuracy", pa.float64()),
            ("ci_low", pa.float64()),
            ("ci_high", pa.float64()),
        ]
    )
    if cv is None or len(cv.old_codes) == 0:
        return schema.empty_table()
    with connect() as con:
        con.register(
            "evaluated_rows",
            pa.table(
                {
                    "old_code": pa.array(cv.old_codes.tolist(), pa.string()),
                    "correct": pa.array(cv.correct, pa.float64()),
                    "weight": pa.array(cv.weights, pa.float64()),
                }
            ),
        )
        per_code = fetch_arrow(
            con,
            """
            SELECT old_code, count(*) AS evaluated,
                   sum(weight * correct) / sum(weight) AS accuracy,
                   sum(weight) ^ 2 / sum(weight ^ 2) AS effective_n
            FROM evaluated_rows GROUP BY old_code ORDER BY accuracy, old_code
            """,
        )
    accuracy = per_code.column("accuracy").to_numpy()
    low, high = wilson_bounds(accuracy, per_code.column("effective_n").to_numpy())
    return pa.table(
        {
            "old_code": per_code.column("old_code"),
            "evaluated": per_code.column("evaluated"),
            "accuracy": accuracy,
            "ci_low": low,
            "ci_high": high,
        },
        schema=schema,
    )
