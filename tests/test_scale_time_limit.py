"""Every re-solve in place gets the whole ``--time-limit`` of its own (issue #11, goals 3 and 5).

HiGHS 1.x compares ``time_limit`` with a model's cumulative run clock (ERGO-Code/HiGHS#1331,
#1477). At 10^4 synthetic sites the MILP used 279 s of a 300 s limit, so the fixed-build LP that
prices the duals stopped after 21 s ("shadow prices unavailable"), and at 10^5 the LPs that turn a
MILP stopped without a plan into one had no time left: `resynergy plan` exited without a plan.
"""

from __future__ import annotations

import pytest

from resynergy import synth
from resynergy.planner.data import prepare
from resynergy.planner.model import build
from resynergy.planner.options import PlanOptions
from resynergy.planner.resolve import Resolver
from resynergy.planner.solve import _price, _run, time_limit_from_now


def _limit(h) -> float:
    v = h.getOptionValue("time_limit")  # highspy: (status, value) or the value
    return float(v[1] if isinstance(v, tuple) else v)


@pytest.fixture(scope="module")
def solved():
    options = PlanOptions(time_limit=120.0)
    built = build(prepare(synth.scenario(60, seed=2)), options.blend(), linking=options.linking)
    run = _run(built, options)
    assert run.solution is not None and built.has_binaries
    return built, options, run


def test_the_duals_re_solve_gets_its_own_time_limit(solved):
    built, options, run = solved
    h = built.model.solver_model
    used = float(h.getRunTime())  # the MILP's share of the model's run clock
    assert used > 0
    _price(built, options, run.solution)
    # before: time_limit = 120 on a clock already at `used`, i.e. 120 - used s left
    assert _limit(h) == pytest.approx(used + 120.0, abs=1e-6)


def test_each_probe_of_a_kept_model_gets_its_own_time_limit(solved):
    built, options, _ = solved
    r = Resolver.adopt(built, options.blend(), options)
    r.solve(relax=True, start=None)
    used = float(r.h.getRunTime())
    assert used > 0
    r.solve(relax=True, start=None)
    assert _limit(r.h) == pytest.approx(used + 120.0, abs=1e-6)


def test_time_limit_from_now_counts_from_the_clock():
    import highspy

    h = highspy.Highs()
    assert time_limit_from_now(h, 5.0) == pytest.approx(float(h.getRunTime()) + 5.0)
