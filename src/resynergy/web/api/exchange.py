"""REST resources of the exchange (#12): /api/v1/listings, /api/v1/matches, /api/v1/deals.

Listings follow the registry's optimistic locking: a listing's ETag is its ``row_version``;
PATCH and DELETE must send it back as ``If-Match`` (428 without, 412 when it changed). Deal steps
are POSTs named for the step; an illegal step is refused (409) saying which states allow it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from resynergy.services import exchange
from resynergy.web.api.registry import IfMatch, if_match, tagged
from resynergy.web.api.rows import NO_CONTROL
from resynergy.web.deps import DB, CurrentActor
from resynergy.web.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND, PRECONDITION

router = APIRouter()
TAG_LISTINGS, TAG_DEALS = "exchange: listings", "exchange: deals"
Id = Annotated[int, Path(ge=1, le=2**31 - 1, description="编号 / id")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Province = Annotated[str, Query(pattern=r"^(\d{6})?$", description="省级行政区划代码 / province code, e.g. 130000")]
Material = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_]*$", description="物料代码 / material code")]
K = Annotated[int, Query(ge=1, le=100, description="返回前 k 个 / how many counterparts")]
_STRICT = {"strict": True, "extra": "forbid", "allow_inf_nan": False}

Text = Annotated[str, Field(max_length=200, pattern=NO_CONTROL)]
Code = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_]*$")]
Accepts = Annotated[str, Field(max_length=512, pattern=r"^[A-Za-z0-9_:|]*$")]
HwCodes = Annotated[str, Field(max_length=200, pattern=r"^[0-9A-Z|-]*$")]
Day = Annotated[str, Field(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$",
                           description="日期 YYYY-MM-DD，空为不限 / date, '' = open")]

_LISTING_EXAMPLE = {"side": "offer", "site": "ts-steel-01", "material": "steel_slag", "quantity_t": 50000.0,
                    "start": "2026-01-01", "end": "2026-12-31", "price_yuan_t": 35.0, "spec_moisture_pct": 8.0}
# 5 000 t of steel slag every month of 2022 (quantity_t per period)
_RECURRING_EXAMPLE = {"side": "offer", "site": "ts-steel-01", "material": "steel_slag", "quantity_t": 5000.0,
                      "recurrence": "monthly", "start": "2022-01-01", "end": "2022-12-31", "price_yuan_t": 35.0}
Recurrence = Literal["", "monthly", "quarterly", "yearly"]
_RECURRENCE_TEXT = ("重复周期：monthly 每月、quarterly 每季度、yearly 每年，数量为每期数量，须填起止日期（整周期）；"
                    "空为一次性 / recurrence: the listing repeats every calendar month, quarter or year from start to end "
                    "(whole periods) and quantity_t is per period; '' = one-off")


class _Specs(BaseModel):
    """Quality specs: an offer states values (spec_<name>), a want ranges (spec_<name>_min/_max);
    null = not stated / no bound. Moisture, CaO, SO3 and Cl in %, fineness in m2/kg."""

    spec_moisture_pct: float | None = None
    spec_fineness_m2_kg: float | None = None
    spec_cao_pct: float | None = None
    spec_so3_pct: float | None = None
    spec_cl_pct: float | None = None
    spec_moisture_pct_min: float | None = None
    spec_moisture_pct_max: float | None = None
    spec_fineness_m2_kg_min: float | None = None
    spec_fineness_m2_kg_max: float | None = None
    spec_cao_pct_min: float | None = None
    spec_cao_pct_max: float | None = None
    spec_so3_pct_min: float | None = None
    spec_so3_pct_max: float | None = None
    spec_cl_pct_min: float | None = None
    spec_cl_pct_max: float | None = None


class _ListingBase(BaseModel):

    site: Text = Field(description="站点代码（本单位站点）/ site id (one of your organisation's)")
    material: Code = Field(description="物料代码 / material code")
    accepts: Accepts = Field(
        "", description="需求可接受的替代物料，用 | 分隔，process:<工艺> 表示该工艺的全部原料 / a want's accepted "
                        "substitutes, '|'-separated; process:<id> = every input of that process")
    quantity_t: float = Field(gt=0, le=1e12, description="数量（吨；重复的为每期）/ quantity [t] (per period when recurring)")
    start: Day = ""
    end: Day = ""
    recurrence: Recurrence = Field("", description=_RECURRENCE_TEXT)
    price_yuan_t: float | None = Field(None, ge=-1e6, le=1e6, description="供应：报价；需求：最高价；空为面议 / "
                                       "offer: ask; want: cap [yuan/t]; null = negotiable")
    hazardous_code: HwCodes = Field(
        "", description="供应：危险废物代码 ddd-ddd-dd，非危废留空；需求：可接收的代码或类别（HW08），用 | 分隔 / "
                        "offer: its HW code, '' if not hazardous; want: the codes or categories (HW08) it may "
                        "receive, '|'-separated")


class ListingIn(_ListingBase, _Specs):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [_LISTING_EXAMPLE, _RECURRING_EXAMPLE]})  # type: ignore[typeddict-item]

    side: Literal["offer", "want"] = Field(description="offer 供应 / want 需求")


class ListingPatch(_Specs):
    """Only the fields given change."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{"quantity_t": 40000.0, "price_yuan_t": 30.0}]})  # type: ignore[typeddict-item]

    site: Text | None = None
    material: Code | None = None
    accepts: Accepts | None = None
    quantity_t: float | None = Field(None, gt=0, le=1e12)
    start: Day | None = None
    end: Day | None = None
    price_yuan_t: float | None = Field(None, ge=-1e6, le=1e6)
    hazardous_code: HwCodes | None = None
    recurrence: Recurrence | None = Field(None, description=_RECURRENCE_TEXT)
    active: bool | None = Field(None, description="上架 / listed (false = withdrawn)")


