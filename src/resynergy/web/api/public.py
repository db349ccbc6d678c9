"""What anyone may see without signing in: aggregates of the latest published plan of each scope
(the whole region, or one province), each labelled with what it covers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from resynergy.services import plans, runs
from resynergy.web.deps import DB
from resynergy.web.errors import COMMON_RESPONSES, NOT_FOUND, ApiError

router = APIRouter(tags=["public"])


class PublishedPlan(BaseModel):
    run_id: int
    title: str
    scope: str = Field(description="省级行政区划代码，空为全区域 / province code, '' for the whole region")
    scope_name: dict[str, str] = Field(description="规划范围名称 / what the plan covers (zh, en)")
    finished_at: datetime | None
    status: str
    years: list[int]
    totals: dict[str, float | None]
    headline: list[dict[str, Any]]
    targets: list[dict[str, Any]]


Scope = Annotated[str, Query(pattern=r"^(\d{6})?$", description="省级代码，空为全区域 / province code, '' = whole region")]


class PublishedScope(BaseModel):
    run_id: int
    title: str
    scope: str
    scope_name: dict[str, str]
    finished_at: datetime | None


def _published(db, province: str = ""):
    run = runs.latest_published(db, province)
    if run is None:
        raise ApiError(404, "not_published", "该范围尚未发布规划", "no plan has been published for this scope yet")
    return run


@router.get("/public/plans", response_model=list[PublishedScope], responses=COMMON_RESPONSES,
            summary="The latest published plan of each scope / 各范围已发布规划")
def published_scopes(db: DB):
    return [{"run_id": r.id, "title": r.title, "scope": r.scenario.province,
             "scope_name": runs.scope_label(db, r.scenario.province), "finished_at": r.finished_at}
            for r in runs.published_plans(db)]


@router.get("/public/plan", response_model=PublishedPlan, responses={**COMMON_RESPONSES, **NOT_FOUND},
            summary="A published plan's aggregates (the whole region by default) / 已发布规划（汇总）")
def published_plan(db: DB, province: Scope = ""):
    run = _published(db, province)
    s = runs.result(db, run, plans.OVERVIEW).data
    return {"run_id": run.id, "title": run.title, "scope": run.scenario.province,
            "scope_name": runs.scope_label(db, run.scenario.province), "finished_at": run.finished_at,
            "status": s.get("status", ""), "years": s.get("years", []), "totals": s.get("totals", {}),
            "headline": s.get("headline", []), "targets": s.get("targets", [])}


@router.get("/public/figures/{name}", responses={
    **COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {"application/json": {}}, "description": "plotly figure"}},
            summary="An aggregate figure of the published plan (plotly JSON) / 已发布规划图表")
def published_figure(db: DB, name: Annotated[Literal[plans.PUBLIC_FIGURES], Path()],  # type: ignore[valid-type]
                     lang: Literal["zh", "en"] = "zh", province: Scope = ""):
    run = _published(db, province)
    return Response(runs.result(db, run, "figures").data[name][lang], media_type="application/json")
