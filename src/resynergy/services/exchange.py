"""The exchange on the platform (#12 items 1, 3): listings, matches and deals.

- **Listings** are offers (a lot of a material at a site) and wants (a need at a delivery site)
  of the organisation operating the site. Enterprises manage their own; staff read those in
  their province scope; the public sees anonymised aggregates only (:func:`aggregates`).
  :func:`from_registry` lists an organisation's registry supplies and demands in one action.
- **Matches** for a listing come from the core :class:`resynergy.exchange.matching.Market`
  (ranked by delivered cost over the network), built once per state of the registry and of the
  listings, with the latest published region-wide plan's flows as ``plan_flows``.
- **Deals** go inquiry → offered → accepted → completed (or declined / cancelled); each step
  is taken by the party whose turn it is (:data:`STEPS`). Acceptance reserves the quantity on
  the offer (and the want) with one conditional UPDATE checked by its row count, in the
  transaction that marks the deal accepted, so concurrent acceptances never allocate more than
  the lot holds. Cancelling an accepted deal releases the reservation the same way, in the
  transaction that cancels it, and only while none of the deal's manifests has been sent (its
  drafts and sealed manifests are voided with it).
- **Recurring** listings (``recurrence`` monthly | quarterly | yearly, quantity_t per period)
  keep one reservation row per period (``listing_periods``). A deal on a recurring lot (or for a
  recurring want) recurs too: quantity_t per period for a range of periods; accepting it
  reserves that quantity in each period it draws on, one conditional UPDATE per period under
  the listing's row lock, so concurrent acceptances never allocate more than any period holds.
- **Completing** a deal records what was delivered (the accepted tonnes of its processed
  manifests, each counted in the deal's period of its handover date) and gives back what was
  not delivered (per period) to the lots: a deal may close short, and the audit says how much.

Every change is in the audit log; bad input is refused with located zh/en issues
(:class:`~resynergy.services.registry.Rejected`), never a server error.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from resynergy.exchange import listings as core_listings
from resynergy.scenario import Scenario, ScenarioError
from resynergy.scenario.regions import province_code
from resynergy.schema.cells import CONTROL_CHARS, plain, visible
from resynergy.services import access, audit, database, registry, runs
from resynergy.services.access import Actor, Denied
from resynergy.services.registry import NotFound, Rejected, issue_dict, own_issue
from resynergy.store.models import (
    DEAL_STATES,
    LISTING_SPECS,
    REGISTRY,
    Deal,
    Listing,
    ListingPeriod,
    Manifest,
    utcnow,
)

SPECS = LISTING_SPECS
OFFER_SPECS = tuple(f"spec_{s}" for s in SPECS)
WANT_SPECS = tuple(f"spec_{s}_{end}" for s in SPECS for end in ("min", "max"))
# The columns of a listing a writer gives (the organisation follows from the site).
FIELDS = ("side", "site", "material", "accepts", "quantity_t", "start", "end", "price_yuan_t",
          "hazardous_code", *OFFER_SPECS, *WANT_SPECS, "recurrence")
NUMBERS = ("quantity_t", "price_yuan_t", *OFFER_SPECS, *WANT_SPECS)
# Aggregates shown to the public: a province × material cell of fewer organisations than this
# shows its count only, not its tonnes (one or two firms' quantities would be readable from it).
# The minimum-frequency rule of statistical disclosure control, at the threshold statistical
# offices commonly use (3 contributors); a platform choice, not a figure from a regulation.
MIN_ORGS = 3
SOURCE = "API"
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")

SIDE_WORDS = {"offer": ("供应", "offer"), "want": ("需求", "want")}
RECURRENCE_WORDS = core_listings.RECURRENCE_WORDS
STATE_WORDS = {"inquiry": ("询价中", "inquiry"), "offered": ("已报价", "offered"), "accepted": ("已成交", "accepted"),
               "declined": ("已谢绝", "declined"), "cancelled": ("已撤销", "cancelled"),
               "completed": ("已完成", "completed")}


@dataclass(frozen=True)
class Step:
    """A deal step: from which states, to which state, and who may take it ('seller', 'buyer',
    'either', or 'turn': the seller on an inquiry, the buyer on an offer)."""

    name: str
    zh: str
    sources: tuple[str, ...]
    target: str
    by: str


STEPS: dict[str, Step] = {s.name: s for s in (
    Step("offer", "报价", ("inquiry",), "offered", "seller"),
    Step("accept", "确认成交", ("offered",), "accepted", "buyer"),
    Step("decline", "谢绝", ("inquiry", "offered"), "declined", "turn"),
    # cancelling an accepted deal releases its reservation (only while none of its manifests was sent)
    Step("cancel", "撤销", ("inquiry", "offered", "accepted"), "cancelled", "either"),
    Step("complete", "标记完成", ("accepted",), "completed", "either"),
)}
assert {s.target for s in STEPS.values()} | {"inquiry"} == set(DEAL_STATES)


# ---- errors --------------------------------------------------------------------------------
def _issue(code: str, zh: str, en: str, column: str = "", value: object = None, table: str = "listings",
           row: int | None = None) -> dict:
    return own_issue(code, zh, en, table=table, source=SOURCE, row=row, column=column, value=value)


def _refuse(code: str, zh: str, en: str, column: str = "", value: object = None, status: int = 422,
            table: str = "listings") -> Rejected:
    return Rejected([_issue(code, zh, en, column, value, table)], status)


# ---- listings: reading -----------------------------------------------------------------------
def _record(obj: Listing | Deal) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in sa.inspect(type(obj)).mapper.column_attrs}


def listing_record(listing: Listing, periods: list[dict] | None = None) -> dict[str, Any]:
    """A listing as the API shows it, with ``available_t`` (quantity not yet reserved; on a
    recurring listing per period: the most one of its periods still holds), ``total_t`` (all
    its tonnes: per period × periods), the per-period words and, when given, its ``periods``
    (each with what is reserved and available in it)."""
    out = _record(listing)
    out["available_t"] = max(0.0, float(listing.quantity_t) - float(listing.reserved_t))
    rec = listing.recurrence or ""
    out["total_t"] = core_listings.total_t(listing.quantity_t, rec, listing.start, listing.end)
    out["per_period"] = list(core_listings.PER_PERIOD[rec])
    out["periods"] = periods or []
    return out


def period_rows(db: Session, listing_ids: list[int] | set[int]) -> dict[int, list[dict]]:
    """The periods of recurring listings: {listing id: [{period, label, quantity_t, reserved_t,
    available_t}, …] in order}."""
    if not listing_ids:
        return {}
    rows = db.execute(sa.select(ListingPeriod, Listing.recurrence).join(Listing, Listing.id == ListingPeriod.listing_id)
                      .where(ListingPeriod.listing_id.in_(sorted(listing_ids)))
                      .order_by(ListingPeriod.listing_id, ListingPeriod.period)).all()
    out: dict[int, list[dict]] = {}
    for p, rec in rows:
        out.setdefault(p.listing_id, []).append({
            "period": p.period, "label": core_listings.period_label(rec, p.period), "quantity_t": p.quantity_t,
            "reserved_t": p.reserved_t, "available_t": max(0.0, p.quantity_t - p.reserved_t)})
    return out


def _with_periods(db: Session, listing: Listing) -> dict[str, Any]:
    return listing_record(listing, period_rows(db, [listing.id]).get(listing.id) if listing.recurrence else None)


def _allowed(model: type, cond: Any) -> sa.Select:
    """The rows of ``model`` an access filter lets through (``cond`` None: all of them)."""
    q = sa.select(model)
    return q if cond is None else q.where(cond)


def _found(db: Session, query: sa.Select, what: str) -> Any:
    """The one row ``query`` selects; NotFound (``what``) when there is none."""
    hit = db.scalar(query)
    if hit is None:
        raise NotFound(what)
    return hit


def _visible_listings(actor: Actor) -> sa.Select:
    return _allowed(Listing, access.listing_filter(actor, Listing.organisation, Listing.site))


def list_listings(db: Session, actor: Actor, *, side: str = "", material: str = "", province: str = "",
                  organisation: str = "", active: bool | None = None, limit: int = 50, offset: int = 0
                  ) -> tuple[list[dict], int]:
    """Listings ``actor`` may read, newest first, filtered, with the total before paging."""
    q = database.where_given(_visible_listings(actor), (Listing.side, side), (Listing.material, material),
                             (Listing.organisation, organisation))
    if active is not None:
        q = q.where(Listing.active.is_(active))
    if province:
        sites = REGISTRY["sites"]
        q = q.where(Listing.site.in_(sa.select(sites.c.id).where(
            sa.func.substr(sites.c.region, 1, 2) == province[:2])))
    rows, total = database.page(db, q, Listing.id.desc(), limit=limit, offset=offset)
    periods = period_rows(db, [r.id for r in rows if r.recurrence])
    return [listing_record(r, periods.get(r.id)) for r in rows], total


def get_listing(db: Session, actor: Actor, listing_id: int) -> dict:
    return _with_periods(db, _found(db, _visible_listings(actor).where(Listing.id == listing_id),
                                    f"listing {listing_id}"))


# ---- listings: checking ----------------------------------------------------------------------
def _site(db: Session, site_id: str) -> dict | None:
    sites = REGISTRY["sites"]
    row = db.execute(sa.select(sites.c.id, sites.c.org_uscc, sites.c.region).where(sites.c.id == site_id)).first()
    return None if row is None else dict(row._mapping)


class _References:
    """What the core's listing checks read off a scenario (``table(name)``): the registry's
    sites and the catalog's materials and processes."""

    def __init__(self, db: Session):
        self.db = db

    def table(self, name: str) -> pd.DataFrame:
        if name == "sites":
            return pd.DataFrame({"id": list(self.db.scalars(sa.select(REGISTRY["sites"].c.id)))}, dtype=object)
        from resynergy import catalog

        return catalog.table(name)


