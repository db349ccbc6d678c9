"""Scenarios or policy variants side by side: the same indicators and costs, and compare.html."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from resynergy import __version__
from resynergy.planner.results import split_costs
from resynergy.report.exports import write_text_atomic
from resynergy.report.figures import PALETTE, _layout, _t
from resynergy.report.findings import HEADLINE, PlanFindings, indicator_name
from resynergy.report.html import LANGS, PLOTLY_CONFIG, Table, environment, figure_json, inline_json
from resynergy.report.labels import component, status
from resynergy.schema.numbers import quantity


def quantities(s: PlanFindings) -> list[dict[str, Any]]:
    """Everything two plans are compared on, one row each (key, kind, unit, name_zh, name_en,
    value): status, objective, costs, shortage, emissions, every whole-region indicator by year
    (the headline ones first) and every target's attainment. JSON-safe, so a platform run stores
    them with its summary and its compare page uses this same definition."""
    rows: list[dict[str, Any]] = []

    def put(key, kind, unit, zh, en, value):
        if not isinstance(value, str):
            value = float(value) if value is not None and math.isfinite(float(value)) else None
        rows.append({"key": key, "kind": kind, "unit": unit, "name_zh": zh, "name_en": en, "value": value})

    p = s.plan
    put("status", "status", "", "求解状态", "status", str(p.status))
    put("objective", "total", "yuan", "目标函数值", "objective", float(p.objective))
    own, apart = split_costs(p.costs)
    for c, v in zip(own["component"], own["yuan"], strict=True):
        put(f"cost.{c}", "cost", "yuan", "费用：" + component(c, "zh"), "cost: " + component(c, "en"), float(v))
    put("cost.total", "total", "yuan", "规划费用合计（不含另计项）",
        "plan cost total (without the items listed separately)", float(own["yuan"].sum()))
    for c, v in zip(apart["component"], apart["yuan"], strict=True):
        put(f"cost.{c}", "cost", "yuan", "另计：" + component(c, "zh"), "separately: " + component(c, "en"), float(v))
    put("shortage", "total", "t", "供应短缺合计（再生与原生供应均不能满足的需求）",
        "shortage total (demand neither recycled nor virgin supply meets)", float(s.totals.get("shortage_t", 0.0)))
    for c, v in zip(p.emissions["component"], p.emissions["kg"], strict=True):
        put(f"emission.{c}", "co2", "kg", "排放：" + component(c, "zh"), "CO2: " + component(c, "en"), float(v))
    v = s.values
    whole = v[(v["region"] == "") & (v["material"] == "")]
    present = set(whole["indicator"])
    order = [i for i in HEADLINE if i in present] + sorted(present - set(HEADLINE))
    for iid in order:
        for y in s.years:
            put(f"indicator.{iid}.{y}", "indicator", _unit(iid), f"{indicator_name(iid, 'zh')}（{y}）",
                f"{indicator_name(iid, 'en')} ({y})", s.indicator(iid, y))
    for _, t in s.targets.iterrows():
        put(f"target.{t['id']}", "attainment", "share",
            f"目标完成率：{t.get('name_zh') or indicator_name(t['indicator'], 'zh')}",
            f"attainment: {t.get('name_en') or indicator_name(t['indicator'], 'en')}",
            float(t["attainment"]) if pd.notna(t["attainment"]) else None)
    return rows


def side_by_side(variants: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """One row per quantity (key, kind, unit, name_zh, name_en), one column per variant, in the
    order the quantities first appear; a quantity one variant lacks is NaN there."""
    heads: dict[str, tuple] = {}  # a quantity is known by its key; its words come from where it first appears
    values: dict[str, dict[str, Any]] = {}
    for label, items in variants.items():
        for q in items:
            heads.setdefault(q["key"], (q["key"], q["kind"], q["unit"], q["name_zh"], q["name_en"]))
            values.setdefault(q["key"], {})[label] = np.nan if q["value"] is None else q["value"]
    index = pd.MultiIndex.from_tuples(list(heads.values()), names=["key", "kind", "unit", "name_zh", "name_en"])
    return pd.DataFrame([values[k] for k in heads], index=index, columns=list(variants)).reset_index()


def compare_table(summaries: dict[str, PlanFindings]) -> pd.DataFrame:
    """One row per quantity (key, kind, unit, name_zh, name_en), one column per variant."""
    return side_by_side({label: quantities(s) for label, s in summaries.items()})


def difference(a: Any, b: Any) -> float | None:
    """B − A of two numeric values (None when either is missing or not a number)."""
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return None
    if (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return None
    return float(b) - float(a)


def delta_text(value: float | None, unit: str, lang: str) -> str:
    """B − A as read: signed, in the quantity's magnitude; shares in percentage points."""
    if value is None:
        return "—"
    if value == 0:
        return "0" if lang == "zh" else "0"
    sign = "+" if value > 0 else "−"
    if unit == "share":
        return f"{sign}{abs(value) * 100:.1f} {'个百分点' if lang == 'zh' else 'pp'}"
    return sign + quantity(abs(value), unit, lang)


def _unit(iid: str) -> str:
    from resynergy.indicators import INDICATORS

    return INDICATORS[iid].unit


def cell(value, unit: str, lang: str) -> str:
    if isinstance(value, str):
        return status(value, lang)
    return quantity(value, unit, lang)


def _figures(summaries: dict[str, PlanFindings], table: pd.DataFrame, lang: str) -> dict:
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


def write_compare(summaries: dict[str, PlanFindings], path: Path) -> Path:
    """compare.html: the comparison table and charts, self-contained like report.html."""
    table = compare_table(summaries)
    labels = list(summaries)
    base, others = labels[0], labels[1:]  # each variant also as its change against the first
    t = Table("compare", {lang: [_t(lang, "项目", "item")] + labels + [f"{v} − {base}" for v in others]
                          for lang in LANGS},
              {lang: [[r["name_zh" if lang == "zh" else "name_en"]]
                      + [cell(r[v], r["unit"], lang) for v in labels]
                      + [delta_text(difference(r[base], r[v]), r["unit"], lang) for v in others]
                      for _, r in table.iterrows()] for lang in LANGS})
    figs = {k: {lang: _figures(summaries, table, lang)[k] for lang in LANGS}
            for k in ("costs", "co2", "attainment")}
    html = environment().get_template("compare.html.j2").render(
        langs=LANGS, version=__version__, labels=labels, comparison=t,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        plotly_js=get_plotlyjs(), figures=figure_json(figs), config=inline_json(PLOTLY_CONFIG),
        scenarios={k: str(s.plan.scenario) for k, s in summaries.items()})
    return write_text_atomic(path, html)
