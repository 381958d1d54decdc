"""Label Studio webhooks: each campaign project calls the API when its annotations change.

Registration only (the receiving side is ``campaigns.lifecycle.webhook_export``). One webhook
per project, created with ``send_payload=False`` (Label Studio then neither serialises the
task, the annotation and the project counters into every call, nor sends annotation content
over the wire) and the project id in the URL's query. The secret travels as
``Authorization: Bearer <secret>``. Every HTTP call goes through the gateway.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from campaigns.errors import CampaignError
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.state.models import Campaign

logger = logging.getLogger(__name__)

# What changes an export: a created, edited or deleted annotation (skips are annotations too).
EXPORT_ACTIONS = (
    "ANNOTATION_CREATED",
    "ANNOTATIONS_CREATED",
    "ANNOTATION_UPDATED",
    "ANNOTATIONS_DELETED",
)
PROJECT_PARAM = "project"


def webhook_url(url: str, project_id: int) -> str:
    """The receiver's URL with the project id in its query (``?project=<id>``)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != PROJECT_PARAM]
    query.append((PROJECT_PARAM, str(project_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def register_webhook(
    gateway: LabelStudioGateway, project_id: int, url: str, secret: str | None
) -> int:
    """Make Label Studio call ``url`` when the project's annotations change; return its id.

    ``url`` is the receiver (``https://<api>/webhooks/label-studio``); ``secret`` the webhook
    secret (``CAMPAIGNS_WEBHOOK_SECRET``; None when the API runs open). Idempotent: a
    webhook of the project already pointing at the same URL is updated in place (actions,
    header, reactivated) rather than duplicated, so rerunning it also rotates the secret.
    """
    target = webhook_url(url, project_id)
    body: dict[str, Any] = {
        "url": target,
        "send_payload": False,
        "send_for_all_actions": False,
        "actions": list(EXPORT_ACTIONS),
        "headers": {"Authorization": f"Bearer {secret}"} if secret else {},
        "is_active": True,
    }
    existing = [
        hook
        for hook in gateway.webhooks(project_id)
        if hook.get("project") == project_id and hook.get("url") == target
    ]
    if existing:
        keep, *duplicates = sorted(existing, key=lambda hook: int(hook["id"]))
        for hook in duplicates:  # left by an older, non-idempotent registration
            gateway.delete_webhook(int(hook["id"]))
        if _differs(keep, body):
            gateway.update_webhook(int(keep["id"]), body)
        return int(keep["id"])
    return gateway.create_webhook(body | {"project": project_id})


def register_for_campaign(
    gateway: LabelStudioGateway, campaign: Campaign, url: str | None, secret: str | None
) -> int | None:
    """Best effort, for campaign creation: register unless no URL is configured.

    A failure is logged, never raised: the campaign works without its webhook (the exports
    still poll), and registering again later is harmless.
    """
    if not url or campaign.ls_project_id is None:
        return None
    try:
        return register_webhook(gateway, campaign.ls_project_id, url, secret)
    except CampaignError as err:
        logger.warning(
            "No webhook for campaign %s (exports will poll): %s", campaign.id, err.one_line()
        )
        return None


def _differs(hook: dict[str, Any], body: dict[str, Any]) -> bool:
    return any(
        sorted(hook.get(key) or []) != sorted(value) if key == "actions" else hook.get(key) != value
        for key, value in body.items()
    )
