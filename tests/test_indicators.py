"""Indicators on hand-made flow tables with answers worked out by hand (see tests/support/toys.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from resynergy.indicators import INDICATORS, attainment, evaluate, evaluate_all, evaluate_plan
from resynergy.indicators.definitions import BASES
from resynergy.indicators.evaluate import _BASIS
from support.toys import toy_flows, toy_plan, toy_scenario

HEBEI, BEIJING, TIANJIN = "130000", "110000", "120000"
TOTAL_TKM = 90 * 10 + 90 * 200 + 90 * 20 + 30 * 5 + 40 * 50 + 30 * 50 + 10 * 150 + 50 * 150 \
    + 81 * 30 + 50 * 10  # 36 280


def total(indicator, flows=None, scenario=None, **kw):
    v = evaluate(indicator, toy_flows() if flows is None else flows, scenario or toy_scenario(),
                 level="total", by_material=False, **kw)
    return float(v.loc[v["year"] == 2022, "value"].sum())


def by(indicator, level="province", by_material=False, **kw):
    v = evaluate(indicator, toy_flows(), toy_scenario(), level=level, by_material=by_material,
                 **kw)
    key = "material" if by_material else "region"
    return dict(zip(v[key], v["value"], strict=True))


def test_every_basis_has_an_evaluator():
    assert set(_BASIS) == set(BASES)
    assert {i.basis for i in INDICATORS.values()} <= set(_BASIS)


def test_a_tonne_counts_once_along_a_chain():
    # Tailings pass two rail terminals before F1: counted once (90), not at T1/T2 (2 × 90).
    # Steel slag: 40 t enter F2, which passes 10 t on to F4: 30 + 10 = 40, not 50.
    # Binder made at F2 and used in concrete at F3 is a product: not counted.
    naive = toy_flows().query("material in ['tailings','steel_slag','fly_ash']")
    assert naive["t"].sum() - 30 == 350  # what summing every arriving waste leg would say
    assert total("isw_utilized") == pytest.approx(160.0)
    assert by("isw_utilized", by_material=True) == pytest.approx(
        {"tailings": 90.0, "steel_slag": 40.0, "fly_ash": 30.0})


def test_input_counted_by_origin_province_and_prefecture():
    # All waste comes from Hebei even though F1 is in Beijing and F4 in Tianjin.
    assert by("isw_utilized") == pytest.approx({HEBEI: 160.0})
    pref = by("isw_utilized", level="prefecture")
    assert pref == pytest.approx({"130800": 90.0, "130200": 70.0})


def test_process_flag_and_material_kind():
    assert total("co_utilization") == pytest.approx(70.0)  # binder only: 30+10 slag, 30 ash
    assert total("recycled_resources") == 0.0


def test_capacity_is_not_output_and_excludes_candidates_and_future_plants():
    # f1 agg 200 t/yr input × yield 0.9; candidate f5 and f6 (from 2023) do not count.
    assert total("aggregate_capacity") == pytest.approx(180.0)
    assert by("aggregate_capacity") == pytest.approx({BEIJING: 180.0})
    # High-value capacity added in 2022: f2 (100 t/yr) only; f4 dates from 2020.
    assert total("high_value_capacity_added") == pytest.approx(100.0)


def test_output_value_counts_final_products_once_at_virgin_price():
    # 81 t aggregate × 60 + 50 t concrete × 300; the binder inside the concrete is not added.
    assert total("output_value") == pytest.approx(81 * 60 + 50 * 300)
    assert by("output_value") == pytest.approx({BEIJING: 4860.0, TIANJIN: 15000.0})


def test_site_labels_are_not_counted():
    # The toy sites carry labels (base:…, park:…); count targets count programmes (see
    # test_programmes), so a label alone makes no base.
    assert total("isw_bases") == 0
    assert total("recycling_parks") == 0


def test_rail_share_is_a_ratio_of_sums():
    assert total("rail_share") == pytest.approx(18000 / TOTAL_TKM)
    hebei_tkm = TOTAL_TKM - 81 * 30 - 50 * 10
    assert by("rail_share") == pytest.approx({HEBEI: 18000 / hebei_tkm, BEIJING: 0.0,
                                              TIANJIN: 0.0})


def test_disposal_stock_and_co2():
    assert total("disposal") == pytest.approx(30.0)
    # G1 ships 120 t but generates 100 t: 20 t of legacy stock were drawn.
    assert total("stock_drawn") == pytest.approx(20.0)
    transport = (TOTAL_TKM - 18000) * 0.1 + 18000 * 0.01
    process = 90 * 2 + 60 * 10 + 10 * 10 + 50 * 5
    assert total("co2") == pytest.approx(transport + process)
    assert total("co2_avoided") == pytest.approx(81 * 5 + 50 * 250 - transport - process)


def test_report_only_target_without_figure_is_reported_never_met():
    """A report-only target of 0 (the plan sets no figure, e.g. kiln co-processing) shows its
    value but is neither met nor missed, in attainment, the monitor's counts and its summary."""
    from resynergy.monitor import monitor

    t = pd.DataFrame({"id": ["nofig", "floor0"], "indicator": "isw_utilized", "region": "",
                      "material": "", "year": 2022, "value": 0.0, "kind": ["report", "soft"],
                      "unit": "t", "name_zh": ["无数量", "零目标"], "name_en": ["no figure", "zero"]})
    v = pd.DataFrame({"indicator": ["isw_utilized"], "region": "", "material": "", "year": [2022],
                      "value": [7.0]})
    a = attainment(t, v).set_index("id")
    assert a.loc["nofig", "status"] == "reported" and a.loc["nofig", "value"] == 7.0
    assert math.isnan(a.loc["nofig", "attainment"]) and math.isnan(a.loc["nofig", "shortfall"])
    assert math.isnan(a.loc["nofig", "target"])  # no figure: shown as "—", never "0 t"
    assert a.loc["floor0", "status"] == "met"
    m = monitor(t, v, complete=True)
    assert m.counts() == {"met": 1, "on_track": 0, "at_risk": 0, "missed": 0, "reported": 1}
    assert "仅报告（计划未设数量）1 项" in m.status_text("zh")
    assert "1 reported only" in m.status_text("en")


