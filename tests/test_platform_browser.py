"""The platform in real headless Chromium (Debian package, via Playwright): sign in, load the
built-in dataset in one click, import a workbook with one bad row and see the error, fix it and
import, snapshot and submit a run, watch it finish, open the map and the Sankey, publish, switch
language. Every request must stay on the test server. Screenshots go to
test-artifacts/browser/ (kept by CI as artifacts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from resynergy import schema
from resynergy.scenario import Scenario
from resynergy.scenario import io as scenario_io
from support.platform import PASSWORD, LiveServer, keep_local, local_page, make_settings, seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template):
    from resynergy.web.app import create_app

    path = tmp_path_factory.mktemp("browser") / "b.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}"), migrate=False, run_worker=True)
    seed(app, tables={})  # users only: the registry starts empty, the built-in dataset is loaded by a click
    with LiveServer(app) as live:
        yield live


@pytest.fixture
def page(browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # a refused import answers 422 on purpose: Chromium logs that status as a console error
    with local_page(browser, server.url, expected_status=422) as page:
        yield page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def supplies_workbook(path: Path, generation: object) -> Path:
    """Two supply rows at a built-in site; the second one's generation is ``generation``."""
    site = Scenario.from_builtin("jjj-2022").table("sites")["id"].iloc[0]
    rows = pd.DataFrame([
        {"site": site, "material": "fly_ash", "year": 2022, "generation_t": 12_000.0, "source": "台账 ledger"},
        {"site": site, "material": "fgd_gypsum", "year": 2022, "generation_t": generation, "source": "台账 ledger"},
    ]).astype(object).reindex(columns=[c.name for c in schema.columns("supplies")], fill_value="")
    return scenario_io.write_xlsx({"supplies": rows}, path, include_empty=False)


def test_the_platform_end_to_end(page, server, tmp_path):
    base = server.url
    # sign in (Chinese by default)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "planner")
    page.fill("input[name=password]", PASSWORD)
    shot(page, "01-login")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")

    # the built-in dataset in one action
    page.click("#load-builtin")  # a background job: the page shows its progress, then the result
    page.wait_for_selector("#load-status")
    page.wait_for_selector('#load-status[data-state="succeeded"]', timeout=240_000)
    page.click("#load-status a.button")
    page.wait_for_url("**/registry?msg=builtin_loaded")
    n_sites = len(Scenario.from_builtin("jjj-2022").table("sites"))
    assert f"\t{n_sites}\t" in page.locator("#registry-tables").inner_text()  # every site loaded
    shot(page, "02-registry-loaded")

    # a workbook with one bad row: refused, the error shown where it is
    bad = supplies_workbook(tmp_path / "台账.xlsx", "很多")
    page.goto(f"{base}/import")
    page.set_input_files("input[name=file]", str(bad))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result.rejected")
    errors = page.locator(".errors").inner_text()
    assert "台账.xlsx [supplies]" in errors and "应为数字" in errors and "很多" in errors
    assert page.locator("#error-workbook").count() == 1
    shot(page, "03-import-rejected")

    # fixed: accepted
    good = supplies_workbook(tmp_path / "台账.xlsx", 8_000.0)
    page.set_input_files("input[name=file]", str(good))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result.ok")
    assert "新增 2" in page.locator("#import-result").inner_text()
    shot(page, "04-import-accepted")

    # snapshot, submit, watch the run finish
    page.goto(f"{base}/runs")
    page.fill("#snapshot-form input[name=name]", "京津冀 2022")
    page.click("#snapshot-form button[type=submit]")
    page.wait_for_selector(".flash")
    page.select_option("#run-form select[name=objective]", "cost")
    page.click("#run-form button[type=submit]")
    page.wait_for_selector("#run-status")
    shot(page, "05-run-progress")
    page.wait_for_selector('#run-status[data-state="succeeded"]', timeout=240_000)
    page.wait_for_selector('[data-name="map"][data-ready="1"]', timeout=60_000)
    page.wait_for_selector('[data-name="sankey"][data-ready="1"]', timeout=60_000)
    assert page.locator('[data-name="map"] .scatterlayer .trace').count() > 3  # outlines, flows, sites
    assert page.locator('[data-name="sankey"] .sankey-node').count() > 5
    assert page.locator('[data-ready="error"]').count() == 0
    page.wait_for_timeout(800)  # plotly transitions
    shot(page, "06-run-results")
    page.emulate_media(media="print")  # printing hides the menus and forms and stacks the figures
    assert page.locator("header.top nav").is_hidden() and page.locator("#publish-run").is_hidden()
    shot(page, "06b-run-results-print")
    page.emulate_media(media="screen")

    # the kept report opens offline too (its own CSP allows only its inlined scripts)
    report_url = base + page.get_attribute("#report-link", "href")
    report = page.context.new_page()  # same signed-in context
    outside = keep_local(report, base)
    report_errors: list[str] = []
    report.on("pageerror", lambda e: report_errors.append(str(e)))
    report.goto(report_url)
    report.wait_for_function("window.reportReady === true", timeout=60_000)
    assert outside == []
    assert report_errors == [] and report.locator("#fig-map .scatterlayer .trace").count() > 3
    report.screenshot(path=str(ARTIFACTS / "06c-report.png"))
    report.close()

    # publish: the dashboard shows the plan; switch to English
    page.click("#publish-run")
    page.goto(f"{base}/")
    page.wait_for_selector('[data-name="map"][data-ready="1"]', timeout=60_000)
    page.wait_for_selector('[data-name="sankey"][data-ready="1"]', timeout=60_000)
    assert "已发布规划" in page.inner_text("main")
    page.wait_for_timeout(800)
    shot(page, "07-dashboard-zh")
    page.click("#lang-switch")
    page.wait_for_selector('html[lang="en"]')
    page.wait_for_selector('[data-name="map"][data-ready="1"]', timeout=60_000)
    assert "Published plan" in page.inner_text("main")
    title = page.locator('[data-name="map"] .gtitle').text_content()
    assert "flows" in title.lower()
    page.wait_for_timeout(800)
    shot(page, "08-dashboard-en")

    # the public sees aggregates, not the site map
    public = page.context.browser.new_page()
    public.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    public.goto(f"{base}/")
    public.wait_for_selector('[data-name="sankey"][data-ready="1"]', timeout=60_000)
    assert public.locator('[data-name="map"]').count() == 0
    public.screenshot(path=str(ARTIFACTS / "09-public.png"), full_page=True)
    public.close()
