"""Province-first sections of the report (issue 10 items 1, 2, 5): each builder returns a
:class:`~resynergy.report.html.Table` or plain data, so the web results page can reuse them.

Rows carry the places, material, year and targets they belong to as ``data-*`` attributes
(``attrs``); the page's selector shows or hides rows by them (see base.html.j2): an attribute
that is absent matches every selection, ``*`` matches only "all", ``=x`` only x itself (not
"all"), otherwise its space-separated tokens must hold the selected value.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from resynergy.indicators import INDICATORS
from resynergy.planner.results import split_costs
from resynergy.report.findings import PlanFindings, indicator_name
from resynergy.report.labels import LANGS, component, pick, status
from resynergy.schema import outputs
from resynergy.schema.numbers import quantity

# The planner's cause of a missed target (planner/diagnosis.CAUSES), in an official's words.
CAUSE = {
    "data_ceiling": ("数据上限", "data ceiling"),
    "cost": ("成本", "cost"),
    "capacity": ("能力不足", "capacity"),
    "outside_model": ("规划外认定", "outside the model"),
    "report_only": ("仅报告", "report only"),
}


def _w(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


# ---- places ------------------------------------------------------------------------------

class Places:
    """Province and prefecture (city) of every region and site of a scenario."""

    def __init__(self, s: PlanFindings):
        r = s.scenario.table("regions")
        level = dict(zip(r["code"].astype(str), r["level"].astype(str), strict=True))
        parent = dict(zip(r["code"].astype(str), r["parent"].fillna("").astype(str), strict=True))
        self.provinces = [str(c) for c in r.loc[r["level"] == "province", "code"]]
        self.cities = [(str(c), str(p)) for c, p in zip(r.loc[r["level"] == "prefecture", "code"],
                                                        r.loc[r["level"] == "prefecture", "parent"],
                                                        strict=True)]

        def province(code: str) -> str:
            code = str(code or "")
            if level.get(code) == "province":
                return code
            p = parent.get(code, "")
            return p if level.get(p) == "province" else (code[:2] + "0000" if code else "")

        def city(code: str) -> str:
            code = str(code or "")
            return code if level.get(code) == "prefecture" else ""

        self.province, self.city = province, city
        sites = s.scenario.table("sites")
        self.site_province = {str(k): province(v) for k, v in zip(sites["id"], sites["region"],
                                                                  strict=True)}
        self.site_city = {str(k): city(v) for k, v in zip(sites["id"], sites["region"],
                                                          strict=True)}

    @classmethod
    def of(cls, s: PlanFindings) -> Places:
        """The places of ``s``'s scenario, made once per findings."""
        return s.once("province.places", lambda: cls(s))


# ---- which flows and facilities stand behind a target ---------------------------------------

def target_links(s: PlanFindings) -> dict[str, tuple[set[str], set[str]]]:
    """For each target: (materials, processes) its indicator counts, by the indicator's
    material kinds and process flag; empty sets mean "any" (the link filters nothing on it).
    Programme, rail and CO2 targets are not tied to materials and get no link."""
    mats = s.scenario.table("materials")
    procs = s.scenario.table("processes")
    pio = s.scenario.table("process_io")
    out: dict[str, tuple[set[str], set[str]]] = {}
    for _, t in s.targets.iterrows():
        ind = INDICATORS.get(str(t["indicator"]))
        if ind is None or ind.basis not in ("facility_input", "facility_capacity",
                                            "capacity_added"):
            continue
        m = set(mats.loc[mats["kind"].isin(ind.material_kinds), "code"].astype(str)) \
            if ind.material_kinds else set()
        if t["material"]:
            m = {str(t["material"])}
        if ind.process_flag and ind.process_flag in procs:
            p = set(procs.loc[procs[ind.process_flag].fillna(False).astype(bool), "id"].astype(str))
        else:
            inputs = pio[pio["direction"] == "in"]
            p = set(inputs.loc[inputs["material"].astype(str).isin(m), "process"].astype(str)) \
                if m else set(procs["id"].astype(str))
        out[str(t["id"])] = (m, p)
    return out


def _targets_of(links, material: str, process: str | None) -> str:
    return " ".join(k for k, (m, p) in links.items()
                    if (not m or material in m) and process is not None and process in p)


# ---- data embedded in the page -----------------------------------------------------------

