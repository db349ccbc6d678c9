"""The numbers of one planning problem, read once from a scenario into numpy arrays.

Nodes are positions in flat tables: supply nodes (site × material), facilities, facility input
and output ports (facility × material of its process), demand nodes (site × material), arcs.
Each dimension has one record in :class:`ModelData` (``supply``, ``facility``, ``demand``,
``arc``, ``corridors``) holding its table and its arrays; arrays that vary by year have shape
(years, nodes). The LP (``model.py``), the greedy baseline and the result tables all read these
arrays, so costs are defined once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from resynergy import schema
from resynergy.indicators.definitions import INDICATORS, Indicator, base_year
from resynergy.network import arcs as network
from resynergy.network.regions import within
from resynergy.scenario.names import Names
from resynergy.scenario.protocol import ScenarioLike

if TYPE_CHECKING:  # planner.actuals reads ModelData
    from resynergy.planner.actuals import Fixed

# Policy defaults when neither the scenario nor the catalog sets them.
POLICY_DEFAULTS = {"carbon_price": 0.0, "co2_cap_t": 0.0, "incentives": 1.0, "env_tax": 1.0,
                   "annuity_years": 15.0, "discount_rate": 0.06, "max_distance_km": 300.0,
                   "k_nearest": 8.0, "shortage_cost": 300.0, "min_load": 0.6}
MODEL_BASES = ("facility_input", "facility_capacity", "capacity_added")
# Policy values that only price things (objective coefficients, never the model's rows): a
# change of them alone re-prices a built model in place (:func:`repriced`, planner/resolve.py).
PRICE_POLICY = ("carbon_price", "incentives", "env_tax", "discount_rate", "annuity_years",
                "shortage_cost")


class PlanInputError(ValueError):
    """The scenario cannot be planned as given (the message says what and where)."""


@dataclass
class Targets:
    """Targets the model constrains (hard or soft), one row each, in indicator units (t): the
    scenario converted them when it was read (:func:`resynergy.scenario.validate.normalise_targets`)."""

    # id, indicator, year, kind, value_t, penalty, sense (+1 floor / -1 cap), given_t (what
    # counts whatever the plan decides: capacity the scenario itself adds after the base year)
    table: pd.DataFrame
    arc_mask: list[np.ndarray]  # facility_input: which arcs count (bool over arcs)
    fac_weight: list[np.ndarray]  # capacity bases: t of counted capacity per t of input capacity


@dataclass
class HostLimits:
    """Lines that feed a host plant (a cement kiln's clinker, a converter shop's crude steel) and
    the limits they share: one host per site and host kind, its output, and per t of host
    output the most input (``max_host_share``) and the most chlorine, sulphur and alkali."""

    fac: np.ndarray  # (H,) positions of the hosted facilities in ``ModelData.facility``
    group: np.ndarray  # (H,) host of each hosted facility (position in ``hosts``)
    per_t: np.ndarray  # (H,) t of host output one t of input uses up (1 / max_host_share; 0 = none)
    load: np.ndarray  # (H, E) kg of each element per t of input (from the materials' composition)
    hosts: pd.DataFrame  # (G,) site, host, output_t
    limit: np.ndarray  # (G, E) kg of each element per t of host output (inf = no limit)


@dataclass
class VirginSupply:
    """Virgin (primary) material the demand sites may buy, per demand node, and the regional
    ceilings on it. A ``virgin_supply`` row caps the total bought by every demand site of its
    material inside its region in its year; nested rows (a province and one of its prefectures)
    both apply. Demand nodes that no row covers buy without limit, as before the table existed.
    What neither recycled nor virgin supply meets is a shortage, priced at the virgin price plus
    the policy ``shortage_cost``."""

    price: np.ndarray  # (Y, D) yuan/t of virgin purchase (row price, else the demand's value)
    co2: np.ndarray  # (Y, D) kg/t (row co2, else the material's co2_virgin)
    shortage_cost: np.ndarray  # (Y, D) yuan/t of shortage
    pools: pd.DataFrame  # region, material: one per distinct pair in the table
    cap: np.ndarray  # (Y, K) t/yr, inf in years without a row
    member: np.ndarray  # (K, D) bool: demand node d buys from pool k


@dataclass
class SupplyNodes:
    """Supply nodes (S): one per site × material with waste or resources to place."""

    table: pd.DataFrame  # site, material
    gen: np.ndarray  # (Y, S) t generated
    draw_max: np.ndarray  # (Y, S) most t drawn from the legacy stock
    stock0: np.ndarray  # (S,) legacy stock at the start
    disp_cost: np.ndarray  # (Y, S) yuan/t of disposal before tax
    env_tax: np.ndarray  # (Y, S) yuan/t of environmental tax on disposal
    must_use: np.ndarray  # (Y, S) bool: may not be disposed of (must-use or a disposal ban)
    disposal_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (S,) material
    env_tax_rate: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (Y, S) tax when on


@dataclass
class Facilities:
    """Facilities (F), existing and candidate, with their input and output ports."""

    table: pd.DataFrame  # id, site, process, candidate, first_year
    cap0: np.ndarray  # (F,) capacity in place (existing), 0 for candidates
    cap_c: np.ndarray  # (F,) size of a candidate when built
    headroom: np.ndarray  # (F,) most expansion
    avail: np.ndarray  # (Y, F) existing facility in operation
    buildable: np.ndarray  # (Y, F) candidate may be built that year
    opex: np.ndarray  # (F,) yuan per t input
    co2_proc: np.ndarray  # (F,) kg per t input
    incentive: np.ndarray  # (F,) yuan per t input (tax refunds and reductions)
    capex_annual: np.ndarray  # (F,) yuan per yr per t/yr of new capacity
    fixed: np.ndarray  # (F,) yuan/yr when open
    fin: pd.DataFrame  # input ports: fac, material, rate
    fout: pd.DataFrame  # output ports: fac, material, rate, market (bool: no sink anywhere)
    min_load: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (F,) share of new capacity
    incentive_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (F,) when granted
    capex: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (F,) yuan per t/yr of capacity


@dataclass
class DemandNodes:
    """Demand nodes (D): one per site × material a product is wanted at."""

    table: pd.DataFrame  # site, material
    qty: np.ndarray  # (Y, D) t wanted
    value: np.ndarray  # (Y, D) yuan/t
    must_meet: np.ndarray  # (Y, D) bool
    co2_virgin: np.ndarray  # (D,) kg per t of virgin alternative


@dataclass
class Arcs:
    """What the model needs per candidate arc (A) of ``ModelData.net``, and the capacities of
    the terminals (T) and lanes (L) they use."""

    from_sup: np.ndarray  # (A,) supply index or -1
    from_fout: np.ndarray  # (A,) output-port index or -1
    to_fin: np.ndarray  # (A,) input-port index or -1
    to_dem: np.ndarray  # (A,) demand index or -1
    fac_in: np.ndarray  # (A,) facility the arc feeds, or -1
    rail: np.ndarray  # (A,) carried by rail (intermodal, or a rail lane)
    src: np.ndarray  # (A,) origin site (position in ``sites``)
    dst: np.ndarray  # (A,) destination site (position in ``sites``)
    handling: np.ndarray  # (A,) yuan/t of terminal handling inside the arc cost
    terminal_cap: np.ndarray  # (T,)
    lane_cap: np.ndarray  # (L,) inf when unlimited
    road_km: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (A,) km by road
    nev: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (A,) NEV road legs
    onsite: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (A,) same site


@dataclass
class Corridors:
    """Corridor rules (the scenario's ``corridors`` table) and the arcs each covers."""

    table: pd.DataFrame
    arcs: list[np.ndarray] = field(default_factory=list)  # per rule: bool over arcs


@dataclass
class ModelData:
    """One planning problem: its years and policy, the scenario's reference tables, and one
    record per dimension of the model (supply nodes, facilities, demand nodes, arcs)."""

    scenario: str  # the scenario's name
    years: list[int]
    policy: dict[str, float]
    materials: pd.DataFrame  # indexed by code
    processes: pd.DataFrame  # indexed by id
    sites: pd.DataFrame  # indexed by id
    regions: pd.DataFrame
    names: Names  # bilingual names of the scenario's sites, materials, regions, ...
    supply: SupplyNodes
    facility: Facilities
    demand: DemandNodes
    net: network.Network  # the candidate arcs and the terminals and lanes they use
    arc: Arcs
    corridors: Corridors
    targets: Targets | None = None
    report_targets: pd.DataFrame | None = None  # every target row (for attainment)
    base_year: int = 0  # capacity added counts after this year (indicators.base_year)
    host_limits: HostLimits | None = None  # lines sharing a host plant (kilns, converters)
    virgin: VirginSupply | None = None  # plan premise (issue 8): scarce virgin supply
    actuals: Fixed | None = None  # planner.actuals.Fixed: years fixed to recorded flows (re-plan from actuals)

    @property
    def n_years(self) -> int:
        return len(self.years)

    @property
    def carbon_price_per_kg(self) -> float:
        return self.policy["carbon_price"] / 1000.0

    @property
    def co2_cap_kg(self) -> float:
        cap = self.policy["co2_cap_t"]
        return cap * 1000.0 if cap > 0 else np.inf

    @property
    def utilized_material(self) -> np.ndarray:
        """Materials that count as utilized when they enter a facility (not products)."""
        return (self.materials["kind"] != "product").to_numpy()


def _policy(scenario: ScenarioLike) -> dict[str, float]:
    out = {}
    for key, default in POLICY_DEFAULTS.items():
        v = scenario.policy(key, default)
        out[key] = float(default if v is None else v)
    return out


def _check_finite(scenario: ScenarioLike) -> None:
    """Refuse ±infinity anywhere, and NaN in a required number (a solver given either answers
    "unbounded" or garbage); the message names table, row (header = row 1) and column."""
    for table in schema.TABLE_NAMES:
        frame = scenario.table(table)
        for col in schema.columns(table):
            if col.dtype not in ("float", "int") or col.name not in frame or frame.empty:
                continue
            values = pd.to_numeric(frame[col.name], errors="coerce").to_numpy(dtype=float)
            bad = np.isinf(values) | (np.isnan(values) if col.required and col.default == "" else False)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise PlanInputError(f"{table}, row {i + 2}, column {col.name}: {values[i]} is not a finite "
                                     "number")


def annuity(rate: float, years: float) -> float:
    """Capital recovery factor: yearly payment per yuan invested."""
    if years <= 0:
        raise PlanInputError(f"policy annuity_years must be > 0, not {years}")
    if rate == 0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** -years)


