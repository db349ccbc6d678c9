"""MILP siting: time to a 1 % gap with the planner's disaggregated linking (flow on each arc
into a candidate ≤ its bound × build) against a naive big-M formulation (activity ≤ M × build),
on synthetic scenarios with about 50–300 candidate facilities.

Every run is repeated ``--repeat`` times in fresh interpreters: HiGHS seconds as min / median,
with the load average (the solver's path is deterministic, so gap and built count repeat).

    python benchmarks/milp_siting.py [--time-limit 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from common import (
    REPEAT,
    emit,
    isolated,
    load_range,
    loadavg,
    machine,
    markdown,
    peak_rss_mb,
    repeated,
    stats,
)

# (sites, candidate share) → about 50, 100, 200, 300 candidates
CASES = [(440, 0.5), (870, 0.5), (1160, 0.75), (1300, 1.0)]
FIXED_SCALE = 30.0  # synthetic fixed costs × 30: building is a real trade-off (≈ half are built)


def one(sites: int, share: float, linking: str, time_limit: float) -> dict:
    from resynergy import synth
    from resynergy.planner import PlanOptions, solve

    s = synth.scenario(sites, seed=11, candidate_share=share)
    fac = s.table("facilities")
    s = s.with_tables(facilities=fac.assign(fixed_cost=fac["fixed_cost"] * FIXED_SCALE))
    candidates = int(s.table("facilities")["candidate"].sum())
    t = time.perf_counter()
    plan = solve(s, PlanOptions(linking=linking, mip_gap=0.01, time_limit=time_limit,
                                duals=False))
    act = plan.activity
    return {"sites": sites, "linking": linking, "candidates": candidates,
            "built": int((act["candidate"] & act["built"]).sum()), "status": plan.status,
            "gap": plan.mip_gap, "highs": plan.timings["solve_highs"],
            "build": plan.timings["build"], "wall": time.perf_counter() - t,
            "objective": plan.solver_objective, "peak_mb": peak_rss_mb()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", nargs=4, metavar=("SITES", "SHARE", "LINKING", "TIME_LIMIT"))
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--repeat", type=int, default=REPEAT)
    args = ap.parse_args()
    if args.one:
        sites, share, linking, tl = args.one
        emit(one(int(sites), float(share), linking, float(tl)))
        return
    print(f"machine: {machine()}; load average now {loadavg()}")
    rows = []
    for sites, share in CASES:
        res, runs = {}, {}
        for linking in ("disaggregated", "bigm"):
            runs[linking] = repeated(lambda lk=linking, n=sites, sh=share: isolated(
                "milp_siting.py", [str(n), str(sh), lk, str(args.time_limit)],
                args.time_limit * 3), args.repeat)
            for r in runs[linking]:
                print(f"  {sites} sites {linking}: {r}", flush=True)
            res[linking] = {**runs[linking][-1],
                            "highs": stats([r.get("highs") for r in runs[linking]])["median"]}
        d, b = res["disaggregated"], res["bigm"]

        def mm(linking: str, runs: dict = runs) -> str | None:
            f = stats([r.get("highs") for r in runs[linking]])
            return None if not f["n"] else f"{f['min']:.3g} / {f['median']:.3g}"

        row = {"sites": sites, "candidates": d.get("candidates"), "load": load_range(
               runs["disaggregated"] + runs["bigm"]),
               "dis_s": mm("disaggregated"), "dis_gap": d.get("gap"), "dis_status": d.get("status"),
               "dis_built": d.get("built"), "big_s": mm("bigm") or b.get("error"),
               "big_gap": b.get("gap"), "big_status": b.get("status"), "big_built": b.get("built")}
        if d.get("highs") and b.get("highs"):
            row["speedup"] = b["highs"] / d["highs"]
        if d.get("objective") and b.get("objective"):
            row["obj_ratio"] = b["objective"] / d["objective"]
        rows.append(row)
    print(markdown(rows, [
        ("sites", "sites"), ("candidates", "candidates"),
        ("dis_s", "disaggregated: HiGHS s min / median"), ("dis_gap", "gap"), ("dis_status", "status"),
        ("dis_built", "built"), ("big_s", "big-M: HiGHS s min / median"), ("big_gap", "gap"),
        ("big_status", "status"), ("big_built", "built"), ("speedup", "big-M / disaggregated"),
        ("obj_ratio", "objective big-M / disaggregated"), ("load", "load avg")]))


if __name__ == "__main__":
    main()
