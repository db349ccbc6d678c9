"""Evaluation pages (#13): firms apply (ledger upload or from flows, products, evaluator,
evidence) and follow their status and eligibility; evaluators work their queue and review the
computed checks; departments see the filings and the regional tables (XLSX from the API); the
public sees the published list. Writes go through the same service as the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from resynergy.services import evaluation
from resynergy.services.access import Denied
from resynergy.services.registry import Rejected
from resynergy.web.api.imports import read_capped
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import lang_of, render

router = APIRouter()
Text = Annotated[str, Form(max_length=200)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]  # a database integer: larger ids are refused (422), never sent
# The columns of the computed checks as the pages show them ((key, zh, en); "reason" shows the
# reason in the page's language, "share"/"minimum"/"refund_pct" as percentages). The figures and
# reasons are the core's assessment (resynergy.evaluation.assess), shown as it answers.
_RULE = ("rule_id", "规则", "Rule")
_REASON = ("reason", "说明", "Reason")
_SOURCE = [("source", "来源", "Source"), ("confidence", "可信度", "Confidence")]
CHECK_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "shares": [("product", "产品", "Product"), ("grade", "等级", "Grade"), ("months", "月份", "Months"),
               ("waste_t", "利用固废（吨）", "Waste used (t)"), ("raw_materials_t", "原料总量（吨）", "Raw materials (t)"),
               ("share", "掺量", "Share"), ("minimum", "要求不低于", "At least"), ("met", "符合", "Met"), _RULE, _REASON,
               ("catalogue_rule_ids", "评价目录条目", "Catalogue entry"),
               ("catalogue_reason", "目录技术条件", "Catalogue conditions")],
    "vat": [("product", "产品", "Product"), ("item", "目录条目", "Item"), _RULE, ("refund_pct", "退税比例", "Refund"),
            ("sales_yuan", "销售额（元）", "Sales (yuan)"), ("vat_yuan", "应纳增值税（元）", "VAT (yuan)"),
            ("refund_yuan", "即征即退（元）", "Refund (yuan)"), ("eligible", "符合", "Eligible"), _REASON, *_SOURCE],
    "eit": [("product", "产品", "Product"), _RULE, ("income_yuan", "收入（元）", "Income (yuan)"),
            ("income_counted_yuan", "计入收入（元）", "Income counted (yuan)"),
            ("reduction_income_yuan", "减计收入（元）", "Income reduction (yuan)"), ("eligible", "符合", "Eligible"),
            _REASON, *_SOURCE],
    "ept": [("material", "固废", "Waste"), ("generated_t", "产生（吨）", "Generated (t)"),
            ("stored_t", "贮存（吨）", "Stored (t)"), ("disposed_t", "处置（吨）", "Disposed (t)"),
            ("utilized_t", "利用（吨）", "Utilized (t)"), ("base_t", "计税依据（吨）", "Tax base (t)"),
            ("rate_yuan_t", "税额（元/吨）", "Rate (yuan/t)"), ("tax_yuan", "应纳税额（元）", "Tax (yuan)"),
            ("exempt_yuan", "免征（元）", "Exempt (yuan)"), _RULE, _REASON],
    "screens": [_RULE, ("screen", "条件", "Screen"), ("applies", "适用", "Applies to"), ("value", "台账值", "Ledger value"),
                ("passed", "符合", "Passed"), _REASON, *_SOURCE],
    "balance": [("column", "列", "Column"), ("value", "值", "Value"), ("message", "问题", "Problem")],
    "receipts": [("month", "月份", "Month"), ("from_org", "来源单位", "Supplier"), ("from_site", "来源场所", "Supplier site"),
                 ("t", "接收量（吨）", "Received (t)"), ("manifest", "联单或过磅单号", "Manifest or ticket")],
    "utilized": [("material", "固废", "Waste"), ("utilized_t", "利用量（吨）", "Utilized (t)"),
                 ("own_t", "自产（吨）", "Own (t)"), ("received_t", "接收（吨）", "Received (t)"),
                 ("sources", "来源", "Sources")],
}
PERCENT = ("share", "minimum", "refund_pct")


def _cell(row: dict, key: str, lang: str) -> tuple[str, bool]:
    """(text, is a number) of one cell of a check table."""
    value = row.get(f"{key}_{lang}", row.get(key))
    if key == "material" and row.get(f"name_{lang}"):
        return f"{row[f'name_{lang}']} ({value})", False
    if isinstance(value, bool):
        return ("✓" if value else "✗"), False
    if isinstance(value, (int, float)):
        return (f"{value * 100:,.1f}%" if key in PERCENT else f"{value:,.2f}"), True
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)), False
    return ("" if value is None else str(value)), False


def check_table(rows: list[dict] | None, kind: str, lang: str) -> dict:
    """Headers and cells of one check table: the columns of ``CHECK_COLUMNS[kind]`` the rows
    hold (all their keys for a kind without a list, e.g. the ledger's receipts)."""
    rows = [r for r in rows or [] if isinstance(r, dict)]
    if not rows:
        return {"head": [], "rows": []}
    keys = set(rows[0])
    cols = [(k, zh, en) for k, zh, en in CHECK_COLUMNS.get(kind, [(k, k, k) for k in rows[0]])
            if k in keys or f"{k}_zh" in keys]
    return {"head": [zh if lang == "zh" else en for _, zh, en in cols],
            "rows": [[_cell(r, k, lang) for k, _, _ in cols] for r in rows]}


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


def _page(request: Request, db, actor, evaluation_id: Id, issues=None, status: int = 200, msg: str = ""):
    ev = evaluation.get(db, actor, evaluation_id)
    try:
        checks = evaluation.checks(db, actor, evaluation_id)
    except Rejected as err:  # e.g. a period the core cannot read: shown, never a 500
        checks, issues = None, (issues or []) + err.issues
    editable = ev["state"] in evaluation.EDITABLE_EVALUATION
    firm = editable and actor.role in ("enterprise", "admin")
    ledgers = evaluation.list_ledgers(db, actor, ev["org_uscc"]) if firm else []
    evaluators = evaluation.list_evaluators(db, actor, ev["province"]) if firm else []
    lang = lang_of(request)
    a = (checks or {}).get("assessment") or {}
    tables = {kind: check_table(a.get(kind), kind, lang) for kind in CHECK_COLUMNS if kind != "receipts"}
    receipts = {m: check_table(rows, "receipts", lang)
                for m, rows in ((checks or {}).get("evidence") or {}).get("receipts", {}).items()}
    return render(request, actor, "evaluation.html", status=status, ev=ev, checks=checks, issues=issues or [],
                  tables=tables, receipts=receipts, totals=a.get("totals") or {},
                  msg=msg, steps=evaluation.STEPS, firm=firm, editable=editable, ledgers=ledgers, evaluators=evaluators,
                  filing_days=evaluation.filing_days())


@router.get("/evaluations/{evaluation_id}")
def show(request: Request, db: DB, actor: CurrentActor, evaluation_id: Id, msg: str = ""):
    _signed_in(actor)
    return _page(request, db, actor, evaluation_id, msg=msg)


@router.post("/evaluations/{evaluation_id}")
def edit(request: Request, db: DB, actor: CurrentActor, evaluation_id: Id, row_version: Annotated[int, Form(ge=1)],
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
def transition(request: Request, db: DB, actor: CurrentActor, evaluation_id: Id,
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
async def add_evidence(request: Request, db: DB, actor: CurrentActor, evaluation_id: Id,
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


@router.post("/evaluations/{evaluation_id}/evidence/{evidence_id}/delete")
def remove_evidence(request: Request, db: DB, actor: CurrentActor, evaluation_id: Id, evidence_id: Id):
    _signed_in(actor)
    try:
        evaluation.remove_evidence(db, actor, evaluation_id, evidence_id)
        db.commit()
    except Rejected as err:
        db.rollback()
        return _page(request, db, actor, evaluation_id, issues=err.issues, status=err.status)
    return RedirectResponse(f"/evaluations/{evaluation_id}?msg=evidence_removed", status_code=303)
