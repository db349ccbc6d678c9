"""Authorization matrix: every route of the app × every role × own / other organisation (and
province) → the expected status. The expectations below are the access policy written out by
hand; the test enumerates the app's routes and fails on any route the matrix does not cover.

Roles: anonymous, public, admin, planner (all provinces), planner_bj (Beijing only), regulator,
evaluator, ent_a (the organisation owning the objects used), ent_b (another organisation).
"own" objects belong to organisation A in Hebei (Chengde). Page routes answer 'login' (a 303 to
/login) where the API answers 401.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from resynergy import schema
from resynergy.scenario import uscc
from resynergy.services.access import Actor
from resynergy.services.registry import Change, apply
from resynergy.store.models import (
    REGISTRY,
    REGISTRY_TABLES,
    ImportRecord,
    Run,
    RunResult,
    ScenarioSnapshot,
)
from support.platform import ORG_A, PASSWORD, Platform, make_settings, seed

ROLES = ("anonymous", "public", "admin", "planner", "planner_bj", "regulator", "evaluator", "ent_a", "ent_b")
ORG_TABLES = ("organisations", "sites", "supplies", "facilities", "demands", "terminals")
SCOPED_TABLES = (*ORG_TABLES, "lanes")  # read in the scope of their owners (lanes: of both end sites)
STAFF = ("admin", "planner", "planner_bj", "regulator", "evaluator")
ENTERPRISES = ("ent_a", "ent_b")

# One valid record per table, owned by organisation A / located in Hebei; created and removed
# around each request so every role meets the same state.
BODIES: dict[str, dict[str, Any]] = {
    "regions": {"code": "139001", "name_zh": "测试市", "name_en": "Test City", "level": "prefecture",
                "parent": "130000", "lat": 39.0, "lon": 116.0},
    "organisations": {"uscc": "91130800MA0M00001" + uscc.check_char("91130800MA0M00001"), "name_zh": "测试单位",
                      "name_en": "Test Co", "region": "130800"},
    "sites": {"id": "m-site", "name_zh": "测试站点", "name_en": "Test site", "org_uscc": ORG_A, "region": "130800",
              "lat": 40.9, "lon": 117.9, "roles": "generator"},
    "supplies": {"site": "cd-mine", "material": "fly_ash", "year": 2030, "generation_t": 10.0},
    "facilities": {"id": "m-fac", "site": "cd-plant", "process": "tailings_sand", "year": 2022, "capacity_t": 10.0},
    "demands": {"site": "cd-plant", "material": "coarse_aggregate", "year": 2030, "quantity_t": 10.0, "value": 1.0},
    "terminals": {"site": "cd-extra2", "handling_cost": 5.0, "capacity_t": 1000.0},
    "lanes": {"from_site": "cd-mine", "to_site": "cd-extra", "mode": "road_nev"},
    "corridors": {"id": "m-cor", "from_region": "130800", "to_region": "110000", "min_rail_share": 0.1},
    "targets": {"id": "m-tgt", "indicator": "isw_utilized", "region": "130000", "year": 2022, "value": 1.0,
                "unit": "t", "kind": "report", "name_zh": "测试目标", "name_en": "Test target"},
    "policy": {"key": "k_nearest", "value": 6.0},
    "programmes": {"id": "m-prog", "kind": "isw_base", "name_zh": "测试基地", "name_en": "Test base",
                   "region": "130800", "status": "built", "built_year": 2021},
    "virgin_supply": {"region": "130800", "material": "coarse_aggregate", "year": 2030, "capacity_t": 10.0},
}
# An existing record per table, owned by A / in Hebei, read and re-saved unchanged.
EXISTING = {"regions": {"code": "130800"}, "organisations": {"uscc": ORG_A}, "sites": {"id": "cd-mine"},
            "supplies": {"site": "cd-mine"}, "facilities": {"id": "cd-sand"}, "demands": {"site": "cd-plant"},
            "terminals": {"site": "cd-extra"}, "lanes": {"to_site": "cd-extra"}, "corridors": {"id": "cor-1"},
            "targets": {"id": "hebei-isw"}, "policy": {"key": "carbon_price"}, "programmes": {"id": "prog-1"},
            "virgin_supply": {"region": "130800", "year": 2022}}


@dataclass
class World(Platform):
    pk: dict[str, int] = field(default_factory=dict)  # existing record per table
    scenario: int = 0
    runs: tuple[int, int] = (0, 0)
    import_id: int = 0
    victim: int = 0

    def as_admin(self, changes: list[Change]) -> list[int]:
        with self.sessions() as db:
            done = apply(db, Actor(self.ids["admin"], "admin", "admin"), changes)
            db.commit()
            return done.pks

    def remove(self, table: str, body: dict) -> None:
        t = REGISTRY[table]
        keys = schema.key_columns(table)
        with self.sessions() as db:
            db.execute(sa.delete(t).where(*(t.c[k] == body[k] for k in keys)))
            db.commit()

    def fresh(self, table: str) -> int:
        self.remove(table, BODIES[table])
        return self.as_admin([Change(table, "create", dict(BODIES[table]))])[0]

    def queued_run(self) -> int:
        with self.sessions() as db:
            run = Run(scenario_id=self.scenario, options={"objective": "cost"})
            db.add(run)
            db.commit()
            return run.id


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlite_template) -> World:
    path = tmp_path_factory.mktemp("matrix") / "m.db"
    shutil.copyfile(sqlite_template, path)
    from resynergy.web.app import create_app

    app = create_app(make_settings(f"sqlite:///{path}", login_max_failures=1000), migrate=False, run_worker=False)
    users = seed(app)
    with TestClient(app) as client:
        w = World(client, app, users.headers, users.ids)
        extra = {"id": "cd-extra", "name_zh": "承德货场", "name_en": "Chengde yard", "org_uscc": ORG_A,
                 "region": "130800", "lat": 40.8, "lon": 117.8, "roles": "terminal"}
        w.as_admin([Change("sites", "create", extra),
                    Change("sites", "create", {**extra, "id": "cd-extra2", "name_en": "Chengde yard 2"})])
        w.as_admin([Change("terminals", "create", {"site": "cd-extra", "handling_cost": 4.0, "capacity_t": 9.0}),
                    Change("lanes", "create", {"from_site": "cd-plant", "to_site": "cd-extra", "mode": "rail"}),
                    Change("corridors", "create", {"id": "cor-1", "from_region": "130800", "to_region": "110000",
                                                   "min_rail_share": 0.2}),
                    Change("policy", "create", {"key": "carbon_price", "value": 0.0}),
                    Change("programmes", "create", {"id": "prog-1", "kind": "recycling_park", "name_zh": "园区",
                                                    "name_en": "Park", "region": "130800", "status": "approved",
                                                    "approved_year": 2021}),
                    Change("virgin_supply", "create", {"region": "130800", "material": "coarse_aggregate",
                                                       "year": 2022, "capacity_t": 7.0}),
                    Change("demands", "create", {"site": "cd-plant", "material": "manufactured_sand", "year": 2022,
                                                 "quantity_t": 5.0, "value": 1.0})])
        with w.sessions() as db:
            for table, match in EXISTING.items():
                t = REGISTRY[table]
                w.pk[table] = db.scalar(sa.select(t.c.pk).where(*(t.c[k] == v for k, v in match.items())))
            snap = ScenarioSnapshot(name="s", version=1, digest="0" * 64, tables={}, province="")
            db.add(snap)
            db.flush()
            w.scenario = snap.id
            runs = []
            for published in (True, False):  # a published region-wide plan, and an unpublished run
                run = Run(scenario_id=snap.id, options={"objective": "cost"}, state="succeeded", progress=1.0,
                          published=published, objective=1.0)
                db.add(run)
                db.flush()
                summary = {"status": "optimal", "totals": {"cost_yuan": 1.0}, "headline": [], "targets": [], "years": [2022]}
                fig = json.dumps({"data": [], "layout": {}})
                db.add_all([RunResult(run_id=run.id, name="summary", kind="json", data=summary),
                            RunResult(run_id=run.id, name="flows", kind="table", data=[]),
                            RunResult(run_id=run.id, name="figures", kind="json",
                                      data={n: {"zh": fig, "en": fig} for n in
                                            ("map", "sankey", "attainment", "trajectory", "costs", "co2")}),
                            RunResult(run_id=run.id, name="report", kind="html.gz", blob=gzip.compress(b"<html></html>"))])
                runs.append(run.id)
            w.runs = (runs[0], runs[1])
            rec = ImportRecord(user_id=users.ids["ent_a"], filename="x.csv", accepted=False, issues=[],
                               error_workbook=b"PK")
            db.add(rec)
            db.flush()
            w.import_id = rec.id
            db.commit()
            victim = app.state.platform.accounts.create_user(db, Actor(None, "t", "admin"), "victim", PASSWORD, "evaluator")
            db.commit()
            w.victim = victim.id
        yield w


# ---- expectations ------------------------------------------------------------------------
def each(**statuses) -> dict[str, int | str]:
    """Statuses by role; ``rest`` fills the roles not named."""
    rest = statuses.pop("rest", None)
    out = {role: statuses.get(role, rest) for role in ROLES}
    missing = [r for r, v in out.items() if v is None]
    assert not missing, missing
    return out


def signed_in(ok, page=False) -> dict:
    return each(anonymous="login" if page else 401, public=403, rest=ok)


def registry_expect(table: str, op: str, page: bool = False) -> dict:
    """The registry's access policy (see resynergy.services.access), written out independently."""
    org = table in ORG_TABLES
    scoped = table in SCOPED_TABLES
    anon = "login" if page else 401
    ok = {"list": 200, "read": 200, "export": 200, "form": 200,
          "create": 303 if page else 201, "update": 303 if page else 200, "delete": 303 if page else 204}[op]
    if op in ("list", "export"):
        return signed_in(ok, page)
    if op == "read":
        return each(anonymous=anon, public=403, admin=ok, planner=ok, regulator=ok, evaluator=ok, ent_a=ok,
                    planner_bj=404 if scoped else ok, ent_b=404 if scoped else ok)
    if op == "form":  # the blank "new" form: function-level permission only
        writable = org and table != "organisations"
        return each(anonymous=anon, public=403, admin=ok, planner=ok, planner_bj=ok, regulator=403,
                    evaluator=403, ent_a=ok if writable else 403, ent_b=ok if writable else 403)
    if op == "create":
        ent_ok = org and table != "organisations"
        # the bodies refer to A's sites / organisation: to whoever may not read those, a reference
        # to them is a reference to nothing (422, as for a code that does not exist), not a 403
        hidden_ref = scoped and table != "organisations"
        return each(anonymous=anon, public=403, admin=ok, planner=ok, regulator=403, evaluator=403,
                    planner_bj=422 if hidden_ref else 403, ent_a=ok if ent_ok else 403,
                    ent_b=422 if ent_ok else 403)
    if op == "update":
        return each(anonymous=anon, public=403, admin=ok, planner=ok, regulator=403, evaluator=403,
                    planner_bj=404 if scoped else 403, ent_a=ok if org else 403, ent_b=404 if org else 403)
    if op == "delete":
        ent_fn = org and table != "organisations"
        return each(anonymous=anon, public=403, admin=ok, planner=ok, regulator=403, evaluator=403,
                    planner_bj=404 if scoped else 403, ent_a=ok if ent_fn else 403,
                    ent_b=(404 if ent_fn else 403))
    raise KeyError(op)