def check_listing(db: Session, actor: Actor, rec: dict[str, Any], row: int | None = None) -> tuple[dict, list[dict]]:
    """The record cleaned (organisation set from the site) and every issue with it, located.

    The listing rules are the core's (:func:`resynergy.exchange.listings.check_listings`);
    the platform adds tenancy: an enterprise lists only at its own organisation's sites —
    another's site is reported as unknown, so its existence does not leak."""
    from resynergy.exchange.listings import check_listings

    out = {k: rec.get(k) for k in FIELDS}
    control: list[dict] = []
    for k in ("side", "site", "material", "accepts", "start", "end", "hazardous_code", "recurrence", *NUMBERS):
        if isinstance(out[k], str) and _CONTROL.search(out[k]):  # never sent to the database
            control.append(_issue("control_chars", "含有不可见的控制字符，请删除后重试",
                                  "contains control characters; remove them and try again", k, visible(out[k]), row=row))
            out[k] = ""
    for k in ("accepts", "start", "end", "hazardous_code", "recurrence"):
        out[k] = str(out[k] or "").strip()
    frame = pd.DataFrame([{**{k: (math.nan if out[k] is None and k in NUMBERS else out[k]) for k in FIELDS},
                           "id": "new"}])
    issues = control + [issue_dict(dataclasses.replace(i, row=row, source=SOURCE))
                        for i in check_listings(frame, _References(db)) if i.column != "site" or i.code != "unknown_ref"]

    def bad(code: str, zh: str, en: str, column: str, value: object = None) -> None:
        issues.append(_issue(code, zh, en, column, value, row=row))

    site = _site(db, str(out["site"] or ""))
    owner = site["org_uscc"] if site else ""
    if site is None or not access.may_write_listing(actor, owner):
        bad("unknown_ref", "站点不存在（或不属于本单位）", "no such site (or not one of your organisation's)", "site",
            out["site"])
    elif not owner:
        bad("no_owner", "该站点未登记运营单位，不能发布信息；请先在登记库中填写站点的运营单位",
            "the site has no operating organisation; set it in the registry first", "site", out["site"])
    out["organisation"] = owner
    if not issues:  # numbers as numbers (forms send text; the checks above accepted it)
        for k in NUMBERS:
            v = None if out[k] is None or out[k] == "" else float(out[k])
            out[k] = None if v is None or math.isnan(v) else v  # NaN: not stated (never stored)
    return out, issues


# ---- listings: changing ----------------------------------------------------------------------
def _start(db: Session) -> None:
    """Begin the write transaction (SQLite: take the write lock now; see registry.begin_write)."""
    registry.begin_write(db)


def create_listing(db: Session, actor: Actor, rec: dict[str, Any]) -> dict:
    """Create one listing (not committed)."""
    access.require(actor, access.LISTING_WRITERS, "create listing")
    _start(db)
    out, issues = check_listing(db, actor, rec)
    if issues:
        raise Rejected(issues)
    listing = Listing(**out, created_by=actor.user_id or None)
    db.add(listing)
    db.flush()
    _make_periods(db, listing)
    after = _with_periods(db, listing)
    audit.record(db, actor, "create", "listing", listing.id, after=after)
    return after


def _make_periods(db: Session, listing: Listing) -> None:
    """The reservation rows of a recurring listing's periods (none on a one-off listing)."""
    keys = core_listings.periods(listing.recurrence or "", listing.start, listing.end)
    db.add_all([ListingPeriod(listing_id=listing.id, period=k, quantity_t=listing.quantity_t, reserved_t=0.0)
                for k in keys])
    db.flush()


