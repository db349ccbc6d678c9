"""The monitor page: targets against actual flows (processed manifests, imports) by province,
material and year, with the projection and which targets are on track; for regulators and
planners (staff), in their province scope. Planners and administrators import flows here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from resynergy.services import access, actuals, registry
from resynergy.web.api.imports import read_capped
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import render

router = APIRouter()


def _page(request: Request, db, actor, status: int = 200, **extra):
    access.require(actor, access.STAFF, "monitor")
    mon = actuals.monitor(db, actor)
    flows, total = actuals.list_flows(db, actor, limit=50)
    names = {}
    for ref, codes in (("sites.id", {f[c] for f in flows for c in ("from_site", "to_site")}),
                       ("materials.code", {f["material"] for f in flows} | {t["material"] for t in mon["targets"]}),
                       ("regions.code", {t["region"] for t in mon["targets"]})):
        names[ref.split(".")[0]] = registry.ref_names(db, actor, ref, codes)
    return render(request, actor, "monitor.html", status=status, mon=mon, flows=flows, total=total,
                  names=names, can_import=actor.role in ("admin", "planner"), **extra)


@router.get("/monitor")
def monitor_page(request: Request, db: DB, actor: CurrentActor):
    return _page(request, db, actor)


@router.post("/monitor/import")
async def monitor_import(request: Request, db: DB, actor: CurrentActor, file: Annotated[UploadFile, File()]):
    access.require(actor, access.STAFF, "monitor")
    access.require(actor, ("admin", "planner"), "import actual flows")
    data = await read_capped(request, file)
    outcome = await run_in_threadpool(actuals.import_flows, db, actor, data, file.filename or "upload",
                                      platform(request).settings)
    return _page(request, db, actor, status=200 if outcome.record.accepted else 422,
                 result=outcome.record, issues=outcome.issues)
