"""Properties of the planner on random small scenarios (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resynergy.planner import greedy, solve
from support.cases import tiny

PROPS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                 derandomize=True)


@st.composite
def scenarios(draw):
    """2–4 generators of tailings / slag / gypsum, 1–3 facilities (sand or binder), 1–3 demand
    sites, all within 3° of latitude; quantities, prices and capacities drawn at random."""
    lat = st.floats(40.0, 43.0)
    n_gen = draw(st.integers(2, 4))
    n_fac = draw(st.integers(1, 3))
    n_dem = draw(st.integers(1, 3))
    sites, supplies, facilities, demands = [], [], [], []
    for i in range(n_gen):
        sites.append((f"G{i}", draw(lat), "generator"))
        for mat in draw(st.sets(st.sampled_from(["tailings", "steel_slag", "fgd_gypsum"]),
                                min_size=1, max_size=2)):
            supplies.append((f"G{i}", mat, draw(st.floats(10, 500))))
    for i in range(n_fac):
        sites.append((f"F{i}", draw(lat), "facility"))
        facilities.append((f"PF{i}", f"F{i}", draw(st.sampled_from(["sand", "binder"])),
                           draw(st.floats(20, 600))))
    for i in range(n_dem):
        sites.append((f"D{i}", draw(lat), "demand"))
        for mat in draw(st.sets(st.sampled_from(["manufactured_sand", "sw_binder"]),
                                min_size=1, max_size=2)):
            demands.append((f"D{i}", mat, draw(st.floats(10, 400)), draw(st.floats(20, 600))))
    return tiny(sites, supplies, facilities, demands)


@PROPS
@given(scenarios())
def test_balances_close_and_costs_decompose(s):
    plan = solve(s)
    assert plan.status == "optimal"
    assert plan.balance_residual < 1e-6
    assert (plan.flows["t"] > 0).all()
    # the components of the cost add up to the objective, and to what the solver minimised
    assert plan.costs["yuan"].sum() == pytest.approx(plan.objective)
    assert plan.objective == pytest.approx(plan.solver_objective, rel=1e-7, abs=1e-4)
    # supply is shipped or disposed; demand delivered or bought as virgin
    use = plan.supply_use
    assert np.allclose(use["shipped_t"] + use["disposed_t"], use["generation_t"] + use["stock_drawn_t"])
    dl = plan.deliveries
    assert np.allclose(dl["delivered_t"] + dl["unmet_t"], dl["demand_t"])
    act = plan.activity
    assert (act["input_t"] <= act["capacity_t"] * (1 + 1e-9) + 1e-6).all()


@PROPS
@given(scenarios(), st.floats(1.0, 3.0))
def test_more_capacity_never_costs_more(s, factor):
    base = solve(s).objective
    fac = s.table("facilities")
    bigger = s.with_tables(facilities=fac.assign(capacity_t=fac["capacity_t"] * factor))
    assert solve(bigger).objective <= base * (1 + 1e-9) + 1e-6


@PROPS
@given(scenarios())
def test_greedy_is_feasible_and_never_beats_the_optimum(s):
    opt, base = solve(s), greedy(s)
    assert base.balance_residual < 1e-6
    assert base.costs["yuan"].sum() == pytest.approx(base.objective)
    assert base.objective >= opt.objective * (1 - 1e-9) - 1e-6
