"""Per-class quality of the classifier on the annotated gold sample (design-weighted).

Every figure here is computed on the rows of the gold table with ``status = 'coded'`` and a
non-null ``gold_code``; the other statuses (``cannot_code``, ``skipped``, ``invalid``,
``disagreement``) carry no usable gold code and are neither counted as correct nor as model
errors. Each sampled unit counts with its design ``weight`` (1.0 if the table has no weight
column), so the weighted figures estimate the same quantities on the whole traffic.

Codes can be compared at any NACE level. ``subclass`` compares the codes as they are; the
coarser levels map both the predicted and the gold code to their ancestor: through the
``levels`` table when one is given (a code missing from it falls back to its prefix for
division/group/class), or, without ``levels``, from the code prefixes ``left(code, 2)``
(division '62'), ``left(code, 4)`` (group '62.0') and ``left(code, 5)`` (class '62.01'). The
section letter cannot be read from the code, so ``section`` requires ``levels``; a code absent
from it maps to NULL, which never equals any class (so it counts as an error against the gold
class) and is not reported as a class of its own.

Definitions, for a class ``c`` with ``w`` the design weights:

* precision = sum w[pred=c & gold=c] / sum w[pred=c]   (NaN if ``c`` is never predicted)
* recall    = sum w[pred=c & gold=c] / sum w[gold=c]   (NaN if ``c`` never is the gold code)
* f1        = 2 TP / (2 TP + FP + FN) with weighted TP, FP, FN. It equals the harmonic mean
  of precision and recall whenever both are defined and TP > 0, and it is 0 when the class
  appears (predicted or gold) but is never right - so a class the model predicts but the
  sample never contains, or a gold class the model never predicts, pulls the macro F1 down
  (the same result as scikit-learn's ``zero_division=0``). It is NaN only when the class has
  no weight at all (e.g. zero weights).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow

LEVELS = ("section", "division", "group", "class", "subclass")
_PREFIX_LENGTH = {"division": 2, "group": 4, "class": 5}


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")


def _label_expr(code: str, alias: str, level: str, with_levels: bool) -> str:
    """SQL for the ``level`` ancestor of the code column ``code`` (joined ``levels`` alias)."""
    if level == "subclass":
        return code
    if level == "section":
        return f'{alias}."section"'
    prefix = f"left({code}, {_PREFIX_LENGTH[level]})"
    if with_levels:
        return f'coalesce({alias}."{level}", {prefix})'
    return prefix


def _coded_view(con, gold: pa.Table, level: str, levels: pa.Table | None) -> None:
    """Register ``coded(p, g, w)``: predicted and gold labels at ``level`` and design weight."""
    _check_level(level)
    if level == "section" and levels is None:
        raise ValueError("the section level needs the levels table (a code has no letter)")
    missing = {"status", "predicted_code", "gold_code"} - set(gold.column_names)
    if missing:
        raise ValueError(f"gold table lacks column(s) {sorted(missing)}")
    con.register("gold_in", gold)
    weight = "weight::DOUBLE" if "weight" in gold.column_names else "1.0::DOUBLE"
    with_levels = levels is not None and level != "subclass"
    if with_levels:
        con.register("levels_raw", levels)
        # one row per subclass, so that a duplicated levels row cannot duplicate sample units
        con.execute(
            f'CREATE TEMP VIEW levels_in AS SELECT DISTINCT ON (subclass) subclass, "{level}" '
            "FROM levels_raw ORDER BY subclass"
        )
        joins = (
            "LEFT JOIN levels_in lp ON lp.subclass = t.predicted_code "
            "LEFT JOIN levels_in lg ON lg.subclass = t.gold_code"
        )
    else:
        joins = ""
    pred = _label_expr("t.predicted_code", "lp", level, with_levels)
    gold_label = _label_expr("t.gold_code", "lg", level, with_levels)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW coded AS
        SELECT {pred} AS p, {gold_label} AS g, {weight} AS w
        FROM gold_in t {joins}
        WHERE t.status = 'coded' AND t.gold_code IS NOT NULL
        """
    )


def per_class_scores(
    gold: pa.Table, *, level: str = "subclass", levels: pa.Table | None = None
) -> pa.Table:
    """Design-weighted precision, recall and F1 of every class seen at ``level``.

    One row per class that is predicted or is a gold code among the coded rows, with columns
    ``code``, ``precision``, ``recall``, ``f1``, ``support`` (sample units whose gold is the
    class), ``weighted_support`` (their summed weight), ``predicted`` (sample units predicted
    as the class), ``weighted_predicted`` and ``weighted_correct``; sorted by
    ``weighted_support`` descending (then code). See the module docstring for the definitions.
    """
    with connect() as con:
        _coded_view(con, gold, level, levels)
        return fetch_arrow(
            con,
            """
            WITH pred_side AS (
                SELECT p AS code, count(*) AS predicted, sum(w) AS weighted_predicted,
                       coalesce(sum(w) FILTER (WHERE g = p), 0.0) AS weighted_correct
                FROM coded WHERE p IS NOT NULL GROUP BY p
            ), gold_side AS (
                SELECT g AS code, count(*) AS support, sum(w) AS weighted_support
                FROM coded WHERE g IS NOT NULL GROUP BY g
            ), joined AS (
                SELECT code,
                       coalesce(g.support, 0) AS support,
                       coalesce(g.weighted_support, 0.0) AS weighted_support,
                       coalesce(p.predicted, 0) AS predicted,
                       coalesce(p.weighted_predicted, 0.0) AS weighted_predicted,
                       coalesce(p.weighted_correct, 0.0) AS weighted_correct
                FROM pred_side p FULL OUTER JOIN gold_side g USING (code)
            )
            SELECT code,
                   CASE WHEN weighted_predicted > 0 THEN weighted_correct / weighted_predicted
                        ELSE 'NaN'::DOUBLE END AS precision,
                   CASE WHEN weighted_support > 0 THEN weighted_correct / weighted_support
                        ELSE 'NaN'::DOUBLE END AS recall,
                   CASE WHEN weighted_predicted + weighted_support > 0
                        THEN 2 * weighted_correct / (weighted_predicted + weighted_support)
                        ELSE 'NaN'::DOUBLE END AS f1,
                   support, weighted_support, predicted, weighted_predicted, weighted_correct
            FROM joined
            ORDER BY weighted_support DESC, code
            """,
        )


