"""The map and Sankey of report/figures.py: aggregation by prefecture pair (trace count fixed,
tonnes kept), Sankey links against the plan's tables, Chinese titles and download names, and
the filters in real headless Chromium (charts.js), offline."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from resynergy.report import findings, write_outputs
from resynergy.report.figures import (
    FIGURES,
    MAX_SITE_POINTS,
    charts_js,
    flow_pairs,
    map_figure,
    place_labels,
    places,
    sankey_figure,
)
from support.toys import toy_plan, toy_scenario

CJK = re.compile(r"[\u4e00-\u9fff]")


def two_year_plan():
    """The toy plan with a 2021 copy of every yearly table at 60 % of the tonnes."""
    plan = toy_plan()
    for name in ("flows", "facility_io", "supply_use", "deliveries", "activity"):
        df = getattr(plan, name)
        early = df.assign(year=2021)
        for col in ("t", "tkm", "cost_yuan", "co2_kg", "generation_t", "stock_drawn_t",
                    "shipped_t", "disposed_t", "demand_t", "delivered_t", "unmet_t", "input_t"):
            if col in early:
                early[col] = early[col] * 0.6
        setattr(plan, name, pd.concat([early, df], ignore_index=True))
    return plan


@pytest.fixture(scope="module")
def summary():
    return findings(two_year_plan(), toy_scenario())


def transported(plan) -> pd.DataFrame:
    f = plan.flows
    return f[f["mode"] != "onsite"]


def crowded(n_sites: int, n_flows: int, seed: int = 1):
    """The toy scenario with ``n_sites`` extra generators spread over its prefectures and
    ``n_flows`` random flows among all sites (several years, materials and modes)."""
    rng = np.random.default_rng(seed)
    scenario = toy_scenario()
    sites = scenario.table("sites")
    base = sites.sample(n_sites, replace=True, random_state=seed).reset_index(drop=True)
    extra = base.assign(id=[f"X{i}" for i in range(n_sites)], roles="generator",
                        lat=base["lat"] + rng.normal(0, 0.05, n_sites),
                        lon=base["lon"] + rng.normal(0, 0.05, n_sites))
    sites = pd.concat([sites, extra], ignore_index=True)
    scenario = scenario.with_tables(sites=sites)
    plan = toy_plan()
    ids = sites["id"].to_numpy()
    mats = ["tailings", "steel_slag", "fly_ash", "sw_binder"]
    f = pd.DataFrame({
        "year": rng.choice([2021, 2022], n_flows), "from_site": rng.choice(ids, n_flows),
        "to_site": rng.choice(ids, n_flows), "material": rng.choice(mats, n_flows),
        "mode": rng.choice(["road_diesel", "rail"], n_flows), "leg": "direct", "route": "",
        "t": rng.uniform(1, 100, n_flows).round(2), "distance_km": 50.0})
    f["tkm"] = f["t"] * 50
    f["cost_yuan"] = f["co2_kg"] = 0.0
    plan.flows = pd.concat([plan.flows, f], ignore_index=True)
    return plan, scenario


def flows_layer(doc: dict, layer: str) -> list[dict]:
    return [t for t in doc["data"] if (t.get("meta") or {}).get("layer") == layer]


def points(doc: dict) -> int:
    """Points drawn, outlines apart (a fixed file)."""
    return sum(len(t.get("x") or []) for t in doc["data"]
               if (t.get("meta") or {}).get("layer") != "boundary")


# --- map -------------------------------------------------------------------------------

def test_map_trace_count_does_not_grow_with_flows():
    small = findings(toy_plan(), toy_scenario())
    plan, scenario = crowded(n_sites=MAX_SITE_POINTS + 500, n_flows=5_000)
    big = findings(plan, scenario)
    a, b = map_figure(small, "zh"), map_figure(big, "zh")
    # the toy plan already uses both modes: the crowded one adds no trace
    assert len(b["data"]) == len(a["data"])
    # points are bounded by places and site types, not by flows or sites
    n_places = len(places(scenario)[0])
    # 3 per segment and one hover point per place pair and mode, sites by place and type,
    # labels
    bound = 4 * n_places ** 2 * 2 + 5 * n_places + 2 * n_places + 20
    assert points(b) <= bound < 20_000
    sites = flows_layer(b, "sites")
    assert sum(len(t["x"]) for t in sites) <= 5 * n_places  # aggregated by place above the cap
    assert len(json.dumps(b)) < 2_000_000


def test_aggregated_tonnes_equal_the_flows_table(summary):
    doc = map_figure(summary, "zh")
    meta = doc["layout"]["meta"]
    rows = pd.DataFrame(meta["rows"]).assign(
        material=lambda d: d["material"].map(dict(enumerate(meta["materials"]))))
    got = rows.groupby(["year", "material"])["t"].sum()
    want = transported(summary.plan).groupby(["year", "material"])["t"].sum()
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False,
                                   check_dtype=False, rtol=1e-9)
    assert set(flow_pairs(summary)["year"]) == {2021, 2022}


@pytest.mark.parametrize("year, material", [(2022, None), (2021, "tailings"),
                                            (2022, "kind:industrial_waste")])
def test_drawn_lines_carry_the_selected_tonnes(summary, year, material):
    """Each drawn segment and within-city circle is one place pair; their hover totals add up
    to the flows of the selection, and each sits in the width class of its tonnes."""
    doc = map_figure(summary, "en", year=year, material=material)
    meta = doc["layout"]["meta"]
    f = transported(summary.plan)
    f = f[f["year"] == year]
    kinds = summary.scenario.table("materials").set_index("code")["kind"]
    if material == "tailings":
        f = f[f["material"] == "tailings"]
    elif material:
        f = f[f["material"].map(kinds) == material[5:]]
    hover = flows_layer(doc, "flow_hover")[0]["text"] + flows_layer(doc, "within")[0]["text"]
    totals = [float(re.search(r"total ([\d,.]+) t", h).group(1).replace(",", "")) for h in hover]
    assert sum(totals) == pytest.approx(f["t"].sum(), abs=0.05 * len(totals) + 1e-9)
    bounds = [b for b in meta["bounds"] if b is not None]
    n_segments = sum(len(tr["x"]) // 3 for tr in flows_layer(doc, "flows"))
    assert n_segments == len(flows_layer(doc, "flow_hover")[0]["x"])
    # width classes: each hover total lies within its class bounds
    for tr in flows_layer(doc, "flows"):
        k = tr["meta"]["cls"]
        lo = bounds[k - 1] if k > 0 else 0.0
        hi = bounds[k] if k < len(bounds) else float("inf")
        for xa, xb in zip(tr["x"][0::3], tr["x"][1::3], strict=True):
            h = [t for x, t in zip(flows_layer(doc, "flow_hover")[0]["x"], hover, strict=False)
                 if abs(x - (xa + 0.45 * (xb - xa))) < 1e-3]
            assert h, "each segment has its hover point"
            t = float(re.search(r"total ([\d,.]+) t", h[0]).group(1).replace(",", ""))
            assert lo - 0.01 <= t < hi + 0.01


def test_material_filter_also_filters_sites(summary):
    every = map_figure(summary, "zh")
    tail = map_figure(summary, "zh", material="tailings")
    shown = lambda d: {(x, y) for t in flows_layer(d, "sites")  # noqa: E731
                       for x, y in zip(t["x"], t["y"], strict=True) if x is not None}
    assert shown(tail) < shown(every)
    sites = summary.scenario.table("sites").set_index("id")
    g1 = (round(sites.at["G1", "lon"], 4), round(sites.at["G1", "lat"], 4))
    g2 = (round(sites.at["G2", "lon"], 4), round(sites.at["G2", "lat"], 4))
    assert g1 in shown(tail) and g2 not in shown(tail)  # G2 generates slag and ash only


def test_province_filter_zooms_to_the_province(summary):
    doc = map_figure(summary, "zh", province="110000")
    box = doc["layout"]["meta"]["bbox"]["110000"]
    assert doc["layout"]["xaxis"]["range"] == box[:2]
    assert box[1] - box[0] < 3  # Beijing, not the region
    hover = flows_layer(doc, "flow_hover")[0]["text"] + flows_layer(doc, "within")[0]["text"]
    assert hover and all("北京" in h for h in hover)


def test_city_labels_move_off_markers():
    """A label goes where no marker is: above by default, elsewhere when a marker sits there."""
    box = [110.0, 120.0, 35.0, 42.0]
    x, y = np.array([115.0]), np.array([38.0])
    free = place_labels(x, y, ["石家庄市"], np.array([[115.0, 38.0]]), box)
    assert free == ["top center"]
    # markers just above and just below the city: the label goes to a side
    crowded = np.array([[115.0, 38.0], [115.0, 38.12], [115.0, 37.88]])
    spot = place_labels(x, y, ["石家庄市"], crowded, box)[0]
    assert spot.endswith("right") or spot.endswith("left")


def test_legend_lists_site_types_first(summary):
    doc = map_figure(summary, "zh")
    shown = [t for t in doc["data"] if t.get("showlegend", True) and t.get("name")
             and t.get("legendrank") is not None]
    ranked = sorted(shown, key=lambda t: t["legendrank"])
    assert ranked[0]["legendgroup"] == "sites"
    assert ranked[0]["legendgrouptitle"]["text"] == "站点类型"
    assert len(shown) <= 16  # not one entry per material and year


# --- Sankey ----------------------------------------------------------------------------

def link_sums(trace, lang="zh") -> dict[tuple[str, str], float]:
    names = list(trace.node.customdata)
    out: dict[tuple[str, str], float] = {}
    for a, b, v in zip(trace.link.source, trace.link.target, trace.link.value, strict=True):
        out[(names[a], names[b])] = out.get((names[a], names[b]), 0.0) + v
    return out


@pytest.mark.parametrize("year", [2021, 2022])
def test_sankey_links_agree_with_the_plan(summary, year):
    fig = sankey_figure(summary, "zh", year=year)
    tr = fig.data[0]
    assert tr.visible and tr.meta["year"] == str(year) and tr.meta["province"] == "*"
    links = link_sums(tr)
    p = summary.plan
    su = p.supply_use[p.supply_use["year"] == year]
    fio = p.facility_io[p.facility_io["year"] == year]
    dl = p.deliveries[p.deliveries["year"] == year]
    into = lambda end: sum(v for (a, b), v in links.items() if b == end)  # noqa: E731
    out_of = lambda end: sum(v for (a, b), v in links.items() if a == end)  # noqa: E731
    assert out_of("当年产生") == pytest.approx(su["generation_t"].sum())
    assert out_of("历史堆存") == pytest.approx(su["stock_drawn_t"].sum())
    assert into("处置（填埋等）") == pytest.approx(su["disposed_t"].sum()) and into("处置（填埋等）") > 0
    assert into("交付需求") == pytest.approx(dl["delivered_t"].sum())
    to_process = sum(v for (a, b), v in links.items() if b.startswith("⚙"))
    from_process = sum(v for (a, b), v in links.items() if a.startswith("⚙"))
    assert to_process == pytest.approx(fio.loc[fio["direction"] == "in", "t"].sum())
    assert from_process == pytest.approx(fio.loc[fio["direction"] == "out", "t"].sum())


def test_sankey_by_province_balances_across_the_border(summary):
    fig = sankey_figure(summary, "zh", year=2022, province="130000")
    tr = fig.data[0]
    assert tr.meta["province"] == "130000"
    links = link_sums(tr)
    hebei = {"G1", "G2", "F2", "W1", "T1"}
    su = summary.plan.supply_use
    su = su[(su["year"] == 2022) & su["site"].isin(hebei)]
    assert sum(v for (a, _), v in links.items() if a == "当年产生") == pytest.approx(
        su["generation_t"].sum())
    # tailings leave Hebei by rail (one journey of 90 t), binder and slag go to Tianjin
    assert links[("▣ 尾矿", "调出省外")] == pytest.approx(90.0)
    assert links[("▣ 固废胶凝材料", "调出省外")] == pytest.approx(50.0)
    assert fig.layout.title.text == "物料流（河北省，2022年）"
    # every province and year is one trace, one visible at a time
    assert sum(1 for t in fig.data if t.visible) == 1
    assert {(t.meta["province"], t.meta["year"]) for t in fig.data} >= {
        ("*", "2021"), ("*", "2022"), ("110000", "2021"), ("130000", "2022")}


def test_sankey_labels_tonnes_and_colours_disposal(summary):
    tr = sankey_figure(summary, "en", year=2022).data[0]
    labels = dict(zip(tr.node.customdata, tr.node.label, strict=True))
    assert re.search(r"^disposal.* 30\.0 t$", labels["disposal (landfill etc.)"])
    assert re.search(r"\d", labels["generated"])  # the big nodes carry their tonnes
    colours = dict(zip(tr.node.customdata, tr.node.color, strict=True))
    assert colours["disposal (landfill etc.)"] == "#d62728"
    # links coloured by material group: waste and products differ
    assert colours["▣ Tailings"] != colours["▣ Ready-mix concrete"]
    assert "disposed 30.0 t" in sankey_figure(summary, "en").layout.title.subtitle.text


# --- titles, download names, script -----------------------------------------------------

def test_titles_and_download_names_are_chinese_in_zh(summary):
    for name, build in FIGURES.items():
        zh, en = build(summary, "zh"), build(summary, "en")
        zh = zh if isinstance(zh, dict) else zh.to_plotly_json()
        en = en if isinstance(en, dict) else en.to_plotly_json()
        title = zh["layout"]["title"]["text"]
        assert CJK.search(title), name
        assert CJK.search(zh["layout"]["meta"]["download"]), name
        assert not CJK.search(en["layout"]["title"]["text"]), name


def test_chart_script_is_safe_to_inline():
    js = charts_js()
    assert "</script" not in js.lower() and "<!--" not in js
    assert "ResynergyCharts" in js and '"zh-CN"' in js


# --- browser ---------------------------------------------------------------------------

@pytest.mark.browser
def test_map_and_sankey_filters_in_chromium(browser, summary, tmp_path):
    from conftest import keep_local

    write_outputs(summary, tmp_path)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    external, errors = keep_local(page, "file://"), []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto((tmp_path / "report.html").as_uri())
    page.wait_for_function("window.reportReady === true", timeout=60_000)
    # mode bar in Chinese; the PNG is named after the Chinese title
    titles = page.eval_on_selector_all("#fig-map .modebar-btn", "els => els.map(e => e.dataset.title)")
    assert "下载为PNG图片" in titles
    assert page.evaluate("document.getElementById('fig-map')._context.toImageButtonOptions.filename"
                         ) == "区域地图：站点与物料流向（2022年）"

    hover_js = ("() => { const d = document.getElementById('fig-map').data;"
                " const of = k => d.filter(t => t.meta && t.meta.layer === k).flatMap(t => t.text || []);"
                " return of('flow_hover').concat(of('within')); }")
    lines_js = ("() => document.getElementById('fig-map').data.filter(t => t.meta && t.meta.layer === 'flows')"
                ".map(t => [t.meta.mode, t.meta.cls, Array.from(t.x || []), Array.from(t.y || [])])")
    sites_js = ("() => document.getElementById('fig-map').data.filter(t => t.meta && t.meta.layer === 'sites')"
                ".reduce((n, t) => n + Array.from(t.x).filter(v => v !== null).length, 0)")

    def python_view(**sel):
        doc = map_figure(summary, "zh", **sel)
        lines = [[t["meta"]["mode"], t["meta"]["cls"], t["x"], t["y"]]
                 for t in flows_layer(doc, "flows")]
        hover = flows_layer(doc, "flow_hover")[0]["text"] + flows_layer(doc, "within")[0]["text"]
        shown = sum(1 for t in flows_layer(doc, "sites") for v in t["x"] if v is not None)
        return lines, hover, shown

    def choose(fig: str, menu: int, label: str, key: str, value: str):
        page.locator(f"#{fig} g.updatemenu-header-group").nth(menu).click()
        page.locator(f"#{fig} g.updatemenu-dropdown-button").filter(has_text=re.compile(f"^{label}$")).click()
        page.wait_for_function(
            f"() => (document.getElementById('{fig}').dataset.filter || '').includes('\"{key}\":\"{value}\"')")

    # the map as drawn equals Python's view, before and after the in-figure menus are used
    lines, hover, shown = python_view()
    assert page.evaluate(lines_js) == lines and page.evaluate(hover_js) == hover
    choose("fig-map", 1, "尾矿", "material", "tailings")
    lines, hover, shown = python_view(material="tailings")
    assert page.evaluate(lines_js) == lines and page.evaluate(hover_js) == hover
    assert all("尾矿" in h and "钢渣" not in h for h in page.evaluate(hover_js))
    assert page.evaluate("document.getElementById('fig-map')._context.toImageButtonOptions.filename"
                         ) == "区域地图：站点与物料流向（2022年 · 尾矿）"
    assert map_figure(summary, "zh", material="tailings")["layout"]["title"]["text"] == (
        "区域地图：站点与物料流向（2022年 · 尾矿）")
    assert page.evaluate(sites_js) == shown
    choose("fig-map", 0, "2021年", "year", "2021")
    lines, hover, shown = python_view(material="tailings", year=2021)
    assert page.evaluate(lines_js) == lines and page.evaluate(hover_js) == hover
    # the report's own selectors drive the same filter
    page.select_option("#f-material", "*")
    page.wait_for_function("() => document.getElementById('fig-map').dataset.filter.includes('\"material\":\"*\"')")

    # Sankey: province menu shows Hebei's view, with its title and links
    choose("fig-sankey", 0, "河北省", "province", "130000")
    got = page.evaluate("() => { const d = document.getElementById('fig-sankey');"
                        " const t = d.data.filter(t => t.visible === true);"
                        " return [t.length, t[0].meta.province, Array.from(t[0].link.value),"
                        " d.layout.title.text]; }")
    want = sankey_figure(summary, "zh", year=2022, province="130000")
    assert got[0] == 1 and got[1] == "130000"
    assert got[2] == pytest.approx(list(want.data[0].link.value))
    assert got[3] == "物料流（河北省，2022年）"
    assert page.evaluate("document.getElementById('fig-sankey').layout.title.subtitle.text") == (
        want.layout.title.subtitle.text)
    assert page.locator("#fig-sankey .sankey-node").count() >= 6
    assert external == [] and errors == []

    # a phone: menus and legend stay inside the figure, city labels give way
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(600)
    page.evaluate("() => ResynergyCharts.fit(document.getElementById('fig-map'))")
    page.wait_for_timeout(300)
    legend = page.evaluate("() => document.getElementById('fig-map').layout.legend.orientation")
    assert legend == "h"
    box = page.locator("#fig-map").bounding_box()
    for el in page.locator("#fig-map g.updatemenu-header-group").all():
        b = el.bounding_box()
        assert b["x"] >= box["x"] - 1 and b["x"] + b["width"] <= box["x"] + box["width"] + 1
    page.close()
