"""The exchange on the platform (#12 items 1, 3, 7): listings with tenancy and optimistic
locking, anonymised public aggregates, listings from the registry, the deal state machine with
who may take each step, quantity reservation, the audit log, and bad input refused with located
zh/en messages. On SQLite and PostgreSQL (the ``client`` fixture's database)."""

from __future__ import annotations

import sqlalchemy as sa

from resynergy.services.access import Actor
from resynergy.services.registry import Change, apply
from support.platform import ORG_A, ORG_B

OFFER = {"side": "offer", "site": "cd-mine", "material": "tailings", "quantity_t": 100.0, "price_yuan_t": 20.0,
         "start": "2026-01-01", "end": "2026-12-31", "spec_moisture_pct": 8.0}
WANT = {"side": "want", "site": "bj-site", "material": "manufactured_sand", "accepts": "tailings",
        "quantity_t": 80.0, "price_yuan_t": 60.0, "spec_moisture_pct_max": 10.0}


def post(client, h, body):
    return client.post("/api/v1/listings", json=body, headers=h)


def audit_actions(app, object_type: str) -> list[tuple[str, str]]:
    with app.state.platform.sessions() as db:
        return [tuple(r) for r in db.execute(sa.text(
            "SELECT action, object_id FROM audit_log WHERE object_type = :t ORDER BY id"), {"t": object_type})]


