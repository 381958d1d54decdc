"""Champion / challenger on a campaign (``campaigns compare``): the campaign's gold, the
challenger's predictions from its source (:mod:`campaigns.lifecycle.challenger`: a Parquet
table or a classifier behind the production API's batch contract), the paired figures
(:mod:`campaigns.metrics.comparison`) and the dashboard's tables.

Gold made with the champion's suggestions shown is biased toward the champion (experts
anchor on the answer they see): a ``randomized`` campaign is compared on its blind arm only,
and a ``preselected`` or ``shown`` campaign's result carries a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import (
    EmptySelectionError,
    InvalidArgumentError,
)
from campaigns.gold.store import latest_annotations, latest_gold
from campaigns.lifecycle.challenger import (
    BATCH_PATH,
    Post,
    TransientClassifierError,
    predictions_from_classifier,
    predictions_from_table,
)
from campaigns.metrics.anchoring import BLIND, with_arms
from campaigns.metrics.comparison import Comparison, compare_models
from campaigns.metrics.gold_metrics import reweight_to_annotated
from campaigns.nomenclatures import old_nomenclature
from campaigns.state.models import Campaign, CampaignKind, SuggestionMode
from campaigns.storage import Storage

__all__ = [
    "BATCH_PATH",
    "CampaignComparison",
    "ChallengerSource",
    "TransientClassifierError",
    "classifier_source",
    "compare_campaign",
    "comparison_gold",
    "table_source",
]


ChallengerSource = Callable[[pa.Table], tuple[pa.Table, dict[str, Any]]]
"""Given the gold table, the challenger's predictions (and what getting them cost)."""


def table_source(table: pa.Table) -> ChallengerSource:
    """A challenger given as a table (read from Parquet)."""
    predictions = predictions_from_table(table)
    return lambda gold: (predictions, {"source": "table"})


def classifier_source(
    post: Post,
    *,
    batch_size: int = 100,
    on_batch: Callable[[int], None] | None = None,
    attempts: int = 5,
) -> ChallengerSource:
    """A challenger served behind the batch contract: the gold texts are posted to it."""

    def source(gold: pa.Table) -> tuple[pa.Table, dict[str, Any]]:
        table, cost = predictions_from_classifier(
            gold, post, batch_size=batch_size, on_batch=on_batch, attempts=attempts
        )
        return table, {"source": "classifier", **cost}

    return source


@dataclass
class CampaignComparison:
    campaign_id: int
    export_version: str
    comparison: Comparison
    challenger_version: str
    champion_versions: list[str]
    written: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """What the CLI's ``--json``, and the compare job's result, give."""
        from campaigns.metrics.dashboard import json_safe

        return json_safe(
            {
                "campaign_id": self.campaign_id,
                "export_version": self.export_version,
                "champion_versions": self.champion_versions,
                "challenger_version": self.challenger_version,
                **self.notes,
                "summary": self.comparison.summary,
                "tables": self.written,
            }
        )


def comparison_gold(
    session: Session, storage: Storage, campaign: Campaign
) -> tuple[pa.Table, dict[str, Any]]:
    """The gold units a comparison may use, reweighted to them, and what was left out why.

    A randomized campaign keeps its blind arm (re-weighted within each stratum, where the arms
    are random halves); gold made with the champion's answer in view is flagged.
    """
    if campaign.kind != CampaignKind.GOLD:
        raise InvalidArgumentError(
            f"Campaign {campaign.id} is a {campaign.kind} campaign: it has no gold standard.",
            "Compare models on a gold campaign.",
        )
    gold = latest_gold(storage, campaign, session)
    notes: dict[str, Any] = {"suggestions": str(campaign.suggestions)}
    if campaign.suggestions == SuggestionMode.RANDOMIZED:
        gold = with_arms(gold, latest_annotations(storage, campaign, session))
        if "arm" in gold.column_names:
            notes["units_left_out"] = gold.num_rows
            gold = gold.filter(pc.equal(gold.column("arm"), BLIND))
            notes["units_left_out"] -= gold.num_rows
            notes["gold"] = "blind arm only"
    elif campaign.suggestions in (SuggestionMode.PRESELECTED, SuggestionMode.SHOWN):
        notes["warning"] = (
            f"This campaign's experts saw the champion's suggestions ({campaign.suggestions}): "
            "its gold leans toward the champion, so the challenger is at a disadvantage. "
            "Compare on a hidden (blind) campaign, or the blind arm of a randomized one."
        )
    if gold.num_rows == 0:
        raise EmptySelectionError(
            f"Campaign {campaign.id} has no annotated unit to compare the models on.",
            f"Export it first ('campaigns export {campaign.id}') once experts have worked.",
        )
    return reweight_to_annotated(gold), notes


def compare_campaign(
    session: Session,
    storage: Storage,
    settings: Settings,
    campaign: Campaign,
    source: ChallengerSource,
    *,
    threshold: float | None = None,
    replicates: int = 1000,
    seed: int = 0,
    write: bool = True,
) -> CampaignComparison:
    """Champion vs challenger on the campaign's latest export; the dashboard's tables unless
    ``write=False`` (``metrics/comparison`` and ``metrics/comparison_discordant``)."""
    from campaigns.lifecycle.challenger_answers import codes_outside_nomenclature
    from campaigns.metrics.dashboard import write_comparison

    gold, notes = comparison_gold(session, storage, campaign)
    wanted = [c for c in ("request_id", "text", "context") if c in gold.column_names]
    predictions, cost = source(gold.select(wanted))
    cost |= codes_outside_nomenclature(predictions, old_nomenclature(settings).levels_table())
    versions = sorted({v for v in predictions.column("model_version").to_pylist() if v})
    threshold = settings.auto_coding_threshold if threshold is None else threshold
    comparison = compare_models(
        gold,
        predictions,
        threshold=threshold,
        levels=old_nomenclature(settings).levels_table(),
        replicates=replicates,
        seed=seed,
        champion_census=_champion_census(session, storage, settings, campaign, threshold),
    )
    champion_versions = sorted(
        {str(v) for v in gold.column("model_version").to_pylist() if v}
        if "model_version" in gold.column_names
        else set()
    )
    result = CampaignComparison(
        campaign_id=campaign.id or 0,
        export_version=campaign.last_export_version or "unknown",
        comparison=comparison,
        challenger_version=", ".join(versions) or "unknown",
        champion_versions=champion_versions,
        notes={**notes, **cost},
    )
    if write:
        result.written = write_comparison(
            storage,
            result.campaign_id,
            comparison,
            export_version=result.export_version,
            challenger_version=result.challenger_version,
            computed_on=datetime.now(UTC).date(),
        )
    return result


def _champion_census(
    session: Session, storage: Storage, settings: Settings, campaign: Campaign, threshold: float
) -> tuple[float, int] | None:
    """The champion's automatic-coding rate on the sample's whole window (a census, as
    ``campaigns metrics`` reports it), when that window's traffic is the frame and stored."""
    from campaigns.lifecycle.metrics import sample_traffic_totals
    from campaigns.state import crud

    if campaign.sample_id is None:
        return None
    sample = crud.get_sample(session, campaign.sample_id)
    totals = sample_traffic_totals(storage, settings, sample, threshold)
    if totals is None or not totals.requests:
        return None
    return float(totals.auto_coding_rate), int(totals.requests)
