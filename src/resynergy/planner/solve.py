"""Plan a scenario: build the network and the model, solve with HiGHS, explain, tabulate."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resynergy.planner import diagnosis, results
from resynergy.planner.data import ModelData, prepare
from resynergy.planner.model import Built, build
from resynergy.planner.options import PlanOptions, Progress
from resynergy.planner.plan import Plan
from resynergy.planner.resolve import Probes, Resolver, Sweep
from resynergy.planner.targets import attainment_table

IPM_ABOVE = 50_000  # variables: HiGHS' interior point beats dual simplex above this (measured)
_banner_lock = threading.Lock()
_banner_done = False


def _silence_banner() -> None:
    """HiGHS prints a banner to C stdout when its first instance is created; swallow it once,
    so that ``--json`` output stays clean."""
    global _banner_done
    with _banner_lock:
        if _banner_done:
            return
        import highspy

        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_done = True


@contextlib.contextmanager
def _quiet_linopy():
    """linopy logs a warning for every infeasible solve; the planner reports it in words."""
    logger = logging.getLogger("linopy")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass
class Run:
    """One solver run: status, solution (or None), log and timings."""

    status: str  # optimal | time_limit | infeasible | no_solution
    solution: results.Solution | None
    log: str
    gap: float | None
    objective: float | None
    timings: dict[str, float]


def _report(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, fraction)


def solve(scenario: Any, options: PlanOptions | None = None,
          progress: Progress | None = None, sweep: Sweep | None = None) -> Plan:
    """Plan ``scenario``. Always answers: an infeasible scenario yields a relaxed plan with a
    diagnosis (unless ``relax_on_infeasible`` is off); every returned solution has passed the
    mass-balance check. With a ``sweep``, a scenario that differs from the one planned before
    only in numbers the model can change in place is re-solved warm (planner/resolve.py)."""
    options = options or PlanOptions()
    weights = options.blend()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    warm = sweep.point(scenario, options) if sweep is not None else None
    if warm is not None:
        _report(progress, "solve", 0.3)
        data, built = warm.data, warm.built
        run = warm.solve()
        timings["resolve"] = time.perf_counter() - t0
    else:
        _report(progress, "network", 0.0)
        data = prepare(scenario, options.years, options.network)
        timings["network"] = time.perf_counter() - t0
        _report(progress, "build", 0.15)
        t = time.perf_counter()
        built = build(data, weights, linking=options.linking)
        timings["build"] = time.perf_counter() - t
        _report(progress, "solve", 0.3)
        run = _run(built, options)
    timings.update({f"solve_{k}": v for k, v in run.timings.items()})
    # the solved model, kept in HiGHS for the diagnosis' re-solves and the sweep's next points
    resolver = warm
    if resolver is None and run.solution is not None and (
            sweep is not None or (data.targets is not None and len(data.targets.table))):
        resolver = Resolver.adopt(built, weights, options)
        if sweep is not None:
            sweep.remember(scenario, options, resolver)
    log = run.log
    status = run.status
    diag = pd.DataFrame(columns=diagnosis.COLUMNS)
    final = run
    final_built = built
    if run.status == "infeasible":
        iis: list[dict] = []
        if options.iis:
            t = time.perf_counter()
            iis = diagnosis.iis_rows(_iis(built))
            timings["iis"] = time.perf_counter() - t
        if options.relax_on_infeasible:
            _report(progress, "relax", 0.6)
            t = time.perf_counter()
            elastic = build(data, weights, elastic=True, linking=options.linking)
            final = _run(elastic, options)
            final_built = elastic
            timings["relax"] = time.perf_counter() - t
            log += "\n--- elastic re-solve ---\n" + final.log
            status = "relaxed" if final.solution is not None else "infeasible"
        if final.solution is None:
            diag = diagnosis.no_solution(
                "方案不可行：硬约束（硬目标、必须满足的需求、禁止处置的供给、通道铁路占比或碳排放上限）相互冲突。",
                "The plan is infeasible: hard requirements (hard targets, must-meet demands, "
                "must-use supplies, corridor rail shares or the CO2 cap) conflict.")
        if iis:
            diag = pd.concat([diag, pd.DataFrame(iis, columns=diagnosis.COLUMNS)],
                             ignore_index=True)
    elif run.solution is None:
        diag = diagnosis.no_solution(
            f"在 {options.time_limit:g} 秒内未找到可行方案；请放宽时间限制或缩小问题规模。",
            f"No feasible plan found within {options.time_limit:g} s; allow more time or shrink "
            "the problem.")
        status = "time_limit"
    sol = final.solution
    if sol is not None and final_built.has_binaries and options.duals:
        _report(progress, "duals", 0.8)
        t = time.perf_counter()
        sol = (warm.price_fixed(sol) if warm is not None and final_built is built
               else _price_fixed(data, weights, options, final_built, sol))
        timings["duals"] = time.perf_counter() - t
    _report(progress, "results", 0.9)
    t = time.perf_counter()
    plan = assemble(data, sol, status=status, log=log, gap=final.gap, timings=timings,
                    objective_kind=options.objective if options.weights is None else "blend",
                    solver_objective=final.objective, diag=diag,
                    slacks=_slacks(final_built) if status == "relaxed" else None)
    timings["results"] = time.perf_counter() - t
    if plan.status in ("optimal", "time_limit") and sol is not None and len(plan.targets):
        _report(progress, "diagnosis", 0.95)
        t = time.perf_counter()
        why = diagnosis.causes(data, plan, sol, Probes(
            weights, options, resolver if final_built is built else None))
        if why:
            plan.diagnosis = pd.concat([d for d in (plan.diagnosis, pd.DataFrame(
                why, columns=diagnosis.COLUMNS)) if len(d)], ignore_index=True)
        timings["diagnosis"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    _report(progress, "done", 1.0)
    return plan


def assemble(data: ModelData, sol: results.Solution | None, *, status: str, log: str,
             gap: float | None, timings: dict[str, float], objective_kind: str,
             solver_objective: float | None, diag: pd.DataFrame,
             slacks: dict[str, Any] | None = None) -> Plan:
    """The Plan of a solution (checked for mass balance), or an empty plan without one."""
    empty = sol is None
    if sol is None:
        sol = results.Solution.zeros(data)
        residual = float("nan")
    else:
        residual = results.check_balance(data, sol)
    costs = results.costs(data, sol)
    tables = {
        "flows": results.flows(data, sol), "facility_io": results.facility_io(data, sol),
        "activity": results.activity(data, sol), "supply_use": results.supply_use(data, sol),
        "deliveries": results.deliveries(data, sol), "market": results.market(data, sol),
        "costs": costs, "emissions": results.emissions(data, sol),
        "incentives": results.incentives(data, sol),
        "shortages": results.shortages(data, sol),
        "corridor_shares": results.corridor_shares(data, sol),
    }
    if empty:
        tables = {k: v.iloc[:0] for k, v in tables.items()}
    if slacks is not None and not empty:
        extra = diagnosis.relaxation(data, sol, slacks, float(costs["yuan"].sum()))
    elif not empty:
        extra = pd.DataFrame(diagnosis.binding_targets(data, sol), columns=diagnosis.COLUMNS)
    else:
        extra = pd.DataFrame(columns=diagnosis.COLUMNS)
    diag = pd.concat([d for d in (diag, extra) if len(d)], ignore_index=True) if (
        len(diag) or len(extra)) else pd.DataFrame(columns=diagnosis.COLUMNS)
    plan = Plan(scenario=data.scenario, status=status,
                objective=float(costs["yuan"].sum()) if not empty else float("nan"),
                mip_gap=gap, solver_log=log, timings=timings, targets=pd.DataFrame(),
                diagnosis=diag, objective_kind=objective_kind, solver_objective=solver_objective,
                balance_residual=residual, years=list(data.years), **tables)
    plan.targets = attainment_table(data, plan, sol if not empty else None)
    return plan


def _solver_options(built: Built, options: PlanOptions, log_file: str,
                    relax: bool = False) -> dict[str, Any]:
    opts: dict[str, Any] = {"time_limit": float(options.time_limit), "output_flag": True,
                            "log_to_console": False, "log_file": log_file}
    if built.has_binaries and relax:
        opts["solve_relaxation"] = True
    elif built.has_binaries:
        opts["mip_rel_gap"] = float(options.mip_gap)
    else:
        n = built.model.nvars
        opts["solver"] = options.solver or ("ipm" if n > IPM_ABOVE else "simplex")
    return opts


def _run(built: Built, options: PlanOptions, relax: bool = False) -> Run:
    _silence_banner()
    m = built.model
    with tempfile.TemporaryDirectory(prefix="resynergy-highs-") as tmp:
        log_file = os.path.join(tmp, "highs.log")
        t = time.perf_counter()
        with _quiet_linopy():
            m.solve("highs", io_api="direct", **_solver_options(built, options, log_file, relax))
        wall = time.perf_counter() - t
        log = open(log_file, encoding="utf-8", errors="replace").read() if os.path.exists(
            log_file) else ""
    h = m.solver_model
    highs_time = float(h.getRunTime()) if h is not None else float("nan")
    info = h.getInfo() if h is not None else None
    gap = float(info.mip_gap) if built.has_binaries and info is not None else 0.0
    timings = {"wall": wall, "highs": highs_time, "handoff_readback": wall - highs_time}
    cond = str(m.termination_condition)
    # Only a primal solution HiGHS calls feasible is a plan: stopped by the time limit before
    # finding one, HiGHS still hands back (infeasible) values.
    has = _feasible(info) and _has_solution(built)
    if cond == "optimal" and has:
        status = "optimal"
    elif cond in ("infeasible", "infeasible_or_unbounded"):
        status = "infeasible"
    elif has:
        status = "time_limit"
    else:
        status = "no_solution"
    sol = _solution(built) if has and status != "infeasible" else None
    obj = float(m.objective.value) if sol is not None and m.objective.value is not None else None
    if status == "optimal" and not built.has_binaries:
        gap = 0.0
    return Run(status=status, solution=sol, log=log, gap=gap if sol is not None else None,
               objective=obj, timings=timings)


def _feasible(info: Any) -> bool:
    """HiGHS' own word on its primal solution (kSolutionStatusFeasible = 2)."""
    status = getattr(info, "primal_solution_status", None) if info is not None else None
    return status is None or int(status) == 2


