"""Exchange pages (#12 item 7): 我的供需信息 / my listings (publish, from the registry, withdraw),
the matches of a listing ranked by delivered cost, and the deals inbox with the steps the user
may take. The rules are the services'; a refused form comes back with its located issues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse

from resynergy.services import access, exchange, registry
from resynergy.services.registry import Rejected
from resynergy.web.deps import DB, CurrentActor
from resynergy.web.pages.templates import render

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
STEPS = tuple(exchange.STEPS)


def _listings_page(request: Request, db, actor, msg: str = "", issues=None, values=None, status: int = 200):
    items, total = exchange.list_listings(db, actor, limit=200)
    can_write = actor.role in access.LISTING_WRITERS
    own_sites = {r["id"]: (r["name_zh"], r["name_en"] or r["name_zh"]) for r in
                 registry.list_rows(db, actor, "sites", limit=500)[0]
                 if actor.role == "admin" or r["org_uscc"] == actor.org_uscc} if can_write else {}
    sites = registry.ref_names(db, actor, "sites.id", {i["site"] for i in items}) | own_sites
    materials = registry.ref_names(db, actor, "materials.code")
    return render(request, actor, "exchange.html", status=status, items=items, total=total, msg=msg,
                  issues=issues or [], values=values or {"side": "offer"}, can_write=can_write,
                  own_sites=own_sites, sites=sites, materials=materials, specs=exchange.SPECS,
                  at_field={i["column"]: i for i in issues or []})


@router.get("/exchange")
def listings(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    access.require(actor, access.LISTING_READERS, "exchange")
    return _listings_page(request, db, actor, msg)


def _number(text: str) -> float | str | None:
    text = text.strip().replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # reported, located, by the listing checks


@router.post("/exchange/listings")
async def create(request: Request, db: DB, actor: CurrentActor):
    access.require(actor, access.LISTING_WRITERS, "publish listing")
    form = await request.form()
    values = {k: str(form.get(k, ""))[:512] for k in exchange.FIELDS}
    rec = {k: (_number(v) if k in exchange.NUMBERS else v) for k, v in values.items()}
    try:
            exchange.create_listing(db, actor, rec)
    except Rejected as err:
        db.rollback()
        return _listings_page(request, db, actor, issues=err.issues, values=values, status=err.status)
    db.commit()
    return RedirectResponse("/exchange?msg=listing_created", status_code=303)


@router.post("/exchange/from-registry")
def from_registry(request: Request, db: DB, actor: CurrentActor):
    access.require(actor, ("enterprise",), "list registry records")
    try:
        exchange.from_registry(db, actor)
    except Rejected as err:
        db.rollback()
        return _listings_page(request, db, actor, issues=err.issues, status=err.status)
    db.commit()
    return RedirectResponse("/exchange?msg=listed_from_registry", status_code=303)


@router.post("/exchange/listings/{listing_id}/active")
def set_active(request: Request, db: DB, actor: CurrentActor, listing_id: Id,
               active: Annotated[bool, Form()], row_version: Annotated[int, Form(ge=1)]):
    """Withdraw a listing from the market, or list it again."""
    try:
        exchange.update_listing(db, actor, listing_id, {"active": active}, row_version)
    except Rejected as err:
        db.rollback()
        return _listings_page(request, db, actor, issues=err.issues, status=err.status)
    db.commit()
    return RedirectResponse(f"/exchange?msg={'listing_relisted' if active else 'listing_withdrawn'}", status_code=303)


def _matches_page(request: Request, db, actor, listing_id: int, issues=None, status: int = 200):
    found = exchange.matches(db, actor, listing_id, 20)
    return render(request, actor, "exchange_matches.html", status=status, found=found, head=found["listing"],
                  can_deal=actor.role in access.LISTING_WRITERS, issues=issues or [])


@router.get("/exchange/listings/{listing_id}")
def matches(request: Request, db: DB, actor: CurrentActor, listing_id: Id):
    return _matches_page(request, db, actor, listing_id)


@router.post("/exchange/deals")
def open_deal(request: Request, db: DB, actor: CurrentActor, listing: Annotated[int, Form(ge=1, le=2**31 - 1)],
              counterpart: Annotated[int, Form(ge=1, le=2**31 - 1)],
              quantity_t: Annotated[float, Form(gt=0, le=1e12, allow_inf_nan=False)],
              mode: Annotated[str, Form(max_length=64, pattern=r"^[A-Za-z0-9_]*$")] = "",
              start: Annotated[str, Form(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = "",
              end: Annotated[str, Form(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = ""):
    """A deal from a match: the buyer's inquiry on an offer, or the seller's offer to a want (a
    recurring one over the given whole periods, by default those both listings share)."""
    head = exchange.get_listing(db, actor, listing)
    offer, want = (listing, counterpart) if head["side"] == "offer" else (counterpart, listing)
    try:
            exchange.create_deal(db, actor, {"offer_id": offer, "want_id": want, "quantity_t": quantity_t, "mode": mode,
                                             "start": start, "end": end})
    except Rejected as err:
        db.rollback()
        return _matches_page(request, db, actor, listing, issues=err.issues, status=err.status)
    db.commit()
    return RedirectResponse("/exchange/deals?msg=deal_created", status_code=303)


def _deals_page(request: Request, db, actor, msg: str = "", issues=None, status: int = 200):
    items, total = exchange.list_deals(db, actor, limit=200)
    names = exchange.party_names(db, items)
    materials = registry.ref_names(db, actor, "materials.code", {d["material"] for d in items})
    steps = {d["id"]: [s for s in STEPS if exchange.may_take(actor, d, s)] for d in items}
    return render(request, actor, "exchange_deals.html", status=status, items=items, total=total, names=names,
                  materials=materials, steps=steps, msg=msg, issues=issues or [])


@router.get("/exchange/deals")
def deals(request: Request, db: DB, actor: CurrentActor, msg: str = ""):
    access.require(actor, access.LISTING_READERS, "deals")
    return _deals_page(request, db, actor, msg)


@router.post("/exchange/deals/{deal_id}/{step}")
def take_step(request: Request, db: DB, actor: CurrentActor, deal_id: Id,
              step: Annotated[str, Path(pattern="^(" + "|".join(STEPS) + ")$")]):
    try:
        exchange.step(db, actor, deal_id, step)
    except Rejected as err:
        db.rollback()
        return _deals_page(request, db, actor, issues=err.issues, status=err.status)
    return RedirectResponse("/exchange/deals?msg=deal_updated", status_code=303)


@router.get("/exchange/summary")
def summary(request: Request, db: DB, actor: CurrentActor):
    """Anyone, signed in or not: listed tonnes by province × material, anonymised."""
    cells = exchange.aggregates(db)
    provinces = exchange.region_names(db, {c["province"] for c in cells})
    materials = registry.ref_names(db, actor, "materials.code", {c["material"] for c in cells})
    return render(request, actor, "exchange_summary.html", cells=cells, provinces=provinces, materials=materials,
                  min_orgs=exchange.MIN_ORGS)
