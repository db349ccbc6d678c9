"""The registry grid as an official uses it (#10 item 11): names next to codes (site, material,
region), search by Chinese names (钢渣 finds steel_slag rows), sort by a column, a year filter,
references picked from lists of names, errors shown at their field; an enterprise lands on its
own records and sees where the published plan sends its waste."""

from __future__ import annotations

import re

import pytest

from conftest import PASSWORD
from resynergy.services import registry
from resynergy.services.access import Actor
from resynergy.services.registry import Change
from resynergy.store.models import Run, RunResult, ScenarioSnapshot
from support.platform import sign_in


@pytest.fixture
def grid(app, users):
    """The small registry plus a steel-slag supply in 2030 at the Chengde mine."""
    with app.state.platform.sessions() as db:
        registry.apply(db, Actor(users.ids["admin"], "admin", "admin"), [Change("supplies", "upsert", {
            "site": "cd-mine", "material": "steel_slag", "year": 2030, "generation_t": 5_000.0, "source": "test"})])
        db.commit()
    return app


def rows_of(page: str) -> list[str]:
    body = page.split('<table class="data" id="rows">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)


def test_search_by_chinese_names_sort_and_year(grid, client, users):
    assert sign_in(client, "planner").status_code == 303
    slag = client.get("/registry/supplies?q=钢渣").text
    assert len(rows_of(slag)) == 1 and "steel_slag" in rows_of(slag)[0]
    # a site's Chinese name finds the rows at that site; the page shows names beside the codes
    by_site = rows_of(client.get("/registry/supplies?q=承德尾矿库").text)
    assert len(by_site) == 2 and all("承德尾矿库" in r and "<code>cd-mine</code>" in r for r in by_site)
    assert any("钢渣" in r for r in by_site) and any("尾矿" in r for r in by_site)
    sites = client.get("/registry/sites").text
    assert "承德市" in sites and "承德矿业" in sites  # region and organisation by name
    # the year filter
    assert len(rows_of(client.get("/registry/supplies?year=2030").text)) == 1
    assert len(rows_of(client.get("/registry/supplies?year=2022").text)) == 1
    assert client.get("/registry/supplies?year=20x").status_code == 422
    # sorting by a column, both ways; the header links keep the filters
    up = [re.search(r"<code>([\w-]+)</code>", r).group(1) for r in rows_of(client.get("/registry/sites?sort=id").text)]
    down = [re.search(r"<code>([\w-]+)</code>", r).group(1)
            for r in rows_of(client.get("/registry/sites?sort=id&desc=true").text)]
    assert up == sorted(up) and down == sorted(up, reverse=True) and len(up) >= 3
    page = client.get("/registry/supplies?year=2030&sort=generation_t").text
    assert 'aria-sort="ascending"' in page and "year=2030" in page.split('aria-sort="ascending"', 1)[1][:400]
    assert client.get("/registry/sites?sort=no_such_column").status_code == 200  # ignored, never a 500


def test_the_edit_form_offers_references_by_name_and_marks_the_bad_field(grid, client, users):
    assert sign_in(client, "planner").status_code == 303
    form = client.get("/registry/supplies/new").text
    site = form.split('<select name="site" class="ref"', 1)[1].split("</select>", 1)[0]
    assert "承德尾矿库 · cd-mine" in site and "北京搅拌站 · bj-site" in site
    material = form.split('<select name="material" class="ref"', 1)[1].split("</select>", 1)[0]
    assert "钢渣 · steel_slag" in material
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post("/registry/supplies/new", data={"csrf_token": csrf, "site": "cd-mine", "material": "fly_ash",
                                                     "year": "2031", "generation_t": "很多", "source": "test"})
    assert r.status_code == 422
    field = r.text.split('name="generation_t"', 1)[1].split("</label>", 1)[0]
    assert 'aria-invalid="true"' in field and 'id="err-generation_t"' in field
    assert "应为数字" in field.split('id="err-generation_t"', 1)[1]
    assert 'id="err-site"' not in r.text  # only the bad field is marked
    targets = client.get("/registry/targets/new").text
    kind = targets.split('<select name="kind"', 1)[1].split("</select>", 1)[0]
    assert "约束性 (hard)" in kind  # choices in words


def test_an_enterprise_lands_on_its_records_and_sees_where_the_plan_sends_its_waste(grid, client, users):
    with grid.state.platform.sessions() as db:
        snap = ScenarioSnapshot(name="pub", version=1, digest="3" * 64, tables={}, province="")
        db.add(snap)
        db.flush()
        run = Run(scenario_id=snap.id, title="京津冀规划", options={"objective": "cost"}, state="succeeded",
                  progress=1.0, objective=1.0, published=True)
        db.add(run)
        db.flush()
        flows = [{"year": 2022, "from_site": "cd-mine", "to_site": "cd-plant", "material": "tailings", "mode": "road",
                  "t": 600_000.0},
                 {"year": 2022, "from_site": "cd-plant", "to_site": "bj-site", "material": "manufactured_sand",
                  "mode": "road", "t": 200_000.0},
                 {"year": 2022, "from_site": "other", "to_site": "bj-site", "material": "tailings", "mode": "road",
                  "t": 1.0}]
        db.add_all([RunResult(run_id=run.id, name="flows", kind="table", data=flows),
                    RunResult(run_id=run.id, name="summary", kind="json", data={"status": "optimal"})])
        db.commit()
    page = client.get("/login")
    token = re.search(r'id="login-csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "ent_a", "password": PASSWORD, "csrf_token": token, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/enterprise"
    own = client.get("/enterprise").text
    table = own.split('id="own-flows"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)
    assert len(rows) == 2  # the flows out of its own two sites, largest first; nobody else's
    assert "承德尾矿库" in rows[0] and "尾矿" in rows[0] and "承德砂石厂" in rows[0] and "60.00 万吨" in rows[0]
    assert "北京搅拌站" in rows[1] and "北京市" in rows[1]
    assert "京津冀规划" in own
