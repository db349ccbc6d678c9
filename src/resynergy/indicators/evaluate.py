"""Evaluate indicators on flow tables: a plan's, or actual recorded (manifested) flows.

One function per basis of :data:`~resynergy.indicators.definitions.BASES` turns the inputs into
*contributions* — rows of (region, material, year, num, den) at the region of a site — which are
then rolled up to prefectures, provinces or the whole scenario. Ratios (``rail_share``) are
computed after the roll-up, from summed numerators and denominators.

Inputs. ``flows`` is always needed (year, from_site, to_site, material, t; optional mode, leg,
route, tkm, co2_kg). A plan adds ``facility_io``, ``activity`` and ``supply_use`` (the planner's
result tables); without them the same quantities are inferred from the flows and the scenario:

- a leg *arrives* when ``leg`` is ``direct`` or ``last_mile`` and *departs* when it is ``direct``
  or ``first_mile``; legs of one intermodal ``route`` share the origin of its first leg;
- facility input (without ``facility_io``): arriving t at sites with the ``facility`` role, less
  what the site ships on of the same material beyond its own generation (a pass-through counts
  once, at the last facility); credited to the facility the flow names (``to_facility``, a
  plan's flows), else to the site's facilities that take the material: those in operation
  first, up to their capacity, the rest to the site's other (candidate) lines
  (:func:`_split_to_facilities`);
- products delivered: arriving product t at ``demand`` sites (with ``deliveries``, reconciled
  to the delivered totals; anything delivered without an arriving flow is made on site);
- disposal (without ``supply_use``): arriving t at ``disposal`` sites; legacy stock drawn
  (without ``supply_use``): departing t above the site's generation, up to its stock;
- capacity and running facilities (without ``activity``): facilities in operation (not
  candidates, first year ≤ Y) at their registered capacity, plus facilities the flows show
  receiving material, at least at their throughput (:func:`flow_activity`); capacity added by year Y: facilities whose first year lies after the base year and by Y.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from resynergy.scenario.protocol import ScenarioLike
from resynergy.scenario.regions import province_of
from resynergy.states import TargetStatus

from .definitions import INDICATORS, Indicator, base_year, get

ARRIVING = ("direct", "last_mile")
DEPARTING = ("direct", "first_mile")
LEVELS = ("total", "province", "prefecture")


class Inputs:
    """The tables an evaluation reads, normalised once."""

    def __init__(self, flows: pd.DataFrame, scenario: ScenarioLike, *,
                 facility_io: pd.DataFrame | None = None, activity: pd.DataFrame | None = None,
                 supply_use: pd.DataFrame | None = None,
                 deliveries: pd.DataFrame | None = None) -> None:
        self.scenario = scenario
        self.flows = _normalise_flows(flows)
        self.facility_io = facility_io
        self.activity = activity
        self.supply_use = supply_use
        self.deliveries = deliveries
        self.sites = scenario.table("sites").set_index("id")
        self.materials = scenario.table("materials").set_index("code")
        self.processes = scenario.table("processes").set_index("id")
        self.regions = scenario.table("regions")
        self.site_region = self.sites["region"].astype(str)
        self.cache: dict[str, pd.DataFrame] = {}

    def cached(self, key: str, compute: Callable[[Inputs], pd.DataFrame]) -> pd.DataFrame:
        """``compute(self)`` once per Inputs (several indicators share a basis)."""
        if key not in self.cache:
            self.cache[key] = compute(self)
        return self.cache[key]

    def operating(self) -> pd.DataFrame:
        """The plan's ``activity``; without one, what the flows show (:func:`flow_activity`)."""
        if self.activity is not None:
            return self.activity
        return self.cached("flow_activity", flow_activity)

    @property
    def years(self) -> list[int]:
        found: set[int] = set(self.flows["year"].astype(int))
        for df in (self.facility_io, self.activity, self.supply_use, self.deliveries):
            if df is not None and len(df):
                found |= set(df["year"].astype(int))
        return sorted(found) or list(self.scenario.years)

    def sites_with_role(self, role: str) -> set[str]:
        roles = self.sites["roles"].astype(str).str.split(";")
        return {s for s, r in roles.items() if role in [x.strip() for x in r]}

    def kind(self, materials: pd.Series) -> pd.Series:
        return materials.map(self.materials["kind"]).fillna("")

    def region_of(self, sites: pd.Series) -> pd.Series:
        return sites.map(self.site_region).fillna("")

    def arriving(self) -> pd.DataFrame:
        f = self.flows
        return f[f["leg"].isin(ARRIVING)]

    def departing(self) -> pd.DataFrame:
        f = self.flows
        return f[f["leg"].isin(DEPARTING)]


