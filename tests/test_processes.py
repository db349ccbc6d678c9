"""Host-plant limits (issue 8, items 9–10): the converter scrap ratio and the kiln co-processing
norms, on small cases computed by hand, and the catalog rows they come from."""

from __future__ import annotations

import pandas as pd
import pytest

from resynergy import catalog
from resynergy.indicators.definitions import INDICATORS
from resynergy.planner import greedy, solve
from support.cases import SRC, tiny

# --- converter scrap route --------------------------------------------------------------------

SCRAP_MATERIALS = pd.DataFrame([
    {"code": "scrap_steel", "name_zh": "废钢", "name_en": "Scrap", "kind": "recycled_resource",
     **SRC},
    {"code": "prepared_scrap", "name_zh": "加工废钢", "name_en": "Prepared scrap", "kind": "product",
     **SRC},
])
SCRAP_PROCESSES = pd.DataFrame([
    {"id": "centre", "name_zh": "加工配送中心", "name_en": "Centre", "mass_yield": 0.95, "opex": 10.0,
     "capex": 0.0, "co2": 0.0, **SRC},
    {"id": "bof", "name_zh": "转炉", "name_en": "Converter", "mass_yield": 0.0, "opex": 10.0,
     "capex": 0.0, "co2": 0.0, "host": "crude_steel", "max_host_share": 0.27, **SRC},
])
SCRAP_IO = pd.DataFrame([("centre", "scrap_steel", "in", 1.0), ("centre", "prepared_scrap", "out", 0.95),
                         ("bof", "prepared_scrap", "in", 1.0)],
                        columns=["process", "material", "direction", "rate"])


def converter_case(crude_steel: float) -> object:
    """1,000 t scrap at A; a centre and a converter shop making ``crude_steel`` t at B. The
    converter's charging capacity is its whole metallic charge (1.09 t per t steel), so only the
    scrap ratio can hold it back; scrap left over is disposed of at 1,000 yuan/t."""
    return tiny([("A", 40.0, "generator"), ("B", 40.0, "facility")],
                supplies=[("A", "scrap_steel", 1000.0, {"disposal_cost": 1000.0})],
                facilities=[("C", "B", "centre", 5000.0),
                            ("K", "B", "bof", 1.09 * crude_steel, {"host_output_t": crude_steel})],
                materials=SCRAP_MATERIALS, processes=SCRAP_PROCESSES, process_io=SCRAP_IO)


def test_converter_scrap_is_limited_to_its_share_of_the_metallic_charge():
    plan = solve(converter_case(2000.0))
    act = plan.activity.set_index("facility")["input_t"]
    # 0.27 t scrap per t crude steel = 25% of a 1.09 t/t metallic charge: 540 t of 2,000 t steel
    assert act["K"] == pytest.approx(540.0)
    assert act["K"] / (1.09 * 2000.0) == pytest.approx(0.2477, abs=1e-4)
    # the centre prepares only what the converter can melt (its product has no other buyer)
    assert act["C"] == pytest.approx(540.0 / 0.95)
    use = plan.supply_use.set_index("material")
    assert use.at["scrap_steel", "disposed_t"] == pytest.approx(1000.0 - 540.0 / 0.95)


def test_a_larger_converter_shop_takes_all_the_scrap():
    # 5,000 t crude steel allows 1,350 t scrap, more than the 950 t the centre prepares
    act = solve(converter_case(5000.0)).activity.set_index("facility")["input_t"]
    assert act["K"] == pytest.approx(950.0)
    assert act["C"] == pytest.approx(1000.0)


def test_unknown_host_output_leaves_the_converter_unlimited():
    s = converter_case(2000.0)
    s = s.with_tables(facilities=s.table("facilities").assign(host_output_t=0.0))
    act = solve(s).activity.set_index("facility")["input_t"]
    assert act["K"] == pytest.approx(950.0)


# --- kiln co-processing -----------------------------------------------------------------------

