"""Integrity of the reference catalog: balances, references, vocabulary, sources, schema dtypes."""

from __future__ import annotations

import re
from importlib.resources import files

import pandas as pd
import pytest

from resynergy import catalog, schema
from resynergy.indicators.definitions import INDICATORS

WASTES = {
    "industrial_waste": ["tailings", "waste_rock", "steel_slag", "bf_slag", "other_slag", "fly_ash",
                         "furnace_slag", "coal_gangue", "fgd_gypsum", "phosphogypsum", "red_mud"],
    "recycled_resource": ["scrap_steel", "scrap_copper", "scrap_aluminium", "waste_tyres",
                          "waste_plastics", "waste_paper", "retired_batteries"],
    "urban_waste": ["cd_waste", "msw", "sewage_sludge", "hazardous_waste"],
}
PRODUCTS = ["coarse_aggregate", "manufactured_sand", "sw_binder", "cement", "ready_mix_concrete",
            "road_base", "bricks_blocks", "eaf_steel", "recycled_copper", "recycled_aluminium",
            "retreaded_tyres", "rubber_powder", "recycled_pellets", "sorted_paper", "battery_modules",
            "battery_salts", "recovered_metals", "eco_cement", "prepared_scrap"]
TASKS = ["三", "四", "五", "六", "七", "八", "九", "十", "十一"]
DTYPES = {"str": "str", "float": "float64", "int": "int64", "bool": "bool"}
SOURCED = ["materials", "processes", "modes", "incentives"]


@pytest.fixture(scope="module")
def t() -> dict[str, pd.DataFrame]:
    return {name: catalog.table(name) for name in catalog.TABLES}


def io_sums(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    io = t["process_io"]
    sums = io.pivot_table(index="process", columns="direction", values="rate", aggfunc="sum", fill_value=0.0)
    return sums.reindex(index=t["processes"]["id"], columns=["in", "out"], fill_value=0.0)


@pytest.mark.parametrize("name", catalog.TABLES)
def test_columns_and_dtypes_follow_the_schema(name: str) -> None:
    frame = catalog.table(name)
    cols = schema.columns(name)
    assert list(frame.columns) == [c.name for c in cols]
    for c in cols:
        assert str(frame[c.name].dtype) == DTYPES[c.dtype], (name, c.name, frame[c.name].dtype)
        if c.dtype == "str":
            assert not frame[c.name].isna().any(), (name, c.name)
        if c.choices:
            bad = frame.loc[~frame[c.name].isin(c.choices) & (frame[c.name] != ""), c.name]
            assert bad.empty, (name, c.name, bad.tolist())
        if c.min is not None:
            assert (frame[c.name].dropna() >= c.min).all(), (name, c.name)
        if c.max is not None:
            assert (frame[c.name].dropna() <= c.max).all(), (name, c.name)
        if c.required and c.dtype == "str":
            assert (frame[c.name] != "").all(), (name, c.name)
    keys = schema.key_columns(name)
    assert not frame.duplicated(keys).any(), (name, keys)


def test_table_returns_copies() -> None:
    a = catalog.table("materials")
    a.loc[0, "name_zh"] = "changed"
    assert catalog.table("materials").loc[0, "name_zh"] != "changed"


def test_unknown_table_and_material_are_named() -> None:
    with pytest.raises(KeyError, match="regions"):
        catalog.table("regions")
    with pytest.raises(KeyError, match="unobtainium"):
        catalog.material_name("unobtainium")
    assert catalog.material_name("red_mud") == "赤泥"
    assert catalog.material_name("red_mud", "en") == "Red mud"


def test_vocabulary_is_present_with_its_kind(t) -> None:
    kinds = dict(zip(t["materials"]["code"], t["materials"]["kind"], strict=True))
    expected = {code: kind for kind, codes in WASTES.items() for code in codes}
    expected.update(dict.fromkeys(PRODUCTS, "product"))
    assert {c: kinds.get(c) for c in expected} == expected
    assert set(kinds) == set(expected), set(kinds) ^ set(expected)


def test_every_row_has_a_source_and_a_confidence(t) -> None:
    for name in SOURCED:
        frame = t[name]
        assert (frame["source"].str.len() > 10).all(), name
        assert frame["confidence"].isin(["V", "P", "U"]).all(), name
    assert (t["targets"]["source"].str.contains("[plan]", regex=False)).all()
    unverified = t["processes"].loc[t["processes"]["confidence"] == "U", "source"]
    assert unverified.str.contains("estimate").all(), "a [U] process must say it is an estimate"


def test_every_cited_source_key_is_documented(t) -> None:
    sources_md = files("resynergy.catalog").joinpath("SOURCES.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|\s*`?\[([a-z0-9-]+)\]`?\s*\|", sources_md, flags=re.M))
    cited: set[str] = set()
    for name in [*SOURCED, "targets"]:
        for text in t[name]["source"]:
            cited |= set(re.findall(r"\[([a-z][a-z0-9]*(?:-[a-z0-9]+)+|plan)\]", text))
    assert cited, "no source keys found"
    assert cited <= documented, sorted(cited - documented)


