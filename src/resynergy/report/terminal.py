"""The compact terminal summary of a plan (rich tables, zh or en)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from resynergy.monitor import status_lines
from resynergy.planner.results import APART, split_costs
from resynergy.report.findings import HEADLINE, PlanFindings, indicator_name
from resynergy.report.labels import component, status
from resynergy.schema import outputs
from resynergy.schema.numbers import quantity

STYLE = {"met": "green", "on_track": "green", "at_risk": "yellow", "missed": "red",
         "optimal": "green", "time_limit": "yellow", "relaxed": "yellow", "infeasible": "red"}


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def print_summary(s: PlanFindings, console: Console, lang: str = "zh",
                  flows: int = 10) -> None:
    """Attainment, cost and CO2, rail share, largest flows and any diagnosis."""
    p = s.plan
    st = str(p.status)
    console.print(
        f"[bold]{_t(lang, '情景', 'Scenario')}[/] {p.scenario}  "
        f"[bold]{_t(lang, '求解状态', 'Status')}[/] [{STYLE.get(st, 'white')}]{status(st, lang)}[/]"
        + (f"  [bold]{_t(lang, '间隙', 'gap')}[/] {p.mip_gap:.2%}"
           if getattr(p, "mip_gap", None) is not None and pd.notna(p.mip_gap) else ""))
    console.print(cost_line(s, lang), highlight=False)
    console.print(_targets_table(s, lang))
    console.print(_indicator_table(s, lang))
    console.print(province_table(s, lang))
    console.print(cost_table(p.costs, _t(lang, "费用构成", "Costs") + s.period(lang), lang))
    console.print(_breakdown(p.emissions, "kg", _t(lang, "二氧化碳排放构成", "CO2 emitted")
                             + s.period(lang), lang))
    if len(s.shortages()):
        console.print(shortage_table(s, lang, flows))
    if len(s.corridors()):
        console.print(corridor_table(s, lang))
    console.print(_flows_table(s, lang, flows))
    for line in status_lines(s.monitor, lang, s.names):
        console.print(line, markup=False, highlight=False)
    d = p.diagnosis if isinstance(p.diagnosis, pd.DataFrame) else pd.DataFrame()
    if len(d):
        console.print(f"[bold red]{_t(lang, '诊断', 'Diagnosis')}[/]")
        for _, r in d.iterrows():  # a cause, then its gap by province and its actions, indented
            text = str(r["message_zh" if lang == "zh" else "message_en"])
            lead = {"gap": "      – ", "action": "      → " + _t(lang, "措施：", "action: ")}.get(
                str(r["kind"]), "  • ")
            console.print(lead + text, markup=False, highlight=False)


def _targets_table(s: PlanFindings, lang: str) -> Table:
    return targets_table(s.targets, s.names, lang)


def targets_table(targets: pd.DataFrame, names, lang: str) -> Table:
    """Targets against values (a plan's attainment or a monitor's table, whose projected values
    for years without data are shown with their method)."""
    projected = "projected" in targets and targets["projected"].notna().any()
    t = Table(title=_t(lang, "目标完成情况", "Target attainment"), title_justify="left")
    cols = ["indicator", "region", "year", "target", "value", "attainment", "status"]
    basis = f"basis_{lang}" in targets and targets[f"basis_{lang}"].fillna("").astype(bool).any()
    for c in cols[:5] + (["projected"] if projected else []) + cols[5:]:
        t.add_column(outputs.label(c, lang), justify="right" if c in ("target", "value", "projected",
                                                                "attainment") else "left")
    if basis:  # a monitor's rows that say where their figure comes from
        t.add_column(_t(lang, "计算依据", "Basis"))
    for _, r in targets.iterrows():
        unit = str(r.get("unit", ""))
        name = r.get("name_zh" if lang == "zh" else "name_en") or indicator_name(
            r["indicator"], lang)
        scope = names("region", r["region"], lang)
        if r["material"]:
            scope += " · " + names("material", r["material"], lang)
        att = f"{r['attainment']:.1%}" if pd.notna(r["attainment"]) else "—"
        extra = []
        if projected:
            extra = [f"{quantity(r['projected'], unit, lang)} ({r['method_' + lang]})"
                     if pd.notna(r["projected"]) else "—"]
        value = quantity(r["value"], unit, lang)
        word = r.get(f"value_word_{lang}") if pd.notna(r["value"]) else ""
        if isinstance(word, str) and word:
            value = f"{word} {value}"
        note = [str(r.get(f"basis_{lang}") or "")] if basis else []
        t.add_row(str(name), scope, str(r["year"]), quantity(r["target"], unit, lang),
                  value, *extra, att,
                  f"[{STYLE.get(r['status'], 'white')}]{status(r['status'], lang)}[/]", *note)
    return t


def _indicator_table(s: PlanFindings, lang: str) -> Table:
    head = s.headline()
    years = sorted(head["year"].unique())
    t = Table(title=_t(lang, "主要指标（全区域）", "Main indicators (whole region)"),
              title_justify="left")
    t.add_column(outputs.label("indicator", lang))
    for y in years:
        t.add_column(str(y), justify="right")
    for iid, g in head.groupby("indicator", sort=False):
        vals = dict(zip(g["year"], g["value"], strict=True))
        unit = str(g["unit"].iloc[0])
        t.add_row(indicator_name(str(iid), lang), *(quantity(vals.get(y), unit, lang)
                                                    for y in years))
    return t


def province_table(s: PlanFindings, lang: str) -> Table:
    """Compact: the main indicators of the last year, one column per province."""
    year = s.years[-1] if s.years else None
    p = s.by_province(year)
    p = p[p["indicator"].isin(HEADLINE)]
    provinces = sorted(p["province"].unique())
    t = Table(title=_t(lang, f"分省指标（{year}年）", f"Indicators by province, {year}"),
              title_justify="left")
    t.add_column(outputs.label("indicator", lang))
    for code in provinces:
        t.add_column(s.names("region", code, lang), justify="right")
    units = dict(zip(s.values["indicator"], s.values["unit"], strict=True))
    for iid in [i for i in HEADLINE if i in units]:
        g = p[p["indicator"] == iid]
        vals = dict(zip(g["province"], g["value"], strict=True))
        # the evaluation is complete: a province without a row counted nothing
        t.add_row(indicator_name(iid, lang), *(quantity(vals.get(c, 0.0), units[iid], lang)
                                               for c in provinces))
    return t


def _breakdown(df: pd.DataFrame, col: str, title: str, lang: str) -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column(outputs.label("component", lang))
    t.add_column(outputs.label("value", lang), justify="right")
    if not isinstance(df, pd.DataFrame) or df.empty:
        return t
    for _, r in df.iterrows():
        t.add_row(component(str(r["component"]), lang), quantity(r[col], col, lang))
    total = _t(lang, "合计", "total") if col != "yuan" else _t(
        lang, "规划费用合计", "plan cost total")
    t.add_row(total, quantity(df[col].sum(), col, lang), style="bold")
    return t


def cost_line(s: PlanFindings, lang: str) -> str:
    """The headline cost: the plan's own, with what the objective adds shown apart, labelled."""
    tot = s.totals
    parts = [f"[bold]{_t(lang, '规划费用', 'Plan cost')}[/]{s.period(lang)} "
             f"{quantity(tot.get('cost_yuan'), 'yuan', lang)}"]
    for c in APART:
        if abs(tot.get(f"{c}_yuan") or 0.0) >= 0.5:  # items the plan has, not empty ones
            parts.append(f"{_t(lang, '另计', 'separately:')} {component(c, lang)} "
                         f"{quantity(tot[f'{c}_yuan'], 'yuan', lang)}")
    parts.append(f"{_t(lang, '目标函数（含另计项）', 'objective (incl. the items listed separately)')} "
                 f"{quantity(tot.get('objective_yuan'), 'yuan', lang)}")
    return "  ".join(parts)


