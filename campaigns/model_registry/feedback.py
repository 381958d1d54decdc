"""What the commands call once their figures are stored: log them to MLflow, never fail.

Each ``feed_*`` returns None when the registry is off (``CAMPAIGNS_MLFLOW_TRACKING_URI``
unset), else a :class:`Feedback`: the runs logged (or found already logged), notes (a model
version absent from the registry is reported, not an error) and warnings. MLflow being
down, refusing the credentials or failing mid-run is a warning: the command's figures are
already written where the dashboard reads them, and a later run of the same command logs
what is missing (a record already logged is never logged twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from campaigns.config import Settings
from campaigns.lifecycle.metrics import json_safe
from campaigns.model_registry.options import RegistryOptions, registry_options
from campaigns.model_registry.records import (
    DatasetRecord,
    Evaluation,
    challenger_evaluation,
    dataset_evaluation,
    digest_of,
    gold_evaluations,
    trend_evaluations,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlmodel import Session

    from campaigns.lifecycle.compare import CampaignComparison
    from campaigns.lifecycle.metrics import CampaignMetrics
    from campaigns.lifecycle.training_set import TrainingExport
    from campaigns.metrics.trend import TrendResult
    from campaigns.model_registry.client import Logged, RegistryClient
    from campaigns.state.models import Campaign
    from campaigns.storage import Storage

Step = Callable[[str], None]


@dataclass
class Feedback:
    """What one command sent to MLflow, for the CLI to print and the nightly to report."""

    logged: list[Logged] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for item in self.logged:
            what = "logged" if item.created else "already logged"
            line = f"MLflow: run {item.run_id} {what} ({item.run_url})"
            if item.registered:
                tagged = "tagged" if item.version_tagged else "tags unchanged"
                line += f"; registered version {item.registered} {tagged}"
            out.append(line)
        out += [f"MLflow: {note}" for note in self.notes]
        return out


def shown_uri(uri: str) -> str:
    """The tracking URI without any credentials written into it."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def explain(options: RegistryOptions, err: BaseException, what: str) -> str:
    """One line saying why nothing (more) was logged, and that the figures are stored."""
    from mlflow.exceptions import MlflowException

    where = shown_uri(options.tracking_uri)
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    refused = isinstance(err, MlflowException) and (
        err.error_code in ("UNAUTHENTICATED", "PERMISSION_DENIED")
        or "error code 401" in text
        or "error code 403" in text
    )
    if refused:
        return (
            f"MLflow at {where} refuses the credentials: nothing logged for {what} (the "
            "figures are stored). Set CAMPAIGNS_MLFLOW_TRACKING_USERNAME and "
            "CAMPAIGNS_MLFLOW_TRACKING_PASSWORD, or CAMPAIGNS_MLFLOW_TRACKING_TOKEN."
        )
    unreachable = isinstance(err, OSError) or any(
        s in text
        for s in ("failed with exception", "Max retries", "Connection", "timed out", "Timeout")
    )
    if unreachable:
        return (
            f"MLflow at {where} cannot be reached: {what} not (fully) logged (the figures "
            "are stored). Run the command again once it is back: nothing is logged twice."
        )
    return f"MLflow at {where} failed for {what}: {text[:300]} (the figures are stored)."


def _log_all(
    options: RegistryOptions,
    evaluations: list[Evaluation],
    what: str,
    on_step: Step | None,
    client: RegistryClient | None = None,
) -> Feedback:
    from campaigns.model_registry.client import RegistryClient

    feedback = Feedback()
    client = client or RegistryClient(options)
    for evaluation in evaluations:
        try:
            logged = client.log(evaluation, on_step)
        # MLflow's errors, the HTTP library's under them and the file system's all mean the
        # same here: this record is not logged; the command's own work is done and stays.
        except Exception as err:
            feedback.warnings.append(explain(options, err, what))
            break  # a server that failed once is not asked again for the next records
        feedback.logged.append(logged)
        if logged.version_note:
            feedback.notes.append(logged.version_note)
    return feedback


