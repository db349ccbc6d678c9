"""From a solution (numpy arrays over the model's nodes) to the Plan's tables.

The optimiser and the greedy baseline both produce a :class:`Solution`; costs, emissions and
the mass-balance check are computed here from the same coefficient arrays as the objective, so
the cost breakdown of either sums to its objective.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from resynergy.planner.data import ModelData
from resynergy.schema import outputs

TOL = 1e-6  # t: flows below this are solver noise and not reported
BALANCE_TOL = 1e-5  # largest relative mass-balance residual of a plan


class BalanceError(RuntimeError):
    """A solution whose mass balance does not close (a bug or a numerical failure)."""


@dataclass
class Solution:
    x: np.ndarray  # (Y, A)
    act: np.ndarray  # (Y, F)
    disp: np.ndarray  # (Y, S)
    draw: np.ndarray  # (Y, S)
    unmet: np.ndarray  # (Y, D)
    market: np.ndarray  # (Y, Fout)
    exp: np.ndarray  # (Y, F)
    build: np.ndarray  # (Y, F)
    cap_dual: np.ndarray | None = None  # (Y, F) yuan per t/yr (≥ 0: value of more capacity)
    target_dual: np.ndarray | None = None  # (targets,) yuan per t of target
    shortage: np.ndarray | None = None  # (Y, D) demand met by neither recycled nor virgin supply

    def __post_init__(self) -> None:
        if self.shortage is None:
            self.shortage = np.zeros_like(self.unmet)

    @classmethod
    def zeros(cls, data: ModelData) -> Solution:
        y = data.n_years
        z = np.zeros
        return cls(x=z((y, len(data.net.arcs))), act=z((y, len(data.facility.table))),
                   disp=z((y, len(data.supply.table))), draw=z((y, len(data.supply.table))),
                   unmet=z((y, len(data.demand.table))), market=z((y, len(data.facility.fout))),
                   exp=z((y, len(data.facility.table))), build=z((y, len(data.facility.table))))

    def open(self) -> np.ndarray:
        return np.cumsum(self.build, axis=0)


def _by(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """Sum of (Y, len(index)) ``values`` into (Y, n) by ``index``."""
    out = np.zeros((values.shape[0], n))
    if len(index):
        for y in range(values.shape[0]):
            out[y] = np.bincount(index, weights=values[y], minlength=n)
    return out


def node_sums(data: ModelData, sol: Solution) -> dict[str, np.ndarray]:
    """Flow out of supply nodes and output ports, into input ports and demand nodes."""
    x = sol.x

    def total(sel: np.ndarray, n: int) -> np.ndarray:
        on = np.flatnonzero(sel >= 0)
        return _by(x[:, on], sel[on], n)

    return {"sup_out": total(data.arc.from_sup, len(data.supply.table)),
            "fout_out": total(data.arc.from_fout, len(data.facility.fout)),
            "fin_in": total(data.arc.to_fin, len(data.facility.fin)),
            "dem_in": total(data.arc.to_dem, len(data.demand.table))}


def balance_residual(data: ModelData, sol: Solution) -> tuple[float, str]:
    """Largest relative mass-balance residual over every node, and where it is."""
    s = node_sums(data, sol)
    fin_rate = data.facility.fin["rate"].to_numpy()
    fout_rate = data.facility.fout["rate"].to_numpy()
    checks = {
        "supply": (s["sup_out"] + sol.disp - sol.draw - data.supply.gen,
                   data.supply.gen + sol.draw),
        "facility input": (s["fin_in"] - fin_rate * sol.act[:, data.facility.fin["fac"].to_numpy()],
                           s["fin_in"]),
        "facility output": (s["fout_out"] + sol.market
                            - fout_rate * sol.act[:, data.facility.fout["fac"].to_numpy()],
                            s["fout_out"]),
        "demand": (s["dem_in"] + sol.unmet + _short(sol) - data.demand.qty, data.demand.qty),
    }
    worst, where = 0.0, ""
    for name, (res, scale) in checks.items():
        if res.size == 0:
            continue
        rel = np.abs(res) / (1.0 + np.abs(scale))
        i = np.unravel_index(np.argmax(rel), rel.shape)
        if rel[i] > worst:
            worst, where = float(rel[i]), f"{name} node {i[1]} in {data.years[i[0]]}"
    return worst, where


def _short(sol: Solution) -> np.ndarray:
    assert sol.shortage is not None  # set in __post_init__
    return sol.shortage


def _virgin_price(data: ModelData) -> np.ndarray:
    return data.virgin.price if data.virgin is not None else data.demand.value


def _virgin_co2(data: ModelData) -> np.ndarray:
    return (data.virgin.co2 if data.virgin is not None
            else np.broadcast_to(data.demand.co2_virgin, data.demand.qty.shape))


def check_balance(data: ModelData, sol: Solution, tol: float = BALANCE_TOL) -> float:
    """Raise BalanceError unless every node's mass balance closes within ``tol`` (relative)."""
    worst, where = balance_residual(data, sol)
    if worst > tol:
        raise BalanceError(f"mass balance does not close: relative residual {worst:.2e} at {where}")
    return worst