@dataclass
class Case:
    method: str
    path: str  # the route's template
    expect: dict[str, int | str]
    url: Callable[[World], str]
    kwargs: Callable[[World, str], dict] = lambda w, role: {}
    before: Callable[[World, str], dict] | None = None  # returns extra format values for url
    after: Callable[[World], None] | None = None
    table: str = ""


def _form(body: dict) -> dict[str, str]:
    return {k: ("true" if v is True else "false" if v is False else "" if v is None else str(v)) for k, v in body.items()}


def _existing_row(w: World, table: str) -> dict:
    with w.sessions() as db:
        return dict(db.execute(sa.select(REGISTRY[table]).where(REGISTRY[table].c.pk == w.pk[table])).mappings().one())


def _existing_body(w: World, table: str) -> dict:
    return {k: v for k, v in _existing_row(w, table).items() if k not in ("pk", "updated_at", "row_version")}


def _existing_put(w: World, table: str) -> dict:
    """The stored row re-sent unchanged, with the version it was read at (If-Match)."""
    return {"json": _existing_body(w, table), "headers": {"If-Match": f'"{_existing_row(w, table)["row_version"]}"'}}


FRESH_VERSION = {"headers": {"If-Match": '"1"'}}  # a row just created is at version 1


# Page routes take the table from the path; they are exercised for one table of each kind (the
# API routes cover every table): one the enterprise may not create, one owned through a site,
# and one shared.
PAGE_TABLES = ("organisations", "supplies", "regions")


def registry_cases() -> list[Case]:
    cases = []
    for t in REGISTRY_TABLES:
        cases += [
            Case("GET", f"/api/v1/{t}", registry_expect(t, "list"), lambda w, t=t: f"/api/v1/{t}", table=t),
            Case("GET", f"/api/v1/{t}/export", registry_expect(t, "export"), lambda w, t=t: f"/api/v1/{t}/export", table=t),
            Case("GET", f"/api/v1/{t}/{{pk}}", registry_expect(t, "read"), lambda w, t=t: f"/api/v1/{t}/{w.pk[t]}", table=t),
            Case("POST", f"/api/v1/{t}", registry_expect(t, "create"), lambda w, t=t: f"/api/v1/{t}",
                 lambda w, role, t=t: {"json": BODIES[t]}, after=lambda w, t=t: w.remove(t, BODIES[t]), table=t),
            Case("PUT", f"/api/v1/{t}/{{pk}}", registry_expect(t, "update"), lambda w, t=t: f"/api/v1/{t}/{w.pk[t]}",
                 lambda w, role, t=t: _existing_put(w, t), table=t),
            Case("DELETE", f"/api/v1/{t}/{{pk}}", registry_expect(t, "delete"),
                 lambda w, t=t: f"/api/v1/{t}/{{fresh}}", lambda w, role: dict(FRESH_VERSION),
                 before=lambda w, role, t=t: {"fresh": w.fresh(t)},
                 after=lambda w, t=t: w.remove(t, BODIES[t]), table=t),
        ]
        if t not in PAGE_TABLES:
            continue
        cases += [
            Case("GET", "/registry/{table}", registry_expect(t, "list", page=True), lambda w, t=t: f"/registry/{t}", table=t),
            Case("GET", "/registry/{table}/new", registry_expect(t, "form", page=True),
                 lambda w, t=t: f"/registry/{t}/new", table=t),
            Case("POST", "/registry/{table}/new", registry_expect(t, "create", page=True),
                 lambda w, t=t: f"/registry/{t}/new", lambda w, role, t=t: {"data": _form(BODIES[t])},
                 after=lambda w, t=t: w.remove(t, BODIES[t]), table=t),
            Case("GET", "/registry/{table}/{pk}", registry_expect(t, "read", page=True),
                 lambda w, t=t: f"/registry/{t}/{w.pk[t]}", table=t),
            Case("POST", "/registry/{table}/{pk}", registry_expect(t, "update", page=True),
                 lambda w, t=t: f"/registry/{t}/{w.pk[t]}",
                 lambda w, role, t=t: {"data": _form({k: v for k, v in _existing_row(w, t).items()
                                                      if k not in ("pk", "updated_at")})},
                 table=t),
            Case("POST", "/registry/{table}/{pk}/delete", registry_expect(t, "delete", page=True),
                 lambda w, t=t: f"/registry/{t}/{{fresh}}/delete", lambda w, role: {"data": {"row_version": "1"}},
                 before=lambda w, role, t=t: {"fresh": w.fresh(t)},
                 after=lambda w, t=t: w.remove(t, BODIES[t]), table=t),
        ]
    return cases


ADMIN_ONLY = each(anonymous=401, admin=200, rest=403)
IMPORTERS = ("admin", "planner", "planner_bj", "ent_a", "ent_b")
_counter = iter(range(10**6))
OWN_CSV = b"site,material,year,generation_t\ncd-mine,fly_ash,2030,10\n"


def _token_body(w: World, role: str) -> dict:
    return {"json": {"username": role if role != "anonymous" else "nobody", "password": PASSWORD}}


def _fresh_token(w: World, role: str) -> dict:
    if role == "anonymous":
        return {}
    r = w.client.post("/api/v1/auth/token", json={"username": role, "password": PASSWORD})
    return {"headers": {"Authorization": f"Bearer {r.json()['access_token']}"}}


def _remove_own_supply(w: World) -> None:
    w.remove("supplies", {"site": "cd-mine", "material": "fly_ash", "year": 2030})


