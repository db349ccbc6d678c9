"""Hand-worked planner scenarios shared by the planner, outputs, diagnosis and premises tests.

Sites sit on one meridian (lon 116°), so a great-circle distance is R·Δlat exactly; costs are
then plain arithmetic. Each scenario brings its own materials, processes and modes, so the
catalog's numbers do not matter here.
"""

from __future__ import annotations

import math

import pandas as pd

from resynergy.network.geo import EARTH_RADIUS_KM
from resynergy.scenario import Scenario

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180
ROAD = {"cost_per_tkm": 0.5, "cost_fixed": 10.0, "co2_per_tkm": 0.06, "circuity": 1.0}
RAIL = {"cost_per_tkm": 0.1, "cost_fixed": 0.0, "co2_per_tkm": 0.01, "circuity": 1.0}
SRC = {"source": "test", "confidence": "U"}


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)


def tiny(sites: list[tuple], supplies=(), facilities=(), demands=(), *, terminals=(), lanes=(),
         corridors=(), targets=(), policy=None, materials=None, processes=None, process_io=None,
         rail: bool = False, name: str = "tiny") -> Scenario:
    """A scenario from short tuples.

    sites: (id, lat, roles[, region]); supplies: (site, material, t[, extra dict]);
    facilities: (id, site, process, capacity[, extra dict]); demands: (site, material, t, value
    [, extra dict]).
    """
    regions = pd.DataFrame([
        {"code": "130000", "name_zh": "河北", "name_en": "Hebei", "level": "province",
         "parent": "", "lat": 38.0, "lon": 114.5},
        {"code": "110000", "name_zh": "北京", "name_en": "Beijing", "level": "province",
         "parent": "", "lat": 39.9, "lon": 116.4},
        {"code": "130800", "name_zh": "承德", "name_en": "Chengde", "level": "prefecture",
         "parent": "130000", "lat": 40.9, "lon": 117.9},
    ])
    site_rows = [{"id": s[0], "name_zh": f"站点{s[0]}", "name_en": f"Site {s[0]}",
                  "region": s[3] if len(s) > 3 else "130800", "lat": s[1], "lon": 116.0,
                  "roles": s[2]} for s in sites]
    tables = {
        "regions": regions, "sites": pd.DataFrame(site_rows),
        "supplies": _frame([{"site": s[0], "material": s[1], "year": 2022, "generation_t": s[2],
                             "disposal_cost": 40.0, **(s[3] if len(s) > 3 else {})}
                            for s in supplies], ["site", "material", "year", "generation_t"]),
        "facilities": _frame([{"id": f[0], "site": f[1], "process": f[2], "year": 2022,
                               "capacity_t": f[3], **(f[4] if len(f) > 4 else {})}
                              for f in facilities], ["id", "site", "process", "year", "capacity_t"]),
        "demands": _frame([{"site": d[0], "material": d[1], "year": 2022, "quantity_t": d[2],
                            "value": d[3], **(d[4] if len(d) > 4 else {})} for d in demands],
                          ["site", "material", "year", "quantity_t", "value"]),
        "materials": materials if materials is not None else pd.DataFrame([
            {"code": c, "name_zh": c, "name_en": c, "kind": k, "env_tax": 0.0,
             "co2_virgin": v, **SRC}
            for c, k, v in [("tailings", "industrial_waste", 0), ("steel_slag", "industrial_waste", 0),
                            ("fgd_gypsum", "industrial_waste", 0), ("manufactured_sand", "product", 5),
                            ("sw_binder", "product", 700), ("ready_mix_concrete", "product", 100)]]),
        "processes": processes if processes is not None else pd.DataFrame([
            {"id": "sand", "name_zh": "制砂", "name_en": "Sand", "mass_yield": 1.0, "opex": 10.0,
             "capex": 100.0, "co2": 2.0, "aggregate": True, **SRC},
            {"id": "binder", "name_zh": "胶凝材料", "name_en": "Binder", "mass_yield": 0.95,
             "opex": 50.0, "capex": 200.0, "co2": 30.0, "co_utilization": True, **SRC},
        ]),
        "process_io": process_io if process_io is not None else pd.DataFrame(
            [("sand", "tailings", "in", 1.0), ("sand", "manufactured_sand", "out", 1.0),
             ("binder", "steel_slag", "in", 0.7), ("binder", "fgd_gypsum", "in", 0.3),
             ("binder", "sw_binder", "out", 0.95)],
            columns=["process", "material", "direction", "rate"]),
        "modes": pd.DataFrame([{"id": "road", "name_zh": "公路", "name_en": "Road", **ROAD,
                                "rail": False, **SRC}]
                              + ([{"id": "rail", "name_zh": "铁路", "name_en": "Rail", **RAIL,
                                   "rail": True, **SRC}] if rail else [])),
        "incentives": pd.DataFrame(columns=["id", "kind", "process", "min_waste_share", "rate",
                                            "tax_rate", "name_zh", "name_en", "source",
                                            "confidence"]),
        "policy": pd.DataFrame([{"key": k, "value": v} for k, v in {
            "carbon_price": 0, "co2_cap_t": 0, "incentives": 1, "env_tax": 1, "annuity_years": 10,
            "discount_rate": 0, "max_distance_km": 2000, "k_nearest": 8,
            # the hand-worked cases below predate the min-load rule; its own tests set it
            "min_load": 0, **(policy or {})}.items()]),
        "targets": _frame([{"kind": "hard", "penalty": 0.0, "unit": "t",
                            "name_zh": t.get("id", "目标"), "name_en": t.get("id", "target"),
                            "region": "", "material": "", "year": 2022, **t} for t in targets],
                          ["id", "indicator", "year", "value", "unit", "kind", "name_zh",
                           "name_en"]),
    }
    if terminals:
        tables["terminals"] = pd.DataFrame(
            [{"site": t[0], "handling_cost": t[1], "capacity_t": t[2]} for t in terminals])
    if lanes:
        tables["lanes"] = pd.DataFrame(list(lanes))
    if corridors:
        tables["corridors"] = pd.DataFrame(list(corridors))
    return Scenario.from_tables(tables, name=name)