class PeriodOut(BaseModel):
    period: str = Field(description="周期首月 YYYY-MM / the period's first month")
    label: str = Field(description="如 2022-03、2022-Q1、2022 / as written: month, quarter, year")
    quantity_t: float
    reserved_t: float = Field(description="该期已成交占用（吨）/ reserved in this period [t]")
    available_t: float


class ListingOut(_Specs):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "row_version": 1, "organisation": "91130200MA0A00000X", **_LISTING_EXAMPLE, "accepts": "",
        "hazardous_code": "", "active": True, "reserved_t": 10000.0, "available_t": 40000.0, "created_by": 7,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "recurrence": "",
        "total_t": 50000.0, "per_period": ["", ""], "periods": []}, {
        "id": 2, "row_version": 3, "organisation": "91130200MA0A00000X", **_RECURRING_EXAMPLE, "accepts": "",
        "hazardous_code": "", "active": True, "reserved_t": 0.0, "available_t": 5000.0, "total_t": 60000.0,
        "per_period": ["每月", "per month"], "created_by": 7, "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z", "periods": [
            {"period": "2022-01", "label": "2022-01", "quantity_t": 5000.0, "reserved_t": 2000.0, "available_t": 3000.0},
            {"period": "2022-02", "label": "2022-02", "quantity_t": 5000.0, "reserved_t": 0.0, "available_t": 5000.0}]}]})

    id: int
    row_version: int = Field(description="版本（修改、删除时以 If-Match 回传）/ version (send back as If-Match)")
    side: str
    organisation: str
    site: str
    material: str
    accepts: str
    quantity_t: float
    start: str
    end: str
    price_yuan_t: float | None
    hazardous_code: str
    active: bool
    reserved_t: float = Field(description="已成交占用（吨；重复的为占用最少一期）/ reserved by accepted deals [t] "
                                          "(recurring: in its least-reserved period)")
    available_t: float = Field(description="尚可成交（吨；重复的为每期最多）/ still available [t] (recurring: the most "
                                           "one period still holds)")
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    recurrence: str = Field("", description=_RECURRENCE_TEXT)
    total_t: float = Field(description="总量（吨）= 每期数量 × 期数 / all its tonnes: per period × periods")
    per_period: list[str] = Field(description="[每月, per month] 等；一次性为空 / the per-period words, '' when one-off")
    periods: list[PeriodOut] = Field([], description="各期占用与剩余 / each period's reservation")


