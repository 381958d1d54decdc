"""The one service object every entry point uses: the CLI, the REST API, its jobs and webhooks.

``CampaignService`` wires a database session, the storage root, the Label Studio gateway,
the settings and each campaign kind's kit in one place, and exposes the campaign manager's
operations (create, push, export, metrics, progress, archive...) by campaign id or name.
Entry points parse input, call one method, render the result: the rules (an archived
campaign takes no pushes, every kind gets its webhooks, metrics only for gold campaigns)
live in the lifecycle modules it calls, so the CLI and the API cannot drift apart.

The storage and the gateway are built on first use: listing campaigns never opens Label
Studio, and the Label Studio SDK is imported only by commands that talk to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from campaigns.config import Settings, get_settings
from campaigns.errors import CampaignError
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import (
    Campaign,
    CampaignBase,
    CampaignCreate,
    CampaignKind,
    CampaignStatus,
)
from campaigns.storage import Storage

if TYPE_CHECKING:
    import pyarrow as pa

    from campaigns.labelstudio.gateway import LabelStudioGateway
    from campaigns.labelstudio.kinds import CampaignKit
    from campaigns.lifecycle.export import ExportSummary
    from campaigns.lifecycle.metrics import CampaignMetrics
    from campaigns.lifecycle.push import PushSummary
    from campaigns.lifecycle.transition import TransitionPlan

CampaignRef = int | str


@dataclass
class NightlyOutcome:
    """One campaign's part of the nightly run: what was exported, or why it failed."""

    campaign: str
    annotations: int = 0
    tasks_read: int = 0
    version: str | None = None
    metrics_tables: int = 0
    error: str | None = None