def km(dlat: float) -> float:
    return dlat * KM_PER_DEG


def road(dlat: float) -> float:
    return ROAD["cost_fixed"] + ROAD["cost_per_tkm"] * km(dlat)


def cost_of(plan, component: str) -> float:
    return float(plan.costs.set_index("component").at[component, "yuan"])


def transport_case(**kw) -> Scenario:
    """100 t tailings at A → sand plant at B (1° north) → 100 t sand demand at C (2° north)."""
    return tiny([("A", 40.0, "generator"), ("B", 41.0, "facility"), ("C", 42.0, "demand")],
                supplies=[("A", "tailings", 100.0)],
                facilities=[("F", "B", "sand", 1000.0)],
                demands=[("C", "manufactured_sand", 100.0, 200.0)], **kw)


def recipe_case(**kw) -> Scenario:
    return tiny([("A", 40.0, "generator"), ("B", 40.0, "facility"), ("C", 40.0, "demand")],
                supplies=[("A", "steel_slag", 70.0), ("A", "fgd_gypsum", 100.0)],
                facilities=[("F", "B", "binder", 1000.0)],
                demands=[("C", "sw_binder", 1000.0, 500.0)], **kw)


def rail_case(handling: float = 5.0, capacity: float = 1e6, **kw) -> Scenario:
    """A long haul (6°, ≈ 667 km) with rail terminals next to both ends."""
    return tiny([("A", 40.0, "generator"), ("TA", 40.1, "terminal"), ("TB", 45.9, "terminal"),
                 ("B", 46.0, "facility"), ("C", 46.0, "demand")],
                supplies=[("A", "tailings", 100.0)],
                facilities=[("F", "B", "sand", 1000.0)],
                demands=[("C", "manufactured_sand", 100.0, 500.0)],
                terminals=[("TA", handling, capacity), ("TB", handling, capacity)], rail=True, **kw)


def siting_case(**kw) -> Scenario:
    """100 t at A; two candidate sand plants: B next door (fixed 5 000) and C 1° away (fixed
    1 000). Building C saves 4 000 of fixed cost and costs 100 × 2 × 0.5 × 111.2 ≈ 11 120 of
    extra haul (in and back), so B it is."""
    return tiny([("A", 40.0, "generator;demand"), ("B", 40.0, "facility"), ("C", 41.0, "facility")],
                supplies=[("A", "tailings", 100.0)],
                facilities=[("FB", "B", "sand", 200.0, {"candidate": True, "fixed_cost": 5000.0}),
                            ("FC", "C", "sand", 200.0, {"candidate": True, "fixed_cost": 1000.0})],
                demands=[("A", "manufactured_sand", 100.0, 400.0)], **kw)
