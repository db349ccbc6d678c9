"""The planning LP/MILP in linopy, vectorised over flat node and arc dimensions.

Every balance is a group-by sum of flows over an incidence array (the PyPSA pattern), merged
with the node's own terms; no Python object per element. Dimensions: ``year``, ``arc``, ``sup``
(supply nodes), ``fac`` (facilities), ``fin`` / ``fout`` (facility input / output ports), ``dem``
(demand nodes), ``term`` (rail terminals), ``lane``.

Rows: supply, facility input and output, demand balances; facility capacity with expansion and
build decisions; candidate linking; terminal and lane throughput; corridor rail shares; CO2 cap;
targets (hard, soft, or elastic when diagnosing infeasibility). The objective is a blend of
total cost (yuan), CO2 (kg) and utilization (t).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from resynergy.planner.data import HOST_ELEMENTS, ModelData

linopy.options["semantics"] = "v1"

ELASTIC_PENALTY = 1e6  # yuan per t of relaxation: above any real cost, so relaxation comes first


@dataclass
class Built:
    """A linopy model and what the results code needs to read it back."""

    model: linopy.Model
    data: ModelData
    elastic: bool
    has_binaries: bool
    constant: float  # cost terms that no decision changes (fixed cost of existing facilities)
    target_rows: list[str] = field(default_factory=list)
    corridor_rows: list[str] = field(default_factory=list)


def _idx(name: str, n: int) -> pd.RangeIndex:
    return pd.RangeIndex(n, name=name)


def _da(values, *coords: pd.Index) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=float), coords=list(coords))


def _pick(var, dim: str, positions: np.ndarray, new: pd.Index):
    """``var`` re-indexed along ``dim`` by ``positions``, as a new dimension ``new``."""
    return var.isel({dim: xr.DataArray(positions, coords=[new])})


def _grouped(x, arcs: np.ndarray, node: np.ndarray, dim: str, coef: np.ndarray | None = None):
    """Σ over ``arcs`` of (coef ×) flow, grouped by ``node`` (labels of dimension ``dim``)."""
    sel = x.isel(arc=arcs)
    if coef is not None:
        sel = sel * _da(coef, pd.Index(arcs, name="arc"))
    return sel.groupby(xr.DataArray(node, coords=[pd.Index(arcs, name="arc")], name=dim)).sum()


def _with(base, extra):
    """``base`` (full node index) plus ``extra`` (a subset of it, or None)."""
    return base if extra is None else base.add(extra, join="left")


def host_limit_rows(m: linopy.Model, d: ModelData, act) -> list[str]:
    """Limits that lines share with their host plant, per host and year (names of the rows added).

    ``host_share``: Σ input ÷ max_host_share ≤ host output (co-processed waste per t of kiln
    clinker; scrap per t of converter crude steel, i.e. the scrap ratio of the metallic charge).
    ``host_chlorine`` / ``host_sulphur`` / ``host_alkali``: Σ input × content ≤ limit × host
    output (the kiln co-processing norms). Physical limits, so never relaxed when diagnosing.
    """
    h = d.host_limits
    if h is None:
        return []
    hosted = pd.Index(np.arange(len(h.fac)), name="hosted")
    a = _pick(act, "fac", h.fac, hosted)
    out = h.hosts["output_t"].to_numpy(dtype=float)
    names = []
    terms = [("host_share", h.per_t, np.ones(len(h.hosts)))]
    terms += [(f"host_{content}", h.load[:, e], h.limit[:, e])
              for e, (content, _) in enumerate(HOST_ELEMENTS)]
    for name, coef, per_host in terms:
        rows = np.flatnonzero((coef > 0) & np.isfinite(per_host[h.group]))
        if not len(rows):
            continue
        idx = pd.Index(rows, name="hosted")
        lhs = (a.isel(hosted=rows) * _da(coef[rows], idx)).groupby(
            xr.DataArray(h.group[rows], coords=[idx], name="host")).sum()
        labels = lhs.indexes["host"]
        m.add_constraints(lhs <= _da(per_host[labels] * out[labels], labels), name=name)
        names.append(name)
    return names


def build(data: ModelData, weights: dict[str, float], *, elastic: bool = False,
          linking: str = "disaggregated", fixed_build: np.ndarray | None = None,
          fixed_expanded: np.ndarray | None = None) -> Built:
    """The model of ``data``. ``fixed_build`` (years × facilities, 0/1) fixes the build decisions
    and ``fixed_expanded`` (years × facilities, 0/1: expanded by then) the expansion switches
    (used to price a MILP's solution); ``elastic`` lifts every hard requirement at a penalty."""
    m = linopy.Model(sparse=True)
    d = data
    year = pd.Index(d.years, name="year")
    A, S, F, D = len(d.net.arcs), len(d.sup), len(d.fac), len(d.dem)
    arc, sup, fac, dem = _idx("arc", A), _idx("sup", S), _idx("fac", F), _idx("dem", D)
    fin, fout = _idx("fin", len(d.fin)), _idx("fout", len(d.fout))
    yy = len(year)

    x = m.add_variables(lower=0, coords=[year, arc], name="flow")
    act = m.add_variables(lower=0, coords=[year, fac], name="activity")
    disp = m.add_variables(lower=0, upper=_da(np.where(d.must_use & ~elastic, 0, np.inf), year, sup),
                           name="disposal")
    draw = m.add_variables(lower=0, upper=_da(d.draw_max, year, sup), name="stock_draw")
    if yy > 1 and (d.draw_max > 0).any():
        m.add_constraints(draw.cumsum("year") <= _da(d.stock0, sup), name="stock_left",
                          mask=xr.DataArray(np.broadcast_to(d.draw_max.sum(0) > 0, (yy, S)),
                                            coords=[year, sup]))
    unmet = m.add_variables(lower=0, upper=_da(np.where(d.must_meet & ~elastic, 0, np.inf), year,
                                               dem), name="unmet")
    shortage = _shortage_variables(m, d, elastic, year, dem) if D else None
    # Variables that exist only for some nodes are bounded to 0 elsewhere rather than masked:
    # under linopy's v1 semantics a masked (absent) term blanks the whole row it is added to.
    market = None
    if d.fout["market"].any():
        market = m.add_variables(lower=0, upper=_da(np.where(d.fout["market"], np.inf, 0.0)[None, :]
                                                    .repeat(yy, 0), year, fout), name="market")
    can_expand = d.headroom > 0
    exp = cum_exp = None
    if can_expand.any():
        exp = m.add_variables(lower=0, upper=_da(np.where(can_expand, np.inf, 0.0)[None, :]
                                                 .repeat(yy, 0), year, fac), name="expansion")
        cum_exp = exp.cumsum("year")
    candidate = np.asarray(d.buildable.any(axis=0), dtype=bool)
    build_var: Any = None
    open_: Any = None
    has_bin = False
    if fixed_build is not None:
        open_ = _da(np.cumsum(fixed_build, axis=0) * candidate, year, fac)
    elif candidate.any():
        build_var = m.add_variables(lower=0, upper=_da(d.buildable, year, fac), integer=True,
                                    name="build")
        open_ = build_var.cumsum("year")
        has_bin = True
        if yy > 1:
            m.add_constraints(build_var.sum("year") <= 1, name="build_once",
                              mask=xr.DataArray(candidate, coords=[fac]))

    # --- balances ---
    from_sup = np.flatnonzero(d.arc_from_sup >= 0)
    from_fout = np.flatnonzero(d.arc_from_fout >= 0)
    to_fin = np.flatnonzero(d.arc_to_fin >= 0)
    to_dem = np.flatnonzero(d.arc_to_dem >= 0)
    out_s = _grouped(x, from_sup, d.arc_from_sup[from_sup], "sup") if len(from_sup) else None
    m.add_constraints(_with(disp - draw, out_s) == _da(d.gen, year, sup), name="supply_balance")
    if len(fout):
        made = -(_pick(act, "fac", d.fout["fac"].to_numpy(), fout) * _da(d.fout["rate"], fout))
        if market is not None:
            made = made + market
        out_f = (_grouped(x, from_fout, d.arc_from_fout[from_fout], "fout")
                 if len(from_fout) else None)
        m.add_constraints(_with(made, out_f) == 0, name="output_balance")
    if len(fin):
        used = -(_pick(act, "fac", d.fin["fac"].to_numpy(), fin) * _da(d.fin["rate"], fin))
        in_f = _grouped(x, to_fin, d.arc_to_fin[to_fin], "fin") if len(to_fin) else None
        m.add_constraints(_with(used, in_f) == 0, name="input_balance")
    if D:
        in_d = _grouped(x, to_dem, d.arc_to_dem[to_dem], "dem") if len(to_dem) else None
        met_outside = 1 * unmet if shortage is None else unmet + shortage
        m.add_constraints(_with(met_outside, in_d) == _da(d.qty, year, dem), name="demand_balance")
        _virgin_supply_limits(m, d, unmet, year)

    # --- capacity, expansion, siting ---
    cap_rhs = d.cap0[None, :] * d.avail
    lhs = 1 * act
    if cum_exp is not None:
        lhs = lhs - cum_exp
    if open_ is not None:
        if linking == "bigm" and build_var is not None:
            cap_rhs = cap_rhs + d.cap_c[None, :] * d.buildable
            big_m = float(d.gen.sum(axis=1).max() + d.draw_max.sum(axis=1).max() + 1.0)
            m.add_constraints(act - big_m * open_ <= 0, name="open_bigm",
                              mask=xr.DataArray(np.broadcast_to(candidate, (yy, F)),
                                                coords=[year, fac]))
        else:
            lhs = lhs - open_ * _da(d.cap_c, fac)
    m.add_constraints(lhs <= _da(cap_rhs, year, fac), name="capacity")
    host_limit_rows(m, d, act)
    if cum_exp is not None:
        head = cum_exp
        if open_ is not None:
            head = head - open_ * _da(np.where(candidate, d.headroom, 0.0), fac)
        m.add_constraints(head <= _da(d.headroom[None, :] * d.avail, year, fac),
                          name="expansion_limit",
                          mask=xr.DataArray(np.broadcast_to(can_expand, (yy, F)), coords=[year, fac]))
    if open_ is not None and linking == "disaggregated" and build_var is not None:
        # x[y, a] ≤ U[y, a] · open[y, f]: U is the least of what the facility can take of the
        # material, what the arc's lane carries and what its source can send (the strong
        # facility-location formulation; with U = the facility's capacity alone it would be
        # implied by the capacity row and add nothing)
        into = np.flatnonzero((d.arc_fac_in >= 0) & candidate[np.maximum(d.arc_fac_in, 0)])
        if len(into):
            f_of = d.arc_fac_in[into]
            rate = d.fin["rate"].to_numpy()[d.arc_to_fin[into]]
            bound = np.broadcast_to(rate * (d.cap_c + d.headroom)[f_of], (yy, len(into))).copy()
            lane = d.net.arcs["lane1"].to_numpy()[into]
            if len(d.lane_cap):
                bound = np.minimum(bound, np.where(lane >= 0, d.lane_cap[np.maximum(lane, 0)],
                                                   np.inf))
            src = d.arc_from_sup[into]
            sent = d.gen + d.draw_max  # (Y, S): most a supply node can ship
            bound = np.where(src >= 0, np.minimum(bound, sent[:, np.maximum(src, 0)]), bound)
            ai = pd.Index(into, name="arc")
            m.add_constraints(x.isel(arc=into) - _pick(open_, "fac", f_of, ai) * _da(bound, year, ai)
                              <= 0, name="candidate_link")

    has_bin = _min_load(m, d, act, open_, cum_exp, year, fac,
                        fixed_expanded if fixed_build is not None else None) or has_bin

    # --- shared capacities: terminals, lanes ---
    a = d.net.arcs
    for name, cap, legs in (("terminal", d.terminal_cap, ("t_from", "t_to")),
                            ("lane", d.lane_cap, ("lane1", "lane2"))):
        parts = []
        for col in legs:
            pos = a[col].to_numpy()
            on = np.flatnonzero(pos >= 0)
            on = on[np.isfinite(cap[pos[on]])] if len(on) else on
            if len(on):
                parts.append(_grouped(x, on, pos[on], name))
        if parts:
            expr = parts[0] if len(parts) == 1 else parts[0].add(parts[1], join="outer")
            labels = expr.indexes[name]
            m.add_constraints(expr <= _da(cap[labels], labels), name=f"{name}_capacity")

    # --- policy rows ---
    cost_arc = d.net.cost
    co2_arc = d.net.co2
    penalties: list[Any] = []
    built = Built(model=m, data=d, elastic=elastic, has_binaries=has_bin,
                  constant=float((d.fixed[None, :] * d.avail).sum()))
    for i, mask in enumerate(d.corridor_arcs):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        share = float(d.corridors["min_rail_share"].iloc[i])
        expr = (x.isel(arc=idx) * _da(d.arc_rail[idx] - share, pd.Index(idx, name="arc"))).sum(
            "arc")
        if elastic:
            s = m.add_variables(lower=0, coords=[year], name=f"corridor_slack_{i}")
            expr = expr + s
            penalties.append(ELASTIC_PENALTY * s.sum())
        m.add_constraints(expr >= 0, name=f"corridor_{i}")
        built.corridor_rows.append(f"corridor_{i}")
    _corridor_nev_shares(m, d, x, elastic, year, built, penalties)
    emitted = (x * _da(co2_arc, arc)).sum("arc") + (act * _da(d.co2_proc, fac)).sum("fac")
    if np.isfinite(d.co2_cap_kg):
        lhs = emitted
        if elastic:
            s = m.add_variables(lower=0, coords=[year], name="co2_slack")
            lhs = lhs - s
            penalties.append(ELASTIC_PENALTY / 1000.0 * s.sum())
        m.add_constraints(lhs <= d.co2_cap_kg, name="co2_cap")

    # --- targets ---
    if d.targets is not None:
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
                    const = float((w * d.cap0 * d.avail[yi]).sum())
                    if cum_exp is not None:
                        terms.append((cum_exp.sel(year=y) * _da(w, fac)).sum())
                    if open_ is not None and build_var is not None:
                        terms.append((open_.sel(year=y) * _da(w * d.cap_c, fac)).sum())
                    elif open_ is not None:  # builds fixed: their capacity is a constant
                        const += float((open_.sel(year=y) * _da(w * d.cap_c, fac)).sum())
                else:  # capacity_added: cumulative since the base year, up to year y
                    const = float(t["given_t"])
                    upto = d.years[:yi + 1]
                    if exp is not None:
                        terms.append((exp.sel(year=upto) * _da(w, fac)).sum())
                    if build_var is not None:
                        terms.append((build_var.sel(year=upto) * _da(w * d.cap_c, fac)).sum())
                    elif fixed_build is not None:
                        const += float((w * d.cap_c * fixed_build[:yi + 1] * candidate).sum())
                expr = terms[0] if terms else None
                for extra in terms[1:]:
                    expr = expr + extra
            rhs = float(t["value_t"]) - const
            soft = t["kind"] == "soft"
            if soft or elastic:
                s = m.add_variables(lower=0, name=f"target_slack_{i}")
                penalty = float(t["penalty"]) if soft else ELASTIC_PENALTY
                penalties.append(penalty * s)
                expr = (1 * s if expr is None else expr + t["sense"] * s)
            if expr is None:
                continue  # nothing the plan decides counts; reported after the solve
            name = f"target_{i}"
            if t["sense"] > 0:
                m.add_constraints(expr >= rhs, name=name)
            else:
                m.add_constraints(expr <= rhs, name=name)
            built.target_rows.append(name)

    # --- objective ---
    years_open = None
    cost = (x * _da(cost_arc, arc)).sum() + (act * _da(d.opex - d.incentive, fac)).sum()
    if cum_exp is not None:
        cost = cost + (cum_exp * _da(d.capex_annual, fac)).sum()
    if open_ is not None and build_var is not None:
        years_open = open_
        cost = cost + (years_open * _da(d.capex_annual * d.cap_c + d.fixed, fac)).sum()
    disp_cost = d.disp_cost + d.env_tax + (ELASTIC_PENALTY * d.must_use if elastic else 0.0)
    cost = cost + (disp * _da(disp_cost, year, sup)).sum()
    if D:
        vs = d.virgin
        price = vs.price if vs is not None else d.value
        unmet_cost = price + (ELASTIC_PENALTY * d.must_meet if elastic else 0.0)
        cost = cost + (unmet * _da(unmet_cost, year, dem)).sum()
        if shortage is not None and vs is not None:
            short_cost = vs.shortage_cost + (ELASTIC_PENALTY * d.must_meet if elastic else 0.0)
            cost = cost + (shortage * _da(short_cost, year, dem)).sum()
    if d.carbon_price_per_kg:
        cost = cost + d.carbon_price_per_kg * emitted.sum()
    for p in penalties:
        cost = cost + p
    obj = weights.get("cost", 0.0) * cost
    if weights.get("co2"):
        virgin_co2 = d.virgin.co2 if d.virgin is not None else np.broadcast_to(
            d.co2_virgin, (yy, D))
        co2 = emitted.sum() + ((unmet * _da(virgin_co2, year, dem)).sum() if D else 0)
        obj = obj + weights["co2"] * co2
    if weights.get("utilization"):
        use = np.flatnonzero((d.arc_to_fin >= 0) & d.net.arcs["material"].map(
            dict(zip(d.materials.index, d.utilized_material, strict=True))).fillna(False)
            .to_numpy(dtype=bool))
        if len(use):
            obj = obj - weights["utilization"] * x.isel(arc=use).sum()
    m.add_objective(obj)
    return built


# --- plan premises (issue 8): scarce virgin supply, min load, new-energy road shares ----------

def _shortage_variables(m: linopy.Model, d: ModelData, elastic: bool, year: pd.Index,
                        dem: pd.Index):
    """Demand met by neither recycled nor virgin supply. Only demand nodes whose virgin purchases
    a ``virgin_supply`` row limits can fall short (elsewhere virgin material is unlimited and
    cheaper); must-meet demand cannot, unless the model is elastic."""
    if d.virgin is None or not d.virgin.member.any():
        return None
    capped = np.asarray(d.virgin.member.any(axis=0), dtype=bool)[None, :]
    upper = np.where(capped & ~(d.must_meet & ~elastic), np.inf, 0.0)
    return m.add_variables(lower=0, upper=_da(upper, year, dem), name="shortage")


def _virgin_supply_limits(m: linopy.Model, d: ModelData, unmet, year: pd.Index) -> None:
    """Σ virgin purchases of the demand nodes in a pool ≤ the pool's capacity, per year."""
    vs = d.virgin
    if vs is None or not len(vs.pools):
        return
    pool = _idx("pool", len(vs.pools))
    used = np.flatnonzero(vs.member.any(axis=0))
    di = pd.Index(used, name="dem")
    member = xr.DataArray(vs.member[:, used].astype(float), coords=[pool, di])
    bought = (unmet.isel(dem=used) * member).sum("dem")
    finite = np.isfinite(vs.cap)
    m.add_constraints(bought <= _da(np.where(finite, vs.cap, 0.0), year, pool),
                      name="virgin_supply", mask=xr.DataArray(finite, coords=[year, pool]))


def _min_load(m: linopy.Model, d: ModelData, act, open_, cum_exp, year: pd.Index,
              fac: pd.Index, fixed_expanded: np.ndarray | None = None) -> bool:
    """New capacity runs, every year once in place:

    - a built candidate (and its expansion): activity ≥ min_load × (capacity + expansion);
    - an expanded existing facility: activity ≥ existing capacity + min_load × expansion, i.e.
      it expands only to run the added capacity. "Once expanded" is a binary ``expanded[y, f]``
      (expansion ≤ headroom × expanded), fixed by ``fixed_expanded`` when pricing a solution.

    Returns whether binaries were added."""
    ml = d.min_load
    if not len(ml) or not (ml > 0).any():
        return False
    yy, nf = len(year), len(fac)
    new = None
    candidate = np.asarray(d.buildable.any(axis=0), dtype=bool)
    if open_ is not None and candidate.any():
        new = open_ * _da(ml * d.cap_c, fac)
    if cum_exp is not None:
        grown = cum_exp * _da(ml, fac)
        new = grown if new is None else new + grown
    if new is None:
        return False
    binaries = False
    grown = (~candidate) & (d.headroom > 0) & (ml > 0) & (d.cap0 > 0)
    if cum_exp is not None and grown.any():
        existing = d.cap0[None, :] * d.avail
        on: Any
        if fixed_expanded is None:
            on = m.add_variables(lower=0, upper=_da(np.broadcast_to(grown, (yy, nf)).astype(float),
                                                    year, fac), integer=True, name="expanded")
            binaries = True
        else:
            on = _da(np.asarray(fixed_expanded, dtype=float) * grown, year, fac)
        m.add_constraints(cum_exp - on * _da(np.where(grown, d.headroom, 0.0), fac) <= 0,
                          name="expansion_switch",
                          mask=xr.DataArray(np.broadcast_to(grown, (yy, nf)), coords=[year, fac]))
        new = new + on * _da(np.where(grown[None, :], existing, 0.0), year, fac)
    which = (candidate | (d.headroom > 0)) & (ml > 0)
    m.add_constraints(act - new >= 0, name="min_load",
                      mask=xr.DataArray(np.broadcast_to(which, (yy, nf)), coords=[year, fac]))
    return binaries


def _corridor_nev_shares(m: linopy.Model, d: ModelData, x, elastic: bool, year: pd.Index,
                         built: Built, penalties: list) -> None:
    """Σ over a corridor's arcs of road t·km × (new-energy − share) ≥ 0, per year."""
    if "min_nev_share" not in d.corridors or not len(d.arc_road_km):
        return
    shares = pd.to_numeric(d.corridors["min_nev_share"], errors="coerce").fillna(0.0).to_numpy()
    for i, mask in enumerate(d.corridor_arcs):
        idx = np.flatnonzero(mask & (d.arc_road_km > 0))
        if shares[i] <= 0 or not len(idx):
            continue
        coef = d.arc_road_km[idx] * (d.arc_nev[idx] - shares[i])
        expr = (x.isel(arc=idx) * _da(coef, pd.Index(idx, name="arc"))).sum("arc")
        if elastic:
            s = m.add_variables(lower=0, coords=[year], name=f"corridor_nev_slack_{i}")
            expr = expr + s
            # per t·km, not per t: ~1000 km of relaxation weigh like one tonne of the others
            penalties.append(ELASTIC_PENALTY / 1000.0 * s.sum())
        m.add_constraints(expr >= 0, name=f"corridor_nev_{i}")
        built.corridor_rows.append(f"corridor_nev_{i}")
