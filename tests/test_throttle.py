"""Sign-in throttling (issue 9, item 11): per account with exponential back-off, per address only
as a coarse second line, state in the database (several processes agree), bounded in size, and
the client address taken from X-Forwarded-For only for trusted proxies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.cli.platform import proxy_options
from resynergy.services.settings import Settings
from resynergy.store.models import AuditEvent, LoginThrottle, utcnow
from support.platform import PASSWORD, make_settings

TOKEN = "/api/v1/auth/token"


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(app) -> Clock:
    c = Clock()
    app.state.platform.accounts.throttle.clock = c
    return c


def login(client, username: str, password: str = PASSWORD, ip: str = ""):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return client.post(TOKEN, json={"username": username, "password": password}, headers=headers)


def test_many_failures_from_one_address_do_not_lock_out_other_accounts(client, users, clock):
    for i in range(40):  # 20 used to block the whole address, right passwords included
        assert login(client, f"guess{i}", "wrong password!").status_code == 401
    assert login(client, "evaluator").status_code == 200


def test_account_back_off_doubles_and_success_clears_it(app, client, users, clock):
    for _ in range(5):
        assert login(client, "regulator", "wrong password!").status_code == 401
    r = login(client, "regulator")
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 30  # even the right password waits
    clock.advance(31)
    assert login(client, "regulator", "wrong password!").status_code == 401
    r = login(client, "regulator")
    assert r.status_code == 429 and 30 < int(r.headers["Retry-After"]) <= 60  # the wait doubled
    clock.advance(61)
    assert login(client, "regulator").status_code == 200
    assert login(client, "regulator", "wrong password!").status_code == 401
    assert login(client, "regulator").status_code == 200  # the success cleared the count


def test_refused_attempts_during_a_block_are_not_audited(app, client, users, clock):
    for _ in range(5):
        login(client, "regulator", "wrong password!")
    for _ in range(30):
        assert login(client, "regulator", "wrong password!").status_code == 429
    with app.state.platform.sessions() as db:
        actions = db.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "regulator")).all()
    assert actions.count("login_failed") == 5 and actions.count("login_throttled") == 1


def test_address_limit_is_a_coarse_second_line(db_url):
    from resynergy.web.app import create_app

    app = create_app(make_settings(db_url, login_ip_max_failures=12), migrate=False, run_worker=False)
    from support.platform import seed

    seed(app)
    with TestClient(app) as client:
        for i in range(12):
            assert login(client, f"guess{i}", "wrong password!").status_code == 401
        assert login(client, "evaluator").status_code == 429


def test_processes_share_the_throttle_and_it_stays_bounded(app, client, users, clock, db_url):
    """A second app (another server process) on the same database sees the same blocks."""
    from resynergy.web.app import create_app

    other = create_app(make_settings(db_url), migrate=False, run_worker=False)
    other.state.platform.accounts.throttle.clock = clock
    for _ in range(5):
        login(client, "regulator", "wrong password!")
    with TestClient(other) as second:
        assert login(second, "regulator").status_code == 429
    for i in range(60):  # unknown names: rows and audit events, each bounded
        login(client, f"nobody{i}", "wrong password!")
    with app.state.platform.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(LoginThrottle)) >= 60
    clock.advance(app.state.platform.settings.login_window_s + app.state.platform.settings.login_backoff_max_s + 1)
    login(client, "last-one", "wrong password!")  # every failure expires old rows
    with app.state.platform.sessions() as db:
        keys = set(db.scalars(sa.select(LoginThrottle.key)).all())
    assert keys == {"user:last-one", "ip:testclient"}


def test_trusted_proxies_decide_the_client_address(monkeypatch):
    monkeypatch.setenv("RESYNERGY_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    s = Settings.from_env(database_url="sqlite://")
    assert s.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert proxy_options(s) == {"proxy_headers": True, "forwarded_allow_ips": ["127.0.0.1", "10.0.0.0/8"]}
    monkeypatch.delenv("RESYNERGY_TRUSTED_PROXIES")
    assert proxy_options(Settings.from_env(database_url="sqlite://")) == {"proxy_headers": False}


def test_concurrent_failures_for_one_new_name_are_all_counted(app, client, users, clock):
    """Threads racing to create the same throttle row: no server error, every failure counted."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: login(client, "racing-name", "wrong password!").status_code, range(8)))
    assert set(codes) <= {401, 429} and codes.count(401) >= 5
    with app.state.platform.sessions() as db:
        row = db.get(LoginThrottle, "user:racing-name")
    assert row is not None and row.failures == codes.count(401)
