"""Helpers for the platform tests: the test registry, users of every role, settings with a
cheap password hash, signing in, a live uvicorn server, and the skip-locally/fail-in-CI rule.

Fixtures built on these live in ``tests/conftest.py``; tests import the helpers from here
(never from ``conftest`` or from another test module).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

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
    """Users of every role, and the registry loaded through the import path as the admin.

    The first seeding of an empty database (per process, dialect, settings and registry: the
    default one or none) goes through the accounts and import services; its rows are then kept,
    and a later seeding of an empty database with the same key writes those same rows (ids,
    password and token hashes, audit entries) in one go, and hands out the same tokens. That
    saves the import's validation (about a second) in each of the several hundred platform
    tests; what seeding itself does is tested by the first one and by the import tests."""
    key = _seed_key(app, tables)
    snapshot = _SEEDED.get(key) if key is not None else None
    if snapshot is not None and _is_empty(app):
        rows, users = snapshot
        _restore(app, rows)
        return copy.deepcopy(users)
    empty = key is not None and _is_empty(app)
    users = _seed_through_services(app, tables)
    if empty:
        _SEEDED[key] = (_dump(app), copy.deepcopy(users))
    return users


_SEEDED: dict[tuple, tuple[dict[str, list[dict]], Users]] = {}


def _seed_key(app, tables) -> tuple | None:
    """What a seeded database depends on: the dialect, the settings (a token's lifetime, the
    hash parameters...) and which registry (None: the test registry, {}: users only)."""
    if tables is None:
        kind = "registry"
    elif isinstance(tables, dict) and not tables:
        kind = "users only"
    else:
        return None
    settings = app.state.platform.settings
    fields = tuple(sorted((k, repr(v)) for k, v in dataclasses.asdict(settings).items()
                          if k != "database_url"))
    return sa.make_url(settings.database_url).get_dialect().name, kind, fields


def _is_empty(app) -> bool:
    from resynergy.store.models import Base

    counts = " UNION ALL ".join(f'SELECT count(*) AS n FROM "{t.name}"' for t in Base.metadata.sorted_tables)
    with app.state.platform.sessions() as db:
        return not any(n for (n,) in db.execute(sa.text(counts)))


def _dump(app) -> dict[str, list[dict]]:
    from resynergy.store.models import Base

    with app.state.platform.sessions() as db:
        return {t.name: [dict(r._mapping) for r in db.execute(sa.select(t))]
                for t in Base.metadata.sorted_tables}


def _restore(app, rows: dict[str, list[dict]]) -> None:
    """Write the kept rows into the empty database, parents first; on PostgreSQL the id
    sequences then continue after them (as they would after the inserts that made them)."""
    from resynergy.store.models import Base

    with app.state.platform.sessions() as db:
        for table in Base.metadata.sorted_tables:
            if rows[table.name]:
                db.execute(table.insert(), rows[table.name])
                if db.get_bind().dialect.name == "postgresql":
                    for col in table.primary_key.columns:
                        seq = db.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                         {"t": f'"{table.name}"', "c": col.name}).scalar()
                        if seq:
                            db.execute(sa.text(f'SELECT setval(:s, (SELECT max("{col.name}") FROM "{table.name}"))'),
                                       {"s": seq})
        db.commit()


def _seed_through_services(app, tables) -> Users:
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


def add_users(app, users: Users, extra: dict[str, tuple[str, str, str]]) -> None:
    """More users beside ``seed``'s ({name: (role, org, province)}), with their bearer headers."""
    from resynergy.services.access import Actor
    from resynergy.store.models import User

    p = app.state.platform
    with p.sessions() as db:
        for name, (role, org, prov) in extra.items():
            u = p.accounts.create_user(db, Actor(None, "t", "admin"), name, PASSWORD, role, org, prov)
            db.commit()
            users.ids[name] = u.id
            raw, _ = p.accounts.issue_token(db, db.get(User, u.id))
            db.commit()
            users.headers[name] = {"Authorization": f"Bearer {raw}"}



def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in through the login page (its CSRF token included); the response of the POST."""
    page = client.get("/login")
    token = re.search(r'id="login-csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": "/registry"}, follow_redirects=False)


def csrf(page: str) -> str:
    """The CSRF token a signed-in page carries in its <meta name="csrf-token">."""
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


# ---- browser -------------------------------------------------------------------------------
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



@dataclass
class Platform:
    """A test app with its client and the seeded users' headers and ids, by user name."""

    client: Any  # fastapi.testclient.TestClient
    app: Any
    headers: dict[str, dict[str, str]]
    ids: dict[str, int]

    def sessions(self):
        return self.app.state.platform.sessions()


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


def together(*calls, wait: float = 180):
    """Run the calls in threads released at the same instant; their results (or the errors they
    raised) in order. ``wait``: how long to wait for each thread (generous: CI is loaded)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as err:  # noqa: BLE001 - reported by the caller's assertions
            results[i] = err

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(wait)
    return results


@contextlib.contextmanager
def local_page(browser, origin: str, expected_status: int | None = None, on_dialog=None):
    """A zh-CN page (1366×900) of ``browser`` that may only talk to ``origin``; on leaving, no
    request has left the server and no page or console error occurred (a refusal with
    ``expected_status`` the test provokes on purpose is not an error). Dialogs are accepted, or
    handed to ``on_dialog``."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    outside, problems = keep_local(page, origin), []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" and (expected_status is None or f"status of {expected_status}" not in m.text)
            else None)
    page.on("dialog", on_dialog or (lambda d: d.accept()))
    page.set_default_timeout(30_000)
    yield page
    context.close()
    assert outside == [], f"requests left the server: {outside}"
    assert problems == [], problems


def accept_together(app, users, ids: list[int]) -> list:
    """The buyer ``ent_b`` accepts the deals ``ids`` in threads released at once, each in its own
    session (as each request has): per deal the accepted quantity_t, or the refusal's status."""
    from resynergy.services import exchange
    from resynergy.services.access import Actor
    from resynergy.services.registry import Rejected

    buyer = Actor(users.ids["ent_b"], "ent_b", "enterprise", org_uscc=ORG_B)
    sessions = app.state.platform.sessions

    def accept(deal_id):
        with sessions() as db:
            try:
                return exchange.step(db, buyer, deal_id, "accept")["quantity_t"]
            except Rejected as err:
                return err.status

    return together(*(lambda i=i: accept(i) for i in ids))
