"""The findings of a plan: indicator values, target attainment, totals and largest flows.

One :class:`PlanFindings` (made by :func:`findings`) feeds the terminal summary,
``report.html``, ``plan.xlsx``, ``plan.json`` and a platform run's stored results, so that every
output shows the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from resynergy.indicators import INDICATORS, attainment, evaluate_plan
from resynergy.indicators.evaluate import LEVELS
from resynergy.monitor import Monitor, monitor
from resynergy.network.arcs import onsite_modes
from resynergy.planner.results import split_costs
from resynergy.report.labels import Names
from resynergy.schema import outputs
from resynergy.states import TargetStatus

HEADLINE = ("isw_utilized", "recycled_resources", "co_utilization", "aggregate_capacity",
            "high_value_capacity_added", "output_value", "rail_share", "co2", "co2_avoided",
            "disposal", "stock_drawn")
T = TypeVar("T")


@dataclass
class PlanFindings:
    """A plan and everything the outputs say about it."""

    plan: Any
    scenario: Any
    names: Names
    values: pd.DataFrame  # indicator values (evaluate_all columns)
    targets: pd.DataFrame  # attainment per target (+ shadow_price when the planner gave one)
    monitor: Monitor
    totals: dict[str, float] = field(default_factory=dict)
    # parts computed once and shared by the outputs (e.g. the map's and Sankey's sums, the same
    # in zh and en): :meth:`once`
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def once(self, key: Any, make: Callable[[], T]) -> T:
        """``make()``, computed on the first call with ``key`` and reused after: for the parts
        of the outputs that do not depend on the language (the plan is not changed once its
        findings are made)."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

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
        y = self.years[-1] if year is None else year
        return float(self.value_at().get((iid, region, material, y), math.nan))

    def value_at(self) -> dict[tuple[str, str, str, int], float]:
        """Every value by (indicator, region, material, year), the first row of each (made
        once per findings; :meth:`indicator` reads it)."""
        def make() -> dict[tuple[str, str, str, int], float]:
            v = self.values.drop_duplicates(["indicator", "region", "material", "year"])
            return dict(zip(zip(v["indicator"], v["region"], v["material"], v["year"],
                                strict=True), v["value"].astype(float), strict=True))
        return self.once("value_at", make)

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

    def transport_flows(self) -> pd.DataFrame:
        """The plan's flows without co-located use (modes with ``onsite``): what is transported."""
        return transport_flows(self.plan.flows, self.scenario)

    def journeys(self) -> pd.DataFrame:
        """The transport flows with each intermodal route folded into one row (origin, final
        destination), made once per findings."""
        return self.once("journeys", lambda: _journeys(self.transport_flows())).copy(deep=False)

    def largest_flows(self, n: int = 10, lang: str = "zh") -> pd.DataFrame:
        """The n largest transport flows of the last year by tonnes (co-located use left out),
        intermodal routes folded into one origin→destination row."""
        f = self.journeys()
        if len(f):
            f = f[f["year"] == f["year"].max()]
        f = f.sort_values("t", ascending=False).head(n).copy()
        f["from_name"] = self.names.series("site", f["from_site"], lang)
        f["to_name"] = self.names.series("site", f["to_site"], lang)
        f["material_name"] = self.names.series("material", f["material"], lang)
        return f.reset_index(drop=True)

    def shortages(self, lang: str = "zh") -> pd.DataFrame:
        """Demand met by neither recycled nor virgin supply, largest first, with site and
        material names: the plan's ``shortages`` rows with ``shortage_t`` > 0."""
        d = _frame(getattr(self.plan, "shortages", None))
        if d.empty or "shortage_t" not in d:
            return pd.DataFrame(columns=SHORTAGE_COLUMNS)
        d = d[d["shortage_t"] > SHORTAGE_TOL].copy()
        d["site_name"] = self.names.series("site", d["site"], lang)
        d["material_name"] = self.names.series("material", d["material"], lang)
        d = d.sort_values(["shortage_t", "year", "site"], ascending=[False, True, True])
        return d[SHORTAGE_COLUMNS].reset_index(drop=True)

    def shortage_totals(self) -> dict[str, Any]:
        """Shortage tonnes in total, by year and by demand site (names in zh and en)."""
        d = self.shortages()
        by_year = d.groupby("year")["shortage_t"].sum()
        by_site = d.groupby("site")["shortage_t"].sum().sort_values(ascending=False)
        return {
            "shortage_t": float(d["shortage_t"].sum()),
            "by_year": [{"year": int(y), "shortage_t": float(v)} for y, v in by_year.items()],
            "by_site": [{"site": str(k), "name_zh": self.names("site", k, "zh"),
                         "name_en": self.names("site", k, "en"), "shortage_t": float(v)}
                        for k, v in by_site.items()],
        }

    def corridors(self, lang: str = "zh") -> pd.DataFrame:
        """The plan's ``corridor_shares`` with a readable corridor name (from → to · material)."""
        c = _frame(getattr(self.plan, "corridor_shares", None))
        if c.empty or "corridor" not in c:
            return pd.DataFrame(columns=["corridor_name", *CORRIDOR_COLUMNS])
        c = c.copy()
        c["corridor_name"] = c["corridor"].map(lambda k: self.corridor_name(k, lang))
        return c[["corridor_name", *CORRIDOR_COLUMNS]].sort_values(
            ["corridor", "year"]).reset_index(drop=True)

    def corridor_name(self, cid: str, lang: str = "zh") -> str:
        table = self.scenario.table("corridors")
        hit = table[table["id"].astype(str) == str(cid)]
        if hit.empty:
            return str(cid)
        r = hit.iloc[0]
        name = f"{self.names('region', r['from_region'], lang)} → {self.names('region', r['to_region'], lang)}"
        mat = r.get("material")
        if isinstance(mat, str) and mat:
            name += " · " + self.names("material", mat, lang)
        return name

    def failing(self) -> pd.DataFrame:
        """Targets not met, with the planner's diagnosis for each when there is one."""
        unmet = ~self.targets["status"].isin([TargetStatus.MET, TargetStatus.REPORTED])
        t = self.targets[unmet].copy()
        d = _frame(getattr(self.plan, "diagnosis", None))
        if len(d):
            by = d.groupby("subject")
            t["why_zh"] = t["id"].map(by["message_zh"].agg("；".join)).fillna("")
            t["why_en"] = t["id"].map(by["message_en"].agg("; ".join)).fillna("")
        else:
            t["why_zh"] = t["why_en"] = ""
        return t