def _lock(db: Session, listing_id: int) -> None:
    """Hold a listing's row until the transaction ends (PostgreSQL; SQLite's write lock, taken
    by :func:`_start`, already serialises writers): every change of its reservations or of its
    periods takes it first, so they happen one after another."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(sa.select(Listing.id).where(Listing.id == listing_id).with_for_update())


def _most_reserved(db: Session, listing_id: int) -> float:
    """The most any period of a recurring listing holds reserved (0 without periods)."""
    return float(db.scalar(sa.select(sa.func.max(ListingPeriod.reserved_t))
                           .where(ListingPeriod.listing_id == listing_id)) or 0.0)


def _open_deals(db: Session, listing_id: int) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Deal).where(
        sa.or_(Deal.offer_id == listing_id, Deal.want_id == listing_id),
        Deal.state.in_(("inquiry", "offered", "accepted")))) or 0


def _stale(listing_id: int) -> Rejected:
    return Rejected([registry.stale_issue("listings", listing_id)], 412)


def _writable(db: Session, actor: Actor, listing_id: int) -> Listing:
    access.require(actor, access.LISTING_WRITERS, "change listing")
    listing = _found(db, _visible_listings(actor).where(Listing.id == listing_id), f"listing {listing_id}")
    if not access.may_write_listing(actor, listing.organisation):
        raise Denied(actor, "change listing")
    return listing


def _to_change(db: Session, actor: Actor, listing_id: int, version: int | None) -> Listing:
    """The listing ``actor`` may change, read in the write transaction; 428 without a version."""
    if version is None:
        raise Rejected([_issue("version_required", "请提供读取记录时的版本号（If-Match）",
                               "send the version the listing was read at (If-Match)")], 428)
    _start(db)
    return _writable(db, actor, listing_id)


def update_listing(db: Session, actor: Actor, listing_id: int, changes: dict[str, Any], version: int | None
                   ) -> dict:
    """Change some fields of a listing (``version``: the row version read, required; -1 = any).
    The quantity may not fall below what accepted deals reserve."""
    access.require(actor, access.LISTING_WRITERS, "change listing")
    listing = _to_change(db, actor, listing_id, version)
    before = listing_record(listing)
    if "side" in changes and changes["side"] != listing.side:
        raise _refuse("not_allowed", "不能把供应改为需求（或反之）；请另发一条信息",
                      "an offer cannot become a want (or the reverse); create a new listing", "side", changes["side"])
    active = changes.pop("active", None)
    merged = {**{k: before[k] for k in FIELDS}, **{k: v for k, v in changes.items() if k in FIELDS}}
    out, issues = check_listing(db, actor, merged)
    _lock(db, listing_id)
    held = _most_reserved(db, listing_id) if listing.recurrence else float(listing.reserved_t)
    if out["quantity_t"] is not None and out["quantity_t"] < held:
        issues.append(_issue("below_reserved", f"已成交洽谈占用 {held:g} 吨，数量不能少于此数",
                             f"accepted deals hold {held:g} t; the quantity cannot go below that",
                             "quantity_t", out["quantity_t"]))
    reshaped = [k for k in ("recurrence", "start", "end") if (out[k] or "") != (before[k] or "")]
    if reshaped and (listing.recurrence or out["recurrence"]) and (held > 0 or _open_deals(db, listing_id)):
        issues.append(_issue("periods_in_use", "已有进行中的洽谈按现有周期约定，不能更改重复周期或起止日期；请另发一条信息",
                             "open deals are agreed on the present periods: the recurrence and dates cannot "
                             "change; publish a new listing instead", reshaped[0], out[reshaped[0]]))
    if issues:
        conflict = {i["code"] for i in issues} <= {"below_reserved", "periods_in_use"}
        raise Rejected(issues, 409 if conflict else 422)
    values = {k: out[k] for k in (*FIELDS, "organisation")}
    if active is not None:
        values["active"] = bool(active)
    cond = [Listing.id == listing_id, Listing.reserved_t <= out["quantity_t"]]
    if version != registry.ANY_VERSION:
        cond.append(Listing.row_version == version)
    done = db.execute(sa.update(Listing).where(*cond).values(
        **values, row_version=Listing.row_version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.rollback()
        raise _stale(listing_id)
    if reshaped:  # no open deal draws on the periods (checked above): they are made anew
        db.execute(sa.delete(ListingPeriod).where(ListingPeriod.listing_id == listing_id))
    db.refresh(listing)
    if reshaped:
        _make_periods(db, listing)
    elif listing.recurrence:
        db.execute(sa.update(ListingPeriod).where(ListingPeriod.listing_id == listing_id)
                   .values(quantity_t=listing.quantity_t))
    after = _with_periods(db, listing)
    audit.record(db, actor, "update", "listing", listing_id, before=before, after=after)
    return after


def delete_listing(db: Session, actor: Actor, listing_id: int, version: int | None) -> None:
    """Delete a listing no deal refers to (one with deals is withdrawn instead: active = false)."""
    access.require(actor, access.LISTING_WRITERS, "delete listing")
    listing = _to_change(db, actor, listing_id, version)
    before = listing_record(listing)
    used = db.scalar(sa.select(sa.func.count()).select_from(Deal).where(
        sa.or_(Deal.offer_id == listing_id, Deal.want_id == listing_id))) or 0
    if used:
        raise _refuse("referenced", f"已有 {used} 条洽谈引用该信息，不能删除；可将其下架（active = false）",
                      f"{used} deal(s) refer to this listing; it cannot be deleted — withdraw it instead "
                      "(active = false)", status=409)
    cond = [Listing.id == listing_id]
    if version != registry.ANY_VERSION:
        cond.append(Listing.row_version == version)
    db.execute(sa.delete(ListingPeriod).where(ListingPeriod.listing_id == listing_id))
    if db.execute(sa.delete(Listing).where(*cond).execution_options(synchronize_session=False)).rowcount != 1:
        db.rollback()
        raise _stale(listing_id)
    db.expunge(listing)
    audit.record(db, actor, "delete", "listing", listing_id, before=before)


def from_registry(db: Session, actor: Actor, *, year: int | None = None,
                  sides: tuple[str, ...] = ("offer", "want"), organisation: str = "",
                  recurrence: str = "monthly") -> dict[str, Any]:
    """List an organisation's registry rows in one action, by the core's rule
    (:func:`resynergy.exchange.listings.from_registry`): supplies become offers of the year's
    generation, demands wants capped at the virgin alternative's price, built facilities wants
    of their inputs. Registry rows are annual flows: by default each becomes a monthly recurring
    listing of the year (annual / 12 per month, an even spread: the registry has no
    seasonality); ``recurrence`` '' lists the year's tonnes as one lot. A listing already there
    (same side, site, material and period, active) is not made twice. The enterprise's own
    organisation; the admin names one."""
    from resynergy import catalog
    from resynergy.exchange.listings import from_registry as core_from_registry

    access.require(actor, access.LISTING_WRITERS, "create listings")
    org = actor.org_uscc if actor.role == "enterprise" else organisation
    if not org:
        raise _refuse("required", "请指定单位（统一社会信用代码）", "name the organisation (USCC)", "organisation")
    if not access.may_write_listing(actor, org):
        raise Denied(actor, "create listings")
    sites = REGISTRY["sites"]
    own = sa.select(sites.c.id).where(sites.c.org_uscc == org)

    def rows(table: str) -> pd.DataFrame:
        t = REGISTRY[table]
        recs = [dict(r) for r in db.execute(sa.select(t).where(t.c.site.in_(own))).mappings()]
        return pd.DataFrame(recs, columns=[c.name for c in t.columns])

    site_rows = pd.DataFrame([dict(r) for r in db.execute(sa.select(sites.c.id, sites.c.org_uscc).where(
        sites.c.org_uscc == org)).mappings()], columns=["id", "org_uscc"])
    supplies, demands, facilities = rows("supplies"), rows("demands"), rows("facilities")
    years = sorted({int(y) for f in (supplies, demands) for y in f["year"]})
    if not years:
        raise _refuse("nothing_to_list", "本单位站点在登记库中没有产废或产品需求记录，无可发布的信息",
                      "the registry holds no supplies or demands at your organisation's sites; nothing to list",
                      "organisation", org)
    if year is None:
        year = years[-1]
    elif year not in years:
        raise _refuse("no_such_year", f"登记库中本单位没有 {year} 年的记录（有：{', '.join(map(str, years))}）",
                      f"the registry has no {year} records of your organisation (it has: "
                      f"{', '.join(map(str, years))})", "year", year)
    made = core_from_registry(site_rows, supplies if "offer" in sides else None,
                              demands if "want" in sides else None,
                              facilities if "want" in sides else None, catalog.table("process_io"), year=year,
                              recurrence=recurrence)
    _start(db)
    # one from-registry per organisation at a time (PostgreSQL: the organisation's row locked;
    # SQLite: the write lock _start took), so two clicks never list the same rows twice
    orgs = REGISTRY["organisations"]
    db.execute(sa.select(orgs.c.pk).where(orgs.c.uscc == org).with_for_update())
    existing = {tuple(r) for r in db.execute(
        sa.select(Listing.side, Listing.site, Listing.material, Listing.start, Listing.end).where(
            Listing.organisation == org, Listing.active.is_(True)))}
    created, skipped = [], 0
    for rec in made.to_dict("records"):
        if (rec["side"], rec["site"], rec["material"], rec["start"], rec["end"]) in existing:
            skipped += 1
            continue
        fields = {k: (None if isinstance(rec.get(k), float) and math.isnan(rec[k]) else rec.get(k)) for k in FIELDS}
        listing = Listing(**fields, organisation=org, created_by=actor.user_id or None)
        db.add(listing)
        created.append(listing)
    db.flush()
    for x in created:
        _make_periods(db, x)
    periods = period_rows(db, [x.id for x in created if x.recurrence])
    records = [listing_record(x, periods.get(x.id)) for x in created]
    audit.record_many(db, actor, [{"action": "create", "object_type": "listing", "object_id": r["id"],
                                   "after": {**r, "from": "registry"}} for r in records])
    return {"year": year, "recurrence": recurrence, "created": records, "skipped": skipped}


# ---- public aggregates -----------------------------------------------------------------------
def aggregates(db: Session) -> list[dict[str, Any]]:
    """Active listings by province × material × side: how many, from how many organisations and,
    where at least :data:`MIN_ORGS` organisations list, the tonnes listed and still available.
    No organisation, site or single listing is named."""
    sites = REGISTRY["sites"]
    # a recurring listing counts all its periods: per-period quantity × periods, less every period's reservation
    per = (sa.select(ListingPeriod.listing_id.label("lid"), sa.func.count().label("n"),
                     sa.func.sum(ListingPeriod.reserved_t).label("held"))
           .group_by(ListingPeriod.listing_id).subquery())
    rows = db.execute(sa.select(Listing.side, Listing.material, Listing.organisation, Listing.quantity_t,
                                Listing.reserved_t, sites.c.region, per.c.n, per.c.held)
                      .join(sites, sites.c.id == Listing.site).outerjoin(per, per.c.lid == Listing.id)
                      .where(Listing.active.is_(True))).all()
    frame = pd.DataFrame(rows, columns=["side", "material", "organisation", "quantity_t", "reserved_t", "region",
                                        "n", "held"])
    if frame.empty:
        return []
    frame["province"] = frame["region"].map(province_code)
    recurring = frame["n"].notna()
    frame["reserved_t"] = frame["reserved_t"].where(~recurring, frame["held"]).astype(float)
    frame["quantity_t"] = (frame["quantity_t"] * frame["n"].where(recurring, 1)).astype(float)
    frame["available_t"] = (frame["quantity_t"] - frame["reserved_t"]).clip(lower=0)
    g = frame.groupby(["province", "material", "side"], sort=True).agg(
        listings=("side", "size"), organisations=("organisation", "nunique"),
        quantity_t=("quantity_t", "sum"), available_t=("available_t", "sum")).reset_index()
    out = []
    for r in g.to_dict("records"):
        shown = int(r["organisations"]) >= MIN_ORGS
        out.append({"province": r["province"], "material": r["material"], "side": r["side"],
                    "listings": int(r["listings"]), "organisations": int(r["organisations"]),
                    "quantity_t": float(r["quantity_t"]) if shown else None,
                    "available_t": float(r["available_t"]) if shown else None, "suppressed": not shown})
    return out


# ---- matches ---------------------------------------------------------------------------------
# what the market's network reads (sites, terminals, lanes, the carbon price) and what they refer to
_MARKET_TABLES = ("regions", "organisations", "sites", "terminals", "lanes", "policy")


def _fingerprint(db: Session, table: sa.Table | type, pk: str, updated: str) -> tuple:
    t = table if isinstance(table, sa.Table) else table.__table__  # type: ignore[attr-defined]
    return tuple(db.execute(sa.select(sa.func.count(), sa.func.max(t.c[pk]), sa.func.max(t.c[updated]),
                                      sa.func.sum(t.c.row_version))).one())


class _Markets:
    """Markets built once per state of the registry and the listings, and the registry's
    scenario once per state of the registry (a few kept, least recently used first out):
    validating the registry and indexing every listing take seconds on the built-in data."""

    def __init__(self, size: int = 4):
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple, build) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        market = build()
        with self._lock:
            self._items[key] = market
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return market


_markets = _Markets()
_scenarios = _Markets(2)
_plan_flows: dict[tuple, pd.DataFrame] = {}


def market_listings(db: Session) -> pd.DataFrame:
    """Every active listing as the core's listings frame (LISTING_COLUMNS and reserved_t): id as
    text, NaN for no price / no bound."""
    from resynergy.exchange.listings import LISTING_COLUMNS

    columns = [*LISTING_COLUMNS, "reserved_t"]
    rows = db.execute(sa.select(Listing).where(Listing.active.is_(True)).order_by(Listing.id)).scalars().all()
    recs = []
    for r in rows:
        rec = {c: getattr(r, c, None) for c in columns}
        rec["id"] = str(r.id)
        recs.append(rec)
    frame = pd.DataFrame(recs, columns=columns)
    for c in (*NUMBERS, "reserved_t"):
        if c in frame:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    return frame


def registry_scenario(db: Session) -> Scenario:
    """The whole registry as a Scenario (the network the market costs routes on)."""
    frames = registry.frames(db)
    tables = {t: frames[t][registry.schema_columns(t)] for t in frames}
    try:
        return Scenario.from_tables(tables, name="registry")
    except ScenarioError as err:
        raise Rejected([issue_dict(i) for i in err.issues[:50]], 409) from None


def plan_flows(db: Session) -> tuple[Any, pd.DataFrame | None]:
    """(run, flows) of the latest published region-wide plan: its origin → destination tonnes
    per material (an intermodal route counted once, from its first to its last site); (None,
    None) when no plan is published."""
    run = runs.latest_published(db, "")
    if run is None:
        return None, None
    key = (str(db.get_bind().url), run.id, run.finished_at)
    if key not in _plan_flows:
        try:
            items, _ = runs.result_page(db, run, "flows", 10**9, 0)
        except NotFound:
            items = []
        f = pd.DataFrame(items, columns=["year", "from_site", "to_site", "material", "leg", "route", "t"])
        if "route" not in f or f.empty:
            od = pd.DataFrame(columns=["from_site", "to_site", "material", "t"])
        else:
            f["route"] = f["route"].fillna("")
            direct = f[f["route"] == ""]
            routed = f[f["route"] != ""]
            first = routed[routed["leg"] == "first_mile"].set_index(["year", "route", "material"])
            last = routed[routed["leg"] == "last_mile"].set_index(["year", "route", "material"])
            joined = first[["from_site", "t"]].join(last[["to_site"]], how="inner").reset_index()
            od = pd.concat([direct[["from_site", "to_site", "material", "t"]],
                            joined[["from_site", "to_site", "material", "t"]]], ignore_index=True)
            od = od.groupby(["from_site", "to_site", "material"], as_index=False)["t"].sum()
        if len(_plan_flows) > 8:
            _plan_flows.clear()
        _plan_flows[key] = od
    return run, _plan_flows[key]


def market(db: Session) -> Any:
    """The Market of the current listings and registry (cached while neither changes)."""
    from resynergy.exchange.matching import Market

    where = str(db.get_bind().url)
    network = (where, *(_fingerprint(db, REGISTRY[t], "pk", "updated_at") for t in _MARKET_TABLES))
    key = (*network, _fingerprint(db, Listing, "id", "updated_at"))

    def build() -> Any:
        from resynergy.exchange.listings import ListingsError

        # the registry changes far less often than the listings: its scenario is kept apart
        frame, scenario = market_listings(db), _scenarios.get(network, lambda: registry_scenario(db))
        try:
            return Market(frame, scenario)
        except ListingsError as err:  # a stored listing the rules no longer take stays off the market
            bad = sorted({i.row - 2 for i in err.issues if i.row is not None})
            return Market(frame.drop(index=bad).reset_index(drop=True), scenario)

    return _markets.get(key, build)


def _names(db: Session, table: str, key: str, codes: set[str]) -> dict[str, tuple[str, str]]:
    if not codes:
        return {}
    t = REGISTRY[table]
    return {str(k): (str(z), str(e or z)) for k, z, e in db.execute(
        sa.select(t.c[key], t.c.name_zh, t.c.name_en).where(t.c[key].in_(sorted(codes))))}


def matches(db: Session, actor: Actor, listing_id: int, k: int = 10) -> dict[str, Any]:
    """Counterparts of a listing ``actor`` may read, ranked by delivered cost, with names; and
    which published plan marks its pairings."""
    listing = get_listing(db, actor, listing_id)
    run, flows = plan_flows(db)
    m = market(db)
    try:
        top = m.top(str(listing_id), k=k, plan_flows=flows)
    except KeyError:  # withdrawn (inactive) listings are not on the market
        top = None
    items = [] if top is None else [{c: plain(v) for c, v in r.items()} for r in top.records()]
    sites = _names(db, "sites", "id", {str(i["site"]) for i in items} | {listing["site"]})
    orgs = _names(db, "organisations", "uscc", {str(i["organisation"]) for i in items})
    mats = registry.ref_names(db, actor, "materials.code", {str(i["material"]) for i in items} | {listing["material"]})
    _per_period(db, listing, items)
    for i in items:
        i["site_name"] = sites.get(str(i["site"]), (i["site"], i["site"]))
        i["organisation_name"] = orgs.get(str(i["organisation"]), (i["organisation"], i["organisation"]))
        i["material_name"] = mats.get(str(i["material"]), (i["material"], i["material"]))
        i["plan_recommended"] = bool(i.get("plan_recommended"))
        i["counterpart_side"] = "want" if listing["side"] == "offer" else "offer"
    return {"listing": listing, "active": top is not None, "items": items,
            "site_name": sites.get(listing["site"], (listing["site"], listing["site"])),
            "material_name": mats.get(listing["material"], (listing["material"], listing["material"])),
            "plan": None if run is None else {"run_id": run.id, "title": run.title}}


def _per_period(db: Session, listing: dict, items: list[dict]) -> None:
    """Each match's tradeable quantity per period of the deal it would make
    (:func:`resynergy.exchange.listings.common_quantity` of the two listings' available
    quantities) with that recurrence and its words ("每月 / per month")."""
    ids = [int(i["counterpart"]) for i in items]
    other = {r.id: r for r in db.execute(sa.select(Listing.id, Listing.quantity_t, Listing.reserved_t,
                                                   Listing.recurrence).where(Listing.id.in_(ids)))} if ids else {}
    for i in items:
        r = other.get(int(i["counterpart"]))
        rec = listing["recurrence"] or ""
        if r is not None:
            mine = (listing["available_t"], rec)
            theirs = (max(0.0, r.quantity_t - r.reserved_t), r.recurrence or "")
            offer, want = (mine, theirs) if listing["side"] == "offer" else (theirs, mine)
            i["quantity_t"], rec = core_listings.common_quantity(*offer, *want)
        i["recurrence"] = rec
        i["per_period"] = list(core_listings.PER_PERIOD[rec])


# ---- deals -----------------------------------------------------------------------------------
OPEN_DEALS = ("inquiry", "offered", "accepted")


def deal_record(deal: Deal, delivered: float | dict[str, float] | None = None) -> dict[str, Any]:
    """A deal as the API shows it, with ``periods`` (1 on a one-off deal), ``agreed_t`` (all its
    tonnes: per period × periods), ``delivered_t`` (the accepted tonnes of its processed
    manifests: ``delivered`` while open, as recorded once completed), ``open_t`` (what is
    still to be delivered on an open deal) and, on an open recurring deal given its deliveries
    per period (:func:`deliveries`), ``by_period``: each period's agreed and delivered tonnes."""
    out = _record(deal)
    rec = deal.recurrence or ""
    got = delivered if isinstance(delivered, dict) else None
    if got is not None:
        delivered = sum(got.values())
    out["by_period"] = [{"period": k, "label": core_listings.period_label(rec, k), "agreed_t": float(deal.quantity_t),
                         "delivered_t": got.get(k, 0.0)} for k in core_listings.periods(rec, deal.start, deal.end)
                        ] if rec and got is not None else []
    out["periods"] = len(core_listings.periods(rec, deal.start, deal.end)) if rec else 1
    out["agreed_t"] = core_listings.total_t(deal.quantity_t, rec, deal.start, deal.end)
    out["per_period"] = list(core_listings.PER_PERIOD[rec])
    if deal.delivered_t is None:
        out["delivered_t"] = float(delivered or 0.0)
    out["open_t"] = max(0.0, out["agreed_t"] - out["delivered_t"]) if deal.state in OPEN_DEALS else 0.0
    return out


