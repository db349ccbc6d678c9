"""The platform's database as the web app and the commands see it: the settings that name it,
its migrations, and the sessions to work in it (the store does the work; web and cli reach it
only through here)."""

from __future__ import annotations

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


def upgrade(url: str) -> str:
    """Bring the schema at ``url`` up to date; the revision it is at now."""
    engine, _ = connect(url)
    try:
        return store.current_revision(engine)
    finally:
        engine.dispose()
