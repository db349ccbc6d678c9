"""Re-solve a built model in place: one HiGHS model changed and solved warm, not rebuilt.

A :class:`Resolver` holds the HiGHS model of one :class:`~resynergy.planner.model.Built` (a copy
of the solved one, or built from the linopy model) and the map from the model's named variables
and rows to HiGHS column and row positions. Numbers change in place — column costs, column and
row bounds, integrality — and the model is solved again from where HiGHS stands (LP: the last
basis; MILP: the last plan as a start). It serves

- sweeps (:class:`Sweep`): a point that changes only prices (the carbon price, the
  tax-incentive and environmental-tax switches, ...: ``data.PRICE_POLICY``), the CO2 cap or the
  objective and its weights re-uses the network, the model and the solver: the column costs are
  set from ``model.objective_coefficients``, the definition the linopy build uses; anything
  else (tables, years, the network's or the rows' policy) is planned cold;
- the diagnosis of missed targets (:class:`Probes`): "the most the scenario can deliver", "the
  plan that meets the target" and the target's marginal cost with the builds fixed, each a
  change of row bounds or of the objective, solved and undone;
- the duals of a MILP plan at a sweep point: builds fixed, integrality dropped, LP re-solved.

Every change made inside ``with resolver.changes():`` is undone on leaving it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from resynergy.planner import clock, results
from resynergy.planner.data import PRICE_POLICY, ModelData, PlanInputError, _policy, repriced
from resynergy.planner.model import Built, build, objective_coefficients
from resynergy.planner.names import (
    ACTIVITY,
    BUILD,
    BUILD_ONCE,
    CANDIDATE_LINK,
    CAPACITY,
    CO2_CAP,
    DISPOSAL,
    EXPANDED,
    EXPANSION,
    FLOW,
    MARKET,
    SHORTAGE,
    STOCK_DRAW,
    UNMET,
    target_slack,
)
from resynergy.planner.names import target as target_row
from resynergy.planner.options import PlanOptions
from resynergy.scenario.protocol import ScenarioLike
from resynergy.states import SolverStatus
from resynergy.warm import Warm

if TYPE_CHECKING:
    import linopy

    from resynergy.planner.solve import Run

PLAN = "plan"  # the kind of solve whose result is the plan (and the next point's start)

# Policy values a sweep point may change in place (prices, and the CO2 cap's bound); any other
# difference plans cold.
IN_PLACE_POLICY = (*PRICE_POLICY, "co2_cap_t")
# Plan options a sweep point may change in place: the objective (its column costs).
IN_PLACE_OPTIONS = ("objective", "weights")
_FEASIBLE = 2  # HiGHS kSolutionStatusFeasible


class Resolver:
    """A persistent HiGHS model of ``built`` (see the module docstring)."""

    def __init__(self, built: Built, weights: dict[str, float], options: PlanOptions,
                 highs: Any) -> None:
        m = built.model
        if any((np.asarray(v.solver_scaling.values) != 1).any() for _, v in m.variables.items()):
            raise ValueError("scaled linopy variables are not supported")  # positions ≠ units
        self.built, self.data, self.weights, self.options, self.h = (
            built, built.data, dict(weights), options, highs)
        lp = highs.getLp()
        self._cost = np.array(lp.col_cost_, dtype=float)
        self._lo = np.array(lp.col_lower_, dtype=float)
        self._hi = np.array(lp.col_upper_, dtype=float)
        self._rlo = np.array(lp.row_lower_, dtype=float)
        self._rhi = np.array(lp.row_upper_, dtype=float)
        self._int = np.array(lp.integrality_, dtype=np.uint8) if len(lp.integrality_) else \
            np.zeros(len(self._cost), dtype=np.uint8)
        self._base = (self._cost.copy(), self._rlo.copy(), self._rhi.copy())
        self._policy0 = dict(self.data.policy)
        self._undo: list[list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]] = []
        self._starts: dict[str, np.ndarray] = {}  # the last plan of each kind of solve
        self._start_weights: dict[str, dict[str, float]] = {}  # the objective each was found for
        self._bases: dict[str, Any] = {}  # the last basis of each LP solved in place
        self._pos: dict[tuple[Any, ...], np.ndarray] = {}  # HiGHS positions of model names
        self.last_log = ""

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def adopt(cls, built: Built, weights: dict[str, float], options: PlanOptions,
              model: Any = None) -> Resolver:
        """A copy of the HiGHS model linopy solved for ``built`` — or of ``model``, the MILP it
        was before a plan was completed from a start with its integer decisions fixed
        (``solve._complete``) — with its plan as the start."""
        import highspy

        solved = built.model.solver_model
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(model if model is not None else solved.getModel())
        r = cls(built, weights, options, h)
        if solved.getInfo().primal_solution_status == _FEASIBLE:
            r._keep(PLAN, solved.getSolution().col_value)
        return r

    @classmethod
    def cold(cls, data: ModelData, weights: dict[str, float], options: PlanOptions) -> Resolver:
        """Build the model of ``data`` and hand it to HiGHS (not solved yet)."""
        from resynergy.planner.solve import _silence_banner

        _silence_banner()
        built = build(data, weights, linking=options.linking)
        h = built.model.to_highspy()
        h.setOptionValue("output_flag", False)
        return cls(built, weights, options, h)

    # --- names → positions ---------------------------------------------------------------
    def cols(self, name: str) -> np.ndarray | None:
        """HiGHS columns of variable ``name`` in its own shape (-1 where masked), or None."""
        key = ("col", name)
        if key not in self._pos:
            m = self.built.model
            if name not in m.variables:
                return None
            labels = np.asarray(m.variables[name].labels.values)
            pos = m.variables.label_index.label_to_pos
            self._pos[key] = np.where(labels >= 0, pos[np.maximum(labels, 0)], -1)
        return self._pos[key]

    def rows(self, name: str, dims: tuple[str, ...] | None = None) -> np.ndarray | None:
        """HiGHS rows of constraint ``name`` (-1 where masked), or None."""
        key = ("row", name, dims)
        if key not in self._pos:
            m = self.built.model
            if name not in m.constraints:
                return None
            da = m.constraints[name].labels
            labels = np.asarray((da.transpose(*dims) if dims else da).values)
            pos = m.constraints.label_index.label_to_pos
            self._pos[key] = np.where(labels >= 0, pos[np.maximum(labels, 0)], -1)
        return self._pos[key]

    def look_up(self) -> None:
        """Look up now the columns of every variable and the row of every target (the model's
        names do not change), so that another thread can solve this resolver without reading
        the linopy model, which the caller may be changing meanwhile (``assign_result``)."""
        for name in self.built.model.variables:
            self.cols(name)
        for j in range(len(self.data.targets.table) if self.data.targets is not None else 0):
            self.rows(target_row(j))

    # --- changes (recorded for undo) -----------------------------------------------------
    def _record(self, kind: str, idx: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        if self._undo:
            self._undo[-1].append((kind, idx, a[idx].copy(), b[idx].copy()))

    def set_costs(self, idx: np.ndarray, cost: Any) -> None:
        idx = np.asarray(idx, dtype=np.int32).ravel()
        cost = np.broadcast_to(np.asarray(cost, dtype=float), idx.shape).ravel()
        self._record("cost", idx, self._cost, self._cost)
        self._cost[idx] = cost
        self.h.changeColsCost(len(idx), idx, self._cost[idx])

    def set_bounds(self, idx: np.ndarray, lower: Any, upper: Any) -> None:
        idx = np.asarray(idx, dtype=np.int32).ravel()
        self._record("bounds", idx, self._lo, self._hi)
        self._lo[idx] = np.broadcast_to(np.asarray(lower, dtype=float), idx.shape).ravel()
        self._hi[idx] = np.broadcast_to(np.asarray(upper, dtype=float), idx.shape).ravel()
        self.h.changeColsBounds(len(idx), idx, self._lo[idx], self._hi[idx])

    def set_row_bounds(self, idx: np.ndarray, lower: Any, upper: Any) -> None:
        idx = np.asarray(idx, dtype=np.int32).ravel()
        self._record("rows", idx, self._rlo, self._rhi)
        self._rlo[idx] = np.broadcast_to(np.asarray(lower, dtype=float), idx.shape).ravel()
        self._rhi[idx] = np.broadcast_to(np.asarray(upper, dtype=float), idx.shape).ravel()
        self.h.changeRowsBounds(len(idx), idx, self._rlo[idx], self._rhi[idx])

    def set_integrality(self, idx: np.ndarray, integer: bool) -> None:
        idx = np.asarray(idx, dtype=np.int32).ravel()
        self._record("int", idx, self._int, self._int)
        self._int[idx] = 1 if integer else 0
        self.h.changeColsIntegrality(len(idx), idx, self._int[idx])

    @contextlib.contextmanager
    def changes(self) -> Iterator[Resolver]:
        """Every change made inside is undone on leaving (nestable), and the data and weights
        the resolver describes are those of before."""
        self._undo.append([])
        data, weights = self.data, self.weights
        try:
            yield self
        finally:
            self.data, self.weights = data, weights
            log = self._undo.pop()
            for kind, idx, a, b in reversed(log):
                if kind == "cost":
                    self._cost[idx] = a
                    self.h.changeColsCost(len(idx), idx, a)
                elif kind == "bounds":
                    self._lo[idx], self._hi[idx] = a, b
                    self.h.changeColsBounds(len(idx), idx, a, b)
                elif kind == "rows":
                    self._rlo[idx], self._rhi[idx] = a, b
                    self.h.changeRowsBounds(len(idx), idx, a, b)
                else:
                    self._int[idx] = a
                    self.h.changeColsIntegrality(len(idx), idx, a)

    # --- what users change -----------------------------------------------------------------
    def set_objective(self, weights: Mapping[str, float] | None = None,
                      policy: Mapping[str, float] | None = None) -> None:
        """Other objective weights (:meth:`PlanOptions.blend`) and/or other values of the
        policy that only prices things (:data:`resynergy.planner.data.PRICE_POLICY`: carbon
        price, the tax-incentive and environmental-tax switches, discount rate, annuity years,
        shortage cost): the data re-priced (:func:`~resynergy.planner.data.repriced`) and every
        column cost set to :func:`~resynergy.planner.model.objective_coefficients` of it, the
        numbers a cold build would give HiGHS."""
        data = repriced(self.data, dict(policy or {}))  # PlanInputError before anything changes
        w = dict(self.weights if weights is None else weights)
        for name, coef in objective_coefficients(data, w, elastic=self.built.elastic).items():
            pos = self.cols(name)
            if pos is None:
                continue
            on = pos >= 0
            self.set_costs(pos[on], np.broadcast_to(coef, pos.shape)[on])
        self.data, self.weights = data, w

    def set_carbon_price(self, yuan_per_t: float) -> None:
        """Carbon price (yuan/t CO2): every flow and activity column's cost moves by the
        weighted price × its kg CO2 (a case of :meth:`set_objective`)."""
        self.set_objective(policy={"carbon_price": float(yuan_per_t)})

    def set_co2_cap(self, t: float) -> None:
        """CO2 cap (t/yr). Only a cap the model already has can move (a new one adds rows)."""
        rows = self.rows(CO2_CAP)
        if rows is None or t <= 0:
            raise ValueError("a CO2 cap can change in place only where the model has one")
        self.set_row_bounds(rows[rows >= 0], -np.inf, t * 1000.0)
        self._set_policy(co2_cap_t=float(t))

    def set_target(self, i: int, value_t: float) -> None:
        """Target ``i``'s value (its unit, t): the row's bound moves by the change."""
        assert self.data.targets is not None
        rows = self.rows(target_row(i))
        if rows is None:
            raise ValueError(f"target {i} has no row in the model")
        tt = self.data.targets.table
        shift = float(value_t) - float(self.built.data.targets.table.at[i, "value_t"])  # type: ignore[union-attr]
        r = int(rows.ravel()[0])
        base_lo, base_hi = self._base[1][r], self._base[2][r]
        if tt.at[i, "sense"] > 0:
            self.set_row_bounds(np.array([r]), base_lo + shift, base_hi)
        else:
            self.set_row_bounds(np.array([r]), base_lo, base_hi + shift)
        table = tt.copy()
        table.at[i, "value_t"] = float(value_t)
        self.data = dataclasses.replace(
            self.data, targets=dataclasses.replace(self.data.targets, table=table))

    def set_capacity(self, cap0: np.ndarray) -> None:
        """Capacity in place of the existing facilities (t/yr, one per facility): the capacity
        rows' bounds (cap0 × in operation) and the constants of facility-capacity targets."""
        d = self.data
        if self.options.linking != "disaggregated":
            raise ValueError("set_capacity supports the disaggregated linking only")
        cap0 = np.asarray(cap0, dtype=float)
        rows = self.rows(CAPACITY, ("year", "fac"))
        assert rows is not None
        on = rows >= 0
        self.set_row_bounds(rows[on], -np.inf, (cap0[None, :] * d.facility.avail)[on])
        if d.targets is not None:
            for i, t in d.targets.table.iterrows():
                trow = self.rows(target_row(int(i)))  # type: ignore[arg-type]
                if t["basis"] != "facility_capacity" or trow is None:
                    continue
                yi = d.years.index(int(t["year"]))
                w = d.targets.fac_weight[int(i)]  # type: ignore[call-overload]
                was = float((w * self.built.data.facility.cap0 * d.facility.avail[yi]).sum())
                now = float((w * cap0 * d.facility.avail[yi]).sum())
                r = int(trow.ravel()[0])
                lo, hi = self._base[1][r], self._base[2][r]
                self.set_row_bounds(np.array([r]), lo - (now - was) if t["sense"] > 0 else lo,
                                    hi if t["sense"] > 0 else hi - (now - was))
        self.data = dataclasses.replace(
            self.data, facility=dataclasses.replace(self.data.facility, cap0=cap0))

    def fix_binaries(self, build_: np.ndarray, expanded: np.ndarray | None = None) -> None:
        """Fix the build decisions (years × facilities, 0/1) and the expansion switches and make
        them continuous; the rows that only tie flows to builds (candidate links, build once)
        are implied then and freed, as in the cold model built with ``fixed_build``."""
        for name, values in ((BUILD, build_), (EXPANDED, expanded)):
            pos = self.cols(name)
            if pos is None:
                continue
            if values is None:
                raise ValueError(f"{name} must be fixed too")
            on = pos >= 0
            v = np.broadcast_to(np.asarray(values, dtype=float), pos.shape)[on]
            self.set_bounds(pos[on], v, v)
            self.set_integrality(pos[on], False)
        for name in (CANDIDATE_LINK, BUILD_ONCE):
            rows = self.rows(name)
            if rows is not None:
                self.set_row_bounds(rows[rows >= 0], -np.inf, np.inf)

    def _set_policy(self, **values: float) -> None:
        self.data = dataclasses.replace(self.data, policy={**self.data.policy, **values})

    # --- solving -----------------------------------------------------------------------------
    def is_mip(self) -> bool:
        return bool((self._int > 0).any())

    def solve(self, relax: bool = False, duals: bool | None = None,
              basis: str | None = None, start: str | None = PLAN) -> Run:
        """Solve from where HiGHS stands; a Run like :func:`solve._run`'s (the solution has the
        LP duals when the model solved is an LP, unless ``duals`` says otherwise). An LP named
        by ``basis`` starts from the basis it ended with last time (dual simplex).

        A MILP plan with a start (the last point's plan) is first tried by certificate: the LP
        relaxation (warm) bounds the optimum from below, the start's integer decisions fixed
        with the flows re-optimised (warm LP) give a plan; when the two are within ``mip_gap``
        that plan is what HiGHS' branch and bound would accept, and it is returned. Otherwise
        the MILP is solved with the start. Starts are kept by kind (``start``: the plan, or one
        probe of the diagnosis); ``start=None`` uses none and keeps none."""
        from resynergy.planner.solve import Run, lp_method

        opts = self.options
        mip = self.is_mip() and not relax
        found_for = self._start_weights.get(start) if start is not None else None
        if mip and start in self._starts and _leading(found_for) == _leading(self.weights):
            run = self._certified(start)  # type: ignore[arg-type]
            if run is not None:
                return run
        # a plan found for other weights is no start for the MILP: on the built-in data HiGHS
        # took 9.2 s from the least-cost plan for the least-CO2 one, 5.2 s from nothing
        use_start = mip and start is not None and found_for == self.weights
        # as solve._solver_options: HiGHS chooses for a MILP and its relaxation. An LP
        # re-solved by a basis it stored: dual simplex, warm. Any other LP: solve.lp_method —
        # dual simplex from where HiGHS stands below COLD_IPM_ABOVE columns; above, interior point,
        # cold (HiGHS's basis from the last solve dropped, so it presolves). A named basis used
        # to pick dual simplex even before one was stored: at 10^4 synthetic sites the
        # diagnosis' first probe then stopped at 300 s with ≈ 2 700 infeasibilities, where
        # interior point solved it in 279 s (benchmarks/README.md §9).
        if self.is_mip():
            solver = "choose"
        elif basis is not None and basis in self._bases:
            solver = "simplex"
        else:
            solver = lp_method(len(self._cost), opts)
            if solver == "ipm":
                self.h.clearSolver()
        status, wall, highs_time, log = self._highs(
            {"mip_rel_gap": float(opts.mip_gap), "solve_relaxation": bool(relax),
             "solver": solver}, basis=basis,
            start=self._starts.get(start) if use_start else None)  # type: ignore[arg-type]
        sol_ = None
        if status in (SolverStatus.OPTIMAL, SolverStatus.TIME_LIMIT):
            sol_ = self.solution(duals=(not mip) if duals is None else duals)
            if mip and start is not None:  # the next solve's start
                self._keep(start, self.h.getSolution().col_value)
        gap = float(self.h.getInfo().mip_gap) if mip else 0.0
        return Run(status=status, solution=sol_, log=log,
                   gap=gap if sol_ is not None else None,
                   objective=float(self.h.getObjectiveValue()) if sol_ is not None else None,
                   timings={"wall": wall, "highs": highs_time,
                            "handoff_readback": max(wall - highs_time, 0.0)})

    def _keep(self, key: str, col_value: Any) -> None:
        """Keep a solved plan as the start of the next solve of kind ``key``."""
        self._starts[key] = np.array(col_value, dtype=float)
        self._start_weights[key] = dict(self.weights)

    def _certified(self, key: str) -> Run | None:
        """The start's integer decisions with re-optimised flows, when provably within
        ``mip_gap`` of the optimum (see :meth:`solve`); None otherwise."""
        from resynergy.planner.solve import Run

        ints = np.flatnonzero(self._int > 0)
        lp = {"mip_rel_gap": float(self.options.mip_gap), "solve_relaxation": False,
              "solver": "simplex"}
        t = time.perf_counter()
        with self.changes():
            self.set_integrality(ints, False)
            status, _, h1, log1 = self._highs(lp, basis=f"{key}:relaxation")
            if status != SolverStatus.OPTIMAL:
                return None
            bound = float(self.h.getObjectiveValue())
            fixed = np.round(self._starts[key][ints])
            self.set_bounds(ints, fixed, fixed)
            status, _, h2, log2 = self._highs(lp, basis=f"{key}:fixed")
            if status != SolverStatus.OPTIMAL:
                return None
            best = float(self.h.getObjectiveValue())
            gap = max(best - bound, 0.0) / max(abs(best), 1.0)
            if gap > self.options.mip_gap:
                return None
            sol_ = self.solution(duals=False)
            self._keep(key, self.h.getSolution().col_value)
        wall = time.perf_counter() - t
        log = ("--- LP relaxation (bound) ---\n" + log1 + "\n--- integer decisions of the start "
               f"fixed (plan) ---\n{log2}\nplan {best:.12g}, bound {bound:.12g}, gap {gap:.4%}\n")
        return Run(status=SolverStatus.OPTIMAL, solution=sol_, log=log, gap=gap, objective=best,
                   timings={"wall": wall, "highs": h1 + h2,
                            "handoff_readback": max(wall - h1 - h2, 0.0)})

    def _highs(self, settings: dict[str, Any], basis: str | None = None,
               start: np.ndarray | None = None) -> tuple[SolverStatus, float, float, str]:
        """Run HiGHS with ``settings``: (status, wall s, HiGHS s, log)."""
        from resynergy.planner.solve import time_limit_from_now

        h = self.h
        for k, v in {"time_limit": time_limit_from_now(h, self.options.time_limit),
                     **settings}.items():
            h.setOptionValue(k, v)
        if basis is not None and basis in self._bases:
            h.setBasis(self._bases[basis])
        if start is not None:
            sol = h.getSolution()
            sol.col_value = list(start)
            h.setSolution(sol)
        with tempfile.TemporaryDirectory(prefix="resynergy-highs-") as tmp:
            log_file = os.path.join(tmp, "highs.log")
            for k, v in (("log_file", log_file), ("output_flag", True),
                         ("log_to_console", False)):
                h.setOptionValue(k, v)
            t = time.perf_counter()
            before = float(h.getRunTime())
            h.run()
            wall = time.perf_counter() - t
            highs_time = float(h.getRunTime()) - before
            clock.spent(highs_time)  # timings_s["highs_all_solves"] (planner/clock.py)
            h.setOptionValue("output_flag", False)
            h.setOptionValue("log_file", "")
            log = open(log_file, encoding="utf-8", errors="replace").read() if os.path.exists(
                log_file) else ""
        self.last_log = log
        has = int(h.getInfo().primal_solution_status) == _FEASIBLE
        name = h.modelStatusToString(h.getModelStatus()).lower()
        if name == "optimal" and has:
            status = SolverStatus.OPTIMAL
        elif "infeasible" in name:
            status = SolverStatus.INFEASIBLE
        elif has:
            status = SolverStatus.TIME_LIMIT
        else:
            status = SolverStatus.NO_SOLUTION
        if basis is not None and status == SolverStatus.OPTIMAL and h.getBasis().valid:
            self._bases[basis] = h.getBasis()
        return status, wall, highs_time, log

    def value(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The solved values of variable ``name`` (0 where masked or absent)."""
        pos = self.cols(name)
        if pos is None:
            return np.zeros(shape)
        x = np.asarray(self.h.getSolution().col_value, dtype=float)
        return np.nan_to_num(np.where(pos >= 0, x[np.maximum(pos, 0)], 0.0)).reshape(shape)

    def row_dual(self, name: str, dims: tuple[str, ...] | None = None) -> np.ndarray | None:
        rows = self.rows(name, dims)
        if rows is None:
            return None
        y = np.asarray(self.h.getSolution().row_dual, dtype=float)
        return np.where(rows >= 0, y[np.maximum(rows, 0)], np.nan)

    def solution(self, duals: bool = True) -> results.Solution:
        """The solved plan as a :class:`results.Solution` (as ``solve._solution`` reads it)."""
        d = self.data
        y = d.n_years
        nt = len(d.targets.table) if d.targets is not None else 0
        tdual = np.full(nt, np.nan)
        cap_dual = None
        if duals and d.targets is not None:
            for i, row in d.targets.table.iterrows():
                dual = self.row_dual(target_row(int(i)))  # type: ignore[arg-type]
                if dual is not None and dual.size:
                    tdual[int(i)] = float(dual.ravel()[0]) * row["sense"]  # type: ignore[call-overload]
        if duals:
            dual = self.row_dual(CAPACITY, ("year", "fac"))
            cap_dual = -dual if dual is not None and dual.size else None
        v = self.value
        nf, ns, nd = len(d.facility.table), len(d.supply.table), len(d.demand.table)
        return results.Solution(
            x=v(FLOW, (y, len(d.net.arcs))), act=v(ACTIVITY, (y, nf)),
            disp=v(DISPOSAL, (y, ns)), draw=v(STOCK_DRAW, (y, ns)),
            unmet=v(UNMET, (y, nd)), market=v(MARKET, (y, len(d.facility.fout))),
            exp=v(EXPANSION, (y, nf)), build=np.round(v(BUILD, (y, nf))),
            cap_dual=cap_dual, target_dual=tdual, shortage=v(SHORTAGE, (y, nd)))

    def price_fixed(self, sol: results.Solution) -> results.Solution:
        """Duals of a MILP plan: its builds and expansion switches fixed, the LP re-solved in
        place (the cold equivalent is ``solve._price_fixed``). ``sol`` when the LP fails."""
        expanded = (np.cumsum(sol.exp, axis=0) > results.TOL).astype(float)
        with self.changes():
            self.fix_binaries(sol.build, expanded if self.cols(EXPANDED) is not None else None)
            run = self.solve(duals=True, basis=f"{PLAN}:fixed", start=None)
        if run.solution is None:
            return sol
        lp = run.solution
        lp.build = sol.build
        return lp


class Probes:
    """The diagnosis' re-solves of a plan's model (see ``diagnosis.causes``): in place on the
    plan's :class:`Resolver` when asked about its own data, else built cold as before.

    The ``reachable`` probes of the targets a plan misses can be started :meth:`ahead`, in a
    thread, while the caller prices and tabulates the plan; every use of the resolver waits for
    them first (:meth:`settle`), so it is never solved by two threads at once."""

    def __init__(self, weights: dict[str, float], options: PlanOptions,
                 resolver: Resolver | None = None) -> None:
        self.weights, self.options, self.resolver = weights, options, resolver
        self._ahead: Warm[tuple[dict[int, float | None], float]] | None = None
        self._reached: dict[int, float | None] = {}

    def ahead(self, targets: Sequence[int]) -> None:
        """Start the ``reachable`` probes of ``targets`` (rows of the resolver's targets) on the
        resolver, in a thread (not on one core: :class:`resynergy.warm.Warm`). HiGHS releases
        the interpreter while it solves, so they run beside the caller's own work on another
        core; the answers are those :meth:`reachable` would give, kept until it is asked."""
        r = self.resolver
        if r is None or not targets or self._ahead is not None:
            return
        data = r.data
        r.look_up()

        def probe() -> tuple[dict[int, float | None], float]:
            t0 = clock.total()  # this thread's HiGHS time, added to the caller's by settle()
            found = {i: self._reachable(r, data, i) for i in targets
                     if self._usable(data, i) is not None}
            return found, clock.total() - t0

        self._ahead = Warm(probe)
        self._ahead.start()

    def settle(self) -> None:
        """Wait for the probes started :meth:`ahead` and keep their answers; their HiGHS time is
        added to this thread's tally (``timings_s["highs_all_solves"]``). A probe that failed
        there is solved again when asked, where its error is raised."""
        if self._ahead is None:
            return
        got, self._ahead = self._ahead.result(), None
        if got is not None:
            found, seconds = got
            self._reached.update(found)
            clock.spent(seconds)

    def _warm(self, data: ModelData, i: int) -> Resolver | None:
        self.settle()
        return self._usable(data, i)

    def _usable(self, data: ModelData, i: int) -> Resolver | None:
        r = self.resolver
        if r is None or data is not r.data or r.cols(target_slack(i)) is None:
            return None
        return r

    def _cold(self, data: ModelData, objective: Callable[[linopy.Model], Any] | None = None,
              relax: bool = False,
              fixed_build: np.ndarray | None = None) -> tuple[Built, Run]:
        from resynergy.planner.solve import _run

        b = build(data, self.weights, linking=self.options.linking, fixed_build=fixed_build)
        if objective is not None:
            b.model.add_objective(objective(b.model), overwrite=True)
        return b, _run(b, self.options, relax=relax)

    def reachable(self, data: ModelData, i: int) -> float | None:
        """Target ``i``'s least shortfall when nothing else counts: the LP relaxation with only
        this target (soft) and its slack as the objective. Returns the slack, or None."""
        from resynergy.planner.diagnosis import _one_target

        r = self._warm(data, i)
        if r is not None:
            return self._reached.pop(i) if i in self._reached else self._reachable(r, data, i)
        built, run = self._cold(_one_target(data, i, "soft"),
                                objective=lambda m: 1 * m.variables[target_slack(0)], relax=True)
        if run.solution is None or target_slack(0) not in built.model.variables:
            return None
        return float(np.nan_to_num(built.model.variables[target_slack(0)].solution.values))

    @staticmethod
    def _reachable(r: Resolver, data: ModelData, i: int) -> float | None:
        """:meth:`reachable` in place on ``r``."""
        with r.changes():
            for j in range(len(data.targets.table)):  # type: ignore[union-attr]
                rows = r.rows(target_row(j))
                if j != i and rows is not None:
                    r.set_row_bounds(rows.ravel(), -np.inf, np.inf)
            slack = r.cols(target_slack(i))
            assert slack is not None
            r.set_costs(np.arange(len(r._cost)), 0.0)
            r.set_costs(slack.ravel(), 1.0)
            r.set_integrality(np.flatnonzero(r._int > 0), False)  # the LP relaxation
            run = r.solve(duals=False, basis=f"reach {i}", start=None)
            if run.solution is None:
                return None
            return float(r.value(target_slack(i), ()))

    def with_hard(self, data: ModelData, i: int) -> tuple[bool, Run]:
        """The plan with target ``i`` binding, the other targets as they are: (whether the
        model has binaries, the run)."""
        from resynergy.planner.diagnosis import _with_hard

        r = self._warm(data, i)
        if r is not None:
            with r.changes():
                slack = r.cols(target_slack(i))
                assert slack is not None
                r.set_bounds(slack.ravel(), 0.0, 0.0)
                return r.is_mip(), r.solve(start=f"hard {i}")
        built, run = self._cold(_with_hard(data, i))
        return built.has_binaries, run

    def fixed_dual(self, data: ModelData, i: int, build_: np.ndarray) -> float:
        """The marginal cost of target ``i`` (binding) with the builds fixed at ``build_``
        (NaN when the model still has binaries, i.e. expansion switches, or fails)."""
        from resynergy.planner.diagnosis import _with_hard

        r = self._warm(data, i)
        if r is not None:
            if r.cols(EXPANDED) is not None:
                return float("nan")  # as the cold model: its switches stay binary, no duals
            with r.changes():
                slack = r.cols(target_slack(i))
                assert slack is not None
                r.set_bounds(slack.ravel(), 0.0, 0.0)
                r.fix_binaries(build_)
                run = r.solve(duals=True, start=None)
        else:
            _, run = self._cold(_with_hard(data, i), fixed_build=build_)
        if run.solution is None or run.solution.target_dual is None:
            return float("nan")
        return float(run.solution.target_dual[i])


class Sweep:
    """Sweep points that differ from the point planned first only in :data:`IN_PLACE_POLICY`
    values and :data:`IN_PLACE_OPTIONS` (the objective or its weights) re-use its network, model
    and solver (``solve(..., sweep=Sweep())``); ``warm`` and ``cold`` count the points."""

    def __init__(self) -> None:
        self.scenario: ScenarioLike | None = None
        self.options: PlanOptions | None = None
        self.resolver: Resolver | None = None
        self.warm = 0
        self.cold = 0

    def remember(self, scenario: ScenarioLike, options: PlanOptions, resolver: Resolver) -> None:
        self.scenario, self.options, self.resolver = scenario, options, resolver

    def point(self, scenario: ScenarioLike, options: PlanOptions) -> Resolver | None:
        """The resolver set to ``scenario``'s numbers and ``options``' objective, or None when
        the point must be planned cold."""
        r = self._point(scenario, options)
        if r is None:
            self.cold += 1
        else:
            self.warm += 1
        return r

    def _point(self, scenario: ScenarioLike, options: PlanOptions) -> Resolver | None:
        r = self.resolver
        if r is None or self.options is None or not _same_but_objective(self.options, options) \
                or not _same_but_policy(self.scenario, scenario):
            return None
        want = _policy(scenario)
        have = r._policy0
        if any(want[k] != have[k] for k in want if k not in IN_PLACE_POLICY):
            return None
        if (want["co2_cap_t"] > 0) != (have["co2_cap_t"] > 0):
            return None  # a cap added or removed changes the rows
        r.data = dataclasses.replace(r.built.data)  # the built numbers, before any set_*
        try:
            r.set_objective(options.blend(), {k: want[k] for k in PRICE_POLICY})
        except PlanInputError:
            return None  # planned cold, which says what is wrong
        r.options = options
        if want["co2_cap_t"] > 0:
            r.set_co2_cap(want["co2_cap_t"])
        else:
            r._set_policy(co2_cap_t=want["co2_cap_t"])
        return r


def _leading(weights: Mapping[str, float] | None) -> str | None:
    """The term an objective mostly weighs (cost for a blend with a small CO2 price; co2 for
    the 'co2' objective): a plan found for another leading term is rarely within the MIP gap of
    this one's optimum, so its certificate (two LPs) is not tried."""
    return max(weights, key=lambda k: weights[k]) if weights else None


def _same_but_objective(a: PlanOptions, b: PlanOptions) -> bool:
    """Whether two plan options differ at most in :data:`IN_PLACE_OPTIONS`."""
    return dataclasses.replace(b, **{k: getattr(a, k) for k in IN_PLACE_OPTIONS}) == a


def _same_but_policy(a: ScenarioLike | None, b: ScenarioLike) -> bool:
    """Whether two scenarios have the same tables apart from ``policy``."""
    return a is not None and a.name == b.name and a.equals(b, ignore=("policy",))