def deal_records(db: Session, deals: list[Deal]) -> list[dict[str, Any]]:
    """:func:`deal_record` of many deals, their deliveries read in one query."""
    got = deliveries(db, [d for d in deals if d.delivered_t is None and d.state == "accepted"])
    return [deal_record(d, got.get(d.id)) for d in deals]


def delivery_period(deal: Deal, day: str) -> str:
    """The deal's period a delivery dated ``day`` counts in ('' on a one-off deal): the period of
    its date, the first or last of the deal's periods for a date before or after them."""
    rec = deal.recurrence or ""
    if not rec:
        return ""
    keys = core_listings.periods(rec, deal.start, deal.end)
    if core_listings.parse_date(day[:10]) is None:
        return keys[-1]
    return min(max(core_listings.period_of(rec, day[:10]), keys[0]), keys[-1])


def deliveries(db: Session, deals: list[Deal]) -> dict[int, dict[str, float]]:
    """What each deal's processed manifests delivered, per period of the deal ('' on a one-off
    deal): the weighed tonnes less the refused ones (the accepted tonnes, as the actual flows
    count them), each manifest in the period of its handover date (``sent_at``). Linked
    manifests (returns and redirects of refused loads) are not deliveries under the deal."""
    if not deals:
        return {}
    by = {d.id: d for d in deals}
    rows = db.execute(sa.select(Manifest.deal_id, Manifest.fields).where(
        Manifest.deal_id.in_(sorted(by)), Manifest.parent_id.is_(None), Manifest.state == "processed")).all()
    out: dict[int, dict[str, float]] = {i: {} for i in by}
    for deal_id, f in rows:
        t = (int(f.get("received_kg") or 0) - int(f.get("refused_kg") or 0)) / 1000
        key = delivery_period(by[deal_id], str(f.get("sent_at") or f.get("processed_at") or ""))
        out[deal_id][key] = out[deal_id].get(key, 0.0) + t
    return out


