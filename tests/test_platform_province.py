"""Province planners and the platform's feedback in real headless Chromium (Debian package, via
Playwright; every request must stay on the test server): the built-in load runs in the
background with a progress bar and completes; a province-scoped planner reads the published
region-wide plan read-only, its own province's targets first, and cannot replace it; compare
shows B − A with a non-zero rail share where the plans differ. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from resynergy.scenario import Scenario
from resynergy.services.access import Actor
from resynergy.store.models import Run, RunResult, ScenarioSnapshot
from support.platform import PASSWORD, LiveServer, local_page, make_settings, seed

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template):
    from resynergy.web.app import create_app

    path = tmp_path_factory.mktemp("province") / "p.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}"), migrate=False, run_worker=True)
    seed(app, tables={})  # users only: the registry starts empty
    p = app.state.platform
    with p.sessions() as db:  # a Hebei planner besides the conftest roles
        p.accounts.create_user(db, Actor(None, "test", "admin"), "planner_hb", PASSWORD, "planner", "", "130000")
        db.commit()
    with LiveServer(app) as live:
        live.app = app
        yield live


@pytest.fixture
def page(browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    messages: list[str] = []  # every confirmation asked, accepted
    # a refused publish answers 403 on purpose: Chromium logs that status as a console error
    with local_page(browser, server.url, expected_status=403,
                    on_dialog=lambda d: (messages.append(d.message), d.accept())) as page:
        page.dialog_messages = messages
        yield page


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _quantity(key, kind, unit, zh, en, value):
    return {"key": key, "kind": kind, "unit": unit, "name_zh": zh, "name_en": en, "value": value}


TARGETS = [  # one region-wide target and one for Hebei, as the report's targets table holds them
    {"id": "jjj-isw", "indicator": "isw_utilized", "region": "", "year": 2022, "value": 9.0e8, "target": 1.0e9,
     "unit": "t", "attainment": 0.9, "status": "missed", "name_zh": "京津冀工业固废综合利用量",
     "name_en": "JJJ industrial solid waste utilized"},
    {"id": "hebei-isw", "indicator": "isw_utilized", "region": "130000", "year": 2022, "value": 6.2e8,
     "target": 6.0e8, "unit": "t", "attainment": 1.0, "status": "met", "name_zh": "河北工业固废综合利用量",
     "name_en": "Hebei industrial solid waste utilized"},
]


def stored_run(app, title: str, rail_share: float, published: bool = False, province: str = "") -> int:
    """A succeeded run whose stored summary has the shape ``services.plans.stored_results`` writes."""
    summary = {"status": "optimal", "objective": 1.0e9, "totals": {}, "years": [2022], "targets": TARGETS,
               "headline": [], "provinces": [
                   {"indicator": "rail_share", "province": "130000", "name_zh": "河北省", "name_en": "Hebei",
                    "year": 2022, "value": rail_share, "unit": "share"}],
               "quantities": [
                   _quantity("status", "status", "", "求解状态", "status", "optimal"),
                   _quantity("objective", "total", "yuan", "目标函数值", "objective", 1.0e9 / rail_share / 40),
                   _quantity("indicator.rail_share.2022", "indicator", "share", "铁路运输占比（吨公里）（2022）",
                             "Rail share of tonne-km (2022)", rail_share),
                   *[_quantity(f"target.{t['id']}", "attainment", "share", f"目标完成率：{t['name_zh']}",
                               f"attainment: {t['name_en']}", t["attainment"]) for t in TARGETS]]}
    fig = json.dumps({"data": [], "layout": {}})
    with app.state.platform.sessions() as db:
        snap = ScenarioSnapshot(name=f"{title}-{province or 'all'}", version=1, digest="2" * 64, tables={},
                                province=province)
        db.add(snap)
        db.flush()
        run = Run(scenario_id=snap.id, title=title, options={"objective": "cost", "years": [2022],
                                                              "policies": {"carbon_price": 100.0}},
                  state="succeeded", progress=1.0, stage="done", objective=1.0e9, published=published)
        db.add(run)
        db.flush()
        db.add_all([RunResult(run_id=run.id, name="summary", kind="json", data=summary),
                    RunResult(run_id=run.id, name="figures", kind="json",
                              data={n: {"zh": fig, "en": fig} for n in
                                    ("map", "sankey", "attainment", "trajectory", "costs", "co2")})])
        db.commit()
        return run.id


def test_the_builtin_load_shows_progress_and_completes(page, server):
    base = server.url
    sign_in(page, base, "planner")
    page.click("#load-builtin")
    page.wait_for_url("**/builtin/*")
    box = page.locator("#load-status")
    assert box.get_attribute("data-state") in ("queued", "running", "succeeded")
    assert page.locator("#load-status [role=progressbar]").count() == 1
    if box.get_attribute("data-state") != "succeeded":
        assert page.locator("#load-status .spinner").count() == 1  # something visibly happens
        shot(page, "province-01-load-progress")
    page.wait_for_selector('#load-status[data-state="succeeded"]', timeout=300_000)
    n_sites = len(Scenario.from_builtin("jjj-2022").table("sites"))
    counts = page.locator("#load-counts").inner_text()
    assert "站点" in counts and str(n_sites) in counts
    assert page.locator("#load-bar").get_attribute("style").replace(" ", "") == "width:100%"
    shot(page, "province-02-load-done")
    page.click("#load-status a.button")
    page.wait_for_url("**/registry?msg=builtin_loaded")

    # the run form checks years against the chosen scenario before anything is sent
    page.goto(f"{base}/runs")
    page.fill("#snapshot-form input[name=name]", "京津冀 2022")
    page.click("#snapshot-form button[type=submit]")
    page.wait_for_selector(".flash")
    runs_before, url = page.locator("#runs tbody tr").count(), page.url
    page.fill("#run-form input[name=years]", "2019")
    page.click("#run-form button[type=submit]")
    error = page.locator("#years-error")
    error.wait_for(state="visible")
    assert "2019" in error.inner_text() and "2020、2021、2022" in error.inner_text()
    assert page.url == url and page.locator("#run-form input[name=years]").get_attribute("aria-invalid") == "true"
    page.fill("#run-form input[name=years]", "2022，2022")
    page.click("#run-form button[type=submit]")
    assert "重复" in error.inner_text()
    shot(page, "province-02b-year-check")
    page.reload()
    assert page.locator("#runs tbody tr").count() == runs_before  # nothing was submitted


def test_a_province_planner_reads_the_regional_plan_and_cannot_replace_it(page, server):
    base, app = server.url, server.app
    regional = stored_run(app, "京津冀全区域规划", 0.028, published=True)
    sign_in(page, base, "planner_hb")
    page.goto(f"{base}/runs/{regional}")
    assert page.locator("#run-scope").inner_text() == "全区域"
    assert page.locator("#read-only").is_visible()
    assert page.locator("#publish-run").count() == 0 and page.locator("#cancel-run").count() == 0
    # its own province's targets first; the region-wide ones folded away
    own = page.locator("#province-targets").inner_text()
    assert "河北工业固废综合利用量" in own and "京津冀" not in own and "达成" in own
    assert page.locator("#region-targets").get_attribute("open") is None
    assert "100.0%" in own and "6.20 亿吨" in own  # attainment and tonnes as the report writes them
    assert "2.8%" in page.locator("#province-indicators").inner_text()
    shot(page, "province-03-regional-read-only")
    # replacing or withdrawing the regional plan is refused, whatever the page offers
    for published in (True, False):
        status = page.evaluate("""async ([id, published]) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/api/v1/runs/${id}/publish`, {method: "POST", credentials: "same-origin",
              headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
              body: JSON.stringify({published})});
            return r.status; }""", [regional, published])
        assert status == 403
    # the planner's own province plan publishes beside it, after a confirmation naming what becomes public
    own_plan = stored_run(app, "河北省规划", 0.031, province="130000")
    page.goto(f"{base}/runs/{own_plan}")
    note = page.locator("#publish-note").inner_text()
    assert "河北省" in note and "不会替换全区域规划" in note and "公众" in note
    page.click("#publish-run")
    page.wait_for_selector(".badge")
    assert page.dialog_messages and "不会替换全区域规划" in page.dialog_messages[-1]
    page.goto(f"{base}/")
    scopes = page.locator("#plan-scopes").inner_text()
    assert "全区域" in scopes and "河北省" in scopes
    assert page.locator("#plan-scope").inner_text() == "全区域"  # the regional plan stays the default
    shot(page, "province-04-dashboard-scopes")


def test_compare_shows_b_minus_a_with_a_non_zero_rail_share(page, server):
    base, app = server.url, server.app
    a = stored_run(app, "方案A", 0.028)
    b = stored_run(app, "方案B", 0.041)
    sign_in(page, base, "planner")
    page.goto(f"{base}/runs/compare?a={a}&b={b}")
    row = page.locator('tr[data-key="indicator.rail_share.2022"] td')
    cells = [row.nth(i).inner_text() for i in range(4)]
    assert cells[0].startswith("铁路运输占比")
    assert cells[1] == "2.8%" and cells[2] == "4.1%" and cells[3] == "+1.3 个百分点"
    assert "碳价" in page.locator("#compare-runs").inner_text()  # each run's parameters
    targets = page.locator("#compare-attainment tbody tr")
    assert targets.count() == len(TARGETS)
    assert all("目标完成率" in targets.nth(i).inner_text() for i in range(targets.count()))
    shot(page, "province-05-compare")
