"""Planning the next annotation batch of a transition: which rows, with which probabilities.

The model is refitted on everything annotated so far (``dataset.fit_model``), predicts every
queue row no batch has drawn yet, and ``active_batches.draw_batch`` draws ``size`` of them
with probability proportional to ``1 - confidence`` (with the floor). The drawn rows keep
their inclusion probability (for ``estimation.union_weights``) and the model's proposal:
rows it is confident about (``validate_above``) can be sent as validation tasks, where the
expert confirms or rejects the proposed code instead of choosing among the candidates
(``campaigns.labelstudio.transition.validation_tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow
from campaigns.recoding.active_batches import DEFAULT_FLOOR, draw_batch
from campaigns.recoding.candidate_model import ModelConfig
from campaigns.recoding.dataset import DatasetInputs, ModelRun, fit_model, predict_queue

CHOOSE = "choose"
VALIDATE = "validate"


@dataclass
class NextBatch:
    """The drawn rows (queue columns, ``old_code``, ``inclusion_prob``, ``weight``,
    ``proposed_code``, ``confidence``, ``task``) and the design's figures."""

    table: pa.Table
    pool: int
    floor: float
    pi_min: float
    pi_max: float
    run: ModelRun

    @property
    def validate(self) -> int:
        return int(pc.sum(pc.equal(self.table.column("task"), VALIDATE)).as_py() or 0)


def plan_next_batch(
    inputs: DatasetInputs,
    *,
    size: int,
    floor: float = DEFAULT_FLOOR,
    seed: int = 0,
    validate_above: float | None = None,
    config: ModelConfig | None = None,
    folds: int = 5,
    run: ModelRun | None = None,
) -> NextBatch:
    """Draw ``size`` rows of the queue that no batch has drawn (see the module docstring).

    ``run`` reuses a fitted model (simulations); by default the model is fitted here.
    """
    config = config or ModelConfig()
    run = run or fit_model(inputs, config, folds=folds)
    drawn_ids = inputs.drawn.column("request_id").cast(pa.string()).to_pylist()
    predictions = predict_queue(run, inputs.queue, drawn_ids)
    with connect() as con:
        con.register("queue", inputs.queue)
        con.register("predictions", predictions)
        pool = fetch_arrow(
            con,
            """
            SELECT q.* EXCLUDE (code), q.code AS old_code, p.predicted_code AS proposed_code,
                   p.confidence
            FROM queue q JOIN predictions p ON p.request_id = q.request_id::VARCHAR
            ORDER BY q.request_id
            """,
        )
    if pool.num_rows == 0:
        return NextBatch(pool, 0, floor, float("nan"), float("nan"), run)
    confidence = np.nan_to_num(pool.column("confidence").to_numpy(zero_copy_only=False))
    chosen, pi = draw_batch(1.0 - confidence, size, floor=floor, seed=seed)
    table = pool.take(pa.array(chosen))
    drawn_pi = pi[chosen]
    task = np.full(chosen.size, CHOOSE, dtype=object)
    if validate_above is not None:
        task[confidence[chosen] >= validate_above] = VALIDATE
    table = (
        table.append_column("stratum", table.column("old_code"))
        .append_column("inclusion_prob", pa.array(drawn_pi))
        .append_column("weight", pa.array(1.0 / drawn_pi))
        .append_column("task", pa.array(task.tolist(), pa.string()))
    )
    return NextBatch(table, pool.num_rows, floor, float(pi.min()), float(pi.max()), run)