def _has_solution(built: Built) -> bool:
    if built.model.status != "ok":
        return False
    sol = built.model.variables["flow"].solution
    return sol.size == 0 or bool(np.isfinite(sol.values).any())


def _values(built: Built, name: str, shape: tuple[int, ...]) -> np.ndarray:
    m = built.model
    if name not in m.variables:
        return np.zeros(shape)
    return np.nan_to_num(np.asarray(m.variables[name].solution.values, dtype=float)).reshape(shape)


def _solution(built: Built) -> results.Solution:
    d = built.data
    y = d.n_years
    m = built.model
    nt = len(d.targets.table) if d.targets is not None else 0
    tdual = np.full(nt, np.nan)
    if d.targets is not None:
        for i, row in d.targets.table.iterrows():
            name = f"target_{i}"
            if name in m.constraints and not built.has_binaries:
                dual = m.constraints[name].dual
                if dual is not None and dual.size:
                    tdual[i] = float(np.asarray(dual).ravel()[0]) * row["sense"]
    cap_dual = None
    if not built.has_binaries and "capacity" in m.constraints:
        dual = m.constraints["capacity"].dual
        if dual is not None and dual.size:
            cap_dual = -np.asarray(dual.transpose("year", "fac").values, dtype=float)
    return results.Solution(
        x=_values(built, "flow", (y, len(d.net.arcs))),
        act=_values(built, "activity", (y, len(d.fac))),
        disp=_values(built, "disposal", (y, len(d.sup))),
        draw=_values(built, "stock_draw", (y, len(d.sup))),
        unmet=_values(built, "unmet", (y, len(d.dem))),
        market=_values(built, "market", (y, len(d.fout))),
        exp=_values(built, "expansion", (y, len(d.fac))),
        build=np.round(_values(built, "build", (y, len(d.fac)))),
        cap_dual=cap_dual, target_dual=tdual,
        shortage=_values(built, "shortage", (y, len(d.dem))))


