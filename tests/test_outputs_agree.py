"""Every output of ``resynergy plan`` shows the same numbers (issue 8: "the figures in terminal,
report, xlsx and json agree").

One run of the real command on a tiny scenario with a hand-computed shortage, a corridor with a
rail rule and co-located (on-site) use; then the shortage total and the corridor's rail share are
read back from plan.json, plan.xlsx, report.html and the terminal text, and the largest-flows
tables are checked to hold transport only.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import resynergy.cli.console as console
from resynergy.cli.main import app
from resynergy.planner.plan import TABLES
from resynergy.schema import outputs
from resynergy.schema.numbers import quantity
from resynergy.schema.outputs import bilingual
from support.cases import SRC, rail_case

ONSITE = {"id": "belt", "name_zh": "厂内转运", "name_en": "On site", "cost_per_tkm": 0.0,
          "cost_fixed": 3.0, "co2_per_tkm": 0.0, "circuity": 1.0, "rail": False, "onsite": True,
          **SRC}


def scenario():
    """rail_case: 100 t tailings at A, 6° south of the sand plant at B; rail dear (handling 200 a
    t per terminal) but the corridor A's region → itself must carry half the tailings by rail.
    Here B also holds 100 t of tailings (used on site by the belt), and C, next to B, wants 250 t
    of sand; only 20 t of virgin sand can be bought in the region. Sand made: 200 t, so the
    shortage is 250 − 200 − 20 = 30 t (recycled sand costs less than the shortage price)."""
    s = rail_case(handling=200.0, corridors=[{
        "id": "c1", "from_region": "130800", "to_region": "130800", "material": "tailings",
        "min_rail_share": 0.5}])
    t = s.tables
    sites = t["sites"].copy()
    sites.loc[sites["id"] == "B", "roles"] = "generator;facility"
    supplies = pd.concat([t["supplies"], t["supplies"].assign(site="B")], ignore_index=True)
    demands = t["demands"].assign(quantity_t=250.0)
    modes = pd.concat([t["modes"], pd.DataFrame([ONSITE])], ignore_index=True)
    virgin = pd.DataFrame([{"region": "130800", "material": "manufactured_sand", "year": 2022,
                            "capacity_t": 20.0, "source": "test"}])
    return s.with_tables(sites=sites, supplies=supplies, demands=demands, modes=modes,
                         virgin_supply=virgin)


class Tables(HTMLParser):
    """Text of every <table id=...> cell: {id: [[cell, ...], ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._id = dict(attrs).get("id")
            self.tables[self._id or ""] = []
        elif tag == "tr" and self._id is not None:
            self.tables[self._id].append([])
        elif tag in ("td", "th") and self._id is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._id is not None:
            self.tables[self._id][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("agree")
    scenario().save(tmp / "scenario")
    out = tmp / "out"
    width = console.out._width
    console.out._width = 250  # the runner is no terminal; keep the rich tables on one line each
    try:
        result = CliRunner().invoke(app, ["plan", str(tmp / "scenario"), "--out", str(out),
                                          "--lang", "zh"])
    finally:
        console.out._width = width
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    parser = Tables()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    return {"json": doc, "stdout": result.output, "xlsx": load_workbook(out / "plan.xlsx"),
            "html": parser.tables, "out": out}


def sheet(wb, name: str) -> pd.DataFrame:
    rows = list(wb[outputs.table(name).sheet].values)
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_shortage_total_is_the_same_everywhere(run):
    doc = run["json"]
    total = doc["shortage_totals"]["shortage_t"]
    assert total == pytest.approx(30.0, abs=1e-4)  # hand-computed, see scenario()
    assert doc["totals"]["shortage_t"] == total
    assert doc["shortage_totals"]["by_year"] == [{"year": 2022, "shortage_t": total}]
    assert [r["site"] for r in doc["shortage_totals"]["by_site"]] == ["C"]
    assert sum(r["shortage_t"] for r in doc["shortages"]) == pytest.approx(total)
    xl = sheet(run["xlsx"], "shortages")
    assert xl[bilingual("shortage_t")].sum() == pytest.approx(total)
    assert set(xl[bilingual("site_zh")]) == {"站点C"}
    text = quantity(total, "t", "zh")
    html = run["html"]["table-shortages-zh"]
    assert html[-1][0] == "合计" and html[-1][6] == text
    assert [r[1] for r in html[1:-1]] == ["站点C"]
    lines = run["stdout"].splitlines()
    title = next(i for i, ln in enumerate(lines) if ln.startswith("供应短缺（"))
    body = lines[title:title + 8]
    assert any("站点C" in ln and "manufactured_sand" in ln and text in ln for ln in body)
    assert any("合计" in ln and ln.rstrip(" │").endswith(text) for ln in body)


def test_corridor_rail_share_is_the_same_everywhere(run):
    rows = run["json"]["corridor_shares"]
    assert [(r["corridor"], r["year"]) for r in rows] == [("c1", 2022)]
    share = rows[0]["rail_share"]
    assert share > 0 and rows[0]["min_rail_share"] == 0.5
    xl = sheet(run["xlsx"], "corridor_shares")
    assert xl[bilingual("rail_share")].tolist() == [pytest.approx(share)]
    text = quantity(share, "share", "zh")
    html = run["html"]["table-corridors-zh"]
    head = html[0]
    assert html[1][head.index("铁路占比（吨）")] == text
    assert html[1][head.index("最低铁路占比")] == "50.0%"
    line = next(ln for ln in run["stdout"].splitlines() if "承德 → 承德" in ln)
    assert text in line and "50.0%" in line


def test_onsite_use_is_not_in_the_largest_flows(run):
    flows = pd.read_csv(run["out"] / "flows.csv")
    assert (flows["mode"] == "belt").any()  # the plan does use the belt on site B
    assert run["json"]["totals"]["onsite_t"] == pytest.approx(flows.loc[flows["mode"] == "belt",
                                                                        "t"].sum())
    html = run["html"]["table-flows-zh"]
    assert len(html) > 1 and all(r[3] != "厂内转运" for r in html[1:])
    title = next(i for i, ln in enumerate(run["stdout"].splitlines()) if "最大的" in ln)
    assert "厂内转运" not in "\n".join(run["stdout"].splitlines()[title:title + 20])


def test_corridor_tonnes_leave_out_onsite_use(run):
    # the corridor carries A's 100 t of tailings; B's 100 t on its own site are not transport
    assert run["json"]["corridor_shares"][0]["t"] == pytest.approx(100.0)


def test_every_result_table_is_a_labelled_sheet(run):
    wb = run["xlsx"]
    for name in TABLES:  # the planner's one list; targets come from the monitor's evaluation
        assert outputs.table(name).sheet in wb.sheetnames, name
    labelled = {bilingual(c) for c in outputs.all_columns()}
    for ws in wb.worksheets:
        header = [c.value for c in next(ws.iter_rows(max_row=1))]
        assert set(header) <= labelled, (ws.title, set(header) - labelled)


def test_a_platform_run_keeps_every_result_table(run):
    from resynergy.planner import solve
    from resynergy.services import plans

    s = scenario()
    kept = plans.stored_results(solve(s), s)
    assert set(TABLES) <= set(kept)
    short = kept["shortages"]["data"]
    total = run["json"]["shortage_totals"]["shortage_t"]
    assert sum(r["shortage_t"] for r in short) == pytest.approx(total)
    assert kept["summary"]["data"]["shortage_totals"]["shortage_t"] == pytest.approx(total)
    assert kept["summary"]["data"]["totals"]["shortage_t"] == pytest.approx(total)
    rails = [r["rail_share"] for r in kept["corridor_shares"]["data"]]
    assert rails == [pytest.approx(run["json"]["corridor_shares"][0]["rail_share"])]


def test_province_tables_agree_with_xlsx_and_json(run):
    """Issue 10 item 1: the report's by-province tables show the plan.xlsx / plan.json values."""
    from resynergy.indicators import INDICATORS

    doc, html = run["json"], run["html"]
    ids = {INDICATORS[i].name("zh"): i for i in INDICATORS}
    prov = {(r["indicator"], r["name_zh"], r["year"]): r for r in doc["indicators_by_province"]}
    assert prov, "the scenario has province values"
    table = html["table-province-indicators-zh"]
    head, body = table[0], [r for r in table[1:] if r[2] == "全部物料"]
    years = [int(h) for h in head if h.isdigit()]
    assert body and years == doc["years"]
    for r in body:
        for y in years:
            hit = prov.get((ids[r[0]], r[1], y))
            want = quantity(hit["value"], hit["unit"], "zh") if hit else "—"
            assert r[head.index(str(y))] == want, (r, y)
    # each material's row against the xlsx indicators sheet (province level, that material)
    xl = sheet(run["xlsx"], "indicators")
    mats = xl[(xl[bilingual("level")] == "province") & xl[bilingual("material")].fillna("").ne("")]
    by_mat = [r for r in table[1:] if r[2] != "全部物料"]
    assert len(by_mat) == len(mats.groupby([bilingual(c) for c in ("indicator", "region",
                                                                    "material")]))
    # the targets by province: the province's value of each target's indicator, target year
    # (this scenario has no targets; test_report_province checks them on the built-in plan)
    pt = html["table-province-targets-zh"]
    for r in (r for r in pt[1:] if len(r) > 1):
        tgt = next(t for t in doc["targets"] if t["name_zh"] == r[1])
        hit = prov.get((tgt["indicator"], r[2], tgt["year"]))
        assert r[4] == (quantity(hit["value"], hit["unit"], "zh") if hit else "—"), r
    # the headline count: met of the targets with a figure
    counts = doc["target_counts"]
    total = sum(v for k, v in counts.items() if k != "reported")
    assert f"{counts['met']}/{total}" in (run["out"] / "report.html").read_text(encoding="utf-8")


def test_costs_and_co2_reconcile_with_json(run):
    """Issue 10 item 5: the reconciliation table's figures are plan.json's, and the objective's
    other parts stand apart from the plan cost."""
    doc, rows = run["json"], run["html"]["table-reconcile-zh"]
    head, body = rows[0], {r[0]: r for r in rows[1:]}
    period = head.index("期间合计")
    tot = doc["totals"]
    assert body["规划费用合计"][period] == quantity(tot["cost_yuan"], "yuan", "zh")
    assert body["目标函数"][period] == quantity(doc["objective_yuan"], "yuan", "zh")
    apart = {"virgin_purchase": "外购原生替代品", "shortage": "供应短缺折算",
             "target_penalty": "目标缺口折算"}
    for comp, label in apart.items():
        if f"{comp}_yuan" in tot:
            assert body[label][period] == quantity(tot[f"{comp}_yuan"], "yuan", "zh")
    assert tot["cost_yuan"] + sum(tot.get(f"{c}_yuan", 0.0) for c in apart) == pytest.approx(
        doc["objective_yuan"], rel=1e-9)
    whole = {(r["indicator"], r["year"]): r["value"] for r in doc["indicators"]}
    for y in doc["years"]:
        col = head.index(f"{y}年")
        assert body["二氧化碳减排量"][col] == quantity(whole[("co2_avoided", y)], "kg", "zh")
        assert body["二氧化碳排放（运输与加工）"][col] == quantity(whole[("co2", y)], "kg", "zh")
    emitted = sum(v for k, v in doc["emissions_kg"].items() if k != "virgin_alternative")
    assert body["二氧化碳排放（运输与加工）"][period] == quantity(emitted, "kg", "zh")
    assert emitted == pytest.approx(sum(whole[("co2", y)] for y in doc["years"]), rel=1e-6)
