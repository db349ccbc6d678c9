"""Accounts: argon2id hashes, bearer tokens, revocable server-side sessions, CSRF, throttled
sign-in, audit of every sign-in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.services.accounts import AccountError
from resynergy.store.models import ApiToken, AuditEvent, LoginSession, User, utcnow
from support.platform import PASSWORD, sign_in


def test_passwords_are_argon2id_hashes(app, users):
    with app.state.platform.sessions() as db:
        hashes = db.scalars(sa.select(User.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)


def test_weak_passwords_are_refused(app):
    acc = app.state.platform.accounts
    for bad in ("short", "password123", "x" * 300):
        with pytest.raises(AccountError):
            acc.check_password(bad)
    acc.check_password("a fine long passphrase")


def test_bearer_token_flow(client, users):
    r = client.post("/api/v1/auth/token", json={"username": "planner", "password": PASSWORD})
    assert r.status_code == 200
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=h).json()["role"] == "planner"
    assert client.delete("/api/v1/auth/token", headers=h).status_code == 204
    r = client.get("/api/v1/auth/me", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    assert client.get("/api/v1/sites", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_tokens_are_stored_hashed(app, client, users):
    raw = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    with app.state.platform.sessions() as db:
        stored = db.scalars(sa.select(ApiToken.token_hash)).all()
    assert raw not in stored and len(stored[-1]) == 64


def test_sign_ins_are_audited_and_failures_throttled(app, client, users):
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": "regulator", "password": "wrong password!"})
        assert r.status_code == 401 and r.json()["code"] == "bad_credentials"
    r = client.post("/api/v1/auth/token", json={"username": "regulator", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0  # even the right password waits
    # other accounts from the same address are not locked out by one account's failures
    assert client.post("/api/v1/auth/token", json={"username": "evaluator", "password": PASSWORD}).status_code == 200
    with app.state.platform.sessions() as db:
        events = db.execute(sa.select(AuditEvent.action, AuditEvent.actor, AuditEvent.ip)
                            .where(AuditEvent.action.like("login%"))).all()
    actions = [(a, who) for a, who, _ in events]
    assert actions.count(("login_failed", "regulator")) == 5
    assert ("login_throttled", "regulator") in actions and ("login", "evaluator") in actions
    assert all(ip == "testclient" for _, _, ip in events)


def test_unknown_user_fails_like_a_wrong_password(client, users):
    r = client.post("/api/v1/auth/token", json={"username": "nobody", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "bad_credentials"


def test_session_cookie_flags_and_server_side_revocation(app, client, users):
    r = sign_in(client, "planner")
    assert r.status_code == 303 and r.headers["location"] == "/registry"
    cookie = r.headers["set-cookie"]
    assert "resynergy_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/registry").status_code == 200
    raw = client.cookies.get("resynergy_session")
    with app.state.platform.sessions() as db:
        assert raw not in db.scalars(sa.select(LoginSession.token_hash)).all()
    page = client.get("/registry").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("resynergy_session", raw)  # replaying the old cookie does not work
    r = client.get("/registry", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_secure_cookie_when_configured(db_url):
    from resynergy.web.app import create_app
    from support.platform import make_settings, seed

    app = create_app(make_settings(db_url, cookie_secure=True), migrate=False, run_worker=False)
    seed(app)
    with TestClient(app, base_url="https://testserver") as c:  # Secure cookies travel over HTTPS only
        assert "Secure" in sign_in(c, "admin").headers["set-cookie"]


def test_login_needs_its_form_token_and_rotates_the_session(client, users):
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403
    first = sign_in(client, "admin")
    a = client.cookies.get("resynergy_session")
    sign_in(client, "admin")
    assert client.cookies.get("resynergy_session") != a and first.status_code == 303
    client.cookies.set("resynergy_session", a)
    assert client.get("/admin/users", follow_redirects=False).status_code == 303  # the old session ended


def test_wrong_password_page_and_throttle_page(client, users):
    r = sign_in(client, "admin", "not the password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_cookie_requests_that_change_things_need_the_csrf_token(client, users):
    sign_in(client, "planner")
    body = {"site": "cd-mine", "material": "steel_slag", "year": 2022, "generation_t": 1.0}
    r = client.post("/api/v1/supplies", json=body)
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/registry").text).group(1)
    assert client.post("/api/v1/supplies", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    # reads need no token; bearer clients need none either
    assert client.get("/api/v1/supplies").status_code == 200


def test_disabling_a_user_ends_sessions_and_tokens(client, users):
    admin = users.headers["admin"]
    victim = users.headers["evaluator"]
    assert client.get("/api/v1/sites", headers=victim).status_code == 200
    r = client.patch(f"/api/v1/users/{users.ids['evaluator']}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/sites", headers=victim).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "evaluator", "password": PASSWORD}).status_code == 401
    # an admin cannot lock themself out
    r = client.patch(f"/api/v1/users/{users.ids['admin']}", json={"active": False}, headers=admin)
    assert r.status_code == 422


def test_expired_and_idle_sessions_end(app, client, users):
    sign_in(client, "admin")
    assert client.get("/admin/users").status_code == 200
    with app.state.platform.sessions() as db:
        db.execute(sa.update(LoginSession).values(last_seen=utcnow() - timedelta(hours=2)))
        db.commit()
    assert client.get("/admin/users", follow_redirects=False).status_code == 303
    sign_in(client, "admin")
    with app.state.platform.sessions() as db:
        db.execute(sa.update(LoginSession).where(LoginSession.revoked_at.is_(None))
                   .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


def test_admin_manages_users(client, users):
    admin = users.headers["admin"]
    body = {"username": "hebei_planner", "password": "a long passphrase 2024", "role": "planner", "province": "130000"}
    r = client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["province"] == "130000"
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 409
    bad = {**body, "username": "ent_no_org", "role": "enterprise"}
    r = client.post("/api/v1/users", json=bad, headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "org_uscc"
    assert client.post("/api/v1/users", json={**body, "username": "other_planner"}, headers=users.headers["planner"]).status_code == 403
    log = client.get("/api/v1/audit?action=user_create", headers=admin).json()["items"]
    assert log[0]["after"]["username"] == "hebei_planner" and "password" not in str(log[0]["after"])


def test_security_headers(client):
    r = client.get("/login")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"].startswith("text/html; charset=utf-8")
