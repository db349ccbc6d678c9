"""Scenarios (registry snapshots) and planning runs: submit, progress, cancel, publish, results,
report, log, compare."""

from __future__ import annotations

import gzip
import math
import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from resynergy import schema
from resynergy.schema import REGISTRY_TABLES
from resynergy.services import plans, runs, scenarios
from resynergy.states import RunState
from resynergy.web import i18n
from resynergy.web.deps import DB, CurrentActor, accepts_gzip, platform
from resynergy.web.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND, ApiError

router = APIRouter()
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
PolicyKey = Literal[tuple(c for c in schema.columns("policy") if c.name == "key")[0].choices]  # type: ignore[misc]
ResultName = Literal[plans.PLAN_TABLES + (plans.OVERVIEW,)]  # type: ignore[valid-type]
FigureName = Literal["map", "sankey", "attainment", "trajectory", "costs", "co2"]


class ScenarioIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        "examples": [{"name": "jjj-2022 baseline", "description": "登记库 2022 年基线"}]})
    name: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=2000)


class ScenarioOut(BaseModel):
    id: int
    name: str
    version: int
    description: str
    province: str
    digest: str
    created_at: datetime
    created_by: int | None
    rows: dict[str, int]
    created: bool = Field(True, description="False when the registry was unchanged and the latest version is returned")


class ScenarioPage(BaseModel):
    items: list[ScenarioOut]
    total: int
    limit: int
    offset: int


class RunOptions(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [{
        "objective": "cost", "years": [2022], "policies": {"carbon_price": 50.0}, "time_limit_s": 60.0}]})
    objective: Literal["cost", "co2", "utilization"] = "cost"
    years: list[Annotated[int, Field(ge=2000, le=2100)]] | None = Field(
        None, max_length=50, description="规划年份（不重复，须为情景中的年份）/ years to plan: distinct, in the scenario")
    policies: dict[PolicyKey, Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="情景政策参数覆盖 / policy overrides for this run")
    time_limit_s: float = Field(60.0, gt=0, le=3600, allow_inf_nan=False)
    mip_gap: float = Field(0.01, ge=0, lt=1, allow_inf_nan=False)
    from_actuals: bool = Field(False, description="按已登记的实际流向固定已过去的年份 / fix past years to the stored actual flows")
    actuals_through: int | None = Field(None, ge=2000, le=2100, description="按实际固定的最后一年（默认：最后有记录的年份）/ last year fixed")


class RunIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": [{
        "scenario_id": 1, "title": "2022 least cost", "options": {"objective": "cost"}}]})
    scenario_id: int = Field(ge=1, le=2**31 - 1)
    title: str = Field("", max_length=128)
    options: RunOptions = Field(default_factory=RunOptions)


class RunOut(BaseModel):
    id: int
    scenario_id: int
    scenario_name: str
    scenario_version: int
    title: str
    options: dict[str, Any]
    state: RunState
    progress: float
    stage: str
    stage_zh: str = Field(description="the stage in words / 阶段")
    stage_en: str
    scope: str = Field(description="'' for a region-wide plan, else the province code / 范围")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    plan_status: str
    objective: float | None
    error: str
    published: bool


class RunPage(BaseModel):
    items: list[RunOut]
    total: int
    limit: int
    offset: int


class ResultPage(BaseModel):
    name: str
    columns: list[dict[str, str]] = Field(default_factory=list, description=(
        "the table's declared columns in order: name, unit, label_zh, label_en, description_zh, "
        "description / 各列名称、单位、标签和说明"))
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class ComparisonRow(BaseModel):
    key: str = Field(description="status, objective, cost.*, emission.*, indicator.<id>.<year>, target.<id>")
    kind: str
    unit: str
    name: str
    a: float | str | None
    b: float | str | None
    a_text: str
    b_text: str
    delta: float | None = Field(description="B − A (numbers only)")
    delta_text: str


class Comparison(BaseModel):
    a: RunOut
    b: RunOut
    rows: list[ComparisonRow]


def scenario_out(snap, created: bool = True) -> dict:
    return {"id": snap.id, "name": snap.name, "version": snap.version, "description": snap.description,
            "province": snap.province, "digest": snap.digest, "created_at": snap.created_at,
            "created_by": snap.created_by, "rows": snap.rows, "created": created}


