"""Issue 10 items 1, 2, 5, 6: report.html, province first, in real headless Chromium (offline).

One real plan of the built-in scenario (every year, so the 2020 base year is there); every
figure the page shows after a selection is checked against plan.xlsx, which the same run wrote.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import keep_local
from resynergy.report import findings, write_outputs
from resynergy.report.province import CAUSE
from resynergy.schema import outputs
from resynergy.schema.numbers import quantity
from resynergy.schema.outputs import bilingual

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SHANXI = "140000"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from resynergy.planner import PlanOptions, solve
    from resynergy.scenario import Scenario

    out = tmp_path_factory.mktemp("province")
    scenario = Scenario.from_builtin("jjj-2022")
    plan = solve(scenario, PlanOptions(time_limit=120.0))
    write_outputs(findings(plan, scenario), out)
    wb = load_workbook(out / "plan.xlsx", read_only=True)
    sheets = {}
    for name in ("indicators", "targets", "diagnosis"):
        rows = [list(r) for r in wb[outputs.table(name).sheet].values]
        head = [str(c) for c in rows[0]]
        sheets[name] = pd.DataFrame([r + [None] * (len(head) - len(r)) for r in rows[1:]],
                                    columns=head)
    return out / "report.html", sheets


def col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[bilingual(name)].fillna("")


def open_page(browser, path: Path, width: int = 1300, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    external, errors = keep_local(page, "file://"), []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_function("window.reportReady === true && window.reportSelection", timeout=120_000)
    return page, external, errors


def visible(page, key: str, lang: str = "zh") -> list[list[str]]:
    """Cells of the rows of a table the selection leaves visible."""
    return page.evaluate(
        """([key, lang]) => Array.from(document.querySelectorAll(
             `#table-${key}-${lang} tbody tr:not(.hidden):not(.none)`))
           .map(tr => Array.from(tr.children).map(td => td.textContent.trim()))""", [key, lang])


def visible_attr(page, key: str, attr: str) -> list[str]:
    return page.evaluate(
        """([key, attr]) => Array.from(document.querySelectorAll(
             `#table-${key}-zh tbody tr:not(.hidden):not(.none)`)).map(tr => tr.dataset[attr])""",
        [key, attr])


def select(page, sel: str, value: str) -> None:
    page.select_option(sel, value)
    page.wait_for_function("v => Object.values(window.reportSelection).includes(v)", arg=value)


def province_values(xl: pd.DataFrame, region: str, material: str, year: int) -> pd.DataFrame:
    v = xl
    return v[(col(v, "level") == "province") & (col(v, "region") == region)
             & (col(v, "material") == material) & (v[bilingual("year")] == year)]


def test_province_filter_changes_the_figures(browser, built):
    path, xl = built
    page, external, errors = open_page(browser, path)
    targets = xl["targets"]
    n_targets = len(targets)
    assert len(visible(page, "province-targets")) == 7 * n_targets  # every province, every target
    # headline card: met / all targets with a figure, as in plan.xlsx
    counted = targets[col(targets, "status") != "reported"]
    met = counted[col(counted, "status") == "met"]
    assert page.inner_text("#hl-count") == f"{len(met)}/{len(counted)}"
    for name in col(met, "name_zh"):
        assert name in page.inner_text("#hl-met")

    select(page, "#sel-province", SHANXI)
    rows = visible(page, "province-targets")
    assert len(rows) == n_targets and {r[2] for r in rows} == {"山西省"}
    ind = xl["indicators"]
    for _, t in targets.iterrows():
        year = int(t[bilingual("year")])
        mat = t[bilingual("material")] or ""
        want = province_values(ind, SHANXI, mat, year)
        want = want[col(want, "indicator") == t[bilingual("indicator")]]
        row = next(r for r in rows if r[1] == t[bilingual("name_zh")])
        text = quantity(float(want[bilingual("value")].iloc[0]), t[bilingual("unit")], "zh") \
            if len(want) else "—"
        assert row[4] == text, (t[bilingual("id")], row)
    # the province map: Shanxi outlined, its value the xlsx value of the indicator coloured
    ind_id = page.eval_on_selector("#map-indicator", "s => s.value")
    v22 = province_values(ind, SHANXI, "", 2022)
    v = float(v22.loc[col(v22, "indicator") == ind_id, bilingual("value")].iloc[0])
    shown = float(page.get_attribute(f'#prov-map path[data-province="{SHANXI}"]', "data-value"))
    assert shown == pytest.approx(v, rel=1e-9)
    assert "sel" in page.get_attribute(f'#prov-map path[data-province="{SHANXI}"]', "class")
    # the headline numbers become the province's
    for card in page.locator(".card[data-indicator]").all():
        iid = card.get_attribute("data-indicator")
        w = v22.loc[col(v22, "indicator") == iid, bilingual("value")]
        assert card.locator(".v").inner_text() == quantity(float(w.iloc[0]), _unit(iid), "zh")
        assert "山西省" in card.locator(".k").inner_text()
    # the map and the Sankey follow the province (charts.js keeps the applied filter on the div)
    for fig in ("#fig-map", "#fig-sankey"):
        page.wait_for_function("([f, p]) => JSON.parse(document.querySelector(f).dataset.filter || '{}').province === p",
                               arg=[fig, SHANXI])
    # the province's indicators, base year against the target year
    rows = visible(page, "province-indicators")
    assert rows and {r[1] for r in rows} == {"山西省"} and {r[2] for r in rows} == {"全部物料"}

    # a material: the rows become that material's, with the xlsx values
    select(page, "#sel-material", "fly_ash")
    rows = visible(page, "province-indicators")
    assert rows and {r[2] for r in rows} == {"粉煤灰"} and {r[1] for r in rows} == {"山西省"}
    want = province_values(ind, SHANXI, "fly_ash", 2022)
    head = page.eval_on_selector_all("#table-province-indicators-zh thead th",
                                     "ths => ths.map(t => t.textContent)")
    i22 = head.index("2022")
    names = {_ind_name(i): quantity(float(v), u, "zh") for i, v, u in zip(
        col(want, "indicator"), want[bilingual("value")], want[bilingual("unit")], strict=True)}
    for r in rows:
        assert r[i22] == names.get(r[0], "—"), r
    # flows follow: every visible city-pair flow carries fly ash and touches Shanxi
    flows = visible(page, "city-flows")
    assert flows and {r[3] for r in flows} == {"粉煤灰"}
    assert all(SHANXI in p.split() for p in visible_attr(page, "city-flows", "p"))
    # a city narrows further
    select(page, "#sel-city", "140600")  # 朔州市
    flows = visible(page, "city-flows")
    assert flows and all("朔州市" in (r[1], r[2]) for r in flows)
    # item 7: the CSV of a table is what the page shows (selection, Chinese headers), with a BOM
    with page.expect_download() as dl:
        page.click('button[data-csv="city-flows"]')
    raw = Path(dl.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["年份", "起点地市", "终点地市"]
    assert len(lines) == 1 + len(flows) and all("粉煤灰" in ln for ln in lines[1:])
    assert external == [] and errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-province-shanxi.png"), full_page=False)
    page.locator("#province").screenshot(path=str(ARTIFACTS / "report-province-section.png"))
    page.close()


def _unit(iid: str) -> str:
    from resynergy.indicators import INDICATORS

    return INDICATORS[iid].unit


def _ind_name(iid: str) -> str:
    from resynergy.indicators import INDICATORS

    return INDICATORS[iid].name("zh")


def test_cause_gap_and_levers_of_a_missed_target(browser, built):
    path, xl = built
    diag, targets = xl["diagnosis"], xl["targets"]
    causes = diag[col(diag, "kind").isin(list(CAUSE))]
    assert len(causes), "the built-in plan misses targets the planner explains"
    page, external, errors = open_page(browser, path)
    table = visible(page, "causes")
    for _, c in causes.iterrows():
        tid = c[bilingual("subject")]
        name = col(targets[col(targets, "id") == tid], "name_zh").iloc[0]
        row = next(r for r in table if r[1] == name)
        assert row[0] == "未达成" and row[4] == CAUSE[c[bilingual("kind")]][0]
        assert c[bilingual("message_zh")] in row[5]
    # a target whose gap the planner splits by province and material
    gaps = diag[col(diag, "kind") == "gap"]
    tid = gaps[bilingual("subject")].str.split("/").str[0].value_counts().index[0]
    name = col(targets[col(targets, "id") == tid], "name_zh").iloc[0]
    # from the targets table, the name links to its cause
    page.click(f'#table-targets-zh a[data-goto-why="{tid}"]')
    box = page.locator(f"#why-{tid}").bounding_box()
    assert box is not None and 0 <= box["y"] < 900
    select(page, "#sel-target", tid)
    rows = visible(page, "gaps")
    want = gaps[gaps[bilingual("subject")].str.startswith(tid + "/")]
    assert len(rows) == len(want) and {r[0] for r in rows} == {name}
    assert sorted(r[4] for r in rows) == sorted(col(want, "message_zh"))
    amounts = want.sort_values(bilingual("amount"), ascending=False, kind="stable")
    assert [r[4] for r in rows] == list(col(amounts, "message_zh"))  # largest gap first
    assert [r[1] for r in visible(page, "causes")] == [name]
    # levers for a capacity target: candidate or expansion, each with the scenario's cost
    capacity = causes[col(causes, "kind") == "capacity"]
    if len(capacity):
        cid = capacity[bilingual("subject")].iloc[0]
        select(page, "#sel-target", cid)
        levers = visible(page, "levers")
        assert levers and all(r[1] in ("候选设施", "扩能") for r in levers)
        assert all(re.search(r"\d", r[5]) for r in levers)
        # the three actions the planner's target-meeting plan adds, as in plan.xlsx, largest first
        acts = diag[(col(diag, "kind") == "action") & diag[bilingual("subject")].str.startswith(cid + "/")]
        assert len(acts), "a capacity cause comes with the builds that close it"
        shown = visible(page, "actions")
        assert [r[2] for r in shown] == list(col(acts, "message_zh"))[:3]
        assert [r[1] for r in shown] == [str(n) for n in range(1, len(shown) + 1)]
    # a target missed for a data ceiling: no build is offered as a lever, the page says why
    ceiling = causes[col(causes, "kind") == "data_ceiling"]
    if len(ceiling):
        select(page, "#sel-target", ceiling[bilingual("subject")].iloc[0])
        assert [r[1] for r in visible(page, "levers")] == [CAUSE["data_ceiling"][0]]
        assert visible(page, "actions") == []
        if (col(diag, "kind") == "action").any():  # actions elsewhere: filtered out here
            assert page.locator("#table-actions-zh tr.unmatched").inner_text() == "（当前筛选下无）"
        else:  # no target brings builds: the table says it has none at all
            assert page.locator("#table-actions-zh tr.none").inner_text() == "（无）"
    # "flows and facilities" behind a target: only what its indicator counts
    select(page, "#sel-target", "*")
    page.click(f'#table-causes-zh a[data-goto-target="{tid}"]')
    page.wait_for_function("id => window.reportSelection.t === id", arg=tid)
    assert page.eval_on_selector("#sel-target", "s => s.value") == tid
    for key in ("city-flows", "facilities"):
        tags = visible_attr(page, key, "t")
        assert tags and all(tid in t.split() for t in tags), key
    assert name in page.inner_text("#target-note")
    assert external == [] and errors == []
    page.locator("#failing").screenshot(path=str(ARTIFACTS / "report-causes-levers.png"))
    page.close()


def test_phone_keeps_the_status_column_in_view(browser, built):
    path, _ = built
    page, external, errors = open_page(browser, path, 390, 844)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("header").bounding_box()["height"] <= 90
    for key in ("targets", "causes", "province-targets"):
        page.locator(f"#table-{key}-zh").scroll_into_view_if_needed()
        head = page.locator(f"#table-{key}-zh thead th").first
        assert head.inner_text() == "状态"
        for cell in page.locator(f"#table-{key}-zh tbody tr:not(.hidden) td:first-child").all()[:5]:
            b = cell.bounding_box()
            assert b is not None and b["x"] >= 0 and b["x"] + b["width"] <= 390, key
    # the table scrolls inside its box, the status column stays
    box = page.locator("#table-targets-zh").locator("xpath=..")
    box.evaluate("el => { el.scrollLeft = 10000; }")
    b = page.locator("#table-targets-zh tbody tr td:first-child").first.bounding_box()
    assert b["x"] >= 0 and b["x"] + b["width"] <= 390
    assert external == [] and errors == []
    page.screenshot(path=str(ARTIFACTS / "report-phone-390.png"), full_page=False)
    page.locator("#targets").screenshot(path=str(ARTIFACTS / "report-phone-targets.png"))
    page.close()


A4_TEXT_PX = 186 / 25.4 * 96  # 210 mm less 12 mm margins each side, in CSS px


def test_print_fits_a4_width(browser, built):
    path, _ = built
    page, external, errors = open_page(browser, path, 1440, 900)
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(500)
    widths = page.eval_on_selector_all(
        ".chart .main-svg", "els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and max(widths) <= A4_TEXT_PX + 1
    # the long flow and facility tables print only once narrowed by a selection
    assert page.evaluate("getComputedStyle(document.querySelector('.bulky')).display") == "none"
    # nothing holds a whole section together (that left the first page half empty)
    assert page.evaluate("getComputedStyle(document.getElementById('overview')).breakInside") \
        != "avoid"
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (ARTIFACTS / "report-print.pdf").write_bytes(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 595.9) < 2 and abs(float(h) - 842.9) < 2
                         for w, h in boxes)
    assert external == [] and errors == []
    page.close()


def test_page_formats_numbers_as_the_report_does(browser, built):
    """The numbers the page computes after a selection read like the server-written ones."""
    path, _ = built
    page, _, _ = open_page(browser, path)
    cases = [(v, u) for v in (0.0, 0.4, 12.345, 9999.5, 12_345.0, 1.5e8, 3.61e11, -2.3e7)
             for u in ("t", "yuan", "kg", "share", "count")]
    for lang in ("zh", "en"):
        if lang == "en":
            page.click("#lang-switch")
            page.wait_for_function("window.reportLang === 'en'")
        got = page.evaluate("cases => cases.map(([v, u]) => window.reportFormat(v, u))", cases)
        assert got == [quantity(v, u, lang) for v, u in cases]
    page.close()
