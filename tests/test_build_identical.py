"""The planner's model is the same model however its rows are assembled (issue 11, goal 3).

``define_balances`` and ``define_shared_capacities`` build their rows from the arcs' integer node
codes (numpy and scipy) instead of linopy group-by sums, which cost most of the build at 10^6
variables, and ``define_objective`` hands linopy one list of (variable, coefficient) terms instead
of a product and sum per variable. The formulations they replaced are kept here, and only here,
as the reference:
the model built with it and the model built today must be identical — the same variables and
bounds, the same constraints with the same names, labels and coordinates, the same matrix
(row by row, term by term), right-hand sides, senses and objective — on the built-in data and on
synthetic and hand-made scenarios with candidates, expansions, terminals, lanes and host limits.
A second check recomputes the balance and capacity rows' values from ``planner.data`` arrays with
``np.bincount``, so the rows also mean what the docstrings say.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from resynergy import synth
from resynergy.planner import model
from resynergy.planner import names as N
from resynergy.planner.data import HOST_ELEMENTS, prepare
from resynergy.planner.options import PlanOptions
from support.cases import rail_case, transport_case

# --- the reference: the group-by formulation as it was at 82b5aff --------------------------


def _pick(var: Any, dim: str, positions: np.ndarray, new: pd.Index) -> Any:
    return var.isel({dim: xr.DataArray(positions, coords=[new])})


def _grouped(x: Any, arcs: np.ndarray, node: np.ndarray, dim: str) -> Any:
    sel = x.isel(arc=arcs)
    return sel.groupby(xr.DataArray(node, coords=[pd.Index(arcs, name="arc")], name=dim)).sum()


def _with(base: Any, extra: Any) -> Any:
    return base if extra is None else base.add(extra, join="left")


def grouped_balances(m, d, v, rows) -> None:
    _idx, _da, _add = model._idx, model._da, model._add
    year, x = v.year, v.x
    sup = _idx("sup", len(d.supply.table))
    fin, fout = _idx("fin", len(d.facility.fin)), _idx("fout", len(d.facility.fout))
    from_sup = np.flatnonzero(d.arc.from_sup >= 0)
    from_fout = np.flatnonzero(d.arc.from_fout >= 0)
    to_fin = np.flatnonzero(d.arc.to_fin >= 0)
    to_dem = np.flatnonzero(d.arc.to_dem >= 0)
    out_s = _grouped(x, from_sup, d.arc.from_sup[from_sup], "sup") if len(from_sup) else None
    _add(m, rows, _with(v.disp - v.draw, out_s) == _da(d.supply.gen, year, sup),
         name=N.SUPPLY_BALANCE)
    if len(fout):
        made = -(_pick(v.act, "fac", d.facility.fout["fac"].to_numpy(), fout)
                 * _da(d.facility.fout["rate"], fout))
        if v.market is not None:
            made = made + v.market
        out_f = (_grouped(x, from_fout, d.arc.from_fout[from_fout], "fout")
                 if len(from_fout) else None)
        _add(m, rows, _with(made, out_f) == 0, name=N.OUTPUT_BALANCE)
    if len(fin):
        used = -(_pick(v.act, "fac", d.facility.fin["fac"].to_numpy(), fin)
                 * _da(d.facility.fin["rate"], fin))
        in_f = _grouped(x, to_fin, d.arc.to_fin[to_fin], "fin") if len(to_fin) else None
        _add(m, rows, _with(used, in_f) == 0, name=N.INPUT_BALANCE)
    if len(d.demand.table):
        dem = _idx("dem", len(d.demand.table))
        in_d = _grouped(x, to_dem, d.arc.to_dem[to_dem], "dem") if len(to_dem) else None
        met_outside = 1 * v.unmet if v.shortage is None else v.unmet + v.shortage
        _add(m, rows, _with(met_outside, in_d) == _da(d.demand.qty, year, dem),
             name=N.DEMAND_BALANCE)
        model._virgin_supply_limits(m, d, v.unmet, year, rows)


def grouped_shared_capacities(m, d, v, rows) -> None:
    _da, _add = model._da, model._add
    h = d.host_limits
    if h is not None:
        hosted = pd.Index(np.arange(len(h.fac)), name="hosted")
        a = _pick(v.act, "fac", h.fac, hosted)
        out = h.hosts["output_t"].to_numpy(dtype=float)
        terms = [(N.HOST_SHARE, h.per_t, np.ones(len(h.hosts)))]
        terms += [(N.host_limit(content), h.load[:, e], h.limit[:, e])
                  for e, (content, _) in enumerate(HOST_ELEMENTS)]
        for name, coef, per_host in terms:
            on = np.flatnonzero((coef > 0) & np.isfinite(per_host[h.group]))
            if not len(on):
                continue
            idx = pd.Index(on, name="hosted")
            lhs = (a.isel(hosted=on) * _da(coef[on], idx)).groupby(
                xr.DataArray(h.group[on], coords=[idx], name="host")).sum()
            labels = lhs.indexes["host"]
            _add(m, rows, lhs <= _da(per_host[labels] * out[labels], labels), name=name)
    arcs = d.net.arcs
    for name, row, cap, legs in (("terminal", N.TERMINAL_CAPACITY, d.arc.terminal_cap,
                                  ("t_from", "t_to")),
                                 ("lane", N.LANE_CAPACITY, d.arc.lane_cap, ("lane1", "lane2"))):
        parts = []
        for col in legs:
            pos = arcs[col].to_numpy()
            on = np.flatnonzero(pos >= 0)
            on = on[np.isfinite(cap[pos[on]])] if len(on) else on
            if len(on):
                parts.append(_grouped(v.x, on, pos[on], name))
        if parts:
            expr = parts[0] if len(parts) == 1 else parts[0].add(parts[1], join="outer")
            labels = expr.indexes[name]
            _add(m, rows, expr <= _da(cap[labels], labels), name=row)


def summed_objective(m, d, v, weights) -> None:
    """The objective as a sum of per-variable xarray products (82b5aff)."""
    terms = []
    for name, coef in model.objective_coefficients(d, weights, elastic=v.elastic).items():
        if name not in m.variables:
            continue
        var = m.variables[name]
        labels = var.labels
        terms.append((var * xr.DataArray(np.broadcast_to(coef, labels.shape), coords=labels.coords,
                                         dims=labels.dims)).sum())
    obj = terms[0]
    for t in terms[1:]:
        obj = obj + t
    m.add_objective(obj)


def selected_targets(m, d, v, rows) -> None:
    """The target rows with linopy selections and sums (82b5aff)."""
    if d.targets is None:
        return
    fac = model._idx("fac", len(d.facility.table))
    x, cum_exp, open_, build_var, exp = v.x, v.cum_exp, v.open_, v.build, v.exp
    fixed_build = v.fixed_build
    for i, t in d.targets.table.iterrows():
        y = int(t["year"])
        if t["basis"] == "facility_input":
            idx = np.flatnonzero(d.targets.arc_mask[i])
            expr = x.sel(year=y).isel(arc=idx).sum() if len(idx) else None
            const = 0.0
        else:
            w = d.targets.fac_weight[i]
            yi = d.years.index(y)
            terms = []
            if t["basis"] == "facility_capacity":
                const = float((w * d.facility.cap0 * d.facility.avail[yi]).sum())
                if cum_exp is not None:
                    terms.append((cum_exp.sel(year=y) * model._da(w, fac)).sum())
                if open_ is not None and build_var is not None:
                    terms.append((open_.sel(year=y) * model._da(w * d.facility.cap_c, fac)).sum())
                elif open_ is not None:  # builds fixed: their capacity is a constant
                    const += float((open_.sel(year=y) * model._da(w * d.facility.cap_c, fac)).sum())
            else:  # capacity_added: cumulative since the base year, up to year y
                const = float(t["given_t"])
                upto = d.years[:yi + 1]
                if exp is not None:
                    terms.append((exp.sel(year=upto) * model._da(w, fac)).sum())
                if build_var is not None:
                    terms.append((build_var.sel(year=upto) * model._da(w * d.facility.cap_c, fac)).sum())
                elif fixed_build is not None:
                    const += float((w * d.facility.cap_c * fixed_build[:yi + 1] * v.candidate).sum())
            expr = terms[0] if terms else None
            for extra in terms[1:]:
                expr = expr + extra
        rhs = float(t["value_t"]) - const
        soft = t["kind"] == "soft"
        if soft or v.elastic:
            s = m.add_variables(lower=0, name=N.target_slack(int(i)))
            expr = (1 * s if expr is None else expr + t["sense"] * s)
        if expr is None:
            continue  # nothing the plan decides counts; reported after the solve
        name = N.target(int(i))
        model._add(m, rows, expr >= rhs if t["sense"] > 0 else expr <= rhs, name=name)


def selected_policy(m, d, v, rows) -> None:
    """The policy rows with linopy selections, products and sums (82b5aff)."""
    x, year = v.x, v.year
    for i, mask in enumerate(d.corridors.arcs):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        share = float(d.corridors.table["min_rail_share"].iloc[i])
        expr = (x.isel(arc=idx) * model._da(d.arc.rail[idx] - share, pd.Index(idx, name="arc"))).sum(
            "arc")
        if v.elastic:
            s = m.add_variables(lower=0, coords=[year], name=N.corridor_slack(i))
            expr = expr + s
        model._add(m, rows, expr >= 0, name=N.corridor(i))
    _selected_nev_shares(m, d, v, rows)
    if np.isfinite(d.co2_cap_kg):
        lhs = model._emitted(d, v)
        if v.elastic:
            s = m.add_variables(lower=0, coords=[year], name=N.CO2_SLACK)
            lhs = lhs - s
        model._add(m, rows, lhs <= d.co2_cap_kg, name=N.CO2_CAP)


def _selected_nev_shares(m, d, v, rows) -> None:
    """The corridor_nev rows as they were (82b5aff): a product and a sum over the arcs."""
    for i, idx, coef in model.nev_share_terms(d):
        expr = (v.x.isel(arc=idx) * model._da(coef, pd.Index(idx, name="arc"))).sum("arc")
        if v.elastic:
            s = m.add_variables(lower=0, coords=[v.year], name=N.corridor_nev_slack(i))
            expr = expr + s
            # per t·km, not per t: ~1000 km of relaxation weigh like one tonne of the others
        model._add(m, rows, expr >= 0, name=N.corridor_nev(i))


def summed_min_load(m, d, act, open_, cum_exp, year, fac, fixed_expanded, rows) -> bool:
    """The min_load rows as linopy expression arithmetic (82b5aff)."""
    ml = d.facility.min_load
    if not len(ml) or not (ml > 0).any():
        return False
    yy, nf = len(year), len(fac)
    new = None
    candidate = np.asarray(d.facility.buildable.any(axis=0), dtype=bool)
    if open_ is not None and candidate.any():
        new = open_ * model._da(ml * d.facility.cap_c, fac)
    if cum_exp is not None:
        grown = cum_exp * model._da(ml, fac)
        new = grown if new is None else new + grown
    if new is None:
        return False
    binaries = False
    grown = (~candidate) & (d.facility.headroom > 0) & (ml > 0) & (d.facility.cap0 > 0)
    if cum_exp is not None and grown.any():
        existing = d.facility.cap0[None, :] * d.facility.avail
        on: Any
        if fixed_expanded is None:
            on = m.add_variables(lower=0, upper=model._da(np.broadcast_to(grown, (yy, nf)).astype(float),
                                                    year, fac), integer=True, name=N.EXPANDED)
            binaries = True
        else:
            on = model._da(np.asarray(fixed_expanded, dtype=float) * grown, year, fac)
        model._add(m, rows, cum_exp - on * model._da(np.where(grown, d.facility.headroom, 0.0), fac) <= 0,
             name=N.EXPANSION_SWITCH, mask=model._mask(grown, year, fac))
        new = new + on * model._da(np.where(grown[None, :], existing, 0.0), year, fac)
    which = (candidate | (d.facility.headroom > 0)) & (ml > 0)
    model._add(m, rows, act - new >= 0, name=N.MIN_LOAD, mask=model._mask(which, year, fac))
    return binaries


def summed_capacity_and_siting(m, d, v, rows, *, linking, fixed_expanded) -> bool:
    """Capacity, expansion limit, big-M and candidate-link rows as linopy arithmetic (82b5aff)."""
    year, act, open_, cum_exp = v.year, v.act, v.open_, v.cum_exp
    F, yy = len(d.facility.table), len(year)
    fac = model._idx("fac", F)
    candidate, build_var = v.candidate, v.build
    cap_rhs = d.facility.cap0[None, :] * d.facility.avail
    lhs = 1 * act
    if cum_exp is not None:
        lhs = lhs - cum_exp
    if open_ is not None:
        if linking == "bigm" and build_var is not None:
            cap_rhs = cap_rhs + d.facility.cap_c[None, :] * d.facility.buildable
            big_m = float(d.supply.gen.sum(axis=1).max() + d.supply.draw_max.sum(axis=1).max()
                          + 1.0)
            model._add(m, rows, act - big_m * open_ <= 0, name=N.OPEN_BIGM,
                 mask=model._mask(candidate, year, fac))
        else:
            lhs = lhs - open_ * model._da(d.facility.cap_c, fac)
    model._add(m, rows, lhs <= model._da(cap_rhs, year, fac), name=N.CAPACITY)
    can_expand = d.facility.headroom > 0
    if cum_exp is not None:
        head = cum_exp
        if open_ is not None:
            head = head - open_ * model._da(np.where(candidate, d.facility.headroom, 0.0), fac)
        model._add(m, rows, head <= model._da(d.facility.headroom[None, :] * d.facility.avail, year, fac),
             name=N.EXPANSION_LIMIT, mask=model._mask(can_expand, year, fac))
    if open_ is not None and linking == "disaggregated" and build_var is not None:
        into, f_of, bound = model.link_bounds(d, candidate, yy)
        if len(into):
            ai = pd.Index(into, name="arc")
            model._add(m, rows, v.x.isel(arc=into) - _pick(open_, "fac", f_of, ai)
                 * model._da(bound, year, ai) <= 0, name=N.CANDIDATE_LINK)
    return summed_min_load(m, d, act, open_, cum_exp, year, fac, fixed_expanded, rows)


# --- the scenarios -------------------------------------------------------------------------


def _lanes_and_terminals():
    """Both legs of a rail haul through capacitated terminals, and a capped road lane."""
    s = rail_case(capacity=80.0)
    lanes = pd.DataFrame([{"from_site": "A", "to_site": "B", "mode": "road", "cost_per_t": 1.0,
                           "capacity_t": 60.0}])
    return s.with_tables(lanes=lanes)


def _corridor_shares():
    """A corridor with a rail share and a new-energy road share to keep (both rows)."""
    corridor = {"id": "K", "from_region": "130800", "to_region": "130800",
                "material": "tailings", "min_rail_share": 0.2, "min_nev_share": 0.4}
    s = rail_case(corridors=[corridor])
    nev = {"id": "nev", "name_zh": "新能源", "name_en": "NEV", "cost_per_tkm": 0.6,
           "cost_fixed": 10.0, "co2_per_tkm": 0.0, "circuity": 1.0, "rail": False,
           "new_energy": True, "source": "test", "confidence": "U"}
    return s.with_tables(modes=pd.concat([s.table("modes"), pd.DataFrame([nev])],
                                         ignore_index=True))


SCENARIOS = {
    "corridors": lambda: prepare(_corridor_shares()),
    "synthetic": lambda: prepare(synth.scenario(60, seed=1, years=(2021, 2022))),
    "lanes": lambda: prepare(_lanes_and_terminals()),
    "lane_only": lambda: prepare(transport_case(lanes=[{
        "from_site": "A", "to_site": "B", "mode": "road", "cost_per_t": 1.0,
        "capacity_t": 60.0}])),
}


@pytest.fixture(scope="module")
def datasets(builtin_scenario):
    out = {k: make() for k, make in SCENARIOS.items()}
    out["builtin"] = prepare(builtin_scenario)
    return out


def _built(monkeypatch, data, reference: bool, **kw):
    with monkeypatch.context() as mp:
        if reference:
            mp.setattr(model, "define_balances", grouped_balances)
            mp.setattr(model, "define_shared_capacities", grouped_shared_capacities)
            mp.setattr(model, "define_objective", summed_objective)
            mp.setattr(model, "define_targets", selected_targets)
            mp.setattr(model, "define_policy", selected_policy)
            mp.setattr(model, "define_capacity_and_siting", summed_capacity_and_siting)
        return model.build(data, PlanOptions().blend(), **kw)


def _assert_same_model(new, ref) -> None:
    a, b = new.model, ref.model
    assert new.rows == ref.rows
    assert a.shape == b.shape  # label counts of constraints and variables
    assert list(a.variables) == list(b.variables)
    for name in a.variables:
        va, vb = a.variables[name], b.variables[name]
        xr.testing.assert_identical(va.labels, vb.labels)
        xr.testing.assert_identical(va.lower, vb.lower)
        xr.testing.assert_identical(va.upper, vb.upper)
    assert list(a.constraints) == list(b.constraints)
    for name in a.constraints:
        xr.testing.assert_identical(a.constraints[name].labels, b.constraints[name].labels)
    for sanitized in (False, True):
        if sanitized:
            for m in (a, b):
                m.constraints.sanitize_zeros()
                m.constraints.sanitize_infinities()
        ma, mb = a.matrices, b.matrices
        for attr in ("vlabels", "clabels", "lb", "ub", "vtypes", "b", "sense", "c"):
            np.testing.assert_array_equal(getattr(ma, attr), getattr(mb, attr), err_msg=attr)
        A, B = ma.A, mb.A
        assert A.shape == B.shape
        for part in ("indptr", "indices", "data"):  # row by row, term by term
            np.testing.assert_array_equal(getattr(A, part), getattr(B, part), err_msg=part)
    assert a.objective.sense == b.objective.sense


CASES = [("builtin", {}), ("builtin", "fixed"), ("builtin", {"elastic": True}), ("synthetic", {}), ("synthetic", {"elastic": True}),
         ("synthetic", {"linking": "bigm"}), ("synthetic", "fixed"), ("lanes", {}),
         ("lane_only", {}), ("corridors", {}), ("corridors", {"elastic": True})]


@pytest.mark.parametrize(("scenario", "kw"), CASES,
                         ids=[f"{s}-{k if isinstance(k, str) else '-'.join(k) or 'plain'}"
                              for s, k in CASES])
def test_the_model_is_identical_to_the_group_by_formulation(datasets, monkeypatch, scenario, kw):
    d = datasets[scenario]
    if kw == "fixed":  # the duals step: builds and expansions fixed, as for a MILP's LP
        yy, nf = d.n_years, len(d.facility.table)
        build = np.zeros((yy, nf))
        build[0, np.flatnonzero(d.facility.buildable.any(axis=0))[::2]] = 1.0
        kw = {"fixed_build": build, "fixed_expanded": np.ones((yy, nf))}
    new = _built(monkeypatch, d, False, **kw)
    ref = _built(monkeypatch, d, True, **kw)
    _assert_same_model(new, ref)
    assert new.model.constraints[N.SUPPLY_BALANCE].ncons > 0


def test_the_scenarios_exercise_every_rewritten_row(datasets):
    """Each family the rewrite touches has rows in some scenario above, or the identity test
    would prove nothing about it."""
    rows = set()
    for d in datasets.values():
        rows |= set(model.build(d, PlanOptions().blend()).model.constraints)
    assert {N.SUPPLY_BALANCE, N.OUTPUT_BALANCE, N.INPUT_BALANCE, N.DEMAND_BALANCE,
            N.TERMINAL_CAPACITY, N.LANE_CAPACITY, N.HOST_SHARE, N.MIN_LOAD,
            N.EXPANSION_SWITCH} <= rows
    assert any(r.startswith("corridor_nev") for r in rows) and any(
        r.startswith("corridor_") and not r.startswith("corridor_nev") for r in rows)
    bases = {b for d in datasets.values() if d.targets is not None
             for b in d.targets.table["basis"]}
    assert bases >= {"facility_input", "facility_capacity", "capacity_added"}
    assert any(d.facility.buildable.any() for d in datasets.values())
    assert any(d.virgin is not None and d.virgin.member.any() for d in datasets.values())


# --- an independent check: the rows' values recomputed from the data arrays ----------------


def _row_values(m, name: str, xval: np.ndarray) -> np.ndarray:
    """Σ coef·value of constraint ``name``'s rows at variable values ``xval`` (by label),
    in the constraint's own (year, node) shape."""
    M = m.matrices
    lhs = M.A @ xval[M.vlabels]
    pos = m.constraints.label_index.label_to_pos
    labels = np.asarray(m.constraints[name].labels.transpose("year", ...).values)
    assert (labels >= 0).all()
    return lhs[pos[labels]]