def capacity(data: ModelData, sol: Solution) -> np.ndarray:
    """Input capacity in place, (Y, F)."""
    f = data.facility
    return (f.cap0[None, :] * f.avail + f.cap_c[None, :] * sol.open()
            + np.cumsum(sol.exp, axis=0))


def target_values(data: ModelData, sol: Solution) -> np.ndarray:
    """Value (t) of every modelled target's expression under ``sol`` (as the LP defines it)."""
    if data.targets is None:
        return np.zeros(0)
    tt = data.targets.table
    out = np.zeros(len(tt))
    cap = capacity(data, sol)
    added = data.facility.cap_c[None, :] * sol.build + sol.exp
    for i, t in tt.iterrows():
        yi = data.years.index(int(t["year"]))
        if t["basis"] == "facility_input":
            out[i] = sol.x[yi, data.targets.arc_mask[i]].sum()
        elif t["basis"] == "facility_capacity":
            out[i] = (data.targets.fac_weight[i] * cap[yi]).sum()
        else:  # capacity added: cumulative since the base year (indicators.base_year)
            out[i] = float(t.get("given_t", 0.0)) + (
                data.targets.fac_weight[i] * added[:yi + 1].sum(axis=0)).sum()
    return out


def target_shortfall(data: ModelData, sol: Solution) -> np.ndarray:
    """t by which each modelled target is missed (0 when met)."""
    if data.targets is None:
        return np.zeros(0)
    tt = data.targets.table
    gap = tt["sense"].to_numpy() * (tt["value_t"].to_numpy() - target_values(data, sol))
    return np.clip(gap, 0.0, None)


def costs(data: ModelData, sol: Solution) -> pd.DataFrame:
    """Cost components over all planned years (yuan); their sum is the plan's objective."""
    x = sol.x
    onsite = data.arc.onsite if len(data.arc.onsite) else np.zeros(len(data.net.arcs), bool)
    emitted = (x * data.net.co2).sum() + (sol.act * data.facility.co2_proc).sum()
    penalty = 0.0
    if data.targets is not None and len(data.targets.table):
        soft = (data.targets.table["kind"] == "soft").to_numpy()
        penalty = float((target_shortfall(data, sol) * data.targets.table["penalty"].to_numpy()
                         * soft).sum())
    rows = {
        "transport": (x * np.where(onsite, 0.0, data.net.cost - data.arc.handling)).sum(),
        "handling": (x * data.arc.handling).sum(),
        "onsite_handling": (x * np.where(onsite, data.net.cost, 0.0)).sum(),
        "processing": (sol.act * data.facility.opex).sum(),
        "incentives": -(sol.act * data.facility.incentive).sum(),
        "capex": (data.facility.capex_annual * (data.facility.cap_c * sol.open()
                                                + np.cumsum(sol.exp, axis=0))).sum(),
        "fixed": (data.facility.fixed * (data.facility.avail + sol.open())).sum(),
        "disposal": (sol.disp * data.supply.disp_cost).sum(),
        "env_tax": (sol.disp * data.supply.env_tax).sum(),
        "virgin_purchase": (sol.unmet * _virgin_price(data)).sum(),
        "shortage": (_short(sol) * data.virgin.shortage_cost).sum() if data.virgin is not None
        else 0.0,
        "carbon": data.carbon_price_per_kg * emitted,
        "target_penalty": penalty,
    }
    return pd.DataFrame({"component": list(rows), "yuan": [float(v) for v in rows.values()]})