@dataclass
class NightlyReport:
    outcomes: list[NightlyOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[NightlyOutcome]:
        return [o for o in self.outcomes if o.error is not None]


class CampaignService:
    """A session, the storage, Label Studio and the settings, and what a manager does with them."""

    def __init__(
        self,
        session: Session,
        settings: Settings | None = None,
        *,
        storage: Storage | None = None,
        gateway: LabelStudioGateway | None = None,
    ) -> None:
        self.session = session
        self.settings = settings or get_settings()
        if storage is not None:
            self.__dict__["storage"] = storage
        if gateway is not None:
            self.__dict__["gateway"] = gateway

    @classmethod
    @contextmanager
    def open(cls, settings: Settings | None = None) -> Iterator[CampaignService]:
        """A service over a fresh session, closed (and rolled back on error) at the end."""
        settings = settings or get_settings()
        with session_scope(settings) as session:
            yield cls(session, settings)

    # -- what every operation needs ----------------------------------------------------------
    @cached_property
    def storage(self) -> Storage:
        return Storage.from_settings(self.settings)

    @cached_property
    def gateway(self) -> LabelStudioGateway:
        from campaigns.labelstudio.gateway import LabelStudioGateway

        return LabelStudioGateway.from_settings(self.settings)

    def kit(self, campaign: CampaignBase) -> CampaignKit:
        """The campaign's kind-specific pieces (its kind and options decide them)."""
        from campaigns.labelstudio.kinds import kit_for

        return kit_for(campaign, self.settings)

    def campaign(self, ref: CampaignRef) -> Campaign:
        return crud.get_campaign(self.session, ref)

    def _sections(self) -> pa.Table:
        from campaigns.nomenclatures import old_nomenclature

        return old_nomenclature(self.settings).division_sections()

    # -- lifecycle ---------------------------------------------------------------------------
    def create(self, data: CampaignCreate) -> Campaign:
        """The campaign, its Label Studio project(s) and their webhooks, for any kind."""
        from campaigns.lifecycle.create import create_campaign, register_campaign_webhooks

        campaign = create_campaign(self.session, self.gateway, self.kit(data), data)
        register_campaign_webhooks(self.session, self.gateway, campaign, self.settings)
        return campaign

    def create_transition(
        self,
        table: pa.Table,
        *,
        name: str,
        size: int,
        seed: int = 0,
        text_column: str = "text",
        code_column: str = "code",
        overlap: int = 1,
    ) -> tuple[TransitionPlan, Campaign]:
        """Recode ``table`` to NAF 2025, then a transition campaign on its multivocal sample."""
        from campaigns.lifecycle.transition import prepare_transition
        from campaigns.nomenclatures import correspondence

        plan = prepare_transition(
            self.session,
            self.storage,
            correspondence(self.settings),
            table,
            name=name,
            size=size,
            seed=seed,
            text_column=text_column,
            code_column=code_column,
        )
        campaign = self.create(
            CampaignCreate(
                name=name,
                sample_id=plan.sample.id,
                kind=CampaignKind.TRANSITION,
                annotations_per_task=overlap,
                description="NAF rév.2 -> NAF 2025 transition",
            )
        )
        return plan, campaign

    def push(
        self,
        ref: CampaignRef,
        *,
        batch_size: int = 1000,
        on_batch: Callable[[int], None] | None = None,
    ) -> PushSummary:
        """Import the campaign's missing tasks (refused for an archived campaign)."""
        from campaigns.lifecycle.push import push_campaign

        campaign = self.campaign(ref)
        return push_campaign(
            self.session,
            self.storage,
            self.gateway,
            self.kit(campaign),
            campaign,
            batch_size=batch_size,
            on_batch=on_batch,
            sections=self._sections(),
        )

    def export(self, ref: CampaignRef, *, full: bool = False) -> ExportSummary:
        """Read the annotations back into a new export version (incremental by default)."""
        from campaigns.lifecycle.export import export_campaign

        campaign = self.campaign(ref)
        return export_campaign(
            self.session, self.storage, self.gateway, self.kit(campaign), campaign, full=full
        )

    def metrics(
        self,
        ref: CampaignRef,
        *,
        threshold: float | None = None,
        replicates: int = 1000,
        write: bool = True,
    ) -> CampaignMetrics:
        """Every figure of the latest export; the dashboard's Parquet unless ``write=False``."""
        from campaigns.lifecycle.metrics import campaign_metrics

        return campaign_metrics(
            self.session,
            self.storage,
            self.settings,
            self.campaign(ref),
            threshold=threshold,
            replicates=replicates,
            write=write,
        )

    def report(
        self, ref: CampaignRef, *, threshold: float | None = None, store: bool = True
    ) -> tuple[str, str | None]:
        """The self-contained HTML report, and where a copy was stored beside the metrics."""
        from campaigns.metrics.report import render_report

        campaign = self.campaign(ref)
        result = self.metrics(campaign.id or 0, threshold=threshold, write=False)
        page = render_report(result.metrics, title=f"Campaign {campaign.name}")
        if not store:
            return page, None
        uri = self.storage.write_bytes(
            page.encode(), f"reports/campaign={campaign.id}/report-{result.export_version}.html"
        )
        return page, uri

    def progress(self, ref: CampaignRef) -> dict[str, Any]:
        """Label Studio's live counters (per team too) and the latest export's agreement."""
        from campaigns.lifecycle.export import latest_annotations
        from campaigns.lifecycle.progress import campaign_progress
        from campaigns.metrics.agreement import agreement_summary, ratings_from_annotations

        campaign = self.campaign(ref)
        counts = campaign_progress(self.session, self.gateway, campaign)
        agreement = None
        if campaign.last_export_version:
            annotations = latest_annotations(self.storage, campaign, self.session)
            agreement = agreement_summary(ratings_from_annotations(annotations))
        return {
            "campaign_id": campaign.id,
            "status": campaign.status,
            "agreement": agreement,
            **counts,
        }

    def archive(self, ref: CampaignRef) -> Campaign:
        from campaigns.lifecycle.archive import archive_campaign

        return archive_campaign(self.session, self.campaign(ref))

    def latest_gold(self, ref: CampaignRef) -> pa.Table:
        from campaigns.lifecycle.export import latest_gold

        return latest_gold(self.storage, self.campaign(ref), self.session)

    def open_campaigns(self) -> list[Campaign]:
        """Campaigns still being annotated (every page of them), team campaigns excluded."""
        return [
            c
            for c in crud.all_campaigns(self.session)
            if c.status in (CampaignStatus.PUSHED, CampaignStatus.EXPORTED)
            and c.parent_id is None  # team campaigns are exported through their campaign
        ]

    def nightly(self, *, threshold: float | None = None) -> NightlyReport:
        """Export every open campaign, then write a gold campaign's metrics.

        One campaign's failure never stops the others: it is recorded and the run goes on.
        """
        report = NightlyReport()
        for campaign in self.open_campaigns():
            outcome = NightlyOutcome(campaign=campaign.name)
            report.outcomes.append(outcome)
            try:
                summary = self.export(campaign.id or 0)
                outcome.annotations = summary.annotations
                outcome.tasks_read = summary.tasks_read
                outcome.version = summary.version
                if campaign.kind == CampaignKind.GOLD and summary.annotations:
                    written = self.metrics(campaign.id or 0, threshold=threshold).written
                    outcome.metrics_tables = len(written)
            except CampaignError as err:
                self.session.rollback()
                outcome.error = err.one_line()
            except Exception as err:  # the night goes on; the error is reported at the end
                self.session.rollback()
                outcome.error = f"unexpected {type(err).__name__}: {err}"
        return report
