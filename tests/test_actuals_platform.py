"""Actual flows on the platform: recorded once per manifest (audited), read in the scope of both
ends, imported all-or-nothing with located errors, monitored with the CLI's own figures, and a
planning run that starts from them — on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from resynergy.cli.main import app as cli_app
from resynergy.services import actuals, plans, runs, scenarios, worker
from resynergy.services.access import Actor, Denied
from resynergy.services.registry import Rejected
from resynergy.store.models import ACTUAL_FLOWS, AuditEvent, Run
from support.platform import ORG_A, ORG_B

COLS = ["manifest", "year", "from_site", "to_site", "material", "mode", "t"]
# Hebei inside (mine → sand plant), and Hebei → Beijing (sand plant → concrete plant)
INSIDE = ("LD-H1", 2021, "cd-mine", "cd-plant", "tailings", "road_diesel", 100_000.0)
ACROSS = ("LD-X1", 2021, "cd-plant", "bj-site", "manufactured_sand", "road_diesel", 40_000.0)


def actor(users, name: str) -> Actor:
    role, org, province = {"admin": ("admin", "", ""), "planner": ("planner", "", ""),
                           "planner_bj": ("planner", "", "110000"), "regulator": ("regulator", "", ""),
                           "ent_a": ("enterprise", ORG_A, ""), "ent_b": ("enterprise", ORG_B, "")}[name]
    return Actor(users.ids[name], name, role, org, province)


def record(db, who: Actor, row: tuple, **over) -> None:
    rec = dict(zip(COLS, row, strict=True))
    actuals.record_flow(db, who, manifest=rec["manifest"], year=rec["year"], from_site=rec["from_site"],
                        to_site=rec["to_site"], material=rec["material"], mode=rec["mode"], t=rec["t"],
                        distance_km=None, source="test", **over)


def csv_of(*rows: tuple) -> bytes:
    return pd.DataFrame(list(rows), columns=COLS).to_csv(index=False).encode()


def stored(app) -> pd.DataFrame:
    with app.state.platform.sessions() as db:
        return pd.DataFrame(db.execute(sa.select(ACTUAL_FLOWS)).mappings().all())


def test_record_flow_counts_a_manifest_once_and_is_audited(app, users):
    with app.state.platform.sessions() as db:
        a = actor(users, "ent_a")  # the receiver of its own plant processing the manifest
        record(db, a, INSIDE)
        record(db, a, INSIDE)  # the same manifest again (a retry): nothing changes
        record(db, a, (*INSIDE[:-1], 999.0))  # even with other figures: a manifest is one shipment
        db.commit()
        events = db.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "actual_flow")).all()
    rows = stored(app)
    assert len(rows) == 1 and rows["t"].iloc[0] == 100_000.0 and rows["manifest"].iloc[0] == "LD-H1"
    assert [(e.action, e.actor, e.object_id) for e in events] == [("create", "ent_a", "LD-H1")]
    assert events[0].after["t"] == 100_000.0


def test_record_flow_is_scoped_and_checked(app, users):
    with app.state.platform.sessions() as db:
        with pytest.raises(Denied):  # neither end is B's
            record(db, actor(users, "ent_b"), INSIDE)
        with pytest.raises(Denied):  # regulators read, they do not record
            record(db, actor(users, "regulator"), INSIDE)
        with pytest.raises(Denied):  # a Beijing planner: both ends in Hebei
            record(db, actor(users, "planner_bj"), INSIDE)
        record(db, actor(users, "ent_b"), ACROSS)  # B receives it: its own site is an end
        with pytest.raises(Rejected) as err:
            record(db, actor(users, "admin"), ("LD-9", 2021, "cd-mine", "nowhere", "tailings", "", 5.0))
        issue = err.value.issues[0]
        assert (issue["column"], issue["value"], issue["code"]) == ("to_site", "nowhere", "unknown_ref")
        assert "联单 manifest LD-9" in issue["location_zh"] and issue["message_zh"]
        db.commit()
    assert list(stored(app)["manifest"]) == ["LD-X1"]


def test_reads_are_in_the_scope_of_both_ends(client, users, app):
    with app.state.platform.sessions() as db:
        record(db, actor(users, "admin"), INSIDE)
        record(db, actor(users, "admin"), ACROSS)
        db.commit()

    def seen(who: str, query: str = "") -> list[str]:
        r = client.get(f"/api/v1/actual-flows{query}", headers=users.headers[who])
        assert r.status_code == 200, r.text
        return sorted(i["manifest"] for i in r.json()["items"])

    assert seen("admin") == seen("regulator") == seen("ent_a") == ["LD-H1", "LD-X1"]
    assert seen("planner_bj") == seen("ent_b") == ["LD-X1"]  # the Beijing end only
    assert seen("admin", "?province=110000") == ["LD-X1"] and seen("admin", "?material=tailings") == ["LD-H1"]
    assert client.get("/api/v1/actual-flows", headers=users.headers["public"]).status_code == 403
    assert client.get("/api/v1/actual-flows").status_code == 401


def test_import_reports_every_problem_located_and_writes_nothing(client, users, app):
    h = users.headers["planner"]
    bad = csv_of(INSIDE, ("LD-2", 2021, "cd-mine", "nowhere", "tailings", "", 5.0),
                 ("LD-3", 2021, "cd-mine", "cd-plant", "no_such_waste", "", 5.0),
                 ("LD-H1", 2021, "cd-mine", "cd-plant", "tailings", "", 1.0))  # LD-H1 twice
    r = client.post("/api/v1/actual-flows/import", files={"file": ("流向.csv", bad, "text/csv")}, headers=h)
    assert r.status_code == 422, r.text
    found = {(i["row"], i["column"], i["code"]) for i in r.json()["issues"]}
    assert found == {(3, "to_site", "unknown_ref"), (4, "material", "unknown_ref"),
                     (5, "manifest", "duplicate_manifest")}
    assert all(i["source"].startswith("流向.csv") for i in r.json()["issues"])
    assert r.json()["has_error_workbook"]
    assert stored(app).empty  # all or nothing
    # a number in words is located too (types before references)
    r = client.post("/api/v1/actual-flows/import", headers=h,
                    files={"file": ("f.csv", csv_of((*INSIDE[:-1], "很多")), "text/csv")})
    assert r.status_code == 422 and r.json()["issues"][0]["column"] == "t"
    # an enterprise may import only flows touching its own sites
    r = client.post("/api/v1/actual-flows/import", headers=users.headers["ent_b"],
                    files={"file": ("f.csv", csv_of(INSIDE), "text/csv")})
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "scope"
    # the good file: accepted; again: nothing counted twice
    good = csv_of(INSIDE, ACROSS)
    r = client.post("/api/v1/actual-flows/import", files={"file": ("f.csv", good, "text/csv")}, headers=h)
    assert r.status_code == 201 and r.json()["counts"] == {"actual_flows": {"created": 2, "unchanged": 0}}
    r = client.post("/api/v1/actual-flows/import", files={"file": ("f.csv", good, "text/csv")}, headers=h)
    assert r.status_code == 201 and r.json()["counts"] == {"actual_flows": {"created": 0, "unchanged": 2}}
    assert stored(app)["t"].sum() == pytest.approx(140_000.0)


def test_the_template_carries_actual_flows_and_imports_them(client, users, app):
    import io

    import openpyxl

    h = users.headers["planner"]
    tpl = client.get("/import/template.xlsx", headers=h).content
    wb = openpyxl.load_workbook(io.BytesIO(tpl))
    assert "actual_flows" in wb.sheetnames
    ws = wb["actual_flows"]
    first = ws.max_row + 1
    for i, row in enumerate((INSIDE, ACROSS)):
        for j, name in enumerate(COLS):
            ws.cell(first + i, _column(ws, name), row[j])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/api/v1/actual-flows/import", files={"file": ("t.xlsx", buf.getvalue(), "application/octet-stream")},
                    headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["counts"]["actual_flows"]["created"] == 2
    r = client.post("/api/v1/actual-flows/import", files={"file": ("blank.xlsx", tpl, "application/octet-stream")},
                    headers=h)  # the blank template: nothing to import is said, not accepted silently
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "empty"
    # the registry import refuses the filled sheet and says where actual flows go
    r = client.post("/api/v1/imports", files={"file": ("t.xlsx", buf.getvalue(), "application/octet-stream")},
                    headers=h)
    assert r.status_code == 422 and [i["code"] for i in r.json()["issues"]] == ["record_table"]


def _column(ws, name: str) -> int:
    for row in ws.iter_rows(min_row=1, max_row=3):
        for cell in row:
            if str(cell.value or "").strip() == name:
                return cell.column
    raise AssertionError(f"no column {name} in the template's actual_flows sheet")


def test_monitor_figures_are_those_of_the_cli(client, users, app, tmp_path):
    """The same flows and registry: the API's targets (value, projection, status, shortfall)
    equal ``resynergy monitor --json``'s."""
    rows = [("LD-1", 2020, "cd-mine", "cd-plant", "tailings", "road_diesel", 100_000.0),
            ("LD-2", 2021, "cd-mine", "cd-plant", "tailings", "", 150_000.0), INSIDE, ACROSS]
    r = client.post("/api/v1/actual-flows/import", headers=users.headers["admin"],
                    files={"file": ("f.csv", csv_of(*rows), "text/csv")})
    assert r.status_code == 201, r.text
    api = client.get("/api/v1/monitor", headers=users.headers["regulator"])
    assert api.status_code == 200, api.text
    with app.state.platform.sessions() as db:
        folder = actuals.registry_scenario(db).save(tmp_path / "registry")
    flows = tmp_path / "flows.csv"
    flows.write_bytes(csv_of(*rows))
    cli = CliRunner().invoke(cli_app, ["monitor", str(flows), "--scenario", str(folder), "--json"])
    assert cli.exit_code == 0, cli.output
    want = json.loads(cli.stdout)
    got = api.json()
    assert got["counts"] == want["counts"] and got["summary_zh"] == want["summary"]
    keys = ["id", "status", "value", "projected", "shortfall", "attainment", "value_year"]
    assert [{k: t[k] for k in keys} for t in got["targets"]] == [{k: t[k] for k in keys} for t in want["targets"]]
    hebei = got["targets"][0]
    # 100 kt in 2020 and 2021's 150 + 100 kt (manifest LD-X1 is sand, not waste): 2022 on the line, 400 kt
    assert hebei["status"] == "on_track" and hebei["projected"] == pytest.approx(400_000.0)
    assert got["flows"] == 4 and got["years"] == [2020, 2021]
    # a Beijing planner sees its province's targets only (the registry has none for Beijing)
    assert client.get("/api/v1/monitor", headers=users.headers["planner_bj"]).json()["targets"] == []
    page = client.get("/monitor", headers=users.headers["regulator"])
    assert page.status_code == 200 and 'data-status="on_track"' in page.text and "LD-X1" in page.text
    assert 'data-kind="projected"' in page.text and "目标进展监测" in page.text
    client.cookies.set("lang", "en")
    page = client.get("/monitor", headers=users.headers["regulator"])
    assert "Target monitor" in page.text and "on track" in page.text and "400.00 kt" in page.text
    assert client.get("/api/v1/monitor", headers=users.headers["ent_a"]).status_code == 403


