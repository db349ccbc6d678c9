"""The dashboard: the published plan (or, for staff, the latest run) — map, Sankey, targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from resynergy import datasets
from resynergy.services import access, imports, loads, plans, runs
from resynergy.services.registry import NotFound, counts
from resynergy.states import RunState
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import render

router = APIRouter()
STAFF_FIGURES = ("map", "sankey", "attainment", "trajectory")
PUBLIC_FIGURES = ("sankey", "attainment", "trajectory")


def _latest_visible(db, actor) -> runs.Run | None:
    if actor.role not in access.STAFF or not actor.signed_in:
        return None
    items, _ = runs.listing(db, actor, limit=1, state=RunState.SUCCEEDED)
    return items[0] if items else None


@router.get("/")
def dashboard(request: Request, db: DB, actor: CurrentActor, msg: str = "",
              scope: Annotated[str, Query(pattern=r"^(\d{6})?$")] = ""):
    staff = actor.signed_in and actor.role in access.STAFF
    run = runs.latest_published(db, scope)
    which = "published_plan"
    if run is None and staff and not scope:
        run, which = _latest_visible(db, actor), "latest_run"
    summary = runs.result(db, run, plans.OVERVIEW).data if run is not None else None
    readable = run is not None and staff and (
        access.can_read_scope(actor, run.scenario.province) or (run.published and run.scenario.province == ""))
    if readable:
        figures = [(name, f"/api/v1/runs/{run.id}/figures/{name}") for name in STAFF_FIGURES]
    elif run is not None and run.published:
        q = f"?province={scope}" if scope else ""
        figures = [(name, f"/api/v1/public/figures/{name}{q}") for name in PUBLIC_FIGURES]
    else:
        figures = []
    scopes = [{"scope": r.scenario.province, "name": runs.scope_label(db, r.scenario.province)}
              for r in runs.published_plans(db)]
    registry_rows = sum(counts(db, actor).values()) if actor.signed_in and actor.role != "public" else None
    return render(request, actor, "dashboard.html", run=run, which=which, summary=summary, figures=figures,
                  staff=readable, registry_rows=registry_rows, builtins=datasets.names(),
                  can_load=actor.role in access.EDITORS, msg=msg, scopes=scopes, scope=scope,
                  scope_name=runs.scope_label(db, run.scenario.province) if run is not None else None,
                  # a province-scoped reader: its own province's targets (the provincial breakdown)
                  mine=plans.province_view(summary, actor.province) if summary and staff and actor.province else None,
                  province_name=runs.scope_label(db, actor.province) if actor.province else None)


@router.post("/builtin")
def load_builtin(request: Request, db: DB, actor: CurrentActor,
                 name: Annotated[str, Form(max_length=64)] = "jjj-2022"):
    """Queue the load (a background job) and show its progress."""
    access.require(actor, access.EDITORS, "load built-in dataset")
    if name not in datasets.names():
        return RedirectResponse("/?msg=not_found", status_code=303)
    rec = loads.queue_builtin(db, actor, name)
    if platform(request).supervisor is not None:
        platform(request).supervisor.wake()
    return RedirectResponse(f"/builtin/{rec.id}", status_code=303)


@router.get("/builtin/{import_id}")
def load_progress(request: Request, db: DB, actor: CurrentActor, import_id: Annotated[int, Path(ge=1, le=2**31 - 1)]):
    """A background load: progress while it runs (the page polls), then what it wrote or why not."""
    access.require(actor, access.EDITORS, "load built-in dataset")
    rec = imports.get(db, actor, import_id)
    if not rec.filename.startswith(loads.PREFIX):
        raise NotFound(f"built-in load {import_id}")
    return render(request, actor, "load.html", rec=rec, dataset=rec.filename[len(loads.PREFIX):])


