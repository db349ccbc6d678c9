"""Planner on tiny scenarios whose optimum is worked out by hand (the scenarios and the
arithmetic helpers live in ``tests/support/cases.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resynergy.planner import PlanOptions, greedy, solve
from support.cases import (
    RAIL,
    SRC,
    cost_of,
    km,
    rail_case,
    recipe_case,
    road,
    siting_case,
    tiny,
    transport_case,
)

# --- transport ----------------------------------------------------------------------------

def test_transport_optimum_by_hand():
    plan = solve(transport_case())
    assert plan.status == "optimal"
    expected = 100 * road(1.0) + 100 * 10.0 + 100 * road(1.0)  # haul in, opex, haul out
    assert plan.objective == pytest.approx(expected, rel=1e-6)
    assert plan.costs["yuan"].sum() == pytest.approx(plan.objective)
    f = plan.flows
    assert set(f["leg"]) == {"direct"}
    assert f["t"].sum() == pytest.approx(200.0)
    assert f["tkm"].sum() == pytest.approx(200 * km(1.0), rel=1e-9)
    assert plan.deliveries["unmet_t"].sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.supply_use["disposed_t"].sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.balance_residual < 1e-6
    assert plan.mip_gap == 0.0


def test_not_worth_it_disposes_and_buys_virgin():
    # sand worth 20 yuan/t: hauling twice (≈ 2 × 65.6) + opex costs more than disposal (40) + virgin (20)
    s = transport_case()
    s = s.with_tables(demands=s.table("demands").assign(value=20.0))
    plan = solve(s)
    assert plan.objective == pytest.approx(100 * 40 + 100 * 20)
    assert plan.flows.empty


def test_greedy_matches_optimum_when_there_is_one_choice():
    plan, base = solve(transport_case()), greedy(transport_case())
    assert base.status == "heuristic"
    assert base.objective == pytest.approx(plan.objective, rel=1e-9)
    assert base.costs["yuan"].sum() == pytest.approx(base.objective)


def test_products_without_any_sink_leave_to_market_but_sold_ones_must_find_buyers():
    # a binder plant whose product nobody in the scenario buys (market), next to the sand
    # plant whose sand demand is only 10 t: the sand plant may not run beyond what it sells
    s = tiny([("A", 40.0, "generator"), ("B", 40.0, "facility"), ("C", 40.0, "demand")],
             supplies=[("A", "tailings", 40.0), ("A", "steel_slag", 70.0), ("A", "fgd_gypsum", 30.0)],
             facilities=[("FS", "B", "sand", 100.0), ("FB", "B", "binder", 100.0)],
             demands=[("C", "manufactured_sand", 10.0, 500.0)])
    plan = solve(s)
    act = plan.activity.set_index("facility")["input_t"]
    assert act["FS"] == pytest.approx(10.0)
    assert act["FB"] == pytest.approx(0.0)  # market pays nothing; opex 50 > disposal 40
    mkt = solve(s.with_tables(supplies=s.table("supplies").assign(disposal_cost=100.0)))
    assert mkt.market.set_index("material").at["sw_binder", "t"] == pytest.approx(95.0)
    assert mkt.activity.set_index("facility").at["FS", "input_t"] == pytest.approx(10.0)


# --- a recipe with two inputs -------------------------------------------------------------

def test_recipe_is_limited_by_the_scarce_input():
    plan = solve(recipe_case())
    act = plan.activity.set_index("facility")
    assert act.at["F", "input_t"] == pytest.approx(100.0)  # 70 t slag / 0.7
    io = plan.facility_io.set_index(["material", "direction"])["t"]
    assert io[("steel_slag", "in")] == pytest.approx(70.0)
    assert io[("fgd_gypsum", "in")] == pytest.approx(30.0)
    assert io[("sw_binder", "out")] == pytest.approx(95.0)
    use = plan.supply_use.set_index("material")
    assert use.at["fgd_gypsum", "disposed_t"] == pytest.approx(70.0)
    # all sites coincide: each haul costs the fixed 10 yuan/t only
    expected = 100 * 10 + 100 * 50 + 95 * 10 + 70 * 40 + (1000 - 95) * 500
    assert plan.objective == pytest.approx(expected, rel=1e-9)
    assert plan.activity.set_index("facility").at["F", "utilisation"] == pytest.approx(0.1)


# --- rail versus road ---------------------------------------------------------------------

def test_rail_beats_road_on_a_long_haul():
    plan = solve(rail_case())
    f = plan.flows
    legs = f[f["material"] == "tailings"].set_index("leg")
    assert set(legs.index) == {"first_mile", "rail", "last_mile"}
    assert legs["route"].nunique() == 1 and legs["route"].iloc[0] != ""
    assert legs.at["rail", "from_site"] == "TA" and legs.at["rail", "to_site"] == "TB"
    rail_leg = RAIL["cost_per_tkm"] * km(5.8) + 2 * 5.0
    haul = road(0.1) + rail_leg + road(0.1)
    assert haul < road(6.0)
    expected = 100 * haul + 100 * 10 + 100 * 10  # + opex + the on-site delivery B → C
    assert plan.objective == pytest.approx(expected, rel=1e-6)
    assert cost_of(plan, "handling") == pytest.approx(100 * 2 * 5.0)


def test_terminal_capacity_splits_rail_and_road():
    plan = solve(rail_case(capacity=40.0))
    f = plan.flows[plan.flows["material"] == "tailings"]
    assert f.loc[f["leg"] == "rail", "t"].sum() == pytest.approx(40.0)
    assert f.loc[f["leg"] == "direct", "t"].sum() == pytest.approx(60.0)


def test_corridor_rail_share_is_enforced():
    # without the corridor rail wins anyway; make rail dear so road wins, then force 50 % rail
    s = rail_case(handling=200.0)
    assert solve(s).flows["leg"].eq("rail").sum() == 0
    forced = rail_case(handling=200.0, corridors=[{
        "id": "c1", "from_region": "130800", "to_region": "130800", "material": "tailings",
        "min_rail_share": 0.5}])
    f = solve(forced).flows
    t = f[f["material"] == "tailings"]
    assert t.loc[t["leg"] == "rail", "t"].sum() == pytest.approx(50.0)


def test_lane_overrides_cost_and_caps_the_arc():
    s = transport_case(lanes=[{"from_site": "A", "to_site": "B", "mode": "road",
                               "cost_per_t": 1.0, "capacity_t": 60.0}])
    plan = solve(s)
    f = plan.flows.set_index(["from_site", "to_site"])
    assert f.at[("A", "B"), "t"] == pytest.approx(60.0)
    assert f.at[("A", "B"), "cost_yuan"] == pytest.approx(60.0)
    assert plan.supply_use["disposed_t"].sum() == pytest.approx(40.0)


# --- siting -------------------------------------------------------------------------------

def test_siting_builds_the_cheaper_candidate():
    plan = solve(siting_case())
    assert plan.status == "optimal"
    act = plan.activity.set_index("facility")
    assert bool(act.at["FB", "built"]) and not bool(act.at["FC", "built"])
    capex = 200 * 100.0 / 10  # capacity × capex / annuity years (discount 0)
    expected = 5000 + capex + 100 * 10 + 100 * 10 + 100 * 10
    assert plan.objective == pytest.approx(expected, rel=1e-6)
    assert act.at["FB", "new_capacity_t"] == pytest.approx(200.0)
    assert plan.mip_gap is not None and plan.mip_gap <= 0.01
    # the LP re-solved at fixed builds prices capacity
    assert act["capacity_dual"].notna().all()


def test_bigm_linking_reaches_the_same_optimum():
    a = solve(siting_case())
    b = solve(siting_case(), PlanOptions(linking="bigm"))
    assert b.objective == pytest.approx(a.objective, rel=1e-6)


def test_nothing_is_built_when_it_does_not_pay():
    s = siting_case()
    s = s.with_tables(demands=s.table("demands").assign(value=30.0))
    plan = solve(s)
    assert not plan.activity["built"].any()
    assert plan.objective == pytest.approx(100 * 40 + 100 * 30)


# --- targets and infeasibility ------------------------------------------------------------

def test_hard_target_forces_use_and_has_a_shadow_price():
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 50.0}])
    s = s.with_tables(demands=s.table("demands").assign(value=20.0))  # otherwise not worth it
    plan = solve(s)
    row = plan.targets.set_index("id").loc["t1"]
    assert row["value"] == pytest.approx(50.0)
    assert row["status"] == "met"
    # each extra tonne: haul in + opex + haul out − avoided disposal (40) − avoided virgin (20)
    marginal = road(1.0) + 10 + road(1.0) - 40 - 20
    assert row["shadow_price"] == pytest.approx(marginal, rel=1e-6)
    assert (plan.diagnosis["kind"] == "binding_target").any()


def test_soft_target_pays_the_penalty_when_cheaper():
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 50.0,
                                 "kind": "soft", "penalty": 10.0}])
    s = s.with_tables(demands=s.table("demands").assign(value=20.0))
    plan = solve(s)
    assert plan.flows.empty
    assert cost_of(plan, "target_penalty") == pytest.approx(500.0)
    assert plan.costs["yuan"].sum() == pytest.approx(plan.objective)
    assert (plan.diagnosis["kind"] == "cost").any()  # reachable: its cause is cost


def test_over_ambitious_target_yields_a_readable_diagnosis():
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 1000.0,
                                 "name_zh": "利用一千吨", "name_en": "Use 1000 t"}])
    plan = solve(s)
    assert plan.status == "relaxed"
    d = plan.diagnosis.set_index("kind")
    assert d.at["target", "amount"] == pytest.approx(900.0)
    assert "900" in d.at["target", "message_en"] and "Use 1000 t" in d.at["target", "message_en"]
    assert "利用一千吨" in d.at["target", "message_zh"]
    assert "relaxation" in d.index
    assert plan.objective == pytest.approx(plan.costs["yuan"].sum())
    assert plan.targets.set_index("id").at["t1", "status"] == "missed"


def test_must_meet_demand_beyond_supply_is_diagnosed():
    s = transport_case()
    s = s.with_tables(demands=s.table("demands").assign(quantity_t=150.0, must_meet=True))
    plan = solve(s)
    assert plan.status == "relaxed"
    row = plan.diagnosis.set_index("kind").loc["must_meet"]
    assert row["amount"] == pytest.approx(50.0)


def test_infeasible_without_relaxation_reports_no_plan():
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 1000.0}])
    plan = solve(s, PlanOptions(relax_on_infeasible=False))
    assert plan.status == "infeasible"
    assert plan.flows.empty and (plan.diagnosis["kind"] == "no_plan").any()


def test_must_use_supply_without_capacity_is_diagnosed():
    s = transport_case()
    s = s.with_tables(supplies=s.table("supplies").assign(generation_t=1500.0, must_use=True))
    plan = solve(s)
    assert plan.status == "relaxed"
    assert plan.diagnosis.set_index("kind").at["must_use", "amount"] == pytest.approx(1400.0)


# --- policy, objectives, periods ----------------------------------------------------------

def test_co2_cap_limits_transport():
    # transport + process CO2 per t used: 2 hauls of 111 km × 0.06 + 2 (process) ≈ 15.3 kg
    per_t = 2 * km(1.0) * 0.06 + 2.0
    cap_t = 50 * per_t / 1000
    plan = solve(transport_case(policy={"co2_cap_t": cap_t}))
    assert plan.activity["input_t"].sum() == pytest.approx(50.0, rel=1e-6)
    assert plan.emissions.set_index("component").loc[
        ["transport_road", "process"], "kg"].sum() == pytest.approx(cap_t * 1000, rel=1e-6)


def test_carbon_price_is_charged():
    plan = solve(transport_case(policy={"carbon_price": 100.0}))
    kg = plan.emissions.set_index("component").loc[["transport_road", "transport_rail",
                                                    "process"], "kg"].sum()
    assert cost_of(plan, "carbon") == pytest.approx(kg * 0.1)


def test_co2_objective_prefers_recycling_when_virgin_is_dirty():
    # not worth it on cost (sand worth 20) but the virgin alternative emits 500 kg/t
    s = transport_case()
    mats = s.table("materials")
    mats.loc[mats["code"] == "manufactured_sand", "co2_virgin"] = 500.0
    s = s.with_tables(materials=mats, demands=s.table("demands").assign(value=20.0))
    assert solve(s).flows.empty
    assert solve(s, PlanOptions(objective="co2")).activity["input_t"].sum() == pytest.approx(100)


def test_utilization_objective_uses_waste_at_a_loss():
    s = transport_case()
    s = s.with_tables(demands=s.table("demands").assign(value=20.0))
    plan = solve(s, PlanOptions(objective="utilization"))
    assert plan.activity["input_t"].sum() == pytest.approx(100.0)
    assert plan.objective_kind == "utilization"


def test_multi_period_capacity_carries_forward():
    s = siting_case()
    sup = s.table("supplies")
    dem = s.table("demands")
    s = s.with_tables(supplies=pd.concat([sup, sup.assign(year=2023)], ignore_index=True),
                      demands=pd.concat([dem, dem.assign(year=2023)], ignore_index=True))
    plan = solve(s)
    act = plan.activity.set_index(["facility", "year"])
    assert bool(act.at[("FB", 2022), "built"]) and bool(act.at[("FB", 2023), "built"])
    assert act.at[("FB", 2022), "new_capacity_t"] == pytest.approx(200.0)
    assert act.at[("FB", 2023), "new_capacity_t"] == pytest.approx(0.0)
    assert act.at[("FB", 2023), "capacity_t"] == pytest.approx(200.0)
    assert plan.objective == pytest.approx(2 * (5000 + 200 * 10 + 3000), rel=1e-6)


def test_expansion_adds_capacity_at_capex():
    s = transport_case()
    s = s.with_tables(facilities=s.table("facilities").assign(
        capacity_t=60.0, expandable=True, max_capacity_t=80.0, capex=100.0))
    plan = solve(s)
    act = plan.activity.set_index("facility")
    assert act.at["F", "capacity_t"] == pytest.approx(80.0)
    assert act.at["F", "new_capacity_t"] == pytest.approx(20.0)
    assert cost_of(plan, "capex") == pytest.approx(20 * 100.0 / 10)
    assert act.at["F", "capacity_dual"] > 0


def test_progress_is_reported():
    seen: list[tuple[str, float]] = []
    solve(transport_case(), progress=lambda stage, f: seen.append((stage, f)))
    assert seen[0][0] == "network" and seen[-1] == ("done", 1.0)
    assert all(0 <= f <= 1 for _, f in seen)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="objective"):
        PlanOptions(objective="profit")
    with pytest.raises(ValueError, match="year"):
        solve(transport_case(), PlanOptions(years=[1999]))


def test_plan_tables_have_the_contract_columns():
    plan = solve(rail_case())
    assert list(plan.flows.columns[:12]) == [
        "year", "from_site", "to_site", "material", "mode", "leg", "route", "t", "distance_km",
        "tkm", "cost_yuan", "co2_kg"]
    for table, cols in {
        "facility_io": ["year", "facility", "site", "process", "material", "direction", "t"],
        "activity": ["year", "facility", "site", "process", "candidate", "built", "capacity_t",
                     "new_capacity_t", "input_t", "utilisation", "capacity_dual"],
        "supply_use": ["year", "site", "material", "generation_t", "stock_drawn_t", "shipped_t",
                       "disposed_t"],
        "deliveries": ["year", "site", "material", "demand_t", "delivered_t", "unmet_t", "value"],
        "costs": ["component", "yuan"], "emissions": ["component", "kg"],
        "diagnosis": ["kind", "subject", "amount", "unit", "message_zh", "message_en"],
    }.items():
        assert list(getattr(plan, table).columns[:len(cols)]) == cols, table
    assert np.isfinite(plan.timings["total"])
    assert plan.scalars()["status"] == "optimal"


def test_vat_refund_and_env_tax_are_switchable():
    incentives = pd.DataFrame([{
        "id": "vat_sand", "kind": "vat_refund", "process": "sand", "min_waste_share": 0.7,
        "rate": 0.5, "tax_rate": 0.13, "name_zh": "退税", "name_en": "VAT refund", **SRC}])
    s = transport_case()
    mats = s.table("materials")
    mats.loc[mats["code"] == "tailings", "env_tax"] = 15.0
    s = s.with_tables(incentives=incentives, materials=mats)
    plan = solve(s)
    # refund = rate × VAT rate × product value per t input (sand at 200 yuan/t, yield 1)
    assert cost_of(plan, "incentives") == pytest.approx(-100 * 0.5 * 0.13 * 200.0)
    off = solve(s.with_policy(incentives=0))
    assert cost_of(off, "incentives") == 0.0
    assert off.objective - plan.objective == pytest.approx(100 * 0.5 * 0.13 * 200.0)
    # with the tax on, disposing of tailings costs 40 + 15; a cheap product makes disposal win
    cheap = s.with_tables(demands=s.table("demands").assign(value=5.0), incentives=incentives.iloc[:0])
    assert cost_of(solve(cheap), "env_tax") == pytest.approx(100 * 15.0)
    assert cost_of(solve(cheap.with_policy(env_tax=0)), "env_tax") == 0.0


def test_legacy_stock_is_drawn_when_it_pays():
    s = transport_case()
    s = s.with_tables(supplies=s.table("supplies").assign(stock_t=500.0, stock_draw_max_t=30.0),
                      demands=s.table("demands").assign(quantity_t=200.0))
    plan = solve(s)
    use = plan.supply_use.iloc[0]
    assert use["stock_drawn_t"] == pytest.approx(30.0)
    assert use["shipped_t"] == pytest.approx(130.0)


def test_weights_blend_cost_and_co2():
    s = transport_case()
    mats = s.table("materials")
    mats.loc[mats["code"] == "manufactured_sand", "co2_virgin"] = 500.0
    s = s.with_tables(materials=mats, demands=s.table("demands").assign(value=20.0))
    assert solve(s, PlanOptions(weights={"cost": 1.0, "co2": 0.001})).flows.empty
    blend = solve(s, PlanOptions(weights={"cost": 1.0, "co2": 0.5}))
    assert blend.activity["input_t"].sum() == pytest.approx(100.0)
    assert blend.objective_kind == "blend"
    with pytest.raises(ValueError, match="weight"):
        PlanOptions(weights={"profit": 1.0})


def test_iis_is_reported_on_request():
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 1000.0}])
    plan = solve(s, PlanOptions(iis=True))
    iis = plan.diagnosis[plan.diagnosis["kind"] == "iis"]
    assert len(iis) >= 1
    assert iis["subject"].str.contains("target").any()
