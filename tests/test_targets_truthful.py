"""Targets counted the way the plan means them (issue 8): units, scopes, cumulative capacity,
validation before planning, and honest outputs. Tiny scenarios from ``test_planner``."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from resynergy import schema
from resynergy.cli.main import app
from resynergy.monitor.actuals import monitor_actuals
from resynergy.planner import PlanOptions, solve
from resynergy.report import findings
from resynergy.report.exports import plan_json
from resynergy.scenario import ScenarioError
from resynergy.schema import units
from support.cases import siting_case, transport_case

# --- item 1: target units -------------------------------------------------------------------


def test_unit_choices_are_the_unit_table():
    col = next(c for c in schema.columns("targets") if c.name == "unit")
    assert set(col.choices) == set(units.UNITS)
    assert units.factor("亿吨", "t") == 1e8 and units.factor("t", "kg") == 1e3
    with pytest.raises(ValueError):
        units.factor("t", "yuan")


def _hard(unit: str, value: float):
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": value,
                                 "unit": unit}])
    return s.with_tables(demands=s.table("demands").assign(value=20.0))


def test_same_target_in_t_kt_wan_and_yi_tonnes_gives_the_same_plan():
    runs = {}
    for unit, value in (("t", 50.0), ("kt", 0.05), ("万吨", 0.005), ("亿吨", 5e-7)):
        s = _hard(unit, value)
        assert s.table("targets").at[0, "value"] == pytest.approx(50.0)
        assert s.table("targets").at[0, "unit"] == "t"
        plan = solve(s)
        runs[unit] = (plan, findings(plan, s))
    plan_t, sum_t = runs["t"]
    for plan, summ in runs.values():
        assert plan.objective == pytest.approx(plan_t.objective, rel=1e-9)
        assert plan.flows["t"].sum() == pytest.approx(plan_t.flows["t"].sum())
        for a, b in ((plan.targets, plan_t.targets), (summ.targets, sum_t.targets)):
            r, r0 = a.set_index("id").loc["t1"], b.set_index("id").loc["t1"]
            assert r["target"] == pytest.approx(r0["target"]) == pytest.approx(50.0)
            assert r["value"] == pytest.approx(50.0) and r["status"] == r0["status"] == "met"
        assert plan.targets.set_index("id").at["t1", "shadow_price"] == pytest.approx(
            plan_t.targets.set_index("id").at["t1", "shadow_price"], rel=1e-6)


def test_a_target_of_0_2_kt_with_100_t_available_is_missed_everywhere():
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 0.2,
                                 "unit": "kt", "kind": "soft", "penalty": 1e6}])
    plan = solve(s)
    assert plan.targets.set_index("id").at["t1", "status"] == "missed"
    summ = findings(plan, s)
    row = summ.targets.set_index("id").loc["t1"]
    assert row["target"] == pytest.approx(200.0) and row["value"] == pytest.approx(100.0)
    assert row["status"] == "missed" and row["shortfall"] == pytest.approx(100.0)
    assert summ.monitor.counts()["missed"] == 1
    doc = plan_json(summ)
    assert [t["status"] for t in doc["targets"]] == ["missed"]
    actual = plan.flows[["year", "from_site", "to_site", "material", "t", "mode"]].assign(
        distance_km=float("nan"))
    assert monitor_actuals(actual, s).table.set_index("id").at["t1", "status"] == "missed"


def test_a_mass_target_in_yuan_and_an_unknown_unit_or_indicator_are_located_errors():
    s = transport_case()
    bad = pd.DataFrame([
        {"id": "a", "indicator": "isw_utilized", "year": 2022, "value": 1.0, "unit": "yuan",
         "kind": "report", "name_zh": "a", "name_en": "a"},
        {"id": "b", "indicator": "isw_utilized", "year": 2022, "value": 1.0, "unit": "吨",
         "kind": "report", "name_zh": "b", "name_en": "b"},
        {"id": "c", "indicator": "no_such_indicator", "year": 2022, "value": 1.0, "unit": "t",
         "kind": "report", "name_zh": "c", "name_en": "c"},
    ])
    with pytest.raises(ScenarioError) as exc:
        s.with_tables(targets=bad)
    by_code = {i.code: i for i in exc.value.issues}
    assert set(by_code) == {"unit_dimension", "bad_choice", "unknown_indicator"}
    assert by_code["unit_dimension"].row == 2 and "万吨" in by_code["unit_dimension"].text("zh")
    assert by_code["bad_choice"].row == 3 and "万吨" in by_code["bad_choice"].text("en")
    assert by_code["unknown_indicator"].row == 4
    assert "isw_utilized" in by_code["unknown_indicator"].text("en")


# --- item 14: what validates must plan; no traceback reaches a user --------------------------

runner = CliRunner()


@pytest.fixture
def folder(tmp_path):
    s = transport_case(targets=[
        {"id": "t1", "indicator": "isw_utilized", "value": 0.2, "unit": "kt", "kind": "soft",
         "penalty": 1e6},
        {"id": "t2", "indicator": "output_value", "value": 1.0, "unit": "万元", "kind": "report"},
        {"id": "t3", "indicator": "high_value_capacity_added", "value": 1.0, "unit": "t/yr",
         "kind": "report"}])
    return s.save(tmp_path / "s")


def test_bad_time_limit_and_gap_are_usage_errors_before_loading(folder):
    for args in (["--time-limit", "-1"], ["--mip-gap", "5"], ["--time-limit", "0"]):
        r = runner.invoke(app, ["plan", "does-not-exist", *args])
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output


def test_no_feasible_plan_within_the_time_limit_is_a_plain_message(folder, tmp_path):
    r = runner.invoke(app, ["plan", str(folder), "--time-limit", "1e-9", "--lang", "en",
                            "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 1, r.output
    assert "no feasible plan within 1e-09 s" in r.stderr
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)


def test_validate_reports_an_unknown_indicator_and_a_bad_unit_in_one_pass(folder):
    t = (folder / "targets.csv").read_text(encoding="utf-8-sig")
    t = t.replace("isw_utilized", "isw_used").replace(",万元,", ",吨,").replace(
        ",yuan,", ",吨,")
    (folder / "targets.csv").write_text(t, encoding="utf-8")
    r = runner.invoke(app, ["data", "validate", str(folder), "--lang", "en"])
    assert r.exit_code == 1
    assert "unknown indicator" in r.stderr and "isw_used" in r.stderr
    assert "value '吨'" in r.stderr and "万吨" in r.stderr
    r = runner.invoke(app, ["plan", str(folder), "-q"])
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_an_empty_template_does_not_validate(tmp_path):
    book = tmp_path / "t.xlsx"
    assert runner.invoke(app, ["data", "template", str(book)]).exit_code == 0
    for args in (["data", "validate", str(book), "--lang", "en"], ["plan", str(book), "-q",
                                                                    "--lang", "en"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 1, r.output
        assert "no years to plan" in r.stderr


def test_monitor_reads_the_plans_own_flows_and_says_what_flows_cannot_measure(folder, tmp_path):
    out = tmp_path / "o"
    r = runner.invoke(app, ["plan", str(folder), "-q", "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["monitor", str(out / "flows.csv"), "--scenario", str(folder),
                            "--json", "--lang", "en"])
    assert r.exit_code == 0, r.output
    rows = {t["id"]: t for t in json.loads(r.stdout)["targets"]}
    assert rows["t1"]["status"] == "missed" and rows["t1"]["value"] == pytest.approx(100.0)
    for tid in ("t2", "t3"):
        assert rows[tid]["status"] == "not_measurable" and rows[tid]["value"] is None
    summary = json.loads(r.stdout)["summary"]
    assert any("not measurable from flows" in line for line in summary)
    r = runner.invoke(app, ["monitor", str(out / "flows.csv"), "--scenario", str(folder)])
    assert "无法从流向数据计量" in r.stdout


# --- item 4: capacity added counts cumulative additions since the base year ---------------------

def _added_case(**kw):
    """siting_case over 2022–2023, sand counted as high-value, and an existing 50 t/yr sand
    plant FE that opened in 2022 (after the base year 2021)."""
    s = siting_case(**kw)
    proc = s.table("processes").assign(high_value=lambda p: p["id"] == "sand")
    fac = pd.concat([s.table("facilities"), s.table("facilities").iloc[[0]].assign(
        id="FE", candidate=False, capacity_t=50.0, fixed_cost=0.0, year=2022)],
        ignore_index=True)
    sup, dem = s.table("supplies"), s.table("demands")
    return s.with_tables(processes=proc, facilities=fac,
                         supplies=pd.concat([sup, sup.assign(year=2023)], ignore_index=True),
                         demands=pd.concat([dem, dem.assign(year=2023)], ignore_index=True))


def test_a_build_in_an_earlier_year_counts_toward_a_later_capacity_added_target():
    targets = [{"id": "hard23", "indicator": "high_value_capacity_added", "year": 2023,
                "value": 250.0, "unit": "t/yr"},
               {"id": "rep23", "indicator": "high_value_capacity_added", "year": 2023,
                "value": 0.025, "unit": "万吨/年", "kind": "report"}]
    s = _added_case(targets=targets)
    both = solve(s)
    assert both.status == "optimal"  # met by the 2022 build: no second plant for 2023
    act = both.activity.set_index(["facility", "year"])
    assert act.xs(2022, level="year")["new_capacity_t"].sum() == pytest.approx(200.0)
    assert act.xs(2023, level="year")["new_capacity_t"].sum() == pytest.approx(0.0)
    one = solve(s, PlanOptions(years=[2023]))
    for plan in (both, one):
        summ = findings(plan, s)
        for t in (plan.targets, summ.targets):
            row = t.set_index("id").loc["hard23"]
            assert row["value"] == pytest.approx(250.0) and row["status"] == "met"
        assert summ.indicator("high_value_capacity_added", 2023) == pytest.approx(250.0)
        assert summ.targets.set_index("id").at["rep23", "status"] == "met"


# --- items 11 and 12: prefecture and province scopes, every indicator by province -----------------

def test_prefecture_and_province_targets_are_evaluated_in_every_output(tmp_path):
    s = transport_case(targets=[
        {"id": "pref", "indicator": "isw_utilized", "region": "130800", "value": 100.0},
        {"id": "prov", "indicator": "isw_utilized", "region": "130000", "value": 1.0,
         "unit": "万吨", "kind": "report"}])
    folder = s.save(tmp_path / "s")
    out = tmp_path / "o"
    r = runner.invoke(app, ["plan", str(folder), "--json", "-q", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    rows = {t["id"]: t for t in doc["targets"]}
    assert rows["pref"]["value"] == pytest.approx(100.0) and rows["pref"]["status"] == "met"
    assert rows["prov"]["target"] == pytest.approx(1e4) and rows["prov"]["status"] == "missed"
    prov = [p for p in doc["indicators_by_province"] if p["indicator"] == "isw_utilized"]
    assert [(p["province"], p["value"]) for p in prov] == [("130000", pytest.approx(100.0))]
    from openpyxl import load_workbook

    wb = load_workbook(out / "plan.xlsx", read_only=True)
    sheet = list(wb["目标 targets"].iter_rows(values_only=True))
    head = sheet[0]
    got = {r[head.index("代码 / Id")]: r for r in sheet[1:]}
    assert got["pref"][head.index("数值 / Value")] == pytest.approx(100.0)
    assert got["pref"][head.index("状态 / Status")] == "met"
    assert "分省指标 provinces" in wb.sheetnames
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "分省指标" in html and "Indicators by province" in html
    r = runner.invoke(app, ["plan", str(folder), "--out", str(out)])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.stdout.splitlines() if "承德" in x)
    assert "100.0 吨" in line and "达成" in line
    assert "分省指标" in r.stdout


# --- item 14: the headline cost never hides penalties or virgin purchases ------------------------

def test_headline_cost_keeps_penalties_and_virgin_purchases_apart(folder, tmp_path):
    out = tmp_path / "o"
    r = runner.invoke(app, ["plan", str(folder), "--json", "-q", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    costs, totals = doc["costs_yuan"], doc["totals"]
    assert costs["target_penalty"] == pytest.approx(100 * 1000.0)  # 100 t short × 1000 yuan/t
    own = sum(v for k, v in costs.items() if k not in ("target_penalty", "virgin_purchase"))
    assert totals["cost_yuan"] == pytest.approx(own)
    assert totals["target_penalty_yuan"] == pytest.approx(costs["target_penalty"])
    assert totals["virgin_purchase_yuan"] == pytest.approx(costs["virgin_purchase"])
    assert totals["objective_yuan"] == pytest.approx(sum(costs.values()))
    r = runner.invoke(app, ["plan", str(folder), "--out", str(out), "--lang", "en"])
    head = next(x for x in r.stdout.splitlines() if x.startswith("Plan cost"))
    assert "separately: target shortfall, priced 100,000.0 yuan" in head, head
    assert "virgin alternatives bought" not in head  # none bought: not listed
    assert any(x.strip("│ ").startswith("separately: target shortfall, priced")
               for x in r.stdout.splitlines())
