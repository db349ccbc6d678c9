"""Platform commands as `resynergy` wires them: serve (no prompt without a terminal, first admin from the environment),
db upgrade, user add, registry import (all or nothing, error workbook, built-in dataset)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import openpyxl
import pytest
import typer
from typer.testing import CliRunner

PASSWORD = "correct horse battery staple"


def cli() -> typer.Typer:
    from resynergy.cli.main import app

    return app


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RESYNERGY_DATABASE_URL", url)
    for key, value in {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024", "ARGON2_PARALLELISM": "1"}.items():
        monkeypatch.setenv(f"RESYNERGY_{key}", value)
    return url


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli(), list(args), input=input)


def test_db_upgrade_creates_the_sqlite_file(env, tmp_path):
    from resynergy.store.db import head_revision

    r = run("db", "upgrade")
    assert r.exit_code == 0 and head_revision() in r.stdout  # the latest migration, whichever it is
    assert (tmp_path / "cli.db").exists()


def test_user_add_reads_the_password_from_stdin(env):
    r = run("user", "add", "alice", "--role", "admin", input=PASSWORD + "\n")
    assert r.exit_code == 0 and "alice (admin)" in r.stdout
    r = run("user", "add", "alice", "--role", "admin", input=PASSWORD + "\n")
    assert r.exit_code == 1 and "already exists" in r.stderr
    r = run("user", "add", "bob", "--role", "enterprise", input=PASSWORD + "\n")
    assert r.exit_code == 1 and "org_uscc" in r.stderr
    r = run("user", "add", "carol", input="password\n")
    assert r.exit_code == 1 and "password" in r.stderr


def test_registry_import_all_or_nothing(env, tmp_path):
    assert run("registry", "import", "x.csv").exit_code == 1  # no user yet
    run("user", "add", "admin", "--role", "admin", input=PASSWORD + "\n")
    regions = tmp_path / "regions.csv"
    regions.write_text("code,name_zh,name_en,level,parent,lat,lon\n130000,河北省,Hebei,province,,38,114.5\n"
                       "130800,承德市,Chengde,prefecture,130000,41,118\n", encoding="utf-8")
    r = run("registry", "import", str(regions))
    assert r.exit_code == 0 and "'created': 2" in r.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name_zh,name_en,level,parent,lat,lon\n130200,唐山市,Tangshan,city,130000,39.6,118.2\n",
                   encoding="utf-8")
    errors = tmp_path / "errors.xlsx"
    r = run("registry", "import", str(bad), "--table", "regions", "--errors", str(errors))
    assert r.exit_code == 1 and "第 2 行" in r.stderr and "level" in r.stderr and "nothing was written" in r.stderr
    wb = openpyxl.load_workbook(errors)
    assert wb["regions"]["D2"].comment is not None
    assert run("registry", "import", str(tmp_path / "missing.csv")).exit_code == 2


def test_registry_import_loads_the_builtin_dataset(env):
    run("user", "add", "admin", "--role", "admin", input=PASSWORD + "\n")
    r = run("registry", "import", "jjj-2022")
    assert r.exit_code == 0, r.stderr
    assert "'sites': {'created':" in r.stdout.replace("\n", "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_without_a_prompt_and_creates_the_first_admin(env, tmp_path):
    port = _free_port()
    code = "from resynergy.cli.main import app; app()"  # what the `resynergy` script runs
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "RESYNERGY_ADMIN_PASSWORD": PASSWORD})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert r.status_code == 200 and "登录" in r.text
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                           json={"username": "admin", "password": PASSWORD}, timeout=10)
        assert token.status_code == 200
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    assert "created admin: admin" in output and f"http://127.0.0.1:{port}/" in output
