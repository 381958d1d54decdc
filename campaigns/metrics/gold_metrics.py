"""Every figure of a gold-standard campaign, computed once from its export.

The headline proportions (accuracy, automatic-coding rate and the accuracy of each part,
system accuracy, accuracy at every nomenclature level, top-k) are design-weighted ratio
estimates, all from one call of :func:`campaigns.metrics.intervals.proportion_intervals`: a
Wilson score interval on the design's effective sample size (the binomial count for a simple
random sample), with Jeffreys bounds where fewer than 5 effective units lie on a side, so the
intervals keep their coverage near 0 and 1 and never have zero width.
The rest (threshold curve, per-class scores, calibration, agreement, per-expert figures,
adjudication list) comes from the modules named for them.

Why a little over 500 lines: it is where every figure of a campaign meets (the indicators
built once, the headline, and the summary that says what each figure rests on: coverage,
annotation order, reuse); each computation lives in its own module and is only called here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow
from campaigns.gold.reused import reuse_summary
from campaigns.metrics.agreement import (
    agreement_summary,
    annotator_vs_majority,
    ratings_from_annotations,
)
from campaigns.metrics.anchoring import anchoring_summary, with_arms
from campaigns.metrics.calibration import expected_calibration_error, reliability_table
from campaigns.metrics.class_scores import (
    hardest_classes,
    macro_f1,
    per_class_scores,
    section_confusion,
)
from campaigns.metrics.intervals import Variance, proportion_intervals
from campaigns.metrics.reuse_check import reuse_check_agreement
from campaigns.metrics.section_accuracy import with_section_accuracy
from campaigns.metrics.threshold_curve import auto_coding_curve, with_census_rates
from campaigns.metrics.traffic_totals import TrafficTotals
from campaigns.metrics.weight_calibration import (
    CalibratedWeights,
    Margin,
    calibrated_intervals,
    rake,
)

LEVELS = ("section", "division", "group", "class", "subclass")
_LEVEL_TESTS = {
    "section": "coalesce(p.section = t.section, false)",
    "division": "left(g.predicted_code, 2) = left(g.gold_code, 2)",
    "group": "left(g.predicted_code, 4) = left(g.gold_code, 4)",
    "class": "left(g.predicted_code, 5) = left(g.gold_code, 5)",
    "subclass": "g.predicted_code = g.gold_code",
}


@dataclass
class GoldMetrics:
    """The figures of one campaign export; tables are Arrow, ready for Parquet."""

    summary: dict[str, Any]
    proportions: pa.Table
    threshold_curve: pa.Table
    per_class: pa.Table
    per_section: pa.Table
    hardest: pa.Table
    section_confusion: pa.Table
    reliability: pa.Table
    experts: pa.Table
    adjudication: pa.Table
    by_team: pa.Table = field(default_factory=lambda: pa.table({}))


def _indicators(gold: pa.Table, threshold: float, levels: pa.Table | None) -> dict[str, Any]:
    con = connect()
    con.register("gold", gold)
    level_cols = ""
    joins = ""
    if levels is not None:
        con.register("levels", levels)
        joins = (
            " LEFT JOIN levels p ON p.subclass = g.predicted_code"
            " LEFT JOIN levels t ON t.subclass = g.gold_code"
        )
        level_cols = ", ".join(
            f"(coded AND {test})::INT AS level_{name}" for name, test in _LEVEL_TESTS.items()
        )
    else:
        level_cols = "(coded AND g.predicted_code = g.gold_code)::INT AS level_subclass"
    top_k = ", ".join(
        f"(coded AND coalesce(list_position(g.predicted_codes[1:{k}], g.gold_code) > 0, false))"
        f"::INT AS top_{k}"
        for k in range(1, 6)
    )
    stratum = "stratum" if "stratum" in gold.column_names else "'all'"
    variance_stratum = (
        "variance_stratum" if "variance_stratum" in gold.column_names else f"{stratum}::VARCHAR"
    )
    fraction = (
        "stratum_sample_size::DOUBLE / stratum_population"
        if {"stratum_sample_size", "stratum_population"} <= set(gold.column_names)
        else "0.0"
    )
    population = (
        "stratum_population::DOUBLE"
        if "stratum_population" in gold.column_names
        else "'NaN'::DOUBLE"
    )
    table = fetch_arrow(
        con,
        f"""WITH g AS (SELECT *, status = 'coded' AS coded, status <> 'skipped' AS usable,
                              coalesce(confidence >= {float(threshold)!r}, false) AS auto
                       FROM gold)
            SELECT coded::INT AS coded, usable::INT AS usable,
                   (coded AND auto)::INT AS coded_auto, (coded AND NOT auto)::INT AS coded_manual,
                   (usable AND auto)::INT AS usable_auto,
                   (coded AND g.predicted_code = g.gold_code)::INT AS correct,
                   (coded AND (NOT auto OR g.predicted_code = g.gold_code))::INT AS system_ok,
                   {level_cols}, {top_k},
                   weight, {stratum} AS stratum, {fraction} AS fraction,
                   {variance_stratum} AS variance_stratum,
                   {population} AS stratum_total,
                   coalesce(confidence::DOUBLE, 'NaN'::DOUBLE) AS confidence_value,
                   coalesce(g.predicted_code, '') AS predicted
            FROM g{joins}""",
    )
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def calibrated_weights(
    x: dict[str, Any], totals: TrafficTotals
) -> tuple[CalibratedWeights | None, str]:
    """The units' weights raked to the window's totals, or None and the reason why not.

    Calibration needs the sample's frame to be the window's requests: every stratum with
    annotations (strata sum to the window's request count), requests as units.
    """
    population = np.asarray(x["stratum_total"], dtype=np.float64)
    strata = np.asarray(x["stratum"]).astype(str)
    if population.size == 0 or np.isnan(population).any():
        return None, "the sample has no stratum populations (an adopted project?)"
    stratum_totals = dict(zip(strata.tolist(), population.tolist(), strict=True))
    if round(sum(stratum_totals.values())) != totals.requests:
        return None, (
            "the annotated strata do not cover the window's requests (strata without "
            "annotations yet, earlier units excluded, or distinct texts as units)"
        )
    try:
        margins = totals.margins(np.asarray(x["confidence_value"]), np.asarray(x["predicted"]))
        if len(stratum_totals) > 1:
            margins.insert(0, Margin("stratum", strata, stratum_totals))
        raked = rake(np.asarray(x["weight"], dtype=np.float64), margins)
    except (ValueError, KeyError) as error:  # a unit outside the window's cells: not this frame
        return None, f"the sample does not match the window's totals ({error})"
    if not raked.converged:
        return None, "raking did not converge"
    return raked, ""


def headline_proportions(
    gold: pa.Table,
    *,
    threshold: float,
    levels: pa.Table | None = None,
    replicates: int = 1000,
    seed: int = 0,
    variance: Variance = "linearised",
    totals: TrafficTotals | None = None,
) -> pa.Table:
    """One row per figure: name, estimate, ci_low, ci_high, n (sample units), method, and the
    plain stratified figure beside it (``stratified_estimate``, ``_ci_low``, ``_ci_high``,
    ``stratified_method``).

    ``method`` is ``wilson`` (simple random sample) or ``wilson-design`` (effective sample
    size). With the window's ``totals``, the headline is calibrated (``wilson-calibrated``:
    weights raked to the confidence bins and predicted sections, see
    :mod:`campaigns.metrics.weight_calibration`), the automatic-coding rate is the window's
    census figure (``census``, zero width) and the system accuracy is built on it:
    ``1 - rate * (1 - accuracy_auto_coded)`` (manual coding counted as correct), its bounds
    those of the accuracy of the automatically coded part (``census+`` that method).
    ``replicates`` and ``seed`` drive the bootstrap when ``variance="bootstrap"``.
    """
    x = _indicators(gold, threshold, levels)
    correct_auto = x["correct"] * x["coded_auto"]
    wanted: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "accuracy": (x["correct"], x["coded"]),
        "auto_coding_rate": (x["usable_auto"], x["usable"]),
        "accuracy_auto_coded": (correct_auto, x["coded_auto"]),
        "accuracy_manual": (x["correct"] * x["coded_manual"], x["coded_manual"]),
        "system_accuracy": (x["system_ok"], x["coded"]),
    }
    for name in LEVELS:
        if f"level_{name}" in x:
            wanted[f"accuracy_{name}"] = (x[f"level_{name}"], x["coded"])
    for k in range(1, 6):
        wanted[f"top_{k}_accuracy"] = (x[f"top_{k}"], x["coded"])
    fractions = np.clip(np.nan_to_num(np.asarray(x["fraction"], dtype=np.float64), nan=0.0), 0, 1)
    weights = np.asarray(x["weight"], dtype=np.float64)
    # Response-homogeneity groups, when weights were adjusted for nonresponse, else strata.
    variance_strata = np.asarray(x["variance_stratum"]).astype(str)
    figures = proportion_intervals(
        wanted,
        weights,
        variance_strata,
        replicates=replicates,
        seed=seed,
        sampling_fractions=fractions,
        variance=variance,
    )
    headline = {name: dict(figure) for name, figure in figures.items()}
    if totals is not None and totals.requests:
        raked, _ = calibrated_weights(x, totals) if weights.size else (None, "")
        if raked is not None:
            names = list(wanted)
            result = calibrated_intervals(
                np.column_stack([np.asarray(wanted[n][0], dtype=np.float64) for n in names]),
                np.column_stack([np.asarray(wanted[n][1], dtype=np.float64) for n in names]),
                raked,
                variance_strata,
                sampling_fractions=fractions,
            )
            for j, name in enumerate(names):
                headline[name] = {
                    "estimate": float(result.estimate[j]),
                    "ci_low": float(result.ci_low[j]),
                    "ci_high": float(result.ci_high[j]),
                    "n": int(result.n[j]),
                    "method": result.method,
                }
        rate = totals.auto_coding_rate
        headline["auto_coding_rate"] = {
            "estimate": rate,
            "ci_low": rate,
            "ci_high": rate,
            "n": totals.requests,
            "method": "census",
        }
        auto = headline["accuracy_auto_coded"]
        if rate == 0 or not np.isnan(auto["estimate"]):
            headline["system_accuracy"] = {
                "estimate": 1.0 - rate * (1.0 - np.nan_to_num(auto["estimate"], nan=1.0)),
                "ci_low": 1.0 - rate * (1.0 - np.nan_to_num(auto["ci_low"], nan=1.0)),
                "ci_high": 1.0 - rate * (1.0 - np.nan_to_num(auto["ci_high"], nan=1.0)),
                "n": auto["n"],
                "method": f"census+{auto['method']}",
            }
    names = list(headline)
    return pa.table(
        {
            "figure": names,
            "estimate": [float(headline[n]["estimate"]) for n in names],
            "ci_low": [float(headline[n]["ci_low"]) for n in names],
            "ci_high": [float(headline[n]["ci_high"]) for n in names],
            "n": [int(headline[n]["n"]) for n in names],
            "method": [str(headline[n]["method"]) for n in names],
            "stratified_estimate": [float(figures[n]["estimate"]) for n in names],
            "stratified_ci_low": [float(figures[n]["ci_low"]) for n in names],
            "stratified_ci_high": [float(figures[n]["ci_high"]) for n in names],
            "stratified_method": [str(figures[n]["method"]) for n in names],
        }
    )


def calibration_summary(
    gold: pa.Table, *, threshold: float, totals: TrafficTotals | None
) -> dict[str, Any]:
    """Whether the headline is calibrated, to what, and why not when it is not."""
    if totals is None:
        return {"applied": False, "reason": "no traffic totals for the sample's window"}
    x = _indicators(gold, threshold, None)
    raked, reason = calibrated_weights(x, totals) if gold.num_rows else (None, "no units")
    out: dict[str, Any] = {"applied": raked is not None, "traffic": totals.summary()}
    if raked is None:
        out["reason"] = reason
    else:
        out |= raked.summary()
    return out


def reweight_to_annotated(gold: pa.Table, sample: pa.Table | None = None) -> pa.Table:
    """Weights for the units annotated so far: ``N_h / n'_h`` with ``n'_h`` annotated units.

    A campaign is read while experts are still at work. Tasks are pushed in a seeded random
    order and Label Studio serves them at random (uniform sampling), so the annotated units
    should be a random subsample of each stratum, and ``N_h / n'_h`` (times the unit's
    occurrences) keeps every figure unbiased for the strata that have annotations. Experts
    sorting the task list break that; with the ``sample`` table (every drawn unit's
    ``request_id``, ``stratum``, ``confidence`` and ``weight``), weights are instead adjusted
    within response-homogeneity groups of confidence inside each stratum (weighting-class
    adjustment for nonresponse, Särndal, Swensson & Wretman 1992 §15.6; see
    :mod:`campaigns.metrics.nonresponse`), and the column ``variance_stratum`` (stratum x
    group) carries the groups into the variance. Strata with no annotation are reported by
    :func:`coverage`.
    """
    needed = {"stratum", "stratum_sample_size", "weight"}
    if not needed <= set(gold.column_names) or gold.num_rows == 0:
        return gold
    con = connect()
    con.register("gold", gold)
    plain = "weight * stratum_sample_size / _annotated"
    join, groups = "", ""
    usable = (
        sample is not None
        and {"request_id", "stratum", "confidence"} <= set(sample.column_names)
        and "request_id" in gold.column_names
    )
    if usable:
        from campaigns.metrics.nonresponse import response_groups

        assert sample is not None
        con.register("rhg", response_groups(sample, gold.column("request_id")))
        join = " LEFT JOIN rhg ON rhg.id = g.request_id::VARCHAR"
        plain = f"coalesce(weight * rhg.adjustment, {plain})"
        groups = ", coalesce(rhg.variance_stratum, g.stratum::VARCHAR) AS variance_stratum"
    return fetch_arrow(
        con,
        f"""WITH g AS (SELECT *, row_number() OVER () AS _rn,
                             count(*) OVER (PARTITION BY stratum) AS _annotated FROM gold)
           SELECT g.* EXCLUDE (_rn, _annotated) REPLACE (
                      {plain} AS weight,
                      _annotated::BIGINT AS stratum_sample_size){groups}
           FROM g{join} ORDER BY _rn""",
    )


def coverage(gold: pa.Table, strata: pa.Table | None) -> dict[str, Any]:
    """Which strata of the sample have annotations, and their share of the population."""
    if strata is None or strata.num_rows == 0 or "stratum" not in gold.column_names:
        return {}
    annotated = set(gold.column("stratum").to_pylist())
    rows = [r for r in strata.to_pylist() if r["sample_size"]]
    total = sum(r["population"] for r in rows) or 1
    missing = [r["stratum"] for r in rows if r["stratum"] not in annotated]
    covered = sum(r["population"] for r in rows if r["stratum"] in annotated)
    return {
        "strata": len(rows),
        "strata_annotated": len(rows) - len(missing),
        "population_share_covered": covered / total,
        "strata_without_annotations": missing,
    }


def annotation_order(
    gold: pa.Table, sample: pa.Table | None, levels: pa.Table | None = None
) -> dict[str, Any]:
    """The order test of :mod:`campaigns.metrics.nonresponse`, or why it could not run."""
    if sample is None or "request_id" not in gold.column_names:
        return {"tested": False, "suspect": False, "reason": "no sample table"}
    if not {"request_id", "stratum", "confidence"} <= set(sample.column_names):
        return {"tested": False, "suspect": False, "reason": "the sample has no confidence"}
    from campaigns.metrics.nonresponse import annotation_order_test

    return annotation_order_test(sample, gold.column("request_id"), levels)


def adjudication_list(gold: pa.Table) -> pa.Table:
    """Tasks an adjudicator must settle: experts who disagree (no strict majority), and codes
    typed in the remark instead of picked (``code_in_remark``: the code is proposed, never
    taken as gold unchecked)."""
    with connect() as con:
        con.register("gold", gold)
        return fetch_arrow(
            con,
            """SELECT request_id, text, predicted_code, n_annotations, status
               FROM gold WHERE status IN ('disagreement', 'code_in_remark')
               ORDER BY request_id""",
        )


def expert_figures(annotations: pa.Table) -> pa.Table:
    """Per expert: annotations, active days, per day, median lead time, agreement w/ majority."""
    con = connect()
    con.register("ann", annotations)
    activity = fetch_arrow(
        con,
        """SELECT annotator, count(*) AS annotations,
                  count(*) FILTER (WHERE status = 'skipped') AS skipped,
                  count(*) FILTER (WHERE status = 'cannot_code') AS cannot_code,
                  count(DISTINCT left(created_at, 10)) AS active_days,
                  count(*) / greatest(count(DISTINCT left(created_at, 10)), 1)
                      AS annotations_per_day,
                  median(lead_time) AS median_lead_time_s
           FROM ann GROUP BY annotator ORDER BY annotator""",
    )
    ratings = ratings_from_annotations(annotations)
    if ratings.empty:
        return activity
    majority = pa.Table.from_pandas(annotator_vs_majority(ratings), preserve_index=False)
    con.register("activity", activity)
    con.register("majority", majority)
    return fetch_arrow(
        con,
        """SELECT a.*, m.tasks AS tasks_with_majority, m.agreement_with_majority
           FROM activity a LEFT JOIN majority m ON m.annotator = a.annotator
           ORDER BY a.annotator""",
    )


def _safe_agreement(annotations: pa.Table) -> dict[str, Any]:
    ratings = ratings_from_annotations(annotations)
    if ratings.empty:
        return {"tasks_with_overlap": 0, "annotators": 0}
    return agreement_summary(ratings)


def compute_gold_metrics(
    gold: pa.Table,
    annotations: pa.Table,
    *,
    threshold: float,
    design: str,
    levels: pa.Table | None = None,
    replicates: int = 1000,
    seed: int = 0,
    strata: pa.Table | None = None,
    totals: TrafficTotals | None = None,
    frame: dict[str, Any] | None = None,
    sample: pa.Table | None = None,
) -> GoldMetrics:
    """All figures of a campaign export (gold table + annotations table).

    Weights are those of the units annotated so far (:func:`reweight_to_annotated`); with the
    sample's ``strata`` table, the summary says which strata are covered. Units reusing an
    earlier gold label (``gold_provenance`` ``reused``) count as annotated, with the same
    weights; the summary's ``reuse`` counts them, the drawn units whose earlier gold conflicted
    and the ``check`` units, whose experts' code is compared with the reused label
    (:mod:`campaigns.metrics.reuse_check`). With the window's traffic ``totals`` the headline
    is calibrated and the automatic-coding rate a census figure (:func:`headline_proportions`);
    ``frame`` (what the sample's frame kept of the window) is reported as it is. With the
    ``sample`` table (every drawn unit, annotated or not), the summary's ``annotation_order``
    tests whether the units annotated so far differ from the rest in confidence or section
    within strata, and the weights are adjusted within confidence groups
    (:mod:`campaigns.metrics.nonresponse`).
    """
    covered = coverage(gold, strata)
    order = annotation_order(gold, sample, levels)
    gold = reweight_to_annotated(gold, sample)
    proportions = headline_proportions(
        gold, threshold=threshold, levels=levels, replicates=replicates, seed=seed, totals=totals
    )
    curve = auto_coding_curve(gold, replicates=replicates, seed=seed)
    if totals is not None and totals.requests:
        thresholds = curve.column("threshold").to_numpy()
        curve = with_census_rates(curve, totals.auto_coding_rates(thresholds))
    per_class = per_class_scores(gold, level="subclass", levels=levels)
    per_section = with_section_accuracy(
        per_class_scores(gold, level="section", levels=levels)
        if levels is not None
        else per_class_scores(gold, level="division"),
        gold,
        levels,
    )
    statuses = gold.column("status").value_counts().to_pylist()
    agreement = _safe_agreement(annotations)
    reuse = reuse_summary(gold, sample)
    reuse["check"] = reuse_check_agreement(gold, agreement.get("percent_agreement"))
    has_score = "score" in gold.column_names
    summary: dict[str, Any] = {
        "design": design,
        "threshold": threshold,
        "units_annotated": gold.num_rows,
        "status_counts": {s["values"]: int(s["counts"]) for s in statuses},
        "figures": {
            row["figure"]: {k: v for k, v in row.items() if k != "figure"}
            for row in proportions.to_pylist()
        },
        "macro_f1": macro_f1(per_class),
        "expected_calibration_error": expected_calibration_error(gold) if has_score else None,
        "agreement": agreement,
        "coverage": covered,
        "annotation_order": order,
        "calibration": calibration_summary(gold, threshold=threshold, totals=totals),
        "reuse": reuse,
        "frame": frame or {},
        # Experts' "unsure" flag: reported, the annotation still counts (an expert's code).
        "unsure_annotations": (
            int(pc.sum(annotations.column("unsure")).as_py() or 0)
            if "unsure" in annotations.column_names
            else 0
        ),
    }
    # A randomized campaign: each arm's figures and the anchoring effect, with intervals.
    armed = with_arms(gold, annotations)
    if "arm" in armed.column_names:
        summary["anchoring"] = anchoring_summary(
            armed, annotations, replicates=replicates, seed=seed
        )
    by_team = pa.table({})
    if "team" in gold.column_names:
        parts = []
        # Reused units belong to no team's project (no team): they count in the whole only.
        for team in sorted(t for t in set(gold.column("team").to_pylist()) if t is not None):
            rows = gold.filter(pc.equal(gold.column("team"), team))
            part = headline_proportions(
                rows, threshold=threshold, levels=levels, replicates=replicates, seed=seed
            )
            parts.append(part.append_column("team", pa.array([team] * part.num_rows)))
        by_team = pa.concat_tables(parts)
    return GoldMetrics(
        by_team=by_team,
        summary=summary,
        proportions=proportions,
        threshold_curve=curve,
        per_class=per_class,
        per_section=per_section,
        hardest=hardest_classes(gold, levels=levels) if levels is not None else pa.table({}),
        section_confusion=(section_confusion(gold, levels) if levels is not None else pa.table({})),
        reliability=reliability_table(gold) if has_score else pa.table({}),
        experts=expert_figures(annotations),
        adjudication=adjudication_list(gold),
    )
