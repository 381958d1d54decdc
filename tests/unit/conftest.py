"""Fixtures for unit tests that need campaign state: a real SQLite database with one sample."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import Session

from campaigns.config import Settings
from campaigns.state.db import get_engine
from campaigns.state.models import Sample


@pytest.fixture
def state_settings(tmp_path) -> Settings:
    """Settings over a fresh SQLite file and a local storage root, both in ``tmp_path``."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", storage_root=str(tmp_path))


@pytest.fixture
def state_session(state_settings: Settings) -> Iterator[Session]:
    """A session on that database, holding sample ``s1`` for campaigns to point at."""
    with Session(get_engine(state_settings)) as session:
        session.add(
            Sample(
                id="s1",
                window_start=date(2026, 1, 1),
                window_end=date(2026, 2, 1),
                population_size=10,
                sample_size=2,
                uri="x",
            )
        )
        session.commit()
        yield session
