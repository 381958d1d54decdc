"""The anchoring effect: how much showing the model's answer moves the experts' gold.

A ``randomized`` gold campaign sends each sampled unit to one of two arms by a seeded draw,
half of each sampling stratum each (``campaigns.labelstudio.gold.tasks.assign_arms``): *blind*
experts see the text, its context and the nomenclature; *assisted* experts also see the
model's top-5 with the top-1 pre-selected (the ``preselected`` mode). Everything else is equal,
so any difference between the arms is caused by the suggestions.

Figures, per arm ``a`` (design-weighted ratio estimators over the arm's domain):

- model accuracy measured with that arm's gold: ``sum_{i in a} w_i correct_i /
  sum_{i in a} w_i coded_i``, and the top-5 accuracy likewise;
- expert-model agreement, per annotation rather than per resolved gold label: for unit ``i``,
  ``agree_i`` is the share of its coded annotations equal to the model's top-1 (``in_top_5_i``:
  within the top-5), and the figure is ``sum w_i agree_i / sum w_i [i has a coded
  annotation]``, each unit counting by its design weight whatever its number of experts;

and the anchoring effect, ``assisted - blind`` for each figure. Both arms are random halves of
one probability sample, so each arm's estimator is unbiased for the whole traffic and the
difference estimates the causal effect of showing the suggestions on the measured figure.
A positive accuracy effect means suggestions inflate the accuracy a gold standard reports:
the blind arm's accuracy is the one to trust.

Intervals. Design strata are the sampling stratum crossed with the arm, because the
randomisation fixed each arm's size within each stratum exactly as the sampling design fixed
the stratum's. Each arm's figures get the interval every headline proportion gets
(``proportion_intervals``), so a blind-arm accuracy reads like a campaign's accuracy. The
effect gets one Rao-Wu stratified bootstrap (``stratified_bootstrap``) of both arms' figures:
the difference's replicates are the differences of the two arms' replicates from the same
resampling, and its 95% interval their 2.5 and 97.5 percentiles. A bootstrap rather than a
two-sample normal formula because it keeps the design (unequal weights, finite population
correction) with no variance algebra for a difference of ratio estimators; percentiles suit a
difference, which lies well inside [-1, 1] where a proportion's percentile interval would
collapse at 0 or 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from campaigns.duck import connect, fetch_arrow
from campaigns.metrics.bootstrap import stratified_bootstrap
from campaigns.metrics.intervals import proportion_intervals

ARM = "arm"
BLIND, ASSISTED = "blind", "assisted"
ARMS = (BLIND, ASSISTED)
FIGURES = ("accuracy", "top_5_accuracy", "agreement", "agreement_top_5")
METHOD = (
    "strata = sampling stratum x arm; each arm: the headline proportions' interval; "
    "effect = assisted - blind, percentile interval of a paired stratified bootstrap"
)


def with_arms(gold: pa.Table, annotations: pa.Table) -> pa.Table:
    """The gold table with its units' arm: its own ``arm`` column, else the annotations'.

    Exports record the arm with each annotation (the task carries it); a unit's annotations
    all share their task's arm. Units with no arm get null and are left out of the figures.
    """
    if ARM in gold.column_names or ARM not in annotations.column_names:
        return gold
    with connect() as con:
        con.register("gold", gold)
        con.register("ann", annotations.select(["request_id", ARM]))
        return fetch_arrow(
            con,
            """WITH arms AS (SELECT request_id, any_value(arm) AS arm FROM ann
                             WHERE arm IS NOT NULL GROUP BY request_id),
                    g AS (SELECT *, row_number() OVER () AS _row FROM gold)
               SELECT g.* EXCLUDE (_row), arms.arm
               FROM g LEFT JOIN arms USING (request_id) ORDER BY _row""",
        )


def _unit_indicators(gold: pa.Table, annotations: pa.Table) -> dict[str, np.ndarray]:
    """Per gold row: arm, weight, stratum, fraction and the 0/1 (or share) indicators."""
    stratum = "g.stratum::VARCHAR" if "stratum" in gold.column_names else "'all'"
    fraction = (
        "g.stratum_sample_size::DOUBLE / g.stratum_population"
        if {"stratum_sample_size", "stratum_population"} <= set(gold.column_names)
        else "0.0"
    )
    top5 = (
        "coalesce(list_position(g.predicted_codes[1:5], {code}) > 0, false)"
        if "predicted_codes" in gold.column_names
        else "({code} = g.predicted_code)"
    )
    with connect() as con:
        con.register("gold", gold)
        con.register("ann", annotations.select(["request_id", "status", "code"]))
        table = fetch_arrow(
            con,
            f"""WITH g AS (SELECT *, row_number() OVER () AS _row FROM gold),
                votes AS (
                    SELECT g._row,
                           count(*) FILTER (WHERE a.status = 'coded') AS n_coded,
                           count(*) FILTER (WHERE a.status = 'coded'
                                            AND a.code = g.predicted_code) AS n_agree,
                           count(*) FILTER (WHERE a.status = 'coded'
                                            AND {top5.format(code="a.code")}) AS n_top5
                    FROM g JOIN ann a USING (request_id) GROUP BY g._row)
                SELECT coalesce(g.arm, '') AS arm, g.weight::DOUBLE AS weight,
                       {stratum} AS stratum, coalesce({fraction}, 0.0) AS fraction,
                       (g.status = 'coded')::INT AS coded,
                       (g.status = 'coded' AND g.predicted_code = g.gold_code)::INT AS correct,
                       (g.status = 'coded' AND {top5.format(code="g.gold_code")})::INT AS top5,
                       (coalesce(v.n_coded, 0) > 0)::INT AS annotated,
                       coalesce(v.n_agree / nullif(v.n_coded, 0), 0.0) AS agree,
                       coalesce(v.n_top5 / nullif(v.n_coded, 0), 0.0) AS agree_top5
                FROM g LEFT JOIN votes v USING (_row) ORDER BY g._row""",
        )
    return {n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names}


def _interval(estimate: float, low: float, high: float, n: int) -> dict[str, Any]:
    return {"estimate": estimate, "ci_low": low, "ci_high": high, "n": n}


def anchoring_summary(
    gold: pa.Table,
    annotations: pa.Table,
    *,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Each arm's figures and the anchoring effect (assisted - blind), with intervals.

    ``gold`` needs ``arm`` (see :func:`with_arms`), ``status``, ``gold_code``,
    ``predicted_code``, ``weight`` (and ``predicted_codes``, ``stratum`` when present);
    ``annotations`` gives ``request_id``, ``status`` and ``code`` per expert.
    """
    x = _unit_indicators(gold, annotations)
    arm = np.asarray(x["arm"]).astype(str)
    masks = {a: (arm == a).astype(np.float64) for a in ARMS}
    values = {
        "accuracy": (x["correct"], x["coded"]),
        "top_5_accuracy": (x["top5"], x["coded"]),
        "agreement": (x["agree"], x["annotated"]),
        "agreement_top_5": (x["agree_top5"], x["annotated"]),
    }
    columns = [(f, a) for f in FIGURES for a in ARMS]
    num = np.column_stack([np.asarray(values[f][0], np.float64) * masks[a] for f, a in columns])
    den = np.column_stack([np.asarray(values[f][1], np.float64) * masks[a] for f, a in columns])
    in_arms = arm != ""
    units = {a: int(masks[a].sum()) for a in ARMS}
    summary: dict[str, Any] = {
        "arms": {a: {"units": units[a]} for a in ARMS},
        "effect": {},
        "method": METHOD,
        "replicates": replicates,
        "level": level,
    }
    if not all(units.values()):
        for f, a in columns:
            summary["arms"][a][f] = _interval(math.nan, math.nan, math.nan, 0)
        for f in FIGURES:
            summary["effect"][f] = {**_interval(math.nan, math.nan, math.nan, 0), "se": math.nan}
        return summary
    strata = np.char.add(np.char.add(np.asarray(x["stratum"]).astype(str), "|"), arm)[in_arms]
    weights = np.asarray(x["weight"], np.float64)[in_arms]
    fractions = np.clip(np.nan_to_num(x["fraction"][in_arms], nan=0.0), 0.0, 1.0)
    num, den = num[in_arms], den[in_arms]
    per_arm = proportion_intervals(
        {f"{f}|{a}": (num[:, j], den[:, j]) for j, (f, a) in enumerate(columns)},
        weights,
        strata,
        replicates=replicates,
        seed=seed,
        level=level,
        sampling_fractions=fractions,
    )
    for f, a in columns:
        figure = per_arm[f"{f}|{a}"]
        summary["arms"][a][f] = {
            **_interval(
                float(figure["estimate"]),
                float(figure["ci_low"]),
                float(figure["ci_high"]),
                int(figure["n"]),
            ),
            "method": figure["method"],
        }
    result = stratified_bootstrap(
        num,
        den,
        weights,
        strata,
        replicates=replicates,
        seed=seed,
        level=level,
        sampling_fractions=fractions,
    )
    counts = (den > 0).sum(axis=0)
    alpha = (1.0 - level) / 2.0
    for i, f in enumerate(FIGURES):
        blind, assisted = 2 * i, 2 * i + 1
        diff = result.replicates[:, assisted] - result.replicates[:, blind]
        diff = diff[np.isfinite(diff)]
        estimate = float(result.estimate[assisted] - result.estimate[blind])
        if diff.size < 2 or not math.isfinite(estimate):
            summary["effect"][f] = {**_interval(estimate, math.nan, math.nan, 0), "se": math.nan}
            continue
        low, high = np.quantile(diff, [alpha, 1.0 - alpha])
        summary["effect"][f] = {
            **_interval(estimate, float(low), float(high), int(counts[blind] + counts[assisted])),
            "se": float(diff.std(ddof=1)),
        }
    return summary
