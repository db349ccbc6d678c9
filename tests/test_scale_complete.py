"""A time-limited run always has a plan, above ``COLD_IPM_ABOVE`` columns too (issue #11, goal 5).

Measured at 3·10^4 synthetic sites (benchmarks/README.md §9): the MILP stopped at its 300 s limit
without an incumbent; ``solve._complete`` then ran the LP relaxation to its own limit, unfinished,
and solved the greedy start's fixed LP warm from that basis ("useful basis so presolve not used")
with dual simplex, which found no feasible point in 600 s: exit 1, no plan. Solved cold
(presolved) with interior point and crossover, the same LP reached optimality in 350 s.

Here the sizes are small and the limit is HiGHS's node limit, not wall time: ``COLD_IPM_ABOVE`` is
lowered so that a 60-site scenario counts as large, and ``mip_max_nodes = 0`` stops the MILP
before it has a plan or a bound. Nothing depends on the machine's speed.
"""

from __future__ import annotations

import importlib
import io

import pytest

from resynergy import synth
from resynergy.planner import PlanOptions, results, solve

solve_module = importlib.import_module("resynergy.planner.solve")
NO_INCUMBENT = {"mip_max_nodes": 0}  # HiGHS stops after presolve: no plan, no bound


@pytest.fixture(scope="module")
def scenario():
    return synth.scenario(60, seed=1, years=(2021, 2022))


@pytest.fixture
def lp_calls(monkeypatch):
    """Every LP ``_complete`` solves in place: the method HiGHS was told to use, whether HiGHS
    held a basis (a warm start, no presolve) when it began, and whether it presolved."""
    calls: list[dict] = []
    real = solve_module._lp_in_place

    def spy(built, options, x0=None, method="simplex", seconds=None):
        h = built.model.solver_model
        call = {"method": method, "warm_basis": bool(h.getBasis().valid), "start": x0 is not None}
        clock = float(h.getRunTime())
        ok, log = real(built, options, x0, method, seconds)
        limit = h.getOptionValue("time_limit")  # highspy: (status, value) or the value
        call.update(ok=ok, presolved="Presolving model" in log, ipx="IPX" in log, log=log,
                    seconds=float(limit[1] if isinstance(limit, tuple) else limit) - clock)
        calls.append(call)
        return ok, log

    monkeypatch.setattr(solve_module, "_lp_in_place", spy)
    return calls


def test_a_large_plan_without_incumbent_comes_from_the_greedy_start_solved_cold_by_ipm(
        scenario, lp_calls, monkeypatch):
    monkeypatch.setattr(solve_module, "COLD_IPM_ABOVE", 100)  # the 60-site model counts as large
    plan = solve(scenario, PlanOptions(highs_options=NO_INCUMBENT))
    log = plan.solver_log
    assert "Dual bound        -inf" in log  # the MILP stopped with no bound and no plan
    # a plan, from the greedy start
    assert plan.status == "time_limit"
    assert "--- integer decisions fixed at the greedy baseline (nothing built) ---" in log
    assert plan.balance_residual <= results.BALANCE_TOL
    a = plan.activity
    assert not a.loc[a["candidate"], "built"].any()  # nothing new built
    assert (a["new_capacity_t"] == 0).all()  # nothing expanded
    assert plan.activity["capacity_dual"].notna().all()  # priced by its own fixed LP
    # the greedy start's fixed LP was the first LP: cold, presolved, interior point + crossover
    first = lp_calls[0]
    assert first["method"] == "ipm" and first["ipx"] and "Crossover" in first["log"]
    assert not first["warm_basis"] and not first["start"] and first["presolved"]
    assert first["ok"]
    # the last resort for a plan is not cut off by the limit the MILP used up
    assert first["seconds"] == pytest.approx(solve_module.LAST_RESORT_LIMITS * 60.0)
    # no unfinished relaxation first: with no bound from the MILP and a plan from the greedy
    # start, the relaxation is not solved at this (large) size
    assert "LP relaxation not solved" in log
    assert all(not c["warm_basis"] or c["method"] == "simplex" for c in lp_calls)
    # its gap stated honestly: no bound was proved, so none is given, and the words say so
    assert plan.mip_gap is None
    rows = plan.diagnosis[plan.diagnosis["kind"] == "start_plan"]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert "不新建、不扩建任何设施的基准方案" in row["message_zh"] and "差距未知" in row["message_zh"]
    assert "greedy baseline" in row["message_en"] and "unknown" in row["message_en"]
    assert "no_plan" not in set(plan.diagnosis["kind"])


