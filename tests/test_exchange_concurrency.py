"""Concurrent acceptances never allocate more than a lot holds (#12 item 3): threads against a
live app (uvicorn on a loopback port) and straight against the service, on SQLite and
PostgreSQL. Acceptance reserves with one conditional UPDATE checked by its row count inside the
transaction that marks the deal accepted; the database's CHECK (reserved_t <= quantity_t) is
the last line, and is checked here by query, independently of the application."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from support.platform import accept_together, seed, together

LOT_T = 100.0
OFFER = {"side": "offer", "site": "cd-mine", "material": "tailings", "quantity_t": LOT_T, "price_yuan_t": 20.0}


def stored(url: str, offer_id: int) -> tuple[float, float, float]:
    """(quantity, reserved, sum of accepted deals) of a lot, read by query."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q, reserved = conn.execute(sa.text("SELECT quantity_t, reserved_t FROM listings WHERE id = :i"),
                                       {"i": offer_id}).one()
            accepted = conn.execute(sa.text("SELECT COALESCE(SUM(quantity_t), 0) FROM deals WHERE offer_id = :i "
                                            "AND state = 'accepted'"), {"i": offer_id}).scalar_one()
            return float(q), float(reserved), float(accepted)
    finally:
        engine.dispose()


def offered_deals(c: httpx.Client, h: dict, offer_id: int, sizes: list[float]) -> list[int]:
    ids = []
    for q in sizes:
        d = c.post("/api/v1/deals", json={"offer_id": offer_id, "to_site": "bj-site", "quantity_t": q},
                   headers=h["ent_b"])
        assert d.status_code == 201, d.text
        r = c.post(f"/api/v1/deals/{d.json()['id']}/offer", json={}, headers=h["ent_a"])
        assert r.status_code == 200, r.text
        ids.append(d.json()["id"])
    return ids


def test_concurrent_acceptances_over_http_never_over_allocate(live):
    server, users, url = live
    h = users.headers
    with httpx.Client(base_url=server.url, timeout=180) as c:
        offer = c.post("/api/v1/listings", json=OFFER, headers=h["ent_a"]).json()
        ids = offered_deals(c, h, offer["id"], [30.0] * 8)  # 240 t asked of a 100 t lot
        answers = together(*(lambda i=i: c.post(f"/api/v1/deals/{i}/accept", headers=h["ent_b"]) for i in ids))
        codes = sorted(getattr(a, "status_code", repr(a)) for a in answers)
        assert codes == [200] * 3 + [409] * 5, [getattr(a, "text", a) for a in answers]
        for a in answers:
            if a.status_code == 409:
                assert a.json()["issues"][0]["code"] in ("over_available", "stale")
        quantity, reserved, accepted = stored(url, offer["id"])
        assert reserved == accepted == 90.0 <= quantity
        # the same deal accepted twice at once: one acceptance, one reservation
        offer2 = c.post("/api/v1/listings", json={**OFFER, "quantity_t": 50.0}, headers=h["ent_a"]).json()
        (deal,) = offered_deals(c, h, offer2["id"], [20.0])
        answers = together(*(lambda: c.post(f"/api/v1/deals/{deal}/accept", headers=h["ent_b"]) for _ in range(4)))
        assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
        assert stored(url, offer2["id"])[1:] == (20.0, 20.0)


def test_concurrent_acceptances_in_the_service_never_over_allocate(app, db_url):
    """Straight service calls, each thread its own session (as each request has): odd sizes so
    that which acceptances fit depends on their order, and the total never passes the lot."""
    from fastapi.testclient import TestClient


    users = seed(app)
    h = users.headers
    with TestClient(app) as c:
        offer = c.post("/api/v1/listings", json=OFFER, headers=h["ent_a"]).json()
        sizes = [45.0, 35.0, 25.0, 15.0, 40.0, 30.0]
        ids = offered_deals(c, h, offer["id"], sizes)
    results = accept_together(app, users, ids)
    taken = [r for r in results if isinstance(r, float)]
    assert all(r in (409,) for r in results if not isinstance(r, float)), results
    assert taken and sum(taken) <= LOT_T
    # no acceptance was refused that would still have fitted after the others
    assert all(q > LOT_T - sum(taken) for q, r in zip(sizes, results, strict=True) if not isinstance(r, float))
    quantity, reserved, accepted = stored(db_url, offer["id"])
    assert reserved == accepted == sum(taken)


def test_shrinking_a_lot_while_a_deal_is_accepted_never_leaves_it_over_reserved(live):
    """The seller cuts the lot to 50 t while the buyer accepts 60 t of it: whichever lands
    first, the other is refused, and the lot never holds less than it has reserved."""
    server, users, url = live
    h = users.headers
    with httpx.Client(base_url=server.url, timeout=180) as c:
        for _ in range(3):
            offer = c.post("/api/v1/listings", json=OFFER, headers=h["ent_a"]).json()
            (deal,) = offered_deals(c, h, offer["id"], [60.0])
            shrink, accept = together(
                lambda lot=offer["id"]: c.patch(f"/api/v1/listings/{lot}", json={"quantity_t": 50.0},
                                                headers={**h["ent_a"], "If-Match": "*"}),
                lambda deal=deal: c.post(f"/api/v1/deals/{deal}/accept", headers=h["ent_b"]))
            assert sorted([shrink.status_code, accept.status_code]) in ([200, 409], [200, 412]), (shrink.text, accept.text)
            quantity, reserved, accepted = stored(url, offer["id"])
            assert reserved == accepted <= quantity
            assert (quantity, reserved) == ((100.0, 60.0) if accept.status_code == 200 else (50.0, 0.0))


def test_listing_from_the_registry_twice_at_once_lists_each_row_once(live):
    server, users, url = live
    h = users.headers
    with httpx.Client(base_url=server.url, timeout=180) as c:
        answers = together(*(lambda: c.post("/api/v1/listings/from-registry", json={}, headers=h["ent_a"])
                             for _ in range(4)))
        assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
        made = sorted(len(a.json()["created"]) for a in answers)
        assert made == [0, 0, 0, 2], made  # the offer and the want of ent_a's registry rows, once
        assert c.get("/api/v1/listings", headers=h["ent_a"]).json()["total"] == 2
