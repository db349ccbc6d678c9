"""Battery pages (issue 14): a unit's history (scan or type a code → fields, tree, events with
deadline status, tests; record a test → triage), overdue uploads, triage results, firm
compliance and the retirement forecast chart. Same rules as the API: the services decide who
sees what."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse

from resynergy.services import access, batteries
from resynergy.services.registry import NotFound, Rejected
from resynergy.web.api.imports import read_capped
from resynergy.web.deps import DB, CurrentActor
from resynergy.web.pages.templates import lang_of, render

router = APIRouter()
_FLAGS = ("swelling", "leakage", "insulation_fault", "thermal_event")


def _reader(actor) -> None:
    if not actor.signed_in or actor.role not in access.BATTERY_READERS:
        raise access.Denied(actor, "read batteries")


@router.get("/batteries")
def unit_page(request: Request, db: DB, actor: CurrentActor,
              code: Annotated[str, Query(max_length=64)] = "", msg: str = ""):
    _reader(actor)
    lang = lang_of(request)
    found, issues, status = None, [], 200
    if code:
        try:
            found = batteries.unit(db, actor, code, lang)
        except Rejected as err:
            issues, status = err.issues, 422
        except NotFound:
            status = 404
    return render(request, actor, "batteries.html", status=status, view="unit", code=code, found=found,
                  issues=issues, msg=msg, can_write=actor.role in access.BATTERY_WRITERS, flags=_FLAGS)


@router.post("/batteries/test")
def record_test(request: Request, db: DB, actor: CurrentActor,
                unit_code: Annotated[str, Form(max_length=64)],
                soh: Annotated[str, Form(max_length=20)] = "",
                resistance_ratio: Annotated[str, Form(max_length=20)] = "",
                tested_on: Annotated[str, Form(max_length=20)] = "",
                lab: Annotated[str, Form(max_length=200)] = "",
                swelling: Annotated[str, Form(max_length=5)] = "", leakage: Annotated[str, Form(max_length=5)] = "",
                insulation_fault: Annotated[str, Form(max_length=5)] = "",
                thermal_event: Annotated[str, Form(max_length=5)] = ""):
    """A test from the unit page: form text goes through the same checks as a file row."""
    access.require(actor, access.BATTERY_WRITERS, "record battery test")
    record = {"unit_code": unit_code, "soh": soh, "resistance_ratio": resistance_ratio, "tested_on": tested_on,
              "lab": lab, **{f: "true" if v else "false" for f, v in zip(
                  _FLAGS, (swelling, leakage, insulation_fault, thermal_event), strict=True)}}
    try:
        done = batteries.record_test(db, actor, record, source="表单 form", lang=lang_of(request))
    except Rejected as err:
        return render(request, actor, "batteries.html", status=422, view="unit", code=unit_code, found=None,
                      issues=err.issues, msg="", can_write=True, flags=_FLAGS)
    # the parsed code (capitals and digits only), never the form's text, goes into the address
    return RedirectResponse(f"/batteries?code={done['unit_code']}&msg=test_recorded#tests", status_code=303)


@router.post("/batteries/import")
async def import_events(request: Request, db: DB, actor: CurrentActor, file: Annotated[UploadFile, File()]):
    access.require(actor, access.BATTERY_WRITERS, "import battery events")
    data = await read_capped(request, file)
    try:
        batteries.import_events(db, actor, data, file.filename or "upload")
    except Rejected as err:
        return render(request, actor, "batteries.html", status=422, view="unit", code="", found=None,
                      issues=err.issues, msg="", can_write=True, flags=_FLAGS)
    return RedirectResponse("/batteries?msg=events_imported", status_code=303)


@router.get("/batteries/overdue")
def overdue_page(request: Request, db: DB, actor: CurrentActor):
    _reader(actor)
    return render(request, actor, "batteries.html", view="overdue",
                  rows=batteries.overdue(db, actor, lang=lang_of(request)))


@router.get("/batteries/triage")
def triage_page(request: Request, db: DB, actor: CurrentActor):
    _reader(actor)
    lang = lang_of(request)
    return render(request, actor, "batteries.html", view="triage", rows=batteries.triage_results(db, actor, lang),
                  matches=batteries.matches(db, actor, lang))


@router.get("/batteries/compliance")
def compliance_page(request: Request, db: DB, actor: CurrentActor):
    _reader(actor)
    return render(request, actor, "batteries.html", view="compliance", tables=batteries.compliance(db, actor))


@router.get("/batteries/forecast")
def forecast_page(request: Request, db: DB, actor: CurrentActor,
                  year: Annotated[int, Query(ge=2015, le=2035)] = 2030, msg: str = ""):
    """Open to everyone: aggregates computed from public statistics and stated estimates.
    Editors also get the form that writes the forecast into a scenario version."""
    lang = lang_of(request)
    data = batteries.forecast_rows(year=year, lang=lang)
    editor = actor.signed_in and actor.role in access.EDITORS
    return render(request, actor, "batteries.html", view="forecast", year=year, forecast=data, msg=msg, editor=editor,
                  scenarios=batteries.scenario_choices(db, actor) if editor else [], issues=[])


@router.post("/batteries/forecast/apply")
def apply_forecast(request: Request, db: DB, actor: CurrentActor,
                   scenario_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
                   years: Annotated[str, Form(max_length=200, pattern=r"^[0-9,， ]*$")] = "",
                   collection_rate: Annotated[float, Form(gt=0, le=1)] = 1.0):
    access.require(actor, access.EDITORS, "apply battery forecast")
    wanted = [int(y) for y in years.replace("，", ",").split(",") if y.strip()]
    try:
        batteries.apply_forecast(db, actor, scenario_id, wanted, collection_rate)
    except Rejected as err:
        lang = lang_of(request)
        return render(request, actor, "batteries.html", status=422, view="forecast", year=2030,
                      forecast=batteries.forecast_rows(year=2030, lang=lang), msg="", editor=True,
                      scenarios=batteries.scenario_choices(db, actor), issues=err.issues)
    return RedirectResponse("/runs?msg=forecast_applied", status_code=303)
