"""What a plan amounts to: indicator values, target attainment, totals and largest flows.

One :class:`PlanSummary` feeds the terminal summary, ``report.html``, ``plan.xlsx`` and
``plan.json``, so that every output shows the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from resynergy.indicators import INDICATORS, attainment, evaluate_plan
from resynergy.indicators.evaluate import LEVELS, REPORTED
from resynergy.monitor import Monitor, monitor
from resynergy.planner.results import split_costs
from resynergy.report.labels import Names

HEADLINE = ("isw_utilized", "recycled_resources", "co_utilization", "aggregate_capacity",
            "high_value_capacity_added", "output_value", "rail_share", "co2", "co2_avoided",
            "disposal", "stock_drawn")


@dataclass
class PlanSummary:
    """A plan and everything the outputs say about it."""

    plan: Any
    scenario: Any
    names: Names
    values: pd.DataFrame  # indicator values (evaluate_all columns)
    targets: pd.DataFrame  # attainment per target (+ shadow_price when the planner gave one)
    monitor: Monitor
    totals: dict[str, float] = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.values["year"].unique())

    def period(self, lang: str = "zh") -> str:
        """The years that cost and emission totals cover, e.g. （2020–2022年合计）."""
        ys = self.years
        if not ys:
            return ""
        span = str(ys[0]) if len(ys) == 1 else f"{ys[0]}–{ys[-1]}"
        if lang == "zh":
            return f"（{span}年{'合计' if len(ys) > 1 else ''}）"
        return f" ({span}{' total' if len(ys) > 1 else ''})"

    def indicator(self, iid: str, year: int | None = None, region: str = "",
                  material: str = "") -> float:
        """One value (NaN when absent); year defaults to the last year."""
        v = self.values
        y = self.years[-1] if year is None else year
        hit = v[(v["indicator"] == iid) & (v["region"] == region) & (v["material"] == material)
                & (v["year"] == y)]
        return float(hit["value"].iloc[0]) if len(hit) else math.nan

    def headline(self) -> pd.DataFrame:
        """Whole-region values of the main indicators by year (indicator, year, value, unit)."""
        v = self.values
        v = v[(v["region"] == "") & (v["material"] == "") & v["indicator"].isin(HEADLINE)]
        order = {k: i for i, k in enumerate(HEADLINE)}
        return v.sort_values(["indicator", "year"], key=lambda s: s.map(order)
                             if s.name == "indicator" else s)[
            ["indicator", "year", "value", "unit"]].reset_index(drop=True)

    def by_province(self, year: int | None = None) -> pd.DataFrame:
        """Every indicator by province (all materials): indicator, province, name_zh, name_en,
        year, value, unit; one year, or every year when ``year`` is None."""
        v = self.values
        if "level" in v:
            v = v[v["level"] == "province"]
        else:
            v = v[v["region"].isin(self.scenario.table("regions").query("level == 'province'")["code"])]
        v = v[v["material"] == ""]
        if year is not None:
            v = v[v["year"] == year]
        order = {k: i for i, k in enumerate(INDICATORS)}
        out = v.rename(columns={"region": "province"}).assign(
            name_zh=lambda d: self.names.series("region", d["province"], "zh"),
            name_en=lambda d: self.names.series("region", d["province"], "en"))
        out = out.sort_values(["indicator", "year", "province"],
                              key=lambda s: s.map(order) if s.name == "indicator" else s)
        return out[["indicator", "province", "name_zh", "name_en", "year", "value", "unit"]
                   ].reset_index(drop=True)

    def largest_flows(self, n: int = 10, lang: str = "zh") -> pd.DataFrame:
        """The n largest flows of the last year by tonnes, intermodal routes folded into one
        origin→destination row."""
        f = _journeys(self.plan.flows)
        if len(f):
            f = f[f["year"] == f["year"].max()]
        f = f.sort_values("t", ascending=False).head(n).copy()
        f["from_name"] = self.names.series("site", f["from_site"], lang)
        f["to_name"] = self.names.series("site", f["to_site"], lang)
        f["material_name"] = self.names.series("material", f["material"], lang)
        return f.reset_index(drop=True)

    def failing(self) -> pd.DataFrame:
        """Targets not met, with the planner's diagnosis for each when there is one."""
        t = self.targets[~self.targets["status"].isin(["met", REPORTED])].copy()
        d = _frame(getattr(self.plan, "diagnosis", None))
        if len(d):
            by = d.groupby("subject")
            t["why_zh"] = t["id"].map(by["message_zh"].agg("；".join)).fillna("")
            t["why_en"] = t["id"].map(by["message_en"].agg("; ".join)).fillna("")
        else:
            t["why_zh"] = t["why_en"] = ""
        return t