class ListingPage(BaseModel):
    items: list[ListingOut]
    total: int
    limit: int
    offset: int


class FromRegistry(BaseModel):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{"year": 2022, "sides": ["offer", "want"]}]})  # type: ignore[typeddict-item]

    year: int | None = Field(None, ge=2000, le=2100, description="登记年份，空为最近一年 / registry year, null = latest")
    sides: list[Literal["offer", "want"]] = Field(["offer", "want"], min_length=1, max_length=2,
                                                  description="产废→供应，产品需求→需求 / supplies → offers, demands → wants")
    organisation: Annotated[str, Field(max_length=18, pattern=r"^[0-9A-Z]*$")] = Field(
        "", description="单位（仅管理员填写）/ organisation (admin only)")
    recurrence: Recurrence = Field(
        "monthly", description="登记数据为年量：默认按月发布（年量 ÷ 12，均匀分摊的估算），空为全年一批 / registry "
                               "rows are annual flows: by default listed monthly (annual / 12, an even-spread "
                               "estimate); '' lists the year as one lot")


class FromRegistryOut(BaseModel):
    year: int
    recurrence: str
    created: list[ListingOut]
    skipped: int = Field(description="已有相同信息而未重复发布 / already listed, not made twice")


class Aggregate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "province": "130000", "material": "steel_slag", "side": "offer", "listings": 4, "organisations": 3,
        "quantity_t": 180000.0, "available_t": 120000.0, "suppressed": False}]})

    province: str
    material: str
    side: str
    listings: int
    organisations: int
    quantity_t: float | None = Field(description="少于 3 家单位时不公开 / hidden below 3 organisations")
    available_t: float | None
    suppressed: bool


class Match(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "listing": "1", "counterpart": "2", "organisation": "91110000MA0B00000X", "site": "bj-site",
        "material": "steel_slag", "quantity_t": 30000.0, "price_yuan_t": 35.0, "kind": "intermodal",
        "mode": "road_diesel", "rail_mode": "rail", "from_terminal": "t1", "to_terminal": "t2",
        "distance_km": 260.0, "transport_yuan_t": 48.0, "handling_yuan_t": 10.0, "co2_kg_t": 9.5,
        "co2_yuan_t": 0.5, "delivered_yuan_t": 93.5, "plan_recommended": True, "route_zh": "…", "route_en": "…",
        "recurrence": "monthly", "per_period": ["每月", "per month"],
        "site_name": ["北京搅拌站", "Beijing concrete plant"], "organisation_name": ["北京建材", "Beijing BM"],
        "material_name": ["钢渣", "steel slag"], "counterpart_side": "want"}]})

    listing: str
    counterpart: str
    organisation: str
    site: str
    material: str
    quantity_t: float | None
    price_yuan_t: float | None
    kind: str
    mode: str | None
    distance_km: float | None
    transport_yuan_t: float | None
    handling_yuan_t: float | None
    co2_kg_t: float | None
    co2_yuan_t: float | None
    delivered_yuan_t: float | None
    plan_recommended: bool
    route_zh: str | None
    route_en: str | None
    rail_mode: str | None = None
    from_terminal: str | None = None
    to_terminal: str | None = None
    counterpart_side: Literal["offer", "want"]
    recurrence: str = Field("", description="quantity_t 按此周期计（每期可成交）/ quantity_t is per this period")
    per_period: list[str] = Field(["", ""], description="[每月, per month] 等 / the per-period words")
    site_name: list[str] = Field(description="站点名称 [中文, English] / site name")
    organisation_name: list[str] = Field(description="单位名称 [中文, English] / organisation name")
    material_name: list[str] = Field(description="物料名称 [中文, English] / material name")


