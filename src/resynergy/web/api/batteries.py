"""Retired traction batteries (issue 14): unit lookup by GB/T 34014 code, lifecycle events
(pushed as JSON or imported from a file; overdue uploads), test records with their triage
decision, firm compliance and the retirement forecast.

Bad input never reaches the core unchecked: a code that does not parse is a 422 whose issues
say the position, field, value and what was expected (zh and en); an event file is all or
nothing, like a registry import.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from resynergy.services import access, batteries
from resynergy.web.api.imports import read_capped
from resynergy.web.api.rows import row_in
from resynergy.web.deps import DB, CurrentActor
from resynergy.web.errors import COMMON_RESPONSES, NOT_FOUND, TOO_LARGE

router = APIRouter(tags=["batteries"])
Lang = Annotated[Literal["zh", "en"], Query(description="语言 / language")]
CODE = "T01PE01A10000193F0000001"
EventIn = row_in("battery_events")
TestIn = row_in("battery_tests")


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"events": [{
        "unit_code": CODE, "event": "collected", "time": "2024-02-20", "actor": "91130800MA0A00000W",
        "actor_role": "collection_point", "place": "130800", "mass_kg": 420.0}]}]})
    events: list[EventIn] = Field(..., min_length=1, max_length=5000,  # type: ignore[valid-type]
                                  description="事件（按发送顺序编号为第 1、2… 行）/ events, numbered 1, 2, … as sent")


class Written(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"events": 22, "units": 5, "links": 3}]})
    events: int
    units: int
    links: int


class EventOut(BaseModel):
    id: int
    unit_code: str
    event: str
    event_text: str
    time: str
    actor: str
    actor_role: str
    place: str
    province: str
    vin: str
    certificate: str
    counterparty: str
    new_code: str
    parent_code: str
    mass_kg: float | None
    uploaded_on: str | None
    deadline: str | None = Field(description="上传期限（工作日，国务院放假安排）/ upload deadline in working days")
    deadline_estimated: bool = Field(description="期限跨入放假安排尚未发布的年份，该部分按周一至周五估算 / the deadline "
                                    "runs into a year whose holiday notice is not yet out; those days are counted Monday–Friday")
    working_days: int | None
    status: Literal["on_time", "late", "overdue", "pending", "no_rule"]
    days_late: int | None
    rules: str
    note: str


class TreeNode(BaseModel):
    code: str
    level: str
    children: list[TreeNode]


class DecisionOut(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": 1, "unit_code": CODE, "outcome": "recycle", "outcome_text": "再生利用", "chemistry": "NCM",
        "reason": "健康状态低于 60 %：送再生利用", "rules": ["soh-recycle"], "tags": ["U"], "uses": [], "warnings": []}]})
    id: int | None = None
    unit_code: str
    outcome: Literal["reuse", "repurpose", "recycle"]
    outcome_text: str
    chemistry: str
    reason: str
    rules: list[str]
    tags: list[str]
    uses: list[str]
    warnings: list[str]


class TestOut(BaseModel):
    id: int
    unit_code: str
    tested_on: str
    lab: str
    soh: float | None
    resistance_ratio: float | None
    outcome: str
    decision: dict[str, Any]
    created_at: str


class UnitOut(BaseModel):
    unit: dict[str, Any] = Field(description="编码各字段 / the code's fields")
    fields: list[dict[str, str]] = Field(description="字段名称、位置和值 / each field's label, positions and value")
    province: str
    ancestors: list[str]
    tree: TreeNode
    recoded_from: list[str]
    recoded_to: list[str]
    events: list[EventOut]
    tests: list[TestOut]


class ForecastRow(BaseModel):
    province: str
    province_name: str
    chemistry: str
    year: int
    inflow_t: float
    retired_t: float
    stock_t: float
    p05_t: float
    p50_t: float
    p95_t: float


class ForecastOut(BaseModel):
    rows: list[ForecastRow]
    summary: list[str]
    draws: int
    seed: int
    provinces: list[dict[str, str]]
    chemistries: list[str]
    source: str


@router.get("/batteries", response_model=UnitOut, summary="Battery unit by code: tree and history / 电池履历",
            responses={**COMMON_RESPONSES, **NOT_FOUND})
def unit(db: DB, actor: CurrentActor,
         code: Annotated[str, Query(min_length=1, max_length=64, description=f"GB/T 34014 编码 / code, e.g. {CODE}")],
         lang: Lang = "zh"):
    return batteries.unit(db, actor, code, lang)


@router.post("/battery-events", response_model=Written, status_code=201,
             summary="Push lifecycle events (JSON) / 推送电池事件", responses=COMMON_RESPONSES)
def push(db: DB, actor: CurrentActor, body: Annotated[EventsIn, Body()]):
    return batteries.push_events(db, actor, [e.model_dump() for e in body.events])


@router.post("/battery-events/import", response_model=Written, status_code=201,
             summary="Import an event file (CSV or XLSX), all or nothing / 导入电池事件文件",
             responses={**COMMON_RESPONSES, **TOO_LARGE})
async def import_file(request: Request, db: DB, actor: CurrentActor,
                      file: Annotated[UploadFile, File(description=".csv or .xlsx with the battery_events columns")]):
    access.require(actor, access.BATTERY_WRITERS, "import battery events")
    data = await read_capped(request, file)
    return await run_in_threadpool(batteries.import_events, db, actor, data, file.filename or "upload")


@router.get("/battery-events/overdue", response_model=list[EventOut],
            summary="Overdue and late uploads / 逾期未上传和迟报事件", responses=COMMON_RESPONSES)
def overdue(db: DB, actor: CurrentActor, lang: Lang = "zh",
            as_of: Annotated[date | None, Query(description="截至日期 / as of (default today)")] = None):
    return batteries.overdue(db, actor, as_of, lang)


@router.post("/battery-tests", response_model=DecisionOut, status_code=201,
             summary="Record a test; get the triage decision / 录入检测结果并分拣",
             responses={**COMMON_RESPONSES, **NOT_FOUND})
def record_test(db: DB, actor: CurrentActor, body: Annotated[TestIn, Body()], lang: Lang = "zh"):  # type: ignore[valid-type]
    return batteries.record_test(db, actor, body.model_dump(), lang=lang)


@router.get("/battery-tests", response_model=list[TestOut], summary="Triage results / 分拣结果",
            responses=COMMON_RESPONSES)
def tests(db: DB, actor: CurrentActor, lang: Lang = "zh"):
    return batteries.triage_results(db, actor, lang)


@router.get("/battery-compliance", summary="Firm compliance per year / 企业规范条件符合情况",
            responses=COMMON_RESPONSES)
def compliance(db: DB, actor: CurrentActor) -> dict[str, list[dict[str, Any]]]:
    return batteries.compliance(db, actor)


@router.get("/battery-forecast", response_model=ForecastOut,
            summary="Retirement forecast by province, chemistry and year, with bands / 退役量预测",
            responses=COMMON_RESPONSES)
def forecast(province: Annotated[str, Query(pattern=r"^(\d{6})?$", description="省级代码 / province, e.g. 130000")] = "",
             chemistry: Annotated[Literal["", "LFP", "NCM"], Query()] = "",
             year: Annotated[int | None, Query(ge=2015, le=2035)] = None, lang: Lang = "zh"):
    return batteries.forecast_rows(province, chemistry, year, lang=lang)


@router.get("/battery-forecast/figure", summary="Retirement forecast chart (plotly JSON) / 退役量预测图",
            responses={**COMMON_RESPONSES, 200: {"content": {"application/json": {}}, "description": "plotly figure"}})
def forecast_figure(lang: Lang = "zh") -> dict[str, Any]:
    return batteries.forecast_figure(lang)


class MatchOut(BaseModel):
    unit_code: str
    outcome: str
    route: Literal["second_life", "recycling"]
    from_site: str
    to_site: str
    to_name: str
    mode: str
    km: float | None
    cost_per_t: float | None = Field(description="元/吨（道路运输，危险货物）/ yuan per t by road")
    mass_t: float
    delivered_cost_yuan: float | None
    reason: str


@router.get("/battery-matches", response_model=list[MatchOut],
            summary="Triaged units matched to second-life demand or recyclers / 梯次利用与再生利用去向匹配",
            responses=COMMON_RESPONSES)
def matches(db: DB, actor: CurrentActor, lang: Lang = "zh"):
    return batteries.matches(db, actor, lang)


class ApplyIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, json_schema_extra={
        "examples": [{"scenario_id": 1, "years": [2030, 2035], "collection_rate": 0.8}]})
    scenario_id: int = Field(..., ge=1, le=2**31 - 1)
    years: list[Annotated[int, Field(ge=2015, le=2035)]] = Field(default_factory=list, max_length=30,
                                                                 description="空 = 情景全部年份 / empty: the scenario's years")
    collection_rate: float = Field(1.0, gt=0, le=1, description="回收率 / share of retired mass collected")


class ApplyOut(BaseModel):
    scenario_id: int
    name: str
    version: int
    retired_battery_rows: int


@router.post("/battery-forecast/apply", response_model=ApplyOut, status_code=201,
             summary="A scenario version with the forecast as retired-battery supplies / 以预测更新情景的退役电池供给",
             responses={**COMMON_RESPONSES, **NOT_FOUND})
def apply_forecast(db: DB, actor: CurrentActor, body: Annotated[ApplyIn, Body()]):
    snap, rows = batteries.apply_forecast(db, actor, body.scenario_id, body.years, body.collection_rate)
    return {"scenario_id": snap.id, "name": snap.name, "version": snap.version, "retired_battery_rows": rows}