def _val(m, name: str, xval: np.ndarray) -> np.ndarray:
    return xval[np.asarray(m.variables[name].labels.values)]


@pytest.mark.parametrize("scenario", ["builtin", "synthetic", "lanes"])
def test_rows_mean_what_the_docstrings_say(datasets, scenario):
    d = datasets[scenario]
    m = model.build(d, PlanOptions().blend()).model
    rng = np.random.default_rng(7)
    xval = rng.uniform(0.5, 2.0, m.shape[1])
    flow, act = _val(m, N.FLOW, xval), _val(m, N.ACTIVITY, xval)
    yy = d.n_years

    def sums(node: np.ndarray, n: int) -> np.ndarray:
        on = node >= 0
        return np.stack([np.bincount(node[on], weights=flow[y, on], minlength=n)
                         for y in range(yy)])

    S, D = len(d.supply.table), len(d.demand.table)
    fin, fout = d.facility.fin, d.facility.fout
    expected = {
        N.SUPPLY_BALANCE: sums(d.arc.from_sup, S) + _val(m, N.DISPOSAL, xval)
        - _val(m, N.STOCK_DRAW, xval),
        N.INPUT_BALANCE: sums(d.arc.to_fin, len(fin))
        - act[:, fin["fac"].to_numpy()] * fin["rate"].to_numpy(),
        N.OUTPUT_BALANCE: sums(d.arc.from_fout, len(fout))
        - act[:, fout["fac"].to_numpy()] * fout["rate"].to_numpy()
        + (_val(m, N.MARKET, xval) if N.MARKET in m.variables else 0.0),
        N.DEMAND_BALANCE: sums(d.arc.to_dem, D) + _val(m, N.UNMET, xval)
        + (_val(m, N.SHORTAGE, xval) if N.SHORTAGE in m.variables else 0.0),
    }
    arcs = d.net.arcs
    for row, dim, cap, legs in ((N.TERMINAL_CAPACITY, "terminal", d.arc.terminal_cap,
                                 ("t_from", "t_to")),
                                (N.LANE_CAPACITY, "lane", d.arc.lane_cap, ("lane1", "lane2"))):
        if row in m.constraints:
            through = sum(sums(np.where(np.isfinite(np.append(cap, np.inf)[e]), e, -1), len(cap))
                          for e in (arcs[c].to_numpy() for c in legs))
            on = m.constraints[row].labels.indexes[dim].to_numpy()
            expected[row] = through[:, on]
    for name, want in expected.items():
        np.testing.assert_allclose(_row_values(m, name, xval), want, rtol=1e-12, err_msg=name)
