"""The campaign database: SQLite by default, any SQLAlchemy URL (PostgreSQL) by setting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel, create_engine

from campaigns.config import Settings
from campaigns.errors import ConfigurationError
from campaigns.state import models  # noqa: F401  (registers the tables)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL; the schema is created on first use."""
    connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    _check_schema(engine)
    return engine


def _check_schema(engine: Engine) -> None:
    """Refuse, clearly, a database created by an older version (new tables are created, but
    columns added since are not): better than an SQL error in the middle of a command."""
    inspector = inspect(engine)
    missing = [
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if column.name not in {c["name"] for c in inspector.get_columns(table.name)}
    ]
    if missing:
        engine.dispose()
        raise ConfigurationError(
            f"The campaign database {engine.url.render_as_string(hide_password=True)} was "
            f"created by an older version: it lacks {', '.join(missing[:6])}.",
            "Back it up, then point CAMPAIGNS_DATABASE_URL at a new database (the campaigns' "
            "data in storage and Label Studio are untouched), or add the columns by hand.",
        )


def get_engine(settings: Settings) -> Engine:
    path = settings.sqlite_path()
    if path is not None and path.parent != path:
        path.parent.mkdir(parents=True, exist_ok=True)
    return engine_for(settings.database_url)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session for one command. Rows keep their values after a commit (no expiry), so a
    command can still print what it created once the session is closed."""
    with Session(get_engine(settings), expire_on_commit=False) as session:
        yield session