def other_cases() -> list[Case]:
    R = lambda path: (lambda w: path)  # noqa: E731 - fixed URL
    runs = lambda w: w.runs  # noqa: E731
    staff_read = each(anonymous=401, public=403, ent_a=403, ent_b=403, planner_bj=404, rest=200)
    # the published region-wide plan: every staff member reads it, a province-scoped one read-only
    staff_read_published = each(anonymous=401, public=403, ent_a=403, ent_b=403, rest=200)
    staff_list = each(anonymous=401, public=403, ent_a=403, ent_b=403, rest=200)
    editors = lambda ok, bj: each(anonymous=401, public=403, ent_a=403, ent_b=403, regulator=403, evaluator=403,  # noqa: E731
                                  admin=ok, planner=ok, planner_bj=bj)
    page_staff = each(anonymous="login", public=403, ent_a=403, ent_b=403, planner_bj=404, rest=200)
    page_editors = lambda bj: each(anonymous="login", public=403, ent_a=403, ent_b=403, regulator=403,  # noqa: E731
                                   evaluator=403, admin=303, planner=303, planner_bj=bj)
    importers = lambda ok, other: each(anonymous=401, public=403, regulator=403, evaluator=403, admin=ok,  # noqa: E731
                                       planner=ok, ent_a=ok, planner_bj=other, ent_b=other)
    everyone = lambda s: each(rest=s)  # noqa: E731
    return [
        Case("GET", "/api/v1/openapi.json", everyone(200), R("/api/v1/openapi.json")),
        Case("GET", "/static/vendor/plotly.min.js", everyone(200), R("/static/vendor/plotly.min.js")),
        Case("GET", "/static/vendor/charts.js", everyone(200), R("/static/vendor/charts.js")),
        Case("POST", "/api/v1/auth/token", each(anonymous=401, rest=200), R("/api/v1/auth/token"), _token_body),
        Case("DELETE", "/api/v1/auth/token", each(anonymous=400, rest=204), R("/api/v1/auth/token"), _fresh_token),
        Case("GET", "/api/v1/auth/me", each(anonymous=401, rest=200), R("/api/v1/auth/me")),
        Case("GET", "/api/v1/users", ADMIN_ONLY, R("/api/v1/users")),
        Case("POST", "/api/v1/users", {**ADMIN_ONLY, "admin": 201}, R("/api/v1/users"),
             lambda w, role: {"json": {"username": f"new{next(_counter)}", "password": "a long passphrase 2024",
                                       "role": "evaluator"}}),
        Case("GET", "/api/v1/users/{user_id}", ADMIN_ONLY, lambda w: f"/api/v1/users/{w.victim}"),
        Case("PATCH", "/api/v1/users/{user_id}", ADMIN_ONLY, lambda w: f"/api/v1/users/{w.victim}",
             lambda w, role: {"json": {"display_name": "v"}}),
        Case("POST", "/api/v1/users/{user_id}/revoke", {**ADMIN_ONLY, "admin": 204},
             lambda w: f"/api/v1/users/{w.victim}/revoke"),
        Case("GET", "/api/v1/audit", ADMIN_ONLY, R("/api/v1/audit")),
        Case("POST", "/api/v1/imports", importers(201, 422), R("/api/v1/imports"),
             lambda w, role: {"files": {"file": ("supplies.csv", OWN_CSV, "text/csv")}}, after=_remove_own_supply),
        Case("POST", "/api/v1/imports/builtin", editors(404, 404), R("/api/v1/imports/builtin"),
             lambda w, role: {"json": {"name": "no-such-dataset"}}),
        Case("GET", "/api/v1/imports", importers(200, 200), R("/api/v1/imports")),
        Case("GET", "/api/v1/imports/{import_id}", each(anonymous=401, public=403, regulator=403, evaluator=403,
                                                         admin=200, ent_a=200, planner=404, planner_bj=404, ent_b=404),
             lambda w: f"/api/v1/imports/{w.import_id}"),
        Case("GET", "/api/v1/imports/{import_id}/errors.xlsx",
             each(anonymous=401, public=403, regulator=403, evaluator=403, admin=200, ent_a=200, planner=404,
                  planner_bj=404, ent_b=404), lambda w: f"/api/v1/imports/{w.import_id}/errors.xlsx"),
        Case("GET", "/api/v1/scenarios", staff_list, R("/api/v1/scenarios")),
        Case("POST", "/api/v1/scenarios", editors(201, 201), R("/api/v1/scenarios"),
             lambda w, role: {"json": {"name": f"m{next(_counter)}"}}),
        Case("GET", "/api/v1/scenarios/{scenario_id}", staff_read, lambda w: f"/api/v1/scenarios/{w.scenario}"),
        Case("GET", "/api/v1/scenarios/{scenario_id}/tables/{table}", staff_read,
             lambda w: f"/api/v1/scenarios/{w.scenario}/tables/sites"),
        Case("GET", "/api/v1/scenarios/{scenario_id}/export.xlsx", staff_read,
             lambda w: f"/api/v1/scenarios/{w.scenario}/export.xlsx"),
        Case("GET", "/api/v1/runs", staff_list, R("/api/v1/runs")),
        Case("POST", "/api/v1/runs", editors(201, 404), R("/api/v1/runs"),
             lambda w, role: {"json": {"scenario_id": w.scenario}}),
        Case("GET", "/api/v1/runs/compare", staff_read, lambda w: f"/api/v1/runs/compare?a={runs(w)[0]}&b={runs(w)[1]}"),
        Case("GET", "/api/v1/runs/{run_id}", staff_read, lambda w: f"/api/v1/runs/{runs(w)[1]}"),  # unpublished
        Case("POST", "/api/v1/runs/{run_id}/cancel", editors(200, 404), lambda w: "/api/v1/runs/{fresh}/cancel",
             before=lambda w, role: {"fresh": w.queued_run()}),
        Case("POST", "/api/v1/runs/{run_id}/publish", editors(200, 403), lambda w: f"/api/v1/runs/{runs(w)[0]}/publish",
             lambda w, role: {"json": {"published": True}}),
        # a province's plan: published by the admin, an unscoped planner or that province's planner
        # (beside the region-wide plan, never over it: test_published_plans_carry_their_scope)
        Case("POST", "/api/v1/runs/{run_id}/publish", editors(200, 200), lambda w: "/api/v1/runs/{fresh}/publish",
             lambda w, role: {"json": {"published": True}}, before=lambda w, role: {"fresh": _scoped_run(w, "110000")},
             table="province-plan"),
        Case("GET", "/api/v1/runs/{run_id}/results/{name}", staff_read_published, lambda w: f"/api/v1/runs/{runs(w)[0]}/results/flows"),
        Case("GET", "/api/v1/runs/{run_id}/figures/{name}", staff_read_published, lambda w: f"/api/v1/runs/{runs(w)[0]}/figures/map"),
        Case("GET", "/api/v1/runs/{run_id}/report", staff_read_published, lambda w: f"/api/v1/runs/{runs(w)[0]}/report"),
        Case("GET", "/api/v1/runs/{run_id}/log", staff_read_published, lambda w: f"/api/v1/runs/{runs(w)[0]}/log"),
        Case("GET", "/api/v1/runs/{run_id}/inputs", staff_read_published, lambda w: f"/api/v1/runs/{runs(w)[0]}/inputs"),
        Case("GET", "/api/v1/public/plan", everyone(200), R("/api/v1/public/plan")),
        Case("GET", "/api/v1/public/plans", everyone(200), R("/api/v1/public/plans")),
        Case("GET", "/api/v1/public/figures/{name}", everyone(200), R("/api/v1/public/figures/sankey")),
        # pages
        Case("GET", "/", everyone(200), R("/")),
        Case("GET", "/login", everyone(200), R("/login")),
        Case("POST", "/login", everyone(403), R("/login"),  # no sign-in form token: refused for all
             lambda w, role: {"data": {"username": "admin", "password": PASSWORD}}),
        Case("POST", "/logout", everyone("login"), R("/logout")),  # signs out (if in) and goes to the sign-in page
        Case("GET", "/lang/{code}", everyone(303), R("/lang/en")),
        Case("POST", "/builtin", page_editors(303), R("/builtin"), lambda w, role: {"data": {"name": "no-such"}}),
        # a background load's progress page: editors only, and their own loads (w.import_id is ent_a's
        # upload, not a load: 404 even for the admin)
        Case("GET", "/builtin/{import_id}", each(anonymous="login", public=403, regulator=403, evaluator=403, ent_a=403,
                                                  ent_b=403, admin=404, planner=404, planner_bj=404),
             lambda w: f"/builtin/{w.import_id}"),
        Case("GET", "/registry", each(anonymous="login", public=403, rest=200), R("/registry")),
        Case("GET", "/import", each(anonymous="login", public=403, regulator=403, evaluator=403, rest=200), R("/import")),
        Case("POST", "/import", each(anonymous="login", public=403, regulator=403, evaluator=403, admin=200, planner=200,
                                     ent_a=200, planner_bj=422, ent_b=422), R("/import"),
             lambda w, role: {"files": {"file": ("supplies.csv", OWN_CSV, "text/csv")}}, after=_remove_own_supply),
        Case("GET", "/import/template.xlsx", each(anonymous="login", public=403, regulator=403, evaluator=403, rest=200),
             R("/import/template.xlsx")),
        Case("GET", "/enterprise", each(anonymous="login", ent_a=200, ent_b=200, rest=403), R("/enterprise")),
        Case("GET", "/runs", each(anonymous="login", public=403, ent_a=403, ent_b=403, rest=200), R("/runs")),
        Case("POST", "/scenarios", page_editors(303), R("/scenarios"), lambda w, role: {"data": {"name": "p"}}),
        Case("POST", "/runs", page_editors(404), R("/runs"), lambda w, role: {"data": {"scenario_id": str(w.scenario)}}),
        Case("GET", "/runs/compare", page_staff, lambda w: f"/runs/compare?a={runs(w)[0]}&b={runs(w)[1]}"),
        Case("GET", "/runs/{run_id}", page_staff, lambda w: f"/runs/{runs(w)[1]}"),  # unpublished
        Case("POST", "/runs/{run_id}/cancel", page_editors(404), lambda w: "/runs/{fresh}/cancel",
             before=lambda w, role: {"fresh": w.queued_run()}),
        Case("POST", "/runs/{run_id}/publish", page_editors(403), lambda w: f"/runs/{runs(w)[0]}/publish",
             lambda w, role: {"data": {"published": "true"}}),
        Case("GET", "/admin/users", each(anonymous="login", admin=200, rest=403), R("/admin/users")),
        Case("POST", "/admin/users", each(anonymous="login", admin=303, rest=403), R("/admin/users"),
             lambda w, role: {"data": {"username": f"page{next(_counter)}", "password": "a long passphrase 2024",
                                       "role": "evaluator"}}),
        Case("POST", "/admin/users/{user_id}", each(anonymous="login", admin=303, rest=403),
             lambda w: f"/admin/users/{w.victim}", lambda w, role: {"data": {"role": "evaluator", "active": "true"}}),
        Case("POST", "/admin/users/{user_id}/revoke", each(anonymous="login", admin=303, rest=403),
             lambda w: f"/admin/users/{w.victim}/revoke"),
        Case("GET", "/admin/audit", each(anonymous="login", admin=200, rest=403), R("/admin/audit")),
    ]


