"""Inter-annotator agreement statistics for overlapping annotations.

Input is a long table (``pyarrow.Table`` or ``pandas.DataFrame``) with one row per rating:
``task_id`` (int or str), ``annotator`` (str) and ``label`` (str; null means "no rating").
Null labels are dropped before anything is computed, so missing ratings never count as a
category. A given annotator may rate a task at most once: duplicates are ambiguous (which one
is the answer?) and raise ``ValueError`` instead of being silently counted twice.

Everything is computed from per-task label counts (``crosstab``/``bincount``), never by looping
over rows in Python, so the functions stay fast on campaign-sized tables. The module is pure:
no web, CLI, database or storage imports.

Statistics that are undefined for the data (no overlapping tasks, a single category used
throughout, ...) raise ``ValueError`` with the reason; :func:`agreement_summary` turns those
into ``None`` so a report can always be produced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "agreement_summary",
    "annotator_vs_majority",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
    "pairwise_agreement",
]

COLUMNS = ("task_id", "annotator", "label")

Ratings = pa.Table | pd.DataFrame


def _ratings(table: Ratings) -> pd.DataFrame:
    """The non-null ratings as a DataFrame; validates columns and (task, annotator) uniqueness."""
    if isinstance(table, pa.Table):
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise ValueError(f"ratings table lacks column(s) {missing}; expected {list(COLUMNS)}")
        df = table.select(list(COLUMNS)).to_pandas()
    elif isinstance(table, pd.DataFrame):
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"ratings table lacks column(s) {missing}; expected {list(COLUMNS)}")
        df = table.loc[:, list(COLUMNS)]
    else:
        raise TypeError(f"expected a pyarrow.Table or pandas.DataFrame, got {type(table).__name__}")
    df = df[df["label"].notna()].reset_index(drop=True)
    dup = df.duplicated(["task_id", "annotator"], keep=False)
    if dup.any():
        first = df.loc[dup, ["task_id", "annotator"]].iloc[0]
        raise ValueError(
            f"{int(dup.sum())} ratings repeat a (task_id, annotator) pair, e.g. "
            f"task {first['task_id']!r} by {first['annotator']!r}; keep one rating per pair"
        )
    return df


def _counts(df: pd.DataFrame) -> pd.DataFrame:
    """Task x label count matrix (rows: tasks, columns: labels, values: number of ratings)."""
    return pd.crosstab(df["task_id"], df["label"])


def _kappa(observed: float, expected: float, what: str) -> float:
    """Chance-corrected agreement; undefined when chance agreement is already perfect."""
    if np.isclose(expected, 1.0):
        raise ValueError(f"{what} is undefined: every rating falls in the same single category")
    return float((observed - expected) / (1.0 - expected))


def cohen_kappa(table: Ratings) -> float:
    """Cohen's kappa for exactly two annotators, over the tasks both of them labelled.

    Kappa corrects raw agreement for the agreement expected from each annotator's own label
    distribution, so two coders who both say "62.01Z" 90% of the time are not credited for it.
    Raises ``ValueError`` when there are not exactly two annotators, when they share no task,
    or when kappa is undefined (both used one and the same category only).
    """
    df = _ratings(table)
    annotators = np.sort(df["annotator"].unique())
    if len(annotators) != 2:
        raise ValueError(
            f"Cohen's kappa needs exactly 2 annotators, found {len(annotators)}: "
            f"{list(annotators)[:10]}; use fleiss_kappa or krippendorff_alpha_nominal instead"
        )
    codes, labels = pd.factorize(df["label"])
    wide = (
        df.assign(code=codes)
        .pivot(index="task_id", columns="annotator", values="code")
        .reindex(columns=annotators)
        .dropna()
    )
    if wide.empty:
        raise ValueError(
            f"Cohen's kappa needs tasks labelled by both annotators; "
            f"{annotators[0]!r} and {annotators[1]!r} share none"
        )
    k = len(labels)
    a = wide.iloc[:, 0].to_numpy(dtype=np.int64)
    b = wide.iloc[:, 1].to_numpy(dtype=np.int64)
    confusion = np.bincount(a * k + b, minlength=k * k).reshape(k, k) / len(a)
    observed = float(np.trace(confusion))
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0))
    return _kappa(observed, expected, "Cohen's kappa")


def fleiss_kappa(table: Ratings) -> float:
    """Fleiss' kappa: chance-corrected agreement for a fixed number of ratings per task.

    Fleiss' formula assumes every task received the same number ``n >= 2`` of ratings (raters
    may differ between tasks). Real campaigns are ragged, so only the tasks having the modal
    number of ratings among tasks with at least two ratings are used (on a tie between modes, the
    larger ``n``); the other tasks are ignored. Use :func:`krippendorff_alpha_nominal` to use all
    tasks. Raises ``ValueError`` when no task has two ratings or kappa is undefined.
    """
    counts = _counts(_ratings(table))
    per_task = counts.sum(axis=1)
    per_task = per_task[per_task >= 2]
    if per_task.empty:
        raise ValueError("Fleiss' kappa needs at least one task with 2 or more ratings")
    freq = per_task.value_counts()
    n = int(freq[freq == freq.max()].index.max())
    nij = counts.loc[per_task.index[per_task == n]].to_numpy(dtype=np.float64)
    p_i = ((nij * nij).sum(axis=1) - n) / (n * (n - 1))
    p_j = nij.sum(axis=0) / nij.sum()
    return _kappa(float(p_i.mean()), float(p_j @ p_j), "Fleiss' kappa")


def krippendorff_alpha_nominal(table: Ratings) -> float:
    """Krippendorff's alpha for nominal labels, any number of annotators, missing ratings allowed.

    Uses the coincidence-matrix method (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability"): each unit with ``m_u`` ratings contributes its ``m_u (m_u - 1)`` ordered
    pairs of values weighted ``1 / (m_u - 1)``; ``alpha = 1 - D_o / D_e``. Units with fewer than 2
    ratings carry no pairable information and are dropped. Raises ``ValueError`` when no unit is
    pairable or only one category occurs among pairable values (alpha undefined).
    """
    counts = _counts(_ratings(table)).to_numpy(dtype=np.float64)
    m_u = counts.sum(axis=1)
    counts, m_u = counts[m_u >= 2], m_u[m_u >= 2]
    if len(m_u) == 0:
        raise ValueError("Krippendorff's alpha needs at least one task with 2 or more ratings")
    weighted = counts / (m_u - 1)[:, None]
    coincidence = counts.T @ weighted - np.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    expected_disagreement = n * n - n_c @ n_c
    if np.isclose(expected_disagreement, 0.0):
        raise ValueError(
            "Krippendorff's alpha is undefined: every pairable rating has the same category"
        )
    observed_disagreement = n - np.trace(coincidence)
    return float(1.0 - (n - 1) * observed_disagreement / expected_disagreement)


def pairwise_agreement(table: Ratings) -> float:
    """Share of agreeing annotator pairs, pooled over all pairs formed within each task.

    The plain (not chance-corrected) percent agreement: a task with ``m`` ratings contributes
    ``m (m - 1) / 2`` pairs, of which those with equal labels agree. Raises ``ValueError`` when
    no task has two ratings.
    """
    counts = _counts(_ratings(table)).to_numpy(dtype=np.int64)
    m_u = counts.sum(axis=1)
    pairs = int((m_u * (m_u - 1)).sum() // 2)
    if pairs == 0:
        raise ValueError("pairwise agreement needs at least one task with 2 or more ratings")
    agreeing = int((counts * (counts - 1)).sum() // 2)
    return agreeing / pairs


def _or_none(statistic: Callable[[Ratings], float], table: pd.DataFrame) -> float | None:
    """The statistic, or ``None`` when it is not computable for this data."""
    try:
        return statistic(table)
    except ValueError:
        return None


def agreement_summary(table: Ratings) -> dict[str, Any]:
    """All agreement figures at once, ``None`` for those the data cannot support.

    Keys: ``tasks_with_overlap`` (tasks with 2+ ratings), ``annotators`` (annotators with at
    least one rating), ``percent_agreement`` (:func:`pairwise_agreement`), ``cohen_kappa`` (only
    when there are exactly two annotators), ``fleiss_kappa`` and ``krippendorff_alpha``. Input
    errors (missing columns, duplicate ratings) still raise: they are not "not computable".
    """
    df = _ratings(table)
    per_task = df.groupby("task_id").size()
    n_annotators = int(df["annotator"].nunique())
    return {
        "tasks_with_overlap": int((per_task >= 2).sum()),
        "annotators": n_annotators,
        "percent_agreement": _or_none(pairwise_agreement, df),
        "cohen_kappa": _or_none(cohen_kappa, df) if n_annotators == 2 else None,
        "fleiss_kappa": _or_none(fleiss_kappa, df),
        "krippendorff_alpha": _or_none(krippendorff_alpha_nominal, df),
    }


def annotator_vs_majority(table: Ratings) -> pd.DataFrame:
    """Per annotator, how often their label equals the task's majority label.

    The majority label of a task is the label with strictly more votes than any other, over all
    of the task's ratings (the annotator's own included; same rule as the gold table). Tasks with
    fewer than 2 ratings or a tied top label are excluded, so single-rated tasks cannot inflate
    the score. Returns columns ``annotator``, ``tasks`` (number of scored tasks) and
    ``agreement_with_majority`` (NaN when the annotator has no scored task), sorted by annotator.
    """
    df = _ratings(table)
    votes = df.groupby(["task_id", "label"]).size().rename("votes").reset_index()
    by_task = votes.groupby("task_id")["votes"]
    votes["top"] = by_task.transform("max")
    votes["ratings"] = by_task.transform("sum")
    top = votes[(votes["votes"] == votes["top"]) & (votes["ratings"] >= 2)]
    unique_top = top.groupby("task_id")["label"].transform("size") == 1
    majority = top[unique_top].set_index("task_id")["label"].rename("majority")
    joined = df.join(majority, on="task_id", how="inner")
    per_annotator = (
        joined.assign(agrees=joined["label"] == joined["majority"])
        .groupby("annotator")["agrees"]
        .agg(tasks="size", agreement_with_majority="mean")
    )
    everyone = pd.Index(np.sort(df["annotator"].unique()), name="annotator")
    result = per_annotator.reindex(everyone)
    result["tasks"] = result["tasks"].fillna(0).astype(np.int64)
    result["agreement_with_majority"] = result["agreement_with_majority"].astype(np.float64)
    return result.reset_index()


def ratings_from_annotations(annotations: pa.Table) -> pd.DataFrame:
    """The ratings of an export's annotations table: coded annotations, one per expert and task.

    "Cannot be coded" is a rating too (label ``cannot_code``); skipped and invalid annotations
    are not. When an expert annotated a task twice, their latest annotation counts.
    """
    df = annotations.select(["task_id", "annotator", "status", "code", "updated_at"]).to_pandas()
    df = df[df["status"].isin(["coded", "cannot_code"])]
    df = df.assign(label=df["code"].where(df["status"] == "coded", "cannot_code"))
    df = df.sort_values("updated_at").drop_duplicates(["task_id", "annotator"], keep="last")
    return df.loc[:, list(COLUMNS)].reset_index(drop=True)