def cost_table(df: pd.DataFrame, title: str, lang: str) -> Table:
    """The plan's own costs with their total; virgin purchases and target penalties below,
    labelled as not part of that total."""
    own, apart = split_costs(df)
    t = _breakdown(own, "yuan", title, lang)
    for _, r in apart.iterrows():
        t.add_row(_t(lang, "另计：", "separately: ") + component(str(r["component"]), lang),
                  quantity(r["yuan"], "yuan", lang), style="dim")
    if len(apart):
        t.add_row(_t(lang, "目标函数（含另计项）", "objective (incl. the items listed separately)"),
                  quantity(df["yuan"].sum(), "yuan", lang))
    return t


def shortage_table(s: PlanFindings, lang: str, n: int = 10) -> Table:
    """The largest shortages by demand site and year (demand that neither recycled nor virgin
    supply meets), with the total of every shortage."""
    d = s.shortages(lang)
    total = s.totals.get("shortage_t", 0.0)
    more = _t(lang, f"，另有 {len(d) - n} 项", f", {len(d) - n} more") if len(d) > n else ""
    t = Table(title=_t(lang, f"供应短缺（再生与原生供应均不能满足的需求{more}）",
                       f"Shortages (demand neither recycled nor virgin supply meets{more})"),
              title_justify="left")
    cols = ("year", "site_name", "material_name", "demand_t", "delivered_t", "virgin_t",
            "shortage_t")
    for c in cols:
        t.add_column(outputs.label(c, lang), justify="right" if c.endswith("_t") else "left")
    for _, r in d.head(n).iterrows():
        t.add_row(str(r["year"]), str(r["site_name"]), str(r["material_name"]),
                  *(quantity(r[c], "t", lang) for c in cols[3:]))
    t.add_row(_t(lang, "合计", "total"), "", "", "", "", "", quantity(total, "t", lang),
              style="bold")
    return t