def _normalise_flows(flows: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("year", "from_site", "to_site", "material", "t") if c not in flows]
    if missing:
        raise ValueError(f"flow table lacks column(s) {', '.join(missing)}; "
                         "expected year, from_site, to_site, material, t")
    f = flows.copy()
    f["year"] = f["year"].astype(int)
    for col in ("from_site", "to_site", "material"):
        f[col] = f[col].astype(str)
    f["t"] = f["t"].astype(float)
    for col, default in (("mode", ""), ("leg", "direct"), ("route", ""), ("to_facility", "")):
        f[col] = f[col].fillna(default).astype(str) if col in f else default
    f.loc[f["leg"] == "", "leg"] = "direct"
    if "tkm" not in f:
        f["tkm"] = f["t"] * f["distance_km"].astype(float) if "distance_km" in f else 0.0
    f["tkm"] = f["tkm"].astype(float).fillna(0.0)
    f["co2_kg"] = f["co2_kg"].astype(float).fillna(0.0) if "co2_kg" in f else 0.0
    # Every leg of a route carries the origin of the route's first leg.
    f["origin"] = f["from_site"]
    routed = f["route"] != ""
    if routed.any():
        first = f[routed].sort_values("leg", key=lambda s: s != "first_mile")
        first = first.drop_duplicates(["year", "route"]).set_index(["year", "route"])["from_site"]
        idx = pd.MultiIndex.from_frame(f.loc[routed, ["year", "route"]])
        f.loc[routed, "origin"] = first.reindex(idx).to_numpy()
    return f


def _allocate(amounts: pd.DataFrame, inbound: pd.DataFrame) -> pd.DataFrame:
    """Spread ``amounts`` (year, site, material, t, …) over the origins of ``inbound`` flows.

    Each (year, site, material) amount is split in proportion to the t arriving from each
    origin; whatever no arriving flow covers is attributed to the site itself (made or used on
    site). Returns the amount rows with an ``origin`` column.
    """
    keys = ["year", "site", "material"]
    if amounts.empty or inbound.empty:
        return amounts.assign(origin=amounts["site"].astype(str))
    arr = (inbound.rename(columns={"to_site": "site"})
           .groupby(keys + ["origin"], as_index=False)["t"].sum())
    total_in = arr.groupby(keys)["t"].transform("sum")
    total = amounts.groupby(keys)["t"].sum().rename("amount")
    arr = arr.join(total, on=keys).dropna(subset=["amount"])
    arr = arr[arr["amount"] > 0]
    covered = np.minimum(arr["amount"], total_in.loc[arr.index]) / arr["amount"]
    arr["frac"] = arr["t"] / total_in.loc[arr.index] * covered
    onsite = (1 - arr.groupby(keys)["frac"].sum()).reindex(total.index).fillna(1.0)
    onsite = onsite[onsite > 1e-12].rename("frac").reset_index()
    onsite["origin"] = onsite["site"]
    parts = pd.concat([arr[keys + ["origin", "frac"]], onsite], ignore_index=True)
    m = amounts.merge(parts, on=keys)
    return m.assign(t=m["t"] * m["frac"]).drop(columns="frac")


def facility_inputs(data: Inputs) -> pd.DataFrame:
    """t entering utilizing facilities: year, site, process, material, origin, t."""
    fio = data.facility_io
    if fio is not None:
        amounts = (fio[fio["direction"] == "in"].groupby(["year", "site", "process", "material"],
                                                         as_index=False)["t"].sum())
        amounts["year"] = amounts["year"].astype(int)
        facs = data.sites_with_role("facility") | set(amounts["site"])
        inbound = data.arriving()[lambda f: f["to_site"].isin(facs)]
        return _allocate(amounts, inbound)
    facs = data.sites_with_role("facility")
    arr = data.arriving()[lambda f: f["to_site"].isin(facs)]
    inbound = arr.groupby(["year", "to_site", "material"])["t"].sum()
    # Shipped on from the facility site beyond its own generation: a pass-through.
    dep = data.departing()[lambda f: f["from_site"].isin(facs) & (f["to_site"] != f["from_site"])]
    out = dep.groupby(["year", "from_site", "material"])["t"].sum()
    out.index = out.index.set_names(inbound.index.names)
    gen = _generation(data)
    gen.index = gen.index.set_names(inbound.index.names)
    passed = (out - gen.reindex(out.index).fillna(0.0)).clip(lower=0)
    kept = (inbound - passed.reindex(inbound.index).fillna(0.0)).clip(lower=0)
    scale = (kept / inbound).fillna(0.0).rename("scale").reset_index()
    rows = arr.merge(scale, on=["year", "to_site", "material"])
    rows = (rows.assign(t=rows["t"] * rows["scale"]).rename(columns={"to_site": "site"})
            .groupby(["year", "site", "material", "origin", "to_facility"], as_index=False)["t"].sum())
    return _split_to_facilities(rows, data)


def _generation(data: Inputs) -> pd.Series:
    sup = data.scenario.table("supplies")
    return sup.groupby(["year", "site", "material"])["generation_t"].sum()


def _takers(data: Inputs) -> pd.DataFrame:
    """Facilities with the materials they take: id, site, process, material, capacity_t,
    candidate, year."""
    fac = data.scenario.table("facilities")
    pio = data.scenario.table("process_io")
    takes = pio[pio["direction"] == "in"][["process", "material"]].drop_duplicates()
    fac = fac.assign(candidate=fac["candidate"].fillna(False).astype(bool),
                     capacity_t=fac["capacity_t"].astype(float), year=fac["year"].astype(int))
    return fac[["id", "site", "process", "capacity_t", "candidate", "year"]].merge(takes, on="process")


