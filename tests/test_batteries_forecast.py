"""Retirement forecast: known-answer vectors of the stock model, the sourced inputs, the
Monte Carlo bands, and the supplies it writes for the planner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resynergy.batteries import forecast as fc

YEARS = list(range(2015, 2041))
# Installed GWh (notes §4.3; gaps filled), flat after 2025, and flodym 1.1.0's InflowDrivenDSM
# outflow for it with WeibullLifetime(shape 3.5, scale 9), inflow_at="middle" (run in a
# throw-away venv for issue 14; reproduced here to 1e-9).
GWH = np.array([16, 28.3, 36.4, 56.9, 62.4, 63.6, 154.5, 294.6, 387.7, 548.4, 769.7] + [769.7] * 15)
FLODYM_OUT = [0.000646632, 0.030709153, 0.203278726, 0.730482576, 1.926382581, 4.187339349, 7.884331817,
              13.38238617, 21.35817192, 33.066375322, 50.483806091, 76.579836402, 114.98620517,
              168.655369965, 238.483637186, 322.236612394, 414.279147687, 506.478855291, 590.160819786,
              658.444348205, 708.023393387, 739.635617706, 757.057255412, 765.206934527, 768.379733395,
              769.386492797]


def test_a_cohort_with_a_fixed_lifetime_retires_exactly_then():
    inflow = np.zeros(len(YEARS))
    inflow[3] = 100.0  # 2018
    res = fc.inflow_driven(inflow, YEARS, fc.fixed_sf(8))
    assert res.outflow[YEARS.index(2026)] == 100.0 and res.outflow.sum() == 100.0
    assert res.stock[YEARS.index(2025)] == 100.0 and res.stock[YEARS.index(2026)] == 0.0


def test_a_weibull_cohort_retires_all_of_its_inflow_in_the_long_run():
    years = list(range(2000, 2101))
    inflow = np.zeros(len(years))
    inflow[0] = 1000.0
    res = fc.inflow_driven(inflow, years, fc.weibull_sf(np.array(3.5), np.array(9.0)))
    assert res.outflow.sum() == pytest.approx(1000.0, rel=1e-9)
    assert res.stock[-1] == pytest.approx(0.0, abs=1e-9)
    mean_age = (np.arange(len(years)) * res.outflow).sum() / 1000.0  # ≈ the Weibull mean
    assert mean_age == pytest.approx(fc.mean_life(3.5, 9.0), abs=0.05)


def test_stock_plus_cumulative_outflow_is_cumulative_inflow():
    rng = np.random.default_rng(0)
    inflow = rng.uniform(0, 50, size=(3, 2, len(YEARS)))
    sf = fc.weibull_sf(rng.uniform(2.5, 4, size=(3, 2, 1, 1)), rng.uniform(8, 10.5, size=(3, 2, 1, 1)))
    res = fc.inflow_driven(inflow, YEARS, sf)
    assert np.allclose(res.stock + res.outflow.cumsum(-1), inflow.cumsum(-1))


def test_the_model_matches_flodym_on_a_known_vector():
    res = fc.inflow_driven(GWH, YEARS, fc.weibull_sf(np.array(3.5), np.array(9.0)))
    assert np.allclose(res.outflow, FLODYM_OUT, rtol=1e-8, atol=1e-8)


def test_every_input_row_has_a_source_and_a_tag():
    for frame in (fc.national().reset_index(), fc.province_shares().reset_index(), fc.parameters()):
        assert frame["source"].str.len().gt(10).all() and frame["tag"].isin(list("VSPU")).all()
    assert (fc.province_shares()["tag"] == "U").any() and fc.province_shares()["how"].str.len().gt(0).all()
    sales = fc.sales_by_province(2030)
    assert set(sales["year"]) == set(range(2015, 2031)) and len(fc.province_shares()) == 7
    later = sales[sales["year"] > fc.national().index.max()]
    assert (later["tag"] == "U").all() and later["how"].str.contains("held at its level").all()


def test_the_forecast_mass_balances_and_its_band_holds_the_central_run():
    f = fc.run(to=2035, draws=200, seed=1)
    t = f.table
    assert set(t["chemistry"]) == {"LFP", "NCM"} and t["year"].max() == 2035
    g = t.groupby(["province", "chemistry"])
    assert np.allclose(g["stock_t"].last() + g["retired_t"].sum(), g["inflow_t"].sum())
    assert (t["p05_t"] <= t["p95_t"] + 1e-9).all()
    tot = f.totals().set_index("year")
    assert tot.loc[2030, "p05_t"] < tot.loc[2030, "retired_t"] < tot.loc[2030, "p95_t"]
    assert tot["retired_t"].is_monotonic_increasing  # growing sales: a growing wave
    again = fc.run(to=2035, draws=200, seed=1).table
    pd.testing.assert_frame_equal(t, again)  # seeded: the same bands every run
    assert any("2030" in line for line in f.summary("zh")) and any("kt" in line for line in f.summary("en"))


def test_scaled_to_the_country_the_central_run_meets_miit_figures():
    nat = fc.run(to=2030, draws=0).national_equivalent()
    # MIIT, 16 Jan 2026: > 400 kt utilised in 2025 (facts.md §3.6; it includes production scrap
    # and is the formal channel, so generation may differ by a factor); > 1 Mt a year by 2030
    assert 200e3 < nat[2025] < 800e3
    assert nat[2030] > 1e6


def test_inflow_is_sales_times_energy_times_share_times_mass_per_kwh():
    f = fc.run(to=2024, draws=0)
    n, s = fc.national().loc[2022], fc.province_shares().loc["110000", "share"]
    lfp = f.table.query("province == '110000' and chemistry == 'LFP' and year == 2022")["inflow_t"].iloc[0]
    expected = n["domestic_m"] * 1e6 * s * n["installed_gwh"] / n["sales_m"] * n["lfp_share"] * 7.14 / 1e3
    assert lfp == pytest.approx(expected)


def test_supplies_spread_each_province_over_its_battery_sites():
    f = fc.run(to=2030, draws=0)
    existing = pd.DataFrame([
        {"site": "a", "material": "retired_batteries", "year": 2022, "generation_t": 300.0, "stock_t": 0.0,
         "stock_draw_max_t": 0.0, "disposal_cost": 500.0, "must_use": False, "source": "x"},
        {"site": "b", "material": "retired_batteries", "year": 2022, "generation_t": 100.0, "stock_t": 0.0,
         "stock_draw_max_t": 0.0, "disposal_cost": 500.0, "must_use": False, "source": "x"},
        {"site": "c", "material": "slag", "year": 2030, "generation_t": 5.0, "stock_t": 0.0,
         "stock_draw_max_t": 0.0, "disposal_cost": 40.0, "must_use": False, "source": "x"}])
    where = pd.Series({"a": "110000", "b": "110000", "c": "110000"})
    f1 = fc.Forecast(f.table[f.table["province"] == "110000"], f.draws, f.seed)
    rows = fc.supplies(f1, existing, where, [2030], collection_rate=0.5)
    beijing = f1.table.query("year == 2030")["retired_t"].sum()
    assert list(rows["site"]) == ["a", "b"] and (rows["year"] == 2030).all()
    assert rows["generation_t"].sum() == pytest.approx(beijing * 0.5, abs=0.2)
    assert rows.set_index("site").loc["a", "generation_t"] == pytest.approx(3 * rows.set_index("site").loc["b", "generation_t"], rel=1e-3)
    assert (rows["disposal_cost"] == 500.0).all() and rows["source"].str.contains("forecast").all()
    table = fc.replace_supplies(existing, rows)
    assert len(table) == 5 and (table["material"] == "slag").sum() == 1  # 2022 rows and other materials kept
    with pytest.raises(ValueError, match="no site supplying"):
        fc.supplies(f, existing, where, [2030])  # six provinces without a battery site
    with pytest.raises(ValueError, match="does not cover"):
        fc.supplies(f1, existing, where, [2031])


def test_the_built_in_scenario_takes_the_forecast_for_its_years():
    from resynergy.scenario import Scenario

    s = Scenario.from_builtin("jjj-2022")
    f = fc.run(to=2030, draws=0)
    new = fc.apply_to_scenario(s, f, [2022, 2030])
    sup = new.table("supplies")
    bat = sup[sup["material"] == "retired_batteries"]
    prov = bat["site"].map(new.site_province())
    for y in (2022, 2030):
        by_p = bat[bat["year"] == y].groupby(prov[bat["year"] == y])["generation_t"].sum()
        want = f.table[f.table["year"] == y].groupby("province")["retired_t"].sum()
        assert np.allclose(by_p.sort_index(), want.sort_index(), rtol=1e-3)
    old = s.table("supplies")
    others = old[old["material"] != "retired_batteries"]
    assert len(sup[sup["material"] != "retired_batteries"]) == len(others)
    assert 2030 in new.years and set(bat[bat["year"] == 2021]["generation_t"]) == set(
        old[(old["material"] == "retired_batteries") & (old["year"] == 2021)]["generation_t"])