def corridor_table(s: PlanFindings, lang: str) -> Table:
    """Per corridor and year: tonnes, rail share of tonnes and new-energy share of road t·km,
    each beside the corridor's minimum."""
    c = s.corridors(lang)
    t = Table(title=_t(lang, "通道运输结构（铁路与新能源货车占比）",
                       "Corridor shares (rail and new-energy trucks)"), title_justify="left")
    cols = ("corridor_name", "year", "t", "rail_share", "min_rail_share", "nev_share",
            "min_nev_share")
    for col in cols:
        t.add_column(outputs.label(col, lang), justify="left" if col == "corridor_name" else "right")
    for _, r in c.iterrows():
        low = [pd.notna(r[a]) and r[a] < r[m] - 1e-6
               for a, m in (("rail_share", "min_rail_share"), ("nev_share", "min_nev_share"))]
        t.add_row(str(r["corridor_name"]), str(r["year"]), quantity(r["t"], "t", lang),
                  ("[red]" if low[0] else "") + quantity(r["rail_share"], "share", lang),
                  quantity(r["min_rail_share"], "share", lang),
                  ("[red]" if low[1] else "") + quantity(r["nev_share"], "share", lang),
                  quantity(r["min_nev_share"], "share", lang))
    return t


def _flows_table(s: PlanFindings, lang: str, n: int) -> Table:
    f = s.largest_flows(n, lang)
    year = f"{int(f['year'].iloc[0])}" if len(f) else ""
    t = Table(title=_t(lang, f"{year}年最大的 {len(f)} 条流向", f"Largest {len(f)} flows, {year}"),
              title_justify="left")
    for c in ("from_name", "to_name", "material_name", "mode", "t"):
        t.add_column(outputs.label(c, lang), justify="right" if c == "t" else "left")
    for _, r in f.iterrows():
        t.add_row(r["from_name"], r["to_name"], r["material_name"],
                  s.names("mode", r["mode"], lang), quantity(r["t"], "t", lang))
    return t


def print_compare(summaries: dict[str, PlanFindings], table: pd.DataFrame, console: Console,
                  lang: str = "zh") -> None:
    """The comparison table: one column per variant."""
    from resynergy.report.compare import cell

    t = Table(title=_t(lang, "方案比较", "Comparison"), title_justify="left")
    t.add_column(_t(lang, "项目", "item"))
    for i, _ in enumerate(summaries, start=1):
        t.add_column(f"[{i}]", justify="right")
    for _, r in table.iterrows():
        t.add_row(r["name_zh" if lang == "zh" else "name_en"],
                  *(cell(r[v], r["unit"], lang) for v in summaries))
    console.print(t)
    for i, label in enumerate(summaries, start=1):  # long labels stay readable below the table
        console.print(f"\\[{i}] {label}", highlight=False)