# ---- #12 electronic manifests: a manifest of organisation A inside Hebei (A generates, carries
# and receives), so ent_b and the Beijing planner are the "other" organisation / province.
def _deal(w: World) -> int:
    from resynergy.store.models import Deal
    from support.manifests import make_deal

    with w.sessions() as db:  # other cases may have emptied the deals
        known = getattr(w, "deal", 0) and db.get(Deal, w.deal) is not None  # type: ignore[attr-defined]
    if not known:
        w.deal = make_deal(w.sessions, ORG_A, ORG_A, "cd-mine", "cd-plant")  # type: ignore[attr-defined]
    return w.deal  # type: ignore[attr-defined]


def _clean_manifests(w: World) -> None:
    """Remove the manifests a case made (deals may then be removed by the exchange cases)."""
    from resynergy.store.models import Manifest, ManifestSignature

    with w.sessions() as db:
        db.execute(sa.delete(ManifestSignature))
        db.execute(sa.update(Manifest).values(parent_id=None))
        db.execute(sa.delete(Manifest))
        db.commit()
    w.pk.pop("manifest", None)


def _manifest(w: World, state: str = "draft") -> int:
    """A fresh manifest in ``state``; its version is kept for the If-Match of the request."""
    from support.manifests import advance, new_manifest

    a = Actor(w.ids["ent_a"], "ent_a", "enterprise", ORG_A)
    m = new_manifest(w.sessions, a, _deal(w), carrier_org=ORG_A)
    if state != "draft":
        refuse = {"reception": {"acceptance": "refused", "refusal_reason": "不合格"}} if state == "refused" else {}
        m = advance(w.sessions, m["id"], state, {"generator": a, "carrier": a, "receiver": a}, refuse)
    w.version = m["row_version"]  # type: ignore[attr-defined]
    return m["id"]


def _if_match(w: World, role: str, **kwargs) -> dict:
    return {"headers": {"If-Match": f'"{w.version}"'}, **kwargs}  # type: ignore[attr-defined]


def _approval(w: World) -> int:
    from resynergy.services import manifests

    with w.sessions() as db:
        out = manifests.create_approval(db, Actor(w.ids["admin"], "admin", "admin"), {
            "kind": "filing", "origin_province": "130000", "dest_province": "110000", "generator_org": ORG_A,
            "receiver_org": "91110000MA0B00000X", "quantity_kg": 1000, "valid_from": "2022-01-01",
            "valid_to": "2022-12-31"})
        db.commit()
    w.version = 1  # type: ignore[attr-defined]
    return out["id"]


def _licence(w: World) -> int:
    from resynergy.services import manifests

    with w.sessions() as db:
        out = manifests.create_licence(db, Actor(w.ids["admin"], "admin", "admin"),
                                       {"org": ORG_A, "number": "L-1", "codes": ["HW49"]})
        db.commit()
    w.version = 1  # type: ignore[attr-defined]
    return out["id"]


def manifest_cases() -> list[Case]:
    read = each(anonymous=401, public=403, ent_b=404, planner_bj=404, rest=200)
    page_read = {**read, "anonymous": "login"}
    party = lambda ok: each(anonymous=401, public=403, ent_a=ok, ent_b=404, planner_bj=404, rest=403)  # noqa: E731
    regulators = lambda ok: each(anonymous=401, admin=ok, regulator=ok, rest=403)  # noqa: E731
    fresh = lambda state: (lambda w, role: {"fresh": _manifest(w, state)})  # noqa: E731
    url = lambda tail: (lambda w: "/api/v1/manifests/{fresh}" + tail)  # noqa: E731
    existing = lambda tail: (lambda w: f"/api/v1/manifests/{_kept(w)}{tail}")  # noqa: E731
    cases = [
        Case("GET", "/api/v1/manifests", signed_in(200), lambda w: "/api/v1/manifests"),
        Case("POST", "/api/v1/manifests", each(anonymous=401, public=403, admin=201, ent_a=201, ent_b=404, rest=403),
             lambda w: "/api/v1/manifests", lambda w, role: {"json": {"deal_id": _deal(w), "fields": {"carrier_org": ORG_A}}}),
        Case("GET", "/api/v1/manifests/{manifest_id}", read, existing("")),
        Case("PATCH", "/api/v1/manifests/{manifest_id}", party(200), url(""),
             lambda w, role: _if_match(w, role, json={"fields": {"declared_kg": 1000}}), before=fresh("draft")),
        Case("POST", "/api/v1/manifests/{manifest_id}/seal", party(200), url("/seal"), _if_match, before=fresh("draft")),
        Case("POST", "/api/v1/manifests/{manifest_id}/unseal", party(200), url("/unseal"), _if_match,
             before=fresh("sealed")),
        Case("POST", "/api/v1/manifests/{manifest_id}/cancel", party(200), url("/cancel"), _if_match,
             before=fresh("draft")),
        Case("POST", "/api/v1/manifests/{manifest_id}/sign", party(200), url("/sign"),
             lambda w, role: _if_match(w, role, json={"frame": "emission"}), before=fresh("sealed")),
        Case("POST", "/api/v1/manifests/{manifest_id}/link", party(201), url("/link"),
             lambda w, role: {"json": {"kind": "return"}}, before=fresh("refused")),
        Case("GET", "/api/v1/manifests/{manifest_id}/verify", read, existing("/verify")),
        Case("GET", "/api/v1/manifests/{manifest_id}/export.json", read, existing("/export.json")),
        Case("GET", "/api/v1/manifests/{manifest_id}/export.xlsx", read, existing("/export.xlsx")),
        Case("GET", "/api/v1/alerts", signed_in(200), lambda w: "/api/v1/alerts"),
        Case("GET", "/api/v1/transfer-approvals", signed_in(200), lambda w: "/api/v1/transfer-approvals"),
        Case("POST", "/api/v1/transfer-approvals", regulators(201), lambda w: "/api/v1/transfer-approvals",
             lambda w, role: {"json": {"kind": "filing", "origin_province": "130000", "dest_province": "110000",
                                       "generator_org": ORG_A, "receiver_org": ORG_A, "quantity_kg": 5,
                                       "valid_from": "2022-01-01", "valid_to": "2022-12-31"}}),
        Case("POST", "/api/v1/transfer-approvals/{approval_id}/status", regulators(200),
             lambda w: "/api/v1/transfer-approvals/{fresh}/status",
             lambda w, role: _if_match(w, role, json={"status": "revoked"}),
             before=lambda w, role: {"fresh": _approval(w)}),
        Case("GET", "/api/v1/licences", signed_in(200), lambda w: "/api/v1/licences"),
        Case("POST", "/api/v1/licences", regulators(201), lambda w: "/api/v1/licences",
             lambda w, role: {"json": {"org": ORG_A, "number": "L-2", "codes": ["HW08"]}}),
        Case("POST", "/api/v1/licences/{licence_id}/revoke", regulators(200),
             lambda w: "/api/v1/licences/{fresh}/revoke", _if_match, before=lambda w, role: {"fresh": _licence(w)}),
        # pages
        Case("GET", "/manifests", each(anonymous="login", public=403, rest=200), lambda w: "/manifests"),
        Case("POST", "/manifests", each(anonymous="login", public=403, admin=303, ent_a=303, ent_b=404, rest=403),
             lambda w: "/manifests",
             lambda w, role: {"data": {"deal_id": str(_deal(w)), "declared_kg": "1000", "carrier_org": ORG_A}}),
        Case("GET", "/manifests/{manifest_id}", page_read, lambda w: f"/manifests/{_kept(w)}"),
        Case("GET", "/manifests/{manifest_id}/print", page_read, lambda w: f"/manifests/{_kept(w)}/print"),
        Case("POST", "/manifests/{manifest_id}/step",
             each(anonymous="login", public=403, ent_a=303, ent_b=404, planner_bj=404, rest=403),
             lambda w: "/manifests/{fresh}/step",
             lambda w, role: {"data": {"step": "seal", "row_version": str(w.version)}},  # type: ignore[attr-defined]
             before=fresh("draft")),
        Case("GET", "/alerts", each(anonymous="login", public=403, rest=200), lambda w: "/alerts"),
    ]
    for case in cases:
        case.after = _clean_manifests
    return cases


def _kept(w: World) -> int:
    """One processed manifest, read by the read-only cases."""
    if "manifest" not in w.pk:
        w.pk["manifest"] = _manifest(w, "processed")
    return w.pk["manifest"]


# ---- retired batteries (issue 14) --------------------------------------------------------------
# Organisation A's unit, collected in Chengde (Hebei): A and unscoped staff read it, the Beijing
# planner and organisation B do not (404). Enterprises and the admin write (an enterprise only
# as its own organisation: B naming A is a 422); planners, regulators and evaluators read only.
# The forecast is an aggregate of public statistics: open to all.
BATTERY_UNIT = "T01PE01A10000193F0000900"
_battery_serial = iter(range(1000, 10**6))


def _battery_unit(w: World, role: str) -> dict:
    if "battery" not in w.pk:
        r = w.client.post("/api/v1/battery-events", headers=w.headers["ent_a"], json={"events": [
            {"unit_code": BATTERY_UNIT, "event": "collected", "time": "2024-01-10", "actor": ORG_A,
             "actor_role": "collection_point", "place": "130800"}]})
        assert r.status_code == 201, r.text
        w.pk["battery"] = 1
    return {"code": BATTERY_UNIT}