def report_data(s: PlanFindings) -> dict[str, Any]:
    """What the page's selector, headline card and province map compute from (JSON-able)."""
    pl = Places.of(s)
    diag = _frame(s.plan.diagnosis)
    cause = {}
    if len(diag):
        for _, d in diag[diag["kind"].isin(list(CAUSE))].iterrows():
            cause[str(d["subject"])] = str(d["kind"])
    targets = []
    for _, t in s.targets.iterrows():
        targets.append({
            "id": str(t["id"]), "indicator": str(t["indicator"]), "region": str(t["region"]),
            "province": pl.province(t["region"]) if t["region"] else "",
            "city": pl.city(t["region"]), "material": str(t["material"] or ""),
            "year": int(t["year"]), "status": str(t["status"]),
            "zh": str(t.get("name_zh") or indicator_name(str(t["indicator"]), "zh")),
            "en": str(t.get("name_en") or indicator_name(str(t["indicator"]), "en")),
            "cause": cause.get(str(t["id"]), ""), "unit": str(t["unit"]),
            "target": _num(t["target"]), "value": _num(t["value"])})
    prov = s.by_province()
    values = [[str(r.indicator), str(r.province), int(r.year), _num(r.value)]
              for r in prov.itertuples()]
    names = s.names
    return {
        "years": s.years, "base_year": s.years[0] if s.years else None,
        "provinces": [{"code": c, "zh": names("region", c, "zh"), "en": names("region", c, "en")}
                      for c in pl.provinces],
        "cities": [{"code": c, "province": p, "zh": names("region", c, "zh"),
                    "en": names("region", c, "en")} for c, p in pl.cities],
        "materials": [{"code": m, "zh": names("material", m, "zh"),
                       "en": names("material", m, "en")}
                      for m in sorted(set(s.plan.flows["material"].astype(str)))],
        "indicators": [{"id": i, "zh": INDICATORS[i].name("zh"), "en": INDICATORS[i].name("en"),
                        "unit": INDICATORS[i].unit}
                       for i in dict.fromkeys(prov["indicator"]) if i in INDICATORS],
        "targets": targets, "values": values,
        "region": [[str(r.indicator), int(r.year), _num(r.value)] for r in s.headline().itertuples()],
        "status": {k: {"zh": status(k, "zh"), "en": status(k, "en")}
                   for k in ("met", "missed", "on_track", "at_risk", "not_measurable",
                             "reported")},
        "cause": {k: {"zh": v[0], "en": v[1]} for k, v in CAUSE.items()},
    }


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _frame(df: Any) -> pd.DataFrame:
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def headline(s: PlanFindings) -> dict[str, Any]:
    """The "达标 3/13" card of the whole plan (the page recomputes it for a selection):
    counts exclude report-only targets with no figure."""
    t = s.targets[s.targets["status"] != "reported"]
    met = t[t["status"] == "met"]
    return {"met": len(met), "total": len(t),
            "met_names": {lang: [_tname(r, lang) for _, r in met.iterrows()] for lang in LANGS},
            "missed_names": {lang: [_tname(r, lang) for _, r in t[t["status"] != "met"].iterrows()]
                             for lang in LANGS}}


def _tname(r: pd.Series, lang: str) -> str:
    return str(r.get("name_zh" if lang == "zh" else "name_en")
               or indicator_name(str(r["indicator"]), lang))


# ---- tables --------------------------------------------------------------------------------

def _make(key: str, heads: list[tuple[str, str]], rows: dict[str, list[list[str]]],
          attrs: list[dict[str, str]], classes: list[str] | None = None):
    from resynergy.report.html import Table

    t = Table(key, {lang: [pick(h, lang) for h in heads] for lang in LANGS}, rows, classes)
    t.attrs = attrs
    return t


def change_text(v: float | None, base: float | None, unit: str, lang: str) -> str:
    """``v`` against ``base``: the difference in the unit, and in per cent of the base."""
    if v is None or base is None or (isinstance(v, float) and math.isnan(v)) or \
            (isinstance(base, float) and math.isnan(base)):
        return "—"
    d = float(v) - float(base)
    sign = "+" if d > 0 else ""
    text = sign + quantity(d, unit, lang) if unit != "share" else f"{d * 100:+.1f} pp"
    if unit != "share" and base and abs(float(base)) > 0:
        text += f"（{d / abs(float(base)):+.1%}）" if lang == "zh" else f" ({d / abs(float(base)):+.1%})"
    return text


