"""The platform's database as the web app and the commands see it: the settings that name it,
its migrations, and the sessions to work in it (the store does the work; web and cli reach it
only through here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from resynergy.services.settings import Settings
from resynergy.store import db as store


def settings(url: str | None = None) -> Settings:
    """The platform settings from ``RESYNERGY_*``, on ``url`` (else ``RESYNERGY_DATABASE_URL``,
    else ``./resynergy.db``)."""
    return Settings.from_env(database_url=store.database_url(url))


def connect(url: str, *, migrate: bool = True) -> tuple[sa.Engine, sessionmaker[Session]]:
    """The engine and the session factory of the database at ``url``, brought up to date first
    unless ``migrate`` is false (dispose of the engine when done)."""
    if migrate:
        store.upgrade(url)
    engine = store.make_engine(url)
    return engine, store.session_factory(engine)


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """A session on the database at ``url`` (default as the server's) as it stands, for a
    command that reads or writes it once (no migration); the engine is disposed of afterwards."""
    engine, sessions = connect(store.database_url(url), migrate=False)
    try:
        with sessions() as db:
            yield db
    finally:
        engine.dispose()


def upgrade(url: str) -> str:
    """Bring the schema at ``url`` up to date; the revision it is at now."""
    engine, _ = connect(url)
    try:
        return store.current_revision(engine)
    finally:
        engine.dispose()


def count(db: Session, query: sa.Select) -> int:
    """How many rows ``query`` selects (before any paging)."""
    return db.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def where_given(query: sa.Select, *pairs: tuple[Any, Any]) -> sa.Select:
    """``query`` narrowed, for each (column, value) whose value is given (not "" or None), to
    the rows where the column equals it: the optional filters of a listing."""
    for column, value in pairs:
        if value is not None and value != "":
            query = query.where(column == value)
    return query


def page(db: Session, query: sa.Select, *order: Any, limit: int | None = None, offset: int = 0
         ) -> tuple[list[Any], int]:
    """One page of the objects ``query`` selects, in ``order``, and how many there are in all."""
    return list(db.scalars(query.order_by(*order).limit(limit).offset(offset)).all()), count(db, query)
