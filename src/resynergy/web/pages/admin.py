"""Administration pages: users and roles, sessions, the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from resynergy.services import access, accounts, audit
from resynergy.services.accounts import AccountError
from resynergy.services.registry import NotFound
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import render

router = APIRouter()


def _users_page(request, db, actor, error: AccountError | None = None, status: int = 200, msg: str = ""):
    users, _ = accounts.list_users(db)
    return render(request, actor, "admin_users.html", status=status, users=users, error=error, msg=msg)


@router.get("/admin/users")
def users(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    access.require(actor, ("admin",), "users")
    return _users_page(request, db, actor, msg=msg)


@router.post("/admin/users")
def add_user(request: Request, db: DB, actor: CurrentActor, username: Annotated[str, Form(max_length=64)],
             password: Annotated[str, Form(max_length=256)], role: Annotated[str, Form(max_length=16)],
             org_uscc: Annotated[str, Form(max_length=18)] = "", province: Annotated[str, Form(max_length=6)] = "",
             display_name: Annotated[str, Form(max_length=128)] = ""):
    access.require(actor, ("admin",), "create user")
    try:
        platform(request).accounts.create_user(db, actor, username.strip(), password, role, org_uscc.strip(),
                                               province.strip(), display_name.strip())
    except AccountError as err:
        db.rollback()
        return _users_page(request, db, actor, error=err, status=422)
    db.commit()
    return RedirectResponse("/admin/users?msg=saved", status_code=303)


@router.post("/admin/users/{user_id}")
def change_user(request: Request, db: DB, actor: CurrentActor, user_id: int, role: Annotated[str, Form(max_length=16)],
                org_uscc: Annotated[str, Form(max_length=18)] = "", province: Annotated[str, Form(max_length=6)] = "",
                active: Annotated[str, Form()] = "false", password: Annotated[str, Form(max_length=256)] = ""):
    access.require(actor, ("admin",), "change user")
    user = accounts.find_user(db, user_id)
    if user is None:
        raise NotFound(f"user {user_id}")
    changes = {"role": role, "org_uscc": org_uscc.strip(), "province": province.strip(), "active": active == "true"}
    if password:
        changes["password"] = password
    try:
        platform(request).accounts.update_user(db, actor, user, **changes)
    except AccountError as err:
        db.rollback()
        return _users_page(request, db, actor, error=err, status=422)
    db.commit()
    return RedirectResponse("/admin/users?msg=saved", status_code=303)


@router.post("/admin/users/{user_id}/revoke")
def revoke(request: Request, db: DB, actor: CurrentActor, user_id: int):
    access.require(actor, ("admin",), "revoke sessions")
    if accounts.find_user(db, user_id) is None:
        raise NotFound(f"user {user_id}")
    platform(request).accounts.revoke_all(db, user_id)
    audit.record(db, actor, "revoke_sessions", "user", user_id)
    db.commit()
    return RedirectResponse("/admin/users?msg=saved", status_code=303)


@router.get("/admin/audit")
def audit_page(request: Request, db: DB, actor: CurrentActor, page: Annotated[int, Query(ge=1, le=10**6)] = 1,
               action: Annotated[str, Query(max_length=32)] = "", object_type: Annotated[str, Query(max_length=32)] = ""):
    access.require(actor, ("admin",), "audit log")
    items, total = audit.events(db, 50, (page - 1) * 50, action, object_type)
    return render(request, actor, "audit.html", events=items, total=total, page=page,
                  pages=max(1, -(-total // 50)), action=action, object_type=object_type)
