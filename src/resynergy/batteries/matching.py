"""Matching triaged batteries to where they go (issue 14 item 4): second-life-eligible units
(reuse / repurpose) to demand for second-life modules (energy storage, base-station backup:
``demands`` of material ``battery_modules``), the others to licensed recyclers (``facilities``
running ``battery_recycling``), each by the lowest delivered cost over the network
(:func:`resynergy.network.build`, the planner's arc costing: distance × circuity × the mode's
cost per t·km plus its fixed cost).

Hazardous transport: retired lithium-ion batteries are carried as dangerous goods (UN 3480 /
3090, class 9) by licensed road carriers; only direct road arcs are generated (no rail or
intermodal legs). That restriction is an engineering reading [U] to confirm against the
region's dangerous-goods transport rules before relying on it.

Each unit takes its cheapest destination independently: capacities are not reserved (a
quantity planner does that: the planner, or the exchange's market once merged).
"""

from __future__ import annotations

import pandas as pd

from resynergy.batteries.forecast import MATERIAL
from resynergy.network import arcs as network

SECOND_LIFE = ("reuse", "repurpose")
DEMAND_MATERIAL = "battery_modules"  # catalog: second-life battery modules (storage, base stations)
RECYCLING_PROCESS = "battery_recycling"  # catalog: hydrometallurgical recycling
ROAD_ONLY = network.NetworkOptions(k_nearest=50, max_distance_km=2000.0)
COLUMNS = ["unit_code", "outcome", "route", "from_site", "to_site", "mode", "km", "cost_per_t", "mass_t",
           "delivered_cost_yuan", "reason_zh", "reason_en"]


def match(batches: pd.DataFrame, sites: pd.DataFrame, modes: pd.DataFrame, demands: pd.DataFrame,
          facilities: pd.DataFrame, options: network.NetworkOptions = ROAD_ONLY) -> pd.DataFrame:
    """One row per batch (columns unit_code, outcome, site, mass_kg): its route ('second_life'
    or 'recycling'), destination site, mode, km, cost per t and delivered cost; no destination
    (empty ``to_site``) with the reason when the batch has no site or nothing is in reach."""
    road = modes[~modes["rail"].astype(bool)]
    wanted = {"second_life": demands.loc[demands["material"] == DEMAND_MATERIAL, "site"].unique(),
              "recycling": facilities.loc[facilities["process"] == RECYCLING_PROCESS, "site"].unique()}
    rows = []
    for route, group in batches.groupby(batches["outcome"].isin(SECOND_LIFE).map(
            {True: "second_life", False: "recycling"})):
        placed = group[group["site"].astype(str) != ""]
        cheapest = pd.DataFrame()
        if len(placed) and len(wanted[route]):
            sources = pd.DataFrame({"site": placed["site"].unique(), "material": MATERIAL})
            sinks = pd.DataFrame({"site": wanted[route], "material": MATERIAL})
            net = network.build(sources, sinks, sites, road, options=options)
            arcs = net.arcs.assign(cost=net.cost, km=net.km,
                                   from_site=sources["site"].to_numpy()[net.arcs["src"].to_numpy()],
                                   to_site=sinks["site"].to_numpy()[net.arcs["dst"].to_numpy()])
            cheapest = arcs.sort_values(["cost", "km"], kind="stable").drop_duplicates("from_site").set_index("from_site")
        for r in group.itertuples(index=False):
            base = {"unit_code": r.unit_code, "outcome": r.outcome, "route": route, "from_site": r.site,
                    "mass_t": float(r.mass_kg or 0) / 1e3}
            if not r.site:
                rows.append({**base, "reason_zh": "电池所在站点不明（最近事件的实施单位未登记站点）",
                             "reason_en": "where the battery is is unknown (its latest actor has no registered site)"})
            elif r.site not in cheapest.index:
                what = ("梯次利用需求（储能、通信基站）", "second-life demand (storage, base stations)") if route == "second_life" \
                    else ("再生利用企业", "licensed recyclers")
                rows.append({**base, "reason_zh": f"运输范围内没有{what[0]}", "reason_en": f"no {what[1]} within reach"})
            else:
                a = cheapest.loc[r.site]
                rows.append({**base, "to_site": a["to_site"], "mode": str(a["mode"]), "km": round(float(a["km"]), 1),
                             "cost_per_t": round(float(a["cost"]), 1),
                             "delivered_cost_yuan": round(float(a["cost"]) * base["mass_t"], 1),
                             "reason_zh": "运费最低（道路危险货物运输）", "reason_en": "lowest delivered cost (road, dangerous goods)"})
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("to_site", "mode"):
        out[col] = out[col].astype(object).fillna("")
    return out
