"""Sign in, sign out, language switch, and plotly.js served from the plotly wheel."""

from __future__ import annotations

import functools
import gzip
import secrets
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from resynergy.services import audit
from resynergy.services.accounts import Throttled
from resynergy.web import i18n
from resynergy.web.deps import (
    DB,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentActor,
    accepts_gzip,
    client_ip,
    platform,
    resolve,
)
from resynergy.web.pages.templates import render

router = APIRouter()
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
CHARTS_JS = Path(str(files("resynergy.report") / "charts.js"))  # report/figures.py's script


def safe_next(target: str) -> str:
    """Only local paths: no scheme, no host, no '//' (open-redirect guard)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or "\n" in target:
        return "/"
    return target


@functools.cache
def _plotly_gz() -> bytes:
    """plotly.js (3.5 MB) compressed once per process (~1 MB), not on every request."""
    return gzip.compress(PLOTLY_JS.read_bytes(), 6)


@router.get("/static/vendor/plotly.min.js")
def plotly_js(request: Request):
    cache = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if accepts_gzip(request):
        return Response(_plotly_gz(), media_type="text/javascript", headers={**cache, "Content-Encoding": "gzip"})
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=cache)


@router.get("/static/vendor/charts.js")
def charts_js():
    return FileResponse(CHARTS_JS, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/login")
def login_page(request: Request, actor: CurrentActor, next: str = "/"):
    token = secrets.token_urlsafe(32)
    resp = render(request, actor, "login.html", next=safe_next(next), login_csrf=token, failed=False)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                    secure=platform(request).settings.cookie_secure, max_age=3600)
    return resp


@router.post("/login")
async def login(request: Request, db: DB,
                username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)],
                csrf_token: Annotated[str, Form(max_length=128)] = "", next: Annotated[str, Form(max_length=2000)] = "/"):
    p = platform(request)
    # the login form carries its own token (no session yet), so the session CSRF check is skipped
    actor, old = await run_in_threadpool(resolve, request, db)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        return render(request, actor, "login.html", status=403, next=safe_next(next), login_csrf=expected,
                      failed=True, message=("登录表单已过期，请重试", "The sign-in form expired; try again"))
    try:
        user = await run_in_threadpool(p.accounts.authenticate, db, username, password, client_ip(request))
    except Throttled as err:
        db.commit()
        return render(request, actor, "login.html", status=429, next=safe_next(next), login_csrf=expected,
                      failed=True, message=(f"登录失败次数过多，请 {err.retry_after} 秒后再试",
                                            f"Too many failed sign-ins; try again in {err.retry_after} s"))
    if user is None:
        db.commit()
        return render(request, actor, "login.html", status=401, next=safe_next(next), login_csrf=expected,
                      failed=True, message=i18n.MESSAGES["bad_login"])
    if old is not None:
        p.accounts.end_session(db, old)  # a new session id at every sign-in (ASVS 7.2.4)
    token, _ = p.accounts.start_session(db, user, client_ip(request))
    db.commit()
    target = safe_next(next)
    if target == "/" and user.role == "enterprise":  # an enterprise lands on its own records
        target = "/enterprise"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=p.settings.cookie_secure,
                    max_age=int(p.settings.session_hours * 3600), path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, db: DB, actor: CurrentActor):
    session = getattr(request.state, "session", None)
    if session is not None:
        platform(request).accounts.end_session(db, session)
        audit.record(db, actor, "logout", "user", actor.user_id)
        db.commit()
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/"):
    resp = RedirectResponse(safe_next(next), status_code=303)
    if code in i18n.LANGS:
        resp.set_cookie(i18n.LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return resp
