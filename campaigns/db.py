"""The campaign database: SQLite by default, any SQLAlchemy URL (PostgreSQL) by setting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, create_engine

from campaigns import models  # noqa: F401  (registers the tables)
from campaigns.config import Settings


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL; the schema is created on first use."""
    connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    return engine


def get_engine(settings: Settings) -> Engine:
    path = settings.sqlite_path()
    if path is not None and path.parent != path:
        path.parent.mkdir(parents=True, exist_ok=True)
    return engine_for(settings.database_url)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    with Session(get_engine(settings)) as session:
        yield session
