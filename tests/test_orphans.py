"""Workers die with their server (issue 9, item 10): ``kill -9`` of a real ``resynergy serve``
while a run is in progress takes the worker along, and the run, marked failed by the next
server, stays failed. Also: the client address comes from X-Forwarded-For only through a
trusted proxy (item 11). Every wait is a bounded poll, never a fixed sleep."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from resynergy.services.worker import PAUSE_BEFORE_SAVE
from support.platform import PASSWORD, registry_tables

pytestmark = [pytest.mark.slow,  # a real server and worker processes
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(check, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its exit status is left


class Server:
    def __init__(self, url: str, tmp: Path, **env: str):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out = open(tmp / f"serve-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        code = "from resynergy.cli.main import app; app()"  # what the `resynergy` script runs
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(self.port)], cwd=tmp, stdin=subprocess.DEVNULL,
            stdout=self.out, stderr=subprocess.STDOUT,
            env={**os.environ, "RESYNERGY_DATABASE_URL": url, "RESYNERGY_ADMIN_PASSWORD": PASSWORD,
                 "RESYNERGY_ARGON2_TIME_COST": "1", "RESYNERGY_ARGON2_MEMORY_KIB": "1024",
                 "RESYNERGY_ARGON2_PARALLELISM": "1", **env})

        def up():
            assert self.proc.poll() is None, (tmp / f"serve-{self.port}.log").read_text()
            try:
                return httpx.get(f"{self.base}/login", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        _until(up, "the server to start")

    def token(self) -> dict[str, str]:
        r = httpx.post(f"{self.base}/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.out.close()


def _seed(url: str) -> None:
    from resynergy.services.access import Actor
    from resynergy.services.registry import Change, apply
    from resynergy.store import db as store

    store.upgrade(url)
    engine = store.make_engine(url)
    with store.session_factory(engine)() as db:
        apply(db, Actor(0, "test", "admin"), [Change(t, "upsert", rec, source=t, row=i + 2)
                                                  for t, frame in registry_tables().items()
                                                  for i, rec in enumerate(frame.to_dict("records"))])
        db.commit()
    engine.dispose()


def test_kill_9_of_the_server_takes_the_worker_along_and_the_run_stays_failed(db_url, tmp_path):
    url = db_url  # a SQLite file, then the PostgreSQL test database
    _seed(url)
    server = Server(url, tmp_path, **{PAUSE_BEFORE_SAVE: "45"})  # the worker waits before saving
    try:
        h = server.token()
        scenario = httpx.post(f"{server.base}/api/v1/scenarios", json={"name": "s"}, headers=h, timeout=60).json()
        run = httpx.post(f"{server.base}/api/v1/runs", json={"scenario_id": scenario["id"]}, headers=h,
                         timeout=60).json()

        def saving():
            r = httpx.get(f"{server.base}/api/v1/runs/{run['id']}", headers=h, timeout=30).json()
            return r["state"] == "running" and r["stage"] == "saving"

        _until(saving, "the run to reach its save", timeout=300)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT worker_pid FROM runs WHERE id = :i"), {"i": run["id"]}).scalar_one()
        assert pid and _alive(pid)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(60)
        _until(lambda: not _alive(pid), "the orphaned worker to die", timeout=60)
    finally:
        server.stop()
    restarted = Server(url, tmp_path)
    try:
        h = restarted.token()
        get = lambda: httpx.get(f"{restarted.base}/api/v1/runs/{run['id']}", headers=h, timeout=30).json()  # noqa: E731
        first = get()
        assert first["state"] == "failed" and "restarted" in first["error"]
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM run_results WHERE run_id = :i"),
                                {"i": run["id"]}).scalar_one() == 0
        assert get()["state"] == "failed"
    finally:
        restarted.stop()
        engine.dispose()


def test_the_client_address_comes_from_a_trusted_proxy_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    _seed(url)
    server = Server(url, tmp_path, RESYNERGY_TRUSTED_PROXIES="127.0.0.1")
    try:
        for forwarded in ("203.0.113.7", "198.51.100.1, 203.0.113.8"):
            r = httpx.post(f"{server.base}/api/v1/auth/token", json={"username": "admin", "password": "wrong one!"},
                           headers={"X-Forwarded-For": forwarded}, timeout=30)
            assert r.status_code == 401
    finally:
        server.stop()
    untrusted = Server(url, tmp_path)  # no trusted proxy: the header is ignored
    try:
        httpx.post(f"{untrusted.base}/api/v1/auth/token", json={"username": "admin", "password": "wrong one!"},
                   headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30)
    finally:
        untrusted.stop()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ips = conn.execute(sa.text("SELECT ip FROM audit_log WHERE action = 'login_failed' ORDER BY id")).scalars().all()
    engine.dispose()
    # the right-most address not itself a trusted proxy is the client
    assert ips == ["203.0.113.7", "203.0.113.8", "127.0.0.1"]
