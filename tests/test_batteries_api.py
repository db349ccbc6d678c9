"""Batteries on the platform (issue 14): events pushed and imported all or nothing with located
errors, a unit's tree and history with deadline status, tests → triage, overdue lists and
compliance in the reader's scope, the forecast; import attacks; a bad code is a located 422.
The route × role authorization matrix is in tests/test_api_matrix.py (battery_cases)."""

from __future__ import annotations

import io
import shutil
from importlib.resources import files

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import Workbook

from resynergy.batteries import forecast
from support.platform import ORG_A, make_settings, seed

SAMPLE = files("resynergy.batteries").joinpath("data/sample_events.csv").read_bytes()
PACK = "T01PE01A10000193F0000001"  # the sample pack (installed in Beijing, retired in Baoding, recycled in Tianjin)
HEADER = "unit_code,event,time,actor,actor_role,place,counterparty,recovered,note\n"
OWN = "T01PE01A10000193F0000900"  # collected by organisation A in Chengde, never uploaded
BJ = "T01PE01A10000193F0000800"  # collected in Beijing by an unregistered firm, never uploaded


@pytest.fixture(scope="module")
def bat(tmp_path_factory, sqlite_template):
    from resynergy.web.app import create_app

    path = tmp_path_factory.mktemp("batteries") / "b.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}", upload_max_bytes=64 * 1024), migrate=False, run_worker=False)
    users = seed(app)
    with TestClient(app) as client:
        client.h = users.headers  # type: ignore[attr-defined]
        client.sessions = app.state.platform.sessions  # type: ignore[attr-defined]
        r = client.post("/api/v1/battery-events/import", headers=users.headers["admin"],
                        files={"file": ("sample_events.csv", SAMPLE, "text/csv")})
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/battery-events", headers=users.headers["ent_a"], json={"events": [
            {"unit_code": OWN, "event": "collected", "time": "2024-01-10", "actor": ORG_A,
             "actor_role": "collection_point", "place": "130800", "mass_kg": 400.0}]})
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/battery-events", headers=users.headers["admin"], json={"events": [
            {"unit_code": BJ, "event": "collected", "time": "2024-01-10", "actor": "示例回收服务网点（北京）",
             "actor_role": "collection_point", "place": "110105"}]})
        assert r.status_code == 201, r.text
        yield client


def count(client, table: str) -> int:
    with client.sessions() as db:
        return db.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def test_unit_tree_history_and_deadlines(bat):
    r = bat.get("/api/v1/batteries", params={"code": PACK}, headers=bat.h["admin"])
    assert r.status_code == 200, r.text
    u = r.json()
    assert u["tree"]["code"] == PACK and u["tree"]["children"][0]["level"] == "M"
    assert u["tree"]["children"][0]["children"][0]["level"] == "C"
    kinds = [e["event"] for e in u["events"]]
    assert kinds[0] == "produced" and "recycled" in kinds
    retired = next(e for e in u["events"] if e["event"] == "retired")
    # 15 working days from 5 Feb 2024 across the Spring Festival (the sample's note): due 1 March, uploaded 4 March
    assert (retired["deadline"], retired["status"], retired["days_late"]) == ("2024-03-01", "late", 3)
    # a module's page leads up to its pack
    module = u["tree"]["children"][0]["code"]
    assert bat.get("/api/v1/batteries", params={"code": module}, headers=bat.h["admin"]).json()["ancestors"] == [PACK]
    # a re-coded cascade product keeps its original: both ways, with the original's history
    product = bat.get("/api/v1/batteries", params={"code": "T02PB02DCL0000012RP"}, headers=bat.h["admin"]).json()
    assert product["recoded_from"] == ["T02PB02B20000188K0000007"] and product["unit"]["recoded"]
    assert {e["unit_code"] for e in product["events"]} == {"T02PB02B20000188K0000007", "T02PB02DCL0000012RP"}
    original = bat.get("/api/v1/batteries", params={"code": "T02PB02B20000188K0000007"}, headers=bat.h["admin"]).json()
    assert original["recoded_to"] == ["T02PB02DCL0000012RP"]


