"""The planner's LP written two other ways, for the build benchmark.

- ``floor``: the constraint matrix assembled by hand with numpy / scipy.sparse (COO → CSR) and
  passed to highspy with ``addVars`` / ``changeColsCost`` / ``addRows`` — the least a build can
  cost;
- ``pyomo``: the same LP as a Pyomo user would write it (indexed variables, rule-based
  constraints over adjacency lists), handed to HiGHS through ``pyomo.contrib.solver``.

Both read the same :class:`resynergy.planner.data.ModelData` as the linopy model, restricted to
what the benchmark scenario uses (one year; no candidates, expansion, lanes or CO2 cap; soft
facility-input targets; corridors; terminals). Their optimal objectives must equal the linopy
model's (checked by ``build_vs_floor.py`` at the small sizes).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from resynergy.planner.data import ModelData


def check_supported(d: ModelData) -> None:
    """Refuse data with features these variants do not write."""
    problems = []
    if d.n_years != 1:
        problems.append("more than one year")
    if d.facility.buildable.any():
        problems.append("candidate facilities")
    if (d.facility.headroom > 0).any():
        problems.append("expandable facilities")
    if np.isfinite(d.arc.lane_cap).any():
        problems.append("lane capacities")
    if np.isfinite(d.co2_cap_kg):
        problems.append("a CO2 cap")
    if d.targets is not None and ((d.targets.table["basis"] != "facility_input")
                                  | (d.targets.table["kind"] != "soft")).any():
        problems.append("targets other than soft facility-input ones")
    if problems:
        raise ValueError("benchmark variants do not write " + ", ".join(problems))


def _pieces(d: ModelData):
    """Column blocks, costs, bounds and row blocks as COO triplets (shared by both variants)."""
    A, F, S, D = len(d.net.arcs), len(d.facility.table), len(d.supply.table), len(d.demand.table)
    Fo, Fi, T = len(d.facility.fout), len(d.facility.fin), len(d.arc.terminal_cap)
    tt = d.targets.table if d.targets is not None else None
    K = len(tt) if tt is not None else 0
    cols = {"x": 0, "act": A, "disp": A + F, "draw": A + F + S, "unmet": A + F + 2 * S,
            "market": A + F + 2 * S + D, "slack": A + F + 2 * S + D + Fo}
    n = cols["slack"] + K
    cost = np.concatenate([
        d.net.cost + d.carbon_price_per_kg * d.net.co2,
        d.facility.opex - d.facility.incentive + d.carbon_price_per_kg * d.facility.co2_proc,
        (d.supply.disp_cost + d.supply.env_tax)[0], np.zeros(S), d.demand.value[0], np.zeros(Fo),
        tt["penalty"].to_numpy() if K else np.zeros(0)])
    lb = np.zeros(n)
    ub = np.concatenate([np.full(A + F, np.inf), np.where(d.supply.must_use[0], 0.0, np.inf),
                         d.supply.draw_max[0], np.where(d.demand.must_meet[0], 0.0, np.inf),
                         np.where(d.facility.fout["market"].to_numpy(), np.inf, 0.0),
                         np.full(K, np.inf)])
    rows, cols_, vals, lo, hi = [], [], [], [], []
    r0 = 0

    def block(r, c, v, n_rows, lower, upper):
        nonlocal r0
        rows.append(np.asarray(r) + r0)
        cols_.append(np.asarray(c))
        vals.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(r)))
        lo.append(np.broadcast_to(lower, n_rows))
        hi.append(np.broadcast_to(upper, n_rows))
        r0 += n_rows

    arcs = np.arange(A)
    fs, ff, fi, fd = d.arc.from_sup, d.arc.from_fout, d.arc.to_fin, d.arc.to_dem
    on = fs >= 0
    block(np.concatenate([fs[on], np.arange(S), np.arange(S)]),
          np.concatenate([arcs[on], cols["disp"] + np.arange(S), cols["draw"] + np.arange(S)]),
          np.concatenate([np.ones(on.sum()), np.ones(S), -np.ones(S)]), S, d.supply.gen[0],
          d.supply.gen[0])
    on = ff >= 0
    fo_fac, fo_rate = d.facility.fout["fac"].to_numpy(), d.facility.fout["rate"].to_numpy()
    block(np.concatenate([ff[on], np.arange(Fo), np.arange(Fo)]),
          np.concatenate([arcs[on], cols["market"] + np.arange(Fo), cols["act"] + fo_fac]),
          np.concatenate([np.ones(on.sum()), np.ones(Fo), -fo_rate]), Fo, 0.0, 0.0)
    on = fi >= 0
    fi_fac, fi_rate = d.facility.fin["fac"].to_numpy(), d.facility.fin["rate"].to_numpy()
    block(np.concatenate([fi[on], np.arange(Fi)]),
          np.concatenate([arcs[on], cols["act"] + fi_fac]),
          np.concatenate([np.ones(on.sum()), -fi_rate]), Fi, 0.0, 0.0)
    on = fd >= 0
    block(np.concatenate([fd[on], np.arange(D)]),
          np.concatenate([arcs[on], cols["unmet"] + np.arange(D)]),
          np.ones(on.sum() + D), D, d.demand.qty[0], d.demand.qty[0])
    block(np.arange(F), cols["act"] + np.arange(F), 1.0, F, -np.inf,
          d.facility.cap0 * d.facility.avail[0])
    if T:
        tf, tt_ = d.net.arcs["t_from"].to_numpy(), d.net.arcs["t_to"].to_numpy()
        a1, a2 = arcs[tf >= 0], arcs[tt_ >= 0]
        block(np.concatenate([tf[a1], tt_[a2]]), np.concatenate([a1, a2]), 1.0, T, -np.inf,
              d.arc.terminal_cap)
    for i, mask in enumerate(d.corridors.arcs):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        share = float(d.corridors.table["min_rail_share"].iloc[i])
        block(np.zeros(len(idx), dtype=int), idx, d.arc.rail[idx] - share, 1, 0.0, np.inf)
    for i in range(K):
        idx = np.flatnonzero(d.targets.arc_mask[i])
        block(np.zeros(len(idx) + 1, dtype=int), np.append(idx, cols["slack"] + i), 1.0, 1,
              float(tt["value_t"].iloc[i]), np.inf)
    coo = (np.concatenate(rows), np.concatenate(cols_), np.concatenate(vals))
    return n, r0, cost, lb, ub, coo, np.concatenate(lo), np.concatenate(hi)


def floor(d: ModelData):
    """highspy.Highs with the LP, assembled with numpy and scipy.sparse."""
    import highspy

    check_supported(d)
    n, m, cost, lb, ub, (r, c, v), lo, hi = _pieces(d)
    a = sp.csr_matrix((v, (r, c)), shape=(m, n))
    h = highspy.Highs()
    h.addVars(n, lb, ub)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    h.addRows(m, lo, hi, a.nnz, a.indptr, a.indices, a.data)
    return h


def pyomo_model(d: ModelData):
    """The LP as a Pyomo ConcreteModel, written the way a Pyomo user would."""
    import pyomo.environ as pyo

    check_supported(d)
    A, F, S, D = len(d.net.arcs), len(d.facility.table), len(d.supply.table), len(d.demand.table)
    Fo, Fi, T = len(d.facility.fout), len(d.facility.fin), len(d.arc.terminal_cap)
    tt = d.targets.table if d.targets is not None else None
    K = len(tt) if tt is not None else 0
    cost = d.net.cost + d.carbon_price_per_kg * d.net.co2
    proc = d.facility.opex - d.facility.incentive + d.carbon_price_per_kg * d.facility.co2_proc
    out_of = {k: [] for k in range(S)}
    out_fo = {k: [] for k in range(Fo)}
    into_fi = {k: [] for k in range(Fi)}
    into_d = {k: [] for k in range(D)}
    via_t = {k: [] for k in range(T)}
    for a in range(A):
        if d.arc.from_sup[a] >= 0:
            out_of[int(d.arc.from_sup[a])].append(a)
        else:
            out_fo[int(d.arc.from_fout[a])].append(a)
        if d.arc.to_fin[a] >= 0:
            into_fi[int(d.arc.to_fin[a])].append(a)
        else:
            into_d[int(d.arc.to_dem[a])].append(a)
    if T:
        for a, (t1, t2) in enumerate(zip(d.net.arcs["t_from"], d.net.arcs["t_to"], strict=True)):
            if t1 >= 0:
                via_t[int(t1)].append(a)
                via_t[int(t2)].append(a)
    fo_fac, fo_rate = d.facility.fout["fac"].tolist(), d.facility.fout["rate"].tolist()
    fi_fac, fi_rate = d.facility.fin["fac"].tolist(), d.facility.fin["rate"].tolist()
    market = d.facility.fout["market"].tolist()
    gen, qty = d.supply.gen[0].tolist(), d.demand.qty[0].tolist()
    cap = (d.facility.cap0 * d.facility.avail[0]).tolist()

    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(A), within=pyo.NonNegativeReals)
    m.act = pyo.Var(range(F), within=pyo.NonNegativeReals)
    m.disp = pyo.Var(range(S), within=pyo.NonNegativeReals,
                     bounds=lambda m, s: (0, 0 if d.supply.must_use[0, s] else None))
    m.draw = pyo.Var(range(S), within=pyo.NonNegativeReals,
                     bounds=lambda m, s: (0, float(d.supply.draw_max[0, s])))
    m.unmet = pyo.Var(range(D), within=pyo.NonNegativeReals,
                      bounds=lambda m, k: (0, 0 if d.demand.must_meet[0, k] else None))
    m.market = pyo.Var(range(Fo), within=pyo.NonNegativeReals,
                       bounds=lambda m, q: (0, None if market[q] else 0))
    m.slack = pyo.Var(range(K), within=pyo.NonNegativeReals)
    m.supply = pyo.Constraint(range(S), rule=lambda m, s: sum(m.x[a] for a in out_of[s])
                              + m.disp[s] - m.draw[s] == gen[s])
    m.output = pyo.Constraint(range(Fo), rule=lambda m, q: sum(m.x[a] for a in out_fo[q])
                              + m.market[q] - fo_rate[q] * m.act[fo_fac[q]] == 0)
    m.input = pyo.Constraint(range(Fi), rule=lambda m, p: sum(m.x[a] for a in into_fi[p])
                             - fi_rate[p] * m.act[fi_fac[p]] == 0)
    m.demand = pyo.Constraint(range(D), rule=lambda m, k: sum(m.x[a] for a in into_d[k])
                              + m.unmet[k] == qty[k])
    m.capacity = pyo.Constraint(range(F), rule=lambda m, f: m.act[f] <= cap[f])
    m.terminal = pyo.Constraint(range(T), rule=lambda m, t: (
        sum(m.x[a] for a in via_t[t]) <= float(d.arc.terminal_cap[t]) if via_t[t]
        else pyo.Constraint.Skip))
    corridors = [np.flatnonzero(mask) for mask in d.corridors.arcs]
    shares = d.corridors.table["min_rail_share"].tolist()
    m.corridor = pyo.Constraint(range(len(corridors)), rule=lambda m, i: (sum(
        (float(d.arc.rail[a]) - shares[i]) * m.x[a] for a in corridors[i]) >= 0
        if len(corridors[i]) else pyo.Constraint.Skip))
    targets = [np.flatnonzero(d.targets.arc_mask[i]) for i in range(K)]
    m.target = pyo.Constraint(range(K), rule=lambda m, i: sum(m.x[a] for a in targets[i])
                              + m.slack[i] >= float(tt["value_t"].iloc[i]))
    dc = (d.supply.disp_cost + d.supply.env_tax)[0].tolist()
    value = d.demand.value[0].tolist()
    pen = tt["penalty"].tolist() if K else []
    cost_l, proc_l = cost.tolist(), proc.tolist()
    m.obj = pyo.Objective(expr=sum(cost_l[a] * m.x[a] for a in range(A))
                          + sum(proc_l[f] * m.act[f] for f in range(F))
                          + sum(dc[s] * m.disp[s] for s in range(S))
                          + sum(value[k] * m.unmet[k] for k in range(D))
                          + sum(pen[i] * m.slack[i] for i in range(K)))
    return m