def _visible_deals(actor: Actor) -> sa.Select:
    return _allowed(Deal, access.deal_filter(actor, Deal.seller_org, Deal.buyer_org, Deal.from_site, Deal.to_site))


def list_deals(db: Session, actor: Actor, *, state: str = "", limit: int = 50, offset: int = 0
               ) -> tuple[list[dict], int]:
    q = database.where_given(_visible_deals(actor), (Deal.state, state))
    rows, total = database.page(db, q, Deal.id.desc(), limit=limit, offset=offset)
    return deal_records(db, list(rows)), total


def get_deal(db: Session, actor: Actor, deal_id: int) -> dict:
    return deal_records(db, [_found(db, _visible_deals(actor).where(Deal.id == deal_id), f"deal {deal_id}")])[0]


def _deal_issue(code: str, zh: str, en: str, column: str = "", value: object = None) -> dict:
    return _issue(code, zh, en, column, value, table="deals")


def _compatible(offer: Listing, want: Listing) -> bool:
    """The want takes the offer's material and hazardous-waste code (the core's rules)."""
    from resynergy import catalog
    from resynergy.exchange.compat import accepted_materials, hazard_ok, process_inputs

    takes = accepted_materials(want.material, want.accepts, process_inputs(catalog.table("process_io")))
    return offer.material in takes and hazard_ok(offer.hazardous_code, want.hazardous_code)