def _battery_event(w: World, role: str) -> dict:
    return {"unit_code": f"T01PE01A10000193F{next(_battery_serial):07d}", "event": "collected", "time": "2024-01-10",
            "actor": ORG_A, "actor_role": "collection_point", "place": "130800"}


def _battery_csv(w: World, role: str) -> bytes:
    e = _battery_event(w, role)
    return (",".join(e) + "\n" + ",".join(str(v) for v in e.values()) + "\n").encode()


def battery_cases() -> list[Case]:
    R = lambda path: (lambda w: path)  # noqa: E731 - fixed URL
    unit = lambda w: "/api/v1/batteries?code={code}"  # noqa: E731
    readers = each(anonymous=401, public=403, rest=200)
    page_readers = each(anonymous="login", public=403, rest=200)
    writers = lambda ok, b: each(anonymous=401, public=403, admin=ok, ent_a=ok, ent_b=b, rest=403)  # noqa: E731
    page_writers = lambda b: each(anonymous="login", public=403, admin=303, ent_a=303, ent_b=b, rest=403)  # noqa: E731
    test_body = {"unit_code": BATTERY_UNIT, "soh": 0.7}
    return [
        Case("GET", "/api/v1/batteries", each(anonymous=401, public=403, planner_bj=404, ent_b=404, rest=200), unit,
             before=_battery_unit),
        Case("POST", "/api/v1/battery-events", writers(201, 422), R("/api/v1/battery-events"),
             lambda w, role: {"json": {"events": [_battery_event(w, role)]}}),
        Case("POST", "/api/v1/battery-events/import", writers(201, 422), R("/api/v1/battery-events/import"),
             lambda w, role: {"files": {"file": ("events.csv", _battery_csv(w, role), "text/csv")}}),
        Case("GET", "/api/v1/battery-events/overdue", readers, R("/api/v1/battery-events/overdue")),
        Case("POST", "/api/v1/battery-tests", writers(201, 404), R("/api/v1/battery-tests"),
             lambda w, role: {"json": dict(test_body)}, before=lambda w, role: (_battery_unit(w, role), {})[1]),
        Case("GET", "/api/v1/battery-tests", readers, R("/api/v1/battery-tests")),
        Case("GET", "/api/v1/battery-compliance", readers, R("/api/v1/battery-compliance")),
        Case("GET", "/api/v1/battery-matches", readers, R("/api/v1/battery-matches")),
        Case("GET", "/api/v1/battery-forecast", each(rest=200), R("/api/v1/battery-forecast?province=130000&year=2030")),
        Case("GET", "/api/v1/battery-forecast/figure", each(rest=200), R("/api/v1/battery-forecast/figure")),
        # editors only; the matrix's scenario is empty, so who may apply gets its located 422
        Case("POST", "/api/v1/battery-forecast/apply", each(anonymous=401, public=403, admin=422, planner=422,
                                                            planner_bj=404, rest=403),
             R("/api/v1/battery-forecast/apply"), lambda w, role: {"json": {"scenario_id": w.scenario}}),
        Case("GET", "/batteries", each(anonymous="login", public=403, planner_bj=404, ent_b=404, rest=200),
             lambda w: "/batteries?code={code}", before=_battery_unit),
        Case("POST", "/batteries/test", page_writers(404), R("/batteries/test"),
             lambda w, role: {"data": {"unit_code": BATTERY_UNIT, "soh": "0.7"}},
             before=lambda w, role: (_battery_unit(w, role), {})[1]),
        Case("POST", "/batteries/import", page_writers(422), R("/batteries/import"),
             lambda w, role: {"files": {"file": ("events.csv", _battery_csv(w, role), "text/csv")}}),
        Case("GET", "/batteries/overdue", page_readers, R("/batteries/overdue")),
        Case("GET", "/batteries/triage", page_readers, R("/batteries/triage")),
        Case("GET", "/batteries/compliance", page_readers, R("/batteries/compliance")),
        Case("GET", "/batteries/forecast", each(rest=200), R("/batteries/forecast")),
        Case("POST", "/batteries/forecast/apply", each(anonymous="login", public=403, admin=422, planner=422,
                                                       planner_bj=404, rest=403),
             R("/batteries/forecast/apply"), lambda w, role: {"data": {"scenario_id": str(w.scenario)}}),
    ]


CASES = registry_cases() + other_cases() + battery_cases()
CASES += manifest_cases()  # #12 electronic manifests


def _key(method: str, path: str) -> tuple[str, str]:
    return method, path


def test_every_route_is_in_the_matrix():
    from resynergy.web.app import create_app

    app = create_app(make_settings("sqlite://"), migrate=False, run_worker=False)
    routes = set()
    for r in iter_route_contexts(app.routes):
        for method in r.methods or ():
            if method != "HEAD":
                routes.add(_key(method, r.path))
    covered = {_key(c.method, c.path) for c in CASES}
    assert not routes - covered, f"routes without authorization expectations: {sorted(routes - covered)}"
    assert not covered - routes, f"matrix rows for routes that no longer exist: {sorted(covered - routes)}"
    for t in REGISTRY_TABLES:  # the API resources of every table
        assert {c.path for c in CASES if c.table == t and c.path.startswith("/api/")} == {
            f"/api/v1/{t}", f"/api/v1/{t}/export", f"/api/v1/{t}/{{pk}}"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path} {c.table}".strip())
def test_authorization(world: World, case: Case):
    wrong = []
    for role in ROLES:
        extra = case.before(world, role) if case.before else {}
        url = case.url(world).format(**extra) if extra else case.url(world)
        kwargs = case.kwargs(world, role)
        headers = {**world.headers[role], **kwargs.pop("headers", {})}
        r = world.client.request(case.method, url, headers=headers, follow_redirects=False, **kwargs)
        want = case.expect[role]
        if want == "login":
            ok = r.status_code == 303 and r.headers["location"].startswith("/login")
        elif want == 303:
            ok = r.status_code == 303 and not r.headers["location"].startswith("/login")
        else:
            ok = r.status_code == want
        if not ok:
            wrong.append(f"{role}: expected {want}, got {r.status_code} {r.text[:160]!r}")
        if case.after:
            case.after(world)
    assert not wrong, f"{case.method} {url}\n" + "\n".join(wrong)


def _scoped_run(w: World, province: str) -> int:
    """A succeeded, unpublished run of a scenario covering one province."""
    with w.sessions() as db:
        snap = ScenarioSnapshot(name=f"scope-{province}-{next(_counter)}", version=1, digest="1" * 64, tables={}, province=province)
        db.add(snap)
        db.flush()
        run = Run(scenario_id=snap.id, options={"objective": "cost"}, state="succeeded", progress=1.0, objective=1.0)
        db.add(run)
        db.flush()
        summary = {"status": "optimal", "totals": {}, "headline": [], "targets": [], "years": [2022]}
        fig = json.dumps({"data": [], "layout": {}})
        db.add_all([RunResult(run_id=run.id, name="summary", kind="json", data=summary),
                    RunResult(run_id=run.id, name="figures", kind="json",
                              data={n: {"zh": fig, "en": fig} for n in ("sankey", "map")})])
        db.commit()
        return run.id


def test_published_plans_carry_their_scope(world: World):
    """A province-scoped planner publishes for its province only, beside (never over) the
    region-wide plan, which it reads but may not change; the public sees each scope's plan."""
    w, h = world, world.headers
    regional = w.runs[0]  # published, region-wide
    bj, hb = _scoped_run(w, "110000"), _scoped_run(w, "130000")
    try:
        assert w.client.post(f"/api/v1/runs/{bj}/publish", json={"published": True},
                             headers=h["planner_bj"]).json()["published"]
        assert w.client.post(f"/api/v1/runs/{hb}/publish", json={"published": True},
                             headers=h["planner_bj"]).status_code == 404  # another province: not even visible
        for published in (False, True):
            assert w.client.post(f"/api/v1/runs/{regional}/publish", json={"published": published},
                                 headers=h["planner_bj"]).status_code == 403
        assert w.client.post(f"/runs/{regional}/cancel", headers=h["planner_bj"],
                             follow_redirects=False).status_code == 403
        assert w.client.get(f"/api/v1/runs/{regional}", headers=h["planner_bj"]).json()["published"]
        page = w.client.get(f"/runs/{regional}", headers=h["planner_bj"]).text  # read-only for it
        assert 'id="run-scope"' in page and 'id="publish-run"' not in page
        assert 'id="publish-run"' in w.client.get(f"/runs/{regional}", headers=h["planner"]).text
        # the public: the region-wide plan stays the default; each scope's latest plan, labelled
        plan = w.client.get("/api/v1/public/plan").json()
        assert plan["run_id"] == regional and plan["scope"] == "" and plan["scope_name"]["en"] == "whole region"
        bj_plan = w.client.get("/api/v1/public/plan?province=110000").json()
        assert bj_plan["run_id"] == bj and bj_plan["scope_name"] == {"zh": "北京市", "en": "Beijing"}
        assert w.client.get("/api/v1/public/plan?province=130000").status_code == 404
        assert w.client.get("/api/v1/public/figures/sankey?province=110000").status_code == 200
        scopes = w.client.get("/api/v1/public/plans").json()
        assert [(p["scope"], p["run_id"]) for p in scopes] == [("", regional), ("110000", bj)]
        page = w.client.get("/").text  # in the language the client last chose
        assert ("全区域" in page or "whole region" in page) and "/?scope=110000" in page
        page = w.client.get("/?scope=110000").text
        assert 'id="plan-scope">北京市<' in page or 'id="plan-scope">Beijing<' in page
        # the province planner's list: its own province's runs and the published region-wide plan
        listed = {r["id"] for r in w.client.get("/api/v1/runs?limit=500", headers=h["planner_bj"]).json()["items"]}
        assert regional in listed and bj in listed and w.runs[1] not in listed and hb not in listed
        with w.sessions() as db:
            events = db.execute(sa.text("SELECT after FROM audit_log WHERE action = 'publish' AND object_id = :i"),
                                {"i": str(bj)}).scalars().all()
        assert events and '"110000"' in str(events[-1]).replace("'", '"')
    finally:
        w.client.post(f"/api/v1/runs/{bj}/publish", json={"published": False}, headers=h["admin"])


