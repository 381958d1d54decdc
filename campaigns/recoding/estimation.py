"""Design weights over the union of annotation batches, and the estimates they make unbiased.

The design. The multivocal queue ``U`` (``N`` rows) is annotated in batches. Batch 1 is the
campaign's simple random sample; batch ``k >= 2`` is drawn from the rows no earlier batch
drew, ``R_k``, with inclusion probabilities ``pi_ik`` that depend on everything annotated
before (the model's uncertainty, ``active_batches``). ``pi_ik`` is known and positive for
every row of ``R_k`` (the floor), which is all Horvitz-Thompson needs.

The estimator. For a per-row quantity ``y`` (1 if the row's new code is ``c``, 1 if a model
is right...), the total ``T = sum_U y`` is estimated after batch ``k`` by::

    T_k = sum_{i drawn before k} y_i  +  sum_{i in batch k} y_i / pi_ik

the rows already annotated count as themselves, the rest of the queue, ``R_k``, by batch
``k``'s Horvitz-Thompson estimator. Given the past, ``E[T_k] = T`` exactly, whatever the past
did to ``pi_k``: each ``T_k`` is unbiased. They are combined with fixed weights
``lambda_k = n_k / sum_j n_j`` (batch sizes, fixed by the user before the batch's labels
exist), so ``T_hat = sum_k lambda_k T_k`` is unbiased too (a convex combination of
conditionally unbiased estimators with predictable weights: a martingale argument, as for
the LURE estimator of Kossen et al., "Active Testing", ICML 2021; Sawade et al., ICML 2010,
use the same importance weights ``1/pi`` for active risk estimation). Expanding the sum,
``T_hat = sum_i W_i y_i`` with one weight per annotated row of batch ``j``::

    W_i = lambda_j / pi_ij + sum_{k > j} lambda_k

With batch 1 alone this is ``N / n``, the simple random sample's weight. Why not just
``1/pi`` over the union: batch ``k`` only covers ``R_k``, so summing every batch's
``1/pi``-weighted rows counts the queue several times.

Non-response. A drawn row without an answer (not yet annotated, skipped) is missing; within
a batch, answers are assumed missing at random (experts do not choose rows by their new
code), so the answered rows ``a_j`` of a batch stand for its ``n_j`` drawn rows: ``W_i`` is
multiplied by ``n_j / a_j``. A batch without any answer is left out of the combination
(its rows are then not represented, a bias of at most ``n_j / N`` that is reported).

Estimates. Totals are ``sum W_i y_i`` (exactly unbiased). Shares within an old code (the
split) and accuracies are ratios ``sum W y / sum W d`` (Hájek): unbiased to first order,
they sum to one over the candidates, which back-casting needs. Intervals: split shares use
Wilson's interval at Kish's effective sample size ``(sum W)^2 / sum W^2`` (closed form,
sensible for the old codes with two or three annotated rows); accuracies use the Rao-Wu
stratified bootstrap of ``campaigns.metrics.bootstrap`` with batches as strata.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.metrics.bootstrap import stratified_bootstrap, wilson

ANSWERED = ("coded", "none_of_these", "cannot_code", "disagreement", "invalid", "rejected")
"""Gold statuses that are an answer (a skipped or pending row is non-response); ``rejected``
is a validation task's "no" that names no code."""


@dataclass
class UnionWeights:
    """One weight per answered row, and what the combination left out."""

    table: pa.Table
    """``request_id, batch, weight, inclusion_prob``."""
    batch_shares: dict[str, float] = field(default_factory=dict)
    """``lambda_k`` of each batch kept in the combination."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Batches without any answer, with their drawn size."""


