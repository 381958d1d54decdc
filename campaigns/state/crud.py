"""The few functions that read and write campaign state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from campaigns.errors import ConflictError, NotFoundError
from campaigns.state.models import MAX_ID, Campaign, CampaignCreate, Sample, utcnow


def get_sample(session: Session, sample_id: str) -> Sample:
    sample = session.get(Sample, sample_id)
    if sample is None:
        raise NotFoundError(
            f"No sample {sample_id!r}.", "List samples with 'campaigns samples' or draw one."
        )
    return sample


def list_samples(session: Session) -> list[Sample]:
    return list(session.exec(select(Sample).order_by(col(Sample.created_at).desc())))


def get_campaign(session: Session, ref: int | str) -> Campaign:
    """A campaign by id or by name."""
    campaign: Campaign | None
    if isinstance(ref, int) or str(ref).isdigit():
        campaign = session.get(Campaign, int(ref)) if int(ref) <= MAX_ID else None
    else:
        campaign = session.exec(select(Campaign).where(Campaign.name == ref)).first()
    if campaign is None:
        raise NotFoundError(
            f"No campaign {ref!r}.", "List campaigns with 'campaigns list' (or GET /campaigns)."
        )
    return campaign


def team_campaigns(session: Session, campaign: Campaign) -> list[Campaign]:
    """The per-team campaigns of a routed campaign (empty for an ordinary one)."""
    query = select(Campaign).where(Campaign.parent_id == campaign.id).order_by(col(Campaign.id))
    return list(session.exec(query))


def list_campaigns(
    session: Session,
    *,
    kind: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[Campaign]:
    query = select(Campaign)
    if kind:
        query = query.where(Campaign.kind == kind)
    if status:
        query = query.where(Campaign.status == status)
    query = query.order_by(col(Campaign.id)).offset(offset).limit(limit)
    return list(session.exec(query))


def all_campaigns(session: Session, *, page: int = 500) -> Iterator[Campaign]:
    """Every campaign, read a page at a time (no silent cap on how many there are)."""
    offset = 0
    while batch := list_campaigns(session, offset=offset, limit=page):
        yield from batch
        offset += len(batch)


def add_campaign(session: Session, data: CampaignCreate) -> Campaign:
    get_sample(session, data.sample_id)
    if session.exec(select(Campaign).where(Campaign.name == data.name)).first():
        raise ConflictError(f"A campaign named {data.name!r} exists.", "Choose another name.")
    campaign = Campaign.model_validate(data)
    session.add(campaign)
    session.commit()
    session.refresh(campaign)
    return campaign


def save(session: Session, campaign: Campaign) -> Campaign:
    campaign.updated_at = utcnow()
    session.add(campaign)
    session.commit()
    session.refresh(campaign)
    return campaign


STALE_LOCK = timedelta(minutes=30)


@contextmanager
def export_lock(session: Session, campaign: Campaign) -> Iterator[Campaign]:
    """Hold the campaign's export lock (an atomic conditional UPDATE: works across processes).

    A lock older than 30 minutes is considered left by a crashed process and taken over.
    The campaign's changes are saved when the block ends, and the lock released even on error.
    """
    now = utcnow()
    taken = session.execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign.id)
        .where(
            or_(
                col(Campaign.export_started_at).is_(None),
                col(Campaign.export_started_at) < now - STALE_LOCK,
            )
        )
        .values(export_started_at=now)
    )
    session.commit()
    if taken.rowcount == 0:  # type: ignore[attr-defined]
        session.refresh(campaign)
        raise ConflictError(
            f"Campaign {campaign.id} is already being exported "
            f"(since {campaign.export_started_at}).",
            "Wait for that export to finish, then retry.",
        )
    session.refresh(campaign)
    try:
        yield campaign
    finally:
        campaign.export_started_at = None
        save(session, campaign)
