"""Model build time and peak memory: the planner's linopy model against a hand-built
scipy.sparse floor and the same LP in Pyomo, at ~10^4, 10^5 and 10^6 variables.

Every (variant, size) runs in its own interpreter, one after another. Build = declaring the
model + handing it to HiGHS (for linopy also its constraint sanitising, as ``Model.solve``
does). The scenario and its network (``planner.data.prepare``) are made the same way for every
variant and are not part of build. Also timed: ``planner.solve`` end to end (network, build,
solve, result tables) against HiGHS' own solve time.

    python benchmarks/build_vs_floor.py                 # all sizes, all variants
    python benchmarks/build_vs_floor.py --sizes 220 2100 --pyomo-solve-max 200000
"""

from __future__ import annotations

import argparse
import time

from common import emit, isolated, lp_scenario, machine, markdown, peak_rss_mb

SIZES = {"1e4": 520, "1e5": 2250, "1e6": 18800}  # sites → about 10^4, 10^5, 10^6 variables
IPM_ABOVE = 50_000


def _options(nvars: int, time_limit: float) -> dict:
    return {"solver": "ipm" if nvars > IPM_ABOVE else "simplex", "time_limit": time_limit,
            "output_flag": False}


def one(variant: str, sites: int, solve: bool, time_limit: float) -> dict:
    t = time.perf_counter()
    from resynergy.planner.data import prepare
    from resynergy.planner.solve import _silence_banner

    _silence_banner()
    scenario = lp_scenario(sites)
    rec: dict = {"variant": variant, "sites": sites}
    if variant == "plan":
        from resynergy.planner import PlanOptions
        from resynergy.planner import solve as plan_solve

        t = time.perf_counter()
        plan = plan_solve(scenario, PlanOptions(time_limit=time_limit))
        rec.update(plan_total=time.perf_counter() - t, highs=plan.timings["solve_highs"],
                   network=plan.timings["network"], build=plan.timings["build"],
                   results=plan.timings["results"], status=plan.status,
                   objective=plan.solver_objective, peak_mb=peak_rss_mb())
        return rec
    data = prepare(scenario)
    rec["prep_mb"] = peak_rss_mb()
    t = time.perf_counter()
    if variant == "linopy":
        from linopy import solvers

        from resynergy.planner.model import build

        built = build(data, {"cost": 1.0})
        m = built.model
        rec["declare"] = time.perf_counter() - t
        nvars = m.nvars
        m.constraints.sanitize_zeros()
        m.constraints.sanitize_infinities()
        solver = solvers.Solver.from_name("highs", model=m, io_api="direct",
                                          options=_options(nvars, time_limit))
        h = solver.solver_model
    elif variant == "floor":
        from lp_variants import floor

        h = floor(data)
        rec["declare"] = time.perf_counter() - t
        nvars = h.getNumCol()
    elif variant == "pyomo":
        from lp_variants import pyomo_model
        from pyomo.contrib.solver.common.factory import SolverFactory

        pm = pyomo_model(data)
        rec["declare"] = time.perf_counter() - t
        opt = SolverFactory("highs")
        opt.set_instance(pm)
        h = opt._solver_model
        nvars = h.getNumCol()
    else:
        raise ValueError(variant)
    rec["build"] = time.perf_counter() - t
    rec["build_mb"] = peak_rss_mb()
    rec["nvars"] = int(nvars)
    rec["ncons"] = int(h.getNumRow())
    rec["nnz"] = int(h.getNumNz())
    if solve:
        t = time.perf_counter()
        if variant == "linopy":
            result = solver.solve()
            t_run = time.perf_counter() - t
            m.assign_result(result)
            rec["objective"] = float(m.objective.value)
        elif variant == "floor":
            for k, v in _options(nvars, time_limit).items():
                h.setOptionValue(k, v)
            h.run()
            t_run = time.perf_counter() - t
            h.getSolution()
            rec["objective"] = float(h.getInfo().objective_function_value)
        else:
            opts = _options(nvars, time_limit)
            res = opt.solve(pm, time_limit=time_limit, solver_options={
                "solver": opts["solver"]}, raise_exception_on_nonoptimal_result=False,
                load_solutions=True)
            t_run = time.perf_counter() - t
            rec["objective"] = float(res.incumbent_objective) if res.incumbent_objective \
                is not None else None
        rec["solve_wall"] = time.perf_counter() - t
        rec["highs"] = float(h.getRunTime())
        rec["readback"] = rec["solve_wall"] - t_run
    rec["peak_mb"] = peak_rss_mb()
    return rec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", nargs=4, metavar=("VARIANT", "SITES", "SOLVE", "TIME_LIMIT"))
    ap.add_argument("--sizes", nargs="*", type=int, default=list(SIZES.values()))
    ap.add_argument("--time-limit", type=float, default=900.0)
    ap.add_argument("--pyomo-solve-max", type=int, default=300_000,
                    help="solve Pyomo only below this many variables (build only above)")
    ap.add_argument("--timeout", type=float, default=3600.0)
    args = ap.parse_args()
    if args.one:
        v, sites, solve, tl = args.one
        emit(one(v, int(sites), solve == "1", float(tl)))
        return
    print(f"machine: {machine()}")
    rows = []
    for sites in args.sizes:
        res = {}
        for variant in ("floor", "linopy", "pyomo", "plan"):
            solve = "1"
            if variant == "pyomo" and res.get("floor", {}).get("nvars", 0) > args.pyomo_solve_max:
                solve = "0"
            r = isolated("build_vs_floor.py", [variant, str(sites), solve, str(args.time_limit)],
                         args.timeout)
            res[variant] = r
            print(f"  {sites} sites {variant}: {r}", flush=True)
        fl, li, py, pl = res["floor"], res["linopy"], res["pyomo"], res["plan"]
        row = {"sites": sites, "nvars": li.get("nvars"), "nnz": li.get("nnz"),
               "floor_build": fl.get("build"), "linopy_build": li.get("build"),
               "pyomo_build": py.get("build", py.get("error")),
               "floor_mb": _net(fl), "linopy_mb": _net(li), "pyomo_mb": _net(py),
               "highs": li.get("highs"), "floor_highs": fl.get("highs"),
               "plan_total": pl.get("plan_total"), "plan_highs": pl.get("highs")}
        if fl.get("build") and li.get("build"):
            row["linopy_vs_floor"] = li["build"] / fl["build"]
        if py.get("build") and li.get("build"):
            row["pyomo_vs_linopy"] = py["build"] / li["build"]
        if li.get("highs"):
            row["model_total_vs_highs"] = (li["build"] + li["solve_wall"]) / li["highs"]
        if pl.get("plan_total") and pl.get("highs"):
            row["plan_total_vs_highs"] = pl["plan_total"] / pl["highs"]
        objs = [r.get("objective") for r in (fl, li, py) if r.get("objective") is not None]
        row["same_optimum"] = (max(objs) - min(objs) <= 1e-6 * max(1.0, abs(objs[0]))
                               if len(objs) > 1 else None)
        rows.append(row)
    print(markdown(rows, [
        ("sites", "sites"), ("nvars", "variables"), ("nnz", "nonzeros"),
        ("floor_build", "floor build s"), ("linopy_build", "linopy build s"),
        ("pyomo_build", "Pyomo build s"), ("linopy_vs_floor", "linopy / floor"),
        ("pyomo_vs_linopy", "Pyomo / linopy"), ("floor_mb", "floor MB"),
        ("linopy_mb", "linopy MB"), ("pyomo_mb", "Pyomo MB"), ("highs", "HiGHS solve s"),
        ("model_total_vs_highs", "(build+solve+read) / HiGHS"),
        ("plan_total", "plan total s"), ("plan_total_vs_highs", "plan total / HiGHS"),
        ("same_optimum", "same optimum")]))


def _net(r: dict) -> float | None:
    """Peak memory added by the build, above what the scenario and network took (MB)."""
    if "build_mb" not in r:
        return None
    return r["build_mb"] - r["prep_mb"]


if __name__ == "__main__":
    main()
