"""Actual flows (what moved: processed manifests, imports) and the monitor of the targets on them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from resynergy.services import access, actuals
from resynergy.web.api.imports import ImportOut, _out, read_capped
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.errors import COMMON_RESPONSES, TOO_LARGE

router = APIRouter(tags=["actual flows"])


class FlowOut(BaseModel):
    pk: int
    manifest: str
    year: int
    from_site: str
    to_site: str
    material: str
    mode: str
    t: float
    distance_km: float | None
    source: str
    row_version: int
    created_at: str


class FlowPage(BaseModel):
    items: list[FlowOut]
    total: int
    limit: int
    offset: int


class MonitorOut(BaseModel):
    counts: dict[str, int]
    flows: int
    tonnes: float
    evaluated_t: float = 0.0  # #13: of ``tonnes``, approved evaluations' beyond the recorded flows
    years: list[int]
    targets: list[dict[str, Any]]
    trajectory: list[dict[str, Any]]
    summary_zh: list[str]
    summary_en: list[str]
    # e.g. flows reaching facilities the registry lists as candidates: {"zh": …, "en": …}
    notes: list[dict[str, str]] = []


@router.get("/actual-flows", response_model=FlowPage, summary="Actual flows / 实际流向（联单）",
            description="Flows that left or reached a site in your scope (staff: your province; "
                        "enterprises: your organisation's sites), newest first. / 本范围内的实际流向。",
            responses=COMMON_RESPONSES)
def flows(db: DB, actor: CurrentActor,
          year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
          material: Annotated[str, Query(max_length=64)] = "",
          province: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
          site: Annotated[str, Query(max_length=128)] = "",
          manifest: Annotated[str, Query(max_length=64)] = "",
          limit: Annotated[int, Query(ge=1, le=500)] = 50,
          offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    items, total = actuals.list_flows(db, actor, year=year, material=material, province=province,
                                      site=site, manifest=manifest, limit=limit, offset=offset)
    return {"items": [{**i, "created_at": str(i["created_at"])} for i in items], "total": total,
            "limit": limit, "offset": offset}


@router.post("/actual-flows/import", response_model=ImportOut, status_code=201,
             summary="Import actual flows (XLSX sheet actual_flows, or CSV) / 导入实际流向",
             description="All or nothing, every problem located (sheet, row, column, value) in zh and en; "
                         "a manifest number already recorded is skipped, never counted twice. / "
                         "全部通过才写入；已登记的联单编号不重复计入。",
             responses={**COMMON_RESPONSES, **TOO_LARGE,
                        422: {"model": ImportOut, "description": "Rejected: nothing written / 拒绝导入"}})
async def import_flows(request: Request, db: DB, actor: CurrentActor,
                       file: Annotated[UploadFile, File(description=".xlsx or .csv")]):
    access.require(actor, access.FLOW_WRITERS, "import actual flows")
    data = await read_capped(request, file)
    outcome = await run_in_threadpool(actuals.import_flows, db, actor, data, file.filename or "upload",
                                      platform(request).settings)
    body = ImportOut.model_validate(_out(outcome.record)).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if outcome.record.accepted else 422)


@router.get("/monitor", response_model=MonitorOut,
            summary="Targets vs actual flows, with projection / 目标进展监测（按实际流向）",
            description="Every target of the registry (a province-scoped reader: its province's) against "
                        "the indicators evaluated on the recorded flows, by province, material and year; "
                        "years not yet recorded are projected (method stated); capacity and programme "
                        "rows say where their figure comes from (basis_zh/basis_en). The figures of "
                        "`resynergy monitor` on the same flows. / 与命令行 resynergy monitor 结果一致。",
            responses=COMMON_RESPONSES)
def monitor(db: DB, actor: CurrentActor):
    return actuals.monitor(db, actor)
