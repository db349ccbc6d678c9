"""The built-in dataset matches the statistics it cites (#15 items 1, 3 and 5).

Every row of scripts/dataset/statistics.csv with a tolerance is a check: the built-in
generation of ISW (in total, or of one material) and the existing utilization capacity of a
province and year must lie within that relative tolerance of the published figure. A figure
moved beyond its tolerance (in the statistics or in the data) fails here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from tests.support.dataset import load_build_script

from resynergy import catalog, datasets
from resynergy.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
STATISTICS = ROOT / "scripts" / "dataset" / "statistics.csv"
PREFECTURE = ROOT / "scripts" / "dataset" / "statistics-prefecture.csv"  # statspref's, optional
YEARS = (2020, 2021, 2022)
COLUMNS = ["region", "year", "item", "value", "unit", "tolerance", "source", "confidence", "note"]


def read_statistics(path: Path = STATISTICS) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"region": str, "source": str, "note": str}, keep_default_na=False,
                       na_values={"tolerance": [""]})


def build_module():
    return load_build_script("build_dataset_stats")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.from_builtin("jjj-2022")


def built_figures(supplies: pd.DataFrame, sites: pd.DataFrame, facilities: pd.DataFrame
                  ) -> dict[tuple[str, int, str], float]:
    """Mt by (region, year, item) as the statistics name them: isw_generated, isw_<material>
    (generation) and isw_utilized (ISW intake capacity of the existing facilities operating that
    year), for provinces and prefectures."""
    kinds = catalog.table("materials").set_index("code")["kind"]
    io = catalog.table("process_io")
    region = sites.set_index("id")["region"].astype(str)
    out: dict[tuple[str, int, str], float] = {}

    def add(codes: pd.Series, years: pd.Series, item: pd.Series, t: pd.Series) -> None:
        frame = pd.DataFrame({"code": codes.to_numpy(), "year": years.to_numpy(),
                              "item": item.to_numpy(), "t": t.to_numpy()})
        for (code, year, it), v in frame.groupby(["code", "year", "item"])["t"].sum().items():
            out[(code, int(year), it)] = out.get((code, int(year), it), 0.0) + v / 1e6

    isw = supplies[supplies["material"].map(kinds) == "industrial_waste"]
    pref = isw["site"].map(region)
    for rows in (isw, isw[pref != pref.str[:2] + "0000"]):  # prefectures, then provinces once
        codes = pref[rows.index] if rows is isw else pref[rows.index].str[:2] + "0000"
        add(codes, rows["year"], pd.Series("isw_generated", index=rows.index), rows["generation_t"])
        add(codes, rows["year"], "isw_" + rows["material"], rows["generation_t"])
    ins = io[(io["direction"] == "in") & (io["material"].map(kinds) == "industrial_waste")]
    fac = facilities[~facilities["candidate"].astype(bool)].merge(ins, on="process")
    fac["t"] = fac["capacity_t"] * fac["rate"]
    years = sorted(supplies["year"].unique())
    for year in years:
        f = fac[fac["year"] <= year]
        code = f["site"].map(region)
        for rows in (f, f[code != code.str[:2] + "0000"]):  # prefectures, then provinces once
            codes = code[rows.index] if rows is f else code[rows.index].str[:2] + "0000"
            add(codes, pd.Series(year, index=rows.index), pd.Series("isw_utilized", index=rows.index), rows["t"])
    return out


def checked(stats: pd.DataFrame, prefecture: bool = False) -> pd.DataFrame:
    """The rows that are checks: a tolerance, a year of the dataset; for prefectures only the
    generation items (utilization is calibrated per province, not per prefecture)."""
    rows = stats.dropna(subset=["tolerance"])
    rows = rows[rows["year"].isin(YEARS)]
    if prefecture:
        rows = rows[(rows["item"] == "isw_generated") | rows["item"].isin("isw_" + catalog.table("materials")["code"])]
    return rows


def mismatches(stats: pd.DataFrame, built: dict[tuple[str, int, str], float]) -> list[str]:
    """Rows with a tolerance whose built-in figure lies outside it."""
    bad = []
    for r in stats.dropna(subset=["tolerance"]).itertuples():
        got = built.get((r.region, int(r.year), r.item), 0.0)
        if abs(got - r.value) > r.tolerance * r.value:
            bad.append(f"{r.region} {r.year} {r.item}: built {got:.3f} Mt, published {r.value} Mt "
                       f"± {r.tolerance:.1%} [{r.source}]")
    return bad


@pytest.fixture(scope="module")
def built(scenario) -> dict[tuple[str, int, str], float]:
    return built_figures(scenario.table("supplies"), scenario.table("sites"), scenario.table("facilities"))


def test_statistics_file_has_the_agreed_columns_and_checks():
    stats = read_statistics()
    assert list(stats.columns) == COLUMNS
    checked = stats.dropna(subset=["tolerance"])
    assert set(checked["item"]) >= {"isw_generated", "isw_utilized"}
    assert {"120000", "130000", "140000", "150000"} <= set(checked.loc[checked["item"] == "isw_generated", "region"])
    assert set(stats["confidence"]) <= {"V", "P", "U"}


def test_built_in_totals_match_every_checked_statistic(built):
    assert mismatches(checked(read_statistics()), built) == []
    if PREFECTURE.exists():
        assert mismatches(checked(read_statistics(PREFECTURE), prefecture=True), built) == []


def test_a_figure_moved_beyond_its_tolerance_fails(built):
    stats = checked(read_statistics()).reset_index(drop=True)
    for i in range(len(stats)):
        moved = stats.copy()
        moved.loc[i, "value"] = stats.loc[i, "value"] * (1 + 2 * stats.loc[i, "tolerance"] + 0.01)
        assert len(mismatches(moved, built)) == 1, stats.loc[i].to_dict()


def test_capacity_follows_utilization_after_2020(built):
    """Existing capacity does not freeze at 2020: where generation grows, utilization capacity
    of 2022 grows with it (Beijing's utilizers already hold more than its own use)."""
    for prov in ("120000", "130000", "140000", "150000", "370000", "410000"):
        gen = built[(prov, 2022, "isw_generated")] / built[(prov, 2020, "isw_generated")]
        cap = built[(prov, 2022, "isw_utilized")] / built[(prov, 2020, "isw_utilized")]
        assert gen > 1.0 and cap > 1.0 + 0.5 * (gen - 1.0), prov


def test_a_prefecture_statistic_replaces_its_weight(tmp_path, monkeypatch):
    """statistics-prefecture.csv (statspref): a prefecture's published figure of a material is
    kept exactly in place of the weight split; the province total stays the published one."""
    module = build_module()
    path = tmp_path / "statistics-prefecture.csv"
    path.write_text(",".join(COLUMNS) + "\n130400,2021,isw_bf_slag,12.5,Mt,0.01,sp-test-key,V,test\n",
                    encoding="utf-8")
    monkeypatch.setattr(module, "STATISTICS_PREFECTURE", path)
    tables = module.build()
    sites = pd.DataFrame(tables["sites"])
    supplies = pd.DataFrame(tables["supplies"])
    got = built_figures(supplies, sites, pd.DataFrame(tables["facilities"]).astype({"candidate": str})
                        .assign(candidate=lambda f: f["candidate"] == "true"))
    assert got[("130400", 2021, "isw_bf_slag")] == pytest.approx(12.5, rel=1e-6)
    assert got[("130000", 2021, "isw_generated")] == pytest.approx(
        module.province_isw("130000", 2021, module.read_statistics(module.STATISTICS))[0], rel=1e-6)
    handan = supplies[(supplies["year"] == 2021) & (supplies["material"] == "bf_slag")
                      & supplies["site"].str.startswith("G-130400-")]
    assert handan["source"].str.contains(r"\[sp-test-key\] \[V\] prefecture statistic").all()
    calibration = pd.DataFrame(tables["_calibration"])
    row = calibration[(calibration["scope"] == "130400") & (calibration["year"] == 2021)]
    assert row["quantity"].tolist() == [12.5e6] and row["source"].tolist() == ["sp-test-key"]


@pytest.mark.parametrize(("line", "column"), [
    ("130400,2021,isw_bf_slag,12.5,t,0.01,k,V,x", "unit"),
    ("139999,2021,isw_bf_slag,12.5,Mt,0.01,k,V,x", "region"),
    ("130400,2021,unobtainium,12.5,Mt,0.01,k,V,x", "item"),
    ("130400,2021,isw_bf_slag,-1,Mt,0.01,k,V,x", "value/tolerance"),
    ("130400,2021,isw_bf_slag,12.5,Mt,0.01,k,X,x", "confidence"),
    ("130400,2021,isw_bf_slag,12.5,Mt,0.01,k,V,a note, with a comma", "note"),
])
def test_a_bad_statistics_row_is_located(tmp_path, line, column):
    module = build_module()
    path = tmp_path / "statistics-prefecture.csv"
    path.write_text(",".join(COLUMNS) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"row 2, column {column}") as err:
        module.read_statistics(path)
    assert "第 2 行" in str(err.value)


def test_the_committed_dataset_does_not_depend_on_a_missing_prefecture_file(tmp_path, monkeypatch):
    """Without statistics-prefecture.csv the build still runs (statspref's file is optional)."""
    module = build_module()
    monkeypatch.setattr(module, "STATISTICS_PREFECTURE", tmp_path / "absent.csv")
    shutil.copy(datasets.path("jjj-2022") / "SOURCES.md", tmp_path / "SOURCES.md")
    tables = module.build()
    assert tables["supplies"]


def test_a_prefecture_total_is_met_and_the_province_keeps_its_total(tmp_path, monkeypatch):
    """A prefecture's published ISW generation of a model year is met by scaling its weight-split
    materials; the other prefectures give the difference, so the provincial total stays; the other
    years keep the prefecture's share; a combined item (isw_tailings_waste_rock) is read, not used."""
    module = build_module()
    path = tmp_path / "statistics-prefecture.csv"
    path.write_text(",".join(COLUMNS) + "\n370300,2022,isw_generated,19.762,Mt,0.05,sp-test-key,P,x\n"
                    "130800,2019,isw_tailings_waste_rock,150,Mt,,sp-test-key,P,y\n", encoding="utf-8")
    monkeypatch.setattr(module, "STATISTICS_PREFECTURE", path)
    tables = module.build()
    facilities = pd.DataFrame(tables["facilities"]).assign(candidate=lambda f: f["candidate"] == "true")
    got = built_figures(pd.DataFrame(tables["supplies"]), pd.DataFrame(tables["sites"]), facilities)
    stats = module.read_statistics(module.STATISTICS)
    assert got[("370300", 2022, "isw_generated")] == pytest.approx(19.762, rel=1e-4)
    for year in YEARS:
        assert got[("370000", year, "isw_generated")] == pytest.approx(
            module.province_isw("370000", year, stats)[0], rel=1e-5)
    share = {y: got[("370300", y, "isw_generated")] / got[("370000", y, "isw_generated")] for y in YEARS}
    assert share[2020] == pytest.approx(share[2022], rel=1e-3)
    calibration = pd.DataFrame(tables["_calibration"])
    assert ((calibration["scope"] == "370300") & (calibration["material"] == "")).sum() == 1


def test_a_row_derived_only_from_sourced_inputs_cites_no_estimate(scenario):
    """Tianjin's steel is one unit: its 2022 BF and steel slag = sourced crude steel × sourced
    factor, so those rows cite only P keys; its 2020 rows (crude steel of 2022 carried back by the
    provincial total) keep the [U] of that step."""
    sup = scenario.table("supplies")
    tianjin = sup[sup["site"].str.startswith("G-120000-steel") & sup["material"].isin(["bf_slag", "steel_slag"])]
    y2022 = tianjin[tianjin["year"] == 2022]["source"]
    assert len(y2022) == 2
    assert y2022.str.contains(r"\[sp-steel-2023\] \[P\]").all() and not y2022.str.contains(r"\[U\]|est-").any()
    assert tianjin[tianjin["year"] == 2020]["source"].str.contains(r"\[U\]").all()