def _market_listing(db: Session, listing_id: int | None, side: str, column: str) -> Listing:
    """An active listing of ``side`` on the market (any organisation's: found through matches)."""
    hit = db.get(Listing, listing_id) if listing_id else None
    if hit is None or hit.side != side or not hit.active:
        words = SIDE_WORDS[side]
        raise Rejected([_deal_issue("unknown_ref", f"没有编号为 {listing_id} 的在架{words[0]}信息",
                                    f"no active {words[1]} listing {listing_id}", column, listing_id)])
    return hit


def create_deal(db: Session, actor: Actor, rec: dict[str, Any]) -> dict:
    """Open a deal on an offer: the buyer's inquiry (its want, or a delivery site of its own), or
    the seller's offer to a want (state 'offered' at once). Not committed."""
    access.require(actor, access.LISTING_WRITERS, "open deal")
    _start(db)
    issues: list[dict] = []
    offer = _market_listing(db, rec.get("offer_id"), "offer", "offer_id")
    want = _market_listing(db, rec.get("want_id"), "want", "want_id") if rec.get("want_id") else None
    to_site = want.site if want is not None else str(rec.get("to_site") or "")
    site = _site(db, to_site)
    if want is None and site is None:
        raise Rejected([_deal_issue("required", "请指定需求信息（want_id）或收货站点（to_site）",
                                    "name the want (want_id) or the delivery site (to_site)", "to_site", to_site)])
    buyer = want.organisation if want is not None else (site or {}).get("org_uscc", "")
    if want is not None and rec.get("to_site") and rec["to_site"] != want.site:
        issues.append(_deal_issue("not_allowed", "收货站点应为需求信息的站点", "the delivery site is the want's site",
                                  "to_site", rec["to_site"]))
    if not buyer:
        issues.append(_deal_issue("no_owner", "收货站点未登记运营单位", "the delivery site has no operating organisation",
                                  "to_site", to_site))
    party = access.deal_party(actor, offer.organisation, buyer)
    if actor.role == "enterprise" and party == "":
        # an enterprise buys for its own sites only (another's site is reported as unknown)
        raise Rejected([_deal_issue("unknown_ref", "收货站点不存在（或不属于本单位）",
                                    "no such delivery site (or not one of your organisation's)", "to_site", to_site)])
    if buyer and buyer == offer.organisation:
        issues.append(_deal_issue("same_party", "不能与本单位自己洽谈", "a deal needs two different organisations",
                                  "offer_id", offer.id))
    if party == "seller" and want is None:
        issues.append(_deal_issue("required", "供应方发起洽谈时须指定对方的需求信息（want_id）",
                                  "a seller opens a deal on a want (want_id)", "want_id"))
    if want is not None and not _compatible(offer, want):
        issues.append(_deal_issue("incompatible", "该需求不接受此物料（或其危险废物代码）",
                                  "the want does not take this material (or its hazardous-waste code)",
                                  "want_id", want.id))
    q = rec.get("quantity_t")
    recurrence = core_listings.deal_recurrence(offer.recurrence, want.recurrence if want is not None else "")
    start, end, period_issues = _deal_periods(recurrence, [x for x in (offer, want) if x is not None],
                                              rec.get("start"), rec.get("end"))
    issues += period_issues
    if not isinstance(q, (int, float)) or isinstance(q, bool) or not math.isfinite(q) or q <= 0:
        issues.append(_deal_issue("below_min", "数量应大于 0 吨", "the quantity must be more than 0 t", "quantity_t", q))
    elif not period_issues:
        short = _shortfall(db, recurrence, _amounts(recurrence, start, end, float(q)), offer, want)
        if short is not None:
            issues.append(short)
    if (bad_mode := _mode_issue(rec.get("mode"))) is not None:
        issues.append(bad_mode)
    price = rec.get("price_yuan_t", offer.price_yuan_t)
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price)):
        issues.append(_deal_issue("not_number", "应为有限数值", "expected a finite number", "price_yuan_t", price))
    if issues:
        raise Rejected(issues)
    deal = Deal(offer_id=offer.id, want_id=want.id if want is not None else None, seller_org=offer.organisation,
                buyer_org=buyer, from_site=offer.site, to_site=to_site, material=offer.material,
                quantity_t=float(q), price_yuan_t=None if price is None else float(price),
                mode=str(rec.get("mode") or ""), state="offered" if party == "seller" else "inquiry",
                recurrence=recurrence, start=start, end=end, created_by=actor.user_id or None)
    db.add(deal)
    db.flush()
    audit.record(db, actor, "create", "deal", deal.id, after=deal_record(deal))
    return deal_record(deal)


