"""Retired traction batteries in the built-in dataset (issue 15): one definition of the region's
retired batteries (the NEV retirement forecast of resynergy.batteries), real firms of MIIT's
新能源汽车废旧动力蓄电池综合利用行业规范条件 list with their sources, and plants and markets sized
from the same tonnage."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from tests.support.dataset import load_build_script

from resynergy import catalog
from resynergy.batteries import forecast
from resynergy.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "scripts" / "dataset"
BATTERY_PROCESSES = {"battery_cascade", "battery_recycling"}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.from_builtin("jjj-2022")


@pytest.fixture(scope="module")
def central() -> pd.Series:
    """The forecast's retired batteries (t) by province and year: its central run."""
    f = forecast.run(to=2022, draws=0)
    return f.table.groupby(["province", "year"])["retired_t"].sum()


def _rows(name: str) -> list[dict[str, str]]:
    with (INPUTS / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _build_module():
    return load_build_script("build_dataset_batteries")


def test_the_datasets_retired_batteries_are_the_forecasts(scenario, central):
    """One definition: each province's retired-battery supply in each year is the forecast's figure
    (rows are rounded to 1 t, so a province of n cities may differ by n/2 t)."""
    sup = scenario.table("supplies")
    bat = sup[sup["material"] == forecast.MATERIAL]
    prov = bat["site"].map(scenario.site_province())
    got = bat.groupby([prov, bat["year"]])["generation_t"].sum()
    cities = bat.groupby(prov)["site"].nunique()
    assert set(got.index) == {(p, y) for p in forecast.province_shares().index for y in scenario.years}
    for (p, y), value in got.items():
        assert value == pytest.approx(central[(p, y)], abs=cities[p] / 2 + 1e-6), (p, y)
    assert (bat["source"].str.contains(r"\[bat-forecast\]")).all()
    # the old definition (0.2 % of ~118 Mt of recycled resources) gave ~0.24 Mt a year
    assert got.groupby(level=1).sum().max() < 50e3


def test_every_listed_battery_plant_has_an_operator_and_a_documented_source(scenario):
    sources = {r["key"]: r for name in ("sources-battery.csv",) for r in _rows(name)}
    assert all(r["confidence"] in {"V", "P", "U"} and r["title"] and r["publisher"] for r in sources.values())
    plants = _rows("plants-batteries.csv")
    assert len(plants) >= 5
    sites = scenario.table("sites").set_index("id")
    fac = scenario.table("facilities")
    for r in plants:
        assert r["operator"].strip() and r["process"] in BATTERY_PROCESSES, r["id"]
        keys = re.findall(r"\[([a-z][a-z0-9.-]+)\]", r["source"])
        assert keys and set(keys) <= set(sources), (r["id"], keys)
        if r["lat"]:  # placed: the dataset has its site, named for its operator, and its facility
            assert sites.loc[r["id"], "operator"] == r["operator"]
            assert r["operator"] in sites.loc[r["id"], "name_zh"]
            f = fac[fac["site"] == r["id"]]
            assert list(f["process"]) == [r["process"]] and not f["candidate"].any()
            assert f["capacity_t"].iloc[0] == float(r["capacity_t"])
    # every battery site of the dataset has a source, and one without an operator is a plan
    # site or a candidate, said so in its source
    bsites = fac[fac["process"].isin(BATTERY_PROCESSES)]["site"].unique()
    for sid in bsites:
        s = sites.loc[sid]
        assert s["source"].strip(), sid
        assert (isinstance(s["operator"], str) and s["operator"].strip()) or re.search(
            r"\[(plan|battery-candidates)\]", s["source"]), sid


def test_battery_plants_and_markets_are_sized_from_the_same_tonnage(scenario, central):
    fac = scenario.table("facilities")
    fac = fac[fac["process"].isin(BATTERY_PROCESSES)]
    io = catalog.table("process_io")
    dem = scenario.table("demands")
    for y in scenario.years:
        region = central.xs(y, level="year").sum()
        usable = fac[fac["year"] <= y]["capacity_t"].sum()
        assert usable >= region, y  # nothing need be disposed of (disposal is not allowed)
        for product, process in (("battery_salts", "battery_recycling"), ("battery_modules", "battery_cascade")):
            rate = io[(io["process"] == process) & (io["material"] == product)]["rate"].iloc[0]
            q = dem[(dem["material"] == product) & (dem["year"] == y)]["quantity_t"].sum()
            assert q == pytest.approx(rate * region, abs=2), (product, y)
    last = max(scenario.years)
    assert fac[fac["year"] <= last]["capacity_t"].sum() <= 3 * central.xs(last, level="year").sum()


def test_the_forecasts_inputs_match_the_sourced_statistics():
    """NEV sales and stock by province (statistics-batteries.csv, thousand vehicles) against the
    forecast's inputs, within each row's tolerance: sales directly; a stock against the sales
    since the first cohort (few of them have retired yet). Beijing's stock was 43 % above the
    sales its constant share gave, before the early years got their own share."""
    sales = forecast.sales_by_province(2022).set_index(["province", "year"])["vehicles"]
    checked = 0
    for r in _rows("statistics-batteries.csv"):
        assert r["item"] in {"nev_sales", "nev_stock"} and r["unit"] == "thousand vehicles"
        assert r["source"] in {s["key"] for s in _rows("sources-battery.csv")}
        if not r["tolerance"]:
            continue
        p, y = r["region"], int(r["year"])
        got = sales[(p, y)] if r["item"] == "nev_sales" else sales.loc[p].loc[forecast.FIRST_COHORT:y].sum()
        assert got / 1e3 == pytest.approx(float(r["value"]), rel=float(r["tolerance"])), r
        checked += 1
    assert checked >= 3


def test_a_provinces_yearly_shares_are_sourced_and_used():
    years = forecast.share_years()
    assert (years["source"].str.len() > 10).all() and years["tag"].isin(list("VSPU")).all()
    assert (years["from_year"] <= years["to_year"]).all() and years["share"].between(0, 1).all()
    sales = forecast.sales_by_province(2022)
    nat = forecast.national()
    for r in years.itertuples():
        for y in range(r.from_year, r.to_year + 1):
            row = sales[(sales["province"] == r.province) & (sales["year"] == y)].iloc[0]
            assert row["vehicles"] == pytest.approx(nat.loc[y, "domestic_m"] * 1e6 * r.share)
            assert f"{r.share:.3f}" in row["how"]
    after = sales[(sales["province"] == "110000") & (sales["year"] == 2022)].iloc[0]
    assert after["vehicles"] == pytest.approx(nat.loc[2022, "domestic_m"] * 1e6 * forecast.province_shares().loc["110000", "share"])


def test_a_bad_plant_row_is_refused_with_its_file_row_and_column(tmp_path, monkeypatch):
    module = _build_module()
    rows = _rows("plants-batteries.csv")
    rows[1]["process"] = "battery_magic"
    path = tmp_path / "plants-batteries.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    monkeypatch.setattr(module, "BATTERY_PLANTS", path)
    with pytest.raises(ValueError, match=r"plants-batteries\.csv, row 3, column process: 'battery_magic'"):
        module.add_battery_plants({}, [])
    rows[1]["process"], rows[2]["capacity_t"] = "battery_cascade", ""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(ValueError, match=r"row 4, column capacity_t"):
        module.add_battery_plants({}, [])
