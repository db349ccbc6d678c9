"""Server-rendered pages: sign-in, zh-CN default with an English switch, registry browse/edit with
located errors, enterprise view, scenarios and runs, admin, error pages, offline assets."""

from __future__ import annotations

import re

import pytest

from support.platform import csrf


@pytest.fixture
def planner(sqlite_app, client_for):
    return client_for("planner")


PAGES = ["/", "/registry", "/registry/sites", "/registry/supplies?q=tailings", "/import", "/runs", "/admin/users",
         "/admin/audit", "/login"]


def test_chinese_by_default_english_on_request(client_for):
    c = client_for("admin")
    page = c.get("/registry").text
    assert '<html lang="zh-CN">' in page and "登记库" in page and "站点" in page
    r = c.get("/lang/en?next=/registry", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/registry"
    page = c.get("/registry").text
    assert '<html lang="en">' in page and "Registry" in page and "Sites" in page and "登记库" not in page
    assert c.get("/lang/en?next=//evil.example/x", follow_redirects=False).headers["location"] == "/"


def test_pages_load_nothing_from_outside(client_for):
    c = client_for("admin")
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 200, path
        assert not re.search(r"""(src|href|action)=["'](https?:)?//""", r.text), path
    for asset in ("/static/app.js", "/static/app.css", "/static/vendor/plotly.min.js"):
        assert c.get(asset).status_code == 200
    assert "@media print" in c.get("/static/app.css").text


def test_anonymous_is_sent_to_sign_in_and_sees_the_public_note(client_for):
    c = client_for(None)
    r = c.get("/registry", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/registry"
    page = c.get("/").text
    assert 'id="no-plan"' in page and "load-builtin" not in page


def test_edit_form_saves_and_reports_errors_where_they_are(client_for):
    c = client_for("planner")
    page = c.get("/registry/supplies").text
    assert "cd-mine" in page and "1000000" in page
    pk = re.search(r'href="/registry/supplies/(\d+)"', page).group(1)
    form = c.get(f"/registry/supplies/{pk}").text
    values = dict(re.findall(r'<input name="([a-z_]+)" value="([^"]*)"', form))
    # references are picked from lists of names: the selected option is the stored code
    values.update(re.findall(r'<select name="([a-z_]+)"[^>]*>(?:(?!</select>).)*?<option value="([^"]*)" selected',
                             form, flags=re.S))
    assert values["site"] == "cd-mine"
    values.update({"csrf_token": csrf(form), "must_use": "false", "material": "tailings", "generation_t": "-3",
                   "row_version": re.search(r'name="row_version" value="(\d+)"', form).group(1)})
    r = c.post(f"/registry/supplies/{pk}", data=values)
    assert r.status_code == 422 and "应不小于 0" in r.text and "generation_t" in r.text
    values["generation_t"] = "1200000"
    r = c.post(f"/registry/supplies/{pk}", data=values, follow_redirects=False)
    assert r.status_code == 303
    assert "1200000" in c.get("/registry/supplies").text


def test_new_record_and_delete_with_references_refused(client_for):
    c = client_for("admin")
    form = c.get("/registry/sites/new").text
    data = {"csrf_token": csrf(form), "id": "ts-yard", "name_zh": "唐山货场", "name_en": "Tangshan yard",
            "org_uscc": "", "region": "130800", "lat": "39.6", "lon": "118.2", "roles": "terminal",
            "designation": "", "source": "test"}
    r = c.post("/registry/sites/new", data=data, follow_redirects=False)
    assert r.status_code == 303
    page = c.get("/registry/sites?q=cd-mine").text
    pk = re.search(r'href="/registry/sites/(\d+)"', page).group(1)
    r = c.post(f"/registry/sites/{pk}/delete", data={"csrf_token": csrf(page)})
    assert r.status_code == 409 and "site=cd-mine" in r.text  # the supply that references it
    data["id"] = "ts-yard-2"
    data["lat"] = "70"
    r = c.post("/registry/sites/new", data=data)
    assert r.status_code == 422 and "坐标不在中国境内" in r.text


def test_forms_without_the_session_token_are_refused(client_for):
    c = client_for("admin")
    r = c.post("/admin/users", data={"username": "x123", "password": "a long passphrase", "role": "planner"})
    assert r.status_code == 403 and "表单已过期" in r.text


def test_enterprise_page_shows_only_own_records(client_for):
    c = client_for("ent_b")
    page = c.get("/enterprise").text
    assert "bj-site" in page and "cd-mine" not in page
    assert c.get("/runs").status_code == 403


def test_admin_creates_users_and_sees_the_audit_log(client_for):
    c = client_for("admin")
    page = c.get("/admin/users").text
    r = c.post("/admin/users", data={"csrf_token": csrf(page), "username": "hb1", "password": "short",
                                     "role": "planner"})
    assert r.status_code == 422 and "密码长度" in r.text
    r = c.post("/admin/users", data={"csrf_token": csrf(page), "username": "hb_planner",
                                     "password": "a long passphrase 2024", "role": "planner", "province": "130000"},
               follow_redirects=False)
    assert r.status_code == 303
    audit = c.get("/admin/audit?action=user_create").text
    assert "hb_planner" in audit


def test_snapshot_submit_and_cancel_from_the_pages(client_for):
    c = client_for("planner")
    page = c.get("/runs").text
    r = c.post("/scenarios", data={"csrf_token": csrf(page), "name": "base"}, follow_redirects=False)
    assert r.status_code == 303 and "snapshot_created" in r.headers["location"]
    page = c.get("/runs").text
    assert "base" in page and "v1" in page
    sid = re.search(r'<option value="(\d+)">base v1', page).group(1)
    r = c.post("/runs", data={"csrf_token": csrf(page), "scenario_id": sid, "objective": "cost", "years": "2022",
                              "carbon_price": "50", "time_limit_s": "30"}, follow_redirects=False)
    assert r.status_code == 303
    run_page = c.get(r.headers["location"]).text
    assert "排队中" in run_page and 'data-state="queued"' in run_page
    # the run's parameters in words: objective, years, carbon price, time limit
    params = re.search(r'id="run-params">([^<]*)<', run_page).group(1)
    assert "总费用最低" in params and "2022 年" in params and "碳价（元/吨CO₂） 50" in params and "30" in params
    run_id = r.headers["location"].rsplit("/", 1)[1]
    r = c.post(f"/runs/{run_id}/cancel", data={"csrf_token": csrf(run_page)})
    assert "已取消" in r.text
    # the same registry snapshots to the same version
    r = c.post("/scenarios", data={"csrf_token": csrf(page), "name": "base"}, follow_redirects=False)
    assert "snapshot_unchanged" in r.headers["location"]


def test_error_pages(client_for):
    c = client_for("regulator")
    r = c.get("/registry/sites/99999")
    assert r.status_code == 404 and "不存在" in r.text
    assert c.get("/admin/users").status_code == 403
    assert c.get("/registry/nonsense").status_code == 404
