"""Retirement forecast: an inflow-driven dynamic stock model of traction batteries.

Inflow (t of battery) = NEV sales by province and year × energy per vehicle × chemistry share
× pack mass per kWh by chemistry; lifetimes are Weibull by chemistry; retired mass by province,
chemistry and year comes with uncertainty bands from a Monte Carlo over the parameter ranges
(``data/forecast_params.csv``), vectorised in numpy over draws, chemistries and cohorts.

Timing follows flodym's default (``inflow_at="middle"``): a cohort arrives mid-year, so the
share of cohort c that retires in year t is S(t − c − ½) − S(t − c + ½) (S(a) = 1 for a ≤ 0),
and the stock at the end of year t is inflow(c) · S(t − c + ½). Checked on known-answer
vectors in tests/test_batteries_forecast.py, and against flodym 1.1 (see the report of issue 14).

Input data: ``data/nev_national.csv`` (sales, installed GWh, LFP share by year),
``data/province_shares.csv`` (share of national domestic sales by province, constant) and
``data/province_share_years.csv`` (a province's share in the years figures show it differed,
e.g. Beijing's early cohorts); every row has
its source and V/S/U tag, and estimates say how they were made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from resynergy.batteries import data_rows

if TYPE_CHECKING:
    from resynergy.scenario import Scenario

CHEMISTRIES = ("LFP", "NCM")
MATERIAL = "retired_batteries"  # catalog material code of retired batteries in scenario supplies
FIRST_COHORT = 2015
QUANTILES = (0.05, 0.5, 0.95)


def _frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(data_rows(name))


@cache
def national() -> pd.DataFrame:
    f = _frame("nev_national.csv")
    for c in ("sales_m", "installed_gwh", "lfp_share", "domestic_m"):
        f[c] = f[c].astype(float)
    f["year"] = f["year"].astype(int)
    f["kwh_per_vehicle"] = f["installed_gwh"] / f["sales_m"]  # installed energy covers exported vehicles too
    return f.set_index("year")


@cache
def province_shares() -> pd.DataFrame:
    f = _frame("province_shares.csv")
    f["share"] = f["share"].astype(float)
    return f.set_index("province")


@cache
def share_years() -> pd.DataFrame:
    """Shares of national domestic sales for a province in a span of years where figures show it
    differed from its constant share (``data/province_share_years.csv``)."""
    f = _frame("province_share_years.csv")
    for c in ("from_year", "to_year"):
        f[c] = f[c].astype(int)
    f["share"] = f["share"].astype(float)
    return f


def share_in(province: str, year: int) -> pd.Series:
    """The share row that applies to ``province`` in ``year``: a year span of share_years() when
    one covers it, else the province's constant share (province_shares())."""
    y = share_years()
    hit = y[(y["province"] == province) & (y["from_year"] <= year) & (year <= y["to_year"])]
    return hit.iloc[0] if len(hit) else province_shares().loc[province]


@cache
def parameters() -> pd.DataFrame:
    f = _frame("forecast_params.csv")
    for c in ("central", "low", "high"):
        f[c] = f[c].astype(float)
    return f


def param(name: str, chemistry: str = "") -> pd.Series:
    p = parameters()
    return p[(p["parameter"] == name) & (p["chemistry"] == chemistry)].iloc[0]


def sales_by_province(to: int) -> pd.DataFrame:
    """NEV sales (vehicles) by province and year, FIRST_COHORT..``to``: national domestic sales ×
    province share; years after the data at the last year's level (growth: a forecast parameter)."""
    nat, shares = national(), province_shares()
    rows = []
    for p in shares.index:
        for y in range(FIRST_COHORT, to + 1):
            known = y in nat.index
            n = nat.loc[min(y, nat.index.max())]
            s = share_in(str(p), y)
            rows.append({"province": p, "year": y, "vehicles": n["domestic_m"] * 1e6 * s["share"],
                         "kwh_per_vehicle": n["kwh_per_vehicle"], "lfp_share": n["lfp_share"],
                         "tag": "U" if (n["tag"] == "U" or s["tag"] == "U" or not known) else "S",
                         "how": (f"national domestic {n['how']} ({int(n.name)}) × province share {s['share']:.3f} "
                                 f"({s['how']})" + ("" if known else f"; after {nat.index.max()}: held at its level × growth"))})
    return pd.DataFrame(rows)