def test_scope_own_organisation_and_province(bat):
    h = bat.h
    own = {role: bat.get("/api/v1/batteries", params={"code": OWN}, headers=h[role]).status_code for role in h}
    assert own == {"anonymous": 401, "public": 403, "admin": 200, "planner": 200, "planner_bj": 404, "regulator": 200,
                   "evaluator": 200, "ent_a": 200, "ent_b": 404}
    # ent_a sees its own event only, not the sample's other firms
    assert bat.get("/api/v1/batteries", params={"code": PACK}, headers=h["ent_a"]).status_code == 404
    mine = bat.get("/api/v1/battery-events/overdue", headers=h["ent_a"]).json()
    assert [e["unit_code"] for e in mine] == [OWN] and mine[0]["status"] == "overdue"
    # the Beijing planner: only events placed in Beijing
    bj = bat.get("/api/v1/battery-events/overdue", params={"as_of": "2025-01-01"}, headers=h["planner_bj"]).json()
    assert [e["unit_code"] for e in bj] == [BJ] and bj[0]["province"] == "110000"
    everyone = bat.get("/api/v1/battery-events/overdue", params={"as_of": "2025-01-01"}, headers=h["regulator"]).json()
    assert {e["province"] for e in everyone} == {"110000", "130000", "410000"}  # Tianjin uploaded on time
    assert {OWN, BJ, PACK} <= {e["unit_code"] for e in everyone}
    assert not {e["id"] for e in bat.get("/api/v1/battery-events/overdue", headers=h["ent_b"]).json()}
    with bat.sessions() as db:  # every write audited: the import (one entry) and each event, with who did it
        logged = db.execute(sa.text("SELECT actor, action, object_type FROM audit_log WHERE object_type "
                                    "IN ('battery_events', 'battery_event')")).all()
    assert ("admin", "import", "battery_events") in logged and ("ent_a", "push", "battery_event") in logged
    assert sum(1 for a in logged if a[2] == "battery_event") >= count(bat, "battery_events")


def test_a_bad_code_is_a_located_422(bat):
    r = bat.get("/api/v1/batteries", params={"code": "T01PE01A10000193F000000"}, headers=bat.h["admin"])
    assert r.status_code == 422
    issue = r.json()["issues"][0]
    assert issue["code"] == "code_length" and "23" in issue["message_zh"] and "23" in issue["message_en"]
    r = bat.get("/api/v1/batteries", params={"code": "T01XE01A10000193F0000001"}, headers=bat.h["admin"])
    issue = r.json()["issues"][0]
    assert r.status_code == 422 and issue["code"] == "code_choice" and "4" in issue["location_en"]
    page = bat.get("/batteries", params={"code": "T01XE01A10000193F0000001"}, headers=bat.h["admin"])
    assert page.status_code == 422 and "第 4 位" in page.text
    # unknown but valid: 404, not 500
    assert bat.get("/api/v1/batteries", params={"code": "T01PE01A10000193F0000777"},
                   headers=bat.h["admin"]).status_code == 404