def _deal_periods(recurrence: str, lots: list[Listing], start: object, end: object
                  ) -> tuple[str, str, list[dict]]:
    """A deal's first and last day and the issues with them. A one-off deal has none. A
    recurring one runs, by default, over the periods its listings share (the latest start, the
    earliest end); given dates must bound whole periods of its recurrence within every listing's
    period."""
    start, end = str(start or "").strip(), str(end or "").strip()
    if not recurrence:
        given = "start" if start else "end" if end else ""
        if given:
            return "", "", [_deal_issue("not_allowed", "一次性的洽谈不分周期，开始、结束日期请留空",
                                        "a one-off deal has no periods: leave start and end blank", given,
                                        start or end)]
        return "", "", []
    words = core_listings.RECURRENCE_WORDS[recurrence]
    issues = []
    starts = [x.start for x in lots if x.start]
    ends = [x.end for x in lots if x.end]
    if not start and starts:  # by default the whole periods the listings share
        start = max(starts)
        if core_listings.parse_date(start) is not None and not core_listings.aligned(recurrence, start, "")[0]:
            nxt = core_listings.period_bounds(recurrence, core_listings.period_of(recurrence, start))[1]
            start = (pd.Timestamp(nxt) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    if not end and ends:
        end = min(ends)
        if core_listings.parse_date(end) is not None and not core_listings.aligned(recurrence, "", end)[1]:
            first = core_listings.period_bounds(recurrence, core_listings.period_of(recurrence, end))[0]
            end = (pd.Timestamp(first) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    for col, day in (("start", start), ("end", end)):
        if core_listings.parse_date(day) is None:
            issues.append(_deal_issue("bad_date", "应为日期「YYYY-MM-DD」（如 2022-03-01）",
                                      "expected a date YYYY-MM-DD (e.g. 2022-03-01)", col, day))
    if issues:
        return start, end, issues
    if start > end:
        return start, end, [_deal_issue("period_order", f"开始日期 {start} 晚于结束日期 {end}（各方信息没有共同的期限）",
                                        f"start {start} is after end {end} (the listings share no period)",
                                        "start", start)]
    s_ok, e_ok = core_listings.aligned(recurrence, start, end)
    if not s_ok:
        first = core_listings.period_bounds(recurrence, core_listings.period_of(recurrence, start))[0]
        issues.append(_deal_issue("recurrence_start", f"{words[0]}的洽谈应从一个周期的第一天开始（如 {first}）",
                                  f"a {words[1]} deal starts on the first day of a period (e.g. {first})", "start", start))
    if not e_ok:
        last = core_listings.period_bounds(recurrence, core_listings.period_of(recurrence, end))[1]
        issues.append(_deal_issue("recurrence_end", f"{words[0]}的洽谈应在一个周期的最后一天结束（如 {last}）",
                                  f"a {words[1]} deal ends on the last day of a period (e.g. {last})", "end", end))
    for x in lots:
        if (x.start and start < x.start) or (x.end and end > x.end):
            side = SIDE_WORDS[x.side]
            issues.append(_deal_issue(
                "outside_period", f"洽谈期限 {start} 至 {end} 超出{side[0]}信息 #{x.id} 的期限 {x.start or '不限'} 至 {x.end or '不限'}",
                f"the deal's term {start} to {end} is outside {side[1]} #{x.id}'s {x.start or 'open'} to {x.end or 'open'}",
                "start" if x.start and start < x.start else "end", start if x.start and start < x.start else end))
    return start, end, issues


def _amounts(recurrence: str, start: str, end: str, q: float) -> dict[str, float]:
    """A deal's tonnes per period ({'': q} when one-off)."""
    return {k: q for k in core_listings.periods(recurrence, start, end)} if recurrence else {"": q}


def _free(db: Session, lot: Listing) -> dict[str, float]:
    """What a lot still holds: per period of a recurring lot, {'': t} of a one-off one."""
    if not lot.recurrence:
        return {"": float(lot.quantity_t - lot.reserved_t)}
    return {p.period: p.quantity_t - p.reserved_t
            for p in db.scalars(sa.select(ListingPeriod).where(ListingPeriod.listing_id == lot.id))}


def _short_issue(lot: Listing, recurrence: str, key: str, need: float, left: float, *, now: bool = False) -> dict:
    """The located issue of a lot (or want) that cannot take ``need`` in period ``key``."""
    when_zh = f"{core_listings.period_label(lot.recurrence, key)} " if key else ""
    when_en = f" in {core_listings.period_label(lot.recurrence, key)}" if key else ""
    if lot.side == "want":
        return _deal_issue("over_wanted", f"超过需求{when_zh}尚缺数量（{left:g} 吨）" + ("，未成交" if now else ""),
                           f"more than the want still needs{when_en} ({left:g} t)" + ("; nothing was accepted" if now else ""),
                           "quantity_t", need)
    if now:
        return _deal_issue("over_available", f"该批次{when_zh}可供数量已不足（尚余 {left:g} 吨，本洽谈 {need:g} 吨），未成交",
                           f"the lot no longer holds the quantity{when_en} ({left:g} t left, the deal is {need:g} t); "
                           "nothing was accepted", "quantity_t", need)
    return _deal_issue("over_available", f"超过该批次{when_zh}可供数量（尚余 {left:g} 吨）",
                       f"more than the lot still holds{when_en} ({left:g} t left)", "quantity_t", need)


def _shortfall(db: Session, recurrence: str, amounts: dict[str, float], *lots: Listing | None) -> dict | None:
    """The first lot period that cannot take its share of a deal's ``amounts`` (an issue), or
    None when every one can (read now; acceptance reserves them atomically)."""
    for lot in lots:
        if lot is None:
            continue
        free = _free(db, lot)
        for key, need in core_listings.allocate(recurrence, amounts, lot.recurrence or "").items():
            left = free.get(key)
            if left is None or need > left + _ROUNDING_T:
                return _short_issue(lot, recurrence, key, need, max(0.0, left or 0.0))
    return None


def _mode_issue(mode: object) -> dict | None:
    """An issue when ``mode`` is not '' nor a transport mode of the catalog (the manifests and
    actual flows of the deal carry it on)."""
    from resynergy import catalog

    if not mode or str(mode) in set(catalog.table("modes")["id"].astype(str)):
        return None
    return _deal_issue("unknown_ref", "运输方式不在目录中（如 road_diesel、rail）",
                       "no such transport mode in the catalog (e.g. road_diesel, rail)", "mode", mode)


def _step_refused(deal: Deal, step: Step) -> Rejected:
    state = STATE_WORDS[deal.state]
    allowed_zh = "、".join(f"「{STATE_WORDS[s][0]}」" for s in step.sources)
    allowed_en = ", ".join(STATE_WORDS[s][1] for s in step.sources)
    return Rejected([_deal_issue(
        "illegal_transition", f"洽谈当前为「{state[0]}」，不能{step.zh}；只有{allowed_zh}的洽谈可以{step.zh}",
        f"the deal is {state[1]}: it cannot be {step.name}ed here — only a deal that is {allowed_en} can",
        "state", deal.state)], 409)


def _party_refused(actor: Actor, deal: Deal, step: Step, who: str) -> Exception:
    if actor.role != "enterprise":
        return Denied(actor, step.name)
    words = {"seller": ("供应方", "the seller"), "buyer": ("需求方", "the buyer")}[who]
    return Rejected([_deal_issue("not_your_turn", f"只有{words[0]}可以{step.zh}",
                                 f"only {words[1]} may {step.name} this deal", "state", deal.state)], 403)


def _whose(st: Step, state: str) -> str:
    """Who takes ``st`` on a deal in ``state``: 'seller', 'buyer' or 'either'."""
    return st.by if st.by != "turn" else ("seller" if state == "inquiry" else "buyer")


def _may(actor: Actor, st: Step, seller: str, buyer: str, state: str) -> bool:
    party = access.deal_party(actor, seller, buyer)
    who = _whose(st, state)
    return party == "admin" or (party != "" and (who == "either" or party == who))


def may_take(actor: Actor, deal: dict, name: str) -> bool:
    """May ``actor`` take step ``name`` on ``deal`` (a :func:`deal_record`) now? (What the
    pages offer; :func:`step` applies the same rule.)"""
    st = STEPS[name]
    return deal["state"] in st.sources and _may(actor, st, deal["seller_org"], deal["buyer_org"], deal["state"])


def _draw(db: Session, lot_id: int, recurrence: str, amounts: dict[str, float], sign: int) -> dict | None:
    """Reserve (``sign`` 1) or release (-1) a deal's ``amounts`` (per period of the deal's
    ``recurrence``) on a lot, in the caller's transaction: the lot's row is locked first, then
    each period it draws on takes its share with one conditional UPDATE checked by its row count
    (a one-off lot: :func:`_reserve`); a recurring lot's ``reserved_t`` becomes its
    least-reserved period's. None when it applied, else the issue of the period that could not
    take it (the caller rolls back)."""
    _lock(db, lot_id)
    lot = db.scalars(sa.select(Listing).where(Listing.id == lot_id).execution_options(populate_existing=True)).one()
    alloc = core_listings.allocate(recurrence, amounts, lot.recurrence or "")
    if not lot.recurrence:
        if _reserve(db, lot_id, alloc[""], sign):
            return None
        if sign < 0:
            return registry.stale_issue("listings", lot_id)
        left = db.scalar(sa.select(Listing.quantity_t - Listing.reserved_t).where(Listing.id == lot_id)) or 0.0
        return _short_issue(lot, recurrence, "", alloc[""], left, now=True)
    p = ListingPeriod
    for key, t in sorted(alloc.items()):
        if t <= 0:
            continue
        if sign > 0:
            cond, value = p.reserved_t + t <= p.quantity_t + _ROUNDING_T, sa.case(
                (p.reserved_t + t > p.quantity_t, p.quantity_t), else_=p.reserved_t + t)
        else:
            cond, value = p.reserved_t - t >= -_ROUNDING_T, sa.case((p.reserved_t - t < 0, 0.0), else_=p.reserved_t - t)
        done = db.execute(sa.update(p).where(p.listing_id == lot_id, p.period == key, cond).values(reserved_t=value)
                          .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            if sign < 0:
                return registry.stale_issue("listings", lot_id)
            left = db.scalar(sa.select(p.quantity_t - p.reserved_t).where(p.listing_id == lot_id, p.period == key))
            return _short_issue(lot, recurrence, key, t, max(0.0, left or 0.0), now=True)
    least = sa.select(sa.func.min(p.reserved_t)).where(p.listing_id == lot_id).scalar_subquery()
    db.execute(sa.update(Listing).where(Listing.id == lot_id).values(
        reserved_t=least, row_version=Listing.row_version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return None


IN_FLIGHT = ("draft", "sealed", "sent", "in_transit", "received")  # manifests not yet settled


def _complete(db: Session, deal: Deal) -> dict[str, Any]:
    """Close an accepted deal: refused (409) while one of its manifests is not settled
    (processed, refused or cancelled); otherwise record what its processed manifests delivered
    and release, per period, what was not delivered (a period delivered in full or beyond
    releases nothing). The columns to write."""
    waiting = list(db.scalars(sa.select(Manifest.number).where(
        Manifest.deal_id == deal.id, Manifest.state.in_(IN_FLIGHT)).order_by(Manifest.id)))
    if waiting:
        db.rollback()
        shown = "、".join(waiting[:5]) + ("…" if len(waiting) > 5 else "")
        raise Rejected([_deal_issue(
            "manifests_open", f"交易 {deal.id} 还有未办结的联单（{shown}）：请先接收、处置或作废后再标记完成",
            f"deal {deal.id} has manifests not yet settled ({', '.join(waiting[:5])}): receive and process "
            "or cancel them before completing the deal", "state", deal.state)], 409)
    rec = deal.recurrence or ""
    got = deliveries(db, [deal])[deal.id]
    q = float(deal.quantity_t)
    rest = {k: q - min(q, got.get(k, 0.0)) for k in _amounts(rec, deal.start, deal.end, q)}
    rest = {k: v for k, v in rest.items() if v > _ROUNDING_T}
    if rest:
        for lot in (deal.offer_id, deal.want_id):
            if lot is not None and (bad := _draw(db, lot, rec, rest, -1)) is not None:
                db.rollback()
                raise Rejected([bad], 409)
    return {"delivered_t": sum(got.values()), "released_t": sum(rest.values())}


def _reserve(db: Session, listing_id: int, q: float, sign: int = 1) -> bool:
    """Reserve (``sign`` 1) or release (-1) ``q`` tonnes on a listing: one conditional UPDATE,
    true when it applied (the lot still held ``q``; on release, ``q`` was still reserved, up to
    float rounding of the earlier sums, and the result never goes below 0)."""
    cond = [Listing.id == listing_id]
    if sign > 0:
        cond.append(Listing.reserved_t + q <= Listing.quantity_t)
        reserved: Any = Listing.reserved_t + q
    else:
        cond.append(Listing.reserved_t - q >= -_ROUNDING_T)
        reserved = sa.case((Listing.reserved_t - q < 0, 0.0), else_=Listing.reserved_t - q)
    done = db.execute(sa.update(Listing).where(*cond).values(
        reserved_t=reserved, row_version=Listing.row_version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return done.rowcount == 1


_ROUNDING_T = 1e-6  # tonnes: float error of sums of reservations (1 g), never a real quantity


def _release(db: Session, actor: Actor, deal: Deal) -> None:
    """Undo an accepted deal's reservations, in the caller's transaction, after voiding its
    unsent manifests; refused (409) when one of its manifests was already sent."""
    from resynergy.services import manifests  # manifests need deals; deals need this one hook

    manifests.void_unsent_of_deal(db, actor, deal.id)
    amounts = _amounts(deal.recurrence or "", deal.start, deal.end, float(deal.quantity_t))
    for lot in (deal.offer_id, deal.want_id):
        if lot is not None and (bad := _draw(db, lot, deal.recurrence or "", amounts, -1)) is not None:
            db.rollback()
            raise Rejected([bad], 409)


def step(db: Session, actor: Actor, deal_id: int, name: str, changes: dict[str, Any] | None = None) -> dict:
    """Take one step of a deal (see :data:`STEPS`) and commit it. ``changes`` of an offer: the
    seller's price, quantity and mode. Accepting reserves the quantity on the offer (and on the
    want) atomically: refused, with nothing changed, when the lot no longer holds it."""
    st = STEPS[name]
    _start(db)
    deal = db.scalar(_visible_deals(actor).where(Deal.id == deal_id))
    if deal is None:
        raise NotFound(f"deal {deal_id}")
    who = _whose(st, deal.state)
    if not _may(actor, st, deal.seller_org, deal.buyer_org, deal.state):
        raise _party_refused(actor, deal, st, who if who != "either" else "buyer")
    if deal.state not in st.sources:
        raise _step_refused(deal, st)
    before = deal_records(db, [deal])[0]
    values: dict[str, Any] = {"state": st.target, "row_version": Deal.row_version + 1, "updated_at": utcnow()}
    if name == "offer" and changes:
        issues = []
        for k in ("quantity_t", "price_yuan_t"):
            v = changes.get(k)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (k == "quantity_t" and v <= 0):
                issues.append(_deal_issue("not_number", "应为大于 0 的有限数值" if k == "quantity_t" else "应为有限数值",
                                          "expected a finite number above 0" if k == "quantity_t" else
                                          "expected a finite number", k, v))
            else:
                values[k] = float(v)
        q = values.get("quantity_t")
        if q is not None:
            short = _shortfall(db, deal.recurrence or "", _amounts(deal.recurrence or "", deal.start, deal.end, q),
                               db.get(Listing, deal.offer_id), db.get(Listing, deal.want_id) if deal.want_id else None)
            if short is not None:
                issues.append(short)
        if changes.get("mode"):
            if (bad_mode := _mode_issue(changes["mode"])) is not None:
                issues.append(bad_mode)
            values["mode"] = str(changes["mode"])
        if issues:
            raise Rejected(issues)
    if name == "accept":
        values["accepted_at"] = utcnow()
        amounts = _amounts(deal.recurrence or "", deal.start, deal.end, float(deal.quantity_t))
        for lot in (deal.offer_id, deal.want_id):
            if lot is not None and (short := _draw(db, lot, deal.recurrence or "", amounts, 1)) is not None:
                db.rollback()
                raise Rejected([short], 409)
    if name == "cancel" and deal.state == "accepted":
        _release(db, actor, deal)
    if name == "complete":
        values.update(_complete(db, deal))
    done = db.execute(sa.update(Deal).where(Deal.id == deal_id, Deal.state == deal.state,
                                            Deal.row_version == deal.row_version).values(**values)
                      .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # another step got there first
        db.rollback()
        raise Rejected([registry.stale_issue("deals", deal_id)], 409)
    db.refresh(deal)
    after = deal_records(db, [deal])[0]
    audit.record(db, actor, name, "deal", deal_id, before=before, after=after)
    db.commit()
    return after


# ---- the command line ------------------------------------------------------------------------
CONSOLE = Actor(0, "console", "admin")  # whoever runs a command holds the database itself


def console_matches(url: str | None, listing_id: int, k: int = 10) -> dict[str, Any]:
    """:func:`matches` for ``resynergy exchange match``: the database at ``url`` (default as
    the server's), read as the console (every listing). NotFound for an unknown listing;
    LookupError when the database has no exchange tables yet (not migrated)."""
    with database.session(url) as db:
        if "listings" not in sa.inspect(db.get_bind()).get_table_names():
            raise LookupError(db.get_bind().engine.url.render_as_string(hide_password=True))
        return matches(db, CONSOLE, listing_id, k)


def region_names(db: Session, codes: set[str]) -> dict[str, tuple[str, str]]:
    """Names (zh, en) of regions: public facts, for the public aggregates."""
    return _names(db, "regions", "code", codes)


def party_names(db: Session, deals: list[dict]) -> dict[str, dict[str, tuple[str, str]]]:
    """Names (zh, en) of the sites and organisations of deals: the parties of a deal may read
    each other's names (their registry rows stay private)."""
    return {"sites": _names(db, "sites", "id", {d[k] for d in deals for k in ("from_site", "to_site")}),
            "organisations": _names(db, "organisations", "uscc",
                                    {d[k] for d in deals for k in ("seller_org", "buyer_org")})}
