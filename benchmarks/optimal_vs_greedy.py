"""What optimisation buys: the optimal plan against the greedy nearest-feasible baseline on the
built-in dataset (cost and CO2 ratios, utilization, time).

    python benchmarks/optimal_vs_greedy.py [--dataset jjj-2022]
"""

from __future__ import annotations

import argparse
import time

from common import machine, markdown


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
    args = ap.parse_args()
    from resynergy.planner import greedy, solve
    from resynergy.planner.solve import _silence_banner
    from resynergy.scenario import Scenario

    _silence_banner()
    print(f"machine: {machine()}")
    s = Scenario.from_builtin(args.dataset)
    t = time.perf_counter()
    opt = solve(s)
    t_opt = time.perf_counter() - t
    t = time.perf_counter()
    base = greedy(s)
    t_base = time.perf_counter() - t
    o, g = totals(opt), totals(base)
    rows = [{"metric": k, "optimal": o[k], "greedy": g[k],
             "greedy / optimal": g[k] / o[k] if o[k] else None} for k in o]
    rows.append({"metric": "time_s", "optimal": t_opt, "greedy": t_base,
                 "greedy / optimal": t_base / t_opt})
    print(f"optimal: status {opt.status}, gap {opt.mip_gap}; greedy: {base.status}")
    print(markdown(rows, [("metric", "metric"), ("optimal", "optimal"), ("greedy", "greedy"),
                          ("greedy / optimal", "greedy / optimal")]))


if __name__ == "__main__":
    main()