def prepare(scenario: ScenarioLike, years: Sequence[int] | None = None,
            net_options: network.NetworkOptions | None = None,
            targets: bool = True) -> ModelData:
    """Read ``scenario`` into :class:`ModelData` (raises PlanInputError on what cannot be planned)."""
    _check_finite(scenario)
    policy = _policy(scenario)
    all_years = list(scenario.years)
    years = sorted(int(y) for y in (years if years is not None else all_years))
    if not years:
        raise PlanInputError("the scenario has no years to plan: supplies and demands are empty")
    unknown = sorted(set(years) - set(all_years)) if all_years else []
    if unknown:
        raise PlanInputError(f"year(s) {unknown} not in the scenario (it has {all_years})")
    ny = len(years)
    ypos = {y: i for i, y in enumerate(years)}
    materials = scenario.table("materials").set_index("code")
    processes = scenario.table("processes").set_index("id")
    sites = scenario.table("sites").set_index("id")
    regions = scenario.table("regions")
    pio = scenario.table("process_io")

    # supply nodes
    supplies = scenario.table("supplies")
    supplies = supplies[supplies["year"].isin(years)]
    sup, sup_grid = _nodes(supplies, ypos, ny)
    gen = sup_grid(supplies["generation_t"])
    draw_max = sup_grid(np.minimum(supplies["stock_draw_max_t"].fillna(0), supplies["stock_t"].fillna(0)))
    disp_cost = sup_grid(supplies["disposal_cost"].fillna(0))
    tax = sup["material"].map(materials["env_tax"]).fillna(0.0).to_numpy()
    env_tax_rate = np.broadcast_to(tax, (ny, len(sup))).copy()
    must_use = sup_grid(supplies["must_use"].astype(float)) > 0
    first = supplies.sort_values("year").drop_duplicates(["site", "material"])
    stock0 = np.zeros(len(sup))
    stock0[_positions(sup, first, ["site", "material"])] = first["stock_t"].fillna(0).to_numpy()

    # facilities and their ports
    fac = scenario.table("facilities").reset_index(drop=True)
    fac = fac[fac["year"] <= years[-1]].reset_index(drop=True)
    missing = sorted(set(fac["process"]) - set(processes.index))
    if missing:
        raise PlanInputError(f"facilities use process(es) {missing} missing from processes")
    cand = fac["candidate"].astype(bool).to_numpy()
    cap = fac["capacity_t"].to_numpy(dtype=float)
    maxcap = np.where(fac["expandable"].astype(bool), np.fmax(fac["max_capacity_t"].fillna(0), cap),
                      cap)
    fyear = fac["year"].to_numpy()
    yarr = np.array(years)[:, None]
    proc = processes.loc[fac["process"]]
    capex = fac["capex"].fillna(pd.Series(proc["capex"].to_numpy(), index=fac.index)).to_numpy()
    ins = pio[pio["direction"] == "in"]
    outs = pio[pio["direction"] == "out"]
    fin = fac.reset_index(names="fac")[["fac", "process"]].merge(ins, on="process")
    fout = fac.reset_index(names="fac")[["fac", "process"]].merge(outs, on="process")
    no_input = sorted(set(fac["process"]) - set(ins["process"]))
    if no_input:
        raise PlanInputError(f"process(es) {no_input} have no inputs in process_io")

    # demand nodes
    demands = scenario.table("demands")
    demands = demands[demands["year"].isin(years)]
    dem, dem_grid = _nodes(demands, ypos, ny)
    qty = dem_grid(demands["quantity_t"])
    value = dem_grid(demands["value"])
    must_meet = dem_grid(demands["must_meet"].astype(float)) > 0

    sink_materials = set(fin["material"]) | set(dem["material"])
    fout["market"] = ~fout["material"].isin(sink_materials)
    incentive_rate = _incentives(scenario, fac, proc, pio, materials, demands)

    # network
    sources = pd.concat([sup.assign(owner=""),
                         pd.DataFrame({"site": fac["site"].to_numpy()[fout["fac"]],
                                       "material": fout["material"].to_numpy(),
                                       "owner": fac["id"].to_numpy()[fout["fac"]]})],
                        ignore_index=True)
    sinks = pd.concat([pd.DataFrame({"site": fac["site"].to_numpy()[fin["fac"]],
                                     "material": fin["material"].to_numpy(),
                                     "owner": fac["id"].to_numpy()[fin["fac"]]}),
                       dem.assign(owner="")], ignore_index=True)
    opts = net_options or network.NetworkOptions(
        k_nearest=int(policy["k_nearest"]), max_distance_km=policy["max_distance_km"])
    terminals = scenario.table("terminals")
    lanes = scenario.table("lanes")
    modes = scenario.table("modes")
    net = network.build(sources, sinks, sites.reset_index(), modes, terminals, lanes, opts)
    a = net.arcs
    src, dst = a["src"].to_numpy(), a["dst"].to_numpy()
    ns, nfi = len(sup), len(fin)
    arc_from_sup = np.where(src < ns, src, -1)
    arc_from_fout = np.where(src >= ns, src - ns, -1)
    arc_to_fin = np.where(dst < nfi, dst, -1)
    arc_to_dem = np.where(dst >= nfi, dst - nfi, -1)
    arc_fac_in = np.where(arc_to_fin >= 0, fin["fac"].to_numpy()[np.maximum(arc_to_fin, 0)], -1)
    rail_modes = set(modes.loc[modes["rail"].astype(bool), "id"])
    arc_rail = (a["kind"] == "intermodal").to_numpy() | a["mode"].isin(rail_modes).to_numpy()
    th = terminals["handling_cost"].to_numpy(dtype=float) if len(terminals) else np.zeros(0)
    handling = np.zeros(len(a))
    im = a["kind"].to_numpy() == "intermodal"
    if im.any():
        handling[im] = th[a["t_from"].to_numpy()[im]] + th[a["t_to"].to_numpy()[im]]

    data = ModelData(
        scenario=scenario.name, years=years, policy=policy, materials=materials,
        processes=processes, sites=sites, regions=regions, names=Names.read(scenario),
        supply=SupplyNodes(
            table=sup, gen=gen, draw_max=draw_max, stock0=stock0, disp_cost=disp_cost,
            env_tax=np.zeros_like(env_tax_rate), must_use=must_use, env_tax_rate=env_tax_rate),
        facility=Facilities(
            table=fac[["id", "site", "process", "candidate"]].assign(first_year=fyear),
            cap0=np.where(cand, 0.0, cap), cap_c=np.where(cand, cap, 0.0),
            headroom=np.maximum(maxcap - cap, 0.0),
            avail=(~cand)[None, :] & (fyear[None, :] <= yarr),
            buildable=cand[None, :] & (fyear[None, :] <= yarr),
            opex=proc["opex"].to_numpy(dtype=float), co2_proc=proc["co2"].to_numpy(dtype=float),
            incentive=np.zeros_like(incentive_rate), capex_annual=np.zeros_like(capex),
            fixed=fac["fixed_cost"].fillna(0).to_numpy(dtype=float),
            fin=fin[["fac", "material", "rate"]], fout=fout[["fac", "material", "rate", "market"]],
            incentive_rate=incentive_rate, capex=capex),
        demand=DemandNodes(
            table=dem, qty=qty, value=value, must_meet=must_meet,
            co2_virgin=dem["material"].map(materials["co2_virgin"]).fillna(0.0).to_numpy()),
        net=net,
        arc=Arcs(
            from_sup=arc_from_sup, from_fout=arc_from_fout, to_fin=arc_to_fin, to_dem=arc_to_dem,
            fac_in=arc_fac_in, rail=arc_rail, handling=handling,
            src=sites.index.get_indexer(sources["site"])[src],
            dst=sites.index.get_indexer(sinks["site"])[dst],
            terminal_cap=terminals["capacity_t"].to_numpy(dtype=float) if len(terminals) else
            np.zeros(0),
            lane_cap=net.lanes["capacity_t"].fillna(np.inf).to_numpy(dtype=float)),
        corridors=Corridors(table=scenario.table("corridors")),
    )
    data.host_limits = host_limits(fac, processes, materials, data.facility.fin)
    _premises(data, scenario, fac, modes)
    _price(data)
    data.corridors.arcs = [_corridor_arcs(data, c) for _, c in data.corridors.table.iterrows()]
    data.base_year = base_year(all_years or years)
    all_targets = scenario.table("targets")
    data.report_targets = all_targets
    if targets:
        data.targets = _targets(data, all_targets)
    return data


