"""Connecting to the database and bringing its schema up to date (Alembic).

SQLite is the default (a file in the working directory, created on first use); PostgreSQL is
used when ``RESYNERGY_DATABASE_URL`` (or an explicit URL) names it. The same migrations run on both.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///resynergy.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ``RESYNERGY_DATABASE_URL``, else ``./resynergy.db``."""
    return url or os.environ.get("RESYNERGY_DATABASE_URL") or DEFAULT_URL


# How long a SQLite writer waits for the write lock before giving up (the web layer then answers
# 503 with Retry-After). Writes are short (validation of an import happens before the lock).
BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """Every SQLite connection: foreign keys enforced, WAL (readers never block the writer nor
    the writer them), and a busy timeout instead of failing at once on a held lock."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    cur.close()


def make_engine(url: str | None = None) -> sa.Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (creates the SQLite file when missing)."""
    command.upgrade(_alembic_config(database_url(url)), revision)


@cache
def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config(DEFAULT_URL)).get_current_head() or ""


def current_revision(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() or ""


def dangling_references(engine: sa.Engine) -> list[tuple[str, str, int, str]]:
    """(table, column, pk, value) of every registry row whose reference leads to no row — found by
    query, independently of the application's checks (the foreign keys should make it empty)."""
    from resynergy.store.models import REGISTRY, REGISTRY_TABLES, registry_foreign_keys

    out = []
    with engine.connect() as conn:
        for name in REGISTRY_TABLES:
            t = REGISTRY[name]
            for column, ref_table, ref_column, _ in registry_foreign_keys(name):
                ref = REGISTRY[ref_table]
                q = sa.select(t.c.pk, t.c[column]).where(t.c[column].is_not(None), t.c[column] != "",
                                                         t.c[column].not_in(sa.select(ref.c[ref_column])))
                out += [(name, column, pk, value) for pk, value in conn.execute(q)]
    return out
