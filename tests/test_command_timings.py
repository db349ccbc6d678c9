"""Issue 11 goals 1 and 6: a plan's timings say HiGHS's own time for the MILP alone
(``solve_highs``) and summed over every solve the command needs (``highs_all_solves``)."""

from __future__ import annotations

import math
import threading

from resynergy.planner import clock


def test_every_solve_is_counted(builtin_plan):
    t = builtin_plan.timings
    assert t["solve_highs"] > 0
    # the built-in plan is a MILP priced by a fixed-build LP, then diagnosed with more solves
    assert "duals" in t and "diagnosis" in t
    assert t["highs_all_solves"] > t["solve_highs"]
    # HiGHS's own time is part of the stages' wall time, never more
    assert t["highs_all_solves"] <= t["total"]


def test_the_tally_is_per_thread():
    before = clock.total()
    clock.spent(1.5)
    clock.spent(math.nan)  # a run HiGHS did not time adds nothing
    seen = []
    th = threading.Thread(target=lambda: (clock.spent(7.0), seen.append(clock.total())))
    th.start()
    th.join()
    assert seen == [7.0]
    assert clock.total() == before + 1.5
