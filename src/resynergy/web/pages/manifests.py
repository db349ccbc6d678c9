"""Manifest pages (联单): the list (with what waits for my signature), one manifest with its
chain status, alerts and the form of my next step, the printable form, and the regulators'
alerts page. Writes go through the same service as the API (same checks, same words)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from resynergy.exchange import manifests as mf
from resynergy.services import manifests
from resynergy.services.access import Denied
from resynergy.services.registry import Rejected
from resynergy.web.deps import DB, CurrentActor, platform
from resynergy.web.pages.templates import render

router = APIRouter()
KG_FIELDS = tuple(f.name for f in mf.FIELDS if f.kind in ("kg", "int"))


def _policy(request: Request):
    return manifests.policy_of(platform(request).settings)


@router.get("/manifests")
def index(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    mine, _ = manifests.list_manifests(db, actor, to_sign=True, limit=200) if actor.role == "enterprise" else ([], 0)
    items, total = manifests.list_manifests(db, actor, limit=200)
    return render(request, actor, "manifests.html", to_sign=mine, items=items, total=total, msg=msg,
                  deals=manifests.deals_to_ship(db, actor), issues=[], **_requests(db, actor))


@router.post("/manifests")
def create(request: Request, db: DB, actor: CurrentActor, deal_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
           declared_kg: Annotated[str, Form(max_length=20)], carrier_org: Annotated[str, Form(max_length=18)],
           waste_name: Annotated[str, Form(max_length=200)] = ""):
    values = _values({"declared_kg": declared_kg, "carrier_org": carrier_org, "waste_name": waste_name},
                     ("declared_kg", "carrier_org", "waste_name"))
    try:
        m = manifests.create_from_deal(db, actor, deal_id, values)
        db.commit()
    except Rejected as err:
        db.rollback()
        mine, _ = manifests.list_manifests(db, actor, to_sign=True, limit=200)
        items, total = manifests.list_manifests(db, actor, limit=200)
        return render(request, actor, "manifests.html", status=err.status, to_sign=mine, items=items, total=total,
                      deals=manifests.deals_to_ship(db, actor), issues=err.issues)
    return RedirectResponse(f"/manifests/{m['id']}?msg=manifest_created", status_code=303)


def _page(request: Request, db, actor, manifest_id: int, issues=None, status: int = 200, msg: str = ""):
    m = manifests.get(db, actor, manifest_id)
    check = manifests.verify(db, actor, manifest_id)
    alerts = manifests.alerts(db, actor, policy=_policy(request), manifest_id=manifest_id)
    inputs = {s: [mf.FIELD[n] for n in manifests.SIGN_INPUT.get(mf.Step(s), ())] for s in m["my_steps"]}
    draft = [mf.FIELD[n] for n in manifests.DRAFT_EDITABLE] if "seal" in m["my_steps"] else []
    return render(request, actor, "manifest.html", status=status, m=m, check=check, alerts=alerts,
                  layout=manifests.layout(), inputs=inputs, draft=draft, issues=issues or [], msg=msg,
                  step_text=mf.STEP_TEXT, steps=mf.Step)


@router.get("/manifests/{manifest_id}")
def show(request: Request, db: DB, actor: CurrentActor, manifest_id: int, msg: str = ""):
    return _page(request, db, actor, manifest_id, msg=msg)


@router.get("/manifests/{manifest_id}/print")
def printable(request: Request, db: DB, actor: CurrentActor, manifest_id: int):
    m = manifests.get(db, actor, manifest_id)
    check = manifests.verify(db, actor, manifest_id)
    blocks = [(zh, en, [(mf.FIELD[n], m["fields"].get(n)) for n in names]) for _, zh, en, names in mf.BLOCKS]
    return render(request, actor, "manifest_print.html", m=m, check=check, blocks=blocks)


def _values(form: dict[str, str], names: tuple[str, ...]) -> dict:
    """The form's non-empty values of ``names``; whole numbers where the field holds kg."""
    out: dict = {}
    for n in names:
        v = form.get(n, "").strip()
        if not v:
            continue
        if n in KG_FIELDS:
            out[n] = int(v) if v.isdigit() else v  # a non-number is reported by the service, located
        else:
            out[n] = v
    return out


