"""A database made by an older version is refused with a clear error, not an SQL crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from campaigns.errors import ConfigurationError
from campaigns.state.db import engine_for


def test_database_missing_new_columns_is_refused_with_a_hint(tmp_path: Path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the campaign table as the first version made it
        db.execute(
            "CREATE TABLE campaign (id INTEGER PRIMARY KEY, name VARCHAR, kind VARCHAR, "
            "sample_id VARCHAR, description VARCHAR, annotations_per_task INTEGER)"
        )
    with pytest.raises(ConfigurationError) as err:
        engine_for(f"sqlite:///{path}")
    assert "campaign.routing" in err.value.message and "campaign.team" in err.value.message
    assert "CAMPAIGNS_DATABASE_URL" in (err.value.hint or "")


def test_a_fresh_database_gets_the_whole_schema(tmp_path: Path):
    engine = engine_for(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.connect() as connection:
        tables = {r[0] for r in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )}  # fmt: skip
    assert {"campaign", "sample", "job"} <= tables
