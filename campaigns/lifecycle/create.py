"""Creating a campaign: its row, and its Label Studio project (one per expert team if routed).

A campaign that cannot get its project is not left behind: every row created is undone. The
projects' webhooks are registered here too, for every campaign kind, so the API hears of new
annotations whoever created the campaign (best effort: exports still poll without them).
"""

from __future__ import annotations

from sqlmodel import Session

from campaigns.config import Settings
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.kinds import CampaignKit
from campaigns.labelstudio.routing import parse_routes
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for
from campaigns.labelstudio.webhooks import register_for_campaign
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignCreate


def _create_project(
    gateway: LabelStudioGateway, kit: CampaignKit, campaign: Campaign, title: str, language: str
) -> int:
    title = title if len(title) >= 3 else f"Campaign {title}"
    default = (
        texts_for(language).project_descriptions[campaign.kind].format(sample=campaign.sample_id)
    )
    return gateway.create_project(
        title[:50],
        kit.label_config(),
        description=campaign.description or default,
        overlap=campaign.annotations_per_task,
    )


def create_campaign(
    session: Session,
    gateway: LabelStudioGateway,
    kit: CampaignKit,
    data: CampaignCreate,
    *,
    language: str = DEFAULT_LANGUAGE,
) -> Campaign:
    """Record the campaign and create its Label Studio project(s) (undone if that fails).

    With a routing rule, one team campaign (and project) per team is created under it, with
    the campaign's kind, suggestion mode and overlap; the campaign itself then has no project
    and stands for the whole. A project without a description gets one in ``language``.
    """
    routes = parse_routes(data.routing.split(";")) if data.routing.strip() else []
    campaign = crud.add_campaign(session, data)
    created = [campaign]
    try:
        if not routes:
            campaign.ls_project_id = _create_project(
                gateway, kit, campaign, campaign.name, language
            )
            return crud.save(session, campaign)
        for route in routes:
            team = crud.add_campaign(
                session,
                CampaignCreate(
                    name=f"{campaign.name}-{route.team}",
                    kind=campaign.kind,
                    sample_id=campaign.sample_id,
                    description=campaign.description,
                    annotations_per_task=campaign.annotations_per_task,
                    suggestions=campaign.suggestions,
                ),
            )
            created.append(team)
            team.team, team.parent_id = route.team, campaign.id
            team.ls_project_id = _create_project(
                gateway, kit, team, f"{campaign.name} / {route.team}", language
            )
            crud.save(session, team)
        return crud.save(session, campaign)
    except Exception:
        for row in reversed(created):
            session.delete(row)
        session.commit()
        raise


def register_campaign_webhooks(
    session: Session, gateway: LabelStudioGateway, campaign: Campaign, settings: Settings
) -> None:
    """Every project of the campaign (its own, or its teams') notifies the API, when
    ``CAMPAIGNS_LABEL_STUDIO_WEBHOOK_URL`` is set. Best effort (see ``register_for_campaign``)."""
    token = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    for target in [campaign, *crud.team_campaigns(session, campaign)]:
        register_for_campaign(gateway, target, settings.label_studio_webhook_url, token)
