"""A battery upload deadline that runs into a year the working-day calendar does not cover yet
(chinesecalendar 1.11 ends with 2026; the State Council publishes the 2027 notice in Nov–Dec
2026) is accepted, counted Monday–Friday for those days, stored, returned and shown as an
estimate: never refused, never passed off as exact."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from resynergy.services import batteries as service
from support.platform import make_settings, seed

DECEMBER = "T01PE01A10000193F0000701"  # retired 15 Dec 2026: 15 working days run into 2027
JUNE = "T01PE01A10000193F0000702"  # retired 10 Jun 2026: inside the calendar


@pytest.fixture
def client(tmp_path, sqlite_template, monkeypatch):
    from resynergy.web.app import create_app

    monkeypatch.setattr(service, "today", lambda: date(2027, 1, 20))
    path = tmp_path / "b.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}"), migrate=False, run_worker=False)
    users = seed(app)
    with TestClient(app) as c:
        c.h = users.headers  # type: ignore[attr-defined]
        c.sessions = app.state.platform.sessions  # type: ignore[attr-defined]
        yield c


def event(code: str, when: str, vin: str) -> dict:
    return {"unit_code": code, "event": "retired", "time": when, "actor": "示例拆解企业", "actor_role": "dismantler",
            "place": "130600", "vin": vin, "certificate": "BF-" + code[-3:]}


def test_a_deadline_in_2027_is_stored_returned_and_shown_as_an_estimate(client):
    admin = client.h["admin"]
    r = client.post("/api/v1/battery-events", headers=admin, json={"events": [
        event(DECEMBER, "2026-12-15", "LSVAB2BR1KN000701"), event(JUNE, "2026-06-10", "LSVAB2BR1KN000702")]})
    assert r.status_code == 201, r.text  # not refused
    with client.sessions() as db:
        stored = dict(db.execute(sa.text("SELECT unit_code, deadline_estimated FROM battery_events")).all())
    assert {k: bool(v) for k, v in stored.items()} == {DECEMBER: True, JUNE: False}
    (dec,) = client.get("/api/v1/batteries", params={"code": DECEMBER}, headers=admin).json()["events"]
    # 16–31 Dec 2026 give 12 working days (calendar); 1, 4, 5 Jan 2027 counted Monday–Friday
    assert (dec["deadline"], dec["deadline_estimated"], dec["working_days"], dec["status"]) == (
        "2027-01-05", True, 15, "overdue")
    (jun,) = client.get("/api/v1/batteries", params={"code": JUNE}, headers=admin).json()["events"]
    assert (jun["deadline"], jun["deadline_estimated"]) == ("2026-07-02", False)
    page = client.get("/batteries", params={"code": DECEMBER}, headers=admin).text
    assert "（估算：2027 年放假安排尚未发布，按周一至周五计）" in page
    page = client.get("/batteries/overdue", headers={**admin, "Cookie": "lang=en"}).text
    assert "(estimate: the 2027 holiday notice is not yet out; counted Monday–Friday)" in page
    assert JUNE in page and DECEMBER in page
    assert page.count("estimate: the") == 1  # the June event is overdue too, but exact
    # a stored estimate is not trusted to pick the overdue rows (it may be stale once the 2027
    # notice is installed): a row whose stored deadline is later than today is still recounted
    with client.sessions() as db, db.begin():
        db.execute(sa.text("UPDATE battery_events SET deadline = '2027-02-26' WHERE unit_code = :c"), {"c": DECEMBER})
    late = client.get("/api/v1/battery-events/overdue", headers=admin).json()
    assert {(x["unit_code"], x["deadline"]) for x in late} == {(DECEMBER, "2027-01-05"), (JUNE, "2026-07-02")}


def test_the_cli_marks_the_estimated_deadline(tmp_path):
    import json

    from typer.testing import CliRunner

    from resynergy.cli.main import app

    header = "unit_code,event,time,actor,actor_role,place,vin,certificate"
    path = tmp_path / "events.csv"
    path.write_text(f"{header}\n{DECEMBER},retired,2026-12-15,D,dismantler,130600,LSVAB2BR1KN000701,BF1\n"
                    f"{JUNE},retired,2026-06-10,D,dismantler,130600,LSVAB2BR1KN000702,BF2\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["batteries", "events", str(path), "--as-of", "2027-01-20", "--lang", "en"])
    assert res.exit_code == 0, res.output
    lines = [x for x in res.output.splitlines() if "due by" in x]
    assert len(lines) == 2
    assert "due by 2027-01-05 (15 working days) (estimate: the 2027 holiday notice is not yet out" in " ".join(
        x for x in lines if DECEMBER in x)
    assert "estimate" not in " ".join(x for x in lines if JUNE in x)
    res = runner.invoke(app, ["batteries", "events", str(path), "--as-of", "2027-01-20", "--unit", DECEMBER])
    assert res.exit_code == 0 and "2027-01-05（估算：2027 年放假安排尚未发布，按周一至周五计）" in res.output
    res = runner.invoke(app, ["batteries", "events", str(path), "--as-of", "2027-01-20", "--json"])
    doc = json.loads(res.stdout)
    assert {r["unit_code"]: r["deadline_estimated"] for r in doc["records"]} == {DECEMBER: True, JUNE: False}