# ---- the stock model --------------------------------------------------------------------------


def weibull_sf(shape: np.ndarray, scale: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Survival S(a) = exp(−(a/scale)^shape) for a > 0, 1 for a ≤ 0 (arrays broadcast)."""
    def sf(age: np.ndarray) -> np.ndarray:
        a = np.maximum(age, 0.0)
        return np.exp(-np.power(a / scale, shape))
    return sf


def fixed_sf(lifetime: float) -> Callable[[np.ndarray], np.ndarray]:
    """Every unit lives exactly ``lifetime`` years."""
    def sf(age: np.ndarray) -> np.ndarray:
        return (np.asarray(age) < lifetime).astype(float)
    return sf


def retirement_matrix(years: Sequence[int], sf: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """M[..., t, c]: share of cohort c (arriving mid-year) that retires during year t."""
    y = np.asarray(years, dtype=float)
    age = y[:, None] - y[None, :]  # t − c
    out = sf(age - 0.5) - sf(age + 0.5)
    return np.where(age >= 0, out, 0.0)


def survival_matrix(years: Sequence[int], sf: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """S[..., t, c]: share of cohort c still in use at the end of year t."""
    y = np.asarray(years, dtype=float)
    age = y[:, None] - y[None, :]
    return np.where(age >= 0, sf(age + 0.5), 0.0)


@dataclass(frozen=True)
class StockResult:
    years: tuple[int, ...]
    inflow: np.ndarray  # (..., year)
    outflow: np.ndarray  # (..., year)
    stock: np.ndarray  # (..., year), end of year


def inflow_driven(inflow: np.ndarray, years: Sequence[int], sf: Callable[[np.ndarray], np.ndarray]) -> StockResult:
    """Outflow and stock of an inflow-driven model; ``inflow`` is (..., year) and ``sf`` maps ages
    (shaped (..., t, c) after broadcasting with its parameters) to survival."""
    m = retirement_matrix(years, sf)
    s = survival_matrix(years, sf)
    out = np.einsum("...tc,...c->...t", m, inflow)
    stock = np.einsum("...tc,...c->...t", s, inflow)
    return StockResult(tuple(years), inflow, out, stock)


# ---- the forecast -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    """Retired mass (t) by province, chemistry and year: central run and Monte Carlo quantiles."""

    table: pd.DataFrame  # province, chemistry, year, inflow_t, retired_t, stock_t, p05_t, p50_t, p95_t
    draws: int
    seed: int

    def totals(self) -> pd.DataFrame:
        """Regional totals by year (central and bands; band sums are of quantiles, not exact)."""
        cols = ["inflow_t", "retired_t", "stock_t", "p05_t", "p50_t", "p95_t"]
        return self.table.groupby("year", as_index=False)[cols].sum()

    def national_equivalent(self) -> pd.Series:
        """Central retired mass (t) by year scaled from the region to the country by the
        provinces' summed sales share: a check against national figures (MIIT: > 400 kt of
        waste traction batteries utilised in 2025; > 1 Mt a year generated by 2030)."""
        share = float(province_shares().loc[self.table["province"].unique(), "share"].sum())
        return self.totals().set_index("year")["retired_t"] / share

    def summary(self, lang: str = "zh", years: Sequence[int] = ()) -> list[str]:
        """Plain sentences for officials: the wave's size in a few years, where, and how sure."""
        t = self.totals().set_index("year")
        years = [y for y in (years or (2025, 2030, self.table["year"].max())) if y in t.index]
        by_p = self.table[self.table["year"] == years[-1]].groupby("province")["retired_t"].sum().sort_values(ascending=False)
        names = province_shares()["name_zh" if lang == "zh" else "name_en"]
        top = "、".join(names[p] for p in by_p.index[:3]) if lang == "zh" else ", ".join(names[p] for p in by_p.index[:3])
        lines = []
        for y in years:
            r = t.loc[y]
            zh_band = f"（90% 区间 {r['p05_t'] / 1e3:,.0f}–{r['p95_t'] / 1e3:,.0f} 千吨）" if self.draws else "（未计算区间）"
            en_band = f" (90 % band {r['p05_t'] / 1e3:,.0f}–{r['p95_t'] / 1e3:,.0f} kt)" if self.draws else " (no band computed)"
            lines.append(f"{y} 年全区域退役动力电池约 {r['retired_t'] / 1e3:,.0f} 千吨{zh_band}" if lang == "zh" else
                         f"{y}: about {r['retired_t'] / 1e3:,.0f} kt of traction batteries retire in the region{en_band}")
        lines.append(f"{years[-1]} 年退役量最多的省份：{top}" if lang == "zh" else f"Most retired in {years[-1]}: {top}")
        lfp = self.table[(self.table["year"] == years[-1]) & (self.table["chemistry"] == "LFP")]["retired_t"].sum()
        share = lfp / max(t.loc[years[-1], "retired_t"], 1e-9)
        lines.append(f"其中磷酸铁锂约占 {share:.0%}（适合梯次利用和储能）；三元电池宜再生利用回收镍钴锰锂" if lang == "zh" else
                     f"LFP is about {share:.0%} of it (suited to second life in storage); NCM goes mainly to recycling for Ni, Co, Mn and Li")
        nat = self.national_equivalent()
        if 2025 in nat.index:
            lines.append(f"按全国口径折算，2025 年约 {nat[2025] / 1e3:,.0f} 千吨（工信部：2025 年综合利用废旧动力电池超过 400 千吨）"
                         if lang == "zh" else
                         f"Scaled to the country, 2025 is about {nat[2025] / 1e3:,.0f} kt (MIIT: over 400 kt of waste traction batteries utilised in 2025)")
        lines.append("数据：全国新能源汽车销量、装机量和磷酸铁锂占比有来源；分省占比和寿命参数多为估计（U），见 data/*.csv 的 source 与 tag 列"
                     if lang == "zh" else
                     "Data: national NEV sales, installed GWh and LFP share are sourced; provincial shares and lifetimes are mostly estimates (U): see the source and tag columns of data/*.csv")
        return lines