def test_a_run_starts_from_the_stored_flows(app, users):
    """from_actuals: the flows go with the run; its plan carries them in the fixed year."""
    a = actor(users, "admin")
    recs = [("LD-1", 2022, "cd-mine", "cd-plant", "tailings", "road_diesel", 100_000.0),
            ("LD-2", 2022, "cd-plant", "bj-site", "manufactured_sand", "road_diesel", 40_000.0),
            ("LD-3", 2022, "cd-plant", "bj-site", "coarse_aggregate", "road_diesel", 10_000.0)]
    with app.state.platform.sessions() as db:
        for row in recs:
            record(db, a, row)
        db.commit()
        snap, _ = scenarios.create(db, a, "from-actuals")
        with pytest.raises(Rejected) as err:  # fixed through 2021, but only 2022 is planned
            runs.submit(db, a, snap.id, {"objective": "cost", "from_actuals": True, "actuals_through": 2021})
        run = runs.submit(db, a, snap.id, {"objective": "cost", "from_actuals": True, "actuals_through": None})
        plain = runs.submit(db, a, snap.id, {"objective": "cost", "from_actuals": False, "actuals_through": None})
        run = db.get(Run, run.id)
        assert "actuals" not in db.get(Run, plain.id).options and "from_actuals" not in db.get(Run, plain.id).options
        assert run.options["actuals"]["through"] == 2022 and len(run.options["actuals"]["records"]) == 3
        assert plans.plan_options(run.options).actuals.through == 2022
        out, _, summary = worker.solve(run, lambda stage, f: None)
    assert err.value.issues[0]["code"] == "no_fixed_year" and err.value.issues[0]["column"] == "actuals_through"
    flows = pd.DataFrame(out["flows"]["data"])
    got = flows.groupby(["from_site", "to_site", "material"])["t"].sum().to_dict()
    assert got == {("cd-mine", "cd-plant", "tailings"): pytest.approx(100_000.0),
                   ("cd-plant", "bj-site", "manufactured_sand"): pytest.approx(40_000.0),
                   ("cd-plant", "bj-site", "coarse_aggregate"): pytest.approx(10_000.0)}
    diag = [d for d in out["diagnosis"]["data"] if d["kind"] == "actuals"]
    assert len(diag) == 1 and "2022" in diag[0]["message_zh"]