def run_out(run) -> dict:
    objective = run.objective if run.objective is None or math.isfinite(run.objective) else None
    return {"id": run.id, "scenario_id": run.scenario_id, "scenario_name": run.scenario.name,
            "scenario_version": run.scenario.version, "title": run.title, "options": run.options,
            "state": run.state, "progress": run.progress, "stage": run.stage, "stage_zh": i18n.stage(run.stage, "zh"),
            "stage_en": i18n.stage(run.stage, "en"), "scope": run.scenario.province, "created_at": run.created_at,
            "started_at": run.started_at, "finished_at": run.finished_at, "plan_status": run.plan_status,
            "objective": objective, "error": run.error, "published": run.published}


# The report is one self-contained file (plotly.js and its data inlined): inline scripts may run,
# nothing may be fetched, it may not be framed.
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
              "font-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get("/scenarios", response_model=ScenarioPage, tags=["scenarios"], responses=COMMON_RESPONSES,
            summary="Scenario snapshots / 情景")
def list_scenarios(db: DB, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0):
    items, total = scenarios.listing(db, actor, limit, offset)
    return {"items": [scenario_out(s) for s in items], "total": total, "limit": limit, "offset": offset}


@router.post("/scenarios", response_model=ScenarioOut, status_code=201, tags=["scenarios"],
             responses=COMMON_RESPONSES, summary="Snapshot the registry as a new scenario version / 保存情景")
def create_scenario(db: DB, actor: CurrentActor, body: Annotated[ScenarioIn, Body()]):
    snap, created = scenarios.create(db, actor, body.name, body.description)
    return scenario_out(snap, created)


@router.get("/scenarios/{scenario_id}", response_model=ScenarioOut, tags=["scenarios"],
            responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="One scenario / 情景")
def get_scenario(db: DB, actor: CurrentActor, scenario_id: Id):
    return scenario_out(scenarios.get(db, actor, scenario_id))


@router.get("/scenarios/{scenario_id}/tables/{table}", tags=["scenarios"],
            response_model=ResultPage, responses={**COMMON_RESPONSES, **NOT_FOUND},
            summary="One table of a scenario snapshot / 情景数据表")
def scenario_table(db: DB, actor: CurrentActor, scenario_id: Id,
                   table: Literal[REGISTRY_TABLES],  # type: ignore[valid-type]
                   limit: Limit = 100, offset: Offset = 0):
    rows = scenarios.get(db, actor, scenario_id).tables.get(table, [])
    return {"name": table, "items": rows[offset:offset + limit], "total": len(rows), "limit": limit, "offset": offset}


@router.get("/scenarios/{scenario_id}/export.xlsx", tags=["scenarios"],
            responses={**COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {_XLSX: {}}, "description": "workbook"}},
            summary="The scenario as a workbook (plan it again with `resynergy plan FILE`) / 导出情景工作簿")
def scenario_workbook(db: DB, actor: CurrentActor, scenario_id: Id):
    snap = scenarios.get(db, actor, scenario_id)
    scenario = scenarios.to_scenario(snap.tables, snap.name)
    with tempfile.TemporaryDirectory() as tmp:
        data = scenario.save(FilePath(tmp) / "scenario.xlsx", format="xlsx").read_bytes()
    return Response(data, media_type=_XLSX,
                    headers={"Content-Disposition": f'attachment; filename="scenario-{snap.id}-v{snap.version}.xlsx"'})


@router.get("/runs", response_model=RunPage, tags=["runs"], responses=COMMON_RESPONSES,
            summary="Planning runs / 规划运行")
def list_runs(db: DB, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0,
              state: RunState | Literal[""] = ""):
    items, total = runs.listing(db, actor, limit, offset, state)
    return {"items": [run_out(r) for r in items], "total": total, "limit": limit, "offset": offset}


@router.post("/runs", response_model=RunOut, status_code=201, tags=["runs"],
             responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="Submit a run / 提交运行")
def submit_run(request: Request, db: DB, actor: CurrentActor, body: Annotated[RunIn, Body()]):
    run = runs.submit(db, actor, body.scenario_id, body.options.model_dump(), body.title,
                      settings=platform(request).settings)
    sup = platform(request).supervisor
    if sup is not None:
        sup.wake()
    return run_out(run)


@router.get("/runs/compare", response_model=Comparison, tags=["runs"],
            responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT}, summary="Compare two runs / 对比运行")