def test_listings_belong_to_their_organisation(client, users, app):
    h = users.headers
    r = post(client, h["ent_a"], OFFER)
    assert r.status_code == 201, r.text
    offer = r.json()
    assert offer["organisation"] == ORG_A and offer["available_t"] == 100.0 and r.headers["ETag"] == '"1"'
    # another organisation's site does not exist for B (422, not a leak that it exists)
    r = post(client, h["ent_b"], OFFER)
    assert r.status_code == 422 and r.json()["issues"][0]["column"] == "site"
    # readers: the owner, unscoped staff, the admin; not B, not a Beijing-only planner, not the public
    url = f"/api/v1/listings/{offer['id']}"
    for role, status in {"ent_a": 200, "planner": 200, "regulator": 200, "admin": 200, "ent_b": 404,
                         "planner_bj": 404, "public": 403, "anonymous": 401}.items():
        assert client.get(url, headers=h[role]).status_code == status, role
    assert [x["id"] for x in client.get("/api/v1/listings", headers=h["ent_b"]).json()["items"]] == []
    assert [x["id"] for x in client.get("/api/v1/listings", headers=h["planner"]).json()["items"]] == [offer["id"]]
    assert client.get("/api/v1/listings?province=110000", headers=h["planner"]).json()["total"] == 0
    # changes need the version read: 428 without, 412 when stale; planners read but do not write
    assert client.patch(url, json={"quantity_t": 90.0}, headers=h["ent_a"]).status_code == 428
    assert client.patch(url, json={"quantity_t": 90.0}, headers={**h["ent_a"], "If-Match": '"7"'}).status_code == 412
    assert client.patch(url, json={"quantity_t": 90.0}, headers={**h["planner"], "If-Match": '"1"'}).status_code == 403
    assert client.patch(url, json={"quantity_t": 90.0}, headers={**h["ent_b"], "If-Match": '"1"'}).status_code == 404
    r = client.patch(url, json={"quantity_t": 90.0}, headers={**h["ent_a"], "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["quantity_t"] == 90.0 and r.headers["ETag"] == '"2"'
    assert client.delete(url, headers={**h["ent_a"], "If-Match": '"1"'}).status_code == 412
    assert client.delete(url, headers={**h["ent_a"], "If-Match": '"2"'}).status_code == 204
    assert client.get(url, headers=h["ent_a"]).status_code == 404
    assert [a for a, _ in audit_actions(app, "listing")] == ["create", "update", "delete"]


def test_bad_listings_are_refused_with_located_messages(client, users):
    h = users.headers["ent_a"]
    cases = {
        "start": {**OFFER, "end": "2025-01-01"},  # ends before it starts
        "hazardous_code": {**OFFER, "hazardous_code": "HW49"},  # an offer names its 8-digit code
        "material": {**OFFER, "material": "unobtainium"},
        "spec_moisture_pct_max": {**OFFER, "spec_moisture_pct_max": 5.0},  # a range on an offer
        "accepts": {**OFFER, "accepts": "fly_ash"},  # substitutes are a want's
        "spec_cao_pct_min": {**WANT, "site": "cd-plant", "spec_cao_pct_min": 9.0, "spec_cao_pct_max": 3.0},
    }
    for column, body in cases.items():
        r = post(client, h, body)
        assert r.status_code == 422, (column, r.text)
        issues = r.json()["issues"]
        assert column in [i["column"] for i in issues], (column, issues)
        assert all(i["message_zh"] and i["message_en"] for i in issues)
    for body in ({**OFFER, "quantity_t": -1}, {**OFFER, "start": "1 May"}, {**OFFER, "hazardous_code": "危"},
                 {**OFFER, "side": "swap"}, {**OFFER, "price_yuan_t": "cheap"}, {**OFFER, "colour": "red"}):
        r = post(client, h, body)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", body
    # a listing cannot change side, and a quantity below what deals hold is refused (409)
    offer = post(client, h, OFFER).json()
    r = client.patch(f"/api/v1/listings/{offer['id']}", json={"side": "want"}, headers={**h, "If-Match": "*"})
    assert r.status_code == 422  # not a field of a change


def test_public_sees_anonymised_aggregates_only(client, users, app):
    h = users.headers
    org_c = "91130800MA0C00000P"
    from resynergy.scenario import uscc

    org_c = org_c[:-1] + uscc.check_char(org_c[:-1])
    with app.state.platform.sessions() as db:
        apply(db, Actor(users.ids["admin"], "admin", "admin"), [
            Change("organisations", "create", {"uscc": org_c, "name_zh": "承德钢铁", "name_en": "Chengde Steel",
                                               "region": "130800"}),
            Change("sites", "create", {"id": "cd-steel", "name_zh": "承德钢厂", "name_en": "Chengde steel works",
                                       "org_uscc": org_c, "region": "130800", "lat": 40.97, "lon": 117.93,
                                       "roles": "generator"})])
        db.commit()
    # tailings offered in Hebei by three organisations (the admin lists for C); fly ash by one
    assert post(client, h["ent_a"], OFFER).status_code == 201
    assert post(client, h["ent_a"], {**OFFER, "site": "cd-plant", "quantity_t": 50.0}).status_code == 201
    assert post(client, h["admin"], {**OFFER, "site": "cd-steel", "quantity_t": 30.0}).status_code == 201
    assert post(client, h["ent_a"], {**OFFER, "material": "fly_ash", "quantity_t": 7.0}).status_code == 201
    for role, status in {"anonymous": 401, "public": 403}.items():
        assert client.get("/api/v1/listings", headers=h[role]).status_code == status
    r = client.get("/api/v1/listings/aggregates")
    assert r.status_code == 200
    cells = {(c["province"], c["material"], c["side"]): c for c in r.json()}
    tailings = cells[("130000", "tailings", "offer")]
    # two of A's listings and one of C's: 2 organisations, below the disclosure threshold
    assert tailings["listings"] == 3 and tailings["organisations"] == 2 and tailings["suppressed"]
    assert tailings["quantity_t"] is None
    assert post(client, h["ent_b"], {**OFFER, "site": "bj-site"}).status_code == 201  # Beijing: other cell
    r = post(client, h["admin"], {**OFFER, "site": "cd-steel", "quantity_t": 1.0})
    assert r.status_code == 201
    cells = {(c["province"], c["material"], c["side"]): c for c in client.get("/api/v1/listings/aggregates").json()}
    assert cells[("110000", "tailings", "offer")]["suppressed"]
    assert cells[("130000", "fly_ash", "offer")]["quantity_t"] is None
    text = client.get("/api/v1/listings/aggregates").text
    for secret in (ORG_A, ORG_B, org_c, "cd-mine", "cd-steel", "承德矿业"):
        assert secret not in text
    assert set(tailings) == {"province", "material", "side", "listings", "organisations", "quantity_t",
                             "available_t", "suppressed"}
    page = client.get("/exchange/summary")  # the same totals on a page anyone may open
    assert page.status_code == 200 and "河北省" in page.text and "不公开" in page.text
    for secret in (ORG_A, org_c, "cd-mine", "承德矿业", "承德尾矿库"):
        assert secret not in page.text
    assert 'href="/exchange/summary"' in page.text  # in the public's menu


def test_public_aggregates_show_tonnes_from_three_organisations(client, users, app):
    h = users.headers
    from resynergy.scenario import uscc

    changes = []
    for i in range(3):
        org = f"91130800MA0D0000{i}"
        org += uscc.check_char(org)
        changes += [Change("organisations", "create", {"uscc": org, "name_zh": f"单位{i}", "name_en": f"Org {i}",
                                                       "region": "130800"}),
                    Change("sites", "create", {"id": f"s{i}", "name_zh": f"站点{i}", "name_en": f"Site {i}",
                                               "org_uscc": org, "region": "130800", "lat": 40.9, "lon": 117.9,
                                               "roles": "generator"})]
    with app.state.platform.sessions() as db:
        apply(db, Actor(users.ids["admin"], "admin", "admin"), changes)
        db.commit()
    for i in range(3):
        assert post(client, h["admin"], {**OFFER, "site": f"s{i}", "quantity_t": 10.0 * (i + 1)}).status_code == 201
    cell = next(c for c in client.get("/api/v1/listings/aggregates").json() if c["material"] == "tailings")
    assert cell == {"province": "130000", "material": "tailings", "side": "offer", "listings": 3,
                    "organisations": 3, "quantity_t": 60.0, "available_t": 60.0, "suppressed": False}


def test_listings_from_the_registry_in_one_action(client, users, app):
    h = users.headers
    r = client.post("/api/v1/listings/from-registry", json={}, headers=h["ent_a"])
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["year"] == 2022 and out["skipped"] == 0
    # the registry: cd-mine generates 1 Mt of tailings in 2022 → an offer over the year, monthly (an
    # annual flow: 1 Mt / 12 a month, #12 item 1); the sand plant at cd-plant (tailings_sand,
    # 0.6 Mt) wants the inputs of its process
    assert [(x["side"], x["site"], x["material"], x["accepts"], x["quantity_t"] * 12, x["start"], x["end"],
             x["recurrence"], len(x["periods"])) for x in out["created"]] == [
        ("offer", "cd-mine", "tailings", "", 1_000_000.0, "2022-01-01", "2022-12-31", "monthly", 12),
        ("want", "cd-plant", "tailings", "process:tailings_sand", 600_000.0, "2022-01-01", "2022-12-31", "monthly", 12)]
    again = client.post("/api/v1/listings/from-registry", json={"year": 2022}, headers=h["ent_a"]).json()
    assert again["created"] == [] and again["skipped"] == 2  # never listed twice
    wants = client.post("/api/v1/listings/from-registry", json={"sides": ["want"]}, headers=h["ent_b"]).json()
    # B's demands become wants capped at the virgin alternative's delivered price (demands.value)
    assert sorted((x["material"], x["total_t"], x["price_yuan_t"]) for x in wants["created"]) == [
        ("coarse_aggregate", 100_000.0, 50.0), ("manufactured_sand", 200_000.0, 60.0)]
    r = client.post("/api/v1/listings/from-registry", json={"year": 2031}, headers=h["ent_a"])
    assert r.status_code == 422 and "2022" in r.json()["issues"][0]["message_zh"]
    assert client.post("/api/v1/listings/from-registry", json={}, headers=h["admin"]).status_code == 422  # names no org
    assert client.post("/api/v1/listings/from-registry", json={}, headers=h["planner"]).status_code == 403
    assert [a for a, _ in audit_actions(app, "listing")] == ["create"] * 4


def _deal(client, h, offer_id, **kw):
    body = {"offer_id": offer_id, "to_site": "bj-site", "quantity_t": 40.0, **kw}
    return client.post("/api/v1/deals", json=body, headers=h)


def test_deal_steps_are_taken_by_the_right_party_in_order(client, users, app):
    h = users.headers
    offer = post(client, h["ent_a"], OFFER).json()
    r = _deal(client, h["ent_b"], offer["id"])
    assert r.status_code == 201, r.text
    deal = r.json()
    assert (deal["state"], deal["seller_org"], deal["buyer_org"], deal["price_yuan_t"]) == (
        "inquiry", ORG_A, ORG_B, 20.0)
    url = f"/api/v1/deals/{deal['id']}"
    # visibility: the two parties and unscoped staff; a Beijing planner too (the buyer's site is there)
    for role, status in {"ent_a": 200, "ent_b": 200, "planner": 200, "planner_bj": 200, "public": 403,
                         "anonymous": 401}.items():
        assert client.get(url, headers=h[role]).status_code == status, role
    # the buyer cannot answer its own inquiry, nor accept before an offer
    r = client.post(f"{url}/offer", json={}, headers=h["ent_b"])
    assert r.status_code == 403 and r.json()["issues"][0]["message_en"] == "only the seller may offer this deal"
    r = client.post(f"{url}/accept", headers=h["ent_b"])
    assert r.status_code == 409
    issue = r.json()["issues"][0]
    assert issue["code"] == "illegal_transition" and "已报价" in issue["message_zh"] and "offered" in issue["message_en"]
    assert client.post(f"{url}/offer", json={}, headers=h["regulator"]).status_code == 403
    r = client.post(f"{url}/offer", json={"price_yuan_t": 18.0, "mode": "road_diesel"}, headers=h["ent_a"])
    assert r.status_code == 200 and (r.json()["state"], r.json()["price_yuan_t"]) == ("offered", 18.0)
    assert client.post(f"{url}/accept", headers=h["ent_a"]).status_code == 403  # the seller cannot accept
    r = client.post(f"{url}/accept", headers=h["ent_b"])
    assert r.status_code == 200 and r.json()["state"] == "accepted" and r.json()["accepted_at"]
    lot = client.get(f"/api/v1/listings/{offer['id']}", headers=h["ent_a"]).json()
    assert (lot["reserved_t"], lot["available_t"]) == (40.0, 60.0)
    for name in ("accept", "decline", "offer"):  # only completion or cancellation after acceptance
        r = client.post(f"{url}/{name}", headers=h["ent_b" if name != "offer" else "ent_a"])
        assert r.status_code == 409 and r.json()["issues"][0]["code"] == "illegal_transition", name
    # the lot's quantity cannot fall below what is reserved; a lot with deals is not deleted
    lot_url = f"/api/v1/listings/{offer['id']}"
    r = client.patch(lot_url, json={"quantity_t": 30.0}, headers={**h["ent_a"], "If-Match": "*"})
    assert r.status_code == 409 and r.json()["issues"][0]["code"] == "below_reserved"
    assert client.delete(lot_url, headers={**h["ent_a"], "If-Match": "*"}).status_code == 409
    assert client.post(f"{url}/complete", headers=h["ent_a"]).json()["state"] == "completed"
    assert client.post(f"{url}/cancel", headers=h["ent_a"]).status_code == 409  # not once completed
    assert [a for a, _ in audit_actions(app, "deal")] == ["create", "offer", "accept", "complete"]


def test_deals_refuse_what_the_lot_cannot_hold(client, users):
    h = users.headers
    offer = post(client, h["ent_a"], OFFER).json()
    r = _deal(client, h["ent_b"], offer["id"], quantity_t=150.0)
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "over_available"
    assert _deal(client, h["ent_a"], offer["id"]).status_code == 422  # A cannot buy from itself
    assert _deal(client, h["ent_b"], offer["id"], to_site="cd-plant").status_code == 422  # not B's site
    assert _deal(client, h["planner"], offer["id"]).status_code == 403
    assert _deal(client, h["ent_b"], 999).status_code == 422
    ids = []
    for _ in range(2):  # two deals of 60 t on a 100 t lot: the second acceptance is refused
        d = _deal(client, h["ent_b"], offer["id"], quantity_t=60.0).json()
        client.post(f"/api/v1/deals/{d['id']}/offer", json={}, headers=h["ent_a"])
        ids.append(d["id"])
    assert client.post(f"/api/v1/deals/{ids[0]}/accept", headers=h["ent_b"]).status_code == 200
    r = client.post(f"/api/v1/deals/{ids[1]}/accept", headers=h["ent_b"])
    assert r.status_code == 409 and r.json()["issues"][0]["code"] == "over_available"
    assert "40" in r.json()["issues"][0]["message_zh"]
    assert client.get(f"/api/v1/deals/{ids[1]}", headers=h["ent_b"]).json()["state"] == "offered"  # unchanged
    assert client.get(f"/api/v1/listings/{offer['id']}", headers=h["ent_a"]).json()["reserved_t"] == 60.0
    # the buyer declines the offer it cannot take; the seller declines an inquiry
    assert client.post(f"/api/v1/deals/{ids[1]}/decline", headers=h["ent_a"]).status_code == 403
    assert client.post(f"/api/v1/deals/{ids[1]}/decline", headers=h["ent_b"]).json()["state"] == "declined"
    d = _deal(client, h["ent_b"], offer["id"], quantity_t=10.0).json()
    assert client.post(f"/api/v1/deals/{d['id']}/decline", headers=h["ent_b"]).status_code == 403
    assert client.post(f"/api/v1/deals/{d['id']}/cancel", headers=h["ent_b"]).json()["state"] == "cancelled"
    assert [x["id"] for x in client.get("/api/v1/deals?state=cancelled", headers=h["ent_a"]).json()["items"]] == [d["id"]]
    assert client.get("/api/v1/deals", headers=h["planner_bj"]).json()["total"] == 3  # to bj-site: in scope


def test_a_seller_offers_to_a_want_and_reservation_covers_both(client, users):
    h = users.headers
    offer = post(client, h["ent_a"], OFFER).json()
    want = post(client, h["ent_b"], WANT).json()
    r = client.post("/api/v1/deals", json={"offer_id": offer["id"], "want_id": want["id"], "quantity_t": 50.0},
                    headers=h["ent_a"])
    assert r.status_code == 201 and r.json()["state"] == "offered" and r.json()["to_site"] == "bj-site"
    assert client.post(f"/api/v1/deals/{r.json()['id']}/accept", headers=h["ent_b"]).status_code == 200
    assert client.get(f"/api/v1/listings/{want['id']}", headers=h["ent_b"]).json()["reserved_t"] == 50.0
    assert client.get(f"/api/v1/listings/{offer['id']}", headers=h["ent_a"]).json()["reserved_t"] == 50.0
    # a want that does not accept the material is refused
    other = post(client, h["ent_b"], {**WANT, "material": "coarse_aggregate", "accepts": ""}).json()
    r = client.post("/api/v1/deals", json={"offer_id": offer["id"], "want_id": other["id"], "quantity_t": 5.0},
                    headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "incompatible"


def _publish_plan(app, flows: list[dict]) -> int:
    """A succeeded, published region-wide run whose flows table is ``flows``."""
    from datetime import UTC, datetime

    from resynergy.store.models import Run, RunResult, ScenarioSnapshot

    with app.state.platform.sessions() as db:
        snap = ScenarioSnapshot(name="plan", version=1, digest="0" * 64, tables={}, province="")
        db.add(snap)
        db.flush()
        run = Run(scenario_id=snap.id, title="区域规划", options={}, state="succeeded", progress=1.0,
                  published=True, finished_at=datetime.now(UTC))
        db.add(run)
        db.flush()
        db.add(RunResult(run_id=run.id, name="flows", kind="table", data=flows))
        db.commit()
        return run.id


def test_matches_rank_counterparts_and_mark_the_plans_pairings(client, users, app):
    h = users.headers
    offer = post(client, h["ent_a"], OFFER).json()
    want = post(client, h["ent_b"], WANT).json()
    url = f"/api/v1/listings/{offer['id']}/matches"
    r = client.get(url, headers=h["ent_a"])
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["plan"] is None and m["active"]
    (hit,) = m["items"]
    assert (hit["counterpart"], hit["site"], hit["organisation"], hit["plan_recommended"]) == (
        str(want["id"]), "bj-site", ORG_B, False)
    assert hit["site_name"] == ["北京搅拌站", "Beijing concrete plant"] and hit["distance_km"] > 150
    assert abs(hit["delivered_yuan_t"] - (hit["price_yuan_t"] + hit["transport_yuan_t"] + hit["handling_yuan_t"]
                                          + hit["co2_yuan_t"])) < 1e-6
    assert client.get(f"/api/v1/matches?listing={want['id']}", headers=h["ent_b"]).json()["items"][0][
        "counterpart"] == str(offer["id"])
    for role, status in {"ent_b": 404, "planner_bj": 404, "planner": 200, "public": 403, "anonymous": 401}.items():
        assert client.get(url, headers=h[role]).status_code == status, role
    # the published plan moves tailings cd-mine → bj-site by rail through two terminals: one
    # pairing, though its flows table holds three legs between other sites
    run = _publish_plan(app, [
        {"year": 2022, "from_site": "cd-mine", "to_site": "t-a", "material": "tailings", "leg": "first_mile",
         "route": "r7", "mode": "road_diesel", "t": 500.0},
        {"year": 2022, "from_site": "t-a", "to_site": "t-b", "material": "tailings", "leg": "rail",
         "route": "r7", "mode": "rail", "t": 500.0},
        {"year": 2022, "from_site": "t-b", "to_site": "bj-site", "material": "tailings", "leg": "last_mile",
         "route": "r7", "mode": "road_diesel", "t": 500.0},
        {"year": 2022, "from_site": "cd-plant", "to_site": "bj-site", "material": "tailings", "leg": "direct",
         "route": "", "mode": "road_diesel", "t": 9.0}])
    m = client.get(url, headers=h["ent_a"]).json()
    assert m["plan"]["run_id"] == run and m["items"][0]["plan_recommended"] is True
    # once the lot is taken by a deal the want no longer finds it (the market follows the listings)
    d = _deal(client, h["ent_b"], offer["id"], want_id=want["id"], to_site="", quantity_t=80.0).json()
    client.post(f"/api/v1/deals/{d['id']}/offer", json={}, headers=h["ent_a"])
    assert client.post(f"/api/v1/deals/{d['id']}/accept", headers=h["ent_b"]).status_code == 200
    assert client.get(f"/api/v1/matches?listing={want['id']}", headers=h["ent_b"]).json()["items"] == []
    # a withdrawn listing is off the market: no matches, said so
    client.patch(url.removesuffix("/matches"), json={"active": False}, headers={**h["ent_a"], "If-Match": "*"})
    m = client.get(url, headers=h["ent_a"]).json()
    assert m["active"] is False and m["items"] == []


def test_store_specs_are_the_cores():
    from resynergy.exchange.listings import LISTING_COLUMNS, SPECS
    from resynergy.services import exchange
    from resynergy.store.models import LISTING_SPECS, Listing

    assert LISTING_SPECS == SPECS
    assert set(LISTING_COLUMNS) - {"id"} <= set(Listing.__table__.columns.keys())
    assert set(exchange.FIELDS) | {"id", "organisation"} == set(LISTING_COLUMNS)


def test_cli_match_prints_the_ranked_counterparts(client, users, db_url):
    import json

    from typer.testing import CliRunner

    from resynergy.cli.main import app as cli

    h = users.headers
    offer = post(client, h["ent_a"], OFFER).json()
    want = post(client, h["ent_b"], WANT).json()
    run = CliRunner().invoke(cli, ["exchange", "match", str(offer["id"]), "--db", db_url, "--json"])
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert [m["counterpart"] for m in doc["items"]] == [str(want["id"])]
    api = client.get(f"/api/v1/listings/{offer['id']}/matches", headers=h["ent_a"]).json()
    assert doc["items"][0]["delivered_yuan_t"] == api["items"][0]["delivered_yuan_t"]  # one service, one answer
    run = CliRunner().invoke(cli, ["exchange", "match", str(offer["id"]), "--db", db_url, "--lang", "en"])
    assert run.exit_code == 0 and "Beijing" in run.stdout and "delivered" in run.stdout
    run = CliRunner().invoke(cli, ["exchange", "match", "999", "--db", db_url])
    assert run.exit_code == 1 and "999" in run.output


def test_pages_publish_match_and_deal(client, users, app):
    """The enterprise's pages: publish (a bad form comes back with its issue), list from the
    registry, see matches with the plan mark, start a deal, and take the steps offered."""
    import re

    from support.platform import csrf, sign_in

    assert sign_in(client, "ent_b").status_code == 303
    page = client.get("/exchange")
    assert page.status_code == 200 and 'href="/exchange"' in page.text and "我的供需信息" in page.text
    token = csrf(page.text)
    form = {"csrf_token": token, "side": "want", "site": "bj-site", "material": "manufactured_sand",
            "accepts": "tailings", "quantity_t": "80", "price_yuan_t": "", "start": "2026-13-01"}
    r = client.post("/exchange/listings", data=form, follow_redirects=False)
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    r = client.post("/exchange/listings", data={**form, "start": "2026-01-01"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/exchange?msg=listing_created"
    want_id = client.get("/api/v1/listings", headers=users.headers["ent_b"]).json()["items"][0]["id"]
    offer = post(client, users.headers["ent_a"], OFFER).json()
    _publish_plan(app, [{"year": 2022, "from_site": "cd-mine", "to_site": "bj-site", "material": "tailings",
                         "leg": "direct", "route": "", "mode": "road_diesel", "t": 5.0}])
    page = client.get(f"/exchange/listings/{want_id}")
    assert page.status_code == 200 and 'id="matches"' in page.text and "规划推荐" in page.text
    assert "承德矿业" in page.text and 'class="badge plan-mark"' in page.text
    assert "另加面议价格" not in page.text  # a priced offer: its delivered cost includes the price
    negotiable = post(client, users.headers["ent_a"], {**OFFER, "price_yuan_t": None})
    assert negotiable.status_code == 201, negotiable.text
    page = client.get(f"/exchange/listings/{want_id}")  # logistics only, and the page says so
    assert page.text.count('class="excl-price"') == 1 and "另加面议价格" in page.text
    r = client.post("/exchange/deals", data={"csrf_token": token, "listing": want_id, "counterpart": offer["id"],
                                              "quantity_t": "30"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/exchange/deals")
    inbox = client.get("/exchange/deals").text
    deal_id = int(re.search(r'id="deal-(\d+)"', inbox).group(1))
    # B's inquiry: B may cancel it, not answer it; A's page offers the offer and the decline
    assert f'action="/exchange/deals/{deal_id}/cancel"' in inbox and f"/{deal_id}/offer" not in inbox
    r = client.post(f"/exchange/deals/{deal_id}/accept", data={"csrf_token": token})
    assert r.status_code == 409 and "已报价" in r.text  # the illegal step, explained on the page
    client.post("/logout", data={"csrf_token": token})
    assert sign_in(client, "ent_a").status_code == 303
    inbox = client.get("/exchange/deals").text
    assert f"/{deal_id}/offer" in inbox and f"/{deal_id}/decline" in inbox and f"/{deal_id}/accept" not in inbox
    r = client.post(f"/exchange/deals/{deal_id}/offer", data={"csrf_token": csrf(inbox)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/api/v1/deals/{deal_id}", headers=users.headers["ent_a"]).json()["state"] == "offered"
    r = client.post("/exchange/from-registry", data={"csrf_token": csrf(inbox)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/exchange?msg=listed_from_registry"
    client.cookies.set("lang", "en")
    page = client.get("/exchange").text
    assert "My listings" in page and "Withdraw" in page


def test_hostile_form_values_are_refused_not_crashed(client, users):
    """Non-finite numbers and control characters from the page form: a located 422, nothing stored."""
    from support.platform import csrf, sign_in

    sign_in(client, "ent_a")
    token = csrf(client.get("/exchange").text)
    base = {"csrf_token": token, "side": "offer", "site": "cd-mine", "material": "tailings", "quantity_t": "10"}
    for field, value in (("quantity_t", "inf"), ("quantity_t", "1e400"), ("quantity_t", "nan"),
                         ("site", "cd-\x00mine"), ("start", "2026\x0b-01-01"), ("spec_cao_pct", "-Infinity")):
        r = client.post("/exchange/listings", data={**base, field: value}, follow_redirects=False)
        assert r.status_code == 422, (field, value, r.status_code)
    r = client.post("/exchange/listings", data={**base, "price_yuan_t": "nan"}, follow_redirects=False)
    assert r.status_code == 303  # NaN price: not stated (negotiable), never a NaN in the database
    (row,) = client.get("/api/v1/listings", headers=users.headers["ent_a"]).json()["items"]
    assert row["price_yuan_t"] is None and row["quantity_t"] == 10.0


def test_an_offer_cannot_promise_more_than_is_left(client, users):
    h = users.headers
    offer = post(client, h["ent_a"], OFFER).json()
    d = _deal(client, h["ent_b"], offer["id"], quantity_t=10.0).json()
    r = client.post(f"/api/v1/deals/{d['id']}/offer", json={"quantity_t": 120.0}, headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "over_available"
    assert client.get(f"/api/v1/deals/{d['id']}", headers=h["ent_a"]).json()["state"] == "inquiry"
    r = client.post(f"/api/v1/deals/{d['id']}/offer", json={"quantity_t": 100.0}, headers=h["ent_a"])
    assert r.status_code == 200 and r.json()["quantity_t"] == 100.0


def test_a_deal_names_a_catalog_transport_mode(client, users):
    h = users.headers
    offer = post(client, h["ent_a"], OFFER).json()
    r = _deal(client, h["ent_b"], offer["id"], mode="teleport")
    assert r.status_code == 422 and r.json()["issues"][0]["column"] == "mode"
    d = _deal(client, h["ent_b"], offer["id"], mode="road_diesel").json()
    r = client.post(f"/api/v1/deals/{d['id']}/offer", json={"mode": "hyperloop"}, headers=h["ent_a"])
    assert r.status_code == 422 and r.json()["issues"][0]["column"] == "mode"
