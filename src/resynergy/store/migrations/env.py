"""Alembic environment: runs the package's migrations against the configured URL.

SQLite runs in batch mode (it cannot ALTER most things in place), with foreign keys off while the
migrations rebuild tables and a full foreign key check afterwards.
"""

from alembic import context

from resynergy.store.db import make_engine
from resynergy.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # batch mode rebuilds tables; foreign keys are checked once, at the end
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite)
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        bad = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        connection.commit()
        _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")
        if bad:
            raise RuntimeError(f"foreign key violations after the migrations: {bad[:20]}")


def _sqlite_pragma(connection, statement: str) -> None:
    """Run a PRAGMA outside any transaction (foreign_keys is ignored inside one)."""
    connection.connection.driver_connection.execute(statement)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
