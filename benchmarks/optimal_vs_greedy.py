"""What optimisation buys: the optimal plan against the greedy nearest-feasible baseline on the
built-in dataset (cost and CO2 ratios, utilization, time).

The plans are deterministic; their times are measured ``--repeat`` times (min / median, with
the load average).

    python benchmarks/optimal_vs_greedy.py [--dataset jjj-2022] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from common import REPEAT, load_range, loadavg, machine, markdown, repeated, stats


def totals(plan) -> dict:
    e = plan.emissions.set_index("component")["kg"]
    fio = plan.facility_io
    used = fio[(fio["direction"] == "in")]
    return {"cost": plan.objective, "co2_emitted_t": (e.drop("virgin_alternative")).sum() / 1e3,
            "co2_with_virgin_t": e.sum() / 1e3, "utilized_t": used["t"].sum(),
            "disposed_t": plan.supply_use["disposed_t"].sum(),
            "unmet_t": plan.deliveries["unmet_t"].sum()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="jjj-2022")
    ap.add_argument("--repeat", type=int, default=REPEAT)
    args = ap.parse_args()
    from resynergy.planner import greedy, solve
    from resynergy.planner.solve import _silence_banner
    from resynergy.scenario import Scenario

    _silence_banner()
    print(f"machine: {machine()}; load average now {loadavg()}")
    s = Scenario.from_builtin(args.dataset)
    plans: dict = {}

    def timed(name, fn):
        def run() -> dict:
            t = time.perf_counter()
            plans[name] = fn(s)
            return {"s": time.perf_counter() - t}
        return run

    t_opt = repeated(timed("optimal", solve), args.repeat)
    t_base = repeated(timed("greedy", greedy), args.repeat)
    opt, base = plans["optimal"], plans["greedy"]
    o, g = totals(opt), totals(base)
    rows = [{"metric": k, "optimal": o[k], "greedy": g[k],
             "greedy / optimal": g[k] / o[k] if o[k] else None} for k in o]
    for what in ("min", "median"):
        a, b = stats([r["s"] for r in t_opt])[what], stats([r["s"] for r in t_base])[what]
        rows.append({"metric": f"time_s ({what} of {args.repeat})", "optimal": a, "greedy": b,
                     "greedy / optimal": b / a})
    print(f"load average during the runs: {load_range(t_opt + t_base)}")
    print(f"optimal: status {opt.status}, gap {opt.mip_gap}; greedy: {base.status}")
    print(markdown(rows, [("metric", "metric"), ("optimal", "optimal"), ("greedy", "greedy"),
                          ("greedy / optimal", "greedy / optimal")]))


if __name__ == "__main__":
    main()
