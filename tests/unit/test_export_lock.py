"""Two exports of one campaign at once: the second is refused, and the lock is always released."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import ConflictError
from campaigns.state import crud
from campaigns.state.db import get_engine
from campaigns.state.models import CampaignCreate, utcnow


@pytest.fixture
def campaign_id(state_settings: Settings, state_session: Session) -> tuple[Settings, int]:
    campaign = crud.add_campaign(state_session, CampaignCreate(name="locked", sample_id="s1"))
    return state_settings, campaign.id


def test_second_export_is_refused_while_the_first_runs(campaign_id):
    settings, cid = campaign_id
    engine = get_engine(settings)
    with Session(engine) as first, Session(engine) as second:
        with (
            crud.export_lock(first, crud.get_campaign(first, cid)),
            pytest.raises(ConflictError, match="already being exported"),
            crud.export_lock(second, crud.get_campaign(second, cid)),
        ):
            pass
        # Released at the end of the first: a new export may start.
        with crud.export_lock(second, crud.get_campaign(second, cid)):
            pass


def test_lock_is_released_on_error_and_a_stale_lock_is_taken_over(campaign_id):
    settings, cid = campaign_id
    with Session(get_engine(settings)) as session:
        campaign = crud.get_campaign(session, cid)
        with pytest.raises(RuntimeError), crud.export_lock(session, campaign):
            raise RuntimeError("export failed")
        assert crud.get_campaign(session, cid).export_started_at is None
        campaign.export_started_at = utcnow() - timedelta(hours=2)  # a crashed process's lock
        crud.save(session, campaign)
        with crud.export_lock(session, campaign):
            pass
