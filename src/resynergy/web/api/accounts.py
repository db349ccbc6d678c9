"""Sign-in for API clients (bearer tokens), the current user, user administration, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from resynergy.services import access, accounts, audit
from resynergy.services.accounts import ROLES, actor_of
from resynergy.web.deps import DB, CurrentActor, client_ip, platform
from resynergy.web.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND, ApiError

router = APIRouter()
Role = Literal["admin", "planner", "regulator", "evaluator", "enterprise", "public"]
assert set(Role.__args__) == set(ROLES)  # type: ignore[attr-defined]
Province = Annotated[str, Field(pattern=r"^(\d{2}0000)?$", description="省级代码，空 = 全部 / province code, '' = all")]


class Credentials(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        "examples": [{"username": "planner1", "password": "correct horse battery staple", "name": "my script"}]})
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field("", max_length=64, description="令牌名称 / token label")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    role: Role
    org_uscc: str
    province: str
    active: bool
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


class UserIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": [{
        "username": "hebei_planner", "password": "a long passphrase 2024", "role": "planner",
        "province": "130000", "display_name": "河北省规划员"}]})
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    org_uscc: str = Field("", max_length=18)
    province: Province = ""
    display_name: str = Field("", max_length=128)


class UserPatch(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": [{"active": False}]})
    password: str | None = Field(None, min_length=8, max_length=256)
    role: Role | None = None
    org_uscc: str | None = Field(None, max_length=18)
    province: Province | None = None
    display_name: str | None = Field(None, max_length=128)
    active: bool | None = None


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ts: datetime
    actor_id: int | None
    actor: str
    role: str
    ip: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/auth/token", response_model=TokenOut, tags=["auth"], responses=COMMON_RESPONSES,
             summary="Sign in and get a bearer token / 登录获取令牌")
def token(db: DB, request: Request, body: Annotated[Credentials, Body()]):
    p = platform(request)
    try:
        user = p.accounts.authenticate(db, body.username, body.password, client_ip(request))
    finally:
        db.commit()  # the audit event of the attempt, whatever the outcome
    if user is None:
        raise ApiError(401, "bad_credentials", "用户名或密码错误", "wrong username or password")
    raw, tok = p.accounts.issue_token(db, user, body.name)
    audit.record(db, actor_of(user, client_ip(request)), "token_issue", "api_token", tok.id)
    db.commit()
    return {"access_token": raw, "expires_at": tok.expires_at, "user": user}


@router.delete("/auth/token", status_code=204, tags=["auth"], responses=COMMON_RESPONSES,
               summary="Revoke the bearer token of this request / 注销令牌")
def revoke_token(db: DB, request: Request, actor: CurrentActor):
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() != "bearer " or not platform(request).accounts.revoke_token(db, actor, auth[7:].strip()):
        raise ApiError(400, "no_token", "请求未携带令牌", "this request carries no bearer token")
    db.commit()
    return Response(status_code=204)


@router.get("/auth/me", response_model=UserOut, tags=["auth"], responses=COMMON_RESPONSES,
            summary="The signed-in user / 当前用户")
def me(db: DB, actor: CurrentActor):
    if not actor.signed_in:
        raise ApiError(401, "not_signed_in", "请先登录", "sign in first")
    return accounts.find_user(db, actor.user_id)


@router.get("/users", response_model=UserPage, tags=["admin"], responses=COMMON_RESPONSES,
            summary="Users / 用户列表")
def list_users(db: DB, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
               role: Annotated[Role | None, Query()] = None):
    access.require(actor, ("admin",), "list users")
    items, total = accounts.list_users(db, role, limit, offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"],
             responses={**COMMON_RESPONSES, **CONFLICT}, summary="Create a user / 新建用户")
def create_user(db: DB, request: Request, actor: CurrentActor, body: Annotated[UserIn, Body()]):
    access.require(actor, ("admin",), "create user")
    user = platform(request).accounts.create_user(db, actor, **body.model_dump())
    db.commit()
    return user


@router.get("/users/{user_id}", response_model=UserOut, tags=["admin"],
            responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="One user / 用户")
def get_user(db: DB, actor: CurrentActor, user_id: UserId):
    access.require(actor, ("admin",), "read user")
    user = accounts.find_user(db, user_id)
    if user is None:
        raise ApiError(404, "not_found", "用户不存在", "no such user")
    return user


@router.patch("/users/{user_id}", response_model=UserOut, tags=["admin"],
              responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="Change a user (role, scope, password, active) / 修改用户")
def patch_user(db: DB, request: Request, actor: CurrentActor, user_id: UserId,
               body: Annotated[UserPatch, Body()]):
    user = get_user(db, actor, user_id)
    platform(request).accounts.update_user(db, actor, user, **body.model_dump(exclude_unset=True))
    db.commit()
    return user


@router.post("/users/{user_id}/revoke", status_code=204, tags=["admin"],
             responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="End every session and token of a user / 强制下线")
def revoke_user(db: DB, request: Request, actor: CurrentActor, user_id: UserId):
    user = get_user(db, actor, user_id)
    platform(request).accounts.revoke_all(db, user.id)
    audit.record(db, actor, "revoke_sessions", "user", user.id)
    db.commit()
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPage, tags=["admin"], responses=COMMON_RESPONSES,
            summary="Audit log, newest first / 审计日志")
def audit_log(db: DB, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=500)] = 100,
              offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
              action: Annotated[str, Query(max_length=32)] = "",
              object_type: Annotated[str, Query(max_length=32)] = "",
              actor_name: Annotated[str, Query(alias="actor", max_length=64)] = ""):
    access.require(actor, ("admin",), "read audit log")
    items, total = audit.events(db, limit, offset, action, object_type, actor_name)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