def _inflow_t(sales: pd.DataFrame, provinces: list[str], years: list[int], kg_per_kwh: np.ndarray,
              growth: np.ndarray) -> np.ndarray:
    """Inflow mass (draw, province, chemistry, year) in tonnes."""
    last = national().index.max()
    v = sales.pivot(index="province", columns="year", values="vehicles").loc[provinces, years].to_numpy()
    kwh = sales.groupby("year")["kwh_per_vehicle"].first().loc[years].to_numpy()
    lfp = sales.groupby("year")["lfp_share"].first().loc[years].to_numpy()
    chem = np.stack([lfp, 1 - lfp])  # (chemistry, year)
    after = np.maximum(np.asarray(years) - last, 0)  # years past the data
    grow = np.power(1.0 + growth[:, None], after[None, :])  # (draw, year)
    energy = v[None, :, None, :] * kwh * chem[None, None, :, :] * grow[:, None, None, :]  # kWh
    return energy * kg_per_kwh[:, None, :, None] / 1e3  # (draw, province, chemistry, year) t


def run(to: int = 2035, draws: int = 500, seed: int = 14) -> Forecast:
    """The forecast from FIRST_COHORT to ``to``: the central parameters, and ``draws`` Monte Carlo
    draws (triangular between low, central and high) for the 5/50/95 % bands."""
    if to < FIRST_COHORT:
        raise ValueError(f"--to should be at least {FIRST_COHORT}")
    years = list(range(FIRST_COHORT, to + 1))
    sales = sales_by_province(to)
    provinces = list(province_shares().index)
    rng = np.random.default_rng(seed)

    def sample(name: str, chemistry: str = "") -> np.ndarray:
        p = param(name, chemistry)
        central = np.array([p["central"]])
        if draws == 0:
            return central
        lo, hi = float(p["low"]), float(p["high"])
        return np.concatenate([central, rng.triangular(lo, float(p["central"]), hi, draws) if hi > lo else np.full(draws, lo)])

    shape = np.stack([sample("weibull_shape", c) for c in CHEMISTRIES], axis=1)  # (draw, chemistry)
    scale = np.stack([sample("weibull_scale", c) for c in CHEMISTRIES], axis=1)
    kg = np.stack([sample("kg_per_kwh", c) for c in CHEMISTRIES], axis=1)
    growth = sample("inflow_growth")
    inflow = _inflow_t(sales, provinces, years, kg, growth)  # (draw, province, chemistry, year)
    sf = weibull_sf(shape[:, None, :, None, None], scale[:, None, :, None, None])  # ages (t, c) last
    res = inflow_driven(inflow, years, sf)
    central = res.outflow[0]
    band = np.quantile(res.outflow[1:], QUANTILES, axis=0) if draws else np.stack([central] * 3)
    idx = pd.MultiIndex.from_product([provinces, list(CHEMISTRIES), years], names=["province", "chemistry", "year"])
    table = pd.DataFrame({"inflow_t": res.inflow[0].ravel(), "retired_t": central.ravel(), "stock_t": res.stock[0].ravel(),
                          "p05_t": band[0].ravel(), "p50_t": band[1].ravel(), "p95_t": band[2].ravel()},
                         index=idx).reset_index()
    return Forecast(table, draws, seed)