def _split_to_facilities(rows: pd.DataFrame, data: Inputs) -> pd.DataFrame:
    """Site inputs (year, site, material, origin, to_facility, t) credited to facilities: adds
    ``facility`` and ``process`` ('' when no facility at the site takes the material).

    A flow that names its receiving facility (``to_facility``, as a plan's ``flows.csv`` does)
    goes to that facility. A flow that names only a site goes first to the site's facilities
    in operation per the scenario (not candidates, first year ≤ Y) that take the material, up
    to their capacity and split by capacity; what exceeds it shows another line working: it
    goes to the site's other facilities that take it (candidates, or lines not yet open),
    split by their capacity. Without such a line everything stays with the lines in
    operation; without lines in operation it all goes to the others."""
    fac = _takers(data)
    process_of = fac.drop_duplicates("id").set_index("id")["process"]
    named = rows["to_facility"].isin(process_of.index)
    out = [rows[named].assign(facility=rows.loc[named, "to_facility"],
                              process=rows.loc[named, "to_facility"].map(process_of))]
    site_rows = rows[~named]
    keys = ["year", "site", "material"]
    shares = []
    for y in site_rows["year"].unique():
        f = fac.assign(year_open=fac["year"], year=int(y))
        f["in_place"] = ~f["candidate"] & (f["year_open"] <= y)
        t = site_rows[site_rows["year"] == y].groupby(keys)["t"].sum().rename("total")
        f = f.join(t, on=keys, how="inner")
        if f.empty:
            continue
        grp = [f["site"], f["material"]]
        cap = f["capacity_t"].clip(lower=0)
        built_cap = cap.where(f["in_place"], 0.0).groupby(grp).transform("sum")
        other_cap = cap.where(~f["in_place"], 0.0).groupby(grp).transform("sum")
        n_built = f["in_place"].groupby(grp).transform("sum")
        n_other = (~f["in_place"]).groupby(grp).transform("sum")
        total = f["total"]
        to_built = np.where(n_built == 0, 0.0,
                            np.where(n_other == 0, total, np.minimum(total, built_cap)))
        to_other = total - to_built
        within = np.where(f["in_place"],
                          np.where(built_cap > 0, cap / built_cap.where(built_cap > 0, 1.0),
                                   1.0 / n_built.where(n_built > 0, 1)),
                          np.where(other_cap > 0, cap / other_cap.where(other_cap > 0, 1.0),
                                   1.0 / n_other.where(n_other > 0, 1)))
        part = np.where(f["in_place"], to_built, to_other)
        frac = np.where(total > 0, part * within / total.where(total > 0, 1.0), 0.0)
        shares.append(f.assign(share=frac, facility=f["id"])[
            keys + ["facility", "process", "share"]])
    share = pd.concat(shares, ignore_index=True) if shares else pd.DataFrame()
    if share.empty:
        out.append(site_rows.assign(facility="", process=""))
    else:
        m = site_rows.merge(share[share["share"] > 0], on=keys, how="left")
        m[["facility", "process"]] = m[["facility", "process"]].fillna("")
        m["t"] = m["t"] * m["share"].fillna(1.0)
        out.append(m.drop(columns="share"))
    return pd.concat(out, ignore_index=True)


def flow_activity(data: Inputs) -> pd.DataFrame:
    """What the flows show of the facilities, in the shape of a plan's ``activity``: year,
    facility, site, process, candidate, listed (in operation per the scenario), built,
    capacity_t, input_t, running_capacity_t.

    A facility in operation per the scenario (not a candidate, first year ≤ Y) is built in Y;
    any other facility (a candidate, or a line not yet open) that the flows show receiving
    material in Y (:func:`facility_inputs`) is operating, hence built, in Y. Capacity that
    counts (``running_capacity_t``): the registered capacity of a facility in operation, plus
    what the flows show beyond it — a line that took X t can take at least X t, so a facility
    the scenario does not list as operating counts with its throughput (at most its listed
    capacity), and one in operation that took more than its registered capacity counts with
    that throughput (at most its expansion ceiling). A lower bound: capacity standing idle
    leaves no trace in the flows."""
    cols = ["year", "facility", "site", "process", "candidate", "listed", "built",
            "capacity_t", "input_t", "running_capacity_t"]
    fac = data.scenario.table("facilities")
    rows = data.cached("facility_inputs", facility_inputs)
    if fac.empty or not data.years:
        return pd.DataFrame(columns=cols)
    if "facility" in rows:
        got = rows[rows["facility"] != ""].groupby(["year", "facility"])["t"].sum()
    else:  # a plan's facility_io without its activity: nothing says which line took what
        got = pd.Series(dtype=float, index=pd.MultiIndex.from_arrays([[], []]))
    cand = fac["candidate"].fillna(False).astype(bool).to_numpy()
    cap = fac["capacity_t"].astype(float).to_numpy()
    expandable = (fac["expandable"].fillna(False).astype(bool).to_numpy()
                  if "expandable" in fac else np.zeros(len(fac), bool))
    ceiling = (pd.to_numeric(fac["max_capacity_t"], errors="coerce").fillna(0.0).to_numpy()
               if "max_capacity_t" in fac else np.zeros(len(fac)))
    parts = []
    for y in data.years:
        in_place = ~cand & (fac["year"].astype(int).to_numpy() <= y)
        took = np.array([float(got.get((y, f), 0.0)) for f in fac["id"]])
        shown = took > _FLOW_TOL
        existing = np.where(in_place, cap, 0.0)
        room = np.where(in_place, np.where(expandable, np.clip(ceiling - cap, 0, None), 0.0), cap)
        running = existing + np.minimum(room, np.clip(took - existing, 0, None))
        keep = in_place | shown
        parts.append(pd.DataFrame({
            "year": y, "facility": fac["id"].to_numpy()[keep], "site": fac["site"].to_numpy()[keep],
            "process": fac["process"].to_numpy()[keep], "candidate": cand[keep],
            "listed": in_place[keep], "built": True,
            "capacity_t": cap[keep], "input_t": took[keep], "running_capacity_t": running[keep]}))
    return pd.concat(parts, ignore_index=True)[cols]