def _nodes(rows: pd.DataFrame, ypos: Mapping[int, int], ny: int
           ) -> tuple[pd.DataFrame, Callable[[ArrayLike], np.ndarray]]:
    """The (site, material) nodes of supply or demand ``rows``, and the function that lays a
    value per row out on the (year × node) grid (values of the same year and node add up)."""
    nodes = rows[["site", "material"]].drop_duplicates().reset_index(drop=True)
    idx = _positions(nodes, rows, ["site", "material"])
    yi = rows["year"].map(ypos).to_numpy()
    return nodes, lambda values: _grid(ny, len(nodes), yi, idx, values)


def _positions(nodes: pd.DataFrame, rows: pd.DataFrame, keys: list[str]) -> np.ndarray:
    index = pd.MultiIndex.from_frame(nodes[keys])
    return index.get_indexer(pd.MultiIndex.from_frame(rows[keys]))


def _grid(ny: int, n: int, yi: np.ndarray, idx: np.ndarray, values: ArrayLike) -> np.ndarray:
    out = np.zeros((ny, n))
    np.add.at(out, (yi, idx), np.asarray(values, dtype=float))
    return out


def _incentives(scenario: ScenarioLike, fac: pd.DataFrame, proc: pd.DataFrame, pio: pd.DataFrame,
                materials: pd.DataFrame, demands: pd.DataFrame) -> np.ndarray:
    """Tax benefit per t of input of each facility: Σ rate × tax_rate × product value per t input,
    over the incentive rules of its process whose minimum waste share the recipe meets."""
    rules = scenario.table("incentives")
    if rules.empty or fac.empty:
        return np.zeros(len(fac))
    kind = pio["material"].map(materials["kind"])
    ins = pio[pio["direction"] == "in"]
    waste_share = ins[kind.loc[ins.index] != "product"].groupby("process")["rate"].sum()
    price = (demands.assign(v=demands["value"] * demands["quantity_t"]).groupby("material")[
        ["v", "quantity_t"]].sum())
    price = (price["v"] / price["quantity_t"].where(price["quantity_t"] > 0)).fillna(0.0)
    outs = pio[pio["direction"] == "out"]
    revenue = (outs["rate"] * outs["material"].map(price).fillna(0.0)).groupby(
        outs["process"]).sum()
    ok = rules["min_waste_share"] <= rules["process"].map(waste_share).fillna(0.0) + 1e-9
    per_t = (rules["rate"] * rules["tax_rate"] * rules["process"].map(revenue).fillna(0.0))[ok]
    by_process = per_t.groupby(rules.loc[ok, "process"]).sum()
    return fac["process"].map(by_process).fillna(0.0).to_numpy(dtype=float)