def compare_runs(db: DB, actor: CurrentActor, a: Annotated[int, Query(ge=1, le=2**31 - 1)],
                 b: Annotated[int, Query(ge=1, le=2**31 - 1)], lang: Annotated[Literal["zh", "en"], Query()] = "zh"):
    """Every quantity of both plans (costs, emissions, each indicator by year, each target's
    attainment) with B − A; names and texts in ``lang``."""
    ra, rb = runs.get(db, actor, a), runs.get(db, actor, b)
    if ra.state != RunState.SUCCEEDED or rb.state != RunState.SUCCEEDED:
        raise ApiError(409, "not_succeeded", "只能对比成功完成的运行", "only succeeded runs can be compared")
    rows = plans.compare(runs.result(db, ra, plans.OVERVIEW).data, runs.result(db, rb, plans.OVERVIEW).data, lang)
    return {"a": run_out(ra), "b": run_out(rb), "rows": rows}


@router.get("/runs/{run_id}", response_model=RunOut, tags=["runs"], responses={**COMMON_RESPONSES, **NOT_FOUND},
            summary="One run (state and progress) / 运行状态")
def get_run(db: DB, actor: CurrentActor, run_id: Id):
    return run_out(runs.get(db, actor, run_id))


@router.post("/runs/{run_id}/cancel", response_model=RunOut, tags=["runs"],
             responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT}, summary="Cancel a run / 取消运行")
def cancel_run(request: Request, db: DB, actor: CurrentActor, run_id: Id):
    run = runs.cancel(db, actor, run_id)
    sup = platform(request).supervisor
    if sup is not None:
        sup.wake()
    return run_out(run)


class PublishIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"examples": [{"published": True}]})
    published: bool = True


@router.post("/runs/{run_id}/publish", response_model=RunOut, tags=["runs"],
             responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT}, summary="Publish a plan / 发布规划")
def publish_run(db: DB, actor: CurrentActor, run_id: Id, body: Annotated[PublishIn, Body()]):
    return run_out(runs.publish(db, actor, run_id, body.published))


@router.get("/runs/{run_id}/results/{name}", response_model=ResultPage, tags=["runs"],
            responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="One result table / 结果表")
def run_result(db: DB, actor: CurrentActor, run_id: Id, name: ResultName, limit: Limit = 100,
               offset: Offset = 0):
    items, total = runs.result_page(db, runs.get(db, actor, run_id), name, limit, offset)
    return {"name": name, "columns": plans.result_columns(name), "items": items, "total": total,
            "limit": limit, "offset": offset}


@router.get("/runs/{run_id}/figures/{name}", tags=["runs"], responses={
    **COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {"application/json": {}}, "description": "plotly figure"}},
            summary="A figure of the run's plan (plotly JSON) / 图表")
def run_figure(db: DB, actor: CurrentActor, run_id: Id, name: FigureName,
               lang: Literal["zh", "en"] = "zh"):
    figures = runs.result(db, runs.get(db, actor, run_id), "figures").data
    return Response(figures[name][lang], media_type="application/json")


@router.get("/runs/{run_id}/report", tags=["runs"], responses={
    **COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {"text/html": {}}, "description": "report.html"}},
            summary="The run's report (self-contained HTML) / 报告")
def run_report(request: Request, db: DB, actor: CurrentActor, run_id: Id):
    blob = runs.result(db, runs.get(db, actor, run_id), "report").blob or b""
    headers = {"Content-Disposition": f'inline; filename="report-{run_id}.html"',
               "Content-Security-Policy": REPORT_CSP, "Vary": "Accept-Encoding"}
    if accepts_gzip(request):  # the report is stored gzip-compressed: sent as it is
        return Response(blob, media_type="text/html; charset=utf-8", headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(blob), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/runs/{run_id}/log", tags=["runs"], responses={
    **COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {"text/plain": {}}, "description": "log"}},
            summary="The run's log / 运行日志")
def run_log(db: DB, actor: CurrentActor, run_id: Id):
    """The solver's log and the plain error; administrators also get a failed worker's traceback."""
    run = runs.get(db, actor, run_id)
    text = run.log + ("\n" + run.error if run.error else "")
    if actor.role == "admin" and run.trace:
        text += "\n\n--- 技术细节（仅管理员可见）/ traceback (administrators only) ---\n" + run.trace
    return Response(text, media_type="text/plain; charset=utf-8")


@router.get("/runs/{run_id}/inputs", tags=["runs"], responses={**COMMON_RESPONSES, **NOT_FOUND},
            response_model=dict[str, Any], summary="What the run was given (scenario and options) / 运行输入")
def run_inputs(db: DB, actor: CurrentActor, run_id: Id):
    run = runs.get(db, actor, run_id)
    return {"scenario": scenario_out(run.scenario), "options": run.options, "code_version": run.code_version,
            "scenario_digest": run.scenario.digest}