def _f1_values(scores: pa.Table) -> np.ndarray:
    return np.asarray(pc.fill_null(scores["f1"], math.nan).to_numpy(zero_copy_only=False), float)


def macro_f1(scores: pa.Table) -> float:
    """Unweighted mean of the defined (non-NaN) per-class F1s; NaN if there is none."""
    f1 = _f1_values(scores)
    f1 = f1[~np.isnan(f1)]
    return float(f1.mean()) if f1.size else math.nan


def weighted_f1(scores: pa.Table) -> float:
    """Mean of the defined per-class F1s weighted by ``weighted_support``; NaN if none.

    Classes that are only predicted (no gold weight) get weight 0, as in scikit-learn's
    ``average='weighted'``.
    """
    f1 = _f1_values(scores)
    support = np.asarray(scores["weighted_support"].to_numpy(zero_copy_only=False), float)
    keep = ~np.isnan(f1) & (support > 0)
    if not keep.any():
        return math.nan
    return float(np.average(f1[keep], weights=support[keep]))


def hardest_classes(
    gold: pa.Table,
    top: int = 15,
    min_support: int = 3,
    *,
    level: str = "subclass",
    levels: pa.Table | None = None,
) -> pa.Table:
    """The gold classes carrying most weighted error mass, with their main confusion.

    For each gold class ``c`` with at least ``min_support`` coded sample units and at least one
    error: ``support``, ``weighted_support``, ``errors`` (units with gold=c and pred!=c),
    ``weighted_errors`` (their summed weight, the ranking key), ``error_rate`` (weighted_errors
    / weighted_support, i.e. 1 - recall), ``most_confused_with`` (the wrong prediction most
    frequent among those units; ties broken by weight, then code) with its
    ``most_confused_count`` and ``most_confused_weight``. The ``top`` classes, sorted by
    ``weighted_errors`` descending, then error rate descending, then code. A prediction that
    does not map to the level (NULL) counts as an error and appears as a null confusion.
    """
    with connect() as con:
        _coded_view(con, gold, level, levels)
        return fetch_arrow(
            con,
            f"""
            WITH per_gold AS (
                SELECT g AS gold_code, count(*) AS support, sum(w) AS weighted_support,
                       count(*) FILTER (WHERE p IS DISTINCT FROM g) AS errors,
                       coalesce(sum(w) FILTER (WHERE p IS DISTINCT FROM g), 0.0) AS weighted_errors
                FROM coded WHERE g IS NOT NULL GROUP BY g
            ), confusions AS (
                SELECT g AS gold_code, p AS most_confused_with, count(*) AS most_confused_count,
                       sum(w) AS most_confused_weight
                FROM coded WHERE g IS NOT NULL AND p IS DISTINCT FROM g
                GROUP BY g, p
                QUALIFY row_number() OVER (
                    PARTITION BY g ORDER BY count(*) DESC, sum(w) DESC, p NULLS LAST) = 1
            )
            SELECT gold_code, support, weighted_support, errors, weighted_errors,
                   CASE WHEN weighted_support > 0 THEN weighted_errors / weighted_support
                        ELSE 'NaN'::DOUBLE END AS error_rate,
                   most_confused_with, most_confused_count, most_confused_weight
            FROM per_gold JOIN confusions USING (gold_code)
            WHERE support >= {int(min_support)} AND errors > 0
            ORDER BY weighted_errors DESC, error_rate DESC, gold_code
            LIMIT {int(top)}
            """,
        )


def section_confusion(gold: pa.Table, levels: pa.Table) -> pa.Table:
    """Long-format confusion between sections over the coded rows.

    One row per (``gold_section``, ``predicted_section``) pair that occurs, with the summed
    design weight ``weighted_count`` and the number of sample units ``count``; the diagonal
    (gold = predicted) is included. A code absent from ``levels`` gives a null section. Sorted
    by gold section, then weighted count descending.
    """
    with connect() as con:
        _coded_view(con, gold, "section", levels)
        return fetch_arrow(
            con,
            """
            SELECT g AS gold_section, p AS predicted_section,
                   sum(w) AS weighted_count, count(*) AS count
            FROM coded GROUP BY g, p
            ORDER BY gold_section NULLS LAST, weighted_count DESC, predicted_section NULLS LAST
            """,
        )