_FLOW_TOL = 1e-6


def deliveries_of_products(data: Inputs) -> pd.DataFrame:
    """Product t delivered to demand sites: year, site, material, origin, t."""
    arr = data.arriving()
    arr = arr[arr["to_site"].isin(data.sites_with_role("demand"))
              & (data.kind(arr["material"]) == "product")]
    if data.deliveries is not None:
        d = data.deliveries.rename(columns={"delivered_t": "t"})
        amounts = d.groupby(["year", "site", "material"], as_index=False)["t"].sum()
        amounts["year"] = amounts["year"].astype(int)
        return _allocate(amounts[amounts["t"] > 0], arr)
    return (arr.rename(columns={"to_site": "site"})
            .groupby(["year", "site", "material", "origin"], as_index=False)["t"].sum())


def _price(data: Inputs, rows: pd.DataFrame) -> pd.Series:
    """Virgin-alternative price of delivered rows: the demand's own, else the material mean."""
    dem = data.scenario.table("demands")
    own = dem.set_index(["site", "material", "year"])["value"]
    own = own[~own.index.duplicated()]
    w = dem.assign(v=dem["value"] * dem["quantity_t"]).groupby("material")[["v", "quantity_t"]]
    mean = w.sum().pipe(lambda d: d["v"] / d["quantity_t"].where(d["quantity_t"] > 0))
    mean = mean.fillna(dem.groupby("material")["value"].mean())
    idx = pd.MultiIndex.from_frame(rows[["site", "material", "year"]])
    p = pd.Series(own.reindex(idx).to_numpy(), index=rows.index)
    return p.astype(float).fillna(rows["material"].map(mean).astype(float)).fillna(0.0)


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """A numeric property per row (0 where the key is unknown)."""
    return keys.map(values).astype(float).fillna(0.0)


# --- one function per basis: contributions (region, material, year, num[, den]) ---

def _contrib(df: pd.DataFrame, region: pd.Series, value: pd.Series,
             by_material: bool = True) -> pd.DataFrame:
    return pd.DataFrame({"region": region.to_numpy(),
                         "material": df["material"].to_numpy() if by_material else "",
                         "year": df["year"].astype(int).to_numpy(),
                         "num": value.astype(float).to_numpy()})


def _facility_input(ind: Indicator, data: Inputs) -> pd.DataFrame:
    rows = data.cached("facility_inputs", facility_inputs)
    rows = rows[data.kind(rows["material"]).isin(ind.material_kinds or data.materials["kind"])]
    if ind.process_flag:
        flagged = data.processes.index[ind.process_mask(data.processes)]
        rows = rows[rows["process"].isin(flagged)]
    return _contrib(rows, data.region_of(rows["origin"]), rows["t"])


def _capacity(data: Inputs, ind: Indicator, added: bool) -> pd.DataFrame:
    """Facility capacity rows (year, site, process, capacity) of flagged processes.

    Added capacity in year Y is cumulative since the base year: the plan's builds and
    expansions in its years up to Y, plus the scenario's own facilities that opened after the
    base year and by Y (not candidates: those count only when the plan builds them)."""
    act = data.activity
    fac = data.scenario.table("facilities")
    fac = fac[~fac["candidate"].astype(bool)]
    cols = ["year", "site", "process", "cap"]
    if not added:
        act = data.operating()
        act = act[act["built"].astype(bool)]
        # a plan's new capacity counts only as far as it runs (its min load), never idle
        cap = act["running_capacity_t"] if "running_capacity_t" in act else act["capacity_t"]
        rows = act[["year", "site", "process"]].assign(cap=cap.astype(float))
    else:
        base = base_year(data.scenario.years)
        parts = [fac[(fac["year"] > base) & (fac["year"] <= y)].assign(year=y)
                 for y in data.years]
        given = pd.concat(parts, ignore_index=True) if parts else fac.iloc[:0]
        rows = given[["year", "site", "process"]].assign(cap=given["capacity_t"].astype(float))
        if act is not None and len(act):
            a = act.sort_values("year", kind="stable")
            cum = a.groupby(a["facility"] if "facility" in a else a["site"] + "|" + a["process"])[
                "new_capacity_t"].cumsum()
            planned = a[["year", "site", "process"]].assign(cap=cum.astype(float))
            rows = pd.concat([rows[cols], planned[planned["cap"] > 0][cols]], ignore_index=True)
    if ind.process_flag:
        rows = rows[rows["process"].isin(data.processes.index[ind.process_mask(data.processes)])]
    return rows


