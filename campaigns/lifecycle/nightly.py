"""The nightly run (``campaigns nightly``): every open campaign exported, then a gold
campaign's metrics written. One campaign's failure never stops the others: it is recorded and
the run goes on, and the report lists what failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from campaigns.errors import CampaignError
from campaigns.lifecycle.export import ExportSummary
from campaigns.lifecycle.metrics import CampaignMetrics
from campaigns.state.models import Campaign, CampaignKind


@dataclass
class NightlyOutcome:
    """One campaign's part of the nightly run: what was exported, or why it failed."""

    campaign: str
    annotations: int = 0
    tasks_read: int = 0
    version: str | None = None
    metrics_tables: int = 0
    error: str | None = None
    registry: list[str] = field(default_factory=list)
    """What went to the model registry (MLflow), and its warnings."""


@dataclass
class NightlyReport:
    outcomes: list[NightlyOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[NightlyOutcome]:
        return [o for o in self.outcomes if o.error is not None]


def run_nightly(
    session: Session,
    campaigns: list[Campaign],
    *,
    export: Callable[[Campaign], ExportSummary],
    metrics: Callable[[Campaign], CampaignMetrics],
    after_metrics: Callable[[Campaign, CampaignMetrics], list[str]] | None = None,
) -> NightlyReport:
    """``export`` each campaign, then ``metrics`` of a gold one with annotations, then
    ``after_metrics`` with them (the model registry's feedback: lines to report)."""
    report = NightlyReport()
    for campaign in campaigns:
        outcome = NightlyOutcome(campaign=campaign.name)
        report.outcomes.append(outcome)
        try:
            summary = export(campaign)
            outcome.annotations = summary.annotations
            outcome.tasks_read = summary.tasks_read
            outcome.version = summary.version
            if campaign.kind == CampaignKind.GOLD and summary.annotations:
                result = metrics(campaign)
                outcome.metrics_tables = len(result.written)
                if after_metrics is not None:
                    outcome.registry = after_metrics(campaign, result)
        except CampaignError as err:
            session.rollback()
            outcome.error = err.one_line()
        except Exception as err:  # the night goes on; the error is reported at the end
            session.rollback()
            outcome.error = f"unexpected {type(err).__name__}: {err}"
    return report