def test_processes_balance(t) -> None:
    sums = io_sums(t)
    yields = t["processes"].set_index("id")["mass_yield"]
    assert (sums["in"] - 1.0).abs().max() < 1e-9, sums.loc[(sums["in"] - 1.0).abs() >= 1e-9]
    gap = (sums["out"] - yields).abs()
    assert gap.max() < 1e-9, gap[gap >= 1e-9]


def test_process_io_references_exist_and_are_unique(t) -> None:
    io = t["process_io"]
    assert set(io["process"]) <= set(t["processes"]["id"])
    assert set(io["material"]) <= set(t["materials"]["code"])
    assert (io["rate"] > 0).all()
    assert not io.duplicated(["process", "material"]).any(), "a material both in and out of one process"


def test_every_plan_task_has_a_process(t) -> None:
    assert set(t["processes"]["task"]) <= {*TASKS, ""}
    missing = set(TASKS) - set(t["processes"]["task"])
    assert not missing, missing


def test_routes_without_a_task_or_product(t) -> None:
    """Processes with no plan task serve only the overall ISW target: they carry no flag. Routes
    with mass_yield 0 (kilns, gangue power, backfill) take only wastes and say why no product is
    credited."""
    p = t["processes"].set_index("id")
    untasked = p[p["task"] == ""]
    assert {"gangue_power", "gangue_backfill", "mine_backfill", "ash_backfill"} <= set(untasked.index)
    assert not untasked[["high_value", "aggregate", "co_utilization"]].any(axis=None)
    no_product = p[p["mass_yield"] == 0]
    assert set(untasked.index) <= set(no_product.index)
    kinds = t["materials"].set_index("code")["kind"]
    io = t["process_io"][t["process_io"]["process"].isin(no_product.index)]
    assert (io["direction"] == "in").all()
    # converters melt prepared scrap, a product of the scrap centres (the scrap counted there)
    bof = io["process"] == "scrap_bof"
    assert set(io.loc[bof, "material"]) == {"prepared_scrap"}
    assert (io.loc[~bof, "material"].map(kinds) != "product").all()
    assert no_product["source"].str.contains("mass_yield 0").all()
    assert (p.loc[["gangue_power"], "opex"] == 0).all(), "revenue beyond cost is floored at 0"


def test_every_waste_is_used_and_every_product_is_made(t) -> None:
    io, kinds = t["process_io"], t["materials"].set_index("code")["kind"]
    used = set(io.loc[io["direction"] == "in", "material"])
    made = set(io.loc[io["direction"] == "out", "material"])
    assert {c for c, k in kinds.items() if k != "product"} - used == set()
    assert {c for c, k in kinds.items() if k == "product"} - made == set()
    assert not made - set(kinds[kinds == "product"].index), "processes only output products"


def test_flags_match_plan_tasks(t) -> None:
    p = t["processes"].set_index("id")
    assert set(p.loc[p["aggregate"], "task"]) == {"三"}
    assert set(p.loc[p["co_utilization"], "task"]) == {"四"}
    assert set(p.loc[p["high_value"], "task"]) == {"五"}
    # single-stream admixtures serve task 四 but are not co-utilization recipes
    assert not p.loc[["flyash_admixture", "slag_powder"], "co_utilization"].any()
    co_inputs = t["process_io"][t["process_io"]["process"].isin(p.index[p["co_utilization"]])
                                & (t["process_io"]["direction"] == "in")]
    metallurgical = {"bf_slag", "steel_slag", "other_slag"}
    coal_power = {"fly_ash", "furnace_slag", "fgd_gypsum", "coal_gangue"}
    for process, mats in co_inputs.groupby("process")["material"]:
        assert set(mats) & metallurgical and set(mats) & coal_power, process
    assert p.loc[p["task"] == "五", "high_value"].all()
    aggregate_out = t["process_io"].merge(p[p["aggregate"]], left_on="process", right_index=True)
    assert set(aggregate_out.loc[aggregate_out["direction"] == "out", "material"]) <= {
        "coarse_aggregate", "manufactured_sand"}


def test_scrap_yield_and_battery_recovery_are_the_sourced_values(t) -> None:
    p = t["processes"].set_index("id")
    assert p.loc["scrap_eaf", "mass_yield"] == pytest.approx(0.9)
    assert p.loc[p["task"] == "十", "mass_yield"].eq(0).all()


