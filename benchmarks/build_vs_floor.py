"""Model build time and peak memory: the planner's linopy model against a hand-built
scipy.sparse floor and the same LP in Pyomo, at ~10^4, 10^5 and 10^6 variables — and what the
product does with the same synthetic data: the siting MILP, its duals step and the rest of
``planner.solve``.

Variants (every (variant, size) runs ``--repeat`` times, each in its own interpreter; the
variants take turns — floor, linopy, floor, linopy, … — so each round's figures are from the same
minutes of a shared machine; min and median are printed with the load average, and the
linopy / floor ratio also per round):

- ``floor`` / ``linopy`` / ``pyomo``: the LP subset both hand-written variants can express (one
  year, no candidates, no expansion; ``lp_variants``). Build = declaring the model + handing it
  to HiGHS (for linopy also its constraint sanitising, as ``Model.solve`` does). Pyomo is skipped
  when it is not installed. The linopy model must have as many variables and rows as the floor
  (printed), or the ratio compares different models.
- ``fixed``: the first ``linopy.Model()`` of a fresh interpreter (after the same imports), the
  fixed cost every build pays once: xarray's first operation asks whether dask is installed and
  imports ``dask.base`` (the planner already spares it ``dask.array``), and a second one;
- ``plan``: ``planner.solve`` on that LP (network, build, solve, result tables, diagnosis).
- ``milp``: ``planner.solve`` as ``resynergy plan`` calls it, on the synthetic scenario as
  ``resynergy data synth`` writes it (a fifth of the facilities candidates, expansions): network,
  MILP build, HiGHS branch-and-cut, the duals step (the model built again with the siting
  fixed, then an LP solve), result tables and the diagnosis — with each stage's time.

Left out here, measured elsewhere: importing the command, reading and validating the scenario
files, indicators, the report and the exports (``benchmarks/command.py`` times the whole
``resynergy plan`` command on the built-in data; ``benchmarks/scale.py command`` on synthetic
data from 10^3 to 10^5 sites).

    python benchmarks/build_vs_floor.py                 # all sizes, all variants, 3 runs each
    python benchmarks/build_vs_floor.py --sizes 520 --variants plan milp --repeat 3
    python benchmarks/build_vs_floor.py --sizes 18800 --variants floor linopy --no-solve
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
    lp_scenario,
    machine,
    markdown,
    peak_rss_mb,
    repeated,
    stats,
)

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
    rec: dict = {"variant": variant, "sites": sites}
    if variant == "milp":
        from resynergy import synth
        from resynergy.planner import PlanOptions
        from resynergy.planner import solve as plan_solve

        scenario = synth.scenario(sites, 1)
        t = time.perf_counter()
        plan = plan_solve(scenario, PlanOptions(time_limit=time_limit))
        tm = plan.timings
        rec.update(plan_total=time.perf_counter() - t, highs=tm.get("solve_highs"),
                   network=tm.get("network"), build=tm.get("build"), duals=tm.get("duals"),
                   results=tm.get("results"), diagnosis=tm.get("diagnosis"), status=plan.status,
                   gap=plan.mip_gap, objective=plan.solver_objective, peak_mb=peak_rss_mb())
        return rec
    if variant == "fixed":  # what the first linopy.Model() of a process costs, and why
        import sys

        import linopy

        t = time.perf_counter()
        linopy.Model(sparse=True)
        rec["first_model"] = time.perf_counter() - t
        rec["dask_imported"] = "dask" in sys.modules
        t = time.perf_counter()
        linopy.Model(sparse=True)
        rec["second_model"] = time.perf_counter() - t
        return rec
    scenario = lp_scenario(sites)
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


VARIANTS = ("floor", "linopy", "fixed", "pyomo", "plan", "milp")


def _has_pyomo() -> bool:
    from importlib.util import find_spec

    return find_spec("pyomo") is not None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", nargs=4, metavar=("VARIANT", "SITES", "SOLVE", "TIME_LIMIT"))
    ap.add_argument("--sizes", nargs="*", type=int, default=list(SIZES.values()))
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--repeat", type=int, default=REPEAT)
    ap.add_argument("--no-solve", action="store_true", help="floor / linopy / pyomo: build only")
    ap.add_argument("--time-limit", type=float, default=900.0)
    ap.add_argument("--pyomo-solve-max", type=int, default=300_000,
                    help="solve Pyomo only below this many variables (build only above)")
    ap.add_argument("--timeout", type=float, default=3600.0)
    args = ap.parse_args()
    if args.one:
        v, sites, solve, tl = args.one
        emit(one(v, int(sites), solve == "1", float(tl)))
        return
    print(f"machine: {machine()}; load average now {loadavg()}")
    variants = [v for v in args.variants if v != "pyomo" or _has_pyomo()]
    if "pyomo" in args.variants and "pyomo" not in variants:
        print("Pyomo is not installed: the pyomo variant is left out")
    rows = []
    for sites in args.sizes:
        res: dict[str, list[dict]] = {v: [] for v in variants}
        # interleaved (floor, linopy, … , floor, linopy, …): the machine is shared, so the
        # variants of one round see the same load and their ratio is from the same minutes
        for _ in range(args.repeat):
            for variant in variants:
                solve = "0" if args.no_solve and variant in ("floor", "linopy", "pyomo") else "1"
                floor_n = stats([r.get("nvars") for r in res.get("floor", [])])["min"] or 0
                if variant == "pyomo" and floor_n > args.pyomo_solve_max:
                    solve = "0"
                rec = repeated(lambda v=variant, s=solve, n=sites: isolated(
                    "build_vs_floor.py", [v, str(n), s, str(args.time_limit)], args.timeout),
                    1)[0]
                res[variant].append(rec)
                print(f"  {sites} sites {variant}: {rec}", flush=True)

        def fig(variant: str, key: str, res: dict = res) -> dict:
            return stats([r.get(key) for r in res.get(variant, [])])

        def mm(variant: str, key: str) -> str | None:
            f = fig(variant, key)
            return None if not f["n"] else f"{f['min']:.3g} / {f['median']:.3g}"

        li, fl = res.get("linopy", [{}])[0], res.get("floor", [{}])[0]
        row = {"sites": sites, "nvars": li.get("nvars") or fl.get("nvars"),
               "nnz": li.get("nnz") or fl.get("nnz"),
               "same_model": (li.get("nvars"), li.get("ncons")) == (fl.get("nvars"), fl.get("ncons"))
               if li and fl else None,
               "floor_build": mm("floor", "build"), "linopy_build": mm("linopy", "build"),
               "pyomo_build": mm("pyomo", "build"), "highs": mm("linopy", "highs"),
               "plan_total": mm("plan", "plan_total"), "milp_total": mm("milp", "plan_total"),
               "milp_highs": mm("milp", "highs"), "milp_build": mm("milp", "build"),
               "milp_duals": mm("milp", "duals"), "milp_diag": mm("milp", "diagnosis"),
               "milp_status": res.get("milp", [{}])[-1].get("status"),
               "first_model": mm("fixed", "first_model"),
               "floor_mb": stats([_net(r) for r in res.get("floor", [])])["median"],
               "linopy_mb": stats([_net(r) for r in res.get("linopy", [])])["median"],
               "load": load_range([r for recs in res.values() for r in recs])}
        fb, lb = fig("floor", "build"), fig("linopy", "build")
        if fb["n"] and lb["n"]:
            row["linopy_vs_floor"] = f"{lb['min'] / fb['min']:.2f} / {lb['median'] / fb['median']:.2f}"
            rounds = stats([li_["build"] / fl_["build"] for li_, fl_ in zip(
                res.get("linopy", []), res.get("floor", []), strict=False)
                if li_.get("build") and fl_.get("build")])
            if rounds["n"]:  # the ratio within each interleaved round
                row["round_ratio"] = f"{rounds['min']:.2f} / {rounds['median']:.2f}"
        pb = fig("pyomo", "build")
        if pb["n"] and lb["n"]:
            row["pyomo_vs_linopy"] = f"{pb['median'] / lb['median']:.1f}"
        for variant, key in (("plan", "plan_vs_highs"), ("milp", "milp_vs_highs")):
            ratios = [r["plan_total"] / r["highs"] for r in res.get(variant, [])
                      if r.get("plan_total") and r.get("highs")]
            rs = stats(ratios)
            if rs["n"]:
                row[key] = f"{rs['min']:.2f} / {rs['median']:.2f}"
        objs = [r.get("objective") for v in ("floor", "linopy", "pyomo") for r in res.get(v, [])
                if r.get("objective") is not None]
        row["same_optimum"] = (max(objs) - min(objs) <= 1e-6 * max(1.0, abs(objs[0]))
                               if len(objs) > 1 else None)
        rows.append(row)
    print("figures: min / median of the runs")
    print(markdown(rows, [
        ("sites", "sites"), ("nvars", "variables"), ("nnz", "nonzeros"),
        ("same_model", "linopy = floor (vars, rows)"),
        ("floor_build", "floor build s"), ("linopy_build", "linopy build s"),
        ("linopy_vs_floor", "linopy / floor"), ("round_ratio", "linopy / floor per round"),
        ("floor_mb", "floor MB"),
        ("linopy_mb", "linopy MB"), ("pyomo_build", "Pyomo build s"),
        ("pyomo_vs_linopy", "Pyomo / linopy"), ("highs", "HiGHS LP s"),
        ("plan_total", "LP plan total s"), ("plan_vs_highs", "LP plan / HiGHS"),
        ("milp_total", "MILP plan total s"), ("milp_highs", "MILP HiGHS s"),
        ("milp_build", "MILP build s"), ("milp_duals", "duals step s"),
        ("milp_diag", "diagnosis s"), ("milp_vs_highs", "MILP plan / HiGHS"),
        ("milp_status", "MILP status"), ("first_model", "first linopy.Model() s"), ("same_optimum", "same LP optimum"), ("load", "load avg")]))


def _net(r: dict) -> float | None:
    """Peak memory added by the build, above what the scenario and network took (MB)."""
    if "build_mb" not in r:
        return None
    return r["build_mb"] - r["prep_mb"]


if __name__ == "__main__":
    main()