def test_push_is_all_or_nothing_and_located(bat):
    before = count(bat, "battery_events")
    code = "T01PE01A10000193F0000901"
    r = bat.post("/api/v1/battery-events", headers=bat.h["ent_a"], json={"events": [
        {"unit_code": code, "event": "collected", "time": "2024-01-10", "actor": ORG_A,
         "actor_role": "collection_point", "place": "130800"},
        {"unit_code": code, "event": "recycled", "time": "2023-12-01", "actor": ORG_A,
         "actor_role": "recycler", "place": "130800", "recovered": "Li=1"}]})
    assert r.status_code == 422
    issue = r.json()["issues"][0]
    assert issue["code"] == "order_before" and issue["row"] == 2 and issue["column"] == "event"
    assert count(bat, "battery_events") == before and count(bat, "battery_units") == count(bat, "battery_units")
    # another organisation's name as the actor: refused for an enterprise
    r = bat.post("/api/v1/battery-events", headers=bat.h["ent_b"], json={"events": [
        {"unit_code": code, "event": "collected", "time": "2024-01-10", "actor": ORG_A,
         "actor_role": "collection_point", "place": "130800"}]})
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "actor_not_own"
    assert count(bat, "battery_events") == before


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "battery_events"
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name,data,status,code", [
    ("big.csv", HEADER.encode() + b"x" * (70 * 1024), 413, "too_large"),
    ("events.txt", b"unit_code\n", 422, "unsupported"),
    ("events.csv", HEADER.encode(), 422, "empty"),
    ("events.xlsx", b"not a workbook", 422, "unreadable"),
    ("events.csv", "电池编码\n".encode("gbk"), 422, "encoding"),
    ("events.csv", (HEADER + f'{OWN},stored,2024-01-12,{ORG_A},collection_point,130800,,,"=HYPERLINK(""http://x"")"\n').encode(),
     422, "formula"),
    ("events.xlsx", _xlsx([HEADER.strip().split(","), [OWN, "stored", "2024-01-12", ORG_A, "collection_point",
                                                        "130800", "", "", "=1+1"]]), 422, "formula"),
])
def test_import_attacks_write_nothing(bat, name, data, status, code):
    before = count(bat, "battery_events")
    r = bat.post("/api/v1/battery-events/import", headers=bat.h["ent_a"], files={"file": (name, data, "text/plain")})
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code or body["issues"][0]["code"] == code
    if code == "formula":
        issue = body["issues"][0]
        assert issue["row"] == 2 and issue["source"].startswith("events")  # located in the user's file
    assert count(bat, "battery_events") == before


def test_import_reports_every_bad_row(bat):
    text = HEADER + (f"{OWN},stored,2024-01-12,{ORG_A},collection_point,130800,,,\n"
                     f"{OWN},recycled,2024-01-13,{ORG_A},recycler,130800,,,\n"
                     f"T01PE01A10000193F00009,stored,2024-01-12,{ORG_A},collection_point,130800,,,\n")
    before = count(bat, "battery_events")
    r = bat.post("/api/v1/battery-events/import", headers=bat.h["ent_a"],
                 files={"file": ("mine.csv", text.encode(), "text/csv")})
    assert r.status_code == 422
    where = {(i["row"], i["column"], i["code"]) for i in r.json()["issues"]}
    assert (3, "recovered", "needs_value") in where and (4, "unit_code", "code_length") in where
    assert all(i["source"] == "mine.csv" for i in r.json()["issues"])
    assert count(bat, "battery_events") == before


def test_record_a_test_gets_its_triage(bat):
    r = bat.post("/api/v1/battery-tests", headers=bat.h["ent_a"],
                 json={"unit_code": OWN, "soh": 0.55, "resistance_ratio": 1.4, "lab": ORG_A})
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "recycle" and "60" in r.json()["reason"]
    r = bat.post("/api/v1/battery-tests?lang=en", headers=bat.h["ent_a"],
                 json={"unit_code": OWN, "soh": 0.9, "swelling": True, "lab": ORG_A})
    assert r.json()["outcome"] == "recycle" and r.json()["rules"]  # a safety gate beats a high SOH
    r = bat.post("/api/v1/battery-tests", headers=bat.h["ent_a"], json={"unit_code": OWN, "soh": 2.0})
    assert r.status_code == 422
    assert bat.post("/api/v1/battery-tests", headers=bat.h["ent_b"],
                    json={"unit_code": OWN, "soh": 0.7}).status_code == 404
    listed = bat.get("/api/v1/battery-tests", headers=bat.h["ent_a"]).json()
    assert [t["outcome"] for t in listed][:2] == ["recycle", "recycle"]
    assert bat.get("/api/v1/battery-tests", headers=bat.h["ent_b"]).json() == []
    with bat.sessions() as db:
        logged = db.execute(sa.text("SELECT count(*) FROM audit_log WHERE object_type = 'battery_test'")).scalar()
    assert logged >= 2


