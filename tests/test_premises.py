"""The plan's premises, on tiny scenarios with hand-computed answers (issue 8).

Scarce virgin supply and shortages (item 2), min load of new capacity (item 3), materials that
may not be disposed of (item 7), a minimum new-energy share of road tonne-km (item 8) and
co-located use that is not trucking (item 13). Scenarios come from ``test_planner.tiny``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resynergy.planner import greedy, solve
from resynergy.planner.data import prepare
from resynergy.planner.results import Solution, running_capacity
from support.cases import ROAD, SRC, cost_of, km, road, tiny, transport_case

# --- item 2: scarce virgin supply, shortage ---------------------------------------------------


def scarcity_case(rows: list[dict]) -> object:
    """30 t tailings and a sand plant at A (Chengde): recycled sand costs 10 + 10 + 10 = 30 a t
    (road fixed cost in and out, opex), less than virgin sand (100). A wants 100 t, B (Beijing,
    1° north) 40 t at 120. Virgin sand is limited by ``rows``."""
    s = tiny([("A", 40.0, "generator;facility;demand"), ("B", 41.0, "demand", "110000")],
             supplies=[("A", "tailings", 30.0)], facilities=[("F", "A", "sand", 1000.0)],
             demands=[("A", "manufactured_sand", 100.0, 100.0),
                      ("B", "manufactured_sand", 40.0, 120.0)])
    return s.with_tables(virgin_supply=pd.DataFrame(
        [{"material": "manufactured_sand", "year": 2022, **r} for r in rows]))


def test_capped_virgin_supply_leaves_an_exact_shortage():
    plan = solve(scarcity_case([{"region": "130800", "capacity_t": 50.0}]))
    assert plan.status == "optimal"
    # A: 30 t recycled + 50 t virgin (the cap) + 20 t short; B: no row, so virgin without limit
    short = plan.shortages.set_index("site")
    assert list(short.index) == ["A"]
    assert short.at["A", "shortage_t"] == pytest.approx(20.0)
    assert short.at["A", "virgin_t"] == pytest.approx(50.0)
    assert short.at["A", "delivered_t"] == pytest.approx(30.0)
    assert short.at["A", "shortage_cost"] == pytest.approx(100.0 + 300.0)  # value + policy default
    assert cost_of(plan, "shortage") == pytest.approx(20 * 400.0)
    assert cost_of(plan, "virgin_purchase") == pytest.approx(50 * 100.0 + 40 * 120.0)
    d = plan.deliveries.set_index("site")
    assert d.at["B", "unmet_t"] == pytest.approx(40.0) and d.at["B", "shortage_t"] == 0
    assert plan.scalars()["shortage_t"] == pytest.approx(20.0)
    assert plan.costs["yuan"].sum() == pytest.approx(plan.objective)


def test_nested_regions_both_cap_and_the_row_price_is_used():
    # the province row (40 t) is tighter than the prefecture row (50 t); its price 90 applies
    # where the prefecture row gives none, and the shortage still costs the demand's value + 300
    plan = solve(scarcity_case([{"region": "130800", "capacity_t": 50.0},
                                {"region": "130000", "capacity_t": 40.0, "price": 90.0}]))
    short = plan.shortages.set_index("site")
    assert short.at["A", "virgin_t"] == pytest.approx(40.0)
    assert short.at["A", "shortage_t"] == pytest.approx(30.0)
    assert cost_of(plan, "virgin_purchase") == pytest.approx(40 * 90.0 + 40 * 120.0)
    assert cost_of(plan, "shortage") == pytest.approx(30 * 400.0)


def test_shortage_cost_follows_the_policy_and_no_row_means_unlimited():
    s = scarcity_case([{"region": "130800", "capacity_t": 50.0}])
    plan = solve(s.with_policy(shortage_cost=1000.0))
    assert plan.shortages["shortage_cost"].tolist() == [pytest.approx(1100.0)]
    free = solve(scarcity_case([]))
    assert free.shortages.empty and cost_of(free, "shortage") == 0
    assert free.deliveries["unmet_t"].sum() == pytest.approx(70.0 + 40.0)


def test_greedy_baseline_respects_the_virgin_capacity():
    base = greedy(scarcity_case([{"region": "130800", "capacity_t": 50.0}]))
    d = base.deliveries.set_index("site")
    assert d.at["A", "unmet_t"] == pytest.approx(50.0)
    assert d.at["A", "shortage_t"] == pytest.approx(20.0)
    assert base.balance_residual < 1e-6


# --- item 3: min load -----------------------------------------------------------------------

def idle_case(min_load: float, **kw) -> object:
    """A capacity target of 200 t/yr that only a build meets. Running the plant earns nothing:
    its sand has no buyer (it leaves to the market) and the tailings cost nothing to leave, so
    each t run costs 10 (road in, same site) + 10 (opex). Without a min load the build idles."""
    return tiny([("A", 40.0, "generator"), ("B", 40.0, "facility")],
                supplies=[("A", "tailings", 300.0, {"disposal_cost": 0.0})],
                facilities=[("FB", "B", "sand", 200.0, {"candidate": True})],
                targets=[{"id": "cap", "indicator": "aggregate_capacity", "value": 200.0}],
                policy={"min_load": min_load, "env_tax": 0}, **kw)


def test_a_build_that_counts_toward_a_capacity_target_must_run():
    idle = solve(idle_case(0.0))
    busy = solve(idle_case(0.6))
    a0, a1 = (p.activity.set_index("facility") for p in (idle, busy))
    assert bool(a0.at["FB", "built"]) and a0.at["FB", "input_t"] == pytest.approx(0.0, abs=1e-6)
    assert bool(a1.at["FB", "built"]) and a1.at["FB", "input_t"] == pytest.approx(120.0)
    # what a capacity indicator should count: the idle build nothing, the running one all
    assert a0.at["FB", "running_capacity_t"] == pytest.approx(0.0, abs=1e-3)
    assert a1.at["FB", "running_capacity_t"] == pytest.approx(200.0)
    assert busy.objective - idle.objective == pytest.approx(120 * (ROAD["cost_fixed"] + 10.0))
    # the facilities column overrides the policy default
    s = idle_case(0.6)
    s = s.with_tables(facilities=s.table("facilities").assign(min_load=0.25))
    assert solve(s).activity.set_index("facility").at["FB", "input_t"] == pytest.approx(50.0)


def test_expansion_runs_at_its_min_load():
    s = tiny([("A", 40.0, "generator"), ("B", 40.0, "facility")],
             supplies=[("A", "tailings", 300.0, {"disposal_cost": 0.0})],
             facilities=[("F", "B", "sand", 100.0, {"expandable": True, "max_capacity_t": 300.0})],
             targets=[{"id": "cap", "indicator": "aggregate_capacity", "value": 250.0}],
             policy={"min_load": 0.6, "env_tax": 0})
    plan = solve(s)
    act = plan.activity.set_index("facility")
    assert act.at["F", "capacity_t"] == pytest.approx(250.0)
    # an expansion must be needed: existing capacity full, the 150 t/yr added at its min load
    assert act.at["F", "input_t"] == pytest.approx(100.0 + 0.6 * 150.0)
    assert plan.mip_gap is not None and plan.mip_gap <= 0.01
    # without the capacity target nothing is expanded, and nothing need run
    free = solve(s.with_tables(targets=s.table("targets").iloc[:0]))
    assert free.activity["input_t"].sum() == pytest.approx(0.0, abs=1e-6)
    # what capacity indicators should count: existing + new only as far as it runs
    data = prepare(s)
    sol = Solution.zeros(data)
    sol.exp[0] = 150.0
    sol.act[0] = 145.0  # existing full + 45 t/yr more: half the expansion's min load
    assert running_capacity(data, sol)[0, 0] == pytest.approx(100.0 + 45.0 / 0.6, rel=1e-6)
    sol.act[0] = 190.0  # existing + more than min load of the expansion
    assert running_capacity(data, sol)[0, 0] == pytest.approx(250.0, rel=1e-6)


# --- item 7: materials that may not be disposed of ----------------------------------------

def _materials(no_disposal: set[str]) -> pd.DataFrame:
    rows = [("tailings", "industrial_waste", 0), ("steel_slag", "industrial_waste", 0),
            ("fgd_gypsum", "industrial_waste", 0), ("manufactured_sand", "product", 5),
            ("sw_binder", "product", 700), ("ready_mix_concrete", "product", 100)]
    return pd.DataFrame([{"code": c, "name_zh": c, "name_en": c, "kind": k, "env_tax": 0.0,
                          "co2_virgin": v, "disposal_allowed": c not in no_disposal, **SRC}
                         for c, k, v in rows])


def test_a_material_that_may_not_be_disposed_of_is_used_or_diagnosed():
    def cheap(**kw):
        s = transport_case(**kw)
        return s.with_tables(demands=s.table("demands").assign(value=20.0))

    allowed = solve(cheap())
    # using costs 2 × road(1°) + 10 − 20 saved ≫ 40 of disposal: disposal wins when allowed
    assert allowed.supply_use["disposed_t"].sum() == pytest.approx(100.0)
    banned = solve(cheap(materials=_materials({"tailings"})))
    assert banned.status == "optimal"
    assert banned.supply_use["disposed_t"].sum() == pytest.approx(0.0, abs=1e-6)
    assert banned.objective == pytest.approx(100 * (2 * road(1.0) + 10.0), rel=1e-6)
    assert allowed.objective == pytest.approx(100 * 40.0 + 100 * 20.0, rel=1e-6)
    # too little capacity: the plan is relaxed and the diagnosis names the supply
    small = cheap(materials=_materials({"tailings"}))
    small = small.with_tables(facilities=small.table("facilities").assign(capacity_t=60.0))
    plan = solve(small)
    assert plan.status == "relaxed"
    row = plan.diagnosis[plan.diagnosis["kind"] == "must_use"]
    assert len(row) == 1 and row["amount"].iloc[0] == pytest.approx(40.0)
    assert "禁止处置" in row["message_zh"].iloc[0]


# --- item 8: new-energy share of road tonne-km --------------------------------------------

NEV = {"id": "nev", "name_zh": "新能源", "name_en": "NEV", "cost_per_tkm": 0.6, "cost_fixed": 10.0,
       "co2_per_tkm": 0.0, "circuity": 1.0, "rail": False, "new_energy": True, **SRC}


def _modes(*extra: dict) -> pd.DataFrame:
    return pd.DataFrame([{"id": "road", "name_zh": "公路", "name_en": "Road", **ROAD, "rail": False,
                          **SRC}, *extra])


def test_corridor_minimum_new_energy_share_of_road_tkm():
    corridor = {"id": "K", "from_region": "130800", "to_region": "130800", "material": "tailings",
                "min_rail_share": 0.0}
    base = transport_case(corridors=[corridor]).with_tables(modes=_modes(NEV))
    free = solve(base)
    shares = free.corridor_shares.set_index("corridor")
    assert shares.at["K", "nev_share"] == pytest.approx(0.0)
    assert shares.at["K", "road_tkm"] == pytest.approx(100 * km(1.0))
    ruled = base.with_tables(corridors=pd.DataFrame([{**corridor, "min_nev_share": 0.4}]))
    plan = solve(ruled)
    shares = plan.corridor_shares.set_index("corridor")
    assert shares.at["K", "nev_share"] == pytest.approx(0.4)
    assert shares.at["K", "nev_tkm"] == pytest.approx(40 * km(1.0))
    assert shares.at["K", "min_nev_share"] == 0.4 and shares.at["K", "rail_share"] == 0
    assert plan.objective - free.objective == pytest.approx(40 * (0.6 - 0.5) * km(1.0), rel=1e-6)
    f = plan.flows
    assert f.loc[f["mode"] == "nev", "t"].sum() == pytest.approx(40.0)


# --- item 13: co-located use ----------------------------------------------------------------

ONSITE = {"id": "belt", "name_zh": "厂内转运", "name_en": "On site", "cost_per_tkm": 0.0,
          "cost_fixed": 3.0, "co2_per_tkm": 0.0, "circuity": 1.0, "rail": False, "onsite": True,
          **SRC}


def colocated_case(*modes: dict) -> object:
    """100 t tailings, a sand plant and a sand buyer (value 200) all on site A."""
    s = tiny([("A", 40.0, "generator;facility;demand")], supplies=[("A", "tailings", 100.0)],
             facilities=[("F", "A", "sand", 1000.0)],
             demands=[("A", "manufactured_sand", 100.0, 200.0)])
    return s.with_tables(modes=_modes(*modes))


def test_colocated_use_is_its_own_mode_not_trucking():
    trucked = solve(colocated_case())
    assert set(trucked.flows["mode"]) == {"road"}
    assert cost_of(trucked, "transport") == pytest.approx(2 * 100 * ROAD["cost_fixed"])
    plan = solve(colocated_case(ONSITE))
    assert set(plan.flows["mode"]) == {"belt"}
    assert (plan.flows["distance_km"] == 0).all()
    assert cost_of(plan, "transport") == pytest.approx(0.0)
    assert cost_of(plan, "onsite_handling") == pytest.approx(2 * 100 * 3.0)
    assert plan.objective == pytest.approx(2 * 100 * 3.0 + 100 * 10.0)
    assert plan.costs["yuan"].sum() == pytest.approx(plan.objective)


def test_onsite_mode_is_not_offered_between_sites():
    s = transport_case().with_tables(modes=_modes(ONSITE))
    plan = solve(s)
    assert set(plan.flows["mode"]) == {"road"}
    data = prepare(s)
    same = data.arc.src == data.arc.dst
    assert (data.arc.onsite == same).all() and not np.any(data.arc.onsite & (data.arc.road_km > 0))


def test_unreachable_new_energy_share_is_diagnosed():
    corridor = {"id": "K", "from_region": "130800", "to_region": "130800", "material": "tailings",
                "min_rail_share": 0.0, "min_nev_share": 0.5}
    s = transport_case(corridors=[corridor])  # no new-energy mode at all
    # without one the corridor carries nothing by road; must-use tailings make that infeasible
    plan = solve(s.with_tables(supplies=s.table("supplies").assign(must_use=True)))
    assert plan.status == "relaxed"
    row = plan.diagnosis[plan.diagnosis["kind"] == "corridor_nev"]
    assert len(row) == 1 and row["amount"].iloc[0] == pytest.approx(0.5 * 100 * km(1.0), rel=1e-6)
    assert "新能源" in row["message_zh"].iloc[0]


def test_virgin_supply_rows_are_validated_like_every_table():
    from resynergy.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"virgin_supply, row 2, column capacity_t, value -5"):
        scarcity_case([{"region": "130800", "capacity_t": -5.0}])
