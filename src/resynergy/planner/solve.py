"""Plan a scenario: build the network and the model, solve with HiGHS, explain, tabulate."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import linopy
import numpy as np
import pandas as pd

from resynergy.planner import clock, diagnosis, names, results
from resynergy.planner.actuals import fix as fix_actuals
from resynergy.planner.actuals import note_rows as actuals_note
from resynergy.planner.data import prepare
from resynergy.planner.model import Built, build
from resynergy.planner.options import PlanOptions, Progress
from resynergy.planner.plan import Plan, assemble
from resynergy.planner.resolve import Probes, Resolver, Sweep
from resynergy.scenario.protocol import ScenarioLike
from resynergy.states import SOLVED, PlanStatus, SolverStatus

IPM_ABOVE = 50_000  # variables: HiGHS' interior point beats dual simplex above this (measured)
# columns above which an LP re-solved cold in a loaded model (a MILP's start with its integer
# decisions fixed, a probe of the diagnosis) is given to interior point + crossover rather than
# dual simplex (:func:`lp_method`). Measured (benchmarks/README.md §9): the built-in data's
# "reachable" probe (107 k columns) takes 0.4–0.6 s with dual simplex, 1.3–1.6 s with interior
# point; at 10^4 synthetic sites (523 k) interior point solved it in 279 s where dual simplex
# had ≈ 2 700 infeasibilities left at 300 s; at 3·10^4 (1.6 M) the greedy start's fixed LP took
# 350 s with interior point, dual simplex stopped at 600 s without a feasible point. The
# threshold lies between 107 k and 523 k; nothing was measured in between.
COLD_IPM_ABOVE = 250_000
# The greedy start's fixed LP is a MILP's last resort for a plan (:func:`_complete`): it gets
# this many times the time limit. Measured at 3·10^4 synthetic sites on this 2-core machine:
# that LP (presolved to 47 k rows × 637 k columns) takes 220-350 s in all with interior point
# and crossover, more when other work competes; with ``--time-limit 300`` it stopped at IPX
# iteration 37 of ≈ 150 and the run ended without a plan (benchmarks/README.md §9).
LAST_RESORT_LIMITS = 4
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
def _quiet_linopy() -> Iterator[None]:
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

    status: SolverStatus
    solution: results.Solution | None
    log: str
    gap: float | None
    objective: float | None
    timings: dict[str, float]
    priced: bool = False  # the solution carries the shadow prices of its fixed-build LP
    start: tuple[str, str] | None = None  # the start (zh, en) of a plan from :func:`_complete`
    # the MILP as handed to HiGHS, when the solved model no longer is it (:func:`_complete`
    # fixes its integer decisions): what the diagnosis' re-solves start from
    milp: Any = None


def _report(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, fraction)


def solve(scenario: ScenarioLike, options: PlanOptions | None = None,
          progress: Progress | None = None, sweep: Sweep | None = None) -> Plan:
    """Plan ``scenario``. Always answers: an infeasible scenario yields a relaxed plan with a
    diagnosis (unless ``relax_on_infeasible`` is off); every returned solution has passed the
    mass-balance check. With a ``sweep``, a scenario that differs from the one planned before
    only in numbers the model can change in place is re-solved warm (planner/resolve.py)."""
    options = options or PlanOptions()
    weights = options.blend()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    highs0 = clock.total()
    warm = sweep.point(scenario, options) if sweep is not None else None
    if warm is not None:
        _report(progress, "solve", 0.3)
        data, built = warm.data, warm.built
        run = warm.solve()
        timings["resolve"] = time.perf_counter() - t0
    else:
        _report(progress, "network", 0.0)
        data = prepare(scenario, options.years, options.network)
        data.actuals = fix_actuals(data, options.actuals)  # raises ActualsError when unmatched
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
        resolver = Resolver.adopt(built, weights, options, model=run.milp)
        if sweep is not None:
            sweep.remember(scenario, options, resolver)
    log = run.log
    status: PlanStatus | SolverStatus = run.status
    diag = pd.DataFrame(columns=diagnosis.COLUMNS)
    final = run
    final_built = built
    if run.status == SolverStatus.INFEASIBLE:
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
            status = PlanStatus.RELAXED if final.solution is not None else PlanStatus.INFEASIBLE
        if final.solution is None:
            diag = diagnosis.no_solution(
                "方案不可行：硬约束（硬目标、必须满足的需求、禁止处置的供给、通道铁路占比或碳排放上限）相互冲突。",
                "The plan is infeasible: hard requirements (hard targets, must-meet demands, "
                "must-use supplies, corridor rail shares or the CO2 cap) conflict.")
        if iis:
            diag = pd.concat([diag, pd.DataFrame(iis, columns=diagnosis.COLUMNS)],
                             ignore_index=True)
    elif run.start is not None:  # HiGHS found none: say whence the plan and how good it is
        diag = diagnosis.start_plan(run.start, run.gap, options.time_limit)
    elif run.solution is None:
        diag = diagnosis.no_solution(
            f"在 {options.time_limit:g} 秒内未找到可行方案；请放宽时间限制或缩小问题规模。",
            f"No feasible plan found within {options.time_limit:g} s; allow more time or shrink "
            "the problem.")
        status = PlanStatus.TIME_LIMIT
    sol = final.solution
    probes = Probes(weights, options, resolver if final_built is built else None)
    if warm is None and sol is not None and final_built is built and run.start is None:
        # the diagnosis' first probes, on the resolver's copy of the model, while this thread
        # prices and tabulates the plan on its own (benchmarks/README.md §8)
        probes.ahead(_short_targets(built))
    try:
        if sol is not None and final_built.has_binaries and options.duals and not final.priced:
            _report(progress, "duals", 0.8)
            t = time.perf_counter()
            if warm is not None and final_built is built:
                sol = warm.price_fixed(sol)  # the sweep's model, priced in place
            else:
                priced, dual_log = _price(final_built, options, sol)
                log += "\n--- fixed-integer LP for shadow prices ---\n" + dual_log
                if priced is not None:
                    sol = priced
                else:
                    diag = pd.concat([d for d in (diag, _no_duals()) if len(d)], ignore_index=True)
            timings["duals"] = time.perf_counter() - t
        _report(progress, "results", 0.9)
        t = time.perf_counter()
        plan = assemble(data, scenario, sol, status=PlanStatus(status), log=log, gap=final.gap,
                        timings=timings,
                        objective_kind=options.objective if options.weights is None else "blend",
                        solver_objective=final.objective, diag=diag,
                        slacks=_slacks(final_built) if status == PlanStatus.RELAXED else None)
        timings["results"] = time.perf_counter() - t
        if data.actuals is not None:  # say which years are fixed to actuals
            plan.diagnosis = pd.concat([d for d in (actuals_note(data), plan.diagnosis) if len(d)], ignore_index=True)
        if plan.status in SOLVED and sol is not None and len(plan.targets):
            _report(progress, "diagnosis", 0.95)
            t = time.perf_counter()
            why = diagnosis.causes(data, scenario, plan, sol, probes)
            if why:
                plan.diagnosis = pd.concat([d for d in (plan.diagnosis, pd.DataFrame(
                    why, columns=diagnosis.COLUMNS)) if len(d)], ignore_index=True)
            timings["diagnosis"] = time.perf_counter() - t
    finally:
        probes.settle()  # the resolver is free again (a sweep re-uses it) however this ends
    timings["total"] = time.perf_counter() - t0
    # HiGHS's own time over every solve above (solve_highs is the MILP's, or the LP's, alone)
    timings["highs_all_solves"] = clock.total() - highs0
    _report(progress, "done", 1.0)
    return plan


def _short_targets(built: Built) -> list[int]:
    """The soft floor targets the solved model falls short of (slack > 0): the ones whose
    "reachable" probe the diagnosis starts with. Not in a model above
    :data:`COLD_IPM_ABOVE` columns, where a probe may run for its whole time limit and one
    asked for no reason would cost that much."""
    d, m = built.data, built.model
    if d.targets is None or m.solver_model is None or m.solver_model.getNumCol() > COLD_IPM_ABOVE:
        return []
    return [int(i) for i, t in d.targets.table.iterrows()  # type: ignore[call-overload]
            if t["sense"] > 0 and _values(built, names.target_slack(int(i)), ()).sum() > results.TOL]  # type: ignore[call-overload]


def _no_duals() -> pd.DataFrame:
    return pd.DataFrame([{
        "kind": "no_duals", "subject": "", "amount": 0.0, "unit": "",
        "message_zh": "影子价格（边际成本）暂缺：固定建设决策后的线性规划未在时间限制内求得最优解；方案本身不受影响。",
        "message_en": "Shadow prices (marginal costs) are unavailable: the LP with the build "
                      "decisions fixed did not reach optimality within the time limit; the plan "
                      "itself is unaffected."}], columns=diagnosis.COLUMNS)


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
    opts.update(options.highs_options or {})
    return opts


def _load(m: linopy.Model, opts: dict[str, Any]) -> Any:
    """linopy's ``Model.solve`` up to the run: the HiGHS model of ``m`` (a linopy Solver,
    attached as ``m.solver``, kept for re-solves in place)."""
    m.reset_solution()
    m.constraints.sanitize_zeros()
    m.constraints.sanitize_infinities()
    m.solver = None  # closes any previous one
    solver = linopy.solvers.Solver.from_name("highs", model=m, io_api="direct", options=opts)
    m.solver = solver
    return solver


def _columns(m: linopy.Model, name: str) -> np.ndarray:
    """HiGHS column of every cell of variable ``name`` (same shape; linopy passes the columns
    to HiGHS in label order, ``m.variables.label_index``)."""
    labels = np.asarray(m.variables[name].labels.values)
    return m.variables.label_index.label_to_pos[labels]


def _rows(m: linopy.Model, name: str) -> np.ndarray:
    """HiGHS rows of constraint ``name`` (flat; masked cells left out)."""
    labels = np.asarray(m.constraints[name].labels.values).ravel()
    return m.constraints.label_index.label_to_pos[labels[labels >= 0]]


def _integer_values(sol: results.Solution) -> dict[str, np.ndarray]:
    """The integer decisions of ``sol`` by variable name: builds, and 'expanded by then'."""
    return {names.BUILD: np.round(sol.build),
            names.EXPANDED: (np.cumsum(sol.exp, axis=0) > results.TOL).astype(float)}


def _rounded_up(built: Built) -> dict[str, np.ndarray]:
    """The integer decisions of the LP relaxation ``built`` holds, rounded up: every candidate it
    opens at all is built in the first year it opens, every facility it expands at all is
    expanded."""
    shape = (built.data.n_years, len(built.data.facility.table))
    opened = np.cumsum(_values(built, names.BUILD, shape), axis=0) > results.TOL
    first = opened & ~np.vstack([np.zeros((1, shape[1]), bool), opened[:-1]])
    grown = np.cumsum(_values(built, names.EXPANSION, shape), axis=0) > results.TOL
    return {names.BUILD: first.astype(float), names.EXPANDED: grown.astype(float)}


def _fix_integers(built: Built, values: dict[str, np.ndarray] | None) -> np.ndarray:
    """In the loaded HiGHS model, fix the integer variables at ``values`` (clipped to their
    bounds) and make them continuous; with ``values`` None, relax them (LP relaxation). The
    candidate linking rows (x ≤ U·open) hold by the capacity rows once builds are fixed, so they
    are freed: the fixed-build LP has no such rows (kept, they would split the capacity duals of
    unbuilt candidates between two rows). Returns the HiGHS solution values with the fixed
    columns set."""
    m = built.model
    h = m.solver_model
    x0 = np.asarray(h.getSolution().col_value, dtype=float)
    if len(x0) != h.getNumCol():
        x0 = np.zeros(h.getNumCol())
    for name in names.INTEGER_VARIABLES:
        if name not in m.variables:
            continue
        var = m.variables[name]
        c = _columns(m, name).ravel().astype(np.int32)
        lo, up = var.lower.values.ravel(), var.upper.values.ravel()
        h.changeColsIntegrality(len(c), c, np.zeros(len(c), dtype=np.uint8))
        if values is None:
            h.changeColsBounds(len(c), c, lo, up)
        else:
            v = np.clip(np.asarray(values[name], dtype=float).ravel(), lo, up)
            h.changeColsBounds(len(c), c, v, v)
            x0[c] = v
    if values is not None and names.CANDIDATE_LINK in m.constraints:
        r = _rows(m, names.CANDIDATE_LINK).astype(np.int32)
        h.changeRowsBounds(len(r), r, np.full(len(r), -np.inf), np.full(len(r), np.inf))
    return x0


def time_limit_from_now(h: Any, seconds: float) -> float:
    """The ``time_limit`` option that gives the next ``run()`` of the HiGHS model ``h``
    ``seconds`` of its own. HiGHS 1.x compares its limit with the model's cumulative run clock,
    not with the current run (ERGO-Code/HiGHS#1331, #1477; to change in 2.0): a model re-solved
    in place after a MILP that used its whole limit would stop at once. Measured at 10^4
    synthetic sites: the fixed-build LP for the duals stopped after 21 s (the MILP had used
    279 s of 300), and at 10^5 no plan was returned at all."""
    return float(h.getRunTime()) + float(seconds)


def _lp_in_place(built: Built, options: PlanOptions, x0: np.ndarray | None = None,
                 method: str = "simplex", seconds: float | None = None) -> tuple[bool, str]:
    """Re-solve the loaded HiGHS model (now an LP) with ``method`` (dual simplex by default),
    from ``x0`` when given, for ``seconds`` (default: the time limit), and hand the result to
    linopy. Whether HiGHS calls it optimal (primal and dual feasible), and its log."""
    m = built.model
    solver = m.solver
    assert solver is not None, "the model has not been loaded into HiGHS"
    h = solver.solver_model
    with tempfile.TemporaryDirectory(prefix="resynergy-highs-") as tmp:
        log_file = os.path.join(tmp, "highs.log")
        for k, val in (("solver", method), ("simplex_strategy", 1), ("run_crossover", "on"),
                       ("log_file", log_file),
                       ("time_limit", time_limit_from_now(
                           h, options.time_limit if seconds is None else seconds))):
            h.setOptionValue(k, val)
        if x0 is not None:
            h.setSolution(len(x0), np.arange(len(x0), dtype=np.int32), x0)
        before = float(h.getRunTime())
        with _quiet_linopy():
            m.assign_result(solver.solve())
        clock.spent(float(h.getRunTime()) - before)
        log = open(log_file, encoding="utf-8", errors="replace").read() if os.path.exists(
            log_file) else ""
    info = h.getInfo()
    optimal = (str(m.termination_condition) == "optimal" and _feasible(info)
               and int(getattr(info, "dual_solution_status", 2)) == 2 and _has_solution(built))
    return optimal, log


def lp_method(columns: int, options: PlanOptions) -> str:
    """HiGHS's method for an LP solved cold (no basis, presolved): interior point with
    crossover above :data:`COLD_IPM_ABOVE` columns, dual simplex below; ``options.solver``
    wins."""
    return options.solver or ("ipm" if columns > COLD_IPM_ABOVE else "simplex")


def _lp_cold(built: Built, options: PlanOptions, seconds: float | None = None) -> tuple[
        bool, str]:
    """Solve the loaded HiGHS model (now an LP) cold: its basis and solution dropped, so HiGHS
    presolves it (a basis left by an earlier solve makes HiGHS skip presolve: "useful basis
    so presolve not used"), with :func:`lp_method`."""
    h = built.model.solver_model
    h.clearSolver()
    return _lp_in_place(built, options, method=lp_method(int(h.getNumCol()), options),
                        seconds=seconds)


def _run(built: Built, options: PlanOptions, relax: bool = False) -> Run:
    """Solve ``built`` with HiGHS. A MILP that stops at a limit with no plan of its own gets one
    from a start (:func:`_complete`)."""
    _silence_banner()
    m = built.model
    with tempfile.TemporaryDirectory(prefix="resynergy-highs-") as tmp:
        log_file = os.path.join(tmp, "highs.log")
        t = time.perf_counter()
        with _quiet_linopy():
            solver = _load(m, _solver_options(built, options, log_file, relax))
            m.assign_result(solver.solve())
        wall = time.perf_counter() - t
        log = open(log_file, encoding="utf-8", errors="replace").read() if os.path.exists(
            log_file) else ""
    h = m.solver_model
    highs_time = float(h.getRunTime()) if h is not None else float("nan")
    clock.spent(highs_time)
    info = h.getInfo() if h is not None else None
    gap = float(info.mip_gap) if built.has_binaries and info is not None else 0.0
    timings = {"wall": wall, "highs": highs_time, "handoff_readback": wall - highs_time}
    cond = str(m.termination_condition)
    # Only a primal solution HiGHS calls feasible is a plan: stopped by a limit before finding
    # one, HiGHS still hands back (infeasible) values.
    has = _feasible(info) and _has_solution(built)
    if cond == "optimal" and has:
        status = SolverStatus.OPTIMAL
    elif cond in ("infeasible", "infeasible_or_unbounded"):
        status = SolverStatus.INFEASIBLE
    elif has:
        status = SolverStatus.TIME_LIMIT
    else:
        status = SolverStatus.NO_SOLUTION
    sol = _solution(built, duals=not built.has_binaries) if (
        has and status != SolverStatus.INFEASIBLE) else None
    if sol is not None and results.balance_residual(built.data, sol)[0] > results.BALANCE_TOL:
        # HiGHS' tolerances are absolute; a plan must also balance relatively (never a crash)
        sol, status = None, SolverStatus.NO_SOLUTION
    obj = float(m.objective.value) if sol is not None and m.objective.value is not None else None
    if status == SolverStatus.OPTIMAL and not built.has_binaries:
        gap = 0.0
    run = Run(status=status, solution=sol, log=log, gap=gap if sol is not None else None,
              objective=obj, timings=timings)
    if status == SolverStatus.NO_SOLUTION and built.has_binaries and not relax and info is not None:
        t = time.perf_counter()
        run = _complete(built, options, run, float(info.mip_dual_bound))
        run.timings["complete"] = time.perf_counter() - t
    return run


GREEDY = ("不新建、不扩建任何设施的基准方案", "greedy baseline (nothing built)")
ROUNDED = ("线性松弛解向上取整的建设方案", "LP relaxation rounded up")


def _complete(built: Built, options: PlanOptions, run: Run, bound: float) -> Run:
    """A plan for a MILP stopped at a limit without one, in the same HiGHS model: fix the
    integer decisions of a start and solve the LP that remains, cold (presolved; interior point
    above :data:`COLD_IPM_ABOVE` columns, :func:`lp_method`). Starts: the greedy baseline's (nothing
    built or expanded) first; then, when the LP relaxation is worth solving — a small model, or
    no plan from the greedy start (building nothing breaks hard requirements, as on the built-in
    data) — the relaxation's builds rounded up. Not otherwise: a MILP stopped without a plan at
    this size has rarely finished its root LP (HiGHS's bound is then a trivial one, -3.4·10^11
    against plans of 1.1·10^13 at 3·10^4 sites), and the relaxation alone (presolved to 59 k ×
    804 k) needed more than 300 s of interior point there (before, the relaxation came first,
    ran to its limit unfinished and left a basis that kept the greedy start's LP from presolve:
    no plan in 1 000 s; benchmarks/README.md §9). The greedy start's LP, the last resort for a
    plan, has :data:`LAST_RESORT_LIMITS` times the time limit; the others have it once. The
    cheaper feasible plan wins; its gap is measured against the best lower bound (None when
    there is none), its shadow prices are those of its fixed-build LP."""
    m = built.model
    h = m.solver_model
    milp = h.getModel()  # before its integer decisions are fixed
    log = run.log
    columns = int(h.getNumCol())
    method = lp_method(columns, options)
    best: tuple[float, tuple[str, str], dict[str, np.ndarray], Any, results.Solution] | None = None
    last: tuple[str, str] | None = None  # the start the model holds

    def attempt(label: tuple[str, str], values: dict[str, np.ndarray],
                seconds: float | None = None) -> None:
        nonlocal best, log, last
        last = label
        _fix_integers(built, values)
        ok, lp_log = _lp_cold(built, options, seconds)
        log += (f"\n--- integer decisions fixed at the {label[1]} ---\n"
                f"(solved cold, presolved, with {method})\n" + lp_log)
        if not ok or m.objective.value is None:
            return
        sol = _solution(built, duals=True)
        obj = float(m.objective.value)
        if results.balance_residual(built.data, sol)[0] <= results.BALANCE_TOL and (
                best is None or obj < best[0]):
            best = (obj, label, values, h.getBasis(), sol)

    attempt(GREEDY, _integer_values(results.Solution.zeros(built.data)),
            LAST_RESORT_LIMITS * float(options.time_limit))
    if columns <= COLD_IPM_ABOVE or best is None:
        _fix_integers(built, None)
        last = None
        ok, lp_log = _lp_cold(built, options)
        log += f"\n--- LP relaxation ---\n(solved cold, presolved, with {method})\n" + lp_log
        if ok and m.objective.value is not None:
            relaxed = float(m.objective.value)
            bound = max(bound, relaxed) if np.isfinite(bound) else relaxed
            attempt(ROUNDED, _rounded_up(built))
    else:
        log += ("\n--- LP relaxation not solved: a large model, and the greedy baseline gave a "
                "plan ---\n")
    if best is None:
        return Run(status=run.status, solution=None, log=log, gap=None, objective=None,
                   timings=run.timings)
    obj, label, values, basis, sol = best
    if last != label:
        # leave the model holding the plan (slacks and the diagnosis read it): its basis
        # makes the re-solve a warm one without iterations
        _fix_integers(built, values)
        h.setBasis(basis)
        _lp_in_place(built, options)
    gap = max(obj - bound, 0.0) / max(abs(obj), 1e-9) if np.isfinite(bound) else None
    return Run(status=SolverStatus.TIME_LIMIT, solution=sol, log=log, gap=gap, objective=obj,
               timings=run.timings, priced=True, start=label, milp=milp)


def _price(built: Built, options: PlanOptions, sol: results.Solution) -> tuple[
        results.Solution | None, str]:
    """Shadow prices of a MILP solution, in the solved HiGHS model: fix the integer decisions at
    ``sol``'s (see :func:`_fix_integers`) and re-solve the LP with dual simplex. The LP is
    solved cold (presolved) rather than from ``sol``: the built-in plan's capacity duals are
    degenerate, and a warm start picks other (equally valid) ones than the fixed-build LP the
    planner priced with before. The LP's solution (same builds) with its duals, or None when
    HiGHS does not call it optimal or it does not balance; and the re-solve's log."""
    _fix_integers(built, _integer_values(sol))
    ok, log = _lp_in_place(built, options)
    if not ok:
        return None, log
    lp = _solution(built, duals=True)
    if results.balance_residual(built.data, lp)[0] > results.BALANCE_TOL:
        return None, log
    lp.build = sol.build
    return lp, log


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


def _solution(built: Built, duals: bool = False) -> results.Solution:
    """The solution of ``built``'s model as HiGHS left it; with the shadow prices of the capacity
    and target rows when ``duals`` (an LP, or a MILP's LP with fixed integers)."""
    d = built.data
    y = d.n_years
    m = built.model
    nt = len(d.targets.table) if d.targets is not None else 0
    tdual = np.full(nt, np.nan)
    if d.targets is not None and duals:
        for i, row in d.targets.table.iterrows():
            name = names.target(int(i))  # type: ignore[call-overload]
            if name in m.constraints:
                dual = m.constraints[name].dual
                if dual is not None and dual.size:
                    tdual[i] = float(np.asarray(dual).ravel()[0]) * row["sense"]
    cap_dual = None
    if duals and names.CAPACITY in m.constraints:
        dual = m.constraints[names.CAPACITY].dual
        if dual is not None and dual.size:
            cap_dual = -np.asarray(dual.transpose("year", "fac").values, dtype=float)
    return results.Solution(
        x=_values(built, names.FLOW, (y, len(d.net.arcs))),
        act=_values(built, names.ACTIVITY, (y, len(d.facility.table))),
        disp=_values(built, names.DISPOSAL, (y, len(d.supply.table))),
        draw=_values(built, names.STOCK_DRAW, (y, len(d.supply.table))),
        unmet=_values(built, names.UNMET, (y, len(d.demand.table))),
        market=_values(built, names.MARKET, (y, len(d.facility.fout))),
        exp=_values(built, names.EXPANSION, (y, len(d.facility.table))),
        build=np.round(_values(built, names.BUILD, (y, len(d.facility.table)))),
        cap_dual=cap_dual, target_dual=tdual,
        shortage=_values(built, names.SHORTAGE, (y, len(d.demand.table))))


def _slacks(built: Built) -> dict[str, Any]:
    d = built.data
    nt = len(d.targets.table) if d.targets is not None else 0
    return {
        "target": [float(_values(built, names.target_slack(i), ())) for i in range(nt)],
        "corridor": [_values(built, names.corridor_slack(i), (d.n_years,))
                     for i in range(len(d.corridors.table))],
        "corridor_nev": [_values(built, names.corridor_nev_slack(i), (d.n_years,))
                         for i in range(len(d.corridors.table))],
        "co2": _values(built, names.CO2_SLACK, (d.n_years,)) if np.isfinite(d.co2_cap_kg)
        else [],
    }




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