KILN_MATERIALS = pd.DataFrame([
    {"code": "msw", "name_zh": "生活垃圾", "name_en": "MSW", "kind": "urban_waste", "chlorine": 3.0,
     "sulphur": 1.0, "alkali": 4.0, **SRC},
    {"code": "hazardous_waste", "name_zh": "危险废物", "name_en": "HW", "kind": "urban_waste",
     "chlorine": 10.0, "sulphur": 5.0, "alkali": 5.0, **SRC},
])
KILN_LIMITS = {"host": "clinker", "max_host_share": 0.1, "chlorine_max": 0.4, "sulphur_max": 1.7,
               "alkali_max": 1.0}
KILN_PROCESSES = pd.DataFrame([
    {"id": "kiln_msw", "name_zh": "协同处置生活垃圾", "name_en": "Kiln MSW", "mass_yield": 0.0,
     "opex": 100.0, "capex": 0.0, "co2": 0.0, **KILN_LIMITS, **SRC},
    {"id": "kiln_hw", "name_zh": "协同处置危废", "name_en": "Kiln HW", "mass_yield": 0.0,
     "opex": 100.0, "capex": 0.0, "co2": 0.0, **KILN_LIMITS, **SRC},
])
KILN_IO = pd.DataFrame([("kiln_msw", "msw", "in", 1.0), ("kiln_hw", "hazardous_waste", "in", 1.0)],
                       columns=["process", "material", "direction", "rate"])
CLINKER = 1_000_000.0  # t/yr


def kiln_case(msw_site: str = "B") -> object:
    """100 kt each of MSW (disposal 150 yuan/t) and hazardous waste (2,000 yuan/t) at A; a kiln
    of 1 Mt/yr clinker at B with an HW line and an MSW line (on ``msw_site``), each 500 kt/yr."""
    return tiny([("A", 40.0, "generator"), ("B", 40.0, "facility"), ("B2", 40.0, "facility")],
                supplies=[("A", "msw", 100_000.0, {"disposal_cost": 150.0}),
                          ("A", "hazardous_waste", 100_000.0, {"disposal_cost": 2000.0})],
                facilities=[("KH", "B", "kiln_hw", 500_000.0, {"host_output_t": CLINKER}),
                            ("KM", msw_site, "kiln_msw", 500_000.0, {"host_output_t": CLINKER})],
                materials=KILN_MATERIALS, processes=KILN_PROCESSES, process_io=KILN_IO)


def test_chlorine_limit_binds_and_the_kiln_s_lines_share_it():
    plan = solve(kiln_case())
    act = plan.activity.set_index("facility")["input_t"]
    # chlorine: 0.4 kg/t × 1 Mt clinker = 400 t; HW at 10 kg/t → 40 kt (the share limit would
    # allow 100 kt, sulphur 340 kt, alkali 200 kt). Per kg of chlorine HW saves
    # (2,000 − 100 − 10) / 10 = 189 yuan, MSW (150 − 100 − 10) / 3 = 13.3: all chlorine to HW
    assert act["KH"] == pytest.approx(40_000.0)
    assert act["KM"] == pytest.approx(0.0, abs=1e-6)
    use = plan.supply_use.set_index("material")
    assert use.at["hazardous_waste", "disposed_t"] == pytest.approx(60_000.0)


def test_lines_on_another_kiln_have_their_own_limits():
    act = solve(kiln_case(msw_site="B2")).activity.set_index("facility")["input_t"]
    assert act["KH"] == pytest.approx(40_000.0)
    # its own kiln: share 0.1 × 1 Mt = 100 kt binds before chlorine (400 t / 3 kg = 133 kt)
    assert act["KM"] == pytest.approx(100_000.0)


# --- the catalog rows -----------------------------------------------------------------------