def test_the_outputs_say_whence_the_plan_and_that_its_gap_is_unknown(scenario, monkeypatch):
    """plan.json and the terminal summary, as ``resynergy plan`` writes them."""
    from rich.console import Console

    from resynergy.report import findings
    from resynergy.report.exports import plan_json
    from resynergy.report.terminal import print_summary

    monkeypatch.setattr(solve_module, "COLD_IPM_ABOVE", 100)
    plan = solve(scenario, PlanOptions(highs_options=NO_INCUMBENT))
    s = findings(plan, scenario)
    doc = plan_json(s)
    assert doc["status"] == "time_limit" and doc["mip_gap"] is None  # not inf, not 0
    row = next(d for d in doc["diagnosis"] if d["kind"] == "start_plan")
    assert row["amount"] is None and "差距未知" in row["message_zh"]
    for lang, words in (("zh", "差距未知"), ("en", "unknown")):
        out = io.StringIO()
        print_summary(s, Console(file=out, width=400, color_system=None), lang=lang)
        text = out.getvalue()
        assert words in text and "inf" not in text.split("\n", 1)[0]


def test_with_a_bound_the_gap_of_a_plan_from_a_start_is_stated(scenario):
    """Below ``COLD_IPM_ABOVE`` the relaxation is solved too: it bounds the cost, and the plan's gap
    to that bound is given in plan.mip_gap and in the words (zh first)."""
    plan = solve(scenario, PlanOptions(highs_options=NO_INCUMBENT))
    assert plan.status == "time_limit" and plan.mip_gap is not None
    rows = plan.diagnosis[plan.diagnosis["kind"] == "start_plan"]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["amount"] == pytest.approx(100 * plan.mip_gap)
    assert f"{plan.mip_gap:.1%}" in row["message_zh"] and "至多" in row["message_zh"]
    assert f"{plan.mip_gap:.1%}" in row["message_en"]
    best = solve(scenario)
    assert best.status == "optimal"
    # the stated gap holds: the cheapest plan costs at most the gap (of this plan's cost) less
    assert plan.objective <= best.objective / (1 - plan.mip_gap) + 1e-6 * abs(best.objective)


def test_a_gap_of_a_hundred_percent_or_more_is_said_to_tell_nothing():
    """The gap is (cost − bound) / cost. At 10^5 synthetic sites HiGHS's bound was −1.1·10^12
    against a plan of 3.9·10^13: a gap of 102.9 %, which the words once read as "at most 102.9 %
    above the cheapest plan's" — a claim the bound does not make."""
    from resynergy.planner import diagnosis

    none = diagnosis.start_plan(solve_module.GREEDY, 1.029, 900).iloc[0]
    assert none["amount"] == pytest.approx(102.9)
    assert "102.9%" in none["message_zh"] and "不高于零" in none["message_zh"]
    assert "无法说明" in none["message_zh"] and "便宜" not in none["message_zh"]
    assert "102.9%" in none["message_en"] and "unknown" in none["message_en"]
    assert "less than this one" not in none["message_en"]
    some = diagnosis.start_plan(solve_module.GREEDY, 0.05, 900).iloc[0]
    assert "成本最低的方案至多比本方案便宜 5.0%" in some["message_zh"]
    assert "The cheapest plan costs at most 5.0% less than this one" in some["message_en"]


