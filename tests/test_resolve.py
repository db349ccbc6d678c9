"""The persistent HiGHS model (planner/resolve.py): a change made in place and solved warm gives
what a cold build of the changed data gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from resynergy import synth
from resynergy.planner import PlanOptions
from resynergy.planner.data import prepare
from resynergy.planner.resolve import Probes, Resolver
from resynergy.planner.results import target_values
from resynergy.planner.solve import solve
from resynergy.planner.sweep import solve_many

OPTIONS = PlanOptions(mip_gap=1e-7, time_limit=120)
WEIGHTS = OPTIONS.blend()


@pytest.fixture(scope="module")
def base():
    return synth.scenario(60, seed=5)


def _cold(data):
    r = Resolver.cold(data, WEIGHTS, OPTIONS)
    return r, r.solve()


def _same(warm_run, cold_run, data) -> None:
    assert warm_run.status == cold_run.status == "optimal"
    assert warm_run.objective == pytest.approx(cold_run.objective, rel=1e-6)
    assert target_values(data, warm_run.solution) == pytest.approx(
        target_values(data, cold_run.solution), rel=1e-6, abs=1e-3)


def test_carbon_price_target_and_capacity_changed_in_place_match_a_cold_build(base):
    data = prepare(base)
    assert data.targets is not None and len(data.targets.table)
    r, first = _cold(data)
    assert first.status == "optimal"

    r.set_carbon_price(300.0)
    priced = prepare(base.with_policy(carbon_price=300.0))
    _, cold = _cold(priced)
    warm = r.solve()
    _same(warm, cold, priced)
    assert warm.objective > first.objective  # the price changed something
    assert warm.gap is not None and warm.gap <= OPTIONS.mip_gap  # the gap it claims holds

    tt = base.table("targets")
    value = float(data.targets.table.at[0, "value_t"]) * 1.3
    r.set_target(0, value)
    raised = prepare(base.with_policy(carbon_price=300.0).with_tables(
        targets=tt.assign(value=tt["value"] * 1.3)))
    assert float(raised.targets.table.at[0, "value_t"]) == pytest.approx(value)
    _, cold = _cold(raised)
    warm = r.solve()
    _same(warm, cold, raised)
    assert r.data.targets.table.at[0, "value_t"] == pytest.approx(value)

    bigger = data.facility.cap0 * 1.5
    r.set_capacity(bigger)
    _, cold = _cold(dataclasses.replace(
        raised, facility=dataclasses.replace(raised.facility, cap0=bigger)))
    _same(r.solve(), cold, raised)


def test_changes_are_undone_on_leaving_the_block(base):
    data = prepare(base)
    r, first = _cold(data)
    slack = r.cols("target_slack_0")
    assert slack is not None
    with r.changes():
        r.set_bounds(slack.ravel(), 0.0, 0.0)
        r.set_carbon_price(500.0)
        assert r.solve().objective != pytest.approx(first.objective, rel=1e-6)
    assert r.solve().objective == pytest.approx(first.objective, rel=1e-6)


def test_diagnosis_probes_in_place_match_the_cold_builds(base):
    # the target above what the plan reaches, so the probes have something to say
    tt = base.table("targets")
    s = base.with_tables(targets=tt.assign(value=tt["value"] * 1.5, penalty=1.0))
    data = prepare(s)
    r, run = _cold(data)
    assert run.status == "optimal"
    warm, cold = Probes(WEIGHTS, OPTIONS, r), Probes(WEIGHTS, OPTIONS, None)
    assert warm._warm(data, 0) is r and cold._warm(data, 0) is None
    slack = cold.reachable(data, 0)
    assert slack is not None and slack > 0  # the raised target is out of reach
    assert warm.reachable(data, 0) == pytest.approx(slack, rel=1e-6, abs=1e-3)
    (wb, wrun), (cb, crun) = warm.with_hard(data, 0), cold.with_hard(data, 0)
    assert wb == cb
    assert wrun.status == crun.status
    if crun.solution is not None:
        assert wrun.objective == pytest.approx(crun.objective, rel=1e-6)
    # the probes leave the plan's model as it was
    assert r.solve().objective == pytest.approx(run.objective, rel=1e-6)


def test_a_carbon_price_sweep_reuses_the_model_and_keeps_the_duals(base):
    jobs = {f"carbon {p}": (base.with_policy(carbon_price=p), OPTIONS) for p in (0.0, 150.0, 300.0)}
    swept = solve_many(jobs)
    assert ["resolve" in p.timings for p in swept.values()] == [False, True, True]
    for label, (scenario, options) in jobs.items():
        cold = solve(scenario, options)
        warm = swept[label]
        assert warm.status == cold.status == "optimal"
        assert warm.objective == pytest.approx(cold.objective, rel=1e-6)
        assert warm.targets["value"].to_numpy() == pytest.approx(
            cold.targets["value"].to_numpy(), rel=1e-6)
        # duals are priced at every point, warm or cold
        assert np.isfinite(warm.activity["capacity_dual"]).any() == np.isfinite(
            cold.activity["capacity_dual"]).any()
        assert len(warm.diagnosis) == len(cold.diagnosis)


def test_other_changes_plan_cold(base):
    jobs = {"a": (base, OPTIONS), "k": (base.with_policy(k_nearest=4), OPTIONS),
            "c": (base.with_policy(co2_cap_t=1e9), OPTIONS)}
    plans = solve_many(jobs)
    assert not any("resolve" in p.timings for p in plans.values())


def _out_of_reach(base):
    """The base scenario with its targets 1.5 × what it can reach: the probes have work."""
    tt = base.table("targets")
    return base.with_tables(targets=tt.assign(value=tt["value"] * 1.5, penalty=1.0))


def _threads_of(monkeypatch) -> list[str]:
    """Record the thread each in-place 'reachable' probe runs in."""
    import threading

    seen: list[str] = []
    real = Probes._reachable

    def spy(r, data, i):
        seen.append(threading.current_thread().name)
        return real(r, data, i)

    monkeypatch.setattr(Probes, "_reachable", staticmethod(spy))
    return seen


def test_probes_started_ahead_run_in_a_thread_and_answer_as_asked(base, monkeypatch):
    from resynergy import warm
    from resynergy.planner import clock

    monkeypatch.setattr(warm, "cores", lambda: 2)
    data = prepare(_out_of_reach(base))
    serial = Probes(WEIGHTS, OPTIONS, None).reachable(data, 0)  # built cold, no thread
    assert serial is not None and serial > 0
    r, run = _cold(data)
    seen = _threads_of(monkeypatch)
    p = Probes(WEIGHTS, OPTIONS, r)
    p.ahead([0])
    before = clock.total()
    assert p.reachable(data, 0) == pytest.approx(serial, rel=1e-6, abs=1e-3)
    assert seen == ["resynergy-warm"]  # solved in the thread, not again here
    assert clock.total() > before  # its HiGHS time is counted in this thread's tally
    assert p.reachable(data, 0) == pytest.approx(serial, rel=1e-6, abs=1e-3)
    assert seen == ["resynergy-warm", "MainThread"]  # asked again: solved again
    # the resolver is free and as it was
    assert r.solve().objective == pytest.approx(run.objective, rel=1e-6)


def test_a_probe_that_fails_ahead_is_solved_again_when_asked(base, monkeypatch):
    import threading

    from resynergy import warm

    monkeypatch.setattr(warm, "cores", lambda: 2)
    data = prepare(_out_of_reach(base))
    r, _ = _cold(data)
    real = Probes._reachable

    def flaky(r, data, i):
        if threading.current_thread().name == "resynergy-warm":
            raise RuntimeError("lost in the thread")
        return real(r, data, i)

    monkeypatch.setattr(Probes, "_reachable", staticmethod(flaky))
    p = Probes(WEIGHTS, OPTIONS, r)
    p.ahead([0])
    value = p.reachable(data, 0)
    assert value is not None and value > 0
    assert value == pytest.approx(Probes(WEIGHTS, OPTIONS, None).reachable(data, 0),
                                  rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("cores", [1, 2])
def test_a_plan_diagnosed_with_probes_ahead_says_what_it_said_without(base, monkeypatch, cores):
    from resynergy import warm

    scenario = _out_of_reach(base)
    monkeypatch.setattr(warm, "cores", lambda: 1)
    alone = solve(scenario, OPTIONS)
    monkeypatch.setattr(warm, "cores", lambda: cores)
    seen = _threads_of(monkeypatch)
    plan = solve(scenario, OPTIONS)
    # two cores: every probe the diagnosis asked for was solved beside the duals and tables
    assert seen and set(seen) == {"resynergy-warm" if cores > 1 else "MainThread"}
    assert (alone.diagnosis["kind"] == "data_ceiling").any()
    pd.testing.assert_frame_equal(plan.diagnosis, alone.diagnosis)
    assert plan.timings["highs_all_solves"] > plan.timings["solve_highs"]
