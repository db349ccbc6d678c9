"""Recurring listings and deals, and partial completion (#12 item 1): located zh/en errors of
the recurrence, matching of recurring against one-off listings (per-period quantities, period
overlap), per-period reservation by concurrent acceptances (threads, SQLite and PostgreSQL: the
``app`` fixture's database), and completing a deal short releasing what was not delivered."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.exchange import listings as core
from resynergy.exchange.listings import allocate, check_listings, common_quantity, periods
from resynergy.exchange.matching import Market
from resynergy.services import exchange
from resynergy.services.access import Actor
from resynergy.store import models
from support.manifests import ORG_C, actor, advance, new_manifest
from support.platform import ORG_A, ORG_B, accept_together, add_users, seed, together

MONTHLY = {"side": "offer", "site": "cd-mine", "material": "tailings", "quantity_t": 100.0, "price_yuan_t": 20.0,
           "recurrence": "monthly", "start": "2022-01-01", "end": "2022-06-30"}


# ---- the core: validation, periods, allocation ----------------------------------------------
def _frame(**cells) -> pd.DataFrame:
    base = {"id": "x", "side": "offer", "site": "A", "material": "fly_ash", "quantity_t": 10.0}
    return pd.DataFrame([{**base, **cells}])


@pytest.mark.parametrize("cells, column, code, zh, en", [
    ({"recurrence": "weekly"}, "recurrence", "bad_recurrence", "monthly（每月）", "leave it blank for a one-off"),
    ({"recurrence": "monthly", "start": "2022-01-01"}, "end", "recurrence_dates", "按月重复的信息须填写开始和结束日期",
     "a monthly listing needs both a start and an end date"),
    ({"recurrence": "quarterly", "start": "2022-02-01", "end": "2022-12-31"}, "start", "recurrence_start",
     "按季度重复的信息应从一个周期的第一天开始（如 2022-01-01）", "starts on the first day of a period (e.g. 2022-01-01)"),
    ({"recurrence": "monthly", "start": "2022-01-01", "end": "2022-02-27"}, "end", "recurrence_end",
     "（如 2022-02-28）", "ends on the last day of a period (e.g. 2022-02-28)"),
    ({"recurrence": "monthly", "start": "2000-01-01", "end": "2022-12-31"}, "end", "too_many_periods",
     "共 276 个周期，最多 120 个", "276 periods, at most 120"),
])
def test_recurrence_errors_are_located_in_zh_and_en(cells, column, code, zh, en):
    (issue,) = check_listings(pd.concat([_frame(id="ok"), _frame(**cells)], ignore_index=True))
    assert (issue.code, issue.row, issue.column) == (code, 3, column)
    assert zh in issue.text("zh") and en in issue.text("en")
    assert issue.location("en").startswith("listings, row 3, column " + column)


def test_a_recurring_listing_is_valid_over_whole_periods():
    frame = pd.concat([_frame(id="m", recurrence="monthly", start="2022-01-01", end="2022-12-31"),
                       _frame(id="q", recurrence="quarterly", start="2022-04-01", end="2023-03-31"),
                       _frame(id="y", recurrence="yearly", start="2021-01-01", end="2025-12-31")], ignore_index=True)
    assert check_listings(frame) == []
    assert periods("monthly", "2022-01-01", "2022-12-31")[::11] == ["2022-01", "2022-12"]
    assert periods("quarterly", "2022-04-01", "2023-03-31") == ["2022-04", "2022-07", "2022-10", "2023-01"]
    assert [core.period_label("quarterly", k) for k in ("2022-04", "2023-01")] == ["2022-Q2", "2023-Q1"]
    assert core.total_t(5000.0, "monthly", "2022-01-01", "2022-12-31") == 60_000.0
    assert core.total_t(5000.0, "", "2022-01-01", "2022-12-31") == 5000.0


def test_allocation_of_a_deal_onto_lots_of_other_periods():
    # a quarterly deal on a monthly lot: each month takes a third; on a one-off lot: the sum
    q = {"2022-01": 900.0, "2022-04": 300.0}
    assert allocate("quarterly", q, "monthly") == {
        "2022-01": 300.0, "2022-02": 300.0, "2022-03": 300.0, "2022-04": 100.0, "2022-05": 100.0, "2022-06": 100.0}
    assert allocate("quarterly", q, "") == {"": 1200.0}
    # monthly onto quarterly: the months add up; a third and back again is exact
    assert allocate("monthly", {"2022-01": 10.0, "2022-02": 10.0, "2022-04": 1.0}, "quarterly") == {
        "2022-01": 20.0, "2022-04": 1.0}
    assert sum(allocate("quarterly", {"2022-01": 1000.0}, "monthly").values()) == 1000.0
    assert allocate("monthly", {"2022-01": 5.0}, "monthly") == {"2022-01": 5.0}
    with pytest.raises(ValueError):
        allocate("", {"": 5.0}, "monthly")
    # what an offer and a want can trade, per period of the deal (the offer's recurrence first)
    assert common_quantity(5000.0, "monthly", 2000.0, "monthly") == (2000.0, "monthly")
    assert common_quantity(5000.0, "monthly", 3000.0, "quarterly") == (1000.0, "monthly")
    assert common_quantity(6000.0, "quarterly", 1000.0, "monthly") == (3000.0, "quarterly")
    assert common_quantity(10_000.0, "", 2000.0, "monthly") == (2000.0, "monthly")
    assert common_quantity(3.0, "", 5.0, "") == (3.0, "")


def test_registry_rows_become_monthly_listings_of_the_annual_flow(builtin_scenario):
    s = builtin_scenario
    args = (s.table("sites"), s.table("supplies"), s.table("demands"), s.table("facilities"), s.table("process_io"))
    lots = core.from_registry(*args, year=2022)
    monthly = core.from_registry(*args, year=2022, recurrence="monthly")
    assert check_listings(monthly, s) == [] and (monthly["recurrence"] == "monthly").all()
    assert list(monthly["id"]) == list(lots["id"])
    assert np.allclose(monthly["quantity_t"] * 12, lots["quantity_t"])
    quarterly = core.from_registry(*args, year=2022, recurrence="quarterly")
    assert np.allclose(quarterly["quantity_t"] * 4, lots["quantity_t"])


# ---- the core: matching recurring against one-off listings -----------------------------------
def test_matching_reads_per_period_quantities_and_period_overlap(builtin_scenario):
    s = builtin_scenario
    sup = s.table("supplies")
    row = sup[(sup["material"] == "steel_slag") & (sup["year"] == 2022)].iloc[0]
    dem = s.table("demands")
    far = dem["site"].iloc[0] if dem["site"].iloc[0] != row["site"] else dem["site"].iloc[1]
    base = {"side": "want", "site": far, "material": "steel_slag", "price_yuan_t": np.nan}
    frame = pd.DataFrame([
        {"id": "slag", "side": "offer", "site": row["site"], "material": "steel_slag", "quantity_t": 5000.0,
         "recurrence": "monthly", "start": "2022-01-01", "end": "2022-12-31", "reserved_t": 1000.0},
        {**base, "id": "monthly", "quantity_t": 2000.0, "recurrence": "monthly", "start": "2022-06-01",
         "end": "2022-12-31"},
        {**base, "id": "big-once", "quantity_t": 50_000.0, "start": "2022-03-01", "end": "2022-03-31"},
        {**base, "id": "next-year", "quantity_t": 2000.0, "recurrence": "monthly", "start": "2023-01-01",
         "end": "2023-12-31"},
        {**base, "id": "quarterly", "quantity_t": 2000.0, "recurrence": "quarterly", "start": "2022-01-01",
         "end": "2022-12-31"},
    ])
    m = Market(frame, s).top("slag", k=10).frame().set_index("counterpart")
    # the 2023 need does not overlap the 2022 lot; the others do
    assert set(m.index) == {"monthly", "big-once", "quarterly"}
    # per period: the lot has 5000 − 1000 reserved in its least-reserved month
    assert m.at["monthly", "quantity_t"] == 2000.0 and m.at["big-once", "quantity_t"] == 4000.0
    # an exhausted recurring lot (every... its least-reserved period full) is not matched at all
    frame.loc[0, "reserved_t"] = 5000.0
    assert Market(frame, s).top("monthly").empty


# ---- the platform -------------------------------------------------------------------------------
def _offered(c, h, offer_id: int, q: float, **kw) -> int:
    d = c.post("/api/v1/deals", json={"offer_id": offer_id, "to_site": "bj-site", "quantity_t": q, **kw},
               headers=h["ent_b"])
    assert d.status_code == 201, d.text
    r = c.post(f"/api/v1/deals/{d.json()['id']}/offer", json={}, headers=h["ent_a"])
    assert r.status_code == 200, r.text
    return d.json()["id"]


def _periods(url_or_app, listing_id: int) -> dict[str, float]:
    with url_or_app.state.platform.sessions() as db:
        return dict(db.execute(sa.select(models.ListingPeriod.period, models.ListingPeriod.reserved_t)
                               .where(models.ListingPeriod.listing_id == listing_id)).all())


def test_recurring_listings_and_deals_through_the_api(client, users, app):
    h = users.headers
    r = client.post("/api/v1/listings", json=MONTHLY, headers=h["ent_a"])
    assert r.status_code == 201, r.text
    lot = r.json()
    assert (lot["recurrence"], lot["total_t"], lot["per_period"], len(lot["periods"])) == (
        "monthly", 600.0, ["每月", "per month"], 6)
    assert lot["periods"][0] == {"period": "2022-01", "label": "2022-01", "quantity_t": 100.0, "reserved_t": 0.0,
                                 "available_t": 100.0}
    # a recurring listing bounds whole months: located zh/en errors from the API
    bad = client.post("/api/v1/listings", json={**MONTHLY, "start": "2022-01-15"}, headers=h["ent_a"])
    assert bad.status_code == 422
    issue = bad.json()["issues"][0]
    assert (issue["code"], issue["column"]) == ("recurrence_start", "start")
    assert "2022-01-01" in issue["message_zh"] and "first day of a period" in issue["message_en"]
    # a deal by default runs over the lot's periods; or over the whole months given within them
    whole = _offered(client, h, lot["id"], 30.0)
    d = client.get(f"/api/v1/deals/{whole}", headers=h["ent_b"]).json()
    assert (d["recurrence"], d["start"], d["end"], d["periods"], d["agreed_t"], d["open_t"]) == (
        "monthly", "2022-01-01", "2022-06-30", 6, 180.0, 180.0)
    spring = _offered(client, h, lot["id"], 50.0, start="2022-03-01", end="2022-05-31")
    for body, column, code in (({"start": "2022-03-02"}, "start", "recurrence_start"),
                               ({"start": "2021-12-01", "end": "2022-01-31"}, "start", "outside_period"),
                               ({"quantity_t": 101.0}, "quantity_t", "over_available")):
        r = client.post("/api/v1/deals", json={"offer_id": lot["id"], "to_site": "bj-site", "quantity_t": 10.0,
                                               **body}, headers=h["ent_b"])
        assert r.status_code == 422 and (r.json()["issues"][0]["code"], r.json()["issues"][0]["column"]) == (
            code, column), r.text
    # acceptance reserves per period: 30 every month, 50 more in March–May
    for deal in (whole, spring):
        assert client.post(f"/api/v1/deals/{deal}/accept", headers=h["ent_b"]).status_code == 200
    assert _periods(app, lot["id"]) == {"2022-01": 30.0, "2022-02": 30.0, "2022-03": 80.0, "2022-04": 80.0,
                                        "2022-05": 80.0, "2022-06": 30.0}
    lot = client.get(f"/api/v1/listings/{lot['id']}", headers=h["ent_a"]).json()
    assert (lot["reserved_t"], lot["available_t"]) == (30.0, 70.0)  # the most one month still holds
    # 30 t more in April does not fit (20 t left there), though January has 70 t
    r = client.post("/api/v1/deals", json={"offer_id": lot["id"], "to_site": "bj-site", "quantity_t": 30.0,
                                           "start": "2022-04-01", "end": "2022-04-30"}, headers=h["ent_b"])
    issue = r.json()["issues"][0]
    assert r.status_code == 422 and issue["code"] == "over_available"
    assert "2022-04" in issue["message_zh"] and "20 t left" in issue["message_en"]
    # the quantity may not fall below the most any month holds, nor the periods change under deals
    url = f"/api/v1/listings/{lot['id']}"
    r = client.patch(url, json={"quantity_t": 79.0}, headers={**h["ent_a"], "If-Match": "*"})
    assert r.status_code == 409 and r.json()["issues"][0]["code"] == "below_reserved"
    r = client.patch(url, json={"end": "2022-12-31"}, headers={**h["ent_a"], "If-Match": "*"})
    assert r.status_code == 409 and r.json()["issues"][0]["code"] == "periods_in_use"
    r = client.patch(url, json={"quantity_t": 80.0}, headers={**h["ent_a"], "If-Match": "*"})
    assert r.status_code == 200 and {p["quantity_t"] for p in r.json()["periods"]} == {80.0}
    # cancelling gives each period back
    assert client.post(f"/api/v1/deals/{spring}/cancel", headers=h["ent_b"]).status_code == 200
    assert set(_periods(app, lot["id"]).values()) == {30.0}
    # public aggregates count every month of a recurring listing
    cell = next(c for c in client.get("/api/v1/listings/aggregates").json() if c["material"] == "tailings")
    assert cell["listings"] == 1 and cell["quantity_t"] is None  # one organisation: tonnes withheld
    with app.state.platform.sessions() as db:
        agg = {(c["side"], c["material"]): c for c in exchange.aggregates(db)}
    assert agg[("offer", "tailings")]["organisations"] == 1


def test_matches_say_per_month_and_convert_quarterly_wants(client, users, app):
    h = users.headers
    lot = client.post("/api/v1/listings", json=MONTHLY, headers=h["ent_a"]).json()
    want = client.post("/api/v1/listings", json={
        "side": "want", "site": "bj-site", "material": "tailings", "quantity_t": 150.0, "recurrence": "quarterly",
        "start": "2022-01-01", "end": "2022-06-30"}, headers=h["ent_b"])
    assert want.status_code == 201, want.text
    found = client.get(f"/api/v1/listings/{lot['id']}/matches", headers=h["ent_a"]).json()
    (m,) = [i for i in found["items"] if i["counterpart"] == str(want.json()["id"])]
    # 150 t a quarter is 50 t a month, in the lot's months (the deal's periods)
    assert (m["quantity_t"], m["recurrence"], m["per_period"]) == (50.0, "monthly", ["每月", "per month"])
    page = client.get(f"/exchange/listings/{lot['id']}", headers=h["ent_a"])
    assert page.status_code == 200 and "每月" in page.text
    # a monthly deal for the quarterly want reserves three months in each of its quarters
    d = client.post("/api/v1/deals", json={"offer_id": lot["id"], "want_id": want.json()["id"], "quantity_t": 40.0},
                    headers=h["ent_b"]).json()
    client.post(f"/api/v1/deals/{d['id']}/offer", json={}, headers=h["ent_a"])
    assert client.post(f"/api/v1/deals/{d['id']}/accept", headers=h["ent_b"]).status_code == 200
    assert _periods(app, want.json()["id"]) == {"2022-01": 120.0, "2022-04": 120.0}
    assert set(_periods(app, lot["id"]).values()) == {40.0}
    mine = client.get("/exchange", headers=h["ent_a"])
    assert "每月" in mine.text and "recurrence" in mine.text
    deals = client.get("/exchange/deals", headers=h["ent_b"])
    assert "2022-01-01 – 2022-06-30" in deals.text and "240" in deals.text  # agreed: 40 t × 6 months


def test_concurrent_acceptances_never_overfill_a_period(app, db_url):
    """Threads accept deals over overlapping ranges of months of one recurring lot (100 t a month),
    each in its own session: no month is ever reserved beyond 100 t, every month's reservation is
    the sum of the accepted deals drawing on it (read by query), and no deal was refused that
    would still have fitted after the others."""
    users = seed(app)
    h = users.headers
    deals = [(45.0, "2022-01-01", "2022-03-31"), (35.0, "2022-02-01", "2022-02-28"), (25.0, "2022-01-01", "2022-06-30"),
             (40.0, "2022-03-01", "2022-06-30"), (30.0, "2022-02-01", "2022-04-30"), (20.0, "2022-05-01", "2022-06-30"),
             (50.0, "2022-01-01", "2022-01-31")]
    with TestClient(app) as c:
        lot = c.post("/api/v1/listings", json=MONTHLY, headers=h["ent_a"]).json()
        ids = [_offered(c, h, lot["id"], q, start=s, end=e) for q, s, e in deals]
    results = accept_together(app, users, ids)
    assert all(r == 409 or isinstance(r, float) for r in results), results
    taken = [d for d, r in zip(deals, results, strict=True) if isinstance(r, float)]
    assert taken
    months = periods("monthly", MONTHLY["start"], MONTHLY["end"])
    held = {k: sum(q for q, s, e in taken if s[:7] <= k <= e[:7]) for k in months}
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(sa.text("SELECT period, reserved_t FROM listing_periods WHERE listing_id = :i"),
                                       {"i": lot["id"]}).all())
            least = conn.execute(sa.text("SELECT reserved_t FROM listings WHERE id = :i"), {"i": lot["id"]}).scalar_one()
            accepted = conn.execute(sa.text("SELECT COUNT(*) FROM deals WHERE offer_id = :i AND state = 'accepted'"),
                                    {"i": lot["id"]}).scalar_one()
    finally:
        engine.dispose()
    assert accepted == len(taken)
    assert all(math.isclose(stored[k], held[k]) and stored[k] <= 100.0 for k in months), (stored, held)
    assert math.isclose(least, min(held.values()))
    for (q, s, e), r in zip(deals, results, strict=True):
        if not isinstance(r, float):  # refused: some month of its range had no room left
            assert any(held[k] + q > 100.0 for k in months if s[:7] <= k <= e[:7]), (q, s, e, held)


def test_the_database_refuses_a_period_reserved_beyond_its_quantity(app, users):
    """The CHECK of listing_periods is the last line, whatever the application does."""
    with app.state.platform.sessions() as db:
        lot = exchange.create_listing(db, Actor(0, "admin", "admin"), dict(MONTHLY))
        db.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.execute(sa.text("UPDATE listing_periods SET reserved_t = 101 WHERE listing_id = :i "
                               "AND period = '2022-02'"), {"i": lot["id"]})
            db.commit()
        db.rollback()


def test_completing_short_releases_what_was_not_delivered(app, users):
    p = app.state.platform
    add_users(app, users, {"carrier": ("enterprise", ORG_C, "")})
    h = users.headers
    signers = {"generator": actor(users.ids["ent_a"], "ent_a", org=ORG_A),
               "carrier": actor(users.ids["carrier"], "carrier", org=ORG_C),
               "receiver": actor(users.ids["ent_b"], "ent_b", org=ORG_B)}
    with TestClient(app) as c:
        approval = c.post("/api/v1/transfer-approvals", headers=h["regulator"], json={
            "kind": "filing", "origin_province": "130000", "dest_province": "110000", "generator_org": ORG_A,
            "receiver_org": ORG_B, "material": "tailings", "quantity_kg": 10_000_000, "valid_from": "2020-01-01",
            "valid_to": "2099-12-31", "reference": "冀环固备〔2022〕2号"})
        assert approval.status_code == 201, approval.text
        lot = c.post("/api/v1/listings", json=MONTHLY, headers=h["ent_a"]).json()
        deal = _offered(c, h, lot["id"], 40.0, start="2022-03-01", end="2022-05-31")  # 120 t over three months
        assert c.post(f"/api/v1/deals/{deal}/accept", headers=h["ent_b"]).status_code == 200

        def ship(month: str, kg: int, refused: int = 0) -> int:
            m = new_manifest(p.sessions, signers["generator"], deal, declared_kg=kg)
            day = f"2022-{month}"
            advance(p.sessions, m["id"], "processed", signers, {
                "emission": {"sent_at": f"{day}-05T08:00", "approval": str(approval.json()["id"])},
                "transport": {"taken_over_at": f"{day}-05T09:00"},
                "reception": {"received_at": f"{day}-05T18:00", "received_kg": kg, "refused_kg": refused,
                              "acceptance": "partially_accepted" if refused else "accepted",
                              **({"refusal_reason": "含水率超标"} if refused else {})},
                "operation": {"processed_at": f"{day}-06"}})
            return m["id"]

        ship("03", 30_000)  # March: 30 t of 40
        april = ship("04", 50_000, refused=5_000)  # April: 45 t accepted, more than the month's 40
        d = c.get(f"/api/v1/deals/{deal}", headers=h["ent_b"]).json()
        assert (d["agreed_t"], d["delivered_t"], d["open_t"]) == (120.0, 75.0, 45.0)
        # each manifest counts in the deal's month of its handover
        assert [(x["label"], x["agreed_t"], x["delivered_t"]) for x in d["by_period"]] == [
            ("2022-03", 40.0, 30.0), ("2022-04", 40.0, 45.0), ("2022-05", 40.0, 0.0)]
        assert "各期交付" in c.get("/exchange/deals", headers=h["ent_a"]).text
        # 80 t declared against 120 agreed: the deal's total holds (no high alert), but April's
        # 50 t against its 40 t is a warning on that period, shown to both parties
        for who in ("ent_a", "ent_b"):
            over = [a for a in c.get("/api/v1/alerts", headers=h[who]).json()["items"] if a["kind"] == "over_deal"]
            assert [(a["manifest_id"], a["severity"]) for a in over] == [(april, "warning")], over
            assert "2022-04" in over[0]["zh"] and "40000" in over[0]["zh"] and "50000" in over[0]["zh"]
        # a manifest still in flight blocks the completion
        draft = new_manifest(p.sessions, signers["generator"], deal)
        r = c.post(f"/api/v1/deals/{deal}/complete", headers=h["ent_a"])
        assert r.status_code == 409 and r.json()["issues"][0]["code"] == "manifests_open"
        assert draft["number"] in r.json()["issues"][0]["message_zh"]
        r = c.post(f"/api/v1/manifests/{draft['id']}/cancel", headers={**h["ent_a"], "If-Match": f'"{draft["row_version"]}"'})
        assert r.status_code == 200, r.text
        r = c.post(f"/api/v1/deals/{deal}/complete", headers=h["ent_b"])
        assert r.status_code == 200, r.text
        done = r.json()
        # March keeps its 30 t, April its 40 (delivered beyond), May gives back all 40
        assert (done["state"], done["delivered_t"], done["released_t"], done["open_t"]) == ("completed", 75.0, 50.0, 0.0)
        assert _periods(app, lot["id"]) == {"2022-01": 0.0, "2022-02": 0.0, "2022-03": 30.0, "2022-04": 40.0,
                                            "2022-05": 0.0, "2022-06": 0.0}
        deals_page = c.get("/exchange/deals", headers=h["ent_a"])
        assert "完成时释放" in deals_page.text
    with p.sessions() as db:
        after = db.execute(sa.text("SELECT after FROM audit_log WHERE object_type = 'deal' AND action = 'complete'")
                           ).scalar_one()
    after = after if isinstance(after, dict) else __import__("json").loads(after)
    assert (after["delivered_t"], after["released_t"], after["state"]) == (75.0, 50.0, "completed")


def test_completing_a_one_off_deal_with_nothing_delivered_releases_it(client, users, app):
    h = users.headers
    lot = client.post("/api/v1/listings", json={**MONTHLY, "recurrence": ""}, headers=h["ent_a"]).json()
    deal = _offered(client, h, lot["id"], 60.0)
    assert client.post(f"/api/v1/deals/{deal}/accept", headers=h["ent_b"]).status_code == 200
    assert client.get(f"/api/v1/listings/{lot['id']}", headers=h["ent_a"]).json()["reserved_t"] == 60.0
    done = client.post(f"/api/v1/deals/{deal}/complete", headers=h["ent_a"]).json()
    assert (done["agreed_t"], done["delivered_t"], done["released_t"]) == (60.0, 0.0, 60.0)
    assert client.get(f"/api/v1/listings/{lot['id']}", headers=h["ent_a"]).json()["reserved_t"] == 0.0
    # a one-off deal has no periods
    r = client.post("/api/v1/deals", json={"offer_id": lot["id"], "to_site": "bj-site", "quantity_t": 1.0,
                                           "start": "2022-01-01"}, headers=h["ent_b"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "not_allowed"


def test_store_and_core_agree_on_the_recurrences():
    assert models.RECURRENCES == core.RECURRENCES


def test_cli_match_shows_the_recurrence(client, users, db_url):
    from typer.testing import CliRunner

    from resynergy.cli.main import app as cli

    h = users.headers
    lot = client.post("/api/v1/listings", json=MONTHLY, headers=h["ent_a"]).json()
    client.post("/api/v1/listings", json={"side": "want", "site": "bj-site", "material": "tailings", "quantity_t": 60.0,
                                          "recurrence": "monthly", "start": "2022-01-01", "end": "2022-12-31"},
                headers=h["ent_b"])
    run = CliRunner().invoke(cli, ["exchange", "match", str(lot["id"]), "--db", db_url])
    assert run.exit_code == 0, run.output
    assert "100 t 每月（按月，2022-01-01 至 2022-06-30，共 6 期）" in run.stdout and "60 每月" in run.stdout
    run = CliRunner().invoke(cli, ["exchange", "match", str(lot["id"]), "--db", db_url, "--lang", "en"])
    assert "100 t per month (monthly, 2022-01-01 to 2022-06-30, 6 periods)" in run.stdout


def test_pages_publish_a_recurring_listing_and_deal_over_chosen_months(client, users, app):
    from support.platform import csrf, sign_in

    lot = client.post("/api/v1/listings", json=MONTHLY, headers=users.headers["ent_a"]).json()
    assert sign_in(client, "ent_b").status_code == 303
    page = client.get("/exchange")
    token = csrf(page.text)
    assert 'name="recurrence"' in page.text and "每季度" in page.text
    form = {"csrf_token": token, "side": "want", "site": "bj-site", "material": "tailings", "quantity_t": "20",
            "recurrence": "monthly", "start": "2022-01-01", "end": "2022-12-30"}
    r = client.post("/exchange/listings", data=form, follow_redirects=False)
    assert r.status_code == 422 and "应在一个周期的最后一天结束（如 2022-12-31）" in r.text  # located, zh first
    r = client.post("/exchange/listings", data={**form, "end": "2022-12-31"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    want = client.get("/api/v1/listings", headers=users.headers["ent_b"]).json()["items"][0]
    assert (want["recurrence"], want["quantity_t"], want["total_t"]) == ("monthly", 20.0, 240.0)
    page = client.get(f"/exchange/listings/{want['id']}")
    assert page.status_code == 200 and 'name="start"' in page.text and "每月" in page.text
    r = client.post("/exchange/deals", data={"csrf_token": token, "listing": want["id"], "counterpart": lot["id"],
                                              "quantity_t": "20", "start": "2022-02-01", "end": "2022-03-31"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    (deal,) = client.get("/api/v1/deals", headers=users.headers["ent_b"]).json()["items"]
    assert (deal["start"], deal["end"], deal["periods"], deal["agreed_t"]) == ("2022-02-01", "2022-03-31", 2, 40.0)


def test_over_http_accepting_and_shrinking_a_recurring_lot_at_once(live):
    """A live server: four buyers accept 40 t a month of a 100 t-a-month lot at once (two fit),
    and then the seller cuts the lot to 50 t a month while another 30 t deal is accepted: whichever
    lands first, the other is refused, and no month is ever reserved beyond its quantity."""
    import httpx

    server, users, url = live
    h = users.headers

    def months(lot_id: int) -> tuple[float, dict[str, float]]:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                q = conn.execute(sa.text("SELECT quantity_t FROM listings WHERE id = :i"), {"i": lot_id}).scalar_one()
                rows = conn.execute(sa.text("SELECT period, reserved_t, quantity_t FROM listing_periods "
                                            "WHERE listing_id = :i"), {"i": lot_id}).all()
        finally:
            engine.dispose()
        assert all(r <= pq == q for _, r, pq in rows), rows
        return q, {p: r for p, r, _ in rows}

    with httpx.Client(base_url=server.url, timeout=180) as c:
        lot = c.post("/api/v1/listings", json=MONTHLY, headers=h["ent_a"]).json()
        ids = [_offered(c, h, lot["id"], 40.0) for _ in range(4)]
        answers = together(*(lambda i=i: c.post(f"/api/v1/deals/{i}/accept", headers=h["ent_b"]) for i in ids))
        assert sorted(a.status_code for a in answers) == [200, 200, 409, 409], [a.text for a in answers]
        assert months(lot["id"])[1] == {k: 80.0 for k in periods("monthly", MONTHLY["start"], MONTHLY["end"])}
        for _ in range(2):
            lot = c.post("/api/v1/listings", json=MONTHLY, headers=h["ent_a"]).json()
            deal = _offered(c, h, lot["id"], 60.0, start="2022-02-01", end="2022-02-28")
            shrink, accept = together(
                lambda lot=lot["id"]: c.patch(f"/api/v1/listings/{lot}", json={"quantity_t": 50.0},
                                              headers={**h["ent_a"], "If-Match": "*"}),
                lambda deal=deal: c.post(f"/api/v1/deals/{deal}/accept", headers=h["ent_b"]))
            assert sorted([shrink.status_code, accept.status_code]) in ([200, 409], [200, 412]), (shrink.text,
                                                                                                  accept.text)
            q, held = months(lot["id"])
            assert (q, held["2022-02"]) == ((100.0, 60.0) if accept.status_code == 200 else (50.0, 0.0))
