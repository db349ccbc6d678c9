"""Re-solve in place (the product's ``planner.resolve.Resolver``) against a cold build + solve.

On the built-in scenario (or a synthetic one), the model is built and solved once; then each
change is made both ways, in the same run:

- cold: ``prepare`` the changed scenario (network), ``build`` the linopy model, solve with HiGHS,
  read the plan back — what a sweep point cost before;
- warm: change the persistent HiGHS model in place (``set_carbon_price`` / ``set_target`` /
  ``set_capacity``; ``set_objective`` for the objective weights, the objective switch and the
  tax-incentive switch: every column cost from ``model.objective_coefficients``), solve from the
  last plan, read the plan back.

Both "with duals" too: a MILP plan's duals priced cold (``solve._price_fixed``: rebuild with the
builds fixed, LP) or in place (``Resolver.price_fixed``). Objectives must agree. Each figure is
repeated (``--repeat``, ≥ 3) and printed as min / median with the load average.

    python benchmarks/warm_resolve.py [--sites N] [--repeat 3] [--changes weights,incentives]

Changes: carbon price, target value, capacity, weights (cost → cost + k × 0.05 yuan/kg CO2),
objective (cost → co2 / utilization, alternating), incentives (the tax-incentive switch off).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

from common import machine, markdown


def _machine() -> str:
    try:
        return machine()
    except Exception:  # noqa: BLE001 - common.machine() asks for pyomo, which may be absent
        from importlib.metadata import version

        return f"{os.cpu_count()} cores; linopy {version('linopy')}, highspy {version('highspy')}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=0, help="synthetic sites (0: built-in jjj-2022)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--changes", default="carbon price,target value,capacity,weights,objective,"
                    "incentives", help="comma-separated subset of the changes to measure")
    args = ap.parse_args()

    from resynergy import synth
    from resynergy.planner import PlanOptions
    from resynergy.planner.data import prepare
    from resynergy.planner.model import build
    from resynergy.planner.resolve import Resolver
    from resynergy.planner.solve import _price, _run, _silence_banner, _solution
    from resynergy.scenario import Scenario

    _silence_banner()
    print(f"machine: {_machine()}")
    base = synth.scenario(args.sites, seed=1) if args.sites else Scenario.from_builtin("jjj-2022")
    options = PlanOptions()
    weights = options.blend()
    print(f"scenario: {base.name}; load average before: {_load()}", flush=True)
    data = prepare(base)
    resolver = Resolver.cold(data, weights, options)
    first = resolver.solve()
    print(f"{len(resolver._cost)} columns, {len(resolver._rlo)} rows; first solve "
          f"{first.timings['wall']:.2f} s, objective {first.objective:,.0f}", flush=True)
    tt = base.table("targets")

    def variants(k: int):
        price = 100.0 * (k + 1)
        return [
            ("carbon price", base.with_policy(carbon_price=price),
             lambda r: r.set_carbon_price(price), None),
            ("target value", base.with_tables(targets=tt.assign(
                value=tt["value"].where(tt["kind"] == "report", tt["value"] * (0.9 - 0.05 * k)))),
             None, 0.9 - 0.05 * k),
            ("capacity", None, None, 1.0 + 0.1 * (k + 1)),
            ("weights", base, None, {"cost": 1.0, "co2": 0.05 * (k + 1)}),
            ("objective", base, None, PlanOptions(objective=("co2", "utilization")[k % 2]).blend()),
            ("incentives", base.with_policy(incentives=0), None, None),
        ]

    rows = []
    for what in [c.strip() for c in args.changes.split(",") if c.strip()]:
        cold_s, cold_d, warm_s, warm_d, same = [], [], [], [], True
        for k in range(args.repeat):
            name, scen, change, factor = [v for v in variants(k) if v[0] == what][0]
            # cold: network + model + solve (+ duals) of the changed data
            t = time.perf_counter()
            if what == "capacity":
                d = dataclasses.replace(prepare(base), facility=dataclasses.replace(
                    data.facility, cap0=data.facility.cap0 * factor))
            else:
                d = prepare(scen)
            w_point = factor if what in ("weights", "objective") else weights
            b = build(d, w_point, linking=options.linking)
            run = _run(b, options)
            cold_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            if b.has_binaries and run.solution is not None:
                _price(b, options, _solution(b))
            cold_d.append(cold_s[-1] + time.perf_counter() - t)
            # warm: the same change in place
            t = time.perf_counter()
            with resolver.changes():
                if what == "carbon price":
                    change(resolver)
                elif what in ("weights", "objective"):
                    resolver.set_objective(w_point)
                elif what == "incentives":
                    resolver.set_objective(policy={"incentives": 0.0})
                elif what == "target value":
                    assert d.targets is not None
                    for i in range(len(d.targets.table)):
                        resolver.set_target(i, float(d.targets.table.at[i, "value_t"]))
                else:
                    resolver.set_capacity(data.facility.cap0 * factor)
                w = resolver.solve()
                warm_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                if resolver.is_mip() and w.solution is not None:
                    resolver.price_fixed(w.solution)
                warm_d.append(warm_s[-1] + time.perf_counter() - t)
            resolver.data = data
            same &= (w.objective is not None and run.objective is not None
                     and abs(w.objective - run.objective) <= 0.011 * abs(run.objective))
        rows.append({"change": what, "cold_min": min(cold_s), "cold_med": statistics.median(cold_s),
                     "warm_min": min(warm_s), "warm_med": statistics.median(warm_s),
                     "ratio": statistics.median(cold_s) / statistics.median(warm_s),
                     "cold_d_med": statistics.median(cold_d), "warm_d_med": statistics.median(warm_d),
                     "ratio_d": statistics.median(cold_d) / statistics.median(warm_d),
                     "same": same, "load": _load()})
        print(f"  {rows[-1]}", flush=True)
    print(markdown(rows, [
        ("change", "change"), ("cold_min", "cold min s"), ("cold_med", "cold median s"),
        ("warm_min", "in place min s"), ("warm_med", "in place median s"),
        ("ratio", "cold / in place (median)"), ("cold_d_med", "cold + duals median s"),
        ("warm_d_med", "in place + duals median s"), ("ratio_d", "ratio with duals"),
        ("same", "same optimum (within the MIP gap)"), ("load", "load average after")]))


if __name__ == "__main__":
    main()
