"""Objective weights, the objective switch and the price-only policy (tax incentives, environmental
tax, discount rate, ...) changed in place (planner/resolve.py): the column costs come from the one
definition the linopy build uses (model.objective_coefficients), and a warm sweep point gives what
a cold plan of the same point gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from resynergy import synth
from resynergy.planner import PlanOptions
from resynergy.planner.data import PRICE_POLICY, prepare, repriced
from resynergy.planner.model import build, objective_coefficients
from resynergy.planner.resolve import Resolver, Sweep
from resynergy.planner.results import target_values
from resynergy.planner.sweep import solve_many

OPTIONS = PlanOptions(mip_gap=1e-7, time_limit=120)
BLEND = {"cost": 1.0, "co2": 0.5}  # 500 yuan per t CO2 on top of the cost


@pytest.fixture(scope="module")
def base():
    return synth.scenario(60, seed=5)


@pytest.fixture(scope="module")
def data(base):
    return prepare(base)


def _costs(data, weights) -> np.ndarray:
    """The column costs HiGHS gets from the linopy build."""
    return np.array(build(data, weights).model.to_highspy().getLp().col_cost_, dtype=float)


@pytest.mark.parametrize("weights", [{"cost": 1.0}, BLEND, {"utilization": 1.0, "cost": 1e-4}])
def test_the_build_and_the_resolver_price_columns_alike(data, weights):
    r = Resolver.cold(data, {"cost": 1.0}, OPTIONS)
    policy = {"incentives": 0.0, "env_tax": 0.0, "carbon_price": 80.0, "discount_rate": 0.1}
    r.set_objective(weights, policy)
    cold = _costs(repriced(data, policy), weights)
    assert r._cost == pytest.approx(cold, rel=1e-12, abs=1e-12)
    assert np.asarray(r.h.getLp().col_cost_) == pytest.approx(cold, rel=1e-12, abs=1e-12)
    assert r.data.policy["incentives"] == 0.0 and not r.data.facility.incentive.any()
    assert r.data.facility.incentive_rate.any()  # the switch, not the rates, turned them off


def test_objective_coefficients_cover_every_priced_column(data):
    built = build(data, BLEND)
    cost = np.array(built.model.to_highspy().getLp().col_cost_, dtype=float)
    r = Resolver(built, BLEND, OPTIONS, built.model.to_highspy())
    covered = np.zeros(len(cost), dtype=bool)
    for name in objective_coefficients(data, BLEND):
        pos = r.cols(name)
        if pos is not None:
            covered[pos[pos >= 0]] = True
    assert (cost[~covered] == 0).all()  # nothing priced outside the one definition
    assert (cost[covered] != 0).any()


def test_repriced_refuses_what_changes_rows_and_leaves_data_alone(data):
    before = data.facility.capex_annual.copy()
    again = repriced(data, {"annuity_years": 30.0})
    assert (again.facility.capex_annual < before).all() or not before.any()
    assert data.facility.capex_annual == pytest.approx(before)
    assert data.policy["annuity_years"] == 15.0
    with pytest.raises(ValueError, match="k_nearest"):
        repriced(data, {"k_nearest": 3.0})
    assert "co2_cap_t" not in PRICE_POLICY and "min_load" not in PRICE_POLICY


def test_objective_changes_in_place_are_undone(data):
    r = Resolver.cold(data, {"cost": 1.0}, OPTIONS)
    first = r.solve()
    cost = r._cost.copy()
    with r.changes():
        r.set_objective(BLEND, {"incentives": 0.0})
        assert r.solve().objective != pytest.approx(first.objective, rel=1e-6)
    assert r._cost == pytest.approx(cost, rel=0, abs=0)
    assert r.data.policy["incentives"] == 1.0 and r.weights == {"cost": 1.0}
    assert r.solve().objective == pytest.approx(first.objective, rel=1e-6)


def _point(sweep: Sweep, scenario, options):
    r = sweep.point(scenario, options)
    assert r is not None, "planned cold"
    return r, r.solve()


def _cold(scenario, options):
    r = Resolver.cold(prepare(scenario), options.blend(), options)
    return r, r.solve()


def _same(warm, cold, data) -> None:
    (rw, w), (rc, c) = warm, cold
    assert w.status == c.status == "optimal"
    assert w.objective == pytest.approx(c.objective, rel=1e-6)
    assert target_values(data, w.solution) == pytest.approx(
        target_values(data, c.solution), rel=1e-6, abs=1e-3)
    for part in ("x", "act", "disp", "unmet"):
        assert getattr(w.solution, part).sum() == pytest.approx(
            getattr(c.solution, part).sum(), rel=1e-6, abs=1e-3), part
    # the duals with the builds fixed (as the plan prices them)
    dw, dc = rw.price_fixed(w.solution), rc.price_fixed(c.solution)
    assert np.isfinite(dw.target_dual).tolist() == np.isfinite(dc.target_dual).tolist()
    assert dw.target_dual == pytest.approx(dc.target_dual, rel=1e-5, abs=1e-3, nan_ok=True)


def test_weights_objective_and_incentive_switches_in_place_match_cold_builds(base):
    sweep = Sweep()
    first = Resolver.cold(prepare(base), OPTIONS.blend(), OPTIONS)
    assert first.solve().status == "optimal"
    sweep.remember(base, OPTIONS, first)
    points = [
        ("blend with co2", base, dataclasses.replace(OPTIONS, weights=BLEND)),
        ("co2", base, dataclasses.replace(OPTIONS, objective="co2")),
        ("utilization", base, dataclasses.replace(OPTIONS, objective="utilization")),
        ("no incentives", base.with_policy(incentives=0), OPTIONS),
        ("no env tax, 10 % discount, co2", base.with_policy(env_tax=0, discount_rate=0.1),
         dataclasses.replace(OPTIONS, objective="co2")),
        ("back to the start", base, OPTIONS),
    ]
    objectives = set()
    for label, scenario, options in points:
        warm = _point(sweep, scenario, options)
        cold = _cold(scenario, options)
        assert warm[0].weights == options.blend(), label
        _same(warm, cold, cold[0].data)
        objectives.add(round(cold[1].objective, 3))
    assert (sweep.warm, sweep.cold) == (len(points), 0)
    assert len(objectives) == len(points)  # each point changed the optimum: a stale model fails


def test_compare_varies_the_objective_and_the_incentives_in_place(base):
    from resynergy.api import compare

    c = compare({"s": base}, vary={"policy.incentives": [1, 0], "objective": ["cost", "co2"]},
                time_limit=OPTIONS.time_limit, mip_gap=OPTIONS.mip_gap)
    labels = list(c.plans)
    assert len(labels) == 4
    assert ["resolve" in c.plans[k].timings for k in labels] == [False, True, True, True]
    assert c.in_place == labels[1:]
    plans = {(k.split("incentives=")[1][0], k.split("objective=")[1]): p for k, p in c.plans.items()}
    for (incentives, _), p in plans.items():
        assert p.status == "optimal"
        assert (p.incentives["yuan"].abs().sum() > 0) == (incentives == "1")
    for incentives in "10":
        cost, co2 = plans[(incentives, "cost")], plans[(incentives, "co2")]
        assert co2.objective_kind == "co2" and cost.objective_kind == "cost"
        assert c.findings[f"s@policy.incentives={incentives},objective=co2"].totals["co2_kg"] <= \
            c.findings[f"s@policy.incentives={incentives},objective=cost"].totals["co2_kg"] + 1e-6


def test_a_point_that_changes_rows_or_options_still_plans_cold(base, data):
    sweep = Sweep()
    assert sweep.point(base, OPTIONS) is None  # nothing planned yet
    sweep.remember(base, OPTIONS, Resolver.cold(data, OPTIONS.blend(), OPTIONS))
    for scenario, options in ((base.with_policy(min_load=0.3), OPTIONS),  # row coefficients
                              (base.with_policy(k_nearest=3), OPTIONS),  # the network
                              (base.with_policy(co2_cap_t=1e9), OPTIONS),  # a new row
                              (base, dataclasses.replace(OPTIONS, objective="co2", mip_gap=1e-3)),
                              (base.with_policy(shortage_cost=-1.0), OPTIONS)):  # cold says why
        assert sweep.point(scenario, options) is None
    assert (sweep.warm, sweep.cold) == (0, 6)
    assert sweep.point(base.with_policy(incentives=0, carbon_price=50),
                       dataclasses.replace(OPTIONS, objective="co2")) is not None
    assert (sweep.warm, sweep.cold) == (1, 6)


def test_builtin_weights_point_warm_equals_the_shared_cold_plan(builtin_scenario, builtin_plan):
    """The session's built-in plan (cost, 2022) is the cold reference: a sweep that starts from a
    blend with CO2 and comes back to cost re-solves the second point in place."""
    options = PlanOptions(years=[2022], time_limit=300)  # as the session fixture
    sweep = Sweep()
    swept = solve_many({"blend": (builtin_scenario, dataclasses.replace(options, weights=BLEND)),
                        "cost": (builtin_scenario, options)}, sweep=sweep)
    assert (sweep.cold, sweep.warm) == (1, 1)
    warm, cold = swept["cost"], builtin_plan
    assert warm.status == cold.status == "optimal"
    assert warm.mip_gap is not None and warm.mip_gap <= options.mip_gap
    # both within the 1 % MIP gap of the same optimum
    assert warm.objective == pytest.approx(cold.objective, rel=2 * options.mip_gap)
    assert warm.balance_residual < 1e-6
    assert warm.targets["shadow_price"].notna().any() == cold.targets["shadow_price"].notna().any()
    assert swept["blend"].objective != pytest.approx(warm.objective, rel=1e-9)
