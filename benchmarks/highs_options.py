"""HiGHS options on the built-in MILP (benchmarks/README.md §8): the model ``resynergy plan``
builds, loaded once, then solved from it in a fresh ``Highs`` per run under each option set,
the option sets taking turns, ``--repeat`` rounds: wall s (min / median), status, objective
and gap, with the load average.

    python benchmarks/highs_options.py --repeat 3
"""

from __future__ import annotations

import argparse
import importlib
import time

from common import loadavg, machine, stats

VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "no symmetry": {"mip_detect_symmetry": False},
    "bound scale": {"user_bound_scale": -10},
    "cost scale": {"user_cost_scale": -10},
    "both scales": {"user_bound_scale": -10, "user_cost_scale": -10},
    "heuristics 0.2": {"mip_heuristic_effort": 0.2},
    "no presolve limit": {"presolve_reduction_limit": -1},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="jjj-2022")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import highspy

    from resynergy.planner import PlanOptions
    from resynergy.planner.data import prepare
    from resynergy.planner.model import build
    from resynergy.scenario import Scenario

    solve = importlib.import_module("resynergy.planner.solve")
    options = PlanOptions()
    data = prepare(Scenario.from_builtin(args.scenario), options.years, options.network)
    built = build(data, options.blend(), linking=options.linking)
    solve._load(built.model, solve._solver_options(built, options, "/dev/null"))
    model = built.model.solver_model.getModel()
    print(f"machine: {machine()}; {args.scenario}: {model.lp_.num_col_} columns; "
          f"load average {loadavg():.2f}")
    walls: dict[str, list[float]] = {k: [] for k in VARIANTS}
    for _ in range(args.repeat):
        for name, extra in VARIANTS.items():
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.passModel(model)
            for k, v in {"mip_rel_gap": options.mip_gap, "time_limit": 300.0, **extra}.items():
                h.setOptionValue(k, v)
            t = time.perf_counter()
            h.run()
            walls[name].append(time.perf_counter() - t)
            info = h.getInfo()
            print(f"  {name}: {walls[name][-1]:.2f} s, {h.modelStatusToString(h.getModelStatus())}"
                  f", objective {info.objective_function_value:.8e}, gap {info.mip_gap:.5f}",
                  flush=True)
    print(f"load average now {loadavg():.2f}")
    for name, w in walls.items():
        s = stats(w)
        print(f"{name}: {s['min']:.2f} / {s['median']:.2f} s (min / median of {s['n']})")


if __name__ == "__main__":
    main()
