"""report.html and compare.html in real headless Chromium (Debian package), fully offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from resynergy.report import findings, write_outputs
from resynergy.report.compare import write_compare
from support.platform import keep_local
from support.toys import toy_plan, toy_scenario

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    s = findings(toy_plan(), toy_scenario())
    write_outputs(s, out)
    return out / "report.html", s


def open_offline(browser, path: Path):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    external, errors = keep_local(page, "file://"), []
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url}"))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_function("window.reportReady === true", timeout=60_000)
    return page, external, errors


def area(page, selector: str) -> float:
    return page.eval_on_selector_all(
        selector, "els => els.reduce((a, e) => { const r = e.getBoundingClientRect();"
                  " return a + r.width * r.height; }, 0)")


def test_report_renders_offline_and_switches_language(browser, report):
    path, s = report
    page, external, errors = open_offline(browser, path)
    assert external == [] and errors == []
    # Sankey: every node and link drawn, with real size on screen.
    n_nodes = len(s.plan.facility_io.groupby(["process"])) + 6  # processes + materials + ends
    assert page.locator("#fig-sankey .sankey-node").count() >= n_nodes
    assert page.locator("#fig-sankey .sankey-link").count() >= 10
    assert area(page, "#fig-sankey .sankey-node rect") > 1000
    # Map: province outlines (shipped GeoJSON), site markers and flow lines are drawn.
    layers = page.evaluate("() => document.getElementById('fig-map').data"
                           ".map(t => (t.meta || {}).layer)")
    assert {"boundary", "seats", "sites", "flows"} <= set(layers)
    assert page.locator("#fig-map .scatterlayer .point").count() >= 8
    assert area(page, "#fig-map .scatterlayer .js-line") > 100
    assert page.locator("#fig-attainment .bars .point").count() == len(s.targets)
    assert page.locator("html").get_attribute("data-lang") == "zh"
    assert "目标完成情况" in page.locator("#targets h2").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_function("window.reportReady === true && window.reportLang === 'en'")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#targets h2").inner_text() == "Target attainment"
    assert "Material flows" in page.locator("#fig-sankey .gtitle").text_content()
    legend = page.eval_on_selector_all("#fig-map .legendtext", "els => els.map(e => e.textContent)")
    assert {"Site types", "Rail"} <= set(legend)  # site types first, flows by mode
    assert page.locator("#f-material option[value=tailings]").inner_text() == "Tailings"
    page.screenshot(path=str(ARTIFACTS / "report-en.png"), full_page=True)
    assert external == [] and errors == []
    page.close()


def test_map_filter_hides_other_materials(browser, report):
    path, _ = report
    page, external, errors = open_offline(browser, path)
    hover = ("() => document.getElementById('fig-map').data.filter(t => t.meta && "
             "['flow_hover', 'within'].includes(t.meta.layer)).flatMap(t => t.text || [])")
    assert any("钢渣" in h for h in page.evaluate(hover))
    page.select_option("#f-material", "tailings")
    page.wait_for_function("() => (document.getElementById('fig-map').dataset.filter || '')"
                           ".includes('tailings')")
    texts = page.evaluate(hover)
    assert texts and all("尾矿" in h and "钢渣" not in h for h in texts)
    assert external == [] and errors == []
    page.close()


def test_compare_page_renders_offline(browser, tmp_path):
    a = findings(toy_plan(), toy_scenario())
    p2 = toy_plan()
    p2.costs = p2.costs.assign(yuan=p2.costs["yuan"] * 1.5)
    b = findings(p2, toy_scenario())
    path = write_compare({"toy": a, "toy@policy.carbon_price=100": b}, tmp_path / "compare.html")
    page, external, errors = open_offline(browser, path)
    assert external == [] and errors == []
    assert page.locator("#fig-costs .bars .point").count() >= 8
    assert "toy@policy.carbon_price=100" in page.locator("#table-compare-zh").inner_text()
    page.close()


def test_built_in_plan_report(browser, builtin_outputs, builtin_scenario):
    """What the README's first command writes: the built-in scenario, solved for real (the
    session's ``builtin_outputs``)."""
    out, _ = builtin_outputs
    scenario = builtin_scenario
    page, external, errors = open_offline(browser, out / "report.html")
    assert external == [] and errors == []
    assert page.locator("#fig-sankey .sankey-node").count() >= 20
    assert page.locator("#fig-map .scatterlayer .point").count() >= 50
    assert page.locator("#table-targets-zh tbody tr").count() == len(scenario.table("targets"))
    page.screenshot(path=str(ARTIFACTS / "report-jjj-2022.png"), full_page=True)
    page.close()


def test_report_with_markup_in_a_site_name_still_draws(browser, tmp_path):
    """Issue 9 item 14: a name holding "<!--<script>" used to stop every figure from drawing."""
    hostile = "厂<!--<script>&\u2028</script>"
    scenario = toy_scenario()
    sites = scenario.table("sites")
    sites["name_zh"] = sites["name_zh"] + hostile
    scenario = scenario.with_tables(sites=sites)
    plan = toy_plan()
    plan.scenario = scenario
    write_outputs(findings(plan, scenario), tmp_path)
    page, external, errors = open_offline(browser, tmp_path / "report.html")
    assert external == [] and errors == []
    assert page.locator("#fig-map .scatterlayer .point").count() >= 8
    texts = page.evaluate("() => JSON.stringify(document.getElementById('fig-map').data)")
    assert hostile in texts  # the name itself, unchanged, reached the figure
    page.close()