class Matches(BaseModel):
    listing: ListingOut
    active: bool = Field(description="在架（下架的信息没有匹配）/ listed (a withdrawn listing has no matches)")
    plan: dict[str, Any] | None = Field(description="标注「规划推荐」所依据的已发布规划 / the published plan behind "
                                                    "plan_recommended")
    items: list[Match]


class DealIn(BaseModel):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [  # type: ignore[typeddict-item]
        {"offer_id": 1, "want_id": 2, "quantity_t": 10000.0, "mode": "rail"},
        {"offer_id": 2, "to_site": "bj-site", "quantity_t": 2000.0, "start": "2022-03-01", "end": "2022-06-30"}]})

    offer_id: int = Field(ge=1, le=2**31 - 1, description="供应信息编号 / the offer")
    want_id: int | None = Field(None, ge=1, le=2**31 - 1, description="需求信息编号 / the buyer's want")
    to_site: Text = Field("", description="收货站点（无需求信息时）/ delivery site (without a want)")
    quantity_t: float = Field(gt=0, le=1e12)
    price_yuan_t: float | None = Field(None, ge=-1e6, le=1e6)
    mode: Code = Field("", description="运输方式 / transport mode")
    start: Day = Field("", description="重复的洽谈：首期第一天，默认为双方共同的整周期 / a recurring deal's first day "
                                       "(default: the whole periods both listings share)")
    end: Day = Field("", description="重复的洽谈：末期最后一天 / a recurring deal's last day")


class OfferIn(BaseModel):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{"price_yuan_t": 32.0}]})  # type: ignore[typeddict-item]

    quantity_t: float | None = Field(None, gt=0, le=1e12)
    price_yuan_t: float | None = Field(None, ge=-1e6, le=1e6)
    mode: Code = ""


class DealOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "row_version": 2, "offer_id": 1, "want_id": 2, "seller_org": "91130200MA0A00000X",
        "buyer_org": "91110000MA0B00000X", "from_site": "ts-steel-01", "to_site": "bj-site", "material": "steel_slag",
        "quantity_t": 10000.0, "price_yuan_t": 32.0, "mode": "rail", "state": "offered", "created_by": 7,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z", "accepted_at": None,
        "recurrence": "", "start": "", "end": "", "periods": 1, "per_period": ["", ""], "agreed_t": 10000.0,
        "delivered_t": 0.0, "open_t": 10000.0, "released_t": 0.0}, {
        "id": 2, "row_version": 4, "offer_id": 2, "want_id": None, "seller_org": "91130200MA0A00000X",
        "buyer_org": "91110000MA0B00000X", "from_site": "ts-steel-01", "to_site": "bj-site", "material": "steel_slag",
        "quantity_t": 2000.0, "price_yuan_t": 35.0, "mode": "rail", "state": "completed", "created_by": 7,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-07-02T00:00:00Z",
        "accepted_at": "2026-01-02T00:00:00Z", "recurrence": "monthly", "start": "2022-03-01", "end": "2022-06-30",
        "periods": 4, "per_period": ["每月", "per month"], "agreed_t": 8000.0, "delivered_t": 7200.0, "open_t": 0.0,
        "released_t": 800.0}]})

    id: int
    row_version: int
    offer_id: int
    want_id: int | None
    seller_org: str
    buyer_org: str
    from_site: str
    to_site: str
    material: str
    quantity_t: float
    price_yuan_t: float | None
    mode: str
    state: Literal["inquiry", "offered", "accepted", "declined", "cancelled", "completed"]
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    recurrence: str = Field("", description="重复的洽谈：quantity_t 为每期数量 / recurring: quantity_t is per period")
    start: str = ""
    end: str = ""
    periods: int = Field(1, description="期数（一次性为 1）/ number of periods (1 when one-off)")
    per_period: list[str] = Field(["", ""], description="[每月, per month] 等 / the per-period words")
    agreed_t: float = Field(description="约定总量（吨）= 每期 × 期数 / all agreed tonnes")
    delivered_t: float = Field(description="已交付（吨）：已处置联单的接收量（过磅减拒收）/ delivered: accepted tonnes "
                                           "of its processed manifests")
    open_t: float = Field(description="尚未交付（吨，进行中的洽谈）/ still to deliver (open deals)")
    released_t: float = Field(0.0, description="完成时未交付而释放的数量（吨）/ released when completed short")
    by_period: list[dict[str, Any]] = Field([], description="已成交的重复洽谈：各期约定与已交付（吨）/ an accepted "
                                                            "recurring deal: each period's agreed and delivered tonnes")


