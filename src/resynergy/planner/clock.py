"""HiGHS's own run time, summed over every solve a plan needs (the MILP, the duals' LP, the
relaxed re-solve, each LP and MILP of the diagnosis), for ``timings_s["highs_all_solves"]``.

Each place that runs HiGHS adds the run's time (``Highs.getRunTime()`` grows by it) with
:func:`spent`; :func:`solve.solve` reads :func:`total` before and after. The tally is per thread
(plans solved side by side in threads do not mix)."""

from __future__ import annotations

import threading

_tally = threading.local()


def spent(seconds: float) -> None:
    """Add one HiGHS run's own time (s) to this thread's tally."""
    if seconds == seconds:  # not NaN
        _tally.s = total() + float(seconds)


def total() -> float:
    """HiGHS's time so far in this thread (s)."""
    return float(getattr(_tally, "s", 0.0))
