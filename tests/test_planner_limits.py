"""Limits never crash a plan, and a MILP's shadow prices come from its own solved HiGHS model.

Issue 11 items 1 (duals) and 5. Limits are HiGHS node limits, not wall time, so the tests do
not depend on the machine's speed.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from resynergy import synth
from resynergy.planner import PlanOptions, results, solve
from resynergy.planner.data import prepare
from resynergy.planner.model import build

solve_module = importlib.import_module("resynergy.planner.solve")


@pytest.fixture(scope="module")
def scenario():
    # 60 synthetic sites over two years: candidates to build, expansions, a soft target
    return synth.scenario(60, seed=1, years=(2021, 2022))


def test_in_place_duals_match_the_fixed_build_lp(scenario):
    """The shadow prices of the MILP's fixed-integer LP, solved in the MILP's own HiGHS model,
    are those of the fixed-build LP rebuilt in linopy (the planner's previous way)."""
    opts = PlanOptions()
    data = prepare(scenario)
    built = build(data, opts.blend())
    run = solve_module._run(built, opts)
    assert run.status == "optimal" and built.has_binaries
    sol = run.solution
    assert sol.build.sum() >= 1  # something is built, so fixing matters
    priced, _ = solve_module._price(built, opts, sol)
    assert priced is not None
    # the reference: the LP rebuilt with builds and expansion switches fixed
    fixed = build(data, opts.blend(), fixed_build=sol.build,
                  fixed_expanded=(np.cumsum(sol.exp, axis=0) > results.TOL).astype(float))
    ref = solve_module._run(fixed, opts)
    assert ref.status == "optimal" and not fixed.has_binaries
    ref.solution.build = sol.build  # the rebuilt LP has no build variables
    assert np.isfinite(priced.cap_dual).all()
    np.testing.assert_allclose(priced.cap_dual, ref.solution.cap_dual, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(priced.target_dual, ref.solution.target_dual, rtol=1e-6,
                               atol=1e-6)
    assert np.abs(priced.cap_dual).max() > 0  # some capacity is worth something
    assert results.costs(data, priced)["yuan"].sum() == pytest.approx(
        results.costs(data, ref.solution)["yuan"].sum(), rel=1e-9)
    np.testing.assert_array_equal(priced.build, sol.build)


def test_a_limit_without_incumbent_still_gives_a_plan(scenario):
    """Stopped before HiGHS finds any plan (node limit 0), the planner completes one from a
    start in the same model: status time_limit, its gap stated, balanced, priced."""
    plan = solve(scenario, PlanOptions(highs_options={"mip_max_nodes": 0}))
    assert "--- LP relaxation ---" in plan.solver_log  # HiGHS had no plan of its own
    assert plan.status == "time_limit"
    assert plan.mip_gap is not None and 0 <= plan.mip_gap < 0.05
    assert plan.balance_residual <= results.BALANCE_TOL
    assert "no_plan" not in set(plan.diagnosis["kind"])
    assert plan.activity["capacity_dual"].notna().all()
    best = solve(scenario)
    assert best.status == "optimal"
    # a valid plan: never cheaper than the optimum beyond its own gap and the optimum's
    assert plan.objective >= best.objective * (1 - best.mip_gap) - 1e-6 * abs(best.objective)


def test_duals_resolve_not_optimal_keeps_the_plan_and_says_so(scenario, monkeypatch):
    """When the fixed-integer LP does not reach optimality the plan is the MILP's, without
    shadow prices, and the diagnosis says they are unavailable (no crash)."""
    monkeypatch.setattr(solve_module, "_lp_in_place", lambda built, options, x0=None: (False, ""))
    plan = solve(scenario)
    assert plan.status == "optimal"
    assert plan.activity["capacity_dual"].isna().all()
    assert plan.targets["shadow_price"].isna().all()
    assert "no_duals" in set(plan.diagnosis["kind"])
    assert plan.balance_residual <= results.BALANCE_TOL


def test_builtin_without_incumbent_is_completed_from_the_rounded_relaxation():
    """On the built-in data building nothing breaks hard requirements, so the plan comes from
    the LP relaxation's builds rounded up; it balances and its gap to the bound is small."""
    from resynergy.scenario import Scenario

    opts = PlanOptions(highs_options={"mip_max_nodes": 0})
    data = prepare(Scenario.from_builtin("jjj-2022"))
    built = build(data, opts.blend())
    run = solve_module._run(built, opts)
    assert "nothing built) ---\n" in run.log and "rounded up ---" in run.log
    assert run.status == "time_limit" and run.priced
    assert run.gap is not None and 0 <= run.gap < 0.01
    assert run.solution.build.sum() >= 1
    assert results.balance_residual(data, run.solution)[0] <= results.BALANCE_TOL
    assert np.isfinite(run.solution.cap_dual).all()