class DealPage(BaseModel):
    items: list[DealOut]
    total: int
    limit: int
    offset: int


# ---- listings ------------------------------------------------------------------------------
@router.get("/listings", response_model=ListingPage, tags=[TAG_LISTINGS], responses=COMMON_RESPONSES,
            summary="Listings you may read / 供需信息")
def list_listings(db: DB, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0,
                  side: Literal["offer", "want", ""] = "", material: Material = "", province: Province = "",
                  active: bool | None = None):
    items, total = exchange.list_listings(db, actor, side=side, material=material, province=province,
                                          active=active, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/listings", response_model=ListingOut, status_code=201, tags=[TAG_LISTINGS],
             responses={**COMMON_RESPONSES, **CONFLICT}, summary="Publish an offer or a want / 发布供需信息")
def create_listing(db: DB, actor: CurrentActor, body: Annotated[ListingIn, Body()], response: Response):  # type: ignore[valid-type]
    row = exchange.create_listing(db, actor, body.model_dump())  # type: ignore[attr-defined]
    db.commit()
    return tagged(response, row)


@router.get("/listings/aggregates", response_model=list[Aggregate], tags=[TAG_LISTINGS, "public"],
            responses=COMMON_RESPONSES, summary="Anonymised totals by province × material (public) / 供需汇总（公开）")
def aggregates(db: DB):
    return exchange.aggregates(db)


@router.post("/listings/from-registry", response_model=FromRegistryOut, status_code=201, tags=[TAG_LISTINGS],
             responses={**COMMON_RESPONSES, **CONFLICT},
             summary="List your registry supplies and demands in one action / 由登记数据一键发布")
def from_registry(db: DB, actor: CurrentActor, body: Annotated[FromRegistry, Body()]):
    out = exchange.from_registry(db, actor, year=body.year, sides=tuple(dict.fromkeys(body.sides)),
                                 organisation=body.organisation, recurrence=body.recurrence)
    db.commit()
    return out


@router.get("/listings/{listing_id}", response_model=ListingOut, tags=[TAG_LISTINGS],
            responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="One listing / 查看")
def get_listing(db: DB, actor: CurrentActor, listing_id: Id, response: Response):
    return tagged(response, exchange.get_listing(db, actor, listing_id))


@router.patch("/listings/{listing_id}", response_model=ListingOut, tags=[TAG_LISTINGS],
              responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT, **PRECONDITION},
              summary="Change a listing (If-Match) / 修改")
def patch_listing(db: DB, actor: CurrentActor, listing_id: Id, body: Annotated[ListingPatch, Body()],
                  response: Response, if_match_: IfMatch = ""):
    row = exchange.update_listing(db, actor, listing_id, body.model_dump(exclude_unset=True), if_match(if_match_))
    db.commit()
    return tagged(response, row)


@router.delete("/listings/{listing_id}", status_code=204, tags=[TAG_LISTINGS],
               responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT, **PRECONDITION},
               summary="Delete a listing without deals (If-Match) / 删除")
def delete_listing(db: DB, actor: CurrentActor, listing_id: Id, if_match_: IfMatch = ""):
    exchange.delete_listing(db, actor, listing_id, if_match(if_match_))
    db.commit()
    return Response(status_code=204)