# Parts of the objective that are not what the plan's own operations cost; every output shows
# them apart and labelled: virgin alternatives bought for demand the plan does not serve (or
# priced shortages), and target shortfall penalties (a weight that steers the solver).
APART = ("virgin_purchase", "shortage", "target_penalty")


def split_costs(costs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plan's own cost components, and the objective's other parts (:data:`APART`)."""
    if not isinstance(costs, pd.DataFrame) or costs.empty:
        empty = pd.DataFrame(columns=["component", "yuan"])
        return empty, empty
    apart = costs["component"].isin(APART)
    return costs[~apart].reset_index(drop=True), costs[apart].reset_index(drop=True)


def emissions(data: ModelData, sol: Solution) -> pd.DataFrame:
    """kg CO2: road and rail transport and processes (what the plan emits), and the virgin
    products bought for unmet demand (emitted elsewhere; what recycling would avoid)."""
    a = data.net.arcs
    rail_direct = data.arc.rail & (a["kind"] == "direct").to_numpy()
    e1 = a["e1"].to_numpy()
    rows = {
        "transport_road": (sol.x * (np.where(rail_direct, 0.0, e1) + a["e3"].to_numpy())).sum(),
        "transport_rail": (sol.x * (a["e2"].to_numpy() + np.where(rail_direct, e1, 0.0))).sum(),
        "process": (sol.act * data.facility.co2_proc).sum(),
        "virgin_alternative": (sol.unmet * _virgin_co2(data)).sum(),
    }
    return pd.DataFrame({"component": list(rows), "kg": [float(v) for v in rows.values()]})


def _year_rows(data: ModelData, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(year, position) of the cells of a (Y, n) array above TOL."""
    yi, pos = np.nonzero(values > TOL)
    return np.asarray(data.years)[yi], pos


def flows(data: ModelData, sol: Solution) -> pd.DataFrame:
    a = data.net.arcs
    yi, ai = np.nonzero(sol.x > TOL)
    t = sol.x[yi, ai]
    year = np.asarray(data.years)[yi]
    arcs = a.iloc[ai].reset_index(drop=True)
    site_id = data.sites.index.to_numpy(dtype=object)
    src, dst = site_id[data.arc.src[ai]], site_id[data.arc.dst[ai]]
    fac_id = data.facility.table["id"].to_numpy(dtype=object)
    from_fac = np.where(data.arc.from_fout[ai] >= 0,
                        fac_id[data.facility.fout["fac"].to_numpy()[
                            np.maximum(data.arc.from_fout[ai], 0)]]
                        if len(data.facility.fout) else "", "")
    to_fac = np.where(data.arc.fac_in[ai] >= 0, fac_id[np.maximum(data.arc.fac_in[ai], 0)]
                      if len(fac_id) else "", "")
    direct = (arcs["kind"] == "direct").to_numpy()
    term_site = data.net.terminals["site"].to_numpy(dtype=object)
    legs = []

    def leg(mask: np.ndarray, frm: ArrayLike, to: ArrayLike, mode: ArrayLike, name: str,
            d: np.ndarray, c: np.ndarray, e: np.ndarray, h: ArrayLike, ffac: ArrayLike,
            tfac: ArrayLike, route: ArrayLike) -> None:
        legs.append(pd.DataFrame({
            "year": year[mask], "from_site": frm, "to_site": to,
            "material": arcs["material"].to_numpy()[mask], "mode": mode, "leg": name,
            "route": route, "t": t[mask], "distance_km": d, "tkm": t[mask] * d,
            "cost_yuan": t[mask] * c, "co2_kg": t[mask] * e, "handling_yuan": t[mask] * h,
            "from_facility": ffac, "to_facility": tfac}))

    col = {c: arcs[c].to_numpy() for c in ("d1", "d2", "d3", "c1", "c2", "c3", "e1", "e2", "e3",
                                           "mode", "rail_mode", "t_from", "t_to")}
    h = data.arc.handling[ai]
    leg(direct, src[direct], dst[direct], col["mode"][direct], "direct", col["d1"][direct],
        col["c1"][direct], col["e1"][direct], 0.0, from_fac[direct], to_fac[direct], "")
    im = ~direct
    if im.any():
        route = np.array([f"r{i}" for i in ai[im]], dtype=object)
        ta, tb = term_site[col["t_from"][im]], term_site[col["t_to"][im]]
        leg(im, src[im], ta, col["mode"][im], "first_mile", col["d1"][im], col["c1"][im],
            col["e1"][im], 0.0, from_fac[im], "", route)
        leg(im, ta, tb, col["rail_mode"][im], "rail", col["d2"][im], col["c2"][im],
            col["e2"][im], h[im], "", "", route)
        leg(im, tb, dst[im], col["mode"][im], "last_mile", col["d3"][im], col["c3"][im],
            col["e3"][im], 0.0, "", to_fac[im], route)
    out = pd.concat(legs, ignore_index=True)
    return out.sort_values(["year", "route", "material", "from_site", "to_site"],
                           kind="stable", ignore_index=True)


def facility_io(data: ModelData, sol: Solution) -> pd.DataFrame:
    parts = []
    for direction, ports in (("in", data.facility.fin), ("out", data.facility.fout)):
        if not len(ports):
            continue
        f = ports["fac"].to_numpy()
        amount = sol.act[:, f] * ports["rate"].to_numpy()
        year, pos = _year_rows(data, amount)
        fac = data.facility.table.iloc[f[pos]]
        parts.append(pd.DataFrame({
            "year": year, "facility": fac["id"].to_numpy(), "site": fac["site"].to_numpy(),
            "process": fac["process"].to_numpy(), "material": ports["material"].to_numpy()[pos],
            "direction": direction, "t": amount[np.searchsorted(data.years, year), pos]}))
    cols = outputs.column_names("facility_io")
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


_NODE_KEYS = {"site": "site", "material": "material"}  # a supply or demand node's columns


def _each_year(data: ModelData, nodes: pd.DataFrame, keys: dict[str, str], **grids: Any) -> pd.DataFrame:
    """A result on (year × node) grids as a long frame: ``year``, then each node's ``keys``
    (output column: node column) repeated for every year, then each grid raveled (year-major,
    as the model's arrays are)."""
    y = len(data.years)
    cols: dict[str, Any] = {"year": np.repeat(data.years, len(nodes))}
    cols |= {out: np.tile(nodes[col].to_numpy(), y) for out, col in keys.items()}
    cols |= {name: np.ravel(grid) for name, grid in grids.items()}
    return pd.DataFrame(cols)


def activity(data: ModelData, sol: Solution) -> pd.DataFrame:
    y, f = len(data.years), len(data.facility.table)
    cap = capacity(data, sol)
    new = data.facility.cap_c[None, :] * sol.build + sol.exp
    built = data.facility.avail | (sol.open() > 0.5)
    dual = sol.cap_dual if sol.cap_dual is not None else np.full((y, f), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(cap > TOL, sol.act / np.where(cap > TOL, cap, 1.0), 0.0)
    fac = data.facility.table
    return _each_year(data, fac.assign(candidate=fac["candidate"].to_numpy(dtype=bool)),
                      {"facility": "id", "site": "site", "process": "process", "candidate": "candidate"},
                      built=built, capacity_t=cap, new_capacity_t=new, input_t=sol.act, utilisation=util,
                      capacity_dual=dual, running_capacity_t=running_capacity(data, sol))


def supply_use(data: ModelData, sol: Solution) -> pd.DataFrame:
    out = _each_year(data, data.supply.table, _NODE_KEYS, generation_t=data.supply.gen, stock_drawn_t=sol.draw,
                     shipped_t=node_sums(data, sol)["sup_out"], disposed_t=sol.disp)
    keep = out[["generation_t", "stock_drawn_t", "shipped_t", "disposed_t"]].abs().max(axis=1) > TOL
    return out[keep].reset_index(drop=True)


def deliveries(data: ModelData, sol: Solution) -> pd.DataFrame:
    out = _each_year(data, data.demand.table, _NODE_KEYS, demand_t=data.demand.qty,
                     delivered_t=node_sums(data, sol)["dem_in"], unmet_t=sol.unmet, value=data.demand.value,
                     shortage_t=_short(sol))
    keep = (out["demand_t"] > TOL) | (out["delivered_t"] > TOL)
    return out[keep].reset_index(drop=True)


def market(data: ModelData, sol: Solution) -> pd.DataFrame:
    year, pos = _year_rows(data, sol.market)
    f = data.facility.fout["fac"].to_numpy()[pos]
    return pd.DataFrame({
        "year": year, "facility": data.facility.table["id"].to_numpy()[f],
        "site": data.facility.table["site"].to_numpy()[f],
        "material": data.facility.fout["material"].to_numpy()[pos],
        "t": sol.market[np.searchsorted(data.years, year), pos]})


def incentives(data: ModelData, sol: Solution) -> pd.DataFrame:
    amount = sol.act * data.facility.incentive
    year, f = _year_rows(data, amount)
    return pd.DataFrame({
        "year": year, "facility": data.facility.table["id"].to_numpy()[f],
        "site": data.facility.table["site"].to_numpy()[f],
        "process": data.facility.table["process"].to_numpy()[f],
        "yuan": amount[np.searchsorted(data.years, year), f]})


# --- plan premises (issue 8) ------------------------------------------------------------------

def shortages(data: ModelData, sol: Solution) -> pd.DataFrame:
    """Per demand site and year where supply falls short: demand, recycled delivered, virgin
    bought, shortage (t) and its cost (yuan/t, the virgin price + the policy shortage_cost)."""
    cols = outputs.column_names("shortages")
    short = _short(sol)
    year, pos = _year_rows(data, short)
    if not len(pos) or data.virgin is None:
        return pd.DataFrame(columns=cols)
    yi = np.searchsorted(data.years, year)
    dem_in = node_sums(data, sol)["dem_in"]
    return pd.DataFrame({
        "year": year, "site": data.demand.table["site"].to_numpy()[pos],
        "material": data.demand.table["material"].to_numpy()[pos],
        "demand_t": data.demand.qty[yi, pos],
        "delivered_t": dem_in[yi, pos], "virgin_t": sol.unmet[yi, pos], "shortage_t": short[yi, pos],
        "shortage_cost": data.virgin.shortage_cost[yi, pos]})[cols]


def running_capacity(data: ModelData, sol: Solution) -> np.ndarray:
    """(Y, F) capacity that counts as in use: existing capacity as it is, new capacity (built
    candidates, expansions) only as far as the facility's throughput covers min_load of it:
    min(new, max(0, activity − existing) / min_load). What capacity indicators should count
    (the model's min-load rows make it equal to the capacity in place)."""
    new = data.facility.cap_c[None, :] * sol.open() + np.cumsum(sol.exp, axis=0)
    existing = data.facility.cap0[None, :] * data.facility.avail
    ml = (data.facility.min_load if len(data.facility.min_load)
          else np.zeros(len(data.facility.table)))
    beyond = np.clip(sol.act - existing, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        backed = np.where(ml[None, :] > 0, beyond / np.where(ml > 0, ml, 1.0)[None, :],
                          np.where(beyond > TOL, np.inf, 0.0))
    return existing + np.minimum(new, backed + TOL)


def corridor_shares(data: ModelData, sol: Solution) -> pd.DataFrame:
    """Per corridor and year: tonnes, tonnes by rail and road t·km by new-energy trucks, with
    the shares and the corridor's minimums."""
    cols = outputs.column_names("corridor_shares")
    rows = []
    road_km = data.arc.road_km if len(data.arc.road_km) else np.zeros(len(data.net.arcs))
    nev = data.arc.nev if len(data.arc.nev) else np.zeros(len(data.net.arcs), bool)
    for i, mask in enumerate(data.corridors.arcs):
        c = data.corridors.table.iloc[i]
        x = sol.x[:, mask]
        t = x.sum(axis=1)
        rail = (x * data.arc.rail[mask]).sum(axis=1)
        tkm = (x * road_km[mask]).sum(axis=1)
        nev_tkm = (x * (road_km * nev)[mask]).sum(axis=1)
        min_nev = c.get("min_nev_share", 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rows.append(pd.DataFrame({
                "corridor": c["id"], "year": data.years, "t": t, "rail_t": rail,
                "rail_share": np.where(t > TOL, rail / np.where(t > TOL, t, 1.0), np.nan),
                "min_rail_share": float(c["min_rail_share"]), "road_tkm": tkm, "nev_tkm": nev_tkm,
                "nev_share": np.where(tkm > TOL, nev_tkm / np.where(tkm > TOL, tkm, 1.0), np.nan),
                "min_nev_share": 0.0 if pd.isna(min_nev) else float(min_nev)}))
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