# ---- actual flows and the monitor (issue 12 item 6) ----------------------------------------
FLOW_CSV = b"manifest,year,from_site,to_site,material,t\nM-1,2021,cd-mine,cd-plant,tailings,10\n"  # A's sites, Hebei


def _remove_flows(w: World) -> None:
    from resynergy.store.models import ACTUAL_FLOWS

    with w.sessions() as db:
        db.execute(sa.delete(ACTUAL_FLOWS))
        db.commit()


def actuals_cases() -> list[Case]:
    R = lambda path: (lambda w: path)  # noqa: E731 - fixed URL
    upload = lambda w, role: {"files": {"file": ("flows.csv", FLOW_CSV, "text/csv")}}  # noqa: E731
    # readers: staff in their province, enterprises their own sites' flows (never a 404: a list)
    readers = each(anonymous=401, public=403, rest=200)
    # writers: the Beijing planner and organisation B may not record a flow between A's Hebei
    # sites (422, the row located); regulators and evaluators read only
    writers = lambda ok, anon: each(anonymous=anon, public=403, regulator=403, evaluator=403, admin=ok,  # noqa: E731
                                    planner=ok, ent_a=ok, planner_bj=422, ent_b=422)
    staff = each(anonymous=401, public=403, ent_a=403, ent_b=403, rest=200)
    return [
        Case("GET", "/api/v1/actual-flows", readers, R("/api/v1/actual-flows")),
        Case("POST", "/api/v1/actual-flows/import", writers(201, 401), R("/api/v1/actual-flows/import"), upload,
             after=_remove_flows),
        Case("GET", "/api/v1/monitor", staff, R("/api/v1/monitor")),
        Case("GET", "/monitor", {**staff, "anonymous": "login"}, R("/monitor")),
        Case("POST", "/monitor/import", {**writers(200, "login"), "ent_a": 403, "ent_b": 403}, R("/monitor/import"),
             upload, after=_remove_flows),
    ]


CASES.extend(actuals_cases())
# ---- #12 exchange: listings, matches, deals (services.access: listing_filter, deal_filter,
# deal_party; services.exchange.STEPS) — appended to the matrix in place so that
# test_every_route_is_in_the_matrix and test_authorization see them.
X_OFFER = {"side": "offer", "site": "cd-mine", "material": "tailings", "quantity_t": 100.0}  # A's, in Hebei


def _x_admin(w: World) -> Actor:
    return Actor(w.ids["admin"], "admin", "admin")


def _x_listing(w: World) -> int:
    from resynergy.services import exchange

    with w.sessions() as db:
        listing_id = exchange.create_listing(db, _x_admin(w), dict(X_OFFER))["id"]
        db.commit()
        return listing_id


def _x_deal(w: World, state: str) -> int:
    """A deal on a fresh offer of A, bought by B for bj-site, brought to ``state``."""
    from resynergy.services import exchange

    offer = _x_listing(w)
    with w.sessions() as db:
        deal = exchange.create_deal(db, _x_admin(w), {"offer_id": offer, "to_site": "bj-site", "quantity_t": 10.0})
        db.commit()
        for step in {"inquiry": (), "offered": ("offer",), "accepted": ("offer", "accept")}[state]:
            exchange.step(db, _x_admin(w), deal["id"], step)
        return deal["id"]


def _x_clear(w: World) -> None:
    with w.sessions() as db:
        db.execute(sa.text("DELETE FROM deals"))
        db.execute(sa.text("DELETE FROM listings"))
        db.commit()


def exchange_cases() -> list[Case]:
    R = lambda path: (lambda w: path)  # noqa: E731 - fixed URL
    listing = lambda w: "/api/v1/listings/{fresh}"  # noqa: E731
    fresh_listing = lambda w, role: {"fresh": _x_listing(w)}  # noqa: E731
    deal_in = lambda state: (lambda w, role: {"fresh": _x_deal(w, state)})  # noqa: E731
    readers = each(anonymous=401, public=403, rest=200)
    # A's listing at a Hebei site: A, the admin and unscoped staff read it; B and Beijing's planner do not see it
    read_own = lambda ok=200: each(anonymous=401, public=403, ent_b=404, planner_bj=404, rest=ok)  # noqa: E731
    write_own = lambda ok: each(anonymous=401, public=403, planner=403, planner_bj=403, regulator=403,  # noqa: E731
                                evaluator=403, ent_b=404, admin=ok, ent_a=ok)
    # deal steps: the party whose turn it is (or the admin); the other party and staff are refused
    step = lambda **ok: each(anonymous=401, public=403, **{"admin": 200, "ent_a": 403, "ent_b": 403, **ok}, rest=403)  # noqa: E731
    versioned = lambda w, role: {"headers": {"If-Match": '"1"'}, "json": {"quantity_t": 90.0}}  # noqa: E731
    return [
        Case("GET", "/api/v1/listings", readers, R("/api/v1/listings"), table="exchange"),
        Case("POST", "/api/v1/listings", each(anonymous=401, public=403, planner=403, planner_bj=403, regulator=403,
                                              evaluator=403, admin=201, ent_a=201, ent_b=422),
             R("/api/v1/listings"), lambda w, role: {"json": X_OFFER}, after=_x_clear, table="exchange"),
        Case("GET", "/api/v1/listings/aggregates", each(rest=200), R("/api/v1/listings/aggregates"), table="exchange"),
        # from the registry: each enterprise its own organisation; the admin must name one
        Case("POST", "/api/v1/listings/from-registry",
             each(anonymous=401, public=403, planner=403, planner_bj=403, regulator=403, evaluator=403, admin=422,
                  ent_a=201, ent_b=201), R("/api/v1/listings/from-registry"), lambda w, role: {"json": {}},
             after=_x_clear, table="exchange"),
        Case("GET", "/api/v1/listings/{listing_id}", read_own(), listing, before=fresh_listing, after=_x_clear,
             table="exchange"),
        Case("PATCH", "/api/v1/listings/{listing_id}", write_own(200), listing, versioned, before=fresh_listing,
             after=_x_clear, table="exchange"),
        Case("DELETE", "/api/v1/listings/{listing_id}", write_own(204), listing,
             lambda w, role: {"headers": {"If-Match": '"1"'}}, before=fresh_listing, after=_x_clear, table="exchange"),
        Case("GET", "/api/v1/listings/{listing_id}/matches", read_own(), lambda w: "/api/v1/listings/{fresh}/matches",
             before=fresh_listing, after=_x_clear, table="exchange"),
        Case("GET", "/api/v1/matches", read_own(), lambda w: "/api/v1/matches?listing={fresh}", before=fresh_listing,
             after=_x_clear, table="exchange"),
        Case("GET", "/api/v1/deals", readers, R("/api/v1/deals"), table="exchange"),
        # B inquires (201); A is the seller and must name a want (422); the admin opens an inquiry for B
        Case("POST", "/api/v1/deals", each(anonymous=401, public=403, planner=403, planner_bj=403, regulator=403,
                                           evaluator=403, admin=201, ent_a=422, ent_b=201),
             R("/api/v1/deals"), lambda w, role: {"json": {"offer_id": w.pk["x_offer"], "to_site": "bj-site",
                                                           "quantity_t": 1.0}},
             before=lambda w, role: w.pk.update(x_offer=_x_listing(w)) or {}, after=_x_clear, table="exchange"),
        # a deal from Hebei to Beijing: both parties, and staff of either province, read it
        Case("GET", "/api/v1/deals/{deal_id}", readers, lambda w: "/api/v1/deals/{fresh}", before=deal_in("inquiry"),
             after=_x_clear, table="exchange"),
        Case("POST", "/api/v1/deals/{deal_id}/offer", step(ent_a=200), lambda w: "/api/v1/deals/{fresh}/offer",
             before=deal_in("inquiry"), after=_x_clear, table="exchange"),
        Case("POST", "/api/v1/deals/{deal_id}/accept", step(ent_b=200), lambda w: "/api/v1/deals/{fresh}/accept",
             before=deal_in("offered"), after=_x_clear, table="exchange"),
        Case("POST", "/api/v1/deals/{deal_id}/decline", step(ent_a=200), lambda w: "/api/v1/deals/{fresh}/decline",
             before=deal_in("inquiry"), after=_x_clear, table="exchange"),
        Case("POST", "/api/v1/deals/{deal_id}/cancel", step(ent_a=200, ent_b=200),
             lambda w: "/api/v1/deals/{fresh}/cancel", before=deal_in("offered"), after=_x_clear, table="exchange"),
        Case("POST", "/api/v1/deals/{deal_id}/complete", step(ent_a=200, ent_b=200),
             lambda w: "/api/v1/deals/{fresh}/complete", before=deal_in("accepted"), after=_x_clear, table="exchange"),
    ] + exchange_page_cases()