def _slacks(built: Built) -> dict[str, Any]:
    d = built.data
    nt = len(d.targets.table) if d.targets is not None else 0
    return {
        "target": [float(_values(built, f"target_slack_{i}", ())) for i in range(nt)],
        "corridor": [_values(built, f"corridor_slack_{i}", (d.n_years,))
                     for i in range(len(d.corridors))],
        "corridor_nev": [_values(built, f"corridor_nev_slack_{i}", (d.n_years,))
                         for i in range(len(d.corridors))],
        "co2": _values(built, "co2_slack", (d.n_years,)) if np.isfinite(d.co2_cap_kg) else [],
    }


def _price_fixed(data: ModelData, weights: dict[str, float], options: PlanOptions,
                 built: Built, sol: results.Solution) -> results.Solution:
    """Duals of a MILP solution: fix its build decisions and re-solve the LP."""
    fixed = build(data, weights, elastic=built.elastic, linking=options.linking,
                  fixed_build=sol.build,
                  fixed_expanded=(np.cumsum(sol.exp, axis=0) > results.TOL).astype(float))
    run = _run(fixed, options)
    if run.solution is None:
        return sol
    lp = run.solution
    lp.build = sol.build
    return lp


def _iis(built: Built) -> list[str]:
    """Constraint names in HiGHS' irreducible infeasible subset (slow on big models)."""
    m = built.model
    try:
        labels = m.compute_infeasibilities()
    except Exception as exc:  # noqa: BLE001 - IIS is optional; report why it is missing
        return [f"(IIS unavailable: {exc})"]
    out = []
    for label in labels:
        try:
            name, coord = m.constraints.get_label_position(int(label))  # type: ignore[misc]
            out.append(f"{name}{coord}" if coord else str(name))
        except Exception:  # noqa: BLE001
            out.append(str(label))
    return out
