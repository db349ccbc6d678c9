"""A greedy nearest-feasible baseline: what a planner might do by hand, to show what
optimisation buys.

Year by year, existing facilities (largest first) take as much as their capacity, their nearest
suppliers and their nearest buyers allow: each input is drawn from the nearest supplies with
material left, each output goes to the nearest demand with room left (products with no sink in
the scenario leave to the market). Only direct arcs, in their cheapest mode; no new capacity,
no rail routes, no facility-to-facility chains. Whatever supply is left is disposed of (even
where disposal is not allowed: the diagnosis says so) and whatever demand is left is bought as
the virgin alternative while the region's virgin capacity lasts, the rest a shortage.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from resynergy.planner import diagnosis, results
from resynergy.planner.data import ModelData, prepare
from resynergy.planner.plan import Plan, assemble
from resynergy.scenario.protocol import ScenarioLike
from resynergy.states import PlanStatus


def greedy(scenario: ScenarioLike, years: Sequence[int] | None = None) -> Plan:
    """The greedy baseline plan of ``scenario`` (status 'heuristic'), with the same tables as
    :func:`resynergy.planner.solve`."""
    t0 = time.perf_counter()
    data = prepare(scenario, years)
    sol = greedy_solution(data)
    diag = pd.DataFrame(diagnosis.violations(data, sol, {}) + diagnosis.binding_targets(data, sol),
                        columns=diagnosis.COLUMNS)
    elapsed = time.perf_counter() - t0
    return assemble(data, scenario, sol, status=PlanStatus.HEURISTIC,
                    log="greedy nearest-feasible baseline", gap=None,
                    timings={"total": elapsed}, objective_kind="cost", solver_objective=None,
                    diag=diag)


def greedy_solution(data: ModelData) -> results.Solution:
    """The greedy baseline's flows and facility use on ``data`` (nothing built or expanded)."""
    sol = results.Solution.zeros(data)
    stock_left = data.supply.stock0.copy()
    arcs = _cheapest_direct(data)
    for yi in range(data.n_years):
        stock_left = _year(data, sol, yi, arcs, stock_left)
    return sol


def _cheapest_direct(data: ModelData) -> pd.DataFrame:
    """Direct arcs, one per (source, sink): the cheapest mode; with distance for ordering."""
    a = data.net.arcs
    direct = a[a["kind"] == "direct"].assign(cost=data.net.cost[a["kind"] == "direct"])
    direct = direct.sort_values(["src", "dst", "cost"], kind="stable")
    best = direct.drop_duplicates(["src", "dst"])
    return pd.DataFrame({"arc": best.index.to_numpy(), "d": best["d1"].to_numpy(),
                         "from_sup": data.arc.from_sup[best.index],
                         "from_fout": data.arc.from_fout[best.index],
                         "to_fin": data.arc.to_fin[best.index],
                         "to_dem": data.arc.to_dem[best.index]}).sort_values("d", kind="stable")