def union_weights(drawn: pa.Table, batches: Sequence[str], answered: Sequence[str]) -> UnionWeights:
    """Weights ``W_i`` of the answered rows over the union of ``batches`` (in drawing order).

    ``drawn`` has one row per drawn unit: ``batch, request_id, inclusion_prob`` (the
    probability within its batch, given the past); ``answered`` lists the request ids with an
    answer. See the module docstring for the formula.
    """
    batch = np.asarray(drawn.column("batch").to_pylist(), dtype=object)
    request = drawn.column("request_id").cast(pa.string())
    pi = np.asarray(drawn.column("inclusion_prob").to_numpy(zero_copy_only=False), dtype=float)
    if np.any(~(pi > 0)) or np.any(pi > 1 + 1e-9):
        raise ValueError("inclusion probabilities must be in (0, 1]")
    answered_mask = np.asarray(
        pc.is_in(request, value_set=pa.array(list(answered), pa.string()))
        .fill_null(False)
        .to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    sizes = {b: int((batch == b).sum()) for b in batches}
    answers = {b: int(answered_mask[batch == b].sum()) for b in batches}
    kept = [b for b in batches if answers[b] > 0]
    left_out = {b: sizes[b] for b in batches if b not in kept and sizes[b] > 0}
    total = float(sum(sizes[b] for b in kept))
    share = {b: sizes[b] / total for b in kept} if total else {}
    factor = np.zeros(batch.size)
    constant = np.zeros(batch.size)
    for i, b in enumerate(kept):
        members = batch == b
        tail = float(sum(share[c] for c in kept[i + 1 :]))
        factor[members] = sizes[b] / answers[b] * share[b]
        constant[members] = sizes[b] / answers[b] * tail
    rows = np.flatnonzero(answered_mask & (factor > 0))
    weight = factor[rows] / pi[rows] + constant[rows]
    table = pa.table(
        {
            "request_id": request.take(pa.array(rows)),
            "batch": pa.array(batch[rows].tolist(), pa.string()),
            "weight": pa.array(weight),
            "inclusion_prob": pa.array(pi[rows]),
        }
    )
    return UnionWeights(table=table, batch_shares=share, left_out=left_out)


def kish_effective_size(weights: np.ndarray) -> float:
    """``(sum w)^2 / sum w^2``: the simple-random-sample size with the same precision."""
    weights = np.asarray(weights, dtype=np.float64)
    squares = float((weights**2).sum())
    return float(weights.sum() ** 2 / squares) if squares > 0 else 0.0


def estimate_split(experts: pa.Table) -> pa.Table:
    """Per old code, the estimated share of each new code, with 95% intervals.

    ``experts``: answered rows with ``old_code, status, gold_code, weight``. Only coded rows
    enter the shares (a "none of these" is reported by the export, not spread over the
    candidates). Columns: ``old_code, new_code, n, n_old, share, ci_low, ci_high,
    effective_n, estimated_rows`` (the Horvitz-Thompson total of rows with that new code).
    """
    frame = experts.select(["old_code", "status", "gold_code", "weight"]).to_pandas()
    frame = frame[(frame["status"] == "coded") & frame["gold_code"].notna()]
    schema = pa.schema(
        [
            ("old_code", pa.string()),
            ("new_code", pa.string()),
            ("n", pa.int64()),
            ("n_old", pa.int64()),
            ("share", pa.float64()),
            ("ci_low", pa.float64()),
            ("ci_high", pa.float64()),
            ("effective_n", pa.float64()),
            ("estimated_rows", pa.float64()),
        ]
    )
    if frame.empty:
        return schema.empty_table()
    rows = []
    for old, part in frame.groupby("old_code", sort=True):
        total = float(part["weight"].sum())
        n_eff = kish_effective_size(part["weight"].to_numpy())
        per_code = part.groupby("gold_code")["weight"].agg(["size", "sum"])
        for code, (n, weighted) in per_code.sort_values("sum", ascending=False).iterrows():
            share = float(weighted) / total
            low, high = wilson(share * n_eff, n_eff)
            rows.append(
                {
                    "old_code": old,
                    "new_code": code,
                    "n": int(n),
                    "n_old": len(part),
                    "share": share,
                    "ci_low": low,
                    "ci_high": high,
                    "effective_n": n_eff,
                    "estimated_rows": float(weighted),
                }
            )
    return pa.Table.from_pylist(rows, schema=schema)


@dataclass(frozen=True)
class Interval:
    """A design-weighted estimate with its 95% interval and the rows it rests on."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int

    def __str__(self) -> str:
        if np.isnan(self.estimate):
            return "n/a"
        return f"{self.estimate:.1%} [{self.ci_low:.1%}, {self.ci_high:.1%}] (n={self.n})"


def weighted_ratios(
    numerators: dict[str, np.ndarray],
    domain: np.ndarray,
    weights: np.ndarray,
    batches: np.ndarray,
    *,
    replicates: int = 1000,
    seed: int = 0,
) -> dict[str, Interval]:
    """``sum W num / sum W domain`` for each numerator, with bootstrap intervals by batch.

    Numerators may be differences of two methods' correctness (paired comparisons) or an
    expected correctness (the uniform baseline's ``1 / |C|``): any real values are fine.
    """
    names = list(numerators)
    n = int(np.asarray(domain).astype(bool).sum())
    if not names:
        return {}
    if n == 0:
        return {name: Interval(float("nan"), float("nan"), float("nan"), 0) for name in names}
    den = np.asarray(domain, dtype=np.float64)
    num = np.column_stack([np.asarray(numerators[k], dtype=np.float64) * den for k in names])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stratified_bootstrap(
            num,
            np.repeat(den[:, None], len(names), axis=1),
            np.asarray(weights, dtype=np.float64),
            np.asarray(batches),
            replicates=replicates,
            seed=seed,
        )
    return {
        name: Interval(
            float(result.estimate[j]), float(result.ci_low[j]), float(result.ci_high[j]), n
        )
        for j, name in enumerate(names)
    }


def horvitz_thompson_total(values: np.ndarray, weights: np.ndarray) -> float:
    """``sum W y``: the unbiased estimate of the queue total of ``y``."""
    return float(np.dot(np.asarray(values, dtype=np.float64), np.asarray(weights)))
