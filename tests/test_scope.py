"""Scope and tenancy (issue 9, items 6 and 8): lanes are read in the scope of their end sites'
owners, and a record out of scope answers exactly like a record that does not exist."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from resynergy.services.access import Actor
from resynergy.services.registry import Change, apply
from support.platform import ORG_B, PASSWORD

SUPPLY = {"material": "fly_ash", "year": 2030, "generation_t": 1.0}


@pytest.fixture
def lanes(app, users):
    """A private lane between A's mine and B's concrete plant, one inside A, one inside Hebei."""
    p = app.state.platform
    with p.sessions() as db:
        admin = Actor(users.ids["admin"], "admin", "admin")
        apply(db, admin, [
            Change("lanes", "create", {"from_site": "cd-mine", "to_site": "bj-site", "mode": "road_nev",
                                       "cost_per_t": 42.5, "capacity_t": 1000.0, "source": "contract A-B"}),
            Change("lanes", "create", {"from_site": "cd-mine", "to_site": "cd-plant", "mode": "road_nev"})])
        hebei = p.accounts.create_user(db, admin, "planner_hb", PASSWORD, "planner", province="130000")
        raw, _ = p.accounts.issue_token(db, hebei)
        db.commit()
    return {"planner_hb": {"Authorization": f"Bearer {raw}"}}


def _lanes(client, headers) -> set[tuple[str, str]]:
    body = client.get("/api/v1/lanes", headers=headers).json()
    assert body["total"] == len(body["items"])
    return {(r["from_site"], r["to_site"]) for r in body["items"]}


def test_lanes_are_read_in_the_scope_of_their_end_sites(client, users, lanes):
    h = {**users.headers, **lanes}
    both, inside_a = ("cd-mine", "bj-site"), ("cd-mine", "cd-plant")
    assert _lanes(client, h["admin"]) == {both, inside_a}
    assert _lanes(client, h["planner"]) == {both, inside_a}
    assert _lanes(client, h["ent_a"]) == {inside_a}  # B's site and the A–B rate stay hidden
    assert _lanes(client, h["ent_b"]) == set()
    assert _lanes(client, h["planner_bj"]) == set()
    assert _lanes(client, h["planner_hb"]) == {inside_a}
    for who in ("ent_a", "ent_b", "planner_bj", "planner_hb"):
        export = client.get("/api/v1/lanes/export?format=csv", headers=h[who])
        assert export.status_code == 200
        assert "contract A-B" not in export.text and "42.5" not in export.text, who
    frame = pd.read_csv(io.StringIO(client.get("/api/v1/lanes/export", headers=h["planner"]).text))
    assert set(frame["source"].fillna("")) >= {"contract A-B"}


def test_an_out_of_scope_lane_answers_like_a_missing_one(client, users, lanes):
    pk = next(r["pk"] for r in client.get("/api/v1/lanes", headers=users.headers["admin"]).json()["items"]
              if r["to_site"] == "bj-site")
    for who in ("ent_a", "planner_bj"):
        hidden = client.get(f"/api/v1/lanes/{pk}", headers=users.headers[who])
        missing = client.get("/api/v1/lanes/999999", headers=users.headers[who])
        assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()


def test_a_reference_to_another_tenants_record_answers_like_a_missing_one(client, users):
    hb = users.headers["ent_b"]
    theirs = client.post("/api/v1/supplies", json={"site": "cd-mine", **SUPPLY}, headers=hb)
    missing = client.post("/api/v1/supplies", json={"site": "no-such-site", **SUPPLY}, headers=hb)
    assert theirs.status_code == missing.status_code == 422
    assert [{k: v for k, v in i.items() if k not in ("value", "location_zh", "location_en")}
            for i in theirs.json()["issues"]] == \
           [{k: v for k, v in i.items() if k not in ("value", "location_zh", "location_en")}
            for i in missing.json()["issues"]]
    site = {"id": "b-new", "name_zh": "乙", "name_en": "B new", "org_uscc": "91130800MA0A00000W", "region": "110000",
            "lat": 39.9, "lon": 116.4, "roles": "generator"}
    as_a = client.post("/api/v1/sites", json=site, headers=hb)  # another organisation as operator
    nobody = client.post("/api/v1/sites", json={**site, "org_uscc": "91110000MA0Z00000Y"}, headers=hb)
    assert as_a.status_code == 422 and as_a.json()["issues"][0]["code"] == "unknown_ref"
    assert nobody.status_code == 422


def test_conflicts_do_not_quote_another_tenants_keys(client, users, app):
    """Deleting B's own site that a lane from A's mine uses: 409, naming no key of A's."""
    hb = users.headers["ent_b"]
    site = {"id": "b-yard", "name_zh": "乙货场", "name_en": "B yard", "org_uscc": ORG_B, "region": "110000",
            "lat": 39.9, "lon": 116.4, "roles": "terminal"}
    pk = client.post("/api/v1/sites", json=site, headers=hb).json()["pk"]
    assert client.post("/api/v1/lanes", json={"from_site": "cd-mine", "to_site": "b-yard", "mode": "rail"},
                       headers=users.headers["admin"]).status_code == 201
    r = client.delete(f"/api/v1/sites/{pk}", headers=hb)
    assert r.status_code == 409
    assert "cd-mine" not in r.text
    taken = client.post("/api/v1/sites", json={**site, "id": "cd-mine"}, headers=hb)  # A's site id
    assert taken.status_code == 409 and "registry/sites (" not in taken.text


def test_each_scope_keeps_its_own_published_plan(app, client, users):
    """Item 7 on both engines: a province plan published later does not replace the region-wide one."""
    from resynergy.store.models import Run, RunResult, ScenarioSnapshot, utcnow

    ids = {}
    with app.state.platform.sessions() as db:
        for province, finished in (("", utcnow()), ("110000", utcnow()), ("110000", None)):
            snap = ScenarioSnapshot(name=f"s{province}", version=len(ids) + 1, digest="2" * 64, tables={},
                                    province=province)
            db.add(snap)
            db.flush()
            run = Run(scenario_id=snap.id, options={}, state="succeeded", published=True, finished_at=finished)
            db.add(run)
            db.flush()
            db.add(RunResult(run_id=run.id, name="summary", kind="json", data={"status": "optimal"}))
            ids[(province, finished is None)] = run.id
        db.commit()
    plans = client.get("/api/v1/public/plans").json()
    assert [(p["scope"], p["run_id"]) for p in plans] == [("", ids[("", False)]), ("110000", ids[("110000", False)])]
    assert client.get("/api/v1/public/plan").json()["run_id"] == ids[("", False)]
    r = client.post(f"/api/v1/runs/{ids[('', False)]}/publish", json={"published": False},
                    headers=users.headers["planner_bj"])
    assert r.status_code == 403


def test_changing_another_tenants_record_answers_like_a_missing_one(client, users):
    a, b = users.headers["ent_a"], users.headers["ent_b"]
    theirs = client.get("/api/v1/sites", headers=b).json()["items"][0]
    body = {k: v for k, v in theirs.items() if k not in ("pk", "updated_at", "row_version")}
    for method, kwargs in (("PUT", {"json": body}), ("DELETE", {})):
        hidden = client.request(method, f"/api/v1/sites/{theirs['pk']}", headers=a, **kwargs)
        missing = client.request(method, "/api/v1/sites/999999", headers=a, **kwargs)
        assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json(), method
    assert client.get(f"/api/v1/sites/{theirs['pk']}", headers=b).json()["id"] == theirs["id"]  # untouched
