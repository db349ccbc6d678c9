"""A carbon-price sweep as ``resynergy compare --vary policy.carbon_price=…`` runs it, or an
objective sweep as ``--vary objective=cost,co2,utilization`` runs it (``--objectives``).

    python benchmarks/sweep.py [--sites 0] [--prices 0,100,200] [--repeat 3] [--workers 0]
    python benchmarks/sweep.py --objectives cost,co2,utilization

``compare`` hands its variants to ``planner.sweep.solve_many`` with the default plan options
(duals on). Measured in one run, each figure ``--repeat`` times (min / median, load average):

- sweep: ``solve_many`` as compare calls it (the first point planned cold, the others re-solved
  in place on its model when only the carbon price changes);
- cold: every point planned from scratch (``solve`` each: network, model, HiGHS, duals), which
  is what the sweep did before it re-used the model; its first point is one plan alone;
- optionally (``--workers N``) the Dask path (cold points spread over N processes).

Prints the ratios sweep / one plan and cold / sweep, and whether every point's objective agrees
with its cold plan within the MIP gap.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=0, help="synthetic sites (0: built-in jjj-2022)")
    ap.add_argument("--prices", default="0,100,200")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--objectives", default="", help="sweep these objectives instead of prices")
    args = ap.parse_args()
    from resynergy import synth
    from resynergy.planner import PlanOptions
    from resynergy.planner.solve import solve
    from resynergy.planner.sweep import solve_many
    from resynergy.scenario import Scenario

    base = synth.scenario(args.sites, seed=1) if args.sites else Scenario.from_builtin("jjj-2022")
    options = PlanOptions()  # what compare passes: duals on, 60 s, 1 % gap
    prices = [float(p) for p in args.prices.split(",")]
    if args.objectives:
        jobs = {f"objective {o}": (base, PlanOptions(objective=o))
                for o in args.objectives.split(",")}
    else:
        jobs = {f"carbon {p:g}": (base.with_policy(carbon_price=p), options) for p in prices}
    print(f"{len(jobs)} {'objective' if args.objectives else 'carbon-price'} points of "
          f"{base.name}; load average before: {_load()}", flush=True)
    one, cold, swept, dask, same, warm_points = [], [], [], [], True, 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        cold_plans = {}
        for label, (s, o) in jobs.items():
            cold_plans[label] = solve(s, o)
            if len(cold_plans) == 1:
                one.append(time.perf_counter() - t)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        plans = solve_many(jobs)
        swept.append(time.perf_counter() - t)
        warm_points = sum("resolve" in p.timings for p in plans.values())
        same &= all(abs(plans[k].solver_objective - cold_plans[k].solver_objective)
                    <= 0.011 * abs(cold_plans[k].solver_objective) for k in jobs)
        if args.workers:
            t = time.perf_counter()
            solve_many(jobs, workers=args.workers)
            dask.append(time.perf_counter() - t)
        print(f"  one plan {one[-1]:.2f} s, cold sweep {cold[-1]:.2f} s, sweep {swept[-1]:.2f} s"
              + (f", Dask {dask[-1]:.2f} s" if dask else "") + f"; load {_load()}", flush=True)

    def mm(xs: list[float]) -> str:
        return f"{min(xs):.2f} / {statistics.median(xs):.2f}"

    med = statistics.median
    print(f"one plan (min / median s): {mm(one)}")
    print(f"cold sweep, every point from scratch: {mm(cold)}  ({med(cold) / med(one):.2f} × one plan)")
    print(f"sweep as compare runs it ({warm_points} of {len(jobs)} points in place): {mm(swept)}  "
          f"({med(swept) / med(one):.2f} × one plan; cold / sweep {med(cold) / med(swept):.2f})")
    if dask:
        print(f"Dask, {args.workers} workers (cold points, incl. start-up): {mm(dask)}")
    print(f"same objectives as the cold plans (within the 1 % MIP gap): {same}; "
          f"load average after: {_load()}")


if __name__ == "__main__":
    main()
