"""One error body for the whole API: a code, a message in Chinese and English, and the field.

Pages get the same information as an HTML page (or a redirect to sign in).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from resynergy.services.access import Denied
from resynergy.services.accounts import AccountError, Throttled
from resynergy.services.registry import NotFound, Rejected

log = logging.getLogger("resynergy.web")


class Message(BaseModel):
    zh: str
    en: str


class IssueOut(BaseModel):
    """One located problem in the input."""

    model_config = ConfigDict(extra="forbid")
    code: str
    table: str = ""
    source: str = ""
    row: int | None = None
    column: str = ""
    value: str | None = None
    message_zh: str
    message_en: str
    location_zh: str = ""
    location_en: str = ""
    column_zh: str = ""
    hint_zh: str = ""
    hint_en: str = ""


class ErrorBody(BaseModel):
    """Every API error looks like this."""

    code: str
    message: Message
    field: str | None = None
    issues: list[IssueOut] | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "validation_failed", "message": {"zh": "数据有误，未写入任何内容", "en": "invalid data; nothing was written"},
        "field": "generation_t", "issues": [{
            "code": "below_min", "table": "supplies", "source": "supplies.csv", "row": 3, "column": "generation_t",
            "value": "-5", "message_zh": "应不小于 0.0", "message_en": "expected a value of at least 0.0",
            "location_zh": "supplies.csv, 第 3 行, 列 generation_t, 值「-5」",
            "location_en": "supplies.csv, row 3, column generation_t, value '-5'"}]}]})


class ApiError(Exception):
    def __init__(self, status: int, code: str, zh: str, en: str, field: str | None = None,
                 issues: list[dict] | None = None, headers: dict[str, str] | None = None):
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.field, self.issues, self.headers = field, issues, headers
        super().__init__(en)


def _doc(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


# Documented on every API route (FastAPI adds 422 itself; we replace its body model).
COMMON_RESPONSES: dict[int | str, dict] = {
    400: _doc("Bad request / 请求有误"),
    401: _doc("Not signed in / 未登录"),
    403: _doc("Not allowed / 无权限"),
    422: _doc("Invalid input; nothing was written / 输入有误，未写入"),
    429: _doc("Too many requests / 请求过于频繁"),
}
NOT_FOUND = {404: _doc("Not found (or not visible to you) / 不存在或无权查看")}
CONFLICT = {409: _doc("Conflicts with existing data / 与现有数据冲突")}
TOO_LARGE = {413: _doc("Upload too large / 文件过大")}
PRECONDITION = {412: _doc("The row changed since you read it (If-Match) / 记录已被他人修改"),
                428: _doc("If-Match required / 需要 If-Match 请求头")}

_STATUS_TEXT = {
    400: ("bad_request", "请求有误", "bad request"),
    401: ("not_signed_in", "请先登录", "sign in first"),
    403: ("forbidden", "无权执行此操作", "you are not allowed to do this"),
    404: ("not_found", "不存在或无权查看", "not found"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    409: ("conflict", "与现有数据冲突", "conflicts with existing data"),
    412: ("stale", "该记录已被他人修改或删除，未保存；请重新读取后再修改",
          "the record was changed or deleted since you read it; nothing was saved — read it again"),
    413: ("too_large", "请求过大", "request too large"),
    422: ("validation_failed", "数据有误，未写入任何内容", "invalid data; nothing was written"),
    428: ("precondition_required", "请用 If-Match 请求头提供记录版本（ETag）",
          "send the record's version (ETag) in an If-Match header"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试", "too many requests; try again later"),
    500: ("internal_error", "服务器内部错误", "internal server error"),
    503: ("busy", "系统繁忙，请稍后再试", "the server is busy; try again shortly"),
}


def error_for(status: int, field: str | None = None, issues: list[dict] | None = None,
              zh: str | None = None, en: str | None = None, code: str | None = None) -> ApiError:
    c, z, e = _STATUS_TEXT.get(status, ("error", "错误", "error"))
    return ApiError(status, code or c, zh or z, en or e, field, issues)


# Chinese for pydantic's error types (its messages are English only).
_ZH = {
    "missing": "必填项为空", "extra_forbidden": "不允许的字段", "json_invalid": "JSON 格式错误",
    "greater_than_equal": "应不小于 {ge}", "greater_than": "应大于 {gt}", "less_than_equal": "应不大于 {le}",
    "less_than": "应小于 {lt}", "string_too_long": "文本过长（最多 {max_length} 个字符）",
    "string_too_short": "文本过短（至少 {min_length} 个字符）", "string_pattern_mismatch": "格式不符合要求",
    "too_long": "项目过多（最多 {max_length} 项）", "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}", "int_type": "应为整数", "int_parsing": "应为整数", "float_type": "应为数字",
    "float_parsing": "应为数字", "bool_type": "应为 true 或 false", "bool_parsing": "应为 true 或 false",
    "string_type": "应为文本", "dict_type": "应为对象", "list_type": "应为列表", "model_type": "应为对象",
    "int_from_float": "应为整数", "finite_number": "应为有限数值", "value_error": "取值无效",
}


def _zh(error: dict) -> str:
    template = _ZH.get(str(error.get("type", "")))
    if template is None:
        return f"输入无效：{error.get('msg', '')}"
    try:
        return template.format(**{k: str(v) for k, v in (error.get("ctx") or {}).items()})
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("（：")


RETRY_AFTER_S = 2


def _is_contention(err: sa.exc.OperationalError) -> bool:
    """The database was busy, not broken: SQLite's write lock timed out, or PostgreSQL broke a
    deadlock or a lock wait (the client may simply try again)."""
    text = str(err.orig).lower()
    return any(s in text for s in ("database is locked", "database table is locked", "deadlock detected",
                                   "lock timeout", "could not serialize"))


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def json_response(err: ApiError) -> JSONResponse:
    body = ErrorBody(code=err.code, message=Message(zh=err.zh, en=err.en), field=err.field,
                     issues=[IssueOut(**i) for i in err.issues] if err.issues else None)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=err.status, headers=err.headers)


def install(app: FastAPI, render_error) -> None:
    """Register the handlers; ``render_error(request, ApiError)`` draws the HTML error page."""

    def respond(request: Request, err: ApiError) -> Response:
        if _is_api(request):
            return json_response(err)
        if err.status == 401:
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={nxt}", status_code=303)
        page = render_error(request, err)
        page.headers.update(err.headers or {})  # e.g. Retry-After on 503 and 429 pages too
        return page

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError):
        return respond(request, err)

    @app.exception_handler(Denied)
    async def _denied(request: Request, err: Denied):
        return respond(request, error_for(err.status))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, err: NotFound):
        return respond(request, error_for(404))

    @app.exception_handler(Rejected)
    async def _rejected(request: Request, err: Rejected):
        status = err.status
        if status == 422 and err.issues and all(i["code"] == "duplicate" for i in err.issues):
            status = 409
        first = err.issues[0] if err.issues else {}
        return respond(request, error_for(status, field=first.get("column") or None, issues=err.issues,
                                          code="validation_failed" if status == 422 else None))

    @app.exception_handler(AccountError)
    async def _account(request: Request, err: AccountError):
        return respond(request, ApiError(err.status, err.code, err.zh, err.en, err.field))

    @app.exception_handler(Throttled)
    async def _throttled(request: Request, err: Throttled):
        e = error_for(429, zh=f"登录失败次数过多，请 {err.retry_after} 秒后再试",
                      en=f"too many failed sign-ins; try again in {err.retry_after} s")
        e.headers = {"Retry-After": str(err.retry_after)}
        return respond(request, e)

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)  # a model validated in a handler (page forms): 422, not 500
    async def _invalid(request: Request, err: RequestValidationError | ValidationError):
        issues, field = [], None
        for e in err.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header", "cookie")]
            name = ".".join(loc)
            field = field or name or None
            value = e.get("input")
            issues.append({"code": str(e.get("type", "invalid")), "column": name,
                           "value": None if isinstance(value, (dict, list)) or value is None else str(value)[:200],
                           "message_zh": _zh(e), "message_en": str(e.get("msg", "invalid")),
                           "location_zh": name, "location_en": name})
        return respond(request, error_for(422, field=field, issues=issues, code="invalid_request",
                                          zh="请求参数无效", en="invalid request"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException):
        e = error_for(err.status_code)
        e.headers = getattr(err, "headers", None)
        return respond(request, e)

    @app.exception_handler(sa.exc.OperationalError)
    async def _busy(request: Request, err: sa.exc.OperationalError):
        if not _is_contention(err):
            return await _crash(request, err)
        log.warning("database busy on %s %s: %s", request.method, request.url.path, err.orig)
        e = error_for(503)
        e.headers = {"Retry-After": str(RETRY_AFTER_S)}
        return respond(request, e)

    @app.exception_handler(Exception)
    async def _crash(request: Request, err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, error_for(500))
