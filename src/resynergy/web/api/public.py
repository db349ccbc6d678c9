"""What anyone may see without signing in: aggregates of the latest published plan."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from resynergy.services import plans, runs
from resynergy.web.deps import DB
from resynergy.web.errors import COMMON_RESPONSES, NOT_FOUND, ApiError

router = APIRouter(tags=["public"])


class PublishedPlan(BaseModel):
    run_id: int
    title: str
    finished_at: datetime | None
    status: str
    years: list[int]
    totals: dict[str, float | None]
    headline: list[dict[str, Any]]
    targets: list[dict[str, Any]]


def _published(db):
    run = runs.latest_published(db)
    if run is None:
        raise ApiError(404, "not_published", "尚未发布规划", "no plan has been published yet")
    return run


@router.get("/public/plan", response_model=PublishedPlan, responses={**COMMON_RESPONSES, **NOT_FOUND},
            summary="The published plan's aggregates / 已发布规划（汇总）")
def published_plan(db: DB):
    run = _published(db)
    s = runs.result(db, run, "summary").data
    return {"run_id": run.id, "title": run.title, "finished_at": run.finished_at, "status": s.get("status", ""),
            "years": s.get("years", []), "totals": s.get("totals", {}), "headline": s.get("headline", []),
            "targets": s.get("targets", [])}


@router.get("/public/figures/{name}", responses={
    **COMMON_RESPONSES, **NOT_FOUND, 200: {"content": {"application/json": {}}, "description": "plotly figure"}},
            summary="An aggregate figure of the published plan (plotly JSON) / 已发布规划图表")
def published_figure(db: DB, name: Annotated[Literal[plans.PUBLIC_FIGURES], Path()],  # type: ignore[valid-type]
                     lang: Literal["zh", "en"] = "zh"):
    run = _published(db)
    return Response(runs.result(db, run, "figures").data[name][lang], media_type="application/json")
