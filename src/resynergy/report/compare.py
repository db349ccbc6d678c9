"""Scenarios or policy variants side by side: the same indicators and costs, and compare.html."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from resynergy import __version__
from resynergy.planner.results import split_costs
from resynergy.report.exports import write_text_atomic
from resynergy.report.figures import PALETTE, _layout, _t
from resynergy.report.html import LANGS, PLOTLY_CONFIG, Table, environment, figure_json, inline_json
from resynergy.report.labels import component, quantity, status
from resynergy.report.summary import HEADLINE, PlanSummary, indicator_name


def compare_table(summaries: dict[str, PlanSummary]) -> pd.DataFrame:
    """One row per quantity (key, kind, unit, name_zh, name_en), one column per variant."""
    rows: dict[tuple, dict[str, float | str]] = {}

    def put(key, kind, unit, zh, en, variant, value):
        rows.setdefault((key, kind, unit, zh, en), {})[variant] = value

    for label, s in summaries.items():
        p = s.plan
        put("status", "status", "", "求解状态", "status", label, str(p.status))
        put("objective", "total", "yuan", "目标函数值", "objective", label, float(p.objective))
        own, apart = split_costs(p.costs)
        for c, v in zip(own["component"], own["yuan"], strict=True):
            put(f"cost.{c}", "cost", "yuan", "费用：" + component(c, "zh"),
                "cost: " + component(c, "en"), label, float(v))
        put("cost.total", "total", "yuan", "规划费用合计（不含另计项）",
            "plan cost total (without the items listed separately)", label, float(own["yuan"].sum()))
        for c, v in zip(apart["component"], apart["yuan"], strict=True):
            put(f"cost.{c}", "cost", "yuan", "另计：" + component(c, "zh"),
                "separately: " + component(c, "en"), label, float(v))
        put("shortage", "total", "t", "供应短缺合计（再生与原生供应均不能满足的需求）",
            "shortage total (demand neither recycled nor virgin supply meets)", label,
            float(s.totals.get("shortage_t", 0.0)))
        for c, v in zip(p.emissions["component"], p.emissions["kg"], strict=True):
            put(f"emission.{c}", "co2", "kg", "排放：" + component(c, "zh"),
                "CO2: " + component(c, "en"), label, float(v))
        for iid in HEADLINE:
            for y in s.years:
                put(f"indicator.{iid}.{y}", "indicator", _unit(iid), f"{indicator_name(iid, 'zh')}（{y}）",
                    f"{indicator_name(iid, 'en')} ({y})", label, s.indicator(iid, y))
        for _, t in s.targets.iterrows():
            put(f"target.{t['id']}", "attainment", "share",
                f"目标完成率：{t.get('name_zh') or indicator_name(t['indicator'], 'zh')}",
                f"attainment: {t.get('name_en') or indicator_name(t['indicator'], 'en')}",
                label, float(t["attainment"]) if pd.notna(t["attainment"]) else np.nan)
    index = pd.MultiIndex.from_tuples(list(rows), names=["key", "kind", "unit", "name_zh",
                                                         "name_en"])
    return pd.DataFrame(list(rows.values()), index=index,
                        columns=list(summaries)).reset_index()


def _unit(iid: str) -> str:
    from resynergy.indicators import INDICATORS

    return INDICATORS[iid].unit


def cell(value, unit: str, lang: str) -> str:
    if isinstance(value, str):
        return status(value, lang)
    return quantity(value, unit, lang)


def _figures(summaries: dict[str, PlanSummary], table: pd.DataFrame, lang: str) -> dict:
    labels = list(summaries)
    costs = go.Figure()
    for i, (_, r) in enumerate(table[table["kind"] == "cost"].iterrows()):
        costs.add_trace(go.Bar(name=r["name_zh" if lang == "zh" else "name_en"], x=labels,
                               y=[r[v] for v in labels], marker_color=PALETTE[i % len(PALETTE)]))
    costs.update_layout(barmode="relative")
    costs.update_yaxes(title=_t(lang, "元", "yuan"), gridcolor="#eee")
    att = go.Figure()
    for i, label in enumerate(labels):
        g = table[table["kind"] == "attainment"]
        att.add_trace(go.Bar(name=label, x=g["name_zh" if lang == "zh" else "name_en"],
                             y=g[label] * 100, marker_color=PALETTE[i % len(PALETTE)]))
    att.add_hline(y=100, line=dict(color="#333", dash="dash"))
    att.update_yaxes(title=_t(lang, "完成率（%）", "attainment (%)"), gridcolor="#eee")
    co2 = go.Figure()
    g = table[(table["kind"] == "co2") | table["key"].str.startswith("indicator.co2_avoided.")]
    for i, (_, r) in enumerate(g.iterrows()):
        co2.add_trace(go.Bar(name=r["name_zh" if lang == "zh" else "name_en"], x=labels,
                             y=[r[v] / 1000 for v in labels],
                             marker_color=PALETTE[i % len(PALETTE)]))
    co2.update_yaxes(title=_t(lang, "吨CO₂", "t CO₂"), gridcolor="#eee")
    return {"costs": _layout(costs, _t(lang, "费用构成", "Costs by component")),
            "attainment": _layout(att, _t(lang, "目标完成率", "Target attainment")),
            "co2": _layout(co2, _t(lang, "二氧化碳：排放与减排", "CO2 emitted and avoided"))}


def write_compare(summaries: dict[str, PlanSummary], path: Path) -> Path:
    """compare.html: the comparison table and charts, self-contained like report.html."""
    table = compare_table(summaries)
    labels = list(summaries)
    t = Table("compare", {lang: [_t(lang, "项目", "item")] + labels for lang in LANGS},
              {lang: [[r["name_zh" if lang == "zh" else "name_en"]]
                      + [cell(r[v], r["unit"], lang) for v in labels]
                      for _, r in table.iterrows()] for lang in LANGS})
    figs = {k: {lang: _figures(summaries, table, lang)[k] for lang in LANGS}
            for k in ("costs", "co2", "attainment")}
    html = environment().get_template("compare.html.j2").render(
        langs=LANGS, version=__version__, labels=labels, comparison=t,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        plotly_js=get_plotlyjs(), figures=figure_json(figs), config=inline_json(PLOTLY_CONFIG),
        scenarios={k: str(s.plan.scenario) for k, s in summaries.items()})
    return write_text_atomic(path, html)