def _today() -> date:
    return datetime.now(UTC).date()


def _export_gold_uri(storage: Storage, campaign: Campaign, teams: bool) -> str:
    from campaigns.gold.store import EXPORTS_DIR, export_dir

    if teams:  # a routed campaign's gold is the union of its teams' exports
        return storage.uri(EXPORTS_DIR)
    folder = export_dir(campaign.id or 0, campaign.last_export_version or "")
    return storage.uri(folder, "gold.parquet")


def feed_gold_metrics(
    settings: Settings,
    storage: Storage,
    session: Session,
    campaign: Campaign,
    result: CampaignMetrics,
    *,
    on_step: Step | None = None,
) -> Feedback | None:
    """One evaluation run per model version of the campaign's latest export (see module)."""
    options = registry_options(settings)
    if options is None:
        return None
    what = f"campaign {campaign.name} (export {result.export_version})"
    try:
        evaluations = _gold_records(settings, storage, session, campaign, result)
    except Exception as err:  # reading the export again failed: the figures are still stored
        return Feedback(warnings=[explain(options, err, what)])
    return _log_all(options, evaluations, what, on_step)


def _gold_records(
    settings: Settings,
    storage: Storage,
    session: Session,
    campaign: Campaign,
    result: CampaignMetrics,
) -> list[Evaluation]:
    import pyarrow.compute as pc

    from campaigns.gold.store import latest_gold
    from campaigns.metrics.gold_metrics import headline_proportions, reweight_to_annotated
    from campaigns.metrics.report import render_report
    from campaigns.nomenclatures import old_nomenclature
    from campaigns.state import crud

    metrics = result.metrics
    summary = metrics.summary
    threshold = summary["threshold"]
    gold = latest_gold(storage, campaign, session)
    domains: dict[str, pa.Table] = {}
    if "model_version" in gold.column_names:
        versions = gold.column("model_version").fill_null("unknown")
        if len(versions.unique()) > 1:
            weighted = reweight_to_annotated(gold)
            levels = old_nomenclature(settings).levels_table()
            for version in versions.unique().to_pylist():
                rows = weighted.filter(pc.equal(versions, version))
                domains[str(version)] = headline_proportions(
                    rows, threshold=threshold, levels=levels
                )
    sample = crud.get_sample(session, campaign.sample_id)
    report = render_report(metrics, title=f"Campaign {campaign.name}").encode()
    return gold_evaluations(
        campaign_id=campaign.id or 0,
        campaign_name=campaign.name,
        export_version=result.export_version,
        computed_on=_today(),
        summary=json_safe(summary),
        proportions=metrics.proportions,
        threshold_curve=metrics.threshold_curve,
        per_class=metrics.per_class,
        report_html=report,
        gold=gold,
        gold_uri=_export_gold_uri(storage, campaign, "team" in gold.column_names),
        params={
            "design": summary.get("design"),
            "threshold": threshold,
            "sample_id": sample.id,
            "sample_size": sample.sample_size,
            "population_size": sample.population_size,
            "window": f"{sample.window_start}..{sample.window_end}",
            "suggestions": getattr(campaign, "suggestions", None),
            "units_annotated": summary.get("units_annotated"),
        },
        domain_proportions=domains,
    )