SHORTAGE_TOL = 1e-6  # t; below this a shortage row is solver noise
# the plan's tables as declared (schema/output_tables.csv), shortages with names in one language
SHORTAGE_COLUMNS = [*outputs.column_names("shortages"), "site_name", "material_name"]
CORRIDOR_COLUMNS = outputs.column_names("corridor_shares")


def transport_flows(flows: pd.DataFrame, scenario: Any) -> pd.DataFrame:
    """Flows by a transport mode: co-located use (modes flagged ``onsite``) is not transport."""
    modes = scenario.table("modes")
    onsite = set(onsite_modes(modes.set_index("id"))) if "id" in modes else set()
    if not onsite or "mode" not in flows:
        return flows
    return flows[~flows["mode"].isin(onsite)]


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
    """Attainment from the indicator values, with the planner's shadow prices added, in the
    declared order of the ``targets`` table."""
    targets = scenario.table("targets")
    a = attainment(targets, values, complete=True)
    pt = _frame(getattr(plan, "targets", None))
    if len(pt) and "shadow_price" in pt:
        a["shadow_price"] = a["id"].map(pt.set_index("id")["shadow_price"])
    else:
        a["shadow_price"] = np.nan
    return outputs.table("targets").arrange(a)


def findings(plan: Any, scenario: Any) -> PlanFindings:
    """Evaluate every indicator on the plan and compare with the scenario's targets."""
    # Every level a target may be scoped to (schema: province or prefecture).
    values = evaluate_plan(plan, scenario, levels=LEVELS)
    targets = _plan_targets(plan, scenario, values)
    mon = monitor(scenario.table("targets"), values, source="plan", complete=True)
    flows = transport_flows(plan.flows, scenario)
    onsite = plan.flows.drop(flows.index) if len(plan.flows) else plan.flows
    costs, emissions = _frame(plan.costs), _frame(plan.emissions)
    own, apart = split_costs(costs)
    totals = {
        "objective_yuan": float(getattr(plan, "objective", math.nan)),
        "cost_yuan": float(own["yuan"].sum()) if len(costs) else math.nan,
        **{f"{c}_yuan": float(y) for c, y in zip(apart["component"], apart["yuan"], strict=True)},
        "co2_kg": float(emissions["kg"].sum()) if len(emissions) else math.nan,
        # transported tonnes (co-located use apart), intermodal routes counted once
        "flows_t": float(_journeys(flows)["t"].sum()) if len(flows) else 0.0,
        "onsite_t": float(onsite["t"].sum()) if len(onsite) else 0.0,
        "tkm": float(flows["tkm"].sum()) if "tkm" in flows else 0.0,
    }
    s = PlanFindings(plan=plan, scenario=scenario, names=Names(scenario), values=values,
                    targets=targets, monitor=mon, totals=totals)
    s.totals["shortage_t"] = s.shortage_totals()["shortage_t"]  # the one sum every output shows
    return s


def indicator_name(iid: str, lang: str) -> str:
    return INDICATORS[iid].name(lang) if iid in INDICATORS else iid