def test_compliance_from_the_recorded_events(bat):
    tables = bat.get("/api/v1/battery-compliance", headers=bat.h["regulator"]).json()
    li = next(r for r in tables["recovery"] if r["element"] == "Li")
    assert li["threshold"] == 0.9 and li["ok"] is (li["rate"] >= 0.9)
    assert bat.get("/api/v1/battery-compliance", headers=bat.h["ent_b"]).json() == {"cascade": [], "recovery": []}
    page = bat.get("/batteries/compliance", headers=bat.h["regulator"]).text
    assert "示例再生利用（天津）" in page and "≥ 90%" in page and "征求意见稿" in page  # the 60 % norm is a draft
    page = bat.get("/batteries/overdue", headers=bat.h["regulator"]).text
    assert f"/batteries?code={OWN}" in page and "逾期未报" in page and "迟报" in page


def test_forecast_by_province_chemistry_and_year(bat):
    r = bat.get("/api/v1/battery-forecast", params={"province": "130000", "chemistry": "LFP", "year": 2030})
    assert r.status_code == 200
    (row,) = r.json()["rows"]
    expect = forecast.run(2035, draws=500).table.set_index(["province", "chemistry", "year"]).loc[("130000", "LFP", 2030)]
    assert row["retired_t"] == pytest.approx(expect["retired_t"]) and row["p05_t"] <= row["p50_t"] <= row["p95_t"]
    assert bat.get("/api/v1/battery-forecast", params={"province": "13"}).status_code == 422
    fig = bat.get("/api/v1/battery-forecast/figure?lang=en").json()
    assert len(fig["data"]) == len(forecast.province_shares()) + 3


def test_triaged_units_are_matched_to_recyclers_and_second_life_demand(bat):
    h = bat.h
    assert bat.post("/api/v1/facilities", headers=h["admin"], json={
        "id": "cd-battery", "site": "cd-plant", "process": "battery_recycling", "year": 2022,
        "capacity_t": 1000.0}).status_code == 201
    assert bat.post("/api/v1/demands", headers=h["admin"], json={
        "site": "bj-site", "material": "battery_modules", "year": 2022, "quantity_t": 100.0,
        "value": 5000.0}).status_code == 201
    assert bat.post("/api/v1/battery-tests", headers=h["ent_a"],
                    json={"unit_code": OWN, "soh": 0.5, "mass_kg": 400.0, "lab": ORG_A}).status_code == 201
    found = {m["unit_code"]: m for m in bat.get("/api/v1/battery-matches", headers=h["ent_a"]).json()}
    m = found[OWN]  # collected by A in Chengde: at A's Chengde site, to the recycler at cd-plant
    assert (m["route"], m["from_site"], m["to_site"]) == ("recycling", "cd-mine", "cd-plant")
    assert m["mass_t"] == 0.4 and m["delivered_cost_yuan"] == pytest.approx(m["cost_per_t"] * 0.4, abs=0.1)
    assert PACK not in found  # already recycled: not matched again
    page = bat.get("/batteries/triage", headers=h["ent_a"]).text
    assert 'data-unit="' + OWN + '" data-route="recycling"' in page and "cd-plant" in page
    assert bat.get("/api/v1/battery-matches", headers=h["ent_b"]).json() == []


def test_on_both_databases(client, users):
    """The same round trip on SQLite and PostgreSQL: import, push, look up, test, overdue, match."""
    h = users.headers
    assert client.post("/api/v1/battery-events/import", headers=h["admin"],
                       files={"file": ("sample_events.csv", SAMPLE, "text/csv")}).status_code == 201
    r = client.post("/api/v1/battery-events", headers=h["ent_a"], json={"events": [
        {"unit_code": OWN, "event": "collected", "time": "2024-01-10 09:30", "actor": ORG_A,
         "actor_role": "collection_point", "place": "130800", "mass_kg": 400.0}]})
    assert r.status_code == 201, r.text
    u = client.get("/api/v1/batteries", params={"code": PACK}, headers=h["admin"]).json()
    assert len(u["events"]) == 10 and u["tree"]["children"]
    assert client.post("/api/v1/battery-tests", headers=h["ent_a"],
                       json={"unit_code": OWN, "soh": 0.85, "chemistry": "LFP"}).json()["outcome"] in ("reuse", "repurpose")
    assert [e["time"] for e in client.get("/api/v1/battery-events/overdue", headers=h["ent_a"]).json()] == ["2024-01-10T09:30:00"]
    assert client.get("/api/v1/battery-matches", headers=h["ent_a"]).json()[0]["reason"]
    again = client.post("/api/v1/battery-events/import", headers=h["admin"],
                        files={"file": ("sample_events.csv", SAMPLE, "text/csv")})
    assert again.status_code == 422 and {i["code"] for i in again.json()["issues"]} >= {"order_once"}