def feed_comparison(
    settings: Settings,
    storage: Storage,
    session: Session,
    campaign: Campaign,
    result: CampaignComparison,
    *,
    on_step: Step | None = None,
) -> Feedback | None:
    """The challenger's run, tied to its own model version (its registered one is tagged)."""
    options = registry_options(settings)
    if options is None:
        return None
    what = f"challenger {result.challenger_version} on campaign {campaign.name}"
    try:
        from campaigns.gold.store import latest_gold

        gold = latest_gold(storage, campaign, session)
        evaluation = challenger_evaluation(
            campaign_id=campaign.id or 0,
            campaign_name=campaign.name,
            export_version=result.export_version,
            computed_on=_today(),
            challenger_version=result.challenger_version,
            champion_versions=result.champion_versions,
            figures=result.comparison.figures,
            summary=json_safe(result.comparison.summary),
            gold=gold,
            gold_uri=_export_gold_uri(storage, campaign, "team" in gold.column_names),
        )
    except Exception as err:  # the comparison is written; only its logging is lost
        return Feedback(warnings=[explain(options, err, what)])
    return _log_all(options, [evaluation], what, on_step)


def feed_trend(
    settings: Settings, result: TrendResult, *, on_step: Step | None = None
) -> Feedback | None:
    """One run per model version: its accuracy by period as a metric history."""
    from campaigns.metrics.trend import ALL_VERSIONS

    options = registry_options(settings)
    if options is None:
        return None
    evaluations = trend_evaluations(
        table=result.table,
        period=result.period,
        blind_only=result.blind_only,
        campaigns=result.campaigns,
        computed_on=_today(),
        all_versions=ALL_VERSIONS,
    )
    return _log_all(options, evaluations, f"the {result.period} trend", on_step)


def _file_digest(storage: Storage, uri: str) -> str:
    relative = uri.removeprefix(storage.uri() + "/")
    return digest_of(storage.read_bytes(relative))


def feed_training_set(
    settings: Settings,
    storage: Storage,
    campaign: Campaign,
    export: TrainingExport,
    nomenclature: str,
    *,
    on_step: Step | None = None,
) -> Feedback | None:
    """The training set as an MLflow dataset (source, digest, rows, campaigns) in a run."""
    options = registry_options(settings)
    if options is None:
        return None
    what = f"training set of campaign {campaign.name}"
    try:
        record = DatasetRecord(
            name=f"training-{campaign.name}",
            digest=_file_digest(storage, export.uri),
            source_uri=export.uri,
            rows=export.rows,
            context="training",
            campaigns=(campaign.name,),
        )
    except Exception as err:  # the file is written; only its registration is lost
        return Feedback(warnings=[explain(options, err, what)])
    evaluation = dataset_evaluation(
        record,
        kind="training-set",
        params={"export_version": export.version, "nomenclature": nomenclature},
    )
    return _log_all(options, [evaluation], what, on_step)


def feed_transition_dataset(
    settings: Settings,
    storage: Storage,
    name: str,
    dataset_uri: str,
    rows: int,
    batches: list[str],
    *,
    on_step: Step | None = None,
) -> Feedback | None:
    """A transition campaign's dataset (every row in NAF 2025) as an MLflow dataset."""
    options = registry_options(settings)
    if options is None:
        return None
    what = f"transition dataset {name}"
    try:
        record = DatasetRecord(
            name=f"transition-{name}",
            digest=_file_digest(storage, dataset_uri),
            source_uri=dataset_uri,
            rows=rows,
            context="training",
            campaigns=(name, *batches),
        )
    except Exception as err:  # the file is written; only its registration is lost
        return Feedback(warnings=[explain(options, err, what)])
    evaluation = dataset_evaluation(
        record, kind="transition-dataset", params={"nomenclature": "NAF 2025"}
    )
    return _log_all(options, [evaluation], what, on_step)


def registry_lines(
    settings: Settings,
    storage: Storage,
    session: Session,
    campaign: Campaign,
    result: CampaignMetrics,
) -> list[str]:
    """The nightly run's part: the campaign's metrics logged, as lines for its report.

    Never raises: the nightly run does not fail because MLflow is away.
    """
    feedback = feed_gold_metrics(settings, storage, session, campaign, result)
    if feedback is None:
        return []
    return feedback.lines() + [f"Warning: {warning}" for warning in feedback.warnings]