def _facility_capacity(ind: Indicator, data: Inputs) -> pd.DataFrame:
    rows = _capacity(data, ind, added=False)
    out_cap = rows["cap"] * _lookup(rows["process"], data.processes["mass_yield"])
    return _contrib(rows, data.region_of(rows["site"]), out_cap, by_material=False)


def _capacity_added(ind: Indicator, data: Inputs) -> pd.DataFrame:
    rows = _capacity(data, ind, added=True)
    return _contrib(rows, data.region_of(rows["site"]), rows["cap"], by_material=False)


def _output_value(ind: Indicator, data: Inputs) -> pd.DataFrame:
    rows = data.cached("deliveries", deliveries_of_products)
    return _contrib(rows, data.region_of(rows["origin"]), rows["t"] * _price(data, rows))


def programmes_standing(data: Inputs, kind: str | None = None) -> pd.DataFrame:
    """Programmes (of ``kind``) that count in each year: year, id, kind, region.

    A programme counts in year Y when it is built (status ``built``/``accepted``, built year ≤ Y)
    or the plan builds it (it links a candidate facility), and every candidate facility it
    links is built and runs in Y (from the plan's ``activity``; without one, the facility
    receives material in Y per the flows, :func:`flow_activity`). Proposed and approved
    programmes do not count.
    """
    prog = data.scenario.table("programmes")
    if kind is not None:
        prog = prog[prog["kind"] == kind]
    cols = ["year", "id", "kind", "region"]
    if prog.empty:
        return pd.DataFrame(columns=cols)
    fac = data.scenario.table("facilities")
    candidates = set(fac.loc[fac["candidate"].astype(bool), "id"])
    running: set[tuple[int, str]] = set()
    act = data.operating()
    if len(act) and "facility" in act:
        on = act[act["built"].astype(bool) & (act["input_t"].astype(float) > 1e-6)]
        running = set(zip(on["year"].astype(int), on["facility"].astype(str), strict=True))
    rows = []
    for p in prog.to_dict("records"):
        linked = [f.strip() for f in str(p["facilities"]).split(";") if f.strip() in candidates]
        built_year = int(p["built_year"]) if p["status"] in ("built", "accepted") else 0
        for y in data.years:
            stands = bool(linked) or 0 < built_year <= y
            if stands and all((y, f) in running for f in linked):
                rows.append((y, p["id"], p["kind"], p["region"]))
    return pd.DataFrame(rows, columns=cols)


def _programmes(ind: Indicator, data: Inputs) -> pd.DataFrame:
    rows = programmes_standing(data, ind.programme_kind)
    return pd.DataFrame({"region": rows["region"].astype(str), "material": "",
                         "year": rows["year"].astype(int), "num": 1.0})


def _rail_share(ind: Indicator, data: Inputs) -> pd.DataFrame:
    f = data.flows
    modes = data.scenario.table("modes")
    rail = f["mode"].isin(set(modes.loc[modes["rail"].astype(bool), "id"]) or {"rail"})
    c = _contrib(f, data.region_of(f["origin"]), f["tkm"].where(rail, 0.0))
    return c.assign(den=f["tkm"].to_numpy())


def _emitted(data: Inputs) -> pd.DataFrame:
    f = data.flows
    transport = _contrib(f, data.region_of(f["origin"]), f["co2_kg"])
    rows = data.cached("facility_inputs", facility_inputs)
    kg = rows["t"] * _lookup(rows["process"], data.processes["co2"])
    return pd.concat([transport, _contrib(rows, data.region_of(rows["site"]), kg)])


def _co2(ind: Indicator, data: Inputs) -> pd.DataFrame:
    return _emitted(data)


def _co2_avoided(ind: Indicator, data: Inputs) -> pd.DataFrame:
    rows = data.cached("deliveries", deliveries_of_products)
    kg = rows["t"] * _lookup(rows["material"], data.materials["co2_virgin"])
    em = _emitted(data)
    return pd.concat([_contrib(rows, data.region_of(rows["origin"]), kg),
                      em.assign(num=-em["num"])])


def _disposal(ind: Indicator, data: Inputs) -> pd.DataFrame:
    if data.supply_use is not None:
        s = data.supply_use
        return _contrib(s, data.region_of(s["site"]), s["disposed_t"])
    arr = data.arriving()
    arr = arr[arr["to_site"].isin(data.sites_with_role("disposal"))]
    return _contrib(arr, data.region_of(arr["origin"]), arr["t"])


def _stock_drawn(ind: Indicator, data: Inputs) -> pd.DataFrame:
    if data.supply_use is not None:
        s = data.supply_use
        return _contrib(s, data.region_of(s["site"]), s["stock_drawn_t"])
    sup = data.scenario.table("supplies").set_index(["year", "site", "material"])
    dep = data.departing()
    out = dep.groupby(["year", "from_site", "material"])["t"].sum()
    out.index = out.index.set_names(["year", "site", "material"])
    gen = sup["generation_t"].groupby(level=[0, 1, 2]).sum().reindex(out.index).fillna(0.0)
    stock = sup["stock_t"].groupby(level=[0, 1, 2]).sum().reindex(out.index).fillna(0.0)
    drawn = np.minimum((out - gen).clip(lower=0), stock).rename("t").reset_index()
    return _contrib(drawn, data.region_of(drawn["site"]), drawn["t"])