def _x_pair(w: World) -> dict:
    """A's fresh offer and B's fresh want (tailings accepted) at bj-site, by the admin."""
    from resynergy.services import exchange

    offer = _x_listing(w)
    with w.sessions() as db:
        want = exchange.create_listing(db, _x_admin(w), {"side": "want", "site": "bj-site", "quantity_t": 50.0,
                                                          "material": "manufactured_sand", "accepts": "tailings"})
        db.commit()
    return {"offer": offer, "want": want["id"]}


def exchange_page_cases() -> list[Case]:
    R = lambda path: (lambda w: path)  # noqa: E731 - fixed URL
    fresh_listing = lambda w, role: {"fresh": _x_listing(w)}  # noqa: E731
    readers = each(anonymous="login", public=403, rest=200)
    writers = lambda ok, other: each(anonymous="login", public=403, planner=403, planner_bj=403, regulator=403,  # noqa: E731
                                     evaluator=403, admin=ok, ent_a=ok, ent_b=other)
    form = {k: str(v) for k, v in X_OFFER.items()}
    return [
        Case("GET", "/exchange", readers, R("/exchange"), table="exchange"),
        Case("GET", "/exchange/summary", each(rest=200), R("/exchange/summary"), table="exchange"),
        Case("POST", "/exchange/listings", writers(303, 422), R("/exchange/listings"),
             lambda w, role: {"data": form}, after=_x_clear, table="exchange"),
        Case("POST", "/exchange/from-registry", each(anonymous="login", ent_a=303, ent_b=303, rest=403),
             R("/exchange/from-registry"), after=_x_clear, table="exchange"),
        Case("POST", "/exchange/listings/{listing_id}/active", writers(303, 404),
             lambda w: "/exchange/listings/{fresh}/active", lambda w, role: {"data": {"active": "false", "row_version": "1"}},
             before=fresh_listing, after=_x_clear, table="exchange"),
        Case("GET", "/exchange/listings/{listing_id}",
             each(anonymous="login", public=403, ent_b=404, planner_bj=404, rest=200),
             lambda w: "/exchange/listings/{fresh}", before=fresh_listing, after=_x_clear, table="exchange"),
        # from B's want (which A does not see) to A's offer: B and the admin open an inquiry
        Case("POST", "/exchange/deals", writers(303, 303) | {"ent_a": 404}, R("/exchange/deals"),
             lambda w, role: {"data": {"listing": str(w.pk["x_want"]), "counterpart": str(w.pk["x_offer2"]),
                                       "quantity_t": "5"}},
             before=lambda w, role: w.pk.update({f"x_{k}" + ("2" if k == "offer" else ""): v
                                                 for k, v in _x_pair(w).items()}) or {},
             after=_x_clear, table="exchange"),
        Case("GET", "/exchange/deals", readers, R("/exchange/deals"), table="exchange"),
        Case("POST", "/exchange/deals/{deal_id}/{step}",
             each(anonymous="login", public=403, admin=303, ent_a=303, rest=403),
             lambda w: "/exchange/deals/{fresh}/offer", before=lambda w, role: {"fresh": _x_deal(w, "inquiry")},
             after=_x_clear, table="exchange"),
    ]


CASES.extend(exchange_cases())


# ---- #12 leftovers (followup): cancelling an ACCEPTED deal releases its reservation (either
# party or the admin; staff are not parties)
CASES.append(Case("POST", "/api/v1/deals/{deal_id}/cancel",
                  each(anonymous=401, public=403, admin=200, ent_a=200, ent_b=200, rest=403),
                  lambda w: "/api/v1/deals/{fresh}/cancel", before=lambda w, role: {"fresh": _x_deal(w, "accepted")},
                  after=_x_clear, table="exchange accepted"))


# ---- #12 leftovers (followup): enterprise-filed cross-province transfer requests (跨省转移商请).
# A (Chengde, Hebei) files for itself; B is registered in Beijing, so its Hebei-origin request is
# a 422; the admin files naming A. The origin province's regulator (here the unscoped one) and the
# admin decide; everyone else is refused.
TR_REQUEST = {"origin_province": "130000", "dest_province": "110000", "generator_org": ORG_A,
              "receiver_org": "91110000MA0B00000X", "material": "tailings", "quantity_kg": 1000,
              "valid_from": "2022-01-01", "valid_to": "2022-12-31"}


def _tr_pending(w: World) -> int:
    from resynergy.services import manifests

    with w.sessions() as db:
        out = manifests.request_approval(db, Actor(w.ids["ent_a"], "ent_a", "enterprise", ORG_A), dict(TR_REQUEST))
        db.commit()
    return out["id"]


def _tr_clear(w: World) -> None:
    with w.sessions() as db:
        db.execute(sa.text("DELETE FROM transfer_approvals"))
        db.commit()


def transfer_request_cases() -> list[Case]:
    deciders = lambda ok, anonymous: each(anonymous=anonymous, admin=ok, regulator=ok, rest=403)  # noqa: E731
    pending = lambda w, role: {"fresh": _tr_pending(w)}  # noqa: E731
    return [
        Case("POST", "/api/v1/transfer-approvals/requests",
             each(anonymous=401, admin=201, ent_a=201, ent_b=422, rest=403),
             lambda w: "/api/v1/transfer-approvals/requests", lambda w, role: {"json": dict(TR_REQUEST)},
             after=_tr_clear, table="transfer requests"),
        Case("POST", "/api/v1/transfer-approvals/{approval_id}/decision", deciders(200, 401),
             lambda w: "/api/v1/transfer-approvals/{fresh}/decision",
             lambda w, role: {"headers": {"If-Match": '"1"'}, "json": {"decision": "approve"}},
             before=pending, after=_tr_clear, table="transfer requests"),
        Case("POST", "/manifests/transfer-requests",
             each(anonymous="login", admin=422, ent_a=303, ent_b=422, rest=403),  # the form names no generator
             lambda w: "/manifests/transfer-requests",
             lambda w, role: {"data": {"kind": "approval", **{k: str(v) for k, v in TR_REQUEST.items()
                                                               if k != "generator_org"}}},
             after=_tr_clear, table="transfer requests"),
        Case("POST", "/alerts/transfer-requests/{approval_id}", deciders(303, "login"),
             lambda w: "/alerts/transfer-requests/{fresh}",
             lambda w, role: {"data": {"decision": "refuse", "reason": "接受人资质不符", "row_version": "1"}},
             before=pending, after=_tr_clear, table="transfer requests"),
    ]


CASES.extend(transfer_request_cases())


# ---- #13 enterprise evaluation: organisation A (Chengde, Hebei) applies; the unscoped
# "evaluator" is listed for Hebei and chosen; B and the Beijing planner are the other organisation
# and province. Drafts are the firm's alone; the evaluator sees what was sent to it; departments
# (admin, planner, regulator) see their province's from approval on and every province's once
# filed (mutual recognition); the public reads the published list only.
_EV_FILE: dict[str, bytes] = {}


def _ev_actors(w: World) -> tuple[Actor, Actor, Actor]:
    return (Actor(w.ids["admin"], "admin", "admin"), Actor(w.ids["ent_a"], "ent_a", "enterprise", ORG_A),
            Actor(w.ids["evaluator"], "evaluator", "evaluator"))


def _ev_ledger(w: World) -> int:
    """A's ledger (and the evaluator listed for Hebei)."""
    from resynergy.services import evaluation
    from resynergy.store.models import EvaluatorListing
    from support.evaluation_platform import ledger_xlsx

    admin, firm, _ = _ev_actors(w)
    if "ledger" not in _EV_FILE:
        _EV_FILE["ledger"] = ledger_xlsx()
    with w.sessions() as db:
        if db.scalar(sa.select(EvaluatorListing.id).where(EvaluatorListing.user_id == w.ids["evaluator"])) is None:
            evaluation.list_evaluator(db, admin, province="130000", username="evaluator")
        out = evaluation.upload_ledger(db, firm, _EV_FILE["ledger"], "台账.xlsx")
        db.commit()
    return out["id"]


def _ev(w: World, state: str = "draft", evidence: bool = False) -> dict:
    """A fresh evaluation of A in ``state`` (its version kept for If-Match); {fresh, file} for URLs."""
    from resynergy.services import evaluation

    admin, firm, reviewer = _ev_actors(w)
    ledger = _ev_ledger(w)
    with w.sessions() as db:
        ev = evaluation.create(db, firm, {"period": "2022Q1", "ledger_id": ledger, "evaluator_id": w.ids["evaluator"]})
        file_id = 0
        if evidence:
            file_id = evaluation.add_evidence(db, firm, ev["id"], b"%PDF-1.4\n%%EOF\n", "单据.pdf")["id"]
        for action, who in (("submit", firm), ("approve", reviewer), ("file", firm), ("publish", admin)):
            if ev["state"] == state:
                break
            ev = evaluation.transition(db, who, ev["id"], action, ev["row_version"], filed_with="承德市工业和信息化局")
        db.commit()
    w.ev_version = ev["row_version"]  # type: ignore[attr-defined]
    return {"fresh": ev["id"], "file": file_id}


def _ev_clear(w: World) -> None:
    with w.sessions() as db:
        for table in ("evaluation_events", "evaluation_evidence"):
            db.execute(sa.text(f"DELETE FROM {table}"))
        db.execute(sa.text("UPDATE evaluations SET previous_id = NULL"))
        for table in ("evaluations", "ledgers", "evaluator_listings"):
            db.execute(sa.text(f"DELETE FROM {table}"))
        db.commit()