def in_region(data: ModelData, region: str) -> np.ndarray:
    """Which sites (positions in ``data.sites``) lie in ``region``."""
    return within(data.sites["region"].to_numpy(dtype=object), region, data.regions)


def _corridor_arcs(data: ModelData, c: pd.Series) -> np.ndarray:
    """Arcs a corridor rule covers: transport from its origin region to its destination region
    (on-site use is not transport, even where the origin region contains the destination)."""
    a = data.net.arcs
    mask = in_region(data, c["from_region"])[data.arc.src] & in_region(
        data, c["to_region"])[data.arc.dst]
    if len(data.arc.onsite):
        mask &= ~data.arc.onsite
    if c["material"]:
        mask &= (a["material"] == c["material"]).to_numpy()
    return mask


def _targets(data: ModelData, targets: pd.DataFrame) -> Targets:
    """The hard and soft targets the LP can express: bases facility_input, facility_capacity and
    capacity_added, in a planned year. Everything else is evaluated after the solve."""
    rows, arc_mask, fac_weight = [], [], []
    a = data.net.arcs
    fac_site = data.sites.index.get_indexer(data.facility.table["site"])
    for _, t in targets.iterrows():
        given = 0.0
        ind = INDICATORS.get(t["indicator"])
        if t["kind"] == "report" or ind is None or ind.basis not in MODEL_BASES:
            continue
        if int(t["year"]) not in data.years:
            continue
        proc_ok = _process_ok(ind, data)
        if ind.basis == "facility_input":
            mat_ok = ind.material_mask(data.materials.reset_index()).to_numpy()
            mat_ok_by = dict(zip(data.materials.index, mat_ok, strict=True))
            mask = (data.arc.fac_in >= 0) & a["material"].map(mat_ok_by).fillna(False).to_numpy(
                dtype=bool)
            mask &= proc_ok[np.maximum(data.arc.fac_in, 0)]
            if t["material"]:
                mask &= (a["material"] == t["material"]).to_numpy()
            mask &= in_region(data, t["region"])[data.arc.src]
            arc_mask.append(mask)
            fac_weight.append(np.zeros(len(data.facility.table)))
        else:
            weight = proc_ok & in_region(data, t["region"])[fac_site]
            if ind.basis == "facility_capacity":
                yield_ = data.processes["mass_yield"].reindex(
                    data.facility.table["process"]).to_numpy()
                fac_weight.append(weight * yield_)
            else:
                fac_weight.append(weight.astype(float))
                # the scenario's own facilities opened after the base year count as added
                opened = (data.facility.table["first_year"].to_numpy() > data.base_year) & (
                    data.facility.table["first_year"].to_numpy() <= int(t["year"]))
                given = float((weight * data.facility.cap0 * opened).sum())
            arc_mask.append(np.zeros(len(a), dtype=bool))
        rows.append({"id": t["id"], "indicator": t["indicator"], "basis": ind.basis,
                     "year": int(t["year"]), "kind": t["kind"],
                     "value_t": float(t["value"]), "given_t": given,
                     "penalty": float(t["penalty"] or 0.0),
                     "sense": 1 if ind.better == "higher" else -1,
                     "name_zh": t["name_zh"], "name_en": t["name_en"],
                     "region": t["region"], "material": t["material"]})
    cols = ["id", "indicator", "basis", "year", "kind", "value_t", "given_t", "penalty", "sense",
            "name_zh", "name_en", "region", "material"]
    return Targets(table=pd.DataFrame(rows, columns=cols), arc_mask=arc_mask,
                   fac_weight=fac_weight)


