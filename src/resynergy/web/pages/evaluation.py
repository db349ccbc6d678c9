"""Evaluation pages (#13): firms apply (ledger upload or from flows, products, evaluator,
evidence) and follow their status and eligibility; evaluators work their queue and review the
computed checks; departments see the filings and the regional tables (XLSX from the API); the
public sees the published list. Writes go through the same service as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from resynergy.services import evaluation
from resynergy.services.access import Denied
from resynergy.services.registry import Rejected
from resynergy.web.api.imports import read_capped
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import render

router = APIRouter()
Text = Annotated[str, Form(max_length=200)]


def _signed_in(actor) -> None:
    if not actor.signed_in or actor.role == "public":
        raise Denied(actor, "evaluations")


def _index(request: Request, db, actor, issues=None, status: int = 200, msg: str = ""):
    _signed_in(actor)
    items, total = evaluation.list_evaluations(db, actor, limit=200)
    queue, _ = evaluation.list_evaluations(db, actor, queue=True, limit=200)
    firm = actor.role in ("enterprise", "admin")
    ledgers = evaluation.list_ledgers(db, actor) if firm else []
    evaluators = evaluation.list_evaluators(db, actor)
    return render(request, actor, "evaluations.html", status=status, items=items, total=total, queue=queue,
                  ledgers=ledgers, evaluators=evaluators, firm=firm, issues=issues or [], msg=msg,
                  departments=actor.role in evaluation.DEPARTMENTS, listers=actor.role in evaluation.LISTERS)


@router.get("/evaluations")
def index(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    return _index(request, db, actor, msg=msg)


def _redo(request, db, actor, err: Rejected):
    db.rollback()
    return _index(request, db, actor, issues=err.issues, status=err.status)


@router.post("/evaluations/ledgers")
async def upload_ledger(request: Request, db: DB, actor: CurrentActor, file: Annotated[UploadFile, File()],
                        org_uscc: Annotated[str, Form(max_length=18)] = ""):
    _signed_in(actor)
    data = await read_capped(request, file)
    try:
        await run_in_threadpool(evaluation.upload_ledger, db, actor, data, file.filename or "", org_uscc,
                                platform(request).settings)
        db.commit()
    except Rejected as err:
        return _redo(request, db, actor, err)
    return RedirectResponse("/evaluations?msg=ledger_saved", status_code=303)


@router.post("/evaluations/ledgers/from-flows")
def ledger_from_flows(request: Request, db: DB, actor: CurrentActor,
                      org_uscc: Annotated[str, Form(max_length=18)] = ""):
    _signed_in(actor)
    try:
        evaluation.ledger_from_actual_flows(db, actor, org_uscc)
        db.commit()
    except Rejected as err:
        return _redo(request, db, actor, err)
    return RedirectResponse("/evaluations?msg=ledger_saved", status_code=303)


@router.post("/evaluations/evaluators")
def add_evaluator(request: Request, db: DB, actor: CurrentActor, username: Annotated[str, Form(max_length=64)],
                  province: Annotated[str, Form(max_length=6)], name: Text = ""):
    _signed_in(actor)
    try:
        evaluation.list_evaluator(db, actor, province=province.strip(), username=username.strip(), name=name.strip())
        db.commit()
    except Rejected as err:
        return _redo(request, db, actor, err)
    return RedirectResponse("/evaluations?msg=evaluator_listed", status_code=303)


def _ids(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _products(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").replace("|", ",").split(",") if p.strip()]


@router.post("/evaluations")
def create(request: Request, db: DB, actor: CurrentActor, period: Annotated[str, Form(max_length=16)],
           ledger_id: Annotated[str, Form(max_length=12)] = "", products: Annotated[str, Form(max_length=2000)] = "",
           evaluator_id: Annotated[str, Form(max_length=12)] = "", org_uscc: Annotated[str, Form(max_length=18)] = ""):
    _signed_in(actor)
    try:
        ev = evaluation.create(db, actor, {"org_uscc": org_uscc.strip(), "period": period, "ledger_id": _ids(ledger_id),
                                           "products": _products(products), "evaluator_id": _ids(evaluator_id)})
        db.commit()
    except Rejected as err:
        return _redo(request, db, actor, err)
    return RedirectResponse(f"/evaluations/{ev['id']}?msg=evaluation_created", status_code=303)


@router.get("/evaluations/regional")
def regional(request: Request, db: DB, actor: CurrentActor, province: str = ""):
    _signed_in(actor)
    province = province if province.isdigit() and len(province) == 6 else ""
    view = evaluation.regional(db, actor, province)
    return render(request, actor, "evaluation_regional.html", view=view, province=province)


@router.get("/evaluations/published")
def published(request: Request, db: DB, actor: CurrentActor):
    return render(request, actor, "evaluation_published.html", items=evaluation.published(db))


def _page(request: Request, db, actor, evaluation_id: int, issues=None, status: int = 200, msg: str = ""):
    ev = evaluation.get(db, actor, evaluation_id)
    try:
        checks = evaluation.checks(db, actor, evaluation_id)
    except Rejected as err:  # e.g. a period the core cannot read: shown, never a 500
        checks, issues = None, (issues or []) + err.issues
    editable = ev["state"] in evaluation.EDITABLE_EVALUATION
    firm = editable and actor.role in ("enterprise", "admin")
    ledgers = evaluation.list_ledgers(db, actor, ev["org_uscc"]) if firm else []
    evaluators = evaluation.list_evaluators(db, actor, ev["province"]) if firm else []
    return render(request, actor, "evaluation.html", status=status, ev=ev, checks=checks, issues=issues or [],
                  msg=msg, steps=evaluation.STEPS, firm=firm, editable=editable, ledgers=ledgers, evaluators=evaluators,
                  filing_days=evaluation.FILING_DAYS)


@router.get("/evaluations/{evaluation_id}")
def show(request: Request, db: DB, actor: CurrentActor, evaluation_id: int, msg: str = ""):
    _signed_in(actor)
    return _page(request, db, actor, evaluation_id, msg=msg)


@router.post("/evaluations/{evaluation_id}")
def edit(request: Request, db: DB, actor: CurrentActor, evaluation_id: int, row_version: Annotated[int, Form(ge=1)],
         ledger_id: Annotated[str, Form(max_length=12)] = "", products: Annotated[str, Form(max_length=2000)] = "",
         evaluator_id: Annotated[str, Form(max_length=12)] = ""):
    _signed_in(actor)
    values: dict = {"products": _products(products)}
    for key, text in (("ledger_id", ledger_id), ("evaluator_id", evaluator_id)):
        if _ids(text) is not None:
            values[key] = _ids(text)
    try:
        evaluation.update(db, actor, evaluation_id, row_version, values)
        db.commit()
    except Rejected as err:
        db.rollback()
        return _page(request, db, actor, evaluation_id, issues=err.issues, status=err.status)
    return RedirectResponse(f"/evaluations/{evaluation_id}?msg=saved", status_code=303)


@router.post("/evaluations/{evaluation_id}/transitions")
def transition(request: Request, db: DB, actor: CurrentActor, evaluation_id: int,
               action: Annotated[str, Form(max_length=32)], row_version: Annotated[int, Form(ge=1)],
               message: Annotated[str, Form(max_length=4000)] = "", filed_with: Text = "",
               filing_number: Annotated[str, Form(max_length=64)] = ""):
    _signed_in(actor)
    try:
        ev = evaluation.transition(db, actor, evaluation_id, action, row_version, message=message,
                                   filed_with=filed_with, filing_number=filing_number)
        db.commit()
    except Rejected as err:
        db.rollback()
        return _page(request, db, actor, evaluation_id, issues=err.issues, status=err.status)
    return RedirectResponse(f"/evaluations/{ev['id']}?msg=evaluation_step_done", status_code=303)


@router.post("/evaluations/{evaluation_id}/evidence")
async def add_evidence(request: Request, db: DB, actor: CurrentActor, evaluation_id: int,
                       file: Annotated[UploadFile, File()], figure: Annotated[str, Form(max_length=100)] = "",
                       note: Annotated[str, Form(max_length=500)] = ""):
    _signed_in(actor)
    data = await read_capped(request, file)
    try:
        await run_in_threadpool(evaluation.add_evidence, db, actor, evaluation_id, data, file.filename or "",
                                figure=figure, note=note, settings=platform(request).settings)
        db.commit()
    except Rejected as err:
        db.rollback()
        return _page(request, db, actor, evaluation_id, issues=err.issues, status=err.status)
    return RedirectResponse(f"/evaluations/{evaluation_id}?msg=evidence_saved", status_code=303)
