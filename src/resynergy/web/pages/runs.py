"""Scenario and run pages: snapshot, submit, watch progress, results, publish, compare."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from resynergy.services import access, plans, runs, scenarios
from resynergy.services.registry import Rejected
from resynergy.web.api.runs import RunOptions
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import render

router = APIRouter()
RUN_FIGURES = ("map", "sankey", "attainment", "trajectory", "costs", "co2")


def _index(request, db, actor, msg="", issues=None, status=200):
    snaps, _ = scenarios.listing(db, actor, limit=50)
    items, _ = runs.listing(db, actor, limit=50)
    return render(request, actor, "runs.html", status=status, scenarios=snaps, runs=items, msg=msg,
                  issues=issues or [], can_edit=actor.role in access.EDITORS,
                  succeeded=[r for r in items if r.state == "succeeded"])


@router.get("/runs")
def index(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    access.require(actor, access.STAFF, "runs")
    return _index(request, db, actor, msg)


@router.post("/scenarios")
def snapshot(request: Request, db: DB, actor: CurrentActor, name: Annotated[str, Form(min_length=1, max_length=128)],
             description: Annotated[str, Form(max_length=2000)] = ""):
    try:
        snap, created = scenarios.create(db, actor, name.strip(), description)
    except Rejected as err:
        return _index(request, db, actor, issues=err.issues, status=422)
    return RedirectResponse(f"/runs?msg={'snapshot_created' if created else 'snapshot_unchanged'}&scenario={snap.id}",
                            status_code=303)


def _years(text: str) -> list[int] | None:
    years = [int(y) for y in text.replace("，", ",").split(",") if y.strip()]
    return years or None


@router.post("/runs")
def submit(request: Request, db: DB, actor: CurrentActor, scenario_id: Annotated[int, Form(ge=1)],
           objective: Annotated[str, Form()] = "cost", years: Annotated[str, Form(pattern=r"^[\d,， ]*$")] = "",
           carbon_price: Annotated[str, Form(pattern=r"^(\d+(\.\d*)?)?$")] = "",
           time_limit_s: Annotated[float, Form(gt=0, le=3600)] = 60.0, title: Annotated[str, Form(max_length=128)] = ""):
    try:
        options = RunOptions.model_validate({
            "objective": objective, "years": _years(years), "time_limit_s": time_limit_s,
            "policies": {"carbon_price": float(carbon_price)} if carbon_price else {}}, strict=False)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from None
    try:
        run = runs.submit(db, actor, scenario_id, options.model_dump(), title, settings=platform(request).settings)
    except Rejected as err:  # options that do not fit the scenario, or a full queue
        return _index(request, db, actor, issues=err.issues, status=err.status)
    if platform(request).supervisor is not None:
        platform(request).supervisor.wake()
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs/compare")
def compare(request: Request, db: DB, actor: CurrentActor, a: Annotated[int, Query(ge=1)],
            b: Annotated[int, Query(ge=1)]):
    ra, rb = runs.get(db, actor, a), runs.get(db, actor, b)
    if ra.state != "succeeded" or rb.state != "succeeded":
        return _index(request, db, actor, msg="nothing_to_compare", status=409)
    cmp = plans.compare(runs.result(db, ra, "summary").data, runs.result(db, rb, "summary").data)
    return render(request, actor, "compare.html", a=ra, b=rb, cmp=cmp)


@router.get("/runs/{run_id}")
def detail(request: Request, db: DB, actor: CurrentActor, run_id: int):
    run = runs.get(db, actor, run_id)
    summary = runs.result(db, run, "summary").data if run.state == "succeeded" else None
    figures = [(n, f"/api/v1/runs/{run.id}/figures/{n}") for n in RUN_FIGURES] if summary else []
    # a province-scoped planner reads the published region-wide plan, but may not change it
    in_scope = access.can_read_scope(actor, run.scenario.province)
    return render(request, actor, "run.html", run=run, summary=summary, figures=figures,
                  can_edit=actor.role in access.EDITORS and in_scope, in_scope=in_scope,
                  scope_name=runs.scope_label(db, run.scenario.province))


@router.post("/runs/{run_id}/cancel")
def cancel(request: Request, db: DB, actor: CurrentActor, run_id: int):
    try:
        runs.cancel(db, actor, run_id)
    except Rejected:
        pass  # finished meanwhile: the page shows the final state
    if platform(request).supervisor is not None:
        platform(request).supervisor.wake()
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/publish")
def publish(db: DB, actor: CurrentActor, run_id: int, published: Annotated[str, Form()] = "true"):
    runs.publish(db, actor, run_id, published == "true")
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
