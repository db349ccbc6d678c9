"""Electronic manifests on the platform (issue #12 items 4, 5, 7): the whole path through the API,
illegal steps, locked fields (API and service), tampering found after a direct database update,
racing signers (SQLite and PostgreSQL), an interrupted signature, approvals, licences, alerts,
the exports and the offline verifier. The authorization matrix of the routes is in
tests/test_api_matrix.py (every route × role × own/other organisation)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.services import manifests
from resynergy.services.registry import Rejected
from resynergy.store.models import Manifest, ManifestSignature
from support.manifests import ORG_C, actor, make_deal
from support.platform import ORG_A, ORG_B, Platform, add_users


@dataclass
class MW(Platform):
    deal: int
    approval: int

    @property
    def h(self) -> dict[str, dict[str, str]]:
        return self.headers

    def actor(self, name: str):
        role, org, prov = {"ent_a": ("enterprise", ORG_A, ""), "ent_b": ("enterprise", ORG_B, ""),
                           "carrier": ("enterprise", ORG_C, ""), "admin": ("admin", "", "")}[name]
        return actor(self.ids[name], name, role, org, prov)


@pytest.fixture
def mw(app, users):
    p = app.state.platform
    add_users(app, users, {"carrier": ("enterprise", ORG_C, ""), "regulator_bj": ("regulator", "", "110000"),
                           "regulator_tj": ("regulator", "", "120000")})
    deal = make_deal(p.sessions, ORG_A, ORG_B, "cd-mine", "bj-site", quantity_t=100.0)
    with TestClient(app) as client:
        r = client.post("/api/v1/transfer-approvals", headers=users.headers["regulator"], json={
            "kind": "filing", "origin_province": "130000", "dest_province": "110000", "generator_org": ORG_A,
            "receiver_org": ORG_B, "material": "tailings", "quantity_kg": 100_000, "valid_from": "2020-01-01",
            "valid_to": "2099-12-31", "reference": "冀环固备〔2022〕1号"})
        assert r.status_code == 201, r.text
        yield MW(client, app, users.headers, users.ids, deal, r.json()["id"])


def tag(r) -> dict[str, str]:
    return {"If-Match": r.headers["ETag"]}


def create(mw: MW, **fields) -> Any:
    r = mw.client.post("/api/v1/manifests", headers=mw.h["ent_a"],
                       json={"deal_id": mw.deal, "fields": {"declared_kg": 30_000, "carrier_org": ORG_C, **fields}})
    assert r.status_code == 201, r.text
    return r


def go(mw: MW, r, who: str, path: str, body: dict | None = None):
    mid = r.json()["id"]
    return mw.client.post(f"/api/v1/manifests/{mid}/{path}", headers={**mw.h[who], **tag(r)}, json=body)


def to_received(mw: MW, received_kg: int = 30_000, acceptance: str = "accepted", **reception):
    r = create(mw)
    r = go(mw, r, "ent_a", "seal")
    assert r.status_code == 200, r.text
    r = go(mw, r, "ent_a", "sign", {"frame": "emission", "fields": {"approval": str(mw.approval),
                                                                   "sent_at": "2022-05-31T08:00"}})
    assert r.status_code == 200, r.text
    r = go(mw, r, "carrier", "sign", {"frame": "transport", "fields": {"mode": "rail", "vehicle": "K1234",
                                                                     "taken_over_at": "2022-05-31T09:00"}})
    assert r.status_code == 200, r.text
    r = go(mw, r, "ent_b", "sign", {"frame": "reception", "fields": {
        "received_kg": received_kg, "acceptance": acceptance, "received_at": "2022-05-31T20:00", **reception}})
    assert r.status_code == 200, r.text
    return r


def test_the_whole_path_signs_a_chain_that_verifies(mw: MW):
    r = to_received(mw, received_kg=31_600)  # +5.3 %: a weight deviation
    r = go(mw, r, "ent_b", "sign", {"frame": "operation", "fields": {"treatment": "尾矿制砂", "processed_at": "2022-06-01"}})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["state"] == "processed" and [s["frame"] for s in m["signatures"]] == [
        "emission", "transport", "reception", "operation"]
    assert [s["org"] for s in m["signatures"]] == [ORG_A, ORG_C, ORG_B, ORG_B]
    assert m["signatures"][1]["prev"] == m["signatures"][0]["hash"]
    v = mw.client.get(f"/api/v1/manifests/{m['id']}/verify", headers=mw.h["regulator"]).json()
    assert v["ok"] and v["signatures"] == 4 and v["head"] == m["signatures"][-1]["hash"]
    # the alert reaches the parties and the regulators of both provinces, not a third province
    for who in ("ent_a", "ent_b", "regulator", "regulator_bj"):
        kinds = [a["kind"] for a in mw.client.get("/api/v1/alerts", headers=mw.h[who]).json()["items"]]
        assert kinds == ["weight_deviation"], (who, kinds)
    assert mw.client.get("/api/v1/alerts", headers=mw.h["regulator_tj"]).json()["items"] == []
    assert mw.client.get(f"/api/v1/manifests/{m['id']}", headers=mw.h["regulator_tj"]).status_code == 404
    alert = mw.client.get("/api/v1/alerts", headers=mw.h["regulator_bj"]).json()["items"][0]
    assert alert["provinces"] == ["130000", "110000"] and "过磅偏差" in alert["zh"] and "+5.3%" in alert["en"]
    # every step is in the audit log
    with mw.sessions() as db:
        actions = db.execute(sa.text("SELECT action FROM audit_log WHERE object_type = 'manifests' ORDER BY id")
                             ).scalars().all()
    assert actions == ["create", "manifest_seal", "manifest_emission", "manifest_transport", "manifest_reception",
                       "manifest_operation"]
    # the exports: JSON verifies offline; the workbook and the printable page carry the fields
    doc = mw.client.get(f"/api/v1/manifests/{m['id']}/export.json", headers=mw.h["ent_a"]).content
    assert manifests.verify_document(doc)["ok"]
    bad = json.loads(doc)
    bad["fields"]["received_kg"] = 30_000
    out = manifests.verify_document(json.dumps(bad))
    assert not out["ok"] and [(p["kind"], p["seq"], p["field"]) for p in out["problems"]] == [
        ("field_changed", 3, "received_kg")]
    x = mw.client.get(f"/api/v1/manifests/{m['id']}/export.xlsx", headers=mw.h["ent_b"])
    assert x.status_code == 200 and x.content[:2] == b"PK"
    page = mw.client.get(f"/manifests/{m['id']}/print", headers=mw.h["ent_a"])
    assert page.status_code == 200 and "移出人" in page.text and "K1234" in page.text and m["number"] in page.text


def test_illegal_steps_are_refused_with_words(mw: MW):
    r = create(mw)
    bad = go(mw, r, "ent_a", "sign", {"frame": "emission"})  # a draft is sealed first
    assert bad.status_code == 409
    issue = bad.json()["issues"][0]
    assert issue["code"] == "illegal_transition" and "草稿" in issue["message_zh"] and "定稿" in issue["message_zh"]
    assert "draft" in issue["message_en"] and "seal" in issue["message_en"]
    r = go(mw, r, "ent_a", "seal")
    # the wrong party: the carrier cannot sign the generator's frame, the receiver cannot seal
    assert go(mw, r, "carrier", "sign", {"frame": "emission"}).status_code == 403
    assert go(mw, r, "ent_b", "unseal").status_code == 403
    assert go(mw, r, "admin", "sign", {"frame": "emission"}).status_code == 403  # nobody signs for another
    assert go(mw, r, "ent_b", "sign", {"frame": "reception", "fields": {"acceptance": "accepted"}}).status_code == 409
    # a cross-province transfer without its approval is not sent
    no = go(mw, r, "ent_a", "sign", {"frame": "emission"})
    assert no.status_code == 422 and {"approval"} <= {i["column"] for i in no.json()["issues"]}
    r = mw.client.get(f"/api/v1/manifests/{r.json()['id']}", headers=mw.h["ent_a"])
    assert r.json()["state"] == "sealed" and r.json()["signatures"] == []
    # a final state names that no step is left
    done = to_received(mw, acceptance="refused", refusal_reason="含水率超标", received_kg=30_000)
    assert done.json()["state"] == "refused"
    last = go(mw, done, "ent_b", "sign", {"frame": "operation", "fields": {"treatment": "x"}})
    assert last.status_code == 409 and "final" in last.json()["issues"][0]["message_en"]
    # the refused load goes back on a linked manifest
    child = mw.client.post(f"/api/v1/manifests/{done.json()['id']}/link", headers=mw.h["ent_b"], json={"kind": "return"})
    assert child.status_code == 201, child.text
    f = child.json()["fields"]
    assert (f["parent"], f["link"], f["declared_kg"], f["generator_org"], f["receiver_org"], f["to_site"]) == (
        done.json()["number"], "return", 30_000, ORG_B, ORG_A, "cd-mine")
    again = mw.client.post(f"/api/v1/manifests/{done.json()['id']}/link", headers=mw.h["ent_a"],
                           json={"kind": "redirect", "to_site": "cd-plant"})
    assert again.status_code == 409 and child.json()["number"] in again.json()["issues"][0]["message_en"]


def test_signed_fields_cannot_change_through_the_api_or_the_service(mw: MW):
    r = create(mw)
    r = go(mw, r, "ent_a", "seal")
    r = go(mw, r, "ent_a", "sign", {"frame": "emission", "fields": {"approval": str(mw.approval)}})
    mid = r.json()["id"]
    patch = mw.client.patch(f"/api/v1/manifests/{mid}", headers={**mw.h["ent_a"], **tag(r)},
                            json={"fields": {"declared_kg": 1}})
    assert patch.status_code == 409 and patch.json()["issues"][0]["code"] == "locked"
    bad_mode = go(mw, r, "carrier", "sign", {"frame": "transport", "fields": {"mode": "truck", "vehicle": "K1"}})
    assert bad_mode.status_code == 422 and bad_mode.json()["issues"][0]["column"] == "mode"
    assert "rail" in bad_mode.json()["issues"][0]["message_en"]
    sneak = go(mw, r, "carrier", "sign", {"frame": "transport", "fields": {"mode": "rail", "vehicle": "K1",
                                                                         "declared_kg": 1}})
    assert sneak.status_code == 409 and sneak.json()["issues"][0]["column"] == "declared_kg"
    with mw.sessions() as db:
        with pytest.raises(Rejected) as err:
            manifests.edit(db, mw.actor("ent_a"), mid, r.json()["row_version"], {"declared_kg": 1})
        assert err.value.status == 409
    with mw.sessions() as db:
        with pytest.raises(Rejected):
            manifests.step(db, mw.actor("carrier"), mid, "transport", r.json()["row_version"],
                           {"mode": "rail", "vehicle": "K1", "sent_at": "2020-01-01T00:00:00"})
    page = mw.client.post(f"/manifests/{mid}/step", headers=mw.h["ent_a"],  # and through the page's form
                          data={"step": "edit", "row_version": str(r.json()["row_version"]), "declared_kg": "1"})
    assert page.status_code == 409 and "已签字锁定" in page.text
    got = mw.client.get(f"/api/v1/manifests/{mid}", headers=mw.h["ent_a"]).json()
    assert got["fields"]["declared_kg"] == 30_000 and got["row_version"] == r.json()["row_version"]
    # a draft edit needs the version it read
    d = create(mw)
    assert mw.client.patch(f"/api/v1/manifests/{d.json()['id']}", headers=mw.h["ent_a"],
                           json={"fields": {"declared_kg": 2}}).status_code == 428
    ok = mw.client.patch(f"/api/v1/manifests/{d.json()['id']}", headers={**mw.h["ent_a"], **tag(d)},
                         json={"fields": {"declared_kg": 2}})
    assert ok.status_code == 200 and ok.json()["fields"]["declared_kg"] == 2
    stale = mw.client.patch(f"/api/v1/manifests/{d.json()['id']}", headers={**mw.h["ent_a"], **tag(d)},
                            json={"fields": {"declared_kg": 3}})
    assert stale.status_code == 412
    wrong = mw.client.patch(f"/api/v1/manifests/{d.json()['id']}", headers={**mw.h["ent_a"], **tag(ok)},
                            json={"fields": {"declared_kg": 2.5, "nonsense": "x"}})
    assert wrong.status_code == 422


def test_a_signature_cannot_be_dated_before_the_one_before_it(mw: MW):
    r = create(mw)
    r = go(mw, r, "ent_a", "seal")
    r = go(mw, r, "ent_a", "sign", {"frame": "emission", "fields": {"approval": str(mw.approval),
                                                                   "sent_at": "2022-06-01T08:00+08:00"}})
    early = go(mw, r, "carrier", "sign", {"frame": "transport", "fields": {
        "mode": "rail", "vehicle": "K1", "taken_over_at": "2022-05-31T23:59:59+00:00"}})  # 07:59:59 in Beijing
    assert early.status_code == 422 and early.json()["issues"][0]["column"] == "taken_over_at"
    assert "2022-06-01T08:00+08:00" in early.json()["issues"][0]["message_zh"]
    ok = go(mw, r, "carrier", "sign", {"frame": "transport", "fields": {
        "mode": "rail", "vehicle": "K1", "taken_over_at": "2022-06-01T08:00"}})  # the same minute, zone-less = CST
    assert ok.status_code == 200, ok.text


def test_tampering_in_the_database_is_found(mw: MW):
    r = to_received(mw)
    mid = r.json()["id"]
    assert mw.client.get(f"/api/v1/manifests/{mid}/verify", headers=mw.h["ent_a"]).json()["ok"]
    with mw.sessions() as db:  # someone with database access lowers the weighed quantity
        m = db.get(Manifest, mid)
        db.execute(sa.update(Manifest).where(Manifest.id == mid).values(fields={**m.fields, "received_kg": 29_000}))
        db.commit()
    v = mw.client.get(f"/api/v1/manifests/{mid}/verify", headers=mw.h["regulator"]).json()
    assert not v["ok"] and [(p["kind"], p["seq"], p["field"]) for p in v["problems"]] == [
        ("field_changed", 3, "received_kg")]
    with mw.sessions() as db:  # ... and then rewrites the signature too: its hash no longer holds
        sig = db.scalars(sa.select(ManifestSignature).where(ManifestSignature.manifest_id == mid,
                                                            ManifestSignature.seq == 3)).one()
        db.execute(sa.update(ManifestSignature).where(ManifestSignature.id == sig.id).values(
            fields={**sig.fields, "received_kg": 29_000}))
        db.commit()
    v = mw.client.get(f"/api/v1/manifests/{mid}/verify", headers=mw.h["regulator"]).json()
    assert [(p["kind"], p["seq"]) for p in v["problems"]] == [("signature_altered", 3)]


def test_racing_signers_never_lose_an_update(mw: MW):
    r = create(mw)
    r = go(mw, r, "ent_a", "seal")
    r = go(mw, r, "ent_a", "sign", {"frame": "emission", "fields": {"approval": str(mw.approval)}})
    mid, version = r.json()["id"], r.headers["ETag"]
    start = threading.Barrier(4)
    results: list[int] = []

    def sign(vehicle: str) -> None:
        with TestClient(mw.app) as c:
            start.wait()
            resp = c.post(f"/api/v1/manifests/{mid}/sign", headers={**mw.h["carrier"], "If-Match": version},
                          json={"frame": "transport", "fields": {"mode": "road_diesel", "vehicle": vehicle}})
            results.append(resp.status_code)

    threads = [threading.Thread(target=sign, args=(f"冀H0000{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[0] == 200 and results.count(200) == 1, results
    assert set(results) - {200} <= {409, 412}, results
    got = mw.client.get(f"/api/v1/manifests/{mid}", headers=mw.h["carrier"]).json()
    assert got["state"] == "in_transit" and len(got["signatures"]) == 2
    assert got["fields"]["vehicle"] == got["signatures"][1]["fields"]["vehicle"]
    assert mw.client.get(f"/api/v1/manifests/{mid}/verify", headers=mw.h["carrier"]).json()["ok"]


def test_an_interrupted_signature_leaves_the_previous_state(mw: MW, monkeypatch):
    r = create(mw)
    r = go(mw, r, "ent_a", "seal")
    mid, version = r.json()["id"], r.json()["row_version"]

    def crash(*a, **k):
        raise RuntimeError("server killed")

    monkeypatch.setattr(manifests.audit, "record", crash)  # dies after the update and the signature row
    with mw.sessions() as db:
        with pytest.raises(RuntimeError):
            manifests.step(db, mw.actor("ent_a"), mid, "emission", version, {"approval": str(mw.approval)})
    monkeypatch.undo()
    got = mw.client.get(f"/api/v1/manifests/{mid}", headers=mw.h["ent_a"]).json()
    assert got["state"] == "sealed" and got["signatures"] == [] and got["row_version"] == version
    assert go(mw, r, "ent_a", "sign", {"frame": "emission", "fields": {"approval": str(mw.approval)}}).status_code == 200


def test_hazardous_waste_needs_the_receiver_licence(mw: MW):
    r = create(mw, waste_code="900-041-49", code_system="HW2021")
    no = go(mw, r, "ent_a", "seal")
    assert no.status_code == 422 and no.json()["issues"][0]["code"] == "unlicensed"
    assert "900-041-49" in no.json()["issues"][0]["message_zh"]
    lic = mw.client.post("/api/v1/licences", headers=mw.h["regulator_bj"],
                         json={"org": ORG_B, "number": "京危经001", "codes": ["HW49"]})
    assert lic.status_code == 201, lic.text
    assert mw.client.post("/api/v1/licences", headers=mw.h["ent_b"],
                          json={"org": ORG_B, "number": "x", "codes": ["HW49"]}).status_code == 403
    assert go(mw, r, "ent_a", "seal").status_code == 200
    # the filing is not enough for a hazardous waste: an approval (商请) is
    r = mw.client.get(f"/api/v1/manifests/{r.json()['id']}", headers=mw.h["ent_a"])
    no = go(mw, r, "ent_a", "sign", {"frame": "emission", "fields": {"approval": str(mw.approval)}})
    assert no.status_code == 422 and "approval" in no.json()["issues"][0]["message_en"]


def test_alert_rules_on_the_platform(mw: MW):
    with mw.sessions() as db:  # quantity beyond the deal: 4 × 30 t on a 100 t deal
        for _ in range(4):
            manifests.create_from_deal(db, mw.actor("ent_a"), mw.deal, {"declared_kg": 30_000, "carrier_org": ORG_C})
        db.commit()
    r = mw.client.get("/api/v1/manifests", headers=mw.h["ent_a"])
    first = mw.client.get(f"/api/v1/manifests/{r.json()['items'][-1]['id']}", headers=mw.h["ent_a"])
    first = go(mw, first, "ent_a", "seal")
    assert go(mw, first, "ent_a", "sign", {"frame": "emission", "fields": {
        "approval": str(mw.approval), "sent_at": "2022-01-03T08:00:00+00:00"}}).status_code == 200
    kinds = sorted(a["kind"] for a in mw.client.get("/api/v1/alerts", headers=mw.h["regulator"]).json()["items"])
    assert kinds == ["over_deal", "overdue_receipt"]
    # the quota of the filing is drawn down by what is sent on it
    with mw.sessions() as db:
        left = manifests._approval_used(db, str(mw.approval), 0)
    assert left == 30_000


def test_cli_verifies_a_file_and_an_id(mw: MW, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from resynergy.cli.main import app as cli

    r = to_received(mw)
    path = tmp_path / "m.json"
    path.write_bytes(mw.client.get(f"/api/v1/manifests/{r.json()['id']}/export.json", headers=mw.h["ent_a"]).content)
    ok = CliRunner().invoke(cli, ["manifest", "verify", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    doc = json.loads(path.read_text())
    doc["signatures"][0]["fields"]["declared_kg"] = 1
    path.write_text(json.dumps(doc))
    bad = CliRunner().invoke(cli, ["manifest", "verify", str(path)])
    assert bad.exit_code == 1 and "signature 1" in bad.output
    monkeypatch.setenv("RESYNERGY_DATABASE_URL", str(mw.app.state.platform.settings.database_url))
    by_id = CliRunner().invoke(cli, ["manifest", "verify", str(r.json()["id"])])
    assert by_id.exit_code == 0, by_id.output
    missing = CliRunner().invoke(cli, ["manifest", "verify", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "none.json" in missing.output
    empty = CliRunner().invoke(cli, ["manifest", "verify", "1", "--database-url", f"sqlite:///{tmp_path / 'e.db'}"])
    assert empty.exit_code == 2 and "db upgrade" in empty.output


def test_a_processed_manifest_becomes_an_actual_flow(mw: MW):
    """Closing the loop (issue #12 item 6) through ``services.actuals.record_flow``, once per
    manifest: the accepted tonnes (weighed less refused), the processing year, both regulators."""
    pytest.importorskip("resynergy.services.actuals", reason="the actuals branch brings record_flow")
    r = to_received(mw, received_kg=31_600, acceptance="partially_accepted", refused_kg=1_600,
                    refusal_reason="含杂质")
    r = go(mw, r, "ent_b", "sign", {"frame": "operation", "fields": {"treatment": "尾矿制砂", "processed_at": "2022-06-01"}})
    assert r.status_code == 200, r.text
    number = r.json()["number"]
    for who in ("ent_a", "ent_b", "regulator_bj"):
        flows = mw.client.get(f"/api/v1/actual-flows?manifest={number}", headers=mw.h[who]).json()["items"]
        assert [(f["year"], f["from_site"], f["to_site"], f["material"], f["mode"], f["t"]) for f in flows] == [
            (2022, "cd-mine", "bj-site", "tailings", "rail", 30.0)], who