def test_incentives_reference_processes_that_qualify(t) -> None:
    inc, io = t["incentives"], t["process_io"]
    kinds = t["materials"].set_index("code")["kind"]
    assert set(inc["process"]) <= set(t["processes"]["id"])
    inputs = io[io["direction"] == "in"].assign(kind=lambda d: d["material"].map(kinds))
    waste_share = inputs[inputs["kind"] != "product"].groupby("process")["rate"].sum()
    share = inc["process"].map(waste_share).fillna(0.0)
    assert (share >= inc["min_waste_share"] - 1e-9).all(), inc.loc[share < inc["min_waste_share"], "id"]
    vat, cit = inc[inc["kind"] == "vat_refund"], inc[inc["kind"] == "income_tax"]
    assert (vat["tax_rate"] == 0.13).all() and vat["item"].ne("").all()
    assert (cit["rate"] == 0.10).all() and (cit["tax_rate"] == 0.25).all()
    assert not inc.duplicated(["kind", "item", "process"]).any()
    # tailings / waste-rock aggregate sold as such is not a catalogue product (facts §5.1 rule 1)
    assert not vat["process"].isin(["tailings_sand", "waste_rock_aggregate"]).any()


def test_targets_are_the_plan_targets(t) -> None:
    tg = t["targets"].set_index("indicator")
    assert set(tg.index) <= set(INDICATORS)
    assert (tg["unit"] == [INDICATORS[i].unit for i in tg.index]).all()
    expected = {
        "isw_utilized": (800e6, "soft"), "recycled_resources": (150e6, "soft"),
        "aggregate_capacity": (100e6, "soft"), "co_utilization": (300e6, "soft"),
        "high_value_capacity_added": (10e6, "soft"), "output_value": (900e9, "report"),
        "clusters": (30, "report"), "innovation_centres": (50, "report"),
        "backbone_enterprises": (100, "report"), "isw_bases": (25, "report"),
        "recycling_parks": (15, "report"), "co_utilization_bases": (10, "report"),
        "paper_centres": (3, "report"), "urban_waste_coprocessed": (0, "report"),
    }
    got = {i: (r["value"], r["kind"]) for i, r in tg.iterrows()}
    assert got == expected
    assert (tg.loc[tg["kind"] == "soft", "penalty"] > 0).all()
    assert (tg["year"] == 2022).all() and (tg["region"] == "").all()


def test_modes_and_policy_defaults(t) -> None:
    m = t["modes"].set_index("id")
    assert list(m.index) == ["road_diesel", "road_nev", "rail", "onsite"]
    assert m["rail"].tolist() == [False, False, True, False]
    assert m["new_energy"].tolist() == [False, True, False, False]
    assert m["onsite"].tolist() == [False, False, False, True]
    # co-located use pays handling only, less than a truck's loading alone
    assert m.loc["onsite", "cost_per_tkm"] == 0
    assert m.loc["onsite", "cost_fixed"] < m.loc["road_diesel", "cost_fixed"]
    assert m.loc["rail", "cost_per_tkm"] < m.loc["road_diesel", "cost_per_tkm"]
    assert m["co2_per_tkm"].is_monotonic_decreasing
    keys = next(c for c in schema.columns("policy") if c.name == "key").choices
    pol = t["policy"].set_index("key")["value"]
    assert set(pol.index) == set(keys)
    assert pol["carbon_price"] == 0 and pol["objective"] == 0 and pol["discount_rate"] == 0.06


def test_hazardous_and_environmental_tax(t) -> None:
    m = t["materials"].set_index("code")
    assert m.loc[m["hazardous"]].index.tolist() == ["hazardous_waste"]
    assert m.loc["hazardous_waste", "env_tax"] == 1000 and m.loc["hazardous_waste", "hw_code"] != ""
    assert m.loc[["coal_gangue", "tailings", "fly_ash"], "env_tax"].tolist() == [5, 15, 25]
    assert (m.loc[m["kind"].isin(["product", "recycled_resource"]), "env_tax"] == 0).all()
    assert (m.loc[m["kind"] == "product", "co2_virgin"] > 0).all()
    assert (m.loc[m["kind"] != "product", "co2_virgin"] == 0).all()
    s = m.loc[m["s_code"] != "", "s_code"]
    assert s.str.fullmatch(r"S(0[1-79]|[1-5]\d)").all(), s.tolist()


def test_scenario_accepts_the_catalog() -> None:
    scenario_mod = pytest.importorskip("resynergy.scenario")
    s = scenario_mod.Scenario.from_tables({}, name="catalog-only")
    for name in schema.REFERENCE_TABLES:
        pd.testing.assert_frame_equal(s.table(name), catalog.table(name), check_dtype=False)


def test_retired_batteries_may_not_be_disposed_of(t) -> None:
    m = t["materials"].set_index("code")
    assert m.loc[~m["disposal_allowed"]].index.tolist() == ["retired_batteries"]
    # a material that may not be disposed of needs a utilization route in the catalog
    pio = t["process_io"]
    for code in m.index[~m["disposal_allowed"]]:
        assert ((pio["material"] == code) & (pio["direction"] == "in")).any()