# ---- the planner's supplies -------------------------------------------------------------------


def supplies(forecast: Forecast, scenario_supplies: pd.DataFrame, site_province: pd.Series, years: Sequence[int],
             collection_rate: float = 1.0, column: str = "retired_t") -> pd.DataFrame:
    """Supply rows of retired batteries for ``years``: each province's forecast mass (× the
    collection rate) spread over the sites that already supply retired batteries in the
    scenario, in proportion to their generation in the latest year they have; disposal cost,
    stock and must_use are kept from that row. ValueError naming a province with forecast mass
    and no battery site, or a year the forecast lacks."""
    if not 0 < collection_rate <= 1:
        raise ValueError("collection_rate should be in (0, 1]")
    missing = sorted(set(years) - set(forecast.table["year"]))
    if missing:
        raise ValueError(f"the forecast does not cover years {missing} (run it with --to {max(missing)})")
    rows = scenario_supplies[scenario_supplies["material"] == MATERIAL]
    latest = rows[rows["year"] == rows.groupby("site")["year"].transform("max")].copy()
    latest["province"] = latest["site"].map(site_province)
    mass = forecast.table.groupby(["province", "year"])[column].sum()
    out = []
    for p in sorted(forecast.table["province"].unique()):
        sites = latest[latest["province"] == p]
        if sites.empty:
            if mass.loc[p].sum() > 0:
                raise ValueError(f"province {p} has forecast retired batteries but no site supplying {MATERIAL} in the scenario")
            continue
        total = float(sites["generation_t"].sum())
        weight = sites["generation_t"] / total if total > 0 else pd.Series(1 / len(sites), index=sites.index)
        for y in years:
            for (_, s), w in zip(sites.iterrows(), weight, strict=True):
                out.append({**{c: s[c] for c in scenario_supplies.columns}, "year": int(y),
                            "generation_t": round(float(mass.loc[(p, y)]) * collection_rate * float(w), 1),
                            "source": (f"resynergy.batteries.forecast ({column}, {forecast.draws} draws, seed {forecast.seed}; "
                                       f"inputs data/nev_national.csv, province_shares.csv, province_share_years.csv, forecast_params.csv [U]) × collection rate "
                                       f"{collection_rate:g} × site share {float(w):.3f} of {p} (from {int(s['year'])})")})
    return pd.DataFrame(out, columns=list(scenario_supplies.columns))


def replace_supplies(scenario_supplies: pd.DataFrame, new_rows: pd.DataFrame) -> pd.DataFrame:
    """The supplies table with its retired-battery rows of ``new_rows``' years replaced by them."""
    years = set(new_rows["year"])
    keep = ~((scenario_supplies["material"] == MATERIAL) & scenario_supplies["year"].isin(years))
    return pd.concat([scenario_supplies[keep], new_rows], ignore_index=True)


def mean_life(shape: float, scale: float) -> float:
    """Mean of a Weibull lifetime: scale · Γ(1 + 1/shape)."""
    return scale * math.gamma(1 + 1 / shape)


def apply_to_scenario(scenario: Scenario, forecast: Forecast, years: Sequence[int],
                      collection_rate: float = 1.0) -> Scenario:
    """A new, re-validated scenario whose retired-battery supplies for ``years`` come from the
    forecast (other materials and other years unchanged)."""
    old = scenario.table("supplies")
    rows = supplies(forecast, old, scenario.site_province(), years, collection_rate)
    return scenario.with_tables(supplies=replace_supplies(old, rows))
