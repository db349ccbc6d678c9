"""Synthetic scenarios for scale tests: N sites with the region's structure, not its data.

Waste generators cluster around the heavy-industry cities of Hebei, Shanxi, Inner Mongolia,
Shandong and Henan; demand clusters around Beijing, Tianjin and Xiong'an; facilities sit in
both; rail terminals are spread over the clusters. Processes, materials and modes are the
catalog's. Quantities are calibrated so that the problem is interesting: facility capacity is
about 80 % of what the waste could feed, product demand about 120 % of what the capacity could
make, a fifth of the facilities are candidates to build. Every number here is synthetic
(sources say so); city coordinates are from /work/shared/domain/facts.md §6.1 (±0.05°).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from resynergy import catalog

SOURCE = "synthetic (resynergy.synth)"
# (province code, zh, en, lat, lon, generator weight, demand weight)
CITIES = [
    ("110000", "北京", "Beijing", 39.904, 116.407, 0.02, 0.30),
    ("120000", "天津", "Tianjin", 39.084, 117.201, 0.06, 0.20),
    ("130000", "河北", "Hebei", 39.631, 118.180, 0.22, 0.05),  # Tangshan
    ("130000", "河北", "Hebei", 40.952, 117.963, 0.08, 0.01),  # Chengde
    ("130000", "河北", "Hebei", 38.042, 114.515, 0.08, 0.08),  # Shijiazhuang
    ("130000", "河北", "Hebei", 39.000, 115.950, 0.01, 0.15),  # Xiong'an
    ("140000", "山西", "Shanxi", 37.870, 112.549, 0.12, 0.05),  # Taiyuan
    ("140000", "山西", "Shanxi", 39.331, 112.433, 0.07, 0.01),  # Shuozhou
    ("140000", "山西", "Shanxi", 37.519, 111.144, 0.06, 0.01),  # Lüliang
    ("150000", "内蒙古", "Inner Mongolia", 40.658, 109.840, 0.08, 0.02),  # Baotou
    ("370000", "山东", "Shandong", 36.813, 118.055, 0.10, 0.06),  # Zibo
    ("410000", "河南", "Henan", 35.216, 113.242, 0.10, 0.06),  # Jiaozuo
]
# Delivered price of the virgin alternative (yuan/t): synthetic round figures in the range of
# facts.md §3.7 for building materials, order-of-magnitude market prices for the rest.
PRICE = {"coarse_aggregate": 70, "manufactured_sand": 80, "sw_binder": 320, "cement": 420,
         "ready_mix_concrete": 380, "road_base": 60, "bricks_blocks": 280, "eaf_steel": 3600,
         "recycled_copper": 60000, "recycled_aluminium": 17000, "retreaded_tyres": 1500,
         "rubber_powder": 2200, "recycled_pellets": 6000, "sorted_paper": 1800,
         "battery_modules": 20000, "battery_salts": 80000, "recovered_metals": 5000,
         "eco_cement": 350}


def synthesize(sites: int, seed: int = 0, years: Sequence[int] = (2022,),
               candidate_share: float = 0.2) -> dict[str, pd.DataFrame]:
    """The tables of a synthetic scenario with ``sites`` sites (reference tables from the catalog);
    ``candidate_share`` of the facilities are candidates to build."""
    if sites < 10:
        raise ValueError(f"a synthetic scenario needs at least 10 sites, not {sites}")
    rng = np.random.default_rng(seed)
    materials = catalog.table("materials").set_index("code")
    processes = catalog.table("processes").set_index("id")
    pio = catalog.table("process_io")
    kind = pio["material"].map(materials["kind"])
    chained = set(pio.loc[(pio["direction"] == "in") & (kind == "product"), "process"])
    mix = [p for p in processes.index if p not in chained]  # fed by waste only
    ins = pio[(pio["direction"] == "in") & pio["process"].isin(mix)]
    outs = pio[(pio["direction"] == "out") & pio["process"].isin(mix)]

    # sites: role, cluster, coordinates
    n_term = max(2, sites // 200)
    role = rng.choice(["generator", "facility", "demand"], size=sites - n_term, p=[0.5, 0.18, 0.32])
    role = np.concatenate([role, np.full(n_term, "terminal")])
    gw = np.array([c[5] for c in CITIES])
    dw = np.array([c[6] for c in CITIES])
    weights = {"generator": gw / gw.sum(), "demand": dw / dw.sum(),
               "facility": (gw + dw) / (gw + dw).sum(), "terminal": (gw + dw) / (gw + dw).sum()}
    city = np.empty(sites, dtype=int)
    for r, w in weights.items():
        on = role == r
        city[on] = rng.choice(len(CITIES), size=on.sum(), p=w)
    lat = np.array([c[3] for c in CITIES])[city] + rng.normal(0, 0.45, sites)
    lon = np.array([c[4] for c in CITIES])[city] + rng.normal(0, 0.55, sites)
    both = (role == "generator") & (rng.random(sites) < 0.1)  # plants that treat their own waste
    roles = np.where(both, "generator;facility", role)
    ids = np.array([f"S{i:06d}" for i in range(sites)])
    site_df = pd.DataFrame({
        "id": ids, "name_zh": [f"合成站点{i}" for i in range(sites)],
        "name_en": [f"Synthetic site {i}" for i in range(sites)],
        "region": np.array([c[0] for c in CITIES])[city],
        "lat": np.clip(lat, 33.0, 44.0).round(4), "lon": np.clip(lon, 108.0, 121.0).round(4),
        "roles": roles, "designation": "", "source": SOURCE})

    # facilities: one process each, a fifth of them candidates
    fac_sites = ids[np.char.find(roles.astype(str), "facility") >= 0]
    proc = rng.choice(mix, size=len(fac_sites))
    n_p = pd.Series(proc).value_counts()
    w_m = (ins.assign(n=ins["process"].map(n_p).fillna(0)).assign(w=lambda d: d["n"] * d["rate"])
           .groupby("material")["w"].sum())
    w_m = w_m[w_m > 0]

    # supplies: one or two waste materials per generator, lognormal tonnage
    gen_sites = ids[np.char.find(roles.astype(str), "generator") >= 0]
    k = 1 + (rng.random(len(gen_sites)) < 0.3)
    sup_site = np.repeat(gen_sites, k)
    sup_mat = rng.choice(w_m.index.to_numpy(), size=len(sup_site), p=(w_m / w_m.sum()).to_numpy())
    sup = pd.DataFrame({"site": sup_site, "material": sup_mat}).drop_duplicates()
    sup["generation_t"] = rng.lognormal(np.log(2e5), 1.0, len(sup)).round(0)
    sup["stock_t"] = (sup["generation_t"] * rng.uniform(0, 5, len(sup)) * (rng.random(len(sup)) < 0.3)).round(0)
    sup["stock_draw_max_t"] = (0.1 * sup["stock_t"]).round(0)
    sup["disposal_cost"] = rng.uniform(25, 60, len(sup)).round(1)
    sup["source"] = SOURCE
    gen_total = sup.groupby("material")["generation_t"].sum()

    # capacity per process: 80 % of what its share of each input could feed
    share = ins.assign(n=ins["process"].map(n_p).fillna(0))
    share["feed"] = (gen_total.reindex(share["material"]).fillna(0).to_numpy()
                     * share["n"] * share["rate"] / share["material"].map(w_m).to_numpy()
                     / share["rate"])
    cap_total = 0.8 * share[share["n"] > 0].groupby("process")["feed"].min()
    u = rng.lognormal(0, 0.6, len(fac_sites))
    u_sum = pd.Series(u).groupby(proc).transform("sum").to_numpy()
    cap = cap_total.reindex(proc).fillna(0).to_numpy() * u / u_sum
    candidate = rng.random(len(fac_sites)) < candidate_share
    fac = pd.DataFrame({
        "id": [f"F{i:06d}" for i in range(len(fac_sites))], "site": fac_sites, "process": proc,
        "year": years[0], "capacity_t": np.maximum(cap, 1000.0).round(0),
        "expandable": rng.random(len(fac_sites)) < 0.3, "candidate": candidate,
        "fixed_cost": np.where(candidate, (cap * rng.uniform(5, 15, len(cap))).round(0), 0.0),
        "source": SOURCE})
    fac["max_capacity_t"] = np.where(fac["expandable"], (fac["capacity_t"] * 1.5).round(0), 0.0)

    # demand: 120 % of what the capacity could make, over the demand sites
    made = outs.assign(t=outs["rate"] * outs["process"].map(cap_total).fillna(0)).groupby(
        "material")["t"].sum()
    made = made[(made > 0) & made.index.isin(list(PRICE))]
    dem_sites = ids[roles == "demand"]
    kd = 1 + (rng.random(len(dem_sites)) < 0.5)
    dem = pd.DataFrame({"site": np.repeat(dem_sites, kd),
                        "material": rng.choice(made.index.to_numpy(), size=kd.sum())})
    dem = dem.drop_duplicates()
    v = rng.lognormal(0, 0.7, len(dem))
    v_sum = pd.Series(v).groupby(dem["material"].to_numpy()).transform("sum").to_numpy()
    dem["quantity_t"] = (1.2 * dem["material"].map(made).to_numpy() * v / v_sum).round(0)
    dem["value"] = (dem["material"].map(PRICE) * rng.uniform(0.85, 1.15, len(dem))).round(1)
    dem["source"] = SOURCE

    term = pd.DataFrame({"site": ids[role == "terminal"], "handling_cost": 8.0,
                         "capacity_t": rng.uniform(2e6, 1e7, n_term).round(0), "source": SOURCE})

    supplies = pd.concat([sup.assign(year=y, generation_t=(sup["generation_t"] * 1.03 ** i).round(0))
                          for i, y in enumerate(years)], ignore_index=True)
    demands = pd.concat([dem.assign(year=y, quantity_t=(dem["quantity_t"] * 1.03 ** i).round(0))
                         for i, y in enumerate(years)], ignore_index=True)
    provinces = pd.DataFrame(
        [(c[0], c[1], c[2], c[3], c[4]) for c in CITIES],
        columns=["code", "name_zh", "name_en", "lat", "lon"]).drop_duplicates("code")
    provinces = provinces.assign(level="province", parent="")
    targets = pd.DataFrame([{
        "id": "synth_isw_utilized", "indicator": "isw_utilized", "region": "", "material": "",
        "year": years[-1], "value": round(0.6 * float(gen_total.sum())), "unit": "t",
        "kind": "soft", "penalty": 100.0, "name_zh": "合成情景：工业固废利用量",
        "name_en": "Synthetic: industrial solid waste utilized", "source": SOURCE}])
    corridors = pd.DataFrame([{"id": "hebei_beijing", "from_region": "130000",
                               "to_region": "110000", "material": "", "min_rail_share": 0.1,
                               "source": SOURCE}])
    # Random capacities (80 % of what the supply could feed) cannot give every retired battery a
    # licensed route, so the catalog's disposal ban would make most synthetic scenarios
    # infeasible: they measure scale, and allow disposal of every material.
    mats = catalog.table("materials").assign(disposal_allowed=True)
    return {"regions": provinces, "sites": site_df, "supplies": supplies, "facilities": fac,
            "demands": demands, "terminals": term, "targets": targets, "corridors": corridors,
            "materials": mats}


def scenario(sites: int, seed: int = 0, years: Sequence[int] = (2022,),
             candidate_share: float = 0.2):
    """A validated synthetic :class:`~resynergy.scenario.Scenario`."""
    from resynergy.scenario import Scenario

    return Scenario.from_tables(synthesize(sites, seed, years, candidate_share),
                                name=f"synth-{sites}-{seed}")


def write(sites: int, seed: int, out_dir: Path, years: Sequence[int] = (2022,),
          format: str = "csv") -> Path:
    """Write a synthetic scenario as a folder (CSV or Parquet); returns the folder."""
    return scenario(sites, seed, years).save(out_dir, format=format)
