"""Shared fixtures: databases (SQLite and a real PostgreSQL), the platform app with users of
every role, a small valid registry, and a headless Debian Chromium.

PostgreSQL tests need ``RESYNERGY_TEST_PG_URL`` (``.ci/pg_start.sh`` prints one); browser tests
need Debian ``chromium``. Locally they skip with the reason; with ``CI=true`` they fail instead,
so CI never passes by skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

IN_CI = os.environ.get("CI") == "true"
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PASSWORD = "correct horse battery staple"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]

# Organisations of the test registry (valid GB 32100 check characters).
ORG_A = "91130800MA0A00000W"  # Chengde, Hebei
ORG_B = "91110000MA0B00000X"  # Beijing


def need(what: str, reason: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI: {reason}")
    pytest.skip(f"{what} not available ({reason}); required when CI=true")


# ---- databases -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get("RESYNERGY_TEST_PG_URL", "")
    if not url:
        need("PostgreSQL", "set RESYNERGY_TEST_PG_URL, e.g. export RESYNERGY_TEST_PG_URL=$(bash .ci/pg_start.sh)")
    return url


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A throw-away database on the test server for this session (dropped afterwards)."""
    name = f"resynergy_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        need("PostgreSQL", f"cannot connect to RESYNERGY_TEST_PG_URL: {err.orig}")
    url = sa.engine.make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    yield url
    sa.create_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset(url: str) -> None:
    """Empty schema, then the migrations from scratch."""
    from alembic import command

    from resynergy.store import db

    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    command.upgrade(db._alembic_config(url), "head")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    _reset(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def pg_migrated(pg_url) -> str:
    _reset(pg_url)
    return pg_url


def _truncate(url: str) -> None:
    from resynergy.store.models import Base

    engine = sa.create_engine(url)
    with engine.begin() as conn:  # TRUNCATE is not a row DELETE: the audit triggers allow it
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database: a SQLite file, then the PostgreSQL test database."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    _truncate(url)
    return url


# ---- the platform --------------------------------------------------------------------------
def registry_tables():
    """A small, valid registry: two provinces, two organisations, a mine, a plant, a demand site,
    one target."""
    import pandas as pd

    return {
        "regions": pd.DataFrame([
            {"code": "110000", "name_zh": "北京市", "name_en": "Beijing", "level": "province", "parent": "", "lat": 39.9, "lon": 116.4},
            {"code": "130000", "name_zh": "河北省", "name_en": "Hebei", "level": "province", "parent": "", "lat": 38.0, "lon": 114.5},
            {"code": "130800", "name_zh": "承德市", "name_en": "Chengde", "level": "prefecture", "parent": "130000", "lat": 40.95, "lon": 117.96},
        ]),
        "organisations": pd.DataFrame([
            {"uscc": ORG_A, "name_zh": "承德矿业", "name_en": "Chengde Mining", "region": "130800"},
            {"uscc": ORG_B, "name_zh": "北京建材", "name_en": "Beijing Building Materials", "region": "110000"},
        ]),
        "sites": pd.DataFrame([
            {"id": "cd-mine", "name_zh": "承德尾矿库", "name_en": "Chengde tailings pond", "org_uscc": ORG_A,
             "region": "130800", "lat": 40.9, "lon": 117.9, "roles": "generator", "source": "test"},
            {"id": "cd-plant", "name_zh": "承德砂石厂", "name_en": "Chengde sand plant", "org_uscc": ORG_A,
             "region": "130800", "lat": 40.95, "lon": 117.95, "roles": "facility", "source": "test"},
            {"id": "bj-site", "name_zh": "北京搅拌站", "name_en": "Beijing concrete plant", "org_uscc": ORG_B,
             "region": "110000", "lat": 39.9, "lon": 116.4, "roles": "demand", "source": "test"},
        ]),
        "supplies": pd.DataFrame([
            {"site": "cd-mine", "material": "tailings", "year": 2022, "generation_t": 1_000_000.0, "source": "test"},
        ]),
        "facilities": pd.DataFrame([
            {"id": "cd-sand", "site": "cd-plant", "process": "tailings_sand", "year": 2022,
             "capacity_t": 600_000.0, "source": "test"},
        ]),
        "demands": pd.DataFrame([
            {"site": "bj-site", "material": "manufactured_sand", "year": 2022, "quantity_t": 200_000.0,
             "value": 60.0, "source": "test"},
            {"site": "bj-site", "material": "coarse_aggregate", "year": 2022, "quantity_t": 100_000.0,
             "value": 50.0, "source": "test"},
        ]),
        "targets": pd.DataFrame([
            {"id": "hebei-isw", "indicator": "isw_utilized", "region": "130000", "year": 2022,
             "value": 400_000.0, "unit": "t", "kind": "soft", "penalty": 100.0,
             "name_zh": "河北工业固废利用量", "name_en": "Hebei industrial solid waste utilized", "source": "test"},
        ]),
    }


@dataclass
class Users:
    """One signed-in API client per role (bearer token headers), plus the raw user ids."""

    headers: dict[str, dict[str, str]]
    ids: dict[str, int]


ROLE_USERS = {  # name: (role, org, province)
    "admin": ("admin", "", ""),
    "planner": ("planner", "", ""),
    "planner_bj": ("planner", "", "110000"),
    "regulator": ("regulator", "", ""),
    "evaluator": ("evaluator", "", ""),
    "ent_a": ("enterprise", ORG_A, ""),
    "ent_b": ("enterprise", ORG_B, ""),
    "public": ("public", "", ""),
}


def make_settings(url: str, **overrides):
    from resynergy.services.settings import Settings

    return Settings(database_url=url, **{**CHEAP_ARGON2, "worker_poll_s": 0.1, **overrides})


def seed(app, tables=None) -> Users:
    """Users of every role, and the registry loaded through the import path as the admin."""
    from resynergy.services.access import Actor
    from resynergy.services.registry import Change, apply

    p = app.state.platform
    system = Actor(None, "test", "admin")
    ids = {}
    with p.sessions() as db:
        for name, (role, org, province) in ROLE_USERS.items():
            ids[name] = p.accounts.create_user(db, system, name, PASSWORD, role, org, province).id
        changes = [Change(t, "upsert", rec, source=t, row=i + 2)
                   for t, frame in (registry_tables() if tables is None else tables).items()
                   for i, rec in enumerate(frame.to_dict("records"))]
        apply(db, Actor(ids["admin"], "admin", "admin"), changes, "import")
        db.commit()
        headers = {}
        for name in ROLE_USERS:
            from resynergy.store.models import User

            raw, _ = p.accounts.issue_token(db, db.get(User, ids[name]))
            headers[name] = {"Authorization": f"Bearer {raw}"}
        db.commit()
    headers["anonymous"] = {}
    return Users(headers, ids)


@pytest.fixture
def app(db_url):
    from resynergy.web.app import create_app

    return create_app(make_settings(db_url), migrate=False, run_worker=False)


@pytest.fixture
def sqlite_app(tmp_path):
    """The app on a fresh SQLite file only (for tests that don't need both databases)."""
    from resynergy.web.app import create_app

    url = f"sqlite:///{tmp_path / 'app.db'}"
    _reset(url)
    return create_app(make_settings(url), migrate=False, run_worker=False)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def users(app) -> Users:
    return seed(app)


# ---- browser -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_path() -> str:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if not exe:
        need("Debian chromium", "apt-get install chromium")
    return exe


def keep_local(page, origin: str) -> list[str]:
    """Abort every request of ``page`` not addressed to ``origin``; returns the list of those
    aborted (a test asserts it stays empty: nothing may leave the machine)."""
    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return outside


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Headless Debian Chromium through Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class LiveServer:
    """uvicorn serving an app on a free loopback port in a thread."""

    def __init__(self, app):
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(15)
