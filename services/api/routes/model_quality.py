"""Model quality: champion vs challenger on a campaign's gold, accuracy over time (as jobs).

The twins of ``campaigns compare`` and ``campaigns trend``: both run in the background
(``202`` + a job to poll at ``GET /jobs/{id}``) and their results are what the commands'
``--json`` prints. A challenger served over HTTP is reached through the same transport as the
CLI's (``services.cli.model_quality.HttpClassifier``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import BaseModel, Field, SecretStr
from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import InvalidArgumentError
from campaigns.service import CampaignService
from campaigns.state.jobs import Progress
from services.api.bounds import BatchSize, CampaignId, Replicates
from services.api.deps import ServiceDep
from services.api.routes.campaigns import start_job
from services.api.schemas import JobPublic

router = APIRouter(tags=["model quality"])


class CompareRequest(BaseModel):
    """The challenger: a Parquet on the storage root, or a classifier's batch API."""

    challenger_parquet: str | None = Field(
        default=None,
        max_length=1000,
        description="Key (or URI) on the storage root of a Parquet of the challenger's "
        "predictions keyed by request_id: predicted_codes (best first) or predicted_code; "
        "optional scores, confidence, model_version.",
    )
    challenger_url: str | None = Field(
        default=None,
        max_length=1000,
        pattern=r"^https?://",
        description="Base URL of a classifier serving the production API's batch contract "
        "(POST /batch/predict): the gold texts are posted to it in batches.",
    )
    challenger_user: str | None = Field(default=None, description="HTTP basic user, if asked.")
    challenger_password: SecretStr | None = Field(default=None, description="Its password.")
    batch_size: BatchSize = Field(default=100, description="Texts per request.")
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="Automatic-coding threshold (default: setting)."
    )
    replicates: Replicates = Field(default=1000, description="Bootstrap replicates.")
    write: bool = Field(default=True, description="Write the dashboard's Parquet tables.")


def compare_action(settings: Settings, campaign_id: int, body: CompareRequest) -> Any:
    """The comparison as a job action; progress counts the texts the challenger answered."""
    from campaigns.lifecycle.compare import classifier_source, compare_campaign, table_source

    def action(session: Session, progress: Progress) -> Any:
        service = CampaignService(session, settings)
        client = None
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            progress(done, None)

        if body.challenger_parquet is not None:
            source = table_source(service.read_input(body.challenger_parquet))
        else:
            from services.cli.model_quality import HttpClassifier

            assert body.challenger_url is not None
            password = body.challenger_password
            client = HttpClassifier(
                body.challenger_url,
                user=body.challenger_user,
                password=password.get_secret_value() if password else None,
            )
            source = classifier_source(client, batch_size=body.batch_size, on_batch=on_batch)
        try:
            result = compare_campaign(
                service.session,
                service.storage,
                service.settings,
                service.campaign(campaign_id),
                source,
                threshold=body.threshold,
                replicates=body.replicates,
                write=body.write,
            )
        finally:
            if client is not None:
                client.close()
        return result.as_json()

    return action


@router.post("/campaigns/{campaign_id}/compare", response_model=JobPublic, status_code=202)
def compare_models(
    campaign_id: CampaignId,
    body: CompareRequest,
    background: BackgroundTasks,
    service: ServiceDep,
) -> Any:
    """Champion vs challenger on the campaign's gold standard, in the background.

    Give exactly one of ``challenger_parquet`` and ``challenger_url``. The job's result has
    both models' figures (accuracy at every level, top-k, automatic-coding rate and accuracy
    at the threshold), the paired differences with their 95% intervals and verdicts, the
    discordant units' counts, and the dashboard tables written. A randomized campaign is
    compared on its blind arm; gold made with suggestions shown carries a ``warning``.
    """
    if (body.challenger_parquet is None) == (body.challenger_url is None):
        raise InvalidArgumentError(
            "Give exactly one of challenger_parquet and challenger_url.",
            "See the request schema at /docs.",
        )
    campaign = service.campaign(campaign_id)
    if body.challenger_parquet is not None:
        service.read_input(body.challenger_parquet)  # a missing file fails now, not in the job
    action = compare_action(service.settings, campaign_id, body)
    return start_job(background, service.session, service.settings, "compare", campaign.id, action)


@router.post("/trend", response_model=JobPublic, status_code=202)
def accuracy_trend(
    background: BackgroundTasks,
    service: ServiceDep,
    period: Literal["month", "week"] = Query(default="month", description="Of the traffic."),
    by_version: bool = Query(default=True, description="Also each model version's accuracy."),
    blind_only: bool = Query(
        default=False, description="Only hidden campaigns and randomized ones' blind arm."
    ),
    floor: float | None = Query(
        default=None, ge=0, le=1, description="Alert when the latest upper bound is below it."
    ),
    threshold: float | None = Query(default=None, ge=0, le=1),
    replicates: Annotated[Replicates, Query(description="Bootstrap replicates.")] = 1000,
    write: bool = Query(default=True, description="Write the dashboard's metrics/trend table."),
) -> Any:
    """Accuracy over time across every exported gold campaign, in the background.

    The job's result: one row per period, model version (``all``: the whole traffic) and
    figure with its 95% interval, the latest period's accuracy, and ``alert`` (its upper
    bound is below ``floor``), the twin of ``campaigns trend``'s exit code 1.
    """
    settings = service.settings

    def action(session: Session, progress: Progress) -> Any:
        from campaigns.metrics.trend import campaign_trend

        result = campaign_trend(
            session,
            CampaignService(session, settings).storage,
            settings,
            period=period,
            by_version=by_version,
            blind_only=blind_only,
            floor=floor,
            threshold=threshold,
            replicates=replicates,
            write=write,
        )
        return result.as_json()

    return start_job(background, service.session, settings, "trend", None, action)