def test_the_runs_page_submits_a_run_from_actuals(client, users, app):
    h = users.headers["admin"]
    with app.state.platform.sessions() as db:
        record(db, actor(users, "admin"), (*INSIDE[:1], 2022, *INSIDE[2:]))
        db.commit()
        snap, _ = scenarios.create(db, actor(users, "admin"), "page-actuals")
    assert 'id="from-actuals"' in client.get("/runs", headers=h).text
    r = client.post("/runs", headers=h, follow_redirects=False,
                    data={"scenario_id": str(snap.id), "from_actuals": "true", "actuals_through": ""})
    assert r.status_code == 303, r.text
    run = client.get(r.headers["location"], headers=h)
    assert "按实际固定至（年） 2022（1 条联单记录）" in run.text or "through (year) 2022 (1 records)" in run.text
    r = client.post("/runs", headers=h, data={"scenario_id": str(snap.id), "from_actuals": "true",
                                              "actuals_through": "2021"})
    assert r.status_code == 422 and "2021" in r.text  # nothing planned up to 2021: located, not a 500


def test_concurrent_records_of_one_manifest_count_once(app, users):
    """Two processings of the same manifest at once (a retried request): one row, one event."""
    import threading

    a = actor(users, "admin")
    barrier, errors = threading.Barrier(4), []

    def go():
        try:
            with app.state.platform.sessions() as db:
                barrier.wait()
                record(db, a, INSIDE)
                db.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(stored(app)) == 1
    with app.state.platform.sessions() as db:
        n = db.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.object_type == "actual_flow"))
    assert n == 1