def test_plan_tables_take_precedence_and_on_site_use_counts_where_it_happens():
    plan = toy_plan()
    s = toy_scenario()
    kw = dict(facility_io=plan.facility_io, activity=plan.activity, supply_use=plan.supply_use,
              deliveries=plan.deliveries)
    # F1 uses 100 t of tailings, 90 t arrived from Chengde: 10 t on site in Beijing.
    v = evaluate("isw_utilized", plan.flows, s, **kw)
    assert dict(zip(v["region"] + "/" + v["material"], v["value"], strict=True)) == pytest.approx(
        {f"{HEBEI}/tailings": 90.0, f"{BEIJING}/tailings": 10.0, f"{HEBEI}/steel_slag": 40.0,
         f"{HEBEI}/fly_ash": 30.0})
    # Built candidate f5 (400 t/yr) now adds aggregate capacity.
    assert total("aggregate_capacity", flows=plan.flows, **kw) == pytest.approx(600 * 0.9)
    # ... but only as far as it runs: a plan that ran f5 for 100 t/yr of it counts that
    act = plan.activity.assign(running_capacity_t=plan.activity["capacity_t"])
    act.loc[act["facility"] == "f5", "running_capacity_t"] = 100.0
    idle = {**kw, "activity": act}
    assert total("aggregate_capacity", flows=plan.flows, **idle) == pytest.approx(300 * 0.9)
    # f2 (100 t/yr, high value) opened in 2022, after the base year 2021: added with or without
    # the plan's tables; the plan builds no high-value candidate.
    assert total("high_value_capacity_added", flows=plan.flows, **kw) == pytest.approx(100.0)
    assert total("disposal", flows=plan.flows, **kw) == 30.0