_BASIS = {
    "facility_input": _facility_input,
    "facility_capacity": _facility_capacity,
    "capacity_added": _capacity_added,
    "output_value": _output_value,
    "programmes": _programmes,
    "rail_share": _rail_share,
    "co2": _co2,
    "co2_avoided": _co2_avoided,
    "disposal": _disposal,
    "stock_drawn": _stock_drawn,
}


class _Stacked:
    """The contributions of several indicators in one table, their region and material codes
    factorised once (in sorted order, so that ordering by code orders as by text): every
    indicator is rolled up to a level from one set of group keys, with no text grouped again.

    Each indicator's sums are still taken by pandas over that indicator's rows alone, in their
    order, one column at a time, as the per-indicator roll-up did: pandas adds a group's rows in
    order (np.add.reduceat) when the rows come sorted by group and hold no NaN, else with a
    compensated sum, and the two can differ in the last bit — every figure must stay the same."""

    def __init__(self, inds: list[Indicator], contribs: list[pd.DataFrame], data: Inputs) -> None:
        self.inds = inds
        self.data = data

        def stack(col: str, dtype: Any, fill: Any = None) -> np.ndarray:
            cols = [np.asarray(c[col], dtype=dtype) if col in c else np.full(len(c), fill)
                    for c in contribs]
            return np.concatenate(cols) if cols else np.array([], dtype=dtype)

        self.region, self.regions = pd.factorize(stack("region", object), sort=True,
                                                 use_na_sentinel=False)
        self.material, self.materials = pd.factorize(stack("material", object), sort=True,
                                                     use_na_sentinel=False)
        self.k = np.repeat(np.arange(len(contribs)), [len(c) for c in contribs])
        self.year = stack("year", np.int64)
        self.num = stack("num", float)
        self.den = stack("den", float, np.nan)
        self.ratio = np.array([ind.basis == "rail_share" for ind in inds], dtype=bool)

    def rolled(self, level: str, by_material: bool) -> pd.DataFrame:
        """Every indicator's values at ``level``: k (the indicator's position), region, material,
        year, value, sorted by k then region, material, year; at level ``total`` without the
        material split every year of the inputs has a row (0 when nothing counted)."""
        region, names = self.region, np.asarray(self.regions, dtype=object)
        keep = np.ones(len(region), dtype=bool)
        if level == "total":
            region, names = np.zeros_like(region), np.array([""], dtype=object)
        elif level == "province":
            province = province_of(pd.Series(names, dtype=object), self.data.regions)
            codes, names = pd.factorize(np.asarray(province, dtype=object), sort=True,
                                        use_na_sentinel=False)
            names = np.asarray(names, dtype=object)
            region = codes[region] if len(codes) else region
        elif level == "prefecture":
            lv = pd.Series(names, dtype=object).map(self.data.regions.set_index("code")["level"])
            keep = (lv == "prefecture").to_numpy()[region] if len(names) else keep
        else:
            raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
        material, mnames = self.material, np.asarray(self.materials, dtype=object)
        if not by_material:
            material, mnames = np.zeros_like(material), np.array([""], dtype=object)
        k, region, material = self.k[keep], region[keep], material[keep]
        years, year = np.unique(self.year[keep], return_inverse=True)
        # one number per (indicator, region, material, year), in their sorted order; rows
        # with a missing region or material are left out of the sums (NaN key), as groupby does
        code = ((k * len(names) + region) * len(mnames) + material) * len(years) + year
        key = code.astype(float)
        key[pd.isna(names)[region] | pd.isna(mnames)[material]] = np.nan
        num_in, den_in = self.num[keep], self.den[keep]
        bounds = np.searchsorted(k, np.arange(len(self.inds) + 1))
        codes, nums, dens = [], [], []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if a == b:
                continue
            n = pd.Series(num_in[a:b]).groupby(key[a:b], sort=True).sum(min_count=1)
            d = pd.Series(den_in[a:b]).groupby(key[a:b], sort=True).sum(min_count=1)
            codes.append(n.index.to_numpy(np.int64))
            nums.append(n.to_numpy())
            dens.append(d.to_numpy())
        code = np.concatenate(codes) if codes else np.array([], dtype=np.int64)
        num = np.concatenate(nums) if nums else np.array([])
        den = np.concatenate(dens) if dens else np.array([])
        rest, y = np.divmod(code, len(years)) if len(years) else (code, code)
        rest, m = np.divmod(rest, len(mnames))
        k, r = np.divmod(rest, len(names))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = num / np.where(den > 0, den, np.nan)
        value = np.where(self.ratio[k], share, num)
        out = pd.DataFrame({"k": k, "region": names[r], "material": mnames[m],
                            "year": years[y].astype(np.int64) if len(years) else y,
                            "value": np.where(np.isnan(value), 0.0, value)}
                           ).astype({"region": "str", "material": "str"})
        if level == "total" and not by_material:
            out = self._every_year(out)
        return out

    def _every_year(self, out: pd.DataFrame) -> pd.DataFrame:
        years = self.data.years
        have = set(zip(out["k"].tolist(), out["year"].tolist(), strict=True))
        missing = [(k, y) for k in range(len(self.inds)) for y in years if (k, y) not in have]
        if not missing:
            return out
        extra = pd.DataFrame({"k": [k for k, _ in missing], "region": "", "material": "",
                              "year": np.array([y for _, y in missing], dtype=np.int64),
                              "value": 0.0})
        both = pd.concat([out, extra], ignore_index=True)
        order = np.lexsort((both["year"].to_numpy(), both["k"].to_numpy()))
        return both.iloc[order].reset_index(drop=True)


