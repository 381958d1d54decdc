"""Where the prior accuracy of a plan or a Neyman allocation comes from, and its values.

The planner and Neyman allocation need, per stratum, the expected accuracy ``p_h`` (the
standard deviation of a unit's correctness is ``sqrt(p_h (1 - p_h))``). Priors are given per
confidence bin of the design (``Design.prior_accuracy``), so the plan and the draw use the same
values. They come from the first of these that exists, and the source is reported with the
plan and stored with the sample:

1. ``typed``: the user's ``--prior-accuracy`` (always wins).
2. ``gold``: the latest gold campaign on comparable strata (its sample was stratified on the
   same variables: same confidence edges, section or not), read from its latest export. Per
   bin ``b``, the design-weighted accuracy ``a_b`` of its ``n_b`` coded units is shrunk toward
   the campaign's overall accuracy ``a``:

       p_b = (n_b a_b + k a) / (n_b + k),   k = PRIOR_STRENGTH = 10

   the posterior mean under a Beta(k a, k (1 - a)) prior: a bin with few units leans on the
   overall figure, a well-annotated one keeps its own (and no bin gets exactly 0 or 1, which
   would give it no Neyman share at all). Weights are those of the units annotated so far
   (``reweight_to_annotated``), as for the campaign's own figures.
3. ``calibrated-scores``: the window's traffic, the model's top-1 score averaged per bin after
   mapping each score to the probability of being right by the isotonic fit on the latest gold
   campaign (any strata; ``campaigns.metrics.calibration``).
4. ``scores``: the same average of raw top-1 scores when no gold campaign exists (the model's
   own belief: usually optimistic, still better than nothing).
5. ``worst-case``: 0.5 everywhere (a window without scores): the largest plan.

Scores are read as a histogram (bin x score rounded to 0.001) so that a window of millions
of requests costs one grouped scan and a few thousand rows; the rounding moves a bin's mean by
at most 0.0005. Units of earlier campaigns are not left out of this average: a prior needs no
such precision.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from campaigns.sampling.designs import Design

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlmodel import Session

    from campaigns.state.models import Campaign
    from campaigns.storage import Storage
    from campaigns.traffic.window import Window

PRIOR_STRENGTH = 10.0
"""Pseudo-units of the overall accuracy added to each bin (the Beta prior's strength)."""

WORST_CASE = 0.5


class PriorSource(StrEnum):
    TYPED = "typed"
    GOLD = "gold"
    CALIBRATED_SCORES = "calibrated-scores"
    SCORES = "scores"
    WORST_CASE = "worst-case"


@dataclass(frozen=True)
class Priors:
    """Prior accuracy per confidence bin of a design, and where it comes from.

    ``campaign`` names the gold campaign used (the gold source, or the calibration of scores);
    ``units`` counts its coded units per bin (gold source only).
    """

    accuracy: tuple[float, ...]
    source: PriorSource
    campaign: str | None = None
    units: tuple[int, ...] = ()

    def apply(self, design: Design) -> Design:
        """The design with these priors (a typed design is returned as it is)."""
        if self.source is PriorSource.TYPED:
            return design
        return replace(design, prior_accuracy=self.accuracy)

    def describe(self) -> str:
        """One sentence for the CLI: which priors, from what."""
        if self.source is PriorSource.TYPED:
            return "prior accuracy typed (--prior-accuracy)"
        if self.source is PriorSource.GOLD:
            return (
                f"prior accuracy from gold campaign {self.campaign!r} "
                f"({sum(self.units)} coded units, shrunk toward its overall accuracy)"
            )
        if self.source is PriorSource.CALIBRATED_SCORES:
            return (
                "prior accuracy from the window's top-1 scores, calibrated on gold campaign "
                f"{self.campaign!r} (no gold campaign on the same strata)"
            )
        if self.source is PriorSource.SCORES:
            return "prior accuracy from the window's raw top-1 scores (no gold campaign yet)"
        return "prior accuracy 0.5 everywhere, the worst case (no gold, no scores)"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": str(self.source), "accuracy": list(self.accuracy)}
        if self.campaign is not None:
            out["campaign"] = self.campaign
        if self.units:
            out["units"] = list(self.units)
        return out


def bin_index(confidence: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Confidence bin of each value, as ``Design.stratum_sql`` cuts them (``[lo, hi)``, the
    last closed; a missing confidence falls in the last bin, like SQL's ``ELSE``)."""
    values = np.asarray(confidence, dtype=float)
    index = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
    return np.where(np.isnan(values), len(edges), index)


def _coded_units(gold: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Confidence, score, correctness (0/1) and weight of the gold's coded units."""
    from campaigns.metrics.gold_metrics import reweight_to_annotated

    table = reweight_to_annotated(gold)
    names = set(table.column_names)

    def column(name: str, default: float) -> np.ndarray:
        if name not in names:
            return np.full(table.num_rows, default)
        return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)

    status = np.asarray(table.column("status").to_pylist(), dtype=object)
    gold_code = np.asarray(table.column("gold_code").to_pylist(), dtype=object)
    predicted = np.asarray(table.column("predicted_code").to_pylist(), dtype=object)
    coded = (status == "coded") & np.array([c is not None for c in gold_code], dtype=bool)
    correct = np.array([p == g for p, g in zip(predicted, gold_code, strict=True)], dtype=float)
    keep = coded & np.isfinite(column("weight", 1.0))
    return (
        column("confidence", np.nan)[keep],
        column("score", np.nan)[keep],
        correct[keep],
        column("weight", 1.0)[keep],
    )


def gold_bin_accuracy(
    gold: pa.Table, edges: Sequence[float], *, strength: float = PRIOR_STRENGTH
) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Shrunk accuracy per confidence bin (see the module's formula) and coded units per bin.

    Raises ``ValueError`` when the gold has no coded unit.
    """
    confidence, _, correct, weight = _coded_units(gold)
    if correct.size == 0 or weight.sum() <= 0:
        raise ValueError("the gold table has no coded unit")
    overall = float(np.sum(weight * correct) / np.sum(weight))
    bins = len(edges) + 1
    index = bin_index(confidence, edges)
    units = np.bincount(index, minlength=bins)
    mass = np.bincount(index, weights=weight, minlength=bins)
    hits = np.bincount(index, weights=weight * correct, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.where(mass > 0, hits / mass, overall)
    shrunk = (units * own + strength * overall) / (units + strength)
    return tuple(round(float(p), 4) for p in shrunk), tuple(int(n) for n in units)


def score_calibration(gold: pa.Table) -> Callable[[np.ndarray], np.ndarray]:
    """Map from top-1 score to probability of being right: isotonic fit on the gold."""
    from campaigns.metrics.calibration import fit_isotonic

    _, score, correct, weight = _coded_units(gold)
    keep = np.isfinite(score)
    if not keep.any():
        raise ValueError("the gold table has no coded unit with a score")
    return fit_isotonic(score[keep], correct[keep], weight[keep])


def traffic_score_histogram(
    storage: Storage, window: Window, edges: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window's top-1 scores as ``(bin, score rounded to 0.001, requests)`` arrays."""
    from campaigns.duck import connect, fetch_arrow
    from campaigns.traffic.window import window_relation

    cases = " ".join(f"WHEN confidence < {float(e)!r} THEN {i}" for i, e in enumerate(edges))
    bin_sql = f"CASE {cases} ELSE {len(edges)} END" if edges else "0"
    with connect() as con:
        view = window_relation(con, storage, window)
        table = fetch_arrow(
            con,
            f"""SELECT {bin_sql} AS b, round(score::DOUBLE, 3) AS s, count(*)::BIGINT AS n
                FROM {view.name} WHERE score IS NOT NULL GROUP BY ALL""",
        )
    return tuple(  # type: ignore[return-value]
        np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=float)
        for c in ("b", "s", "n")
    )


def score_bin_means(
    bins: np.ndarray,
    scores: np.ndarray,
    counts: np.ndarray,
    n_bins: int,
    calibrate: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, ...] | None:
    """Mean (calibrated) score per bin from a histogram; a bin without traffic gets the
    overall mean. None when there is no score at all."""
    if counts.sum() <= 0:
        return None
    values = np.clip(calibrate(scores) if calibrate else scores, 0.0, 1.0)
    index = bins.astype(int)
    mass = np.bincount(index, weights=counts, minlength=n_bins)
    total = np.bincount(index, weights=counts * values, minlength=n_bins)
    overall = total.sum() / mass.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(mass > 0, total / mass, overall)
    return tuple(round(float(p), 4) for p in means)


def comparable(design: Design, design_params: str | None) -> bool:
    """Whether a sample's stored design was stratified on the same variables as ``design``."""
    stored = Design.from_params(json.loads(design_params or "{}"))
    return stored.confidence_edges == tuple(design.confidence_edges) and (
        stored.by_section == design.by_section
    )


def gold_campaigns_newest_first(session: Session) -> list[Campaign]:
    """Gold campaigns that have an export (team campaigns are read through their campaign)."""
    from sqlmodel import select

    from campaigns.state.models import Campaign, CampaignKind

    rows = session.exec(
        select(Campaign)
        .where(Campaign.kind == CampaignKind.GOLD)
        .where(Campaign.parent_id == None)  # noqa: E711 (SQL IS NULL)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())  # type: ignore[union-attr]
    ).all()
    return list(rows)


def _readable_gold(session: Session, storage: Storage, campaign: Campaign) -> pa.Table | None:
    """The campaign's latest gold table, or None if it has none with a coded unit."""
    from campaigns.errors import CampaignError
    from campaigns.gold.store import latest_gold

    try:
        gold = latest_gold(storage, campaign, session)
    except CampaignError:  # no export yet (or a team without one): not a usable gold
        return None
    needed = {"status", "gold_code", "predicted_code"}
    if gold.num_rows == 0 or not needed <= set(gold.column_names):
        return None
    return gold


def resolve_priors(session: Session, storage: Storage, window: Window, design: Design) -> Priors:
    """The design's priors: typed, else from gold, else from the window's scores (see above)."""
    from campaigns.state import crud

    edges = tuple(design.confidence_edges)
    n_bins = len(edges) + 1
    if design.prior_accuracy:
        return Priors(tuple(design.prior_accuracy), PriorSource.TYPED)
    calibration_source: tuple[Campaign, pa.Table] | None = None
    for campaign in gold_campaigns_newest_first(session):
        gold = _readable_gold(session, storage, campaign)
        if gold is None:
            continue
        sample = crud.get_sample(session, campaign.sample_id)
        try:
            if comparable(design, sample.design_params):
                accuracy, units = gold_bin_accuracy(gold, edges)
                return Priors(accuracy, PriorSource.GOLD, campaign.name, units)
            if calibration_source is None:
                score_calibration(gold)  # raises when it cannot calibrate
                calibration_source = (campaign, gold)
        except ValueError:  # no coded unit (or no score): look at an older campaign
            continue
    bins, scores, counts = traffic_score_histogram(storage, window, edges)
    if calibration_source is not None:
        campaign, gold = calibration_source
        means = score_bin_means(bins, scores, counts, n_bins, score_calibration(gold))
        if means is not None:
            return Priors(means, PriorSource.CALIBRATED_SCORES, campaign.name)
    means = score_bin_means(bins, scores, counts, n_bins)
    if means is not None:
        return Priors(means, PriorSource.SCORES)
    return Priors((WORST_CASE,) * n_bins, PriorSource.WORST_CASE)
