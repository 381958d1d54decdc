"""What every command needs: settings, storage, a database session, the service object.

Heavy modules (the settings' pydantic models, the Label Studio SDK, the database engine) are
imported by the functions that need them, so ``campaigns --help`` answers at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlmodel import Session

    from campaigns.config import Settings
    from campaigns.labelstudio.gateway import LabelStudioGateway
    from campaigns.service import CampaignService
    from campaigns.storage import Storage

CampaignArg = Annotated[
    str, typer.Argument(metavar="CAMPAIGN", help="Campaign id or name (see 'campaigns list').")
]

console = Console(soft_wrap=True)  # long URIs stay on one line, copy-pastable
err_console = Console(stderr=True, soft_wrap=True)


def settings() -> Settings:
    from campaigns.config import get_settings  # pydantic-settings: a third of a second

    return get_settings()


def storage() -> Storage:
    from campaigns.storage import Storage

    return Storage.from_settings(settings())


def gateway() -> LabelStudioGateway:
    from campaigns.labelstudio.gateway import LabelStudioGateway

    return LabelStudioGateway.from_settings(settings())


@contextmanager
def service() -> Iterator[CampaignService]:
    """The one service object, over a session closed when the command ends."""
    from campaigns.service import CampaignService

    with CampaignService.open(settings()) as svc:
        yield svc


@contextmanager
def session() -> Iterator[Session]:
    from campaigns.state.db import session_scope

    with session_scope(settings()) as s:
        yield s