def evaluate(indicator: str | Indicator, flows: pd.DataFrame, scenario: ScenarioLike, *,
             facility_io: pd.DataFrame | None = None, activity: pd.DataFrame | None = None,
             supply_use: pd.DataFrame | None = None, deliveries: pd.DataFrame | None = None,
             level: str = "province", by_material: bool = True) -> pd.DataFrame:
    """Values of one indicator: columns region, material, year, value.

    ``level`` is ``total`` (region ''), ``province`` or ``prefecture``; with
    ``by_material=False`` material is ''. Indicators without a material dimension (capacity,
    programmes) always have material ''.
    """
    ind = indicator if isinstance(indicator, Indicator) else get(indicator)
    data = Inputs(flows, scenario, facility_io=facility_io, activity=activity,
                  supply_use=supply_use, deliveries=deliveries)
    out = _Stacked([ind], [_BASIS[ind.basis](ind, data)], data).rolled(level, by_material)
    return out.drop(columns="k")


def evaluate_all(flows: pd.DataFrame, scenario: ScenarioLike, *,
                 facility_io: pd.DataFrame | None = None, activity: pd.DataFrame | None = None,
                 supply_use: pd.DataFrame | None = None, deliveries: pd.DataFrame | None = None,
                 indicators: Iterable[str] | None = None,
                 levels: tuple[str, ...] = ("total", "province")) -> pd.DataFrame:
    """Every indicator at every level, with and without the material split.

    Columns: indicator, level, region, material, year, value, unit. Rows with material '' are
    totals over materials; level ``total`` has region ''. Rows come per indicator, then level,
    totals over materials before the split; a (indicator, region, material, year) met at an
    earlier level is not repeated. Each level is one groupby over every indicator's
    contributions (:class:`_Stacked`)."""
    data = Inputs(flows, scenario, facility_io=facility_io, activity=activity,
                  supply_use=supply_use, deliveries=deliveries)
    inds = [get(iid) for iid in (indicators or INDICATORS)]
    stacked = _Stacked(inds, [_BASIS[ind.basis](ind, data) for ind in inds], data)
    parts = []
    for li, level in enumerate(levels):
        for by_material in (False, True):
            v = stacked.rolled(level, by_material)
            if by_material:
                v = v[v["material"] != ""]
            parts.append(v.assign(part=2 * li + int(by_material)))
    v = pd.concat(parts, ignore_index=True)
    v = v.iloc[np.lexsort((v["part"].to_numpy(), v["k"].to_numpy()))]
    k = v["k"].to_numpy()
    ids = np.array([ind.id for ind in inds] or [""], dtype=object)
    units = np.array([ind.unit for ind in inds] or [""], dtype=object)
    lv = np.array([lvl for lvl in levels for _ in (0, 1)] or [""], dtype=object)
    out = pd.DataFrame({"indicator": ids[k], "level": lv[v["part"].to_numpy()],
                        "region": v["region"].to_numpy(), "material": v["material"].to_numpy(),
                        "year": v["year"].to_numpy(np.int64), "value": v["value"].to_numpy(float),
                        "unit": units[k]})
    return out.drop_duplicates(["indicator", "region", "material", "year"], ignore_index=True)