def evaluation_cases() -> list[Case]:
    R = lambda path: (lambda w: path)  # noqa: E731 - fixed URL
    fresh = lambda state, evidence=False: (lambda w, role: _ev(w, state, evidence))  # noqa: E731
    versioned = lambda **body: (lambda w, role: {"headers": {"If-Match": f'"{w.ev_version}"'}, "json": body})  # noqa: E731
    signed = each(anonymous=401, public=403, rest=200)
    # an approved evaluation of A: A, the evaluator it chose, the admin and unscoped departments
    read = each(anonymous=401, public=403, ent_b=404, planner_bj=404, rest=200)
    page_read = {**read, "anonymous": "login"}
    # a draft: the firm (and the admin) alone; to everyone else it does not exist
    firm = lambda ok, anon=401: each(anonymous=anon, public=403, admin=ok, ent_a=ok, rest=404)  # noqa: E731
    departments = lambda ok, anon=401: each(anonymous=anon, public=403, admin=ok, planner=ok, planner_bj=ok,  # noqa: E731
                                            regulator=ok, rest=403)
    # a firm's own write: A and the admin (naming A); B is refused with a located 422; staff 403
    writes = lambda ok, anon=401: each(anonymous=anon, public=403, admin=ok, ent_a=ok, ent_b=422, rest=403)  # noqa: E731
    admin_org = lambda role: {"org_uscc": ORG_A} if role == "admin" else {}  # noqa: E731
    upload = lambda w, role: {"files": {"file": ("台账.xlsx", _EV_FILE.get("ledger") or _ev_ledger_bytes())},  # noqa: E731
                              "data": admin_org(role)}
    new = lambda w, role: {"json": {"period": "2022Q1", "ledger_id": w.pk["ev_ledger"], **admin_org(role)}}  # noqa: E731
    new_form = lambda w, role: {"data": {"period": "2022Q1", "ledger_id": str(w.pk["ev_ledger"]), **admin_org(role)}}  # noqa: E731
    keep_ledger = lambda w, role: w.pk.update(ev_ledger=_ev_ledger(w)) or {}  # noqa: E731
    evidence = lambda w, role: {"files": {"file": ("单据.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}}  # noqa: E731
    base = "/api/v1/evaluations/{fresh}"
    cases = [
        Case("GET", "/api/v1/ledgers", signed, R("/api/v1/ledgers")),
        Case("POST", "/api/v1/ledgers", writes(201), R("/api/v1/ledgers"), upload),
        Case("POST", "/api/v1/ledgers/from-flows", each(anonymous=401, public=403, admin=422, ent_a=422, ent_b=422,
                                                        rest=403), R("/api/v1/ledgers/from-flows"),
             lambda w, role: {"json": {}}),
        Case("GET", "/api/v1/ledgers/{ledger_id}", read, R("/api/v1/ledgers/{ledger}"),
             before=lambda w, role: {"ledger": _ev_ledger(w), **_ev(w, "submitted")}),
        Case("GET", "/api/v1/evaluators", signed, R("/api/v1/evaluators")),
        Case("POST", "/api/v1/evaluators", each(anonymous=401, admin=201, regulator=201, rest=403), R("/api/v1/evaluators"),
             lambda w, role: {"json": {"username": "evaluator", "province": "130000"}}),
        Case("GET", "/api/v1/evaluations/published", each(rest=200), R("/api/v1/evaluations/published"),
             before=fresh("published")),
        Case("GET", "/api/v1/evaluations/regional", departments(200), R("/api/v1/evaluations/regional"),
             before=fresh("approved")),
        Case("GET", "/api/v1/evaluations/regional.xlsx", departments(200), R("/api/v1/evaluations/regional.xlsx"),
             before=fresh("filed")),
        Case("GET", "/api/v1/evaluations", signed, R("/api/v1/evaluations"), before=fresh("approved")),
        Case("POST", "/api/v1/evaluations", writes(201), R("/api/v1/evaluations"), new, before=keep_ledger),
        Case("GET", "/api/v1/evaluations/{evaluation_id}", read, R(base), before=fresh("approved")),
        Case("PATCH", "/api/v1/evaluations/{evaluation_id}", firm(200), R(base), versioned(products=[]),
             before=fresh("draft")),
        Case("POST", "/api/v1/evaluations/{evaluation_id}/transitions", firm(200), R(base + "/transitions"),
             versioned(action="submit"), before=fresh("draft")),
        Case("GET", "/api/v1/evaluations/{evaluation_id}/checks", read, R(base + "/checks"), before=fresh("approved")),
        Case("GET", "/api/v1/evaluations/{evaluation_id}/report", read, R(base + "/report"), before=fresh("approved")),
        Case("POST", "/api/v1/evaluations/{evaluation_id}/evidence", firm(201), R(base + "/evidence"), evidence,
             before=fresh("draft")),
        Case("GET", "/api/v1/evaluations/{evaluation_id}/evidence/{evidence_id}", read, R(base + "/evidence/{file}"),
             before=fresh("approved", True)),
        Case("DELETE", "/api/v1/evaluations/{evaluation_id}/evidence/{evidence_id}", firm(204),
             R(base + "/evidence/{file}"), before=fresh("draft", True)),
        Case("GET", "/api/v1/eligibility", read, R("/api/v1/eligibility?evaluation={fresh}"), before=fresh("approved")),
        # pages
        Case("GET", "/evaluations", each(anonymous="login", public=403, rest=200), R("/evaluations"),
             before=fresh("approved")),
        Case("POST", "/evaluations", writes(303, "login"), R("/evaluations"), new_form, before=keep_ledger),
        Case("POST", "/evaluations/ledgers", writes(303, "login"), R("/evaluations/ledgers"), upload),
        Case("POST", "/evaluations/ledgers/from-flows", each(anonymous="login", public=403, admin=422, ent_a=422,
                                                             ent_b=422, rest=403), R("/evaluations/ledgers/from-flows")),
        Case("POST", "/evaluations/evaluators", each(anonymous="login", admin=303, regulator=303, rest=403),
             R("/evaluations/evaluators"), lambda w, role: {"data": {"username": "evaluator", "province": "130000"}}),
        Case("GET", "/evaluations/regional", departments(200, "login"), R("/evaluations/regional"),
             before=fresh("filed")),
        Case("GET", "/evaluations/published", each(rest=200), R("/evaluations/published"), before=fresh("published")),
        Case("GET", "/evaluations/{evaluation_id}", page_read, R("/evaluations/{fresh}"), before=fresh("approved")),
        Case("POST", "/evaluations/{evaluation_id}", firm(303, "login"), R("/evaluations/{fresh}"),
             lambda w, role: {"data": {"row_version": str(w.ev_version), "products": ""}}, before=fresh("draft")),
        Case("POST", "/evaluations/{evaluation_id}/transitions", firm(303, "login"), R("/evaluations/{fresh}/transitions"),
             lambda w, role: {"data": {"row_version": str(w.ev_version), "action": "submit"}}, before=fresh("draft")),
        Case("POST", "/evaluations/{evaluation_id}/evidence", firm(303, "login"), R("/evaluations/{fresh}/evidence"),
             evidence, before=fresh("draft")),
    ]
    for case in cases:
        case.after, case.table = _ev_clear, case.table or "evaluation"
    # the steps after submission, each by whom it belongs to
    steps = [
        ("approve", "submitted", each(anonymous=401, public=403, admin=200, evaluator=200, ent_a=403, rest=404)),
        ("request_corrections", "submitted", each(anonymous=401, public=403, admin=200, evaluator=200, ent_a=403,
                                                  rest=404)),
        ("file", "approved", each(anonymous=401, public=403, admin=200, evaluator=200, ent_a=200, planner=403,
                                  regulator=403, rest=404)),
        ("publish", "filed", each(anonymous=401, public=403, admin=200, planner=200, regulator=200, ent_b=404,
                                  rest=403)),
        ("revise", "approved", each(anonymous=401, public=403, admin=200, ent_a=200, evaluator=403, planner=403,
                                    regulator=403, rest=404)),
    ]
    for action, state, expect in steps:
        cases.append(Case("POST", "/api/v1/evaluations/{evaluation_id}/transitions", expect, R(base + "/transitions"),
                          versioned(action=action, message="请补正", filed_with="承德市工业和信息化局"),
                          before=fresh(state), after=_ev_clear, table=f"evaluation {action}"))
    return cases


def _ev_ledger_bytes() -> bytes:
    from support.evaluation_platform import ledger_xlsx

    _EV_FILE["ledger"] = ledger_xlsx()
    return _EV_FILE["ledger"]


CASES.extend(evaluation_cases())
CASES.append(Case("GET", "/api/v1/ledgers/template.xlsx", each(anonymous=401, public=403, rest=200),
                  lambda w: "/api/v1/ledgers/template.xlsx", table="evaluation"))  # #13 the ledger template
CASES.append(Case("POST", "/evaluations/{evaluation_id}/evidence/{evidence_id}/delete",  # #13 remove a file
                  each(anonymous="login", public=403, admin=303, ent_a=303, rest=404),
                  lambda w: "/evaluations/{fresh}/evidence/{file}/delete", before=lambda w, role: _ev(w, "draft", True),
                  after=_ev_clear, table="evaluation"))
