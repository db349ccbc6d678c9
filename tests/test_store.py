"""The store: the same Alembic migrations on SQLite and PostgreSQL, matching the models, with an
append-only audit log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from resynergy import schema
from resynergy.store import db
from resynergy.store.models import REGISTRY, REGISTRY_TABLES, Base


def test_migrations_match_the_models(db_url):
    engine = db.make_engine(db_url)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    engine.dispose()


def test_registry_tables_follow_the_scenario_schema():
    assert set(REGISTRY_TABLES) == set(schema.TABLE_NAMES) - set(schema.REFERENCE_TABLES)
    for name in REGISTRY_TABLES:
        cols = {c.name for c in REGISTRY[name].columns}
        assert {c.name for c in schema.columns(name)} <= cols
        unique = [c for c in REGISTRY[name].constraints if isinstance(c, sa.UniqueConstraint)]
        assert [col.name for col in unique[0].columns] == schema.key_columns(name)


def test_downgrade_then_upgrade_round_trips(db_url):
    cfg = db._alembic_config(db_url)
    command.downgrade(cfg, "base")
    engine = db.make_engine(db_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert "reg_sites" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_audit_log_is_append_only(db_url):
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_log (ts, actor, role, ip, action, object_type, object_id) "
                             "VALUES (CURRENT_TIMESTAMP, 'a', 'admin', '', 'login', 'user', '1')"))
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT actor FROM audit_log")).scalars().all() == ["a"]
    engine.dispose()


def test_registry_key_is_unique_in_the_database(db_url):
    engine = db.make_engine(db_url)
    row = {"code": "130000", "name_zh": "河北省", "name_en": "Hebei", "level": "province", "parent": "",
           "lat": 38.0, "lon": 114.5, "updated_at": sa.func.now()}
    with engine.begin() as conn:
        conn.execute(sa.insert(REGISTRY["regions"]).values(**row))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(REGISTRY["regions"]).values(**row))
    engine.dispose()


def test_sqlite_file_is_created_on_first_use(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESYNERGY_DATABASE_URL", raising=False)
    assert db.database_url() == "sqlite:///resynergy.db"
    db.upgrade()
    assert (tmp_path / "resynergy.db").exists()
    engine = db.make_engine()
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_migration_0002_keeps_data_and_refuses_dangling_references(db_url):
    """Upgrading a 0001 registry: empty optional references become NULL (so they can carry a
    foreign key), and a registry holding an orphan is refused with the orphan named."""
    cfg = db._alembic_config(db_url)
    command.downgrade(cfg, "0001")
    engine = db.make_engine(db_url)
    now = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO reg_regions (code, name_zh, name_en, level, parent, lat, lon, updated_at) "
                             f"VALUES ('130000', '河北省', 'Hebei', 'province', '', 38.0, 114.5, '{now}')"))
        conn.execute(sa.text("INSERT INTO reg_supplies (site, material, year, generation_t, stock_t, stock_draw_max_t, "
                             "disposal_cost, must_use, source, updated_at) VALUES ('gone', 'tailings', 2022, 1, 0, 0, "
                             f"40, false, '', '{now}')"))
    with pytest.raises(RuntimeError, match="reg_supplies pk=1: site='gone'"):
        command.upgrade(cfg, "head")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM reg_supplies"))
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT parent, row_version FROM reg_regions")).one() == (None, 1)
        assert conn.execute(sa.select(REGISTRY["regions"].c.parent)).scalar_one() == ""  # read back as ''
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # the database now refuses orphans
        conn.execute(sa.text("INSERT INTO reg_supplies (site, material, year, generation_t, stock_t, "
                             "stock_draw_max_t, disposal_cost, must_use, source, updated_at, row_version) VALUES "
                             f"('gone', 'tailings', 2022, 1, 0, 0, 40, false, '', '{now}', 1)"))
    engine.dispose()
