"""Scenario sweep: the same carbon-price variants solved serially and on a local Dask cluster.

    python benchmarks/sweep.py [--sites 600] [--variants 8] [--workers 2]

Prints wall time of each way, the speed-up and whether every objective agrees.
"""

from __future__ import annotations

import argparse
import time

from resynergy import synth
from resynergy.planner import PlanOptions
from resynergy.planner.sweep import solve_many


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=600)
    ap.add_argument("--variants", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    base = synth.scenario(args.sites, seed=1)
    options = PlanOptions(time_limit=120, mip_gap=0.01, duals=False)
    jobs = {f"carbon {50 * i}": (base.with_policy(carbon_price=50.0 * i), options)
            for i in range(args.variants)}
    t0 = time.perf_counter()
    serial = solve_many(jobs)
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    parallel = solve_many(jobs, workers=args.workers)
    t_dask = time.perf_counter() - t0
    same = all(abs(parallel[k].objective - serial[k].objective) <= 1e-6 * abs(serial[k].objective)
               for k in jobs)
    print(f"{args.variants} variants of a {args.sites}-site synthetic scenario")
    print(f"serial: {t_serial:.1f} s; Dask LocalCluster ({args.workers} workers, incl. start-up): "
          f"{t_dask:.1f} s; speed-up {t_serial / t_dask:.2f}x; same objectives: {same}")


if __name__ == "__main__":
    main()