@router.post("/manifests/{manifest_id}/step")
async def take_step(request: Request, db: DB, actor: CurrentActor, manifest_id: int,
                    step: Annotated[str, Form(max_length=16)], row_version: Annotated[int, Form(ge=1)]):
    form = {k: str(v)[:2000] for k, v in (await request.form()).items()}
    try:
        if step == "edit":
            manifests.edit(db, actor, manifest_id, row_version, _values(form, manifests.DRAFT_EDITABLE))
        else:
            names = manifests.SIGN_INPUT.get(mf.Step(step), ()) if step in mf.Step._value2member_map_ else ()
            manifests.step(db, actor, manifest_id, step, row_version, _values(form, names))
        db.commit()
    except Rejected as err:
        db.rollback()
        return _page(request, db, actor, manifest_id, issues=err.issues, status=err.status)
    except Denied:
        db.rollback()
        raise
    msg = "manifest_saved" if step == "edit" else "manifest_step_done"
    return RedirectResponse(f"/manifests/{manifest_id}?msg={msg}", status_code=303)


@router.get("/alerts")
def alerts_page(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    return _alerts(request, db, actor, msg=msg)


def _alerts(request: Request, db, actor, issues=None, status: int = 200, msg: str = ""):
    items = manifests.alerts(db, actor, policy=_policy(request))
    return render(request, actor, "alerts.html", status=status, items=items, policy=_policy(request),
                  issues=issues or [], msg=msg, **_requests(db, actor))


# ---- cross-province transfer requests (跨省转移商请): filed by the generator, decided by the
# origin province's regulator; both provinces' regulators and the parties see them
def _requests(db, actor) -> dict:
    if not actor.signed_in or actor.role == "public":
        return {}
    return {"approvals": manifests.list_approvals(db, actor), "may_decide": manifests.may_decide}


@router.post("/manifests/transfer-requests")
def file_request(request: Request, db: DB, actor: CurrentActor,
                 kind: Annotated[str, Form(max_length=16)], origin_province: Annotated[str, Form(max_length=6)],
                 dest_province: Annotated[str, Form(max_length=6)], receiver_org: Annotated[str, Form(max_length=18)],
                 quantity_kg: Annotated[str, Form(max_length=14)], valid_from: Annotated[str, Form(max_length=10)],
                 valid_to: Annotated[str, Form(max_length=10)], material: Annotated[str, Form(max_length=64)] = "",
                 waste_code: Annotated[str, Form(max_length=16)] = ""):
    q = quantity_kg.strip()
    values = {"kind": kind, "origin_province": origin_province.strip(), "dest_province": dest_province.strip(),
              "receiver_org": receiver_org.strip(), "material": material.strip(), "waste_code": waste_code.strip(),
              "valid_from": valid_from, "valid_to": valid_to, "quantity_kg": int(q) if q.isdigit() else q}
    try:
        manifests.request_approval(db, actor, values)
        db.commit()
    except Rejected as err:
        db.rollback()
        mine, _ = manifests.list_manifests(db, actor, to_sign=True, limit=200) if actor.role == "enterprise" else ([], 0)
        items, total = manifests.list_manifests(db, actor, limit=200)
        return render(request, actor, "manifests.html", status=err.status, to_sign=mine, items=items, total=total,
                      deals=manifests.deals_to_ship(db, actor), issues=err.issues, **_requests(db, actor))
    return RedirectResponse("/manifests?msg=request_filed", status_code=303)


@router.post("/alerts/transfer-requests/{approval_id}")
def decide_request(request: Request, db: DB, actor: CurrentActor, approval_id: int,
                   decision: Annotated[str, Form(max_length=16)], row_version: Annotated[int, Form(ge=1)],
                   reason: Annotated[str, Form(max_length=500)] = "", reference: Annotated[str, Form(max_length=64)] = ""):
    try:
        manifests.decide_approval(db, actor, approval_id, row_version, decision, reason, reference)
        db.commit()
    except Rejected as err:
        db.rollback()
        return _alerts(request, db, actor, issues=err.issues, status=err.status)
    return RedirectResponse("/alerts?msg=request_decided", status_code=303)