def evaluate_plan(plan: Any, scenario: ScenarioLike, *,
                  levels: tuple[str, ...] = ("total", "province"),
                  indicators: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`evaluate_all` on a planner result (its flows and facility/supply tables).

    Evaluated once per plan: when the planner already evaluated every indicator on this very
    plan and scenario (:class:`Evaluated`, ``plan.evaluated``), its values are returned (a
    copy, the rows of the requested levels) instead of evaluating again."""
    done = getattr(plan, "evaluated", None)
    if (isinstance(done, Evaluated) and indicators is None and done.holds_for(plan, scenario)
            and set(levels) <= set(done.levels)):
        v = done.values
        if set(levels) != set(done.levels):
            v = v[v["level"].isin(levels)]
        return v.reset_index(drop=True)
    return evaluate_all(plan.flows, scenario, facility_io=plan.facility_io,
                        activity=plan.activity, supply_use=plan.supply_use,
                        deliveries=plan.deliveries, indicators=indicators, levels=levels)


def _plan_inputs(plan: Any) -> tuple[Any, ...]:
    return (plan.flows, plan.facility_io, plan.activity, plan.supply_use, plan.deliveries)


class Evaluated:
    """Every indicator evaluated once on a plan (:func:`evaluate_once`), for
    :func:`evaluate_plan` to reuse.

    The values hold for as long as the plan's tables and the scenario are the very objects they
    were computed from: a plan whose tables were replaced is evaluated again, and so is a copied
    or pickled plan (the link to the scenario is not carried along)."""

    def __init__(self, values: pd.DataFrame, levels: tuple[str, ...], plan: Any,
                 scenario: ScenarioLike) -> None:
        self.values = values
        self.levels = tuple(levels)
        self._inputs = _plan_inputs(plan)
        self._scenario = scenario

    def holds_for(self, plan: Any, scenario: ScenarioLike) -> bool:
        return (self._scenario is not None and self._scenario is scenario
                and all(a is b for a, b in zip(self._inputs, _plan_inputs(plan), strict=True)))

    def __getstate__(self) -> dict[str, Any]:
        # Scenarios are not pickled along; without one the values cannot be reused.
        return {**self.__dict__, "values": None, "_scenario": None}


def evaluate_once(plan: Any, scenario: ScenarioLike,
                  levels: tuple[str, ...] = LEVELS) -> pd.DataFrame:
    """Every indicator on ``plan`` at ``levels`` (every level a target may be scoped to), kept
    on ``plan.evaluated`` so that the report, the workbook and the JSON reuse these values."""
    values = evaluate_all(plan.flows, scenario, facility_io=plan.facility_io,
                          activity=plan.activity, supply_use=plan.supply_use,
                          deliveries=plan.deliveries, levels=levels)
    plan.evaluated = Evaluated(values, levels, plan, scenario)
    return values


def no_figure(t: pd.DataFrame) -> pd.Series:
    """Rows of a targets-like table (kind, target or value) that only report their indicator: a
    report-only target whose value is 0 is one where the plan sets no figure (e.g. kiln
    co-processing, plan 二（十）); its status is ``reported``, never ``met``."""
    target = t["target"] if "target" in t else t["value"]
    kind = t["kind"] if "kind" in t else pd.Series("", index=t.index)
    return (kind == "report") & (pd.to_numeric(target, errors="coerce") == 0)
_TOL = 1e-6


def attainment(targets: pd.DataFrame, values: pd.DataFrame, *,
               complete: bool = False) -> pd.DataFrame:
    """Compare targets (the scenario's ``targets`` table) with indicator values.

    ``values`` is a long table (indicator, region, material, year, value) as from
    :func:`evaluate_all` or reported statistics; a target matches the row with the same
    indicator, region ('' = whole scenario), material ('' = all) and year. Returns id,
    indicator, region, material, year, kind, unit, name_zh, name_en, target, value, shortfall,
    attainment, status (``met``/``missed``; a target without a value is ``missed`` with value
    NaN; a report-only target without a figure is ``reported``, see :func:`no_figure`). ``attainment`` is value/target for floors and target/value for ceilings (≥ 1 is met).

    ``complete=True`` says the values are a full evaluation (as :func:`evaluate_all` gives):
    a scope with no row for an indicator and year that were evaluated counted nothing, so its
    value is 0. Leave it False for reported statistics, where a missing row is unknown.
    """
    t = targets.copy()
    for col in ("region", "material"):
        t[col] = t[col].fillna("").astype(str)
    t["year"] = t["year"].astype(int)
    v = values[["indicator", "region", "material", "year", "value"]].copy()
    v["year"] = v["year"].astype(int)
    v = v.drop_duplicates(["indicator", "region", "material", "year"])
    m = t.rename(columns={"value": "target"}).merge(
        v, on=["indicator", "region", "material", "year"], how="left")
    if complete:
        evaluated = pd.MultiIndex.from_frame(v[["indicator", "year"]].drop_duplicates())
        known = pd.MultiIndex.from_frame(m[["indicator", "year"]]).isin(evaluated)
        m.loc[known & m["value"].isna(), "value"] = 0.0
    lower = m["indicator"].map(lambda i: INDICATORS[i].better == "lower" if i in INDICATORS
                               else False).astype(bool)
    val = m["value"] = pd.to_numeric(m["value"], errors="coerce").astype(float)
    tgt = m["target"] = pd.to_numeric(m["target"], errors="coerce").astype(float)
    m["shortfall"] = pd.Series(np.where(lower, val - tgt, tgt - val), index=m.index).clip(lower=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lower, tgt / val, val / tgt)
    m["attainment"] = pd.Series(ratio, index=m.index).replace([np.inf, -np.inf], np.nan)
    # Nothing to reach (floor 0) or nothing emitted under a ceiling: fully attained.
    m.loc[val.notna() & (((tgt == 0) & ~lower) | ((val == 0) & lower)), "attainment"] = 1.0
    met = np.where(lower, val <= tgt * (1 + _TOL) + _TOL, val >= tgt * (1 - _TOL) - _TOL)
    m["status"] = np.where(val.notna() & met, TargetStatus.MET, TargetStatus.MISSED)
    m.loc[no_figure(m), ["status", "target", "shortfall", "attainment"]] = [
        TargetStatus.REPORTED, np.nan, np.nan, np.nan]
    cols = ["id", "indicator", "region", "material", "year", "kind", "unit", "name_zh",
            "name_en", "target", "value", "shortfall", "attainment", "status"]
    return m[[c for c in cols if c in m]]