def _year(data: ModelData, sol: results.Solution, yi: int, arcs: pd.DataFrame,
          stock_left: np.ndarray) -> np.ndarray:
    draw_max = np.minimum(data.supply.draw_max[yi], stock_left)
    left = data.supply.gen[yi] + draw_max  # t each supply node can still ship
    room = data.demand.qty[yi].copy()  # t each demand node can still take
    cap = data.facility.cap0 * data.facility.avail[yi]
    supply_arcs = arcs[(arcs["from_sup"] >= 0) & (arcs["to_fin"] >= 0)]
    by_fin = {k: g for k, g in supply_arcs.groupby("to_fin")}
    sale_arcs = arcs[(arcs["from_fout"] >= 0) & (arcs["to_dem"] >= 0)]
    by_fout = {k: g for k, g in sale_arcs.groupby("from_fout")}
    fin_of = data.facility.fin.groupby("fac").indices
    fout_of = data.facility.fout.groupby("fac").indices
    rate_in = data.facility.fin["rate"].to_numpy()
    rate_out = data.facility.fout["rate"].to_numpy()
    market = data.facility.fout["market"].to_numpy()
    x = sol.x[yi]
    host_row, host_use, host_of, host_room = _host_room(data)
    for f in np.argsort(-cap, kind="stable"):
        if cap[f] <= results.TOL or f not in fin_of:
            continue
        amount = cap[f]
        for p in fin_of[f]:
            g = by_fin.get(p)
            avail = left[g["from_sup"].to_numpy()].sum() if g is not None else 0.0
            amount = min(amount, avail / rate_in[p])
        for q in fout_of.get(f, []):
            if market[q] or rate_out[q] <= 0:
                continue
            g = by_fout.get(q)
            space = room[g["to_dem"].to_numpy()].sum() if g is not None else 0.0
            amount = min(amount, space / rate_out[q])
        i = host_row.get(int(f))
        if i is not None:  # the host limits of the LP (model.host_limit_rows)
            on = host_use[i] > 0
            amount = min(amount, float(np.min(host_room[host_of[i], on] / host_use[i, on],
                                              initial=np.inf)))
        if amount <= results.TOL:
            continue
        if i is not None:
            host_room[host_of[i]] -= host_use[i] * amount
        for p in fin_of[f]:
            g = by_fin[p]
            _take(x, g["arc"].to_numpy(), left, g["from_sup"].to_numpy(), rate_in[p] * amount)
        for q in fout_of.get(f, []):
            made = rate_out[q] * amount
            g = by_fout.get(q)
            if g is not None and not market[q]:
                made -= _take(x, g["arc"].to_numpy(), room, g["to_dem"].to_numpy(), made)
            sol.market[yi, q] = max(made, 0.0) if market[q] else 0.0
        sol.act[yi, f] = amount
    shipped = data.supply.gen[yi] + draw_max - left
    sol.draw[yi] = np.clip(shipped - data.supply.gen[yi], 0.0, None)
    sol.disp[yi] = np.clip(data.supply.gen[yi] - shipped, 0.0, None)
    sol.unmet[yi], sol.shortage[yi] = _virgin(data, yi, room)  # type: ignore[index]
    return stock_left - sol.draw[yi]


def _host_room(data: ModelData) -> tuple[dict[int, int], np.ndarray, np.ndarray, np.ndarray]:
    """The LP's host limits as greedy bookkeeping: facility → hosted row, what one t of input
    uses of each limit (share, then each element), the host of each row, and each host's room
    (lines on one host draw on one room)."""
    h = data.host_limits
    if h is None:
        return {}, np.zeros((0, 0)), np.zeros(0, dtype=int), np.zeros((0, 0))
    use = np.column_stack([h.per_t, h.load])
    room = np.column_stack([np.ones(len(h.hosts)), h.limit]) * h.hosts["output_t"].to_numpy(
        dtype=float)[:, None]
    return {int(f): i for i, f in enumerate(h.fac)}, use, h.group, room
def _virgin(data: ModelData, yi: int, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Demand left over, bought as virgin material as far as the regional virgin capacity of
    the year lasts (demand nodes in order), the rest a shortage."""
    vs = data.virgin
    if vs is None or not len(vs.pools):
        return room, np.zeros_like(room)
    left = vs.cap[yi].copy()
    bought = room.copy()
    for d in np.flatnonzero(vs.member.any(axis=0)):
        pools = np.flatnonzero(vs.member[:, d])
        bought[d] = max(0.0, min(room[d], *left[pools]))
        left[pools] -= bought[d]
    return bought, room - bought


def _take(x: np.ndarray, arc: np.ndarray, pool: np.ndarray, node: np.ndarray, need: float) -> float:
    """Ship ``need`` over ``arc`` in order, from each arc's ``node`` while its ``pool`` lasts.
    Returns what was shipped (the pools and ``x`` are updated)."""
    shipped = 0.0
    for a, n in zip(arc, node, strict=True):
        if need - shipped <= results.TOL:
            break
        take = min(pool[n], need - shipped)
        if take > 0:
            x[a] += take
            pool[n] -= take
            shipped += take
    return shipped
