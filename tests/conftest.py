"""Shared fixtures: databases (SQLite and a real PostgreSQL), the platform app with users of
every role, a small valid registry, and a headless Debian Chromium.

PostgreSQL tests need ``RESYNERGY_TEST_PG_URL`` (``.ci/pg_start.sh`` prints one); browser tests
need Debian ``chromium``. Locally they skip with the reason; with ``CI=true`` they fail instead,
so CI never passes by skipping them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from support.platform import (  # noqa: F401 - helpers that used to live here, for old imports
    CHEAP_ARGON2,
    CHROMIUM_ARGS,
    IN_CI,
    ORG_A,
    ORG_B,
    PASSWORD,
    ROLE_USERS,
    LiveServer,
    Users,
    _reset,
    keep_local,
    make_settings,
    need,
    registry_tables,
    seed,
    sign_in,
)


def pytest_collection_modifyitems(items) -> None:
    """Every browser test is also ``slow`` (one rule, whichever file it is in).

    Then the files are ordered for the two workers (``scripts/test.sh``: ``--dist loadfile
    --no-loadscope-reorder`` hands out whole files in this order): files with ``slow`` tests
    first, most first, then the others by number of tests. pytest-xdist's own order (by number
    of tests only) left the few-test, long files (browser walks, notebooks, the documentation
    build) for the end, where one of them kept one worker busy minutes after the other had
    finished. Tests keep their order within a file."""
    slow: dict[str, int] = {}
    count: dict[str, int] = {}
    for item in items:
        if item.get_closest_marker("browser") is not None and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)
        path = item.nodeid.split("::")[0]
        count[path] = count.get(path, 0) + 1
        slow[path] = slow.get(path, 0) + (item.get_closest_marker("slow") is not None)
    items.sort(key=lambda item: (-slow[p := item.nodeid.split("::")[0]], -count[p]))


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


@pytest.fixture
def app(db_url):
    from resynergy.web.app import create_app

    return create_app(make_settings(db_url), migrate=False, run_worker=False)


@pytest.fixture
def sqlite_app(tmp_path, sqlite_template):
    """The app on a fresh SQLite file only (for tests that don't need both databases): a copy
    of the session's migrated file, as ``db_url`` makes."""
    from resynergy.web.app import create_app

    path = tmp_path / "app.db"
    shutil.copyfile(sqlite_template, path)
    return create_app(make_settings(f"sqlite:///{path}"), migrate=False, run_worker=False)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def users(app) -> Users:
    return seed(app)


@pytest.fixture
def live(app, db_url):
    """The app served by uvicorn on a loopback port, seeded: (server, users, database url)."""
    users = seed(app)
    with LiveServer(app) as server:
        yield server, users, db_url


@pytest.fixture
def client_for(sqlite_app):
    """A factory of TestClients on the seeded SQLite app, signed in as the user named (or
    anonymous with None); all closed afterwards."""
    from fastapi.testclient import TestClient

    from support.platform import seed

    seed(sqlite_app)
    clients = []

    def make(username: str | None):
        c = TestClient(sqlite_app)
        clients.append(c)
        if username:
            assert sign_in(c, username).status_code == 303
        return c

    yield make
    for c in clients:
        c.close()


# ---- the built-in plan ---------------------------------------------------------------------
# Solving the built-in data takes tens of seconds on a loaded machine: every test that needs it
# with the default options shares one solve per session. Nothing may modify these objects (a
# test that needs a changed plan or scenario builds its own copy).
BUILTIN = "jjj-2022"
BUILTIN_YEAR = 2022


@pytest.fixture(scope="session")
def builtin_scenario():
    """The built-in scenario (immutable: its tables are handed out as copies)."""
    from resynergy.scenario import Scenario

    return Scenario.from_builtin(BUILTIN)


@pytest.fixture(scope="session")
def builtin_plan(builtin_scenario):
    """The built-in scenario planned for 2022 with the default options (duals included)."""
    from resynergy.planner import PlanOptions, solve

    return solve(builtin_scenario, PlanOptions(years=[BUILTIN_YEAR], time_limit=300))


@pytest.fixture(scope="session")
def builtin_outputs(tmp_path_factory):
    """What the README's first command writes, run once through the real CLI:
    ``resynergy plan jjj-2022 --year 2022 --json --quiet --out DIR``; (DIR, the parsed JSON)."""
    import json

    from typer.testing import CliRunner

    from resynergy.cli.main import app as cli_app

    out = tmp_path_factory.mktemp("builtin-outputs")
    r = CliRunner().invoke(cli_app, ["plan", BUILTIN, "--year", str(BUILTIN_YEAR), "--json",
                                     "--quiet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


# ---- browser -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_path() -> str:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if not exe:
        need("Debian chromium", "apt-get install chromium")
    return exe


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Headless Debian Chromium through Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


