"""Enterprise-filed cross-province transfer requests (跨省转移商请, #12 leftovers): the
generator files, the origin province's regulator approves or refuses with a reason, the
destination's regulator sees it but does not decide, every step is audited, and the manifest's
send check accepts only an approved request. SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from support.manifests import ORG_C, make_deal
from support.platform import ORG_A, ORG_B, add_users, seed

REQUEST = {"origin_province": "130000", "dest_province": "110000", "receiver_org": ORG_B, "material": "tailings",
           "quantity_kg": 100_000, "valid_from": "2022-01-01", "valid_to": "2022-12-31"}


@pytest.fixture
def tw(app):
    users = seed(app)
    add_users(app, users, {"carrier": ("enterprise", ORG_C, ""), "regulator_he": ("regulator", "", "130000"),
                           "regulator_bj": ("regulator", "", "110000"), "regulator_tj": ("regulator", "", "120000")})
    with TestClient(app) as c:
        yield c, users.headers, app


def file(c, h, who="ent_a", **over):
    return c.post("/api/v1/transfer-approvals/requests", headers=h[who], json={**REQUEST, **over})


def decide(c, h, who, rid, version, **body):
    return c.post(f"/api/v1/transfer-approvals/{rid}/decision", headers={**h[who], "If-Match": f'"{version}"'},
                  json=body)


def visible(c, h, who) -> set[int]:
    r = c.get("/api/v1/transfer-approvals", headers=h[who])
    assert r.status_code == 200, r.text
    return {a["id"] for a in r.json()}


def test_file_then_the_origin_province_decides_and_the_destination_sees_it(tw):
    c, h, app = tw
    r = file(c, h)
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["status"], req["generator_org"], req["kind"], req["reason"], req["decided_at"]) == (
        "pending", ORG_A, "approval", "", None)
    rid = req["id"]
    # both parties and both provinces' regulators see it; Tianjin's does not
    for who in ("ent_a", "ent_b", "regulator_he", "regulator_bj", "regulator", "admin"):
        assert rid in visible(c, h, who), who
    assert rid not in visible(c, h, "regulator_tj")
    # the destination's regulator, the parties and Tianjin cannot decide
    assert decide(c, h, "regulator_bj", rid, 1, decision="approve").status_code == 403
    assert decide(c, h, "ent_a", rid, 1, decision="approve").status_code == 403
    assert decide(c, h, "regulator_tj", rid, 1, decision="approve").status_code == 404
    # refusing needs a reason (zh and en); a stale version is a 412, none a 428
    r = decide(c, h, "regulator_he", rid, 1, decision="refuse", reason="  ")
    assert r.status_code == 422 and r.json()["issues"][0]["column"] == "reason"
    assert "理由" in r.json()["issues"][0]["message_zh"] and "reason" in r.json()["issues"][0]["message_en"]
    assert decide(c, h, "regulator_he", rid, 7, decision="approve").status_code == 412
    assert c.post(f"/api/v1/transfer-approvals/{rid}/decision", headers=h["regulator_he"],
                  json={"decision": "approve"}).status_code == 428
    r = decide(c, h, "regulator_he", rid, 1, decision="refuse", reason="接受人许可证不含该类废物")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reason"], r.json()["row_version"]) == ("refused", "接受人许可证不含该类废物", 2)
    assert r.json()["decided_at"]
    # the generator reads the reason; a decided request is not decided again
    mine = {a["id"]: a for a in c.get("/api/v1/transfer-approvals", headers=h["ent_a"]).json()}
    assert mine[rid]["reason"] == "接受人许可证不含该类废物"
    again = decide(c, h, "regulator_he", rid, 2, decision="approve")
    assert again.status_code == 409 and again.json()["issues"][0]["code"] == "illegal_transition"
    # a second request is approved with its document number
    r2 = file(c, h, quantity_kg=50_000).json()
    ok = decide(c, h, "regulator_he", r2["id"], 1, decision="approve", reference="冀环函〔2022〕12号")
    assert ok.status_code == 200 and (ok.json()["status"], ok.json()["reference"]) == ("approved", "冀环函〔2022〕12号")
    with app.state.platform.sessions() as db:
        events = db.execute(sa.text("SELECT action, actor FROM audit_log WHERE object_type = 'transfer_approval' "
                                    "ORDER BY id")).all()
    assert [tuple(e) for e in events] == [("request", "ent_a"), ("refuse", "regulator_he"),
                                          ("request", "ent_a"), ("approve", "regulator_he")]


def test_bad_requests_are_refused_located_and_nothing_is_stored(tw):
    c, h, app = tw
    cases = [
        ({"dest_province": "130000"}, "same_province", "dest_province"),
        ({"origin_province": "110000", "dest_province": "130000"}, "origin_mismatch", "origin_province"),
        ({"origin_province": "130100"}, "bad_region", "origin_province"),
        ({"valid_from": "2022-12-31", "valid_to": "2022-01-01"}, "year_order", "valid_to"),
        ({"valid_to": "2022-13-01"}, "not_date", "valid_to"),
        ({"material": "", "waste_code": ""}, "required", "material"),
        ({"waste_code": "900-41-49"}, "bad_hw_code", "waste_code"),
        ({"generator_org": ORG_B}, "not_own", "generator_org"),
    ]
    for over, code, column in cases:
        r = file(c, h, **over)
        assert r.status_code == 422, (over, r.text)
        assert any(i["code"] == code and i["column"] == column for i in r.json()["issues"]), (over, r.json())
    assert file(c, h, "regulator_he").status_code == 403  # regulators record approvals, they do not file
    assert file(c, h, "admin").status_code == 422  # the admin must name the generator
    assert file(c, h, "admin", generator_org=ORG_A).status_code == 201
    assert c.post("/api/v1/transfer-approvals/requests", headers=h["ent_a"],
                  json={**REQUEST, "quantity_kg": -5}).status_code == 422
    assert len(visible(c, h, "admin")) == 1


def test_only_an_approved_request_lets_a_cross_province_manifest_be_sent(tw):
    c, h, app = tw
    deal = make_deal(app.state.platform.sessions, ORG_A, ORG_B, "cd-mine", "bj-site", quantity_t=100.0)
    rid = file(c, h).json()["id"]
    m = c.post("/api/v1/manifests", headers=h["ent_a"],
               json={"deal_id": deal, "fields": {"declared_kg": 30_000, "carrier_org": ORG_C}})
    m = c.post(f"/api/v1/manifests/{m.json()['id']}/seal", headers={**h["ent_a"], "If-Match": m.headers["ETag"]})
    assert m.status_code == 200, m.text

    def send():
        return c.post(f"/api/v1/manifests/{m.json()['id']}/sign", headers={**h["ent_a"], "If-Match": m.headers["ETag"]},
                      json={"frame": "emission", "fields": {"approval": str(rid), "sent_at": "2022-06-01T08:00"}})

    pending = send()
    assert pending.status_code == 422 and "pending" in pending.text, pending.text
    assert decide(c, h, "regulator_he", rid, 1, decision="approve").status_code == 200
    sent = send()
    assert sent.status_code == 200 and sent.json()["state"] == "sent", sent.text


def test_the_pages_file_and_decide_a_request(tw):
    c, h, app = tw
    form = {"kind": "approval", **{k: str(v) for k, v in REQUEST.items()}}
    r = c.post("/manifests/transfer-requests", headers=h["ent_a"], data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/manifests?msg=request_filed", r.text
    page = c.get("/manifests", headers=h["ent_a"]).text
    assert 'id="new-transfer-request"' in page and 'data-status="pending"' in page
    bad = c.post("/manifests/transfer-requests", headers=h["ent_a"], data={**form, "quantity_kg": "lots"})
    assert bad.status_code == 422 and "quantity_kg" in bad.text
    rid = visible(c, h, "ent_a").pop()
    # the destination's regulator sees it without a decision form; the origin's decides
    assert f'action="/alerts/transfer-requests/{rid}"' not in c.get("/alerts", headers=h["regulator_bj"]).text
    alerts = c.get("/alerts", headers=h["regulator_he"]).text
    assert f'id="request-{rid}"' in alerts and f'action="/alerts/transfer-requests/{rid}"' in alerts
    no_reason = c.post(f"/alerts/transfer-requests/{rid}", headers=h["regulator_he"],
                       data={"decision": "refuse", "row_version": "1"})
    assert no_reason.status_code == 422
    r = c.post(f"/alerts/transfer-requests/{rid}", headers=h["regulator_he"], follow_redirects=False,
               data={"decision": "refuse", "reason": "超出接受人处理能力", "row_version": "1"})
    assert r.status_code == 303, r.text
    assert "超出接受人处理能力" in c.get("/manifests", headers=h["ent_a"]).text
