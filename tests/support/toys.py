"""Hand-made scenario and plan used by the indicator, monitor, report and CLI tests.

The numbers are small and chosen so that every expected value can be worked out by hand;
the comments in ``tests/test_indicators.py`` do that arithmetic.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from resynergy.scenario import Scenario


def src(**kw):
    return {"source": "hand-made test data", **kw}


def toy_scenario() -> Scenario:
    regions = [
        dict(code="110000", name_zh="北京市", name_en="Beijing", level="province", lat=39.9, lon=116.4),
        dict(code="120000", name_zh="天津市", name_en="Tianjin", level="province", lat=39.1, lon=117.2),
        dict(code="130000", name_zh="河北省", name_en="Hebei", level="province", lat=38.0, lon=114.5),
        dict(code="130800", name_zh="承德市", name_en="Chengde", level="prefecture",
             parent="130000", lat=40.95, lon=117.96),
        dict(code="130200", name_zh="唐山市", name_en="Tangshan", level="prefecture",
             parent="130000", lat=39.63, lon=118.18),
    ]
    def site(i, zh, en, region, lat, lon, roles, designation=""):
        return src(id=i, name_zh=zh, name_en=en, region=region, lat=lat, lon=lon, roles=roles,
                   designation=designation)
    sites = [
        site("G1", "承德尾矿库", "Chengde tailings pond", "130800", 40.9, 117.9, "generator",
             "park:chengde"),
        site("G2", "唐山钢厂", "Tangshan steelworks", "130200", 39.6, 118.2, "generator"),
        site("T1", "承德货场", "Chengde rail yard", "130800", 40.97, 117.93, "terminal"),
        site("T2", "北京货场", "Beijing rail yard", "110000", 39.8, 116.5, "terminal"),
        site("F1", "北京骨料厂", "Beijing aggregate plant", "110000", 39.85, 116.45, "facility",
             "base:chengde-agg"),
        site("F2", "唐山胶凝材料厂", "Tangshan binder plant", "130200", 39.65, 118.1,
             "facility;terminal", "base:tangshan;co_base:tangshan"),
        site("F3", "天津搅拌站", "Tianjin concrete plant", "120000", 39.1, 117.2, "facility"),
        site("F4", "天津胶凝材料厂", "Tianjin binder plant", "120000", 39.05, 117.3, "facility",
             "co_base:tangshan"),
        site("D1", "北京工地", "Beijing site", "110000", 39.95, 116.3, "demand"),
        site("D2", "天津工地", "Tianjin site", "120000", 39.15, 117.15, "demand"),
        site("W1", "承德填埋场", "Chengde landfill", "130800", 40.8, 117.8, "disposal"),
    ]
    def mat(code, zh, en, kind, co2v=0.0):
        return src(code=code, name_zh=zh, name_en=en, kind=kind, co2_virgin=co2v, confidence="U")
    materials = [
        mat("tailings", "尾矿", "Tailings", "industrial_waste"),
        mat("steel_slag", "钢渣", "Steel slag", "industrial_waste"),
        mat("fly_ash", "粉煤灰", "Fly ash", "industrial_waste"),
        mat("scrap_steel", "废钢", "Scrap steel", "recycled_resource"),
        mat("cd_waste", "建筑垃圾", "C&D waste", "urban_waste"),
        mat("coarse_aggregate", "粗骨料", "Coarse aggregate", "product", 5.0),
        mat("sw_binder", "固废胶凝材料", "Solid-waste binder", "product", 600.0),
        mat("ready_mix_concrete", "预拌混凝土", "Ready-mix concrete", "product", 250.0),
    ]
    def proc(i, zh, en, y, co2, **flags):
        return src(id=i, name_zh=zh, name_en=en, mass_yield=y, opex=10.0, capex=100.0, co2=co2,
                   confidence="U", **flags)
    processes = [
        proc("agg", "尾矿制骨料", "Aggregate from tailings", 0.9, 2.0, aggregate=True),
        proc("binder", "全固废胶凝材料", "All-solid-waste binder", 1.0, 10.0,
             co_utilization=True, high_value=True),
        proc("concrete", "预拌混凝土", "Ready-mix concrete", 1.0, 5.0),
    ]
    process_io = [
        dict(process="agg", material="tailings", direction="in", rate=1.0),
        dict(process="agg", material="coarse_aggregate", direction="out", rate=0.9),
        dict(process="binder", material="steel_slag", direction="in", rate=0.6),
        dict(process="binder", material="fly_ash", direction="in", rate=0.4),
        dict(process="binder", material="sw_binder", direction="out", rate=1.0),
        dict(process="concrete", material="sw_binder", direction="in", rate=1.0),
        dict(process="concrete", material="ready_mix_concrete", direction="out", rate=1.0),
    ]
    modes = [
        src(id="road_diesel", name_zh="柴油货车", name_en="Diesel truck", cost_per_tkm=0.5,
            co2_per_tkm=0.1, confidence="U"),
        src(id="rail", name_zh="铁路", name_en="Rail", cost_per_tkm=0.15, co2_per_tkm=0.01,
            rail=True, confidence="U"),
    ]
    def fac(i, site_, process, year, cap, **kw):
        return dict(id=i, site=site_, process=process, year=year, capacity_t=cap, **kw)
    facilities = [
        fac("f1", "F1", "agg", 2021, 200.0),
        fac("f2", "F2", "binder", 2022, 100.0),
        fac("f3", "F3", "concrete", 2020, 80.0),
        fac("f4", "F4", "binder", 2020, 50.0),
        fac("f5", "F1", "agg", 2022, 1000.0, candidate=True),
        fac("f6", "F3", "agg", 2023, 300.0),
    ]
    supplies = [
        dict(site="G1", material="tailings", year=2022, generation_t=100.0, stock_t=50.0,
             stock_draw_max_t=50.0),
        dict(site="G2", material="steel_slag", year=2022, generation_t=40.0),
        dict(site="G2", material="fly_ash", year=2022, generation_t=30.0),
    ]
    demands = [
        dict(site="D1", material="coarse_aggregate", year=2022, quantity_t=100.0, value=60.0),
        dict(site="D2", material="ready_mix_concrete", year=2022, quantity_t=60.0, value=300.0),
    ]
    terminals = [dict(site="T1", handling_cost=5.0, capacity_t=1000.0),
                 dict(site="T2", handling_cost=5.0, capacity_t=1000.0)]
    targets = [
        dict(id="t_isw", indicator="isw_utilized", year=2022, value=150.0, unit="t",
             kind="soft", name_zh="工业固废综合利用量", name_en="ISW utilized"),
        dict(id="t_agg", indicator="aggregate_capacity", year=2022, value=500.0, unit="t",
             kind="report", name_zh="骨料替代能力", name_en="Aggregate capacity"),
        dict(id="t_hebei_co", indicator="co_utilization", region="130000", year=2022,
             value=60.0, unit="t", kind="hard", name_zh="河北协同利用", name_en="Hebei co-use"),
        dict(id="t_disp", indicator="disposal", year=2022, value=10.0, unit="t",
             kind="report", name_zh="处置量上限", name_en="Disposal ceiling"),
    ]
    policy = [dict(key="carbon_price", value=50.0, unit="yuan/t")]
    tables = dict(regions=regions, sites=sites, materials=materials, processes=processes,
                  process_io=process_io, modes=modes, facilities=facilities, supplies=supplies,
                  demands=demands, terminals=terminals, targets=targets, policy=policy)
    # no tax incentives: the catalog's rules name processes the toy does not have
    return Scenario.from_tables({**{k: pd.DataFrame(v) for k, v in tables.items()},
                                 "incentives": pd.DataFrame()}, "toy")


def toy_flows() -> pd.DataFrame:
    """Recorded flows of 2022 (see test_indicators for the expected values)."""
    rows = [
        # year, from, to, material, mode, leg, route, t, distance_km
        (2022, "G1", "T1", "tailings", "road_diesel", "first_mile", "R1", 90.0, 10.0),
        (2022, "T1", "T2", "tailings", "rail", "rail", "R1", 90.0, 200.0),
        (2022, "T2", "F1", "tailings", "road_diesel", "last_mile", "R1", 90.0, 20.0),
        (2022, "G1", "W1", "tailings", "road_diesel", "direct", "", 30.0, 5.0),
        (2022, "G2", "F2", "steel_slag", "road_diesel", "direct", "", 40.0, 50.0),
        (2022, "G2", "F2", "fly_ash", "road_diesel", "direct", "", 30.0, 50.0),
        (2022, "F2", "F4", "steel_slag", "road_diesel", "direct", "", 10.0, 150.0),
        (2022, "F2", "F3", "sw_binder", "road_diesel", "direct", "", 50.0, 150.0),
        (2022, "F1", "D1", "coarse_aggregate", "road_diesel", "direct", "", 81.0, 30.0),
        (2022, "F3", "D2", "ready_mix_concrete", "road_diesel", "direct", "", 50.0, 10.0),
    ]
    f = pd.DataFrame(rows, columns=["year", "from_site", "to_site", "material", "mode", "leg",
                                    "route", "t", "distance_km"])
    f["tkm"] = f["t"] * f["distance_km"]
    f["co2_kg"] = f["tkm"] * f["mode"].map({"road_diesel": 0.1, "rail": 0.01})
    f["cost_yuan"] = f["tkm"] * f["mode"].map({"road_diesel": 0.5, "rail": 0.15})
    return f


def toy_plan() -> SimpleNamespace:
    """A Plan-shaped result on the toy scenario: the toy flows plus the planner's tables.

    F1 uses 100 t of tailings although only 90 t arrive: 10 t are used on site. Concrete
    returned from F3 as C&D waste is crushed to aggregate at F1 and goes back into concrete:
    a recycling loop (coarse aggregate → concrete → C&D waste → aggregate).
    """
    flows = toy_flows()
    fio = pd.DataFrame(
        [(2022, "f1", "F1", "agg", "tailings", "in", 100.0),
         (2022, "f1", "F1", "agg", "coarse_aggregate", "out", 90.0),
         (2022, "f2", "F2", "binder", "steel_slag", "in", 30.0),
         (2022, "f2", "F2", "binder", "fly_ash", "in", 30.0),
         (2022, "f2", "F2", "binder", "sw_binder", "out", 60.0),
         (2022, "f4", "F4", "binder", "steel_slag", "in", 10.0),
         (2022, "f4", "F4", "binder", "sw_binder", "out", 10.0),
         (2022, "f3", "F3", "concrete", "sw_binder", "in", 50.0),
         (2022, "f3", "F3", "concrete", "ready_mix_concrete", "out", 50.0),
         (2022, "f3", "F3", "concrete", "coarse_aggregate", "in", 2.0),
         (2022, "f3", "F3", "concrete", "cd_waste", "out", 2.0),
         (2022, "f1", "F1", "agg", "cd_waste", "in", 2.0),
         (2022, "f1", "F1", "agg", "coarse_aggregate", "out", 2.0)],
        columns=["year", "facility", "site", "process", "material", "direction", "t"])
    activity = pd.DataFrame(
        [(2022, "f1", "F1", "agg", False, True, 200.0, 0.0, 100.0, 0.5, 0.0),
         (2022, "f2", "F2", "binder", False, True, 100.0, 0.0, 60.0, 0.6, 0.0),
         (2022, "f3", "F3", "concrete", False, True, 80.0, 0.0, 50.0, 0.625, 0.0),
         (2022, "f4", "F4", "binder", False, True, 50.0, 0.0, 10.0, 0.2, 0.0),
         (2022, "f5", "F1", "agg", True, True, 400.0, 400.0, 0.0, 0.0, 0.0)],
        columns=["year", "facility", "site", "process", "candidate", "built", "capacity_t",
                 "new_capacity_t", "input_t", "utilisation", "capacity_dual"])
    supply_use = pd.DataFrame(
        [(2022, "G1", "tailings", 100.0, 20.0, 90.0, 30.0),
         (2022, "G2", "steel_slag", 40.0, 0.0, 40.0, 0.0),
         (2022, "G2", "fly_ash", 30.0, 0.0, 30.0, 0.0)],
        columns=["year", "site", "material", "generation_t", "stock_drawn_t", "shipped_t",
                 "disposed_t"])
    deliveries = pd.DataFrame(
        [(2022, "D1", "coarse_aggregate", 100.0, 81.0, 19.0, 60.0),
         (2022, "D2", "ready_mix_concrete", 60.0, 50.0, 10.0, 300.0)],
        columns=["year", "site", "material", "demand_t", "delivered_t", "unmet_t", "value"])
    costs = pd.DataFrame({"component": ["transport", "processing", "disposal", "capex"],
                          "yuan": [float(flows["cost_yuan"].sum()), 1800.0, 1200.0, 4000.0]})
    emissions = pd.DataFrame({"component": ["transport", "processing"],
                              "kg": [float(flows["co2_kg"].sum()), 1130.0]})
    targets = pd.DataFrame(
        [("t_isw", "isw_utilized", "", "", 2022, "soft", 150.0, 170.0, 0.0, 170 / 150, 0.0, "met"),
         ("t_agg", "aggregate_capacity", "", "", 2022, "report", 500.0, 540.0, 0.0, 1.08, 0.0,
          "met"),
         ("t_hebei_co", "co_utilization", "130000", "", 2022, "hard", 80.0, 70.0, 10.0, 0.875,
          12.5, "missed"),
         ("t_disp", "disposal", "", "", 2022, "report", 10.0, 30.0, 20.0, 1 / 3, 0.0, "missed")],
        columns=["id", "indicator", "region", "material", "year", "kind", "target", "value",
                 "shortfall", "attainment", "shadow_price", "status"])
    diagnosis = pd.DataFrame(
        [("target", "t_hebei_co", 10.0, "t", "河北协同利用缺口 10 吨：唐山胶凝材料厂能力不足",
          "Hebei co-use short by 10 t: Tangshan binder plant capacity binds"),
         ("action", "t_hebei_co/F-tangshan-binder", 10.0, "t/yr", "扩建唐山胶凝材料厂 10 吨/年",
          "expand the Tangshan binder plant by 10 t/yr")],
        columns=["kind", "subject", "amount", "unit", "message_zh", "message_en"])
    return SimpleNamespace(
        scenario="toy", status="relaxed", objective=float(costs["yuan"].sum()), mip_gap=0.0,
        solver_log="", timings={"build": 0.1, "solve": 0.2}, flows=flows, facility_io=fio,
        activity=activity, supply_use=supply_use, deliveries=deliveries, costs=costs,
        emissions=emissions, targets=targets, diagnosis=diagnosis)
