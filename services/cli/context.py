"""What every command needs: settings, storage, a database session, Label Studio."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from sqlmodel import Session

from campaigns.config import Settings, get_settings
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.state.db import session_scope
from campaigns.storage import Storage

console = Console(soft_wrap=True)  # long URIs stay on one line, copy-pastable
err_console = Console(stderr=True, soft_wrap=True)


def settings() -> Settings:
    return get_settings()


def storage() -> Storage:
    return Storage.from_settings(settings())


def gateway() -> LabelStudioGateway:
    return LabelStudioGateway.from_settings(settings())


@contextmanager
def session() -> Iterator[Session]:
    with session_scope(settings()) as s:
        yield s