def test_catalog_carries_the_host_limits_with_their_sources():
    p = catalog.table("processes").set_index("id")
    assert p.at["scrap_bof", "host"] == "crude_steel"
    # 25% of the metallic charge at ~1.09 t charge per t crude steel
    assert p.at["scrap_bof", "max_host_share"] == pytest.approx(0.25 * 1.09, abs=0.005)
    kilns = p[p.index.str.startswith("kiln_")]
    assert (kilns["host"] == "clinker").all()
    assert kilns[["max_host_share", "chlorine_max", "sulphur_max", "alkali_max"]].notna().all().all()
    assert kilns["source"].str.contains("[hj662-2013]", regex=False).all()
    m = catalog.table("materials").set_index("code")
    assert (m.loc[["msw", "sewage_sludge", "hazardous_waste"], "chlorine"] > 0).all()
    io = catalog.table("process_io")
    centre = io[io["process"] == "scrap_processing"].set_index("direction")["material"]
    assert centre["in"] == "scrap_steel" and centre["out"] == "prepared_scrap"


def test_co_processing_counts_only_kiln_lines():
    """The co-processing indicator counted C&D waste entering aggregate plants (version 1)."""
    ind = INDICATORS["urban_waste_coprocessed"]
    p = catalog.table("processes")
    counted = set(p.loc[ind.process_mask(p).to_numpy(), "id"])
    assert counted == {"kiln_msw", "kiln_sludge", "kiln_hazardous"}
    assert set(p.loc[p["co_processing"], "task"]) == {"十"}
    t = catalog.table("targets").set_index("indicator")
    assert t.at["urban_waste_coprocessed", "kind"] == "report"
    assert "二（十）" in t.at["urban_waste_coprocessed", "source"]


# --- the built-in plan --------------------------------------------------------------------

@pytest.fixture
def builtin(builtin_scenario, builtin_plan):
    return builtin_scenario, builtin_plan


def test_builtin_scrap_use_goes_beyond_the_electric_furnaces(builtin):
    scenario, plan = builtin
    fac = scenario.table("facilities").set_index("id")
    eaf = fac.loc[fac["process"] == "scrap_eaf", "capacity_t"].sum()
    io = plan.facility_io
    scrap_in = io[(io["material"] == "scrap_steel") & (io["direction"] == "in")]["t"].sum()
    assert scrap_in > eaf * 1.01  # the converter route takes scrap the furnaces cannot
    act = plan.activity.set_index("facility")["input_t"]
    bof = fac[fac["process"] == "scrap_bof"]
    share = catalog.table("processes").set_index("id").at["scrap_bof", "max_host_share"]
    used = act.reindex(bof.index).fillna(0.0)
    assert (used <= share * bof["host_output_t"] * (1 + 1e-7)).all()
    assert (used > 0).any()


def test_builtin_kilns_keep_the_co_processing_limits(builtin):
    scenario, plan = builtin
    fac = scenario.table("facilities").set_index("id")
    kilns = fac[fac["process"].str.startswith("kiln_")]
    assert (kilns["host_output_t"] > 0).all()
    p = catalog.table("processes").set_index("id")
    m = catalog.table("materials").set_index("code")
    io = plan.facility_io
    fed = io[(io["direction"] == "in") & io["facility"].isin(kilns.index)]
    fed = fed.assign(site=fed["facility"].map(kilns["site"]),
                     chlorine=fed["t"] * fed["material"].map(m["chlorine"]))
    by_site = fed.groupby("site")[["t", "chlorine"]].sum()
    clinker = kilns.groupby("site")["host_output_t"].max().reindex(by_site.index)
    assert (by_site["t"] <= p.loc["kiln_msw", "max_host_share"] * clinker * (1 + 1e-7)).all()
    assert (by_site["chlorine"] <= p.loc["kiln_msw", "chlorine_max"] * clinker * (1 + 1e-7)).all()
    assert by_site["t"].sum() > 0


def test_greedy_baseline_keeps_the_kiln_limits():
    act = greedy(kiln_case()).activity.set_index("facility")["input_t"]
    # lines taken largest first (equal sizes: in table order): HW fills the kiln's chlorine
    assert act["KH"] == pytest.approx(40_000.0)
    assert act.get("KM", 0.0) == pytest.approx(0.0, abs=1e-6)
