"""The built-in dataset plans to optimality, with every mass balance closed."""

from __future__ import annotations

import numpy as np
import pytest

from resynergy.planner import PlanOptions, greedy, solve


@pytest.fixture(scope="module")
def scenario(builtin_scenario):
    return builtin_scenario


@pytest.fixture(scope="module")
def plan(scenario):
    """Every year of the built-in data (2020–2022), unlike the session's 2022-only plan."""
    return solve(scenario, PlanOptions(time_limit=300))


def test_builtin_plans_to_optimality(plan):
    assert plan.status == "optimal"
    assert plan.mip_gap is not None and plan.mip_gap <= 0.01
    assert plan.balance_residual < 1e-6
    assert plan.costs["yuan"].sum() == pytest.approx(plan.objective)
    assert len(plan.flows) > 100
    assert {"direct", "first_mile", "rail", "last_mile"} <= set(plan.flows["leg"])


def test_builtin_plan_respects_capacities_and_reports_targets(plan, scenario):
    act = plan.activity
    assert (act["input_t"] <= act["capacity_t"] * (1 + 1e-7) + 1e-3).all()
    t = plan.targets
    assert set(t["id"]) == set(scenario.table("targets")["id"])
    modelled = t[t["kind"].isin(["hard", "soft"])]
    assert modelled["value"].notna().all()
    assert modelled["shadow_price"].notna().any()


def test_every_node_balances_in_the_builtin_plan_tables(plan):
    """Re-derive the balances from the published tables (independently of the solver arrays)."""
    f = plan.flows
    keys = ["year", "facility", "material"]
    arrive = f[f["leg"].isin(["direct", "last_mile"]) & (f["to_facility"] != "")]
    arrive = arrive.rename(columns={"to_facility": "facility"}).groupby(keys)["t"].sum()
    io = plan.facility_io.groupby(keys + ["direction"])["t"].sum().unstack("direction")
    fed = io["in"].dropna()
    assert np.allclose(arrive.reindex(fed.index).fillna(0), fed, rtol=1e-6, atol=1e-3)
    leave = f[f["leg"].isin(["direct", "first_mile"]) & (f["from_facility"] != "")]
    leave = leave.rename(columns={"from_facility": "facility"}).groupby(keys)["t"].sum()
    sold = plan.market.groupby(keys)["t"].sum()
    made = io["out"].dropna()
    shipped = leave.reindex(made.index).fillna(0) + sold.reindex(made.index).fillna(0)
    assert np.allclose(shipped, made, rtol=1e-6, atol=1e-3)
    sup = f[f["leg"].isin(["direct", "first_mile"]) & (f["from_facility"] == "")]
    sup = sup.groupby(["year", "from_site", "material"])["t"].sum()
    use = plan.supply_use.set_index(["year", "site", "material"])
    assert np.allclose(sup.reindex(use.index).fillna(0), use["shipped_t"], rtol=1e-6, atol=1e-3)
    assert np.allclose(use["shipped_t"] + use["disposed_t"],
                       use["generation_t"] + use["stock_drawn_t"], rtol=1e-6, atol=1e-3)


def test_optimisation_beats_the_greedy_baseline(plan, scenario):
    base = greedy(scenario)
    assert base.status == "heuristic"
    assert base.balance_residual < 1e-6
    assert base.objective > plan.objective


def test_builtin_plan_premises(plan, scenario):
    """Issue 8: no retired battery is disposed of, no new capacity idles below its min load,
    and aggregate demand beyond recycled + virgin supply is reported as a shortage."""
    use = plan.supply_use
    assert use.loc[use["material"] == "retired_batteries", "disposed_t"].sum() == pytest.approx(
        0.0, abs=1e-3)
    act = plan.activity
    fac = scenario.table("facilities").set_index("id")
    min_load = fac["min_load"].fillna(scenario.policy("min_load")).reindex(act["facility"])
    new = act["new_capacity_t"].groupby(act["facility"]).cumsum()  # built or expanded so far
    existing = np.where(new > 1e-3, act["capacity_t"] - new, 0.0)  # full before expanding
    need = existing + min_load.to_numpy() * new.to_numpy()
    idle = act["input_t"] < need * (1 - 1e-6) - 1e-3
    assert not idle.any(), act[idle]
    built = act[act["candidate"] & act["built"]]
    assert (built["input_t"] >= 0.6 * built["capacity_t"] * (1 - 1e-6)).all()
    # shortages close each demand's balance and sit only where virgin supply is capped
    short = plan.shortages
    assert len(short) and (short["shortage_t"] > 0).all()
    assert np.allclose(short["delivered_t"] + short["virgin_t"] + short["shortage_t"],
                       short["demand_t"], rtol=1e-6)
    capped = scenario.table("virgin_supply")
    assert set(short["material"]) <= set(capped["material"])
    assert plan.costs.set_index("component").at["shortage", "yuan"] > 0


def test_builtin_high_value_capacity_counts_builds_of_earlier_years(plan, scenario):
    """新增高值化利用能力 in 2022 counts every high-value addition since the base year (2019):
    builds and expansions of 2020–2022 and the dataset's own plants opened since 2020."""
    from resynergy.indicators.definitions import base_year

    act = plan.activity
    high = set(scenario.table("processes").query("high_value")["id"])
    fac = scenario.table("facilities").set_index("id")
    opened = fac[~fac["candidate"] & (fac["year"] > base_year(scenario.years))
                 & (fac["year"] <= 2022) & fac["process"].isin(high)]["capacity_t"].sum()
    planned = act[act["process"].isin(high) & (act["year"] <= 2022)]["new_capacity_t"].sum()
    earlier = act[act["process"].isin(high) & (act["year"] < 2022)]["new_capacity_t"].sum()
    row = plan.targets.set_index("id").loc["plan2022_high_value_capacity_added"]
    assert row["value"] == pytest.approx(opened + planned, rel=1e-6)
    assert earlier + opened > 0  # the case the old rule (2022 additions only) missed
