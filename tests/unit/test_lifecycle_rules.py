"""The lifecycle's decisions, tested directly on a real SQLite database (no server needed).

What touches Label Studio or S3 stays tested against the real servers (tests/integration);
these are the rules that decide before any server is called.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlmodel import Session

from campaigns.config import Settings
from campaigns.errors import ConflictError, InvalidArgumentError
from campaigns.labelstudio.routing import assign_teams, parse_route, parse_routes
from campaigns.lifecycle import webhook_export
from campaigns.lifecycle.archive import archive_campaign
from campaigns.lifecycle.push import push_campaign
from campaigns.service import CampaignService
from campaigns.state import crud, jobs
from campaigns.state.db import get_engine
from campaigns.state.models import CampaignCreate, CampaignKind, CampaignStatus, JobStatus


@pytest.fixture
def settings(state_settings: Settings) -> Settings:
    return state_settings


@pytest.fixture
def session(state_session: Session) -> Session:
    return state_session


class _NoGateway:
    """Stands where the gateway would be: any call means a rule let the request through."""

    def __getattr__(self, name: str):
        raise AssertionError(f"Label Studio was called ({name}) although a rule should refuse")


def test_an_archived_campaign_refuses_pushes_before_calling_label_studio(session):
    campaign = crud.add_campaign(session, CampaignCreate(name="closed", sample_id="s1"))
    archive_campaign(session, campaign)
    assert crud.get_campaign(session, "closed").status == CampaignStatus.ARCHIVED
    with pytest.raises(ConflictError, match="archived"):
        push_campaign(session, None, _NoGateway(), None, campaign)  # type: ignore[arg-type]


def test_archiving_closes_the_team_campaigns_too(session):
    parent = crud.add_campaign(session, CampaignCreate(name="routed", sample_id="s1"))
    team = crud.add_campaign(session, CampaignCreate(name="routed-trade", sample_id="s1"))
    team.parent_id, team.team = parent.id, "trade"
    crud.save(session, team)
    archive_campaign(session, parent)
    assert crud.get_campaign(session, "routed-trade").status == CampaignStatus.ARCHIVED


def test_the_service_refuses_gold_metrics_for_a_transition_campaign(session, settings):
    crud.add_campaign(
        session, CampaignCreate(name="t", sample_id="s1", kind=CampaignKind.TRANSITION)
    )
    with pytest.raises(InvalidArgumentError, match="transition campaign"):
        CampaignService(session, settings).metrics("t", write=False)


def test_nightly_goes_through_every_campaign_and_reports_each_failure(session, settings):
    for i in range(3):
        c = crud.add_campaign(session, CampaignCreate(name=f"c{i}", sample_id="s1"))
        c.status = CampaignStatus.PUSHED  # no Label Studio project: each export fails
        crud.save(session, c)
    report = CampaignService(session, settings, gateway=_NoGateway()).nightly()  # type: ignore[arg-type]
    assert [o.campaign for o in report.failed] == ["c0", "c1", "c2"]
    assert all("no Label Studio project" in (o.error or "") for o in report.failed)


def test_all_campaigns_reads_past_one_page(session):
    for i in range(7):
        crud.add_campaign(session, CampaignCreate(name=f"p{i}", sample_id="s1"))
    assert [c.name for c in crud.all_campaigns(session, page=3)] == [f"p{i}" for i in range(7)]


# -- routing rules -----------------------------------------------------------------------------
def test_routing_rules_parse_letters_ranges_prefixes_and_the_rest():
    routes = parse_routes(["agri=A", "food=10-11,56.10A", "others=*"])
    assert [(r.team, r.patterns) for r in routes] == [
        ("agri", ("A",)),
        ("food", ("10-11", "56.10A")),
        ("others", ("*",)),
    ]


@pytest.mark.parametrize(
    "rule", ["noequals", "=A", "team=", "bad team=A", "t=A;B", "t='; DROP TABLE x; --"]
)
def test_bad_routing_rules_are_refused_with_a_hint(rule: str):
    with pytest.raises(InvalidArgumentError) as caught:
        parse_route(rule)
    assert caught.value.hint


def test_a_team_named_twice_is_refused():
    with pytest.raises(InvalidArgumentError, match="two routing rules"):
        parse_routes(["a=A", "a=B"])


def test_first_matching_rule_wins_and_unrouted_units_are_an_error():
    sample = pa.table(
        {"request_id": ["r1", "r2", "r3"], "predicted_code": ["01.11Z", "10.71C", "47.11F"]}
    )
    sections = pa.table({"division": ["01", "10", "47"], "section": ["A", "C", "G"]})
    teams = assign_teams(sample, parse_routes(["agri=A", "food=10", "rest=*"]), sections)
    assert dict(zip(teams["request_id"].to_pylist(), teams["team"].to_pylist(), strict=True)) == {
        "r1": "agri",
        "r2": "food",
        "r3": "rest",
    }
    with pytest.raises(InvalidArgumentError):
        assign_teams(sample, parse_routes(["agri=A"]), sections)


# -- webhook debounce --------------------------------------------------------------------------
def test_a_burst_of_webhooks_joins_one_queued_export_job(session):
    campaign = crud.add_campaign(session, CampaignCreate(name="hooked", sample_id="s1"))
    first, created = webhook_export.debounced_export_job(session, campaign.id)
    assert created
    for _ in range(5):
        again, created_again = webhook_export.debounced_export_job(session, campaign.id)
        assert (again.id, created_again) == (first.id, False)
    first.status = JobStatus.RUNNING  # once it runs, a new change needs a new job
    session.add(first)
    session.commit()
    later, created_later = webhook_export.debounced_export_job(session, campaign.id)
    assert created_later and later.id != first.id
    assert [j.status for j in jobs.list_jobs(session, campaign_id=campaign.id)] == [
        JobStatus.QUEUED,
        JobStatus.RUNNING,
    ]


# -- samples -----------------------------------------------------------------------------------
def test_a_sample_whose_record_fails_leaves_no_file_behind(local_env, cli, tmp_path):
    from datetime import date as day

    from campaigns.config import get_settings
    from campaigns.sampling.registry import draw_sample
    from campaigns.storage import Storage
    from campaigns.traffic.window import Window

    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "300", "--end", "2026-09-30")
    cli("traffic", "ingest", str(logs))
    settings = get_settings()
    storage = Storage.from_settings(settings)

    class FailingCommit(Session):
        def commit(self) -> None:  # as PostgreSQL refusing the row would
            raise RuntimeError("database refused the sample")

    with FailingCommit(get_engine(settings)) as failing, pytest.raises(RuntimeError):
        draw_sample(failing, storage, Window.last_days(30, day(2026, 9, 30)), size=20, seed=3)
    assert storage.list_files("samples") == []
