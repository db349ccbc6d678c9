"""Concurrent acceptances never allocate more than a lot holds (#12 item 3): threads against a
live app (uvicorn on a loopback port) and straight against the service, on SQLite and
PostgreSQL. Acceptance reserves with one conditional UPDATE checked by its row count inside the
transaction that marks the deal accepted; the database's CHECK (reserved_t <= quantity_t) is
the last line, and is checked here by query, independently of the application."""

from __future__ import annotations

import threading

import httpx
import pytest
import sqlalchemy as sa

from resynergy.services.access import Actor
from support.platform import ORG_B, LiveServer, seed

LOT_T = 100.0
OFFER = {"side": "offer", "site": "cd-mine", "material": "tailings", "quantity_t": LOT_T, "price_yuan_t": 20.0}


def together(*calls):
    """Run the calls in threads released at the same instant; their results (or errors) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as err:  # noqa: BLE001 - reported by the assertions
            results[i] = err

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(180)
    return results


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


@pytest.fixture
def live(app, db_url):
    users = seed(app)
    with LiveServer(app) as server:
        yield server, users, db_url


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

    from resynergy.services import exchange
    from resynergy.services.registry import Rejected

    users = seed(app)
    h = users.headers
    with TestClient(app) as c:
        offer = c.post("/api/v1/listings", json=OFFER, headers=h["ent_a"]).json()
        sizes = [45.0, 35.0, 25.0, 15.0, 40.0, 30.0]
        ids = offered_deals(c, h, offer["id"], sizes)
    buyer = Actor(users.ids["ent_b"], "ent_b", "enterprise", org_uscc=ORG_B)
    sessions = app.state.platform.sessions

    def accept(deal_id):
        with sessions() as db:
            try:
                return exchange.step(db, buyer, deal_id, "accept")["quantity_t"]
            except Rejected as err:
                return err.status

    results = together(*(lambda i=i: accept(i) for i in ids))
    taken = [r for r in results if isinstance(r, float)]
    assert all(r in (409,) for r in results if not isinstance(r, float)), results
    assert taken and sum(taken) <= LOT_T
    # no acceptance was refused that would still have fitted after the others
    assert all(q > LOT_T - sum(taken) for q, r in zip(sizes, results, strict=True) if not isinstance(r, float))
    quantity, reserved, accepted = stored(db_url, offer["id"])
    assert reserved == accepted == sum(taken)
