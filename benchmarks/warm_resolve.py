"""Re-solve after a parameter change, reusing the solver model, against a cold build + solve.

The planner's LP is built from a synthetic scenario and solved once through linopy's persistent
HiGHS solver (``track_updates=True``). Then the data change — road and rail costs +10 %
(fuel), then facility capacities +20 % — and the model is rebuilt from the changed data: the
persistent solver diffs it against what HiGHS holds, updates costs / row bounds in place and
re-solves from the previous basis. The cold run builds and solves the changed model from
scratch. Objectives must agree.

    python benchmarks/warm_resolve.py [--sites 2250]
"""

from __future__ import annotations

import argparse
import copy
import time

from common import lp_scenario, machine, markdown

OPTIONS = {"solver": "simplex", "time_limit": 600.0, "output_flag": False}


def changed(data, what: str):
    d = copy.copy(data)
    if what == "costs +10%":
        net = copy.copy(data.net)
        arcs = data.net.arcs.copy()
        for c in ("c1", "c2", "c3"):
            arcs[c] = arcs[c] * 1.1
        net.arcs = arcs
        d.net = net
    elif what == "capacity +20%":
        d.cap0 = data.cap0 * 1.2
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=2250)
    args = ap.parse_args()
    from linopy import solvers

    from resynergy.planner.data import prepare
    from resynergy.planner.model import build
    from resynergy.planner.solve import _silence_banner

    _silence_banner()
    print(f"machine: {machine()}")
    data = prepare(lp_scenario(args.sites))
    t = time.perf_counter()
    base = build(data, {"cost": 1.0}).model
    persistent = solvers.Solver.from_name("highs", model=base, io_api="direct", options=OPTIONS,
                                          track_updates=True)
    first = persistent.solve()
    t_first = time.perf_counter() - t
    print(f"{base.nvars} variables, {base.ncons} rows; first solve {t_first:.2f} s, "
          f"objective {first.solution.objective:,.0f}")
    rows = []
    current = data
    for what in ("costs +10%", "capacity +20%"):
        current = changed(current, what)
        t = time.perf_counter()
        cold_model = build(current, {"cost": 1.0}).model
        cold_model.solve("highs", io_api="direct", **OPTIONS)
        cold = time.perf_counter() - t
        cold_highs = cold_model.solver_model.getRunTime()
        t = time.perf_counter()
        warm_model = build(current, {"cost": 1.0}).model
        t_build = time.perf_counter() - t
        before = persistent.solver_model.getRunTime()
        res = persistent.solve(model=warm_model)
        warm = time.perf_counter() - t
        rows.append({
            "change": what, "cold_s": cold, "cold_highs": cold_highs, "warm_s": warm,
            "warm_build": t_build, "warm_highs": persistent.solver_model.getRunTime() - before,
            "in_place": persistent._in_place_updates, "rebuilds": persistent._rebuilds,
            "ratio": warm / cold,
            "same": abs(res.solution.objective - cold_model.objective.value)
            <= 1e-6 * abs(cold_model.objective.value)})
        print(f"  {rows[-1]}", flush=True)
    print(markdown(rows, [
        ("change", "change"), ("cold_s", "cold build+solve s"), ("cold_highs", "cold HiGHS s"),
        ("warm_s", "warm rebuild+diff+solve s"), ("warm_build", "of which rebuild s"),
        ("warm_highs", "warm HiGHS s"), ("ratio", "warm / cold"),
        ("in_place", "in-place updates"), ("same", "same optimum")]))


if __name__ == "__main__":
    main()