def test_manifest_without_legs_or_routes():
    f = pd.DataFrame({"year": [2022, 2022], "from_site": ["G2", "G2"], "to_site": ["F2", "D1"],
                      "material": ["steel_slag", "steel_slag"], "t": [40.0, 5.0]})
    assert total("isw_utilized", flows=f) == pytest.approx(40.0)
    assert total("rail_share", flows=f) == 0.0


def test_missing_flow_columns_are_named():
    with pytest.raises(ValueError, match="material, t"):
        evaluate("isw_utilized", pd.DataFrame({"year": [2022], "from_site": ["G1"],
                                               "to_site": ["F1"]}), toy_scenario())


def test_evaluate_all_has_totals_and_splits():
    v = evaluate_all(toy_flows(), toy_scenario())
    assert set(v["indicator"]) == set(INDICATORS)
    row = v[(v["indicator"] == "isw_utilized") & (v["region"] == "") & (v["material"] == "")]
    assert row["value"].item() == pytest.approx(160.0)
    assert not v.duplicated(["indicator", "region", "material", "year"]).any()
    plan_values = evaluate_plan(toy_plan(), toy_scenario())
    row = plan_values.query("indicator == 'isw_utilized' and region == '' and material == ''")
    assert row["value"].item() == pytest.approx(170.0)


def test_attainment_floors_ceilings_and_scopes():
    s = toy_scenario()
    a = attainment(s.table("targets"), evaluate_all(toy_flows(), s)).set_index("id")
    assert a.loc["t_isw", "status"] == "met" and a.loc["t_isw", "value"] == pytest.approx(160)
    assert a.loc["t_agg", "status"] == "missed"
    assert a.loc["t_agg", "shortfall"] == pytest.approx(320.0)
    assert a.loc["t_agg", "attainment"] == pytest.approx(0.36)
    assert a.loc["t_hebei_co", "value"] == pytest.approx(70.0)  # scope: Hebei only
    assert a.loc["t_hebei_co", "status"] == "met"
    # Disposal is a ceiling: 30 t against at most 10 t.
    assert a.loc["t_disp", "status"] == "missed"
    assert a.loc["t_disp", "shortfall"] == pytest.approx(20.0)
    assert a.loc["t_disp", "attainment"] == pytest.approx(1 / 3)


def test_target_without_value_is_missed_not_invented():
    s = toy_scenario()
    t = s.table("targets").iloc[:1].assign(year=2030)
    a = attainment(t, evaluate_all(toy_flows(), s))
    assert a["status"].item() == "missed" and math.isnan(a["value"].item())


def test_attainment_with_zeros_and_object_dtypes():
    t = pd.DataFrame({"id": ["floor0", "ceil", "floor"], "indicator": ["isw_utilized", "co2",
                      "isw_utilized"], "region": "", "material": "", "year": 2022,
                      "value": [0.0, 10.0, 5.0], "kind": "soft", "unit": "t",
                      "name_zh": "x", "name_en": "x"})
    v = pd.DataFrame({"indicator": ["isw_utilized", "co2"], "region": "", "material": "",
                      "year": 2022, "value": pd.Series([0, 0], dtype=object)})
    a = attainment(t, v).set_index("id")
    assert a.loc["floor0", "status"] == "met" and a.loc["floor0", "attainment"] == 1.0
    assert a.loc["ceil", "status"] == "met" and a.loc["ceil", "attainment"] == 1.0
    assert a.loc["floor", "status"] == "missed" and a.loc["floor", "attainment"] == 0.0
    assert a.loc["floor", "shortfall"] == 5.0


def test_complete_evaluations_count_an_empty_scope_as_zero():
    s = toy_scenario()
    t = s.table("targets").iloc[:1].assign(region="120000")  # Tianjin generates no waste
    v = evaluate_all(toy_flows(), s)
    assert attainment(t, v)["status"].item() == "missed"
    assert math.isnan(attainment(t, v)["value"].item())  # reported statistics: unknown
    full = attainment(t, v, complete=True)
    assert full["value"].item() == 0.0 and full["shortfall"].item() == 150.0
