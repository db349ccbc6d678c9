"""Bulk import (CSV/XLSX upload, built-in dataset) and the import history with error workbooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from resynergy import datasets
from resynergy.schema import REGISTRY_TABLES
from resynergy.services import access, imports, loads
from resynergy.states import ImportState
from resynergy.web import i18n
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.errors import COMMON_RESPONSES, NOT_FOUND, TOO_LARGE, ApiError, IssueOut

router = APIRouter(tags=["import"])
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TableName = Literal[REGISTRY_TABLES]  # type: ignore[valid-type]


class ImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    filename: str
    created_at: datetime
    accepted: bool
    counts: dict[str, dict[str, int]]
    issues: list[IssueOut]
    has_error_workbook: bool
    state: ImportState
    progress: float
    stage: str
    stage_zh: str
    stage_en: str
    error: str
    finished_at: datetime | None


class ImportPage(BaseModel):
    items: list[ImportOut]
    total: int
    limit: int
    offset: int


class BuiltinIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": [{"name": "jjj-2022"}]})
    name: str


def _out(rec) -> dict:
    zh, en = i18n.stage(rec.stage, "zh"), i18n.stage(rec.stage, "en")
    return {"id": rec.id, "filename": rec.filename, "created_at": rec.created_at, "accepted": rec.accepted,
            "counts": rec.counts or {}, "issues": rec.issues or [], "has_error_workbook": rec.error_workbook is not None,
            "state": rec.state, "progress": rec.progress, "stage": rec.stage, "stage_zh": zh, "stage_en": en,
            "error": rec.error or "", "finished_at": rec.finished_at}


async def read_capped(request: Request, file: UploadFile) -> bytes:
    """The upload's bytes, or 413 when it is larger than the configured limit."""
    limit = platform(request).settings.upload_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "too_large", f"文件超过 {limit // (1024 * 1024)} MB 上限",
                       f"file exceeds the {limit // (1024 * 1024)} MB limit", "file")
    return data


def _can_import(actor) -> None:
    if not (actor.signed_in and actor.role in ("admin", "planner", "enterprise")):
        raise access.Denied(actor, "import")


@router.post("/imports", response_model=ImportOut, status_code=201, summary="Import a CSV or XLSX file / 批量导入",
             responses={**COMMON_RESPONSES, **TOO_LARGE,
                        422: {"model": ImportOut, "description": "Rejected: nothing written; see issues / 拒绝导入"}})
async def upload(request: Request, db: DB, actor: CurrentActor,
                 file: Annotated[UploadFile, File(description=".xlsx (one sheet per table) or .csv (one table)")],
                 table: Annotated[TableName | Literal[""], Form(description="CSV 对应的表 / table of a CSV file")] = ""):
    _can_import(actor)
    data = await read_capped(request, file)
    outcome = await run_in_threadpool(imports.import_file, db, actor, data, file.filename or "upload", table,
                                      platform(request).settings)
    body = ImportOut.model_validate(_out(outcome.record)).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if outcome.record.accepted else 422)


@router.post("/imports/builtin", status_code=202, response_model=ImportOut,
             summary="Load a built-in dataset into the registry, in the background / 载入内置数据集（后台）",
             description="Queues the load and answers at once (202); follow `GET /imports/{id}` until `state` is "
                         "`succeeded` (`counts`) or `failed` (`error`, `issues`). A load of yours still waiting "
                         "or running is answered instead of a second one. / 排队后立即返回，轮询导入记录查看进度。",
             responses={**COMMON_RESPONSES, **NOT_FOUND})
def load_builtin(request: Request, db: DB, actor: CurrentActor, body: Annotated[BuiltinIn, Body()]):
    access.require(actor, access.EDITORS, "load built-in dataset")
    if body.name not in datasets.names():
        raise ApiError(404, "not_found", f"没有内置数据集 {body.name}", f"no built-in dataset {body.name}", "name")
    rec = loads.queue_builtin(db, actor, body.name)
    if platform(request).supervisor is not None:
        platform(request).supervisor.wake()
    return _out(rec)


@router.get("/imports", response_model=ImportPage, summary="Import history / 导入记录", responses=COMMON_RESPONSES)
def history(db: DB, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=200)] = 20,
            offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    _can_import(actor)
    items, total = imports.listing(db, actor, limit, offset)
    return {"items": [_out(r) for r in items], "total": total, "limit": limit, "offset": offset}


ImportId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/imports/{import_id}", response_model=ImportOut, summary="One import / 导入结果",
            responses={**COMMON_RESPONSES, **NOT_FOUND})
def one(db: DB, actor: CurrentActor, import_id: ImportId):
    _can_import(actor)
    return _out(imports.get(db, actor, import_id))


@router.get("/imports/{import_id}/errors.xlsx", summary="Error workbook: bad cells marked / 错误标注工作簿",
            responses={**COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {_XLSX: {}}, "description": "workbook"}})
def error_workbook(db: DB, actor: CurrentActor, import_id: ImportId):
    _can_import(actor)
    rec = imports.get(db, actor, import_id)
    if rec.error_workbook is None:
        raise ApiError(404, "not_found", "该导入没有错误工作簿", "this import has no error workbook")
    return Response(rec.error_workbook, media_type=_XLSX,
                    headers={"Content-Disposition": f'attachment; filename="errors-{rec.id}.xlsx"'})