def _process_ok(ind: Indicator, data: ModelData) -> np.ndarray:
    ok = ind.process_mask(data.processes.reset_index())
    by_id = dict(zip(data.processes.index, ok.to_numpy(dtype=bool), strict=True))
    return data.facility.table["process"].map(by_id).fillna(False).to_numpy(dtype=bool)


# --- host plants: kiln co-processing norms and the converter scrap ratio -----------------------
# (material composition column, process limit column) per element, kg per t
HOST_ELEMENTS = (("chlorine", "chlorine_max"), ("sulphur", "sulphur_max"), ("alkali", "alkali_max"))


def host_limits(fac: pd.DataFrame, processes: pd.DataFrame, materials: pd.DataFrame,
                fin: pd.DataFrame) -> HostLimits | None:
    """The hosted facilities of ``fac`` (process with a ``host`` and ``host_output_t`` > 0) and the
    hosts they share, or None when there are none. Lines of one host kind on one site share one
    host; its output is the largest ``host_output_t`` its lines state."""
    if "host" not in processes or "host_output_t" not in fac or fac.empty:
        return None
    kind = fac["process"].map(processes["host"]).fillna("").astype(str).to_numpy()
    out = pd.to_numeric(fac["host_output_t"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    pos = np.flatnonzero((kind != "") & (out > 0))
    if not len(pos):
        return None
    proc = processes.loc[fac["process"].to_numpy()[pos]]
    share = pd.to_numeric(proc["max_host_share"], errors="coerce").to_numpy(dtype=float)
    zero = np.flatnonzero(share <= 0)
    if len(zero):
        raise PlanInputError(f"processes row {proc.index[zero[0]]!r}: max_host_share must be > 0 "
                             "or blank (no limit)")
    keys = pd.DataFrame({"site": fac["site"].to_numpy()[pos], "host": kind[pos], "output_t": out[pos]})
    hosts = keys.groupby(["site", "host"], sort=True)["output_t"].max().reset_index()
    group = pd.MultiIndex.from_frame(hosts[["site", "host"]]).get_indexer(
        pd.MultiIndex.from_frame(keys[["site", "host"]]))
    ports = fin[fin["fac"].isin(pos)]
    load = np.zeros((len(pos), len(HOST_ELEMENTS)))
    limit = np.full((len(hosts), len(HOST_ELEMENTS)), np.inf)
    row = pd.Index(pos).get_indexer(ports["fac"])
    for e, (content, cap) in enumerate(HOST_ELEMENTS):
        per_t = ports["rate"].to_numpy(dtype=float) * ports["material"].map(
            materials[content] if content in materials else pd.Series(dtype=float)).fillna(0.0).to_numpy()
        np.add.at(load[:, e], row, per_t)
        lim = pd.to_numeric(proc[cap], errors="coerce").fillna(np.inf).to_numpy(dtype=float) \
            if cap in proc else np.full(len(pos), np.inf)
        np.minimum.at(limit[:, e], group, lim)
    return HostLimits(fac=pos, group=group, per_t=np.where(np.isfinite(share), 1.0 / share, 0.0),
                      load=load, hosts=hosts, limit=limit)
# --- plan premises (issue 8) ------------------------------------------------------------------

def _premises(data: ModelData, scenario: ScenarioLike, fac: pd.DataFrame, modes: pd.DataFrame) -> None:
    """Fill the premise arrays of ``data``: virgin supply and shortage, min load, disposal bans,
    road tonne-km, new-energy and on-site arcs."""
    data.virgin = _virgin_supply(data, scenario.table("virgin_supply"))
    default = data.policy["min_load"]
    if not 0.0 <= default <= 1.0:
        raise PlanInputError(f"policy min_load must lie between 0 and 1, not {default}")
    col = fac["min_load"] if "min_load" in fac else pd.Series(np.nan, index=fac.index)
    data.facility.min_load = pd.to_numeric(col, errors="coerce").fillna(default).to_numpy(
        dtype=float)
    mats = data.materials
    ok = (mats["disposal_allowed"] if "disposal_allowed" in mats else pd.Series(True, mats.index))
    data.supply.disposal_ok = data.supply.table["material"].map(
        ok.fillna(True).astype(bool)).fillna(True).to_numpy(dtype=bool)
    # a material that may not be disposed of must be used, like a must-use supply: the same
    # bound in the model and the same diagnosis ("禁止处置") when it cannot be
    data.supply.must_use = data.supply.must_use | ~data.supply.disposal_ok[None, :]
    a = data.net.arcs
    by_id = modes.set_index("id")
    flag = {c: (by_id[c].fillna(False).astype(bool) if c in by_id else pd.Series(False, by_id.index))
            for c in ("new_energy", "onsite", "rail")}
    direct_rail = (a["kind"] == "direct").to_numpy() & a["mode"].map(flag["rail"]).fillna(
        False).to_numpy(dtype=bool)
    data.arc.road_km = np.where(direct_rail, 0.0, a["d1"].to_numpy()) + a["d3"].to_numpy()
    data.arc.nev = a["mode"].map(flag["new_energy"]).fillna(False).to_numpy(dtype=bool) & ~direct_rail
    data.arc.onsite = a["mode"].map(flag["onsite"]).fillna(False).to_numpy(dtype=bool)


def _virgin_supply(data: ModelData, table: pd.DataFrame) -> VirginSupply:
    ny, nd = len(data.years), len(data.demand.table)
    mats = data.materials
    co2_mat = data.demand.table["material"].map(mats["co2_virgin"]).fillna(0.0).to_numpy(
        dtype=float)
    price = data.demand.value.copy()
    co2 = np.broadcast_to(co2_mat, (ny, nd)).copy()
    rows = table[table["year"].isin(data.years)] if len(table) else table
    pools = (rows[["region", "material"]].drop_duplicates().reset_index(drop=True) if len(rows)
             else pd.DataFrame({"region": pd.Series(dtype=object),
                                "material": pd.Series(dtype=object)}))
    cap = np.full((ny, len(pools)), np.inf)
    member = np.zeros((len(pools), nd), dtype=bool)
    dem_site = data.sites.index.get_indexer(data.demand.table["site"])
    dem_mat = data.demand.table["material"].to_numpy(dtype=object)
    # broader regions first, so the most specific row's price and CO2 win
    level = pools["region"].map(data.regions.set_index("code")["level"]).fillna("")
    for k in np.argsort((level == "prefecture").to_numpy(), kind="stable"):
        region, material = pools.at[k, "region"], pools.at[k, "material"]
        member[k] = in_region(data, region)[dem_site] & (dem_mat == material)
        mine = rows[(rows["region"] == region) & (rows["material"] == material)]
        yi = mine["year"].map({y: i for i, y in enumerate(data.years)}).to_numpy()
        cap[yi, k] = mine["capacity_t"].to_numpy(dtype=float)
        for col, grid in (("price", price), ("co2", co2)):
            vals = pd.to_numeric(mine[col], errors="coerce").to_numpy(dtype=float)
            given = ~np.isnan(vals)
            if given.any() and member[k].any():
                grid[np.ix_(yi[given], np.flatnonzero(member[k]))] = vals[given][:, None]
    return VirginSupply(price=price, co2=co2, shortage_cost=np.zeros_like(price),
                        pools=pools, cap=cap, member=member)  # shortage_cost: _price


def _price(data: ModelData) -> None:
    """Fill the numbers of ``data`` that follow from its :data:`PRICE_POLICY` values (one
    definition for :func:`prepare` and :func:`repriced`): the environmental tax on disposal and
    the tax incentives (each on while its switch is > 0), the annual capital cost (capex × the
    capital recovery factor) and the cost of a shortage."""
    p = data.policy
    extra = p["shortage_cost"]
    if extra < 0:
        raise PlanInputError(f"policy shortage_cost must be ≥ 0 yuan/t, not {extra}")
    data.supply.env_tax = data.supply.env_tax_rate * (p["env_tax"] > 0)
    data.facility.incentive = data.facility.incentive_rate * (p["incentives"] > 0)
    data.facility.capex_annual = data.facility.capex * annuity(p["discount_rate"],
                                                               p["annuity_years"])
    if data.virgin is not None:
        # a shortage never costs less than buying virgin material, so it is the last resort
        data.virgin.shortage_cost = np.maximum(data.virgin.price, data.demand.value) + extra


def repriced(data: ModelData, policy: Mapping[str, float]) -> ModelData:
    """``data`` under other :data:`PRICE_POLICY` values (a copy; ``data`` is left as it was):
    the same network and model rows, other prices. ValueError for any other policy key."""
    other = sorted(set(policy) - set(PRICE_POLICY))
    if other:
        raise ValueError(f"policy {other} changes more than prices; prepare the scenario again")
    out = dataclasses.replace(
        data, policy={**data.policy, **{k: float(v) for k, v in policy.items()}},
        supply=dataclasses.replace(data.supply), facility=dataclasses.replace(data.facility),
        virgin=dataclasses.replace(data.virgin) if data.virgin is not None else None)
    _price(out)
    return out
