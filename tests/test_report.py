"""Report outputs on a hand-made plan: files, JSON, XLSX safety, self-contained HTML."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from resynergy.report import findings, write_outputs
from resynergy.report.figures import sankey_figure
from support.toys import toy_plan, toy_scenario


@pytest.fixture(scope="module")
def summary():
    return findings(toy_plan(), toy_scenario())


@pytest.fixture(scope="module")
def outputs(summary, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return out, write_outputs(summary, out)


def test_all_outputs_written(outputs):
    out, paths = outputs
    assert sorted(paths) == ["flows.csv", "flows.parquet", "plan.json", "plan.xlsx",
                             "report.html"]
    assert sorted(p.name for p in out.iterdir()) == sorted(paths)  # no temporary leftovers
    flows = pd.read_parquet(out / "flows.parquet")
    assert len(flows) == len(toy_plan().flows)
    assert flows["from_site_zh"].iloc[0] == "承德尾矿库"
    csv = pd.read_csv(out / "flows.csv", encoding="utf-8-sig")
    assert csv["t"].sum() == pytest.approx(toy_plan().flows["t"].sum())


def test_plan_json(outputs):
    out, _ = outputs
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert doc["status"] == "relaxed" and doc["scenario"] == "toy"
    assert doc["target_counts"] == {"met": 3, "on_track": 0, "at_risk": 0, "missed": 1}
    t = {r["id"]: r for r in doc["targets"]}
    assert t["t_disp"]["status"] == "missed" and t["t_disp"]["shortfall"] == 20.0
    assert t["t_hebei_co"]["shadow_price"] == 12.5  # taken from the planner's targets
    ind = {(r["indicator"], r["year"]): r["value"] for r in doc["indicators"]}
    assert ind[("isw_utilized", 2022)] == 170.0
    assert doc["costs_yuan"]["capex"] == 4000.0
    assert set(doc["outputs"]) == {"flows.csv", "flows.parquet", "plan.xlsx", "report.html",
                                   "plan.json"}


def test_xlsx_sheets_bilingual_headers(outputs):
    out, _ = outputs
    wb = load_workbook(out / "plan.xlsx")
    assert "流向 flows" in wb.sheetnames and "目标 targets" in wb.sheetnames
    assert "诊断 diagnosis" in wb.sheetnames
    ws = wb["流向 flows"]
    headers = [c.value for c in ws[1]]
    assert "吨 / Tonnes" in headers and "起点 / From" in headers
    assert ws.max_row == len(toy_plan().flows) + 1


def test_xlsx_never_writes_formulas(tmp_path):
    s = toy_scenario()
    sites = s.table("sites")
    sites.loc[sites["id"] == "G1", "name_zh"] = '=HYPERLINK("http://evil","x")'
    sites.loc[sites["id"] == "G2", "name_en"] = "@SUM(A1:A9)"
    plan = toy_plan()
    plan.diagnosis = plan.diagnosis.assign(message_en="+cmd|' /C calc'!A0",
                                           message_zh="-2+3")
    summ = findings(plan, s.with_tables(sites=sites))
    write_outputs(summ, tmp_path)
    wb = load_workbook(tmp_path / "plan.xlsx")
    dangerous = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {c.value for c in dangerous} >= {'=HYPERLINK("http://evil","x")', "@SUM(A1:A9)",
                                            "+cmd|' /C calc'!A0", "-2+3"}
    assert all(c.data_type == "s" for c in dangerous)


def test_failed_write_leaves_previous_outputs(summary, tmp_path, monkeypatch):
    (tmp_path / "plan.json").write_text("old", encoding="utf-8")
    import resynergy.report.html as html

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(html, "write_report", boom)
    with pytest.raises(RuntimeError):
        write_outputs(summary, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    assert (tmp_path / "plan.json").read_text(encoding="utf-8") == "old"


def test_html_is_self_contained(outputs):
    out, _ = outputs
    html = (out / "report.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*>", html)
    assert all("src=" not in s for s in scripts)
    assert not re.search(r"<link[^>]+href", html)
    # The only URLs are string constants inside the inlined plotly.js (tile styles it never
    # loads for cartesian and Sankey charts); none appears in the page itself.
    page = re.sub(r"<script>.*?</script>", "", html, count=1, flags=re.S)
    assert not re.findall(r"https?://", page)
    assert "default-src 'none'" in html  # the CSP forbids any fetch from the page


def test_sankey_keeps_the_recycling_loop(summary):
    fig = sankey_figure(summary, "en")
    sk = fig.data[0]
    labels = list(sk.node.customdata)  # node names; the labels also carry tonnes
    edges = {(labels[a], labels[b]) for a, b in zip(sk.link.source, sk.link.target, strict=True)}
    agg, concrete = "▣ Coarse aggregate", "⚙ Ready-mix concrete"
    cdw, crush = "▣ C&D waste", "⚙ Aggregate from tailings"
    assert {(agg, concrete), (concrete, cdw), (cdw, crush), (crush, agg)} <= edges


def test_empty_infeasible_plan_still_reports(tmp_path):
    plan = toy_plan()
    for name in ("flows", "facility_io", "activity", "supply_use", "deliveries", "costs",
                 "emissions"):
        setattr(plan, name, getattr(plan, name).iloc[0:0])
    plan.status, plan.objective = "infeasible", float("nan")
    s = findings(plan, toy_scenario())
    assert s.indicator("isw_utilized", 2022) == 0.0
    assert set(s.targets["status"]) <= {"met", "missed"}
    paths = write_outputs(s, tmp_path)
    doc = json.loads(paths["plan.json"].read_text(encoding="utf-8"))
    assert doc["status"] == "infeasible" and doc["objective_yuan"] is None
    assert doc["diagnosis"][0]["subject"] == "t_hebei_co"


def test_a_plan_that_moves_nothing_still_writes_every_output(tmp_path):
    """Every tonne disposed of (the only demand pays too little): no flows, so the map's site
    filter had nothing to code and raised (str + int on an empty text column); the command then
    wrote no outputs at all."""
    from resynergy.planner import solve
    from support.cases import transport_case

    s = transport_case()
    s = s.with_tables(demands=s.table("demands").assign(value=20.0))
    plan = solve(s)
    assert plan.flows.empty and float(plan.supply_use["disposed_t"].sum()) > 0
    written = write_outputs(findings(plan, s), tmp_path)
    assert {"report.html", "plan.xlsx", "plan.json", "flows.csv"} <= set(written)
    assert json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))["status"] == "optimal"
