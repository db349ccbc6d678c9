"""The greedy start at scale (benchmarks/README.md §9): what the last resort for a plan costs,
and whether the greedy baseline could be the MILP's start instead.

- ``lp``: on ``resynergy.synth`` scenarios, the MILP's integer decisions fixed at the greedy
  start (nothing built or expanded) in the loaded HiGHS model, as ``solve._complete`` does, and
  that LP solved cold with interior point + crossover under each HiGHS option set asked for
  (``--variants``), each run in a fresh ``Highs`` from the same model: wall s, IPM and
  crossover iterations, status and objective, ``--repeat`` times, with the load average.
- ``start``: the greedy baseline (``planner.greedy``) as a complete column vector of the MILP —
  its flows, activities, disposal, stock draws, purchases and market sales; nothing built or
  expanded; each slack column set to what its row needs — and which rows it still violates,
  by constraint: what HiGHS would reject as a start.

    python benchmarks/greedy_start.py lp --sites 10000 --variants default bound both
    python benchmarks/greedy_start.py start --sites 1000
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np
import scipy.sparse as sp
from common import loadavg, machine, stats

VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "bound": {"user_bound_scale": -10},
    "cost": {"user_cost_scale": -20},
    "both": {"user_bound_scale": -10, "user_cost_scale": -20},
    "no-crossover": {"run_crossover": "off"},
    "hipo": {"solver": "hipo"},  # needs the highspy-extras matching highspy (§9)
}


def loaded(sites: int):
    """The synthetic scenario's MILP as ``resynergy plan`` builds it, loaded into HiGHS."""
    from resynergy import synth
    from resynergy.planner import PlanOptions
    from resynergy.planner.data import prepare
    from resynergy.planner.model import build

    solve = importlib.import_module("resynergy.planner.solve")
    options = PlanOptions(time_limit=3600.0)
    data = prepare(synth.scenario(sites, 0), options.years, options.network)
    built = build(data, options.blend(), linking=options.linking)
    solve._load(built.model, solve._solver_options(built, options, "/dev/null"))
    return solve, built


def lp(sites: int, variants: list[str], repeat: int) -> None:
    import highspy

    from resynergy.planner import results

    solve, built = loaded(sites)
    solve._fix_integers(built, solve._integer_values(results.Solution.zeros(built.data)))
    model = built.model.solver_model.getModel()
    print(f"{sites} sites, {model.lp_.num_col_} columns; load average {loadavg():.2f}")
    for name in variants:
        walls = []
        for _ in range(repeat):
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.passModel(model)
            for k, v in {"solver": "ipm", "time_limit": 3600.0, **VARIANTS[name]}.items():
                h.setOptionValue(k, v)
            t = time.perf_counter()
            h.run()
            walls.append(time.perf_counter() - t)
            info = h.getInfo()
            print(f"  {name}: {walls[-1]:.1f} s, {h.modelStatusToString(h.getModelStatus())}, "
                  f"objective {info.objective_function_value:.10e}, IPM iterations "
                  f"{info.ipm_iteration_count}, crossover {info.crossover_iteration_count}; "
                  f"load {loadavg():.2f}", flush=True)
        s = stats(walls)
        print(f"{name}: min {s['min']:.1f} s, median {s['median']:.1f} s ({s['n']} runs)")


def start(sites: int) -> None:
    from resynergy.planner import names
    from resynergy.planner.greedy import greedy_solution

    solve, built = loaded(sites)
    m, h = built.model, built.model.solver_model
    g = greedy_solution(built.data)
    x = np.full(h.getNumCol(), np.nan)
    given = {names.FLOW: g.x, names.ACTIVITY: g.act, names.DISPOSAL: g.disp,
             names.STOCK_DRAW: g.draw, names.UNMET: g.unmet, names.MARKET: g.market,
             names.EXPANSION: g.exp, names.BUILD: g.build, names.SHORTAGE: g.shortage,
             names.EXPANDED: np.zeros_like(g.exp)}
    for name, values in given.items():
        if name in m.variables:
            cols = solve._columns(m, name)
            x[cols.ravel()] = np.asarray(values).reshape(cols.shape).ravel()
    lp = h.getLp()
    a = lp.a_matrix_
    parts = (np.array(a.value_), np.array(a.index_), np.array(a.start_))
    rows_first = len(parts[2]) == lp.num_row_ + 1
    A = (sp.csr_matrix if rows_first else sp.csc_matrix)(parts, shape=(lp.num_row_, len(x))).tocsc()
    lo, up = np.array(lp.row_lower_), np.array(lp.row_upper_)
    slack = np.flatnonzero(np.isnan(x))  # target, corridor and CO2 slacks: what their row needs
    x[slack] = 0.0
    activity = A @ x
    for c in slack:
        col = A[:, c]
        need = [max((lo[r] - activity[r]) / v if activity[r] < lo[r] else
                    (up[r] - activity[r]) / v if activity[r] > up[r] else 0.0, 0.0)
                for r, v in zip(col.indices, col.data, strict=True)]
        x[c] = max(need, default=0.0)
    activity = A @ x
    short = np.maximum(lo - activity, 0) + np.maximum(activity - up, 0)
    col_lo, col_up = np.array(lp.col_lower_), np.array(lp.col_upper_)
    print(f"{sites} sites: {len(x)} columns, {len(slack)} derived from their rows; "
          f"{int(((x < col_lo - 1e-9) | (x > col_up + 1e-9)).sum())} outside their bounds; "
          f"{int((short > 1e-6).sum())} rows violated")
    for name in m.constraints:
        r = solve._rows(m, name)
        if len(r) and (short[r] > 1e-6).any():
            print(f"  {name}: {int((short[r] > 1e-6).sum())} rows, at most {short[r].max():.4g}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["lp", "start"])
    ap.add_argument("--sites", type=int, default=10000)
    ap.add_argument("--variants", nargs="*", default=["default", "bound", "both"],
                    choices=sorted(VARIANTS))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    if args.what == "lp":
        lp(args.sites, args.variants, args.repeat)
    else:
        start(args.sites)


if __name__ == "__main__":
    main()