def _frame(df: Any) -> pd.DataFrame:
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def _journeys(flows: pd.DataFrame) -> pd.DataFrame:
    """Flows with each intermodal route folded into one row (origin, final destination)."""
    f = flows.copy()
    if "route" not in f:
        f["route"] = ""
    f["route"] = f["route"].fillna("").astype(str)
    direct = f[f["route"] == ""]
    routed = f[f["route"] != ""]
    cols = ["year", "from_site", "to_site", "material", "mode", "t", "tkm", "cost_yuan", "co2_kg"]
    cols = [c for c in cols if c in f]
    if routed.empty:
        return direct[cols]
    g = routed.groupby(["year", "route", "material"])
    first = routed[routed["leg"] == "first_mile"].set_index(["year", "route", "material"])
    last = routed[routed["leg"] == "last_mile"].set_index(["year", "route", "material"])
    folded = pd.DataFrame({
        "from_site": first["from_site"], "to_site": last["to_site"],
        "t": g["t"].max(), "mode": "rail",
        **{c: g[c].sum() for c in ("tkm", "cost_yuan", "co2_kg") if c in f},
    }).dropna(subset=["from_site", "to_site"]).reset_index()
    return pd.concat([direct[cols], folded[cols]], ignore_index=True)


def _plan_targets(plan: Any, scenario: Any, values: pd.DataFrame) -> pd.DataFrame:
    """Attainment from the indicator values, with the planner's shadow prices added."""
    targets = scenario.table("targets")
    a = attainment(targets, values, complete=True)
    pt = _frame(getattr(plan, "targets", None))
    if len(pt) and "shadow_price" in pt:
        a["shadow_price"] = a["id"].map(pt.set_index("id")["shadow_price"])
    else:
        a["shadow_price"] = np.nan
    return a


def summarize(plan: Any, scenario: Any) -> PlanSummary:
    """Evaluate every indicator on the plan and compare with the scenario's targets."""
    # Every level a target may be scoped to (schema: province or prefecture).
    values = evaluate_plan(plan, scenario, levels=LEVELS)
    targets = _plan_targets(plan, scenario, values)
    mon = monitor(scenario.table("targets"), values, source="plan", complete=True)
    flows = plan.flows
    costs, emissions = _frame(plan.costs), _frame(plan.emissions)
    own, apart = split_costs(costs)
    totals = {
        "objective_yuan": float(getattr(plan, "objective", math.nan)),
        "cost_yuan": float(own["yuan"].sum()) if len(costs) else math.nan,
        **{f"{c}_yuan": float(y) for c, y in zip(apart["component"], apart["yuan"], strict=True)},
        "co2_kg": float(emissions["kg"].sum()) if len(emissions) else math.nan,
        "flows_t": float(_journeys(flows)["t"].sum()) if len(flows) else 0.0,
        "tkm": float(flows["tkm"].sum()) if "tkm" in flows else 0.0,
    }
    return PlanSummary(plan=plan, scenario=scenario, names=Names(scenario), values=values,
                       targets=targets, monitor=mon, totals=totals)


def indicator_name(iid: str, lang: str) -> str:
    return INDICATORS[iid].name(lang) if iid in INDICATORS else iid
