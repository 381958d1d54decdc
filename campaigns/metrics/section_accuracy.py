"""The model's accuracy within each section of the gold code, with its 95% interval.

Sections are where a manager decides what to retrain, so each gets the headline's treatment:
``accuracy`` is the design-weighted share of the coded units whose gold code lies in the
section that the model coded exactly (subclass), a domain estimate ``sum(w y d) / sum(w d)``
with the score interval of :mod:`campaigns.metrics.intervals` (the design's variance strata,
response-homogeneity groups included when weights were adjusted for nonresponse). The
domain's sample size is random, and its interval counts it. A section on fewer than
``MIN_SECTION_UNITS`` sampled units keeps its row and its interval, marked ``few_units``:
its coverage is near 95% on average only (discreteness, see the intervals' docstring), and a
decision should not rest on it alone. Without the nomenclature's levels the domain is the
gold code's division.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from campaigns.duck import connect, fetch_arrow
from campaigns.metrics.intervals import design_intervals

MIN_SECTION_UNITS = 40
"""Below this many sampled units a section's figure is marked ``few_units``."""

COLUMNS = (
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "accuracy_n",
    "accuracy_method",
    "few_units",
)


def section_accuracy(gold: pa.Table, levels: pa.Table | None = None) -> pa.Table:
    """One row per gold section (``code``) with ``COLUMNS``; empty without coded units."""
    con = connect()
    con.register("gold", gold)
    domain, join = "left(g.gold_code, 2)", ""
    if levels is not None and "section" in levels.column_names:
        con.register("levels", levels)
        join = (
            " LEFT JOIN (SELECT DISTINCT ON (subclass) subclass, section FROM levels"
            " ORDER BY subclass) l ON l.subclass = g.gold_code"
        )
        domain = "l.section"
    columns = set(gold.column_names)
    weight = "g.weight::DOUBLE" if "weight" in columns else "1.0"
    stratum = "g.stratum::VARCHAR" if "stratum" in columns else "'all'"
    if "variance_stratum" in columns:
        stratum = "g.variance_stratum::VARCHAR"
    fraction = (
        "g.stratum_sample_size::DOUBLE / g.stratum_population"
        if {"stratum_sample_size", "stratum_population"} <= columns
        else "0.0"
    )
    units = fetch_arrow(
        con,
        f"""SELECT {domain}::VARCHAR AS domain,
                   (g.status = 'coded' AND g.gold_code IS NOT NULL) AS coded,
                   coalesce(g.predicted_code = g.gold_code, false) AS correct,
                   {weight} AS weight, {stratum} AS stratum,
                   coalesce({fraction}, 0.0) AS fraction
            FROM gold g{join}""",
    )
    coded = units.column("coded").to_numpy(zero_copy_only=False).astype(bool)
    domains = np.asarray(units.column("domain").to_pylist(), dtype=object)
    labelled = coded & pd.notna(domains)
    codes, names = pd.factorize(pd.Series(domains[labelled], dtype=object), sort=True)
    if names.size == 0:
        return _empty()
    den = np.zeros((units.num_rows, names.size))
    den[np.flatnonzero(labelled), codes] = 1.0
    correct = units.column("correct").to_numpy(zero_copy_only=False).astype(np.float64)
    fractions = np.clip(np.nan_to_num(units.column("fraction").to_numpy(), nan=0.0), 0.0, 1.0)
    result = design_intervals(
        den * correct[:, None],
        den,
        units.column("weight").to_numpy(),
        np.asarray(units.column("stratum").to_pylist(), dtype=object).astype(str),
        sampling_fractions=fractions,
    )
    return pa.table(
        {
            "code": pa.array([str(n) for n in names], pa.string()),
            "accuracy": pa.array(result.estimate, pa.float64()),
            "accuracy_ci_low": pa.array(result.ci_low, pa.float64()),
            "accuracy_ci_high": pa.array(result.ci_high, pa.float64()),
            "accuracy_n": pa.array(result.n, pa.int64()),
            "accuracy_method": pa.array([result.method] * names.size, pa.string()),
            "few_units": pa.array(result.n < MIN_SECTION_UNITS, pa.bool_()),
        }
    )


def _empty() -> pa.Table:
    return pa.table(
        {
            "code": pa.array([], pa.string()),
            "accuracy": pa.array([], pa.float64()),
            "accuracy_ci_low": pa.array([], pa.float64()),
            "accuracy_ci_high": pa.array([], pa.float64()),
            "accuracy_n": pa.array([], pa.int64()),
            "accuracy_method": pa.array([], pa.string()),
            "few_units": pa.array([], pa.bool_()),
        }
    )


def with_section_accuracy(
    per_section: pa.Table, gold: pa.Table, levels: pa.Table | None
) -> pa.Table:
    """The ``per_section`` scores with each section's accuracy and interval joined on ``code``
    (sections only predicted, never a gold code, get nulls: no unit of theirs to score)."""
    if "code" not in per_section.column_names:
        return per_section
    accuracy = section_accuracy(gold, levels)
    con = connect()
    con.register("scores", per_section)
    con.register("accuracy", accuracy)
    return fetch_arrow(
        con,
        """SELECT s.*, a.* EXCLUDE (code)
           FROM (SELECT *, row_number() OVER () AS _rn FROM scores) s
           LEFT JOIN accuracy a ON a.code = s.code::VARCHAR
           ORDER BY s._rn""",
    ).drop(["_rn"])