@router.get("/listings/{listing_id}/matches", response_model=Matches, tags=[TAG_LISTINGS],
            responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT},
            summary="Counterparts ranked by delivered cost / 按到厂成本排序的匹配对象")
def listing_matches(db: DB, actor: CurrentActor, listing_id: Id, k: K = 10):
    return exchange.matches(db, actor, listing_id, k)


@router.get("/matches", response_model=Matches, tags=[TAG_LISTINGS],
            responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT},
            summary="Counterparts of a listing ranked by delivered cost / 匹配对象")
def matches(db: DB, actor: CurrentActor, listing: Annotated[int, Query(ge=1, le=2**31 - 1)], k: K = 10):
    return exchange.matches(db, actor, listing, k)


# ---- deals ---------------------------------------------------------------------------------
@router.get("/deals", response_model=DealPage, tags=[TAG_DEALS], responses=COMMON_RESPONSES,
            summary="Deals you are party to (staff: in scope) / 洽谈")
def list_deals(db: DB, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0,
               state: Literal["inquiry", "offered", "accepted", "declined", "cancelled", "completed", ""] = ""):
    items, total = exchange.list_deals(db, actor, state=state, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/deals", response_model=DealOut, status_code=201, tags=[TAG_DEALS],
             responses={**COMMON_RESPONSES, **CONFLICT},
             summary="Open a deal: the buyer's inquiry, or the seller's offer to a want / 发起洽谈")
def create_deal(db: DB, actor: CurrentActor, body: Annotated[DealIn, Body()], response: Response):
    row = exchange.create_deal(db, actor, body.model_dump(exclude_unset=True))
    db.commit()
    return tagged(response, row)


@router.get("/deals/{deal_id}", response_model=DealOut, tags=[TAG_DEALS],
            responses={**COMMON_RESPONSES, **NOT_FOUND}, summary="One deal / 查看洽谈")
def get_deal(db: DB, actor: CurrentActor, deal_id: Id, response: Response):
    return tagged(response, exchange.get_deal(db, actor, deal_id))


def _step_route(name: str, summary: str) -> None:
    body_model = OfferIn if name == "offer" else None

    if body_model is not None:
        @router.post(f"/deals/{{deal_id}}/{name}", response_model=DealOut, tags=[TAG_DEALS], name=f"deal_{name}",
                     responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT}, summary=summary)
        def offer(db: DB, actor: CurrentActor, deal_id: Id, response: Response,
                  body: Annotated[OfferIn | None, Body()] = None):
            return tagged(response, exchange.step(db, actor, deal_id, name,
                                                 body.model_dump(exclude_unset=True) if body else None))
        return

    @router.post(f"/deals/{{deal_id}}/{name}", response_model=DealOut, tags=[TAG_DEALS], name=f"deal_{name}",
                 responses={**COMMON_RESPONSES, **NOT_FOUND, **CONFLICT}, summary=summary)
    def take(db: DB, actor: CurrentActor, deal_id: Id, response: Response):
        return tagged(response, exchange.step(db, actor, deal_id, name))


for _name, _summary in (("offer", "Seller answers an inquiry with an offer / 供应方报价"),
                        ("accept", "Buyer accepts the offer; reserves the quantity / 需求方确认成交（锁定数量）"),
                        ("decline", "Decline (seller: an inquiry; buyer: an offer) / 谢绝"),
                        ("cancel", "Either party withdraws; an accepted deal releases its reserved quantity, "
                                   "refused once one of its manifests was sent / 撤销（已成交的释放锁定数量；联单已移出的不能撤销）"),
                        ("complete", "Complete an accepted deal: records what its processed manifests delivered and "
                                     "releases, per period, what was not delivered (refused while a manifest is "
                                     "unsettled) / 标记完成（按已处置联单记录交付量，未交付部分释放）")):
    _step_route(_name, _summary)