def test_forecast_becomes_a_scenario_versions_battery_supplies(bat):
    from resynergy.scenario import Scenario
    from resynergy.schema import REGISTRY_TABLES
    from resynergy.schema.cells import plain
    from resynergy.store.models import ScenarioSnapshot

    builtin = Scenario.from_builtin("jjj-2022")
    tables = {t: [{k: plain(v) for k, v in r.items()} for r in builtin.table(t).to_dict("records")] for t in REGISTRY_TABLES}
    with bat.sessions() as db:
        snap = ScenarioSnapshot(name="jjj", version=1, digest="0" * 64, tables=tables, province="",
                                rows={t: len(r) for t, r in tables.items()})
        empty = ScenarioSnapshot(name="none", version=1, digest="1" * 64, tables={}, province="")
        db.add_all([snap, empty])
        db.commit()
        ids = snap.id, empty.id
    r = bat.post("/api/v1/battery-forecast/apply", headers=bat.h["planner"],
                 json={"scenario_id": ids[0], "years": [2030], "collection_rate": 0.5})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["name"], made["version"]) == ("jjj + 电池预测", 1)
    with bat.sessions() as db:
        supplies = db.get(ScenarioSnapshot, made["scenario_id"]).tables["supplies"]
    got = sum(s["generation_t"] for s in supplies if s["material"] == forecast.MATERIAL and s["year"] == 2030)
    table = forecast.run(2035, draws=500).table
    assert got == pytest.approx(0.5 * table.loc[table["year"] == 2030, "retired_t"].sum(), rel=1e-4)
    r = bat.post("/api/v1/battery-forecast/apply", headers=bat.h["planner"], json={"scenario_id": ids[1]})
    assert r.status_code == 422 and r.json()["issues"]
    assert bat.post("/api/v1/battery-forecast/apply", headers=bat.h["regulator"],
                    json={"scenario_id": ids[0]}).status_code == 403


def test_pages_in_english_and_the_forecast_form(bat):
    page = bat.get("/batteries/forecast", headers={"Cookie": "lang=en"}).text
    assert "Retirement forecast" in page and "kt of traction batteries" in page and 'id="forecast-apply"' not in page
    page = bat.get("/batteries/forecast", headers=bat.h["planner"]).text
    assert "退役量预测" in page and 'id="forecast-apply"' in page
    r = bat.post("/batteries/forecast/apply", headers=bat.h["planner"],
                 data={"scenario_id": "999999", "years": "2030", "collection_rate": "0.5"}, follow_redirects=False)
    assert r.status_code == 404
    r = bat.post("/batteries/forecast/apply", headers=bat.h["planner"],
                 data={"scenario_id": "1", "years": "=1+1", "collection_rate": "0.5"}, follow_redirects=False)
    assert r.status_code == 422


def test_an_event_file_has_a_row_limit(bat, monkeypatch):
    from resynergy.services import batteries

    monkeypatch.setattr(batteries, "MAX_EVENTS", 2)
    rows = "".join(f"T01PE01A10000193F{n:07d},collected,2024-01-10,x,collection_point,130800,,,\n" for n in range(3000, 3003))
    r = bat.post("/api/v1/battery-events/import", headers=bat.h["admin"],
                 files={"file": ("many.csv", (HEADER + rows).encode(), "text/csv")})
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "too_many_rows" and r.json()["issues"][0]["value"] == "3"
