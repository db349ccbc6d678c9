"""Request dependencies: the database session, the signed-in actor (session cookie or bearer
token) and the CSRF check for cookie-authenticated changes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from jinja2 import Environment
from sqlalchemy.orm import Session, sessionmaker

from resynergy.services.access import Actor
from resynergy.services.accounts import Accounts, LoginSession, actor_of
from resynergy.services.runs import Supervisor
from resynergy.services.settings import Settings
from resynergy.web.errors import ApiError

SESSION_COOKIE = "resynergy_session"
LOGIN_CSRF_COOKIE = "resynergy_login_csrf"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class Platform:
    """Everything a request needs, built once per app."""

    settings: Settings
    sessions: sessionmaker[Session]
    accounts: Accounts
    supervisor: Supervisor | None
    templates: Environment


def platform(request: Request) -> Platform:
    return request.app.state.platform


def get_db(request: Request) -> Iterator[Session]:
    db = platform(request).sessions()
    try:
        yield db
    finally:
        db.close()


DB = Annotated[Session, Depends(get_db)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def resolve(request: Request, db: Session) -> tuple[Actor, LoginSession | None]:
    p, ip = platform(request), client_ip(request)
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        token = p.accounts.token_for(db, auth[7:].strip())
        if token is None:
            raise ApiError(401, "invalid_token", "令牌无效或已过期", "invalid or expired token")
        return actor_of(token.user, ip), None
    s = p.accounts.session_for(db, request.cookies.get(SESSION_COOKIE, ""))
    if s is None:
        return Actor(None, "", "public", ip=ip), None
    db.commit()  # last_seen
    return actor_of(s.user, ip), s


async def current_actor(request: Request, db: DB) -> Actor:
    """The actor of this request; cookie-authenticated changes must carry the session's CSRF token
    (header ``X-CSRF-Token`` from scripts, form field ``csrf_token`` from forms)."""
    actor, session = await run_in_threadpool(resolve, request, db)
    request.state.session, request.state.actor = session, actor
    if session is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = str((await request.form()).get("csrf_token", ""))
        if not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise ApiError(403, "csrf_failed", "表单已过期或来源不明，请刷新页面后重试",
                           "missing or wrong CSRF token; reload the page and try again")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def accepts_gzip(request: Request) -> bool:
    """The client takes a gzip body (then a stored or cached gzip is sent as it is)."""
    return "gzip" in request.headers.get("accept-encoding", "").lower()