def test_the_first_reachable_probe_of_a_large_model_is_solved_cold_by_ipm(monkeypatch):
    """``Resolver.solve`` picked dual simplex whenever a basis name was given, even before a
    basis of that name was stored: the diagnosis' first "reachable" probe at 10^4 sites then ran
    dual simplex from the MILP's model to its limit. Above ``COLD_IPM_ABOVE`` columns the first
    solve of a named basis is cold (HiGHS's basis dropped, presolved) with interior point; the
    next one starts from the stored basis with dual simplex. Same answer as dual simplex."""
    from resynergy.planner.data import prepare
    from resynergy.planner.resolve import Probes, Resolver

    options = PlanOptions(mip_gap=1e-7, time_limit=120)
    base = synth.scenario(60, seed=5)
    tt = base.table("targets")
    data = prepare(base.with_tables(targets=tt.assign(value=tt["value"] * 1.5, penalty=1.0)))
    seen: list[dict] = []
    real = Resolver._highs

    def spy(self, settings, basis=None, start=None):
        call = {"solver": settings.get("solver"), "basis": basis,
                "warm_basis": bool(self.h.getBasis().valid)}
        out = real(self, settings, basis, start)
        call.update(ipx="IPX" in out[3], presolved="Presolving model" in out[3])
        seen.append(call)
        return out

    answers = {}
    for above in (10**9, 100):  # dual simplex throughout; then the model counts as large
        monkeypatch.setattr(solve_module, "COLD_IPM_ABOVE", above)
        r = Resolver.cold(data, options.blend(), options)
        assert r.solve().status == "optimal"  # the plan (a MILP): HiGHS holds its state
        monkeypatch.setattr(Resolver, "_highs", spy)
        seen.clear()
        probes = Probes(options.blend(), options, r)
        answers[above] = [probes.reachable(data, 0), probes.reachable(data, 0)]
        monkeypatch.setattr(Resolver, "_highs", real)
        first, second = seen
        assert first["basis"] == second["basis"] == "reach 0"
        assert second["solver"] == "simplex"  # warm, from the basis the first one stored
        if above == 100:
            assert first["solver"] == "ipm" and first["ipx"] and first["presolved"]
        else:
            assert first["solver"] == "simplex"
    slack = answers[10**9][0]
    assert slack is not None and slack > 0  # the raised target is out of reach
    for v in (*answers[10**9], *answers[100]):
        assert v == pytest.approx(slack, rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("factor, cause", [(1.5, "data_ceiling"), (0.5, "capacity")])
def test_the_diagnosis_says_the_same_whichever_method_solves_its_probes(monkeypatch, factor,
                                                                         cause):
    """The words and figures of the diagnosis do not depend on whether its cold probes are
    solved by dual simplex or by interior point (what ``COLD_IPM_ABOVE`` decides): a target
    out of the data's reach ("reachable"), and one the plan could meet by building
    ("reachable", "with_hard", "fixed_dual")."""
    base = synth.scenario(60, seed=5)
    tt = base.table("targets")
    s = base.with_tables(targets=tt.assign(value=tt["value"] * factor, penalty=1.0))
    said = {}
    for above in (10**9, 100):
        monkeypatch.setattr(solve_module, "COLD_IPM_ABOVE", above)
        plan = solve(s, PlanOptions(mip_gap=1e-7, time_limit=120))
        said[above] = plan.diagnosis[["kind", "subject", "message_zh", "message_en"]].to_dict(
            "records")
    assert cause in {r["kind"] for r in said[10**9]}
    assert said[100] == said[10**9]


def test_the_diagnosis_of_a_plan_from_a_start_probes_the_milp_not_the_fixed_lp(monkeypatch):
    """``_complete`` fixes the integer decisions in the solved HiGHS model; the diagnosis'
    probes must start from the MILP, not from that fixed LP (where "the most the scenario can
    deliver" would be what it delivers with nothing built). Its data ceiling is the optimal
    plan's: the ceiling does not depend on the plan."""
    base = synth.scenario(60, seed=5)
    tt = base.table("targets")
    s = base.with_tables(targets=tt.assign(value=tt["value"] * 1.5, penalty=1.0))

    def ceiling(plan):
        d = plan.diagnosis
        rows = d[d["kind"] == "data_ceiling"]
        assert len(rows) == 1
        return rows.iloc[0]

    best = ceiling(solve(s, PlanOptions(mip_gap=1e-7, time_limit=120)))
    monkeypatch.setattr(solve_module, "COLD_IPM_ABOVE", 100)
    plan = solve(s, PlanOptions(mip_gap=1e-7, time_limit=120, highs_options=NO_INCUMBENT))
    assert "start_plan" in set(plan.diagnosis["kind"])  # completed from the greedy start
    row = ceiling(plan)
    assert row["amount"] == pytest.approx(best["amount"], rel=1e-6)


def test_a_target_is_not_called_reachable_when_its_probe_found_no_answer(monkeypatch):
    """At 3·10^4 sites the "reachable" probe (the MILP's LP relaxation with one target) and the
    plan meeting the target can both stop at the limit with nothing: the diagnosis then says
    that neither was found, not that the target is reachable."""
    from resynergy.planner.resolve import Probes
    from resynergy.planner.solve import Run
    from resynergy.states import SolverStatus

    base = synth.scenario(60, seed=5)
    tt = base.table("targets")
    s = base.with_tables(targets=tt.assign(value=tt["value"] * 0.5, penalty=1.0))
    nothing = Run(status=SolverStatus.NO_SOLUTION, solution=None, log="", gap=None,
                  objective=None, timings={})
    monkeypatch.setattr(Probes, "reachable", lambda self, data, i: None)
    monkeypatch.setattr(Probes, "with_hard", lambda self, data, i: (True, nothing))
    plan = solve(s, PlanOptions(mip_gap=1e-7, time_limit=120))
    rows = plan.diagnosis[plan.diagnosis["kind"] == "cost"]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert "既未求得数据上限" in row["message_zh"] and "可以达到" not in row["message_zh"]
    assert "neither the data ceiling" in row["message_en"]
    assert "reachable" not in row["message_en"]