def province_targets_table(s: PlanFindings):
    """Every target by province: the province's value of the target's indicator in the target
    year, its share of the region, the base year and the change since. A target scoped to a
    province (or its prefecture) carries its own status; a region-wide one is not split among
    the provinces by the plan, and the table says so instead of inventing a share."""
    pl = Places.of(s)
    v = s.values
    base = s.years[0] if s.years else None
    heads = [outputs.pair("status"), ("目标", "Target"), outputs.pair("province"), outputs.pair("year"),
             ("本省数值", "Province value"), ("占全区域", "Share of region"),
             (f"{base}年基数", f"Base {base}"), ("较基年", "Change since base")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs, classes = [], []
    # the province-level values by (indicator, material, province, year), first row of each
    pv_rows = v[v["level"] == "province"].drop_duplicates(["indicator", "material", "region",
                                                           "year"])
    at = dict(zip(zip(pv_rows["indicator"], pv_rows["material"], pv_rows["region"],
                      pv_rows["year"], strict=True), pv_rows["value"].astype(float), strict=True))
    for _, t in s.targets.iterrows():
        iid, mat, year, unit = str(t["indicator"]), str(t["material"] or ""), int(t["year"]), \
            str(t["unit"])
        scoped = pl.province(t["region"]) if t["region"] else ""
        total = s.indicator(iid, year, "", mat)
        for p in pl.provinces:
            if scoped and p != scoped:
                continue
            val = at.get((iid, mat, p, year), math.nan)
            b = at.get((iid, mat, p, base), math.nan)
            share = val / total if unit not in ("share",) and total and not math.isnan(val) \
                and not math.isnan(total) else math.nan
            for lang in LANGS:
                st = status(str(t["status"]), lang) if scoped else _w(
                    lang, "全区域目标（" + status(str(t["status"]), lang) + "）",
                    "region-wide target (" + status(str(t["status"]), lang) + ")")
                rows[lang].append([st, _tname(t, lang), s.names("region", p, lang), str(year),
                                   quantity(val, unit, lang),
                                   "—" if math.isnan(share) else f"{share:.1%}",
                                   quantity(b, unit, lang),
                                   change_text(val, b, unit, lang) if base != year else "—"])
            attrs.append({"p": p, "y": str(year), "t": str(t["id"]),
                          **({"m": mat} if mat else {})})
            classes.append(str(t["status"]) if scoped else "region")
    return _make("province-targets", heads, rows, attrs, classes)


def province_indicators_table(s: PlanFindings):
    """Every indicator by province and year, all materials and each material, with the change
    against the base year (the first planned year). Material rows show when a material is
    selected; totals otherwise."""
    v = s.values
    v = v[v["level"] == "province"]
    years, base = s.years, (s.years[0] if s.years else None)
    heads = [outputs.pair("indicator"), outputs.pair("province"), outputs.pair("material"),
             *[(str(y), str(y)) for y in years],
             (f"较{base}年", f"Change since {base}")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs = []
    order = {k: i for i, k in enumerate(INDICATORS)}
    # (indicator, province, material) → (unit of its first row, {year: value}), in one pass over
    # the rows (a groupby's thousand small frames cost a second); keys in the groupby's order
    groups: dict[tuple[str, str, str], tuple[Any, dict[int, Any]]] = {}
    for iid, p, mat, unit, y, val in zip(v["indicator"].tolist(), v["region"].tolist(),
                                          v["material"].tolist(), v["unit"].tolist(),
                                          v["year"].astype(int).tolist(), v["value"].tolist(),
                                          strict=True):
        if pd.isna(iid) or pd.isna(p) or pd.isna(mat):
            continue  # a groupby leaves out rows with a missing key
        groups.setdefault((iid, p, mat), (unit, {}))[1][y] = val
    for (iid, p, mat) in sorted(sorted(groups), key=lambda k: (order.get(k[0], 99), k[1], k[2])):
        unit = str(groups[(iid, p, mat)][0])
        by = groups[(iid, p, mat)][1]
        last = by.get(years[-1]) if years else None
        for lang in LANGS:
            rows[lang].append([indicator_name(str(iid), lang), s.names("region", p, lang),
                               s.names("material", mat, lang),
                               *[quantity(by.get(y), unit, lang) for y in years],
                               change_text(last, by.get(base), unit, lang)])
        attrs.append({"p": str(p), "m": "=" + str(mat) if mat else "*"})
    return _make("province-indicators", heads, rows, attrs)


def causes_table(s: PlanFindings):
    """Every missed target: the planner's cause (kind and words) and what closes the gap."""
    f = s.failing()
    diag = _frame(s.plan.diagnosis)
    from markupsafe import Markup

    links = target_links(s)
    heads = [outputs.pair("status"), ("目标", "Target"), outputs.pair("year"), outputs.pair("shortfall"),
             ("原因", "Cause"), ("说明与措施", "Explanation and levers"),
             ("相关流向与设施", "Flows and facilities")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs = []
    for _, r in f.iterrows():
        tid = str(r["id"])
        d = diag[(diag["subject"] == tid) & diag["kind"].isin(list(CAUSE))] if len(diag) else diag
        kind = str(d["kind"].iloc[0]) if len(d) else ""
        for lang in LANGS:
            why = "；".join(d["message_zh"]) if lang == "zh" else "; ".join(d["message_en"])
            rows[lang].append([status(str(r["status"]), lang), _tname(r, lang), str(r["year"]),
                               quantity(r["shortfall"], str(r["unit"]), lang),
                               pick(CAUSE[kind], lang) if kind else _w(lang, "未诊断", "not diagnosed"),
                               why or str(r["why_" + lang] or ""),
                               Markup('<a href="#flows" data-goto-target="{0}">{1}</a>').format(
                                   tid, _w(lang, "查看 →", "show →")) if tid in links else "—"])
        attrs.append({"t": tid, "y": str(r["year"]), "id": tid, "cause": kind})
    return _make("causes", heads, rows, attrs, [str(x) for x in f["status"]])


def gaps_table(s: PlanFindings):
    """The gap of each missed target by province and material (the planner's ``gap`` rows:
    unused supply for tonnage targets, programmes counted for count targets), largest first."""
    diag = _frame(s.plan.diagnosis)
    heads = [("目标", "Target"), outputs.pair("province"), outputs.pair("material"),
             outputs.pair("amount"), ("说明", "Explanation")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs = []
    if len(diag):
        names = dict(zip(s.targets["id"].astype(str), s.targets.index, strict=True))
        g = diag[diag["kind"] == "gap"].copy()
        g["_t"] = g["subject"].astype(str).str.split("/").str[0]
        g = g.sort_values(["_t", "amount"], ascending=[True, False], kind="stable")
        for _, d in g.iterrows():
            tid, prov, mat = (str(d["subject"]).split("/") + ["", ""])[:3]
            t = s.targets.loc[names[tid]] if tid in names else None
            for lang in LANGS:
                rows[lang].append([_tname(t, lang) if t is not None else tid,
                                   s.names("region", prov, lang) if prov else "—",
                                   s.names("material", mat, lang) if mat else "—",
                                   quantity(d["amount"], str(d["unit"]), lang),
                                   str(d["message_zh" if lang == "zh" else "message_en"])])
            attrs.append({"t": tid, **({"p": prov} if prov else {}), **({"m": mat} if mat else {})})
    return _make("gaps", heads, rows, attrs)


def actions_table(s: PlanFindings, top: int = 3):
    """The first ``top`` actions the planner found for each missed target: the builds and
    expansions its target-meeting plan adds (``action`` rows of the diagnosis, largest first),
    each with the capacity it adds and its annualised cost."""
    diag = _frame(s.plan.diagnosis)
    pl = Places.of(s)
    heads = [("目标", "Target"), ("序号", "#"), ("措施（规划模型验证）", "Action (checked by the planner)"),
             ("新增能力（吨/年）", "Capacity added (t/yr)")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs = []
    if len(diag):
        names = dict(zip(s.targets["id"].astype(str), s.targets.index, strict=True))
        fac_site = dict(zip(s.scenario.table("facilities")["id"].astype(str),
                            s.scenario.table("facilities")["site"].astype(str), strict=True))
        a = diag[diag["kind"] == "action"].copy()
        a["_t"] = a["subject"].astype(str).str.split("/").str[0]
        for tid, group in a.groupby("_t", sort=False):
            t = s.targets.loc[names[tid]] if tid in names else None
            for n, (_, d) in enumerate(group.head(top).iterrows(), start=1):
                site = fac_site.get(str(d["subject"]).split("/", 1)[1], "")
                for lang in LANGS:
                    rows[lang].append([_tname(t, lang) if t is not None else tid, str(n),
                                       str(d["message_zh" if lang == "zh" else "message_en"]),
                                       quantity(d["amount"], "t", lang)])
                attrs.append({"t": str(tid), "p": pl.site_province.get(site, ""),
                              "c": pl.site_city.get(site, "")})
    return _make("actions", heads, rows, attrs)


def levers_table(s: PlanFindings, top: int = 12):
    """What could close each missed target, from the scenario: candidate facilities the plan
    did not build and expandable ones it did not expand (for tonnage and capacity targets not
    missed for a data ceiling, which no build closes;
    those in the provinces where the planner found the gap first, then the largest),
    programmes proposed or approved but not built (for count targets), with the costs the
    scenario gives (not annualised here: the planner's words above give its annualised cost
    of the builds it would choose)."""
    pl = Places.of(s)
    links = target_links(s)
    fac = s.scenario.table("facilities")
    procs = s.scenario.table("processes").set_index("id")
    act = _frame(s.plan.activity)
    prog = s.scenario.table("programmes")
    diag = _frame(s.plan.diagnosis)
    ceilings = set(diag.loc[diag["kind"] == "data_ceiling", "subject"].astype(str)) if len(diag) else set()
    heads = [("目标", "Target"), ("措施", "Lever"), ("地点", "Where"), ("内容", "What"),
             outputs.pair("capacity_t"), ("费用（情景给出）", "Cost (as the scenario gives)")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs = []
    for _, t in s.failing().iterrows():
        tid, year = str(t["id"]), int(t["year"])
        ind = INDICATORS.get(str(t["indicator"]))
        if ind is None:
            continue
        if ind.basis == "programmes":
            waiting = prog[(prog["kind"] == ind.programme_kind)
                           & prog["status"].isin(["proposed", "approved"])]
            for _, p in waiting.head(top).iterrows():
                st = ("已批复", "approved") if p["status"] == "approved" else ("已提出", "proposed")
                prov = pl.province(p["region"])
                for lang in LANGS:
                    rows[lang].append([_tname(t, lang), _w(lang, "规划项目", "programme"),
                                       s.names("region", str(p["region"]), lang),
                                       str(p["name_zh" if lang == "zh" else "name_en"]) +
                                       f"（{pick(st, lang)}）", "—",
                                       _w(lang, "情景未给出", "not in the scenario")])
                attrs.append({"t": tid, "p": prov, "c": pl.city(p["region"])})
            continue
        if tid not in links:
            continue
        if tid in ceilings:  # every candidate and expansion was already counted in the ceiling
            for lang in LANGS:
                rows[lang].append([_tname(t, lang), pick(CAUSE["data_ceiling"], lang), "—",
                                   _w(lang, "新建或扩建设施无法补足：即使建成全部候选设施和扩能也达不到目标；"
                                            "需补充供给或需求数据，或调整目标",
                                      "no build or expansion closes it: even with every candidate and "
                                      "expansion the target is out of reach; add supply or demand "
                                      "data, or revise the target"), "—", "—"])
            attrs.append({"t": tid})
            continue
        _, processes = links[tid]
        running = act[act["year"] == year] if len(act) else act
        built = set(running.loc[running["built"].astype(bool), "facility"].astype(str)) \
            if len(running) and "built" in running else set()
        cand = fac[fac["process"].astype(str).isin(processes) & (fac["year"] <= year)]
        new = cand[cand["candidate"].astype(bool) & ~cand["id"].astype(str).isin(built)]
        grow = cand[cand["expandable"].astype(bool)
                    & (cand["max_capacity_t"].fillna(0) > cand["capacity_t"].fillna(0))]
        if len(running) and "new_capacity_t" in running:
            grown = set(running.loc[running["new_capacity_t"] > 0, "facility"].astype(str))
            grow = grow[~grow["id"].astype(str).isin(grown)]
        picks = pd.concat([new.assign(_k="new", _cap=new["capacity_t"]),
                           grow.assign(_k="grow", _cap=grow["max_capacity_t"] - grow["capacity_t"])])
        # where the planner found the gap (unused supply by province) first, then the largest
        gap = _gap_by_province(s, tid)
        picks["_gap"] = picks["site"].astype(str).map(pl.site_province).map(gap).fillna(0.0)
        picks = picks.sort_values(["_gap", "_cap"], ascending=False).drop_duplicates("id").head(top)
        for _, f in picks.iterrows():
            site = str(f["site"])
            capex = f["capex"] if pd.notna(f["capex"]) else procs["capex"].get(f["process"], np.nan)
            for lang in LANGS:
                what = (_w(lang, "新建", "build ") if f["_k"] == "new" else _w(lang, "扩建", "expand ")) \
                    + str(procs[("name_zh" if lang == "zh" else "name_en")].get(f["process"],
                                                                                 f["process"]))
                cost = []
                if pd.notna(capex) and capex:
                    cost.append(_w(lang, f"投资 {capex:,.0f} 元/吨能力", f"capital {capex:,.0f} yuan per t/yr"))
                if pd.notna(f["fixed_cost"]) and f["fixed_cost"] and f["_k"] == "new":
                    cost.append(_w(lang, "年固定成本 ", "fixed ") + quantity(f["fixed_cost"], "yuan", lang)
                                + _w(lang, "", " a year"))
                rows[lang].append([_tname(t, lang),
                                   _w(lang, "候选设施", "candidate") if f["_k"] == "new"
                                   else _w(lang, "扩能", "expansion"),
                                   s.names("site", site, lang), what,
                                   quantity(f["_cap"], "t", lang), "；".join(cost) if lang == "zh"
                                   else "; ".join(cost) or "—"])
            attrs.append({"t": tid, "p": pl.site_province.get(site, ""),
                          "c": pl.site_city.get(site, "")})
    return _make("levers", heads, rows, attrs)


def _gap_by_province(s: PlanFindings, tid: str) -> dict[str, float]:
    """The planner's gap of target ``tid`` summed by province (its ``gap`` diagnosis rows)."""
    diag = _frame(s.plan.diagnosis)
    if diag.empty:
        return {}
    g = diag[(diag["kind"] == "gap") & diag["subject"].astype(str).str.startswith(tid + "/")]
    prov = g["subject"].astype(str).str.split("/").str[1]
    return g.groupby(prov)["amount"].sum().to_dict()


def city_flows_table(s: PlanFindings):
    """Transported tonnes by prefecture pair, material, mode and year (routes folded), with the
    targets each counts toward: what the "flows behind a target" link filters."""
    pl = Places.of(s)
    links = target_links(s)
    f = s.transport_flows()
    heads = [outputs.pair("year"), ("起点地市", "From city"), ("终点地市", "To city"),
             outputs.pair("material"), outputs.pair("mode"), outputs.pair("t"), outputs.pair("tkm")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs: list[dict[str, str]] = []
    if f.empty:
        return _make("city-flows", heads, rows, attrs)
    to_fac = f.groupby(["year", "to_site", "material"])["to_facility"].first() \
        if "to_facility" in f else None
    j = s.journeys()  # the same transport flows, routes folded (made once per findings)
    fac_proc = s.scenario.table("facilities").set_index("id")["process"].astype(str)
    if to_fac is not None:
        key = pd.MultiIndex.from_frame(j[["year", "to_site", "material"]])
        facs = to_fac.reindex(key).to_numpy()
        j["process"] = [fac_proc.get(str(x)) if isinstance(x, str) else None for x in facs]
    else:
        j["process"] = None
    j["fc"] = j["from_site"].astype(str).map(pl.site_city).fillna("")
    j["tc"] = j["to_site"].astype(str).map(pl.site_city).fillna("")
    j["fp"] = j["from_site"].astype(str).map(pl.site_province).fillna("")
    j["tp"] = j["to_site"].astype(str).map(pl.site_province).fillna("")
    j["targets"] = [_targets_of(links, str(m), p) for m, p in zip(j["material"], j["process"],
                                                                   strict=True)]
    g = (j.groupby(["year", "fp", "fc", "tp", "tc", "material", "mode", "targets"])
         [["t", "tkm"]].sum().reset_index().sort_values(["year", "t"], ascending=[True, False]))
    for r in g.itertuples():
        for lang in LANGS:
            rows[lang].append([str(r.year), s.names("region", r.fc or r.fp, lang),
                               s.names("region", r.tc or r.tp, lang),
                               s.names("material", r.material, lang), s.names("mode", r.mode, lang),
                               quantity(r.t, "t", lang), f"{r.tkm:,.0f}"])
        attrs.append({"y": str(r.year), "p": f"{r.fp} {r.tp}", "c": f"{r.fc} {r.tc}",
                      "m": str(r.material), "t": r.targets})
    return _make("city-flows", heads, rows, attrs)


def facilities_table(s: PlanFindings):
    """Facilities running or built in the plan: capacity, input and load by year, with the
    targets whose indicator counts them."""
    pl = Places.of(s)
    links = target_links(s)
    act = _frame(s.plan.activity)
    heads = [outputs.pair("year"), outputs.pair("facility"), outputs.pair("province"), ("地市", "City"),
             outputs.pair("process"), outputs.pair("built"), outputs.pair("capacity_t"),
             outputs.pair("input_t"), outputs.pair("utilisation")]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs = []
    if act.empty:
        return _make("facilities", heads, rows, attrs)
    a = act[(act["capacity_t"] > 0) | (act["input_t"] > 0)].sort_values(
        ["year", "input_t"], ascending=[True, False])
    for r in a.itertuples():
        site = str(r.site)
        p, c = pl.site_province.get(site, ""), pl.site_city.get(site, "")
        tg = " ".join(k for k, (_, procs) in links.items() if str(r.process) in procs)
        for lang in LANGS:
            kind = (_w(lang, "新建", "new") if r.candidate and r.built else
                    _w(lang, "现有", "existing") if not r.candidate else _w(lang, "未建", "not built"))
            rows[lang].append([str(r.year), s.names("site", site, lang),
                               s.names("region", p, lang), s.names("region", c, lang) if c else "—",
                               s.names("process", str(r.process), lang), kind,
                               quantity(r.capacity_t, "t", lang), quantity(r.input_t, "t", lang),
                               quantity(r.utilisation, "share", lang)])
        attrs.append({"y": str(r.year), "p": p, "c": c, "t": tg})
    return _make("facilities", heads, rows, attrs)


def reconcile_table(s: PlanFindings):
    """Item 5: how the period totals, the target-year figures and "CO2 avoided" relate. The
    plan gives costs and emissions as period totals by component; by year there are only what
    the flows and indicators carry (transport and handling cost, CO2 emitted and avoided).
    The objective's other parts (virgin purchases, priced shortages and target shortfalls)
    stand apart from the plan cost, never added to it."""
    years = s.years
    last = years[-1] if years else None
    heads = [("项目", "Item"), ("期间合计", "Period total"),
             *[(f"{y}年", str(y)) for y in years], ("关系", "How it relates")]
    own, apart = split_costs(_frame(s.plan.costs))
    em = _frame(s.plan.emissions)
    fl = s.plan.flows
    by_year_cost = fl.groupby("year")["cost_yuan"].sum() if "cost_yuan" in fl else pd.Series()
    ind = {i: {y: s.indicator(i, y) for y in years} for i in ("co2", "co2_avoided")}
    emitted_c = em[em["component"].isin(["transport_road", "transport_rail", "process",
                                         "transport"])]["kg"].sum() if len(em) else math.nan
    virgin_kg = em.loc[em["component"] == "virgin_alternative", "kg"].sum() if len(em) else 0.0
    logistics = own[own["component"].isin(["transport", "handling", "onsite_handling"])]["yuan"].sum()
    spec: list[tuple[tuple[str, str], float, dict, str, tuple[str, str]]] = [
        (("运输与装卸费用", "Transport and handling cost"), logistics,
         {y: by_year_cost.get(y, math.nan) for y in years}, "yuan",
         ("= 各年流向费用之和；计入规划费用", "= the flows' cost summed over the years; part of the plan cost")),
        (("规划费用合计", "Plan cost total"), float(own["yuan"].sum()) if len(own) else math.nan,
         {}, "yuan", ("运输、加工、投资年金、固定成本、处置、环境税等，扣除税收优惠；只有期间合计",
                      "transport, processing, capital annuity, fixed cost, disposal, environmental tax, less incentives; period total only")),
    ]
    for _, r in apart.iterrows():
        spec.append(((component(str(r["component"]), "zh"), component(str(r["component"]), "en")),
                     float(r["yuan"]), {}, "yuan",
                     ("目标函数中的折算项，另计，不计入规划费用", "part of the objective, kept apart from the plan cost")))
    spec += [
        (("目标函数", "Objective"), float(_frame(s.plan.costs)["yuan"].sum()), {}, "yuan",
         ("= 规划费用合计 + 上述另计项", "= plan cost total + the items kept apart above")),
        (("二氧化碳排放（运输与加工）", "CO2 emitted (transport and processes)"), emitted_c,
         ind["co2"], "kg", ("= 各年之和（指标“二氧化碳排放”）", "= the years summed (indicator “CO2 emitted”)")),
        (("外购原生替代品的排放", "CO2 of virgin alternatives bought"), virgin_kg, {}, "kg",
         ("另计：不属于方案自身排放", "kept apart: not emitted by the plan itself")),
        (("被替代原生产品的排放", "CO2 of virgin products displaced"),
         math.fsum(ind["co2_avoided"][y] + ind["co2"][y] for y in years),
         {y: ind["co2_avoided"][y] + ind["co2"][y] for y in years}, "kg",
         ("= 二氧化碳减排量 + 排放", "= CO2 avoided + CO2 emitted")),
        (("二氧化碳减排量", "CO2 avoided"), math.fsum(ind["co2_avoided"].values()),
         ind["co2_avoided"], "kg", ("= 被替代原生产品的排放 − 运输与加工排放；目标年见 " + str(last) + " 年列",
                                    "= displaced − emitted; the target year is the " + str(last) + " column")),
    ]
    rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    attrs = []
    for label, total, by, unit, how in spec:
        for lang in LANGS:
            rows[lang].append([pick(label, lang), quantity(total, unit, lang),
                               *[quantity(by[y], unit, lang) if y in by else "—" for y in years],
                               pick(how, lang)])
        attrs.append({})
    return _make("reconcile", heads, rows, attrs)


# ---- province map ----------------------------------------------------------------------------

def province_map_svg(s: PlanFindings, width: int = 560, height: int = 460) -> str:
    """An SVG of the scenario's provinces (the shipped boundaries; a tile grid when there are
    none), one <path data-province=code> each, for the page to colour and label."""
    from resynergy.report.figures import boundary_files

    pl = Places.of(s)
    path = boundary_files().get("provinces")
    shapes: dict[str, list[list[list[float]]]] = {}
    if path is not None:
        for feat in json.loads(path.read_text(encoding="utf-8")).get("features", []):
            props = feat.get("properties") or {}
            code = str(props.get("code") or props.get("adcode") or "")
            if code not in pl.provinces:
                continue
            g = feat.get("geometry") or {}
            polys = g.get("coordinates", [])
            if g.get("type") == "Polygon":
                polys = [polys]
            shapes[code] = [ring for poly in polys for ring in poly[:1]]
    regions = s.scenario.table("regions").set_index("code")
    if not shapes:  # a tile grid: one square per province at its seat, honest about the shape
        for c in pl.provinces:
            lat, lon = float(regions.at[c, "lat"]), float(regions.at[c, "lon"])
            shapes[c] = [[[lon - .9, lat - .7], [lon + .9, lat - .7], [lon + .9, lat + .7],
                          [lon - .9, lat + .7]]]
    pts = np.array([p for rings in shapes.values() for ring in rings for p in ring], dtype=float)
    if not len(pts):
        return ""
    lon0, lon1, lat0, lat1 = pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max()
    k = math.cos(math.radians((lat0 + lat1) / 2))
    sx = (width - 20) / max((lon1 - lon0) * k, 1e-9)
    sy = (height - 20) / max(lat1 - lat0, 1e-9)
    sc = min(sx, sy)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return 10 + (lon - lon0) * k * sc, 10 + (lat1 - lat) * sc

    out = [f'<svg id="prov-map" viewBox="0 0 {width} {height}" role="img" '
           '>']
    for c, rings in shapes.items():
        d = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p[:2]) for p in ring)) + "Z"
                     for ring in rings)
        out.append(f'<path data-province="{c}" d="{d}"><title></title></path>')
    for c in shapes:
        if c in regions.index:
            x, y = xy(float(regions.at[c, "lon"]), float(regions.at[c, "lat"]))
            out.append(f'<text data-label="{c}" x="{x:.1f}" y="{y:.1f}" text-anchor="middle"></text>')
    out.append("</svg>")
    return "".join(out)
