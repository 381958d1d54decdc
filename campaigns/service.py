"""The one service object every entry point uses: the CLI, the REST API, its jobs and webhooks.

``CampaignService`` wires a database session, the storage root, the Label Studio gateway,
the settings and each campaign kind's kit in one place, and exposes the campaign manager's
operations (create, push, export, metrics, progress, archive...) by campaign id or name.
Entry points parse input, call one method, render the result: the rules (an archived
campaign takes no pushes, every kind gets its webhooks, metrics only for gold campaigns)
live in the lifecycle modules it calls, so the CLI and the API cannot drift apart.

The storage and the gateway are built on first use: listing campaigns never opens Label
Studio, and the Label Studio SDK is imported only by commands that talk to it.

Why this module is longer than the others (about 580 lines): it is the core's whole face, one
short method per operation the CLI and the API offer, each resolving a campaign and handing
the work, with what it needs, to the module that does it. Splitting it would give the entry
points several objects to wire instead of one; what the operations return lives beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from campaigns.config import Settings, get_settings
from campaigns.errors import (
    ConflictError,
    InvalidArgumentError,
)
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import (
    Campaign,
    CampaignBase,
    CampaignCreate,
    CampaignKind,
    CampaignStatus,
    Sample,
)
from campaigns.storage import Storage, input_key, local_copy, read_input_table

if TYPE_CHECKING:
    import pyarrow as pa

    from campaigns.labelstudio.gateway import LabelStudioGateway
    from campaigns.labelstudio.kinds import CampaignKit
    from campaigns.lifecycle.export import ExportSummary
    from campaigns.lifecycle.metrics import CampaignMetrics
    from campaigns.lifecycle.nightly import NightlyReport
    from campaigns.lifecycle.push import PushSummary
    from campaigns.lifecycle.training_set import TrainingExport
    from campaigns.lifecycle.transition import TransitionPlan
    from campaigns.lifecycle.validation import ValidationCampaignMetrics
    from campaigns.metrics.monitoring import AccuracyCheck, DriftCheck
    from campaigns.recoding.dataset import TransitionDataset
    from campaigns.recoding.workflow import Batch, DatasetFiles, RegisteredBatch
    from campaigns.sampling.designs import Design
    from campaigns.sampling.planning import Plan
    from campaigns.traffic.window import Window

CampaignRef = int | str


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

    # -- files handed over on the storage root (``campaigns.storage``) -------------------------
    def _input_key(self, ref: str) -> str:
        return input_key(self.storage, ref)

    def read_input(self, ref: str) -> pa.Table:
        """A Parquet table (file or folder) on the storage root, by key or URI."""
        return read_input_table(self.storage, ref)

    def _refuse_taken_name(self, name: str) -> None:
        """Before anything is written under a new campaign's name (its storage folder)."""
        if self.session.exec(select(Campaign).where(Campaign.name == name)).first():
            raise ConflictError(f"A campaign named {name!r} exists.", "Choose another name.")

    # -- lifecycle ---------------------------------------------------------------------------
    def create(self, data: CampaignCreate) -> Campaign:
        """The campaign, its Label Studio project(s) and their webhooks, for any kind."""
        from campaigns.lifecycle.create import create_campaign, register_campaign_webhooks

        campaign = create_campaign(
            self.session, self.gateway, self.kit(data), data, language=self.settings.language
        )
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
        """Recode ``table`` to NAF 2025, then a transition campaign on its multivocal sample.

        A taken name is refused first: the recoding writes under ``transition/<name>/``, which
        would otherwise overwrite that campaign's files before its creation failed.
        """
        from campaigns.lifecycle.transition import prepare_transition
        from campaigns.nomenclatures import correspondence

        self._refuse_taken_name(name)
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

    def check_transition(self, name: str, input_ref: str) -> None:
        """Refuse at once what a transition job would fail on: a taken name, a missing input."""
        self._refuse_taken_name(name)
        self._input_key(input_ref)

    def transition_split(self, ref: CampaignRef) -> pa.Table:
        """For each old code, the observed share of each new code, with Wilson 95% intervals.

        From the latest export of a transition campaign (a routed one: its teams together).
        """
        from campaigns.lifecycle.transition import transition_split

        campaign = self.campaign(ref)
        if campaign.kind != CampaignKind.TRANSITION:
            raise InvalidArgumentError(
                f"Campaign {campaign.id} is a {campaign.kind} campaign: it has no transition "
                "split.",
                "Read a gold campaign's figures with 'campaigns metrics' instead.",
            )
        return transition_split(self.latest_gold(campaign.id or 0))

    def transition_dataset(
        self, ref: CampaignRef, *, min_confidence: float, folds: int = 5, seed: int = 0
    ) -> tuple[TransitionDataset, DatasetFiles, list[Batch]]:
        """Every input row of a transition with its NAF 2025 code and provenance, written."""
        from campaigns.recoding.workflow import transition_dataset

        return transition_dataset(self, ref, min_confidence=min_confidence, folds=folds, seed=seed)

    def next_transition_batch(
        self,
        ref: CampaignRef,
        *,
        size: int,
        floor: float,
        seed: int = 0,
        validate_above: float | None = None,
        folds: int = 5,
    ) -> RegisteredBatch:
        """Draw and register a transition's next batch (where the model doubts); push nothing."""
        from campaigns.recoding.workflow import register_next_batch

        return register_next_batch(
            self,
            ref,
            size=size,
            floor=floor,
            seed=seed,
            validate_above=validate_above,
            folds=folds,
        )

    def create_transition_batch(
        self, ref: CampaignRef, sample_id: str, *, name: str | None = None, overlap: int = 1
    ) -> Campaign:
        """The campaign of a drawn batch sample (candidates, or confirm-or-reject tasks)."""
        from campaigns.recoding.workflow import batch_campaign

        return self.create(batch_campaign(self, ref, sample_id, name=name, overlap=overlap))

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

    def validation_metrics(
        self, ref: CampaignRef, *, threshold: float | None = None, write: bool = True
    ) -> ValidationCampaignMetrics:
        """A validation campaign's share confirmed, by level and coding mode, corrections."""
        from campaigns.lifecycle.validation import validation_campaign_metrics

        return validation_campaign_metrics(
            self.session,
            self.storage,
            self.settings,
            self.campaign(ref),
            threshold=threshold,
            write=write,
        )

    def adopt(self, project_id: int, *, kind: CampaignKind, name: str, **fields: Any) -> Any:
        """An existing Label Studio project as a campaign (``campaigns.lifecycle.adopt``)."""
        from campaigns.lifecycle.adopt import adopt_project

        return adopt_project(
            self.session,
            self.storage,
            self.gateway,
            self.settings,
            project_id,
            kind=kind,
            name=name,
            **fields,
        )

    def export_from_storage(self, ref: CampaignRef, source: str, *, full: bool = False) -> Any:
        """Export from Label Studio's S3 export storage instead of its API (new objects only)."""
        from campaigns.lifecycle.storage_export import S3AnnotationStore, export_from_storage

        campaign = self.campaign(ref)
        return export_from_storage(
            self.session,
            self.storage,
            S3AnnotationStore(self.settings),
            self.kit(campaign),
            campaign,
            source,
            full=full,
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

    def progress(
        self, ref: CampaignRef, *, margin: float | None = None, now: datetime | None = None
    ) -> dict[str, Any]:
        """Live counters, agreement and when to stop (``campaigns.lifecycle.progress``)."""
        from campaigns.lifecycle.progress import progress_report

        return progress_report(
            self.session,
            self.storage,
            self.gateway,
            self.settings,
            self.campaign(ref),
            margin=margin,
            now=now,
        )

    def archive(self, ref: CampaignRef) -> Campaign:
        from campaigns.lifecycle.archive import archive_campaign

        return archive_campaign(self.session, self.campaign(ref))

    def latest_gold(self, ref: CampaignRef) -> pa.Table:
        from campaigns.gold.store import latest_gold

        return latest_gold(self.storage, self.campaign(ref), self.session)

    def training_set(
        self, ref: CampaignRef, *, compare_with: str | None = None, on_storage: bool = False
    ) -> tuple[TrainingExport, str]:
        """Training rows from the latest export, and the training labels they contradict.

        ``compare_with`` is an existing training set (Parquet or CSV with ``text``, ``code``):
        a local path (the CLI's), or with ``on_storage`` a key on the storage root (the API's).
        Returns the files written and the nomenclature of their codes (NAF 2025 for a
        transition campaign).
        """
        from campaigns.gold.store import latest_gold
        from campaigns.lifecycle.training_set import export_training_set
        from campaigns.nomenclatures import new_nomenclature, old_nomenclature

        campaign = self.campaign(ref)
        gold = latest_gold(self.storage, campaign, self.session)
        transition = campaign.kind == CampaignKind.TRANSITION
        nomenclature = (new_nomenclature if transition else old_nomenclature)(self.settings)
        on_root = on_storage and compare_with
        source = local_copy(self.storage, compare_with) if on_root else nullcontext()
        with source as copy:
            export = export_training_set(
                self.storage,
                gold,
                campaign,
                nomenclature_name=nomenclature.name,
                compare_with=copy or compare_with,
            )
        return export, nomenclature.name

    # -- planning and monitoring ---------------------------------------------------------------
    def sample(
        self,
        window: Window,
        design: Design,
        *,
        size: int,
        seed: int = 0,
        margin: float | None = None,
    ) -> Sample:
        """Draw ``design`` from the window and record it (same parameters: same sample).

        Neyman allocation without typed priors takes them from the latest comparable gold
        campaign, else the window's scores (``campaigns.sampling.priors``); where they came from
        is stored in the sample's ``design_params`` (``prior_source``), with ``margin``, the
        target half-width of its plan, as ``target_margin`` (read by ``progress``).
        """
        import json

        from campaigns.sampling.allocation import Allocation
        from campaigns.sampling.priors import resolve_priors
        from campaigns.sampling.registry import draw_sample

        if margin is not None and not 0 < margin < 1:
            raise InvalidArgumentError(
                f"A margin of error of {margin} is not a proportion in (0, 1).",
                "Example: --margin 0.02 for +/- 2 points.",
            )
        priors = None
        if design.stratified and design.allocation is Allocation.NEYMAN:
            priors = resolve_priors(self.session, self.storage, window, design)
            design = priors.apply(design)
        drawn = draw_sample(
            self.session,
            self.storage,
            window,
            size=size,
            seed=seed,
            design=design,
            sections=self._sections(),
        )
        params = json.loads(drawn.design_params or "{}")
        extra: dict[str, Any] = {}
        if priors is not None:
            extra["prior_source"] = priors.as_json()
        if margin is not None:
            extra["target_margin"] = margin
        if extra and any(params.get(k) != v for k, v in extra.items()):
            drawn.design_params = json.dumps(params | extra)
            self.session.add(drawn)
            self.session.commit()
            self.session.refresh(drawn)
        return drawn

    def sample_strata(self, sample: Sample) -> pa.Table:
        """The strata of a drawn sample: population, size, inclusion probability each."""
        from campaigns.sampling.registry import load_strata

        return load_strata(self.storage, sample)

    def plan(
        self,
        window: Window,
        design: Design,
        *,
        margin: float,
        auto_coded: bool = False,
        threshold: float | None = None,
    ) -> Plan:
        """Units per stratum for ``design`` to reach a 95% ``margin`` on the window's traffic.

        The margin is on the accuracy of the whole traffic or, with ``auto_coded``, on the error
        rate of the automatically coded part, cut at ``threshold`` (default: the setting), which
        must then be one of the design's confidence edges. Priors not typed come from the latest
        gold campaign on the same strata, else the window's (calibrated) scores; the plan says
        which (``prior_source``, see ``campaigns.sampling.priors``).
        """
        from dataclasses import replace

        from campaigns.sampling.priors import resolve_priors
        from campaigns.sampling.registry import plan_for_window

        cut = None
        if auto_coded:
            cut = threshold if threshold is not None else self.settings.auto_coding_threshold
        priors = resolve_priors(self.session, self.storage, window, design)
        plan = plan_for_window(
            self.session,
            self.storage,
            window,
            priors.apply(design),
            margin=margin,
            auto_coded_above=cut,
            sections=self._sections(),
        )
        return replace(plan, prior_source=priors)

    def drift(
        self,
        window: Window,
        *,
        baseline_days: int | None = None,
        psi_max: float = 0.2,
        accuracy_min: float | None = None,
        accuracy: float | None = None,
        min_count: int | None = None,
        write: bool = True,
    ) -> DriftCheck:
        """Compare ``window`` with the ``baseline_days`` days right before it, alert on PSI
        above ``psi_max`` and ``accuracy`` below ``accuracy_min`` (``campaigns.metrics.monitoring``
        says how); with ``write``, store the reports under ``metrics/drift``."""
        from campaigns.metrics.monitoring import check_drift

        return check_drift(
            self.storage,
            self._sections(),
            window,
            baseline_days=baseline_days,
            psi_max=psi_max,
            accuracy_min=accuracy_min,
            accuracy=accuracy,
            min_count=min_count,
            write=write,
        )

    def estimate(
        self,
        reference: CampaignRef,
        window: Window,
        *,
        replicates: int = 200,
        gold: CampaignRef | None = None,
        max_rows: int | None = None,
    ) -> AccuracyCheck:
        """Label-free accuracy of the window's traffic, calibrated on ``reference``'s latest
        gold, beside ``gold``'s accuracy (default: the reference's)."""
        from campaigns.metrics.monitoring import check_accuracy

        ref_campaign = self.campaign(reference)
        return check_accuracy(
            self.session,
            self.storage,
            self.settings,
            ref_campaign,
            ref_campaign if gold is None else self.campaign(gold),
            window,
            replicates=replicates,
            max_rows=max_rows,
        )

    # -- every open campaign -------------------------------------------------------------------
    def open_campaigns(self) -> list[Campaign]:
        """Campaigns still being annotated (every page of them), team campaigns excluded."""
        return [
            c
            for c in crud.all_campaigns(self.session)
            if c.status in (CampaignStatus.PUSHED, CampaignStatus.EXPORTED)
            and c.parent_id is None  # team campaigns are exported through their campaign
        ]

    def nightly(self, *, threshold: float | None = None) -> NightlyReport:
        """Export every open campaign, then write a gold campaign's metrics (one failure never
        stops the others: ``campaigns.lifecycle.nightly``)."""
        from campaigns.lifecycle.nightly import run_nightly
        from campaigns.model_registry.feedback import registry_lines

        return run_nightly(
            self.session,
            self.open_campaigns(),
            export=lambda c: self.export(c.id or 0),
            metrics=lambda c: self.metrics(c.id or 0, threshold=threshold),
            after_metrics=lambda c, result: registry_lines(
                self.settings, self.storage, self.session, c, result
            ),
        )
