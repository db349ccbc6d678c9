"""Plotly figures of a plan, one builder per chart, each in zh or en.

The map is drawn with plain cartesian traces of longitude/latitude (plotly's ``geo`` fetches
a world outline from a CDN); outlines come from the packaged GeoJSON boundaries.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from resynergy import datasets
from resynergy.report.labels import component, quantity, status
from resynergy.report.summary import PlanSummary, indicator_name

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")
ROLE_STYLE = {  # marker symbol, colour, size; drawn in this order (last on top)
    "disposal": ("x-thin-open", "#c77", 6), "generator": ("circle", "#8c564b", 7),
    "demand": ("triangle-up", "#1f77b4", 8), "terminal": ("diamond", "#393b79", 9),
    "facility": ("square", "#2ca02c", 9),
}
ROLE_NAME = {"generator": ("产废单位", "generators"), "facility": ("利用设施", "facilities"),
             "terminal": ("铁路货场", "rail terminals"), "demand": ("产品需求地", "demand sites"),
             "disposal": ("处置场", "disposal sites")}
MODE_DASH = {"rail": "dash", "road_nev": "dot"}
STATUS_COLOUR = {"met": "#2ca02c", "on_track": "#98df8a", "at_risk": "#ff7f0e",
                 "missed": "#d62728", "reported": "#7f7f7f", "not_measurable": "#7f7f7f"}
FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.01), height=height, font=dict(family=FONT),
                      margin=dict(l=60, r=20, t=50, b=40), paper_bgcolor="white",
                      plot_bgcolor="white")
    return fig


# --- map ------------------------------------------------------------------------------

def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for poly in geometry["coordinates"] for ring in poly]
    return []


def outline_xy(path: Path) -> tuple[list[float | None], list[float | None]]:
    """Longitudes and latitudes of every polygon ring of a GeoJSON file, separated by None."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for feat in _features(path):
        for ring in _rings(feat.get("geometry") or {"type": ""}):
            xs += [round(p[0], 4) for p in ring] + [None]
            ys += [round(p[1], 4) for p in ring] + [None]
    return xs, ys


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8")).get("features", [])


def seats(path: Path) -> list[tuple[float, float, str, str]]:
    """Point features of a GeoJSON file: (lon, lat, name_zh, name_en)."""
    out = []
    for f in _features(path):
        g, p = f.get("geometry") or {}, f.get("properties") or {}
        if g.get("type") == "Point":
            out.append((g["coordinates"][0], g["coordinates"][1], str(p.get("name_zh", "")),
                        str(p.get("name_en", ""))))
    return out


def boundary_files() -> dict[str, Path]:
    """The packaged outlines that exist (provinces, prefectures)."""
    found = {}
    for level in ("prefectures", "provinces"):
        p = datasets.boundaries(level)
        if p.exists():
            found[level] = p
    return found


def _width(t: float, t_max: float) -> float:
    return 1.0 + 7.0 * math.sqrt(t / t_max) if t_max > 0 else 1.0


def map_figure(s: PlanSummary, lang: str) -> dict:
    """Outlines, sites by role and flows by material and mode (each trace carries ``meta``)."""
    fig = go.Figure()
    for level, path in boundary_files().items():
        xs, ys = outline_xy(path)
        if any(x is not None for x in xs):
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                fill="toself" if level == "provinces" else None, fillcolor="rgba(18,53,91,0.04)",
                line=dict(color="#8a8a8a" if level == "provinces" else "#cfcfcf",
                          width=1.4 if level == "provinces" else 0.6),
                name=level, meta={"layer": "boundary"}))
        points = seats(path)
        if points:
            fig.add_trace(go.Scatter(
                x=[p[0] for p in points], y=[p[1] for p in points], mode="markers",
                name=_t(lang, "地级市驻地", "prefecture seats"),
                text=[p[2] if lang == "zh" else p[3] for p in points],
                hovertemplate="%{text}<extra></extra>",
                marker=dict(symbol="circle-open", size=5, color="#aaa"),
                meta={"layer": "seats"}))
    sites = s.scenario.table("sites").set_index("id")
    regions = s.scenario.table("regions")
    prov = regions[regions["level"] == "province"]
    fig.add_trace(go.Scatter(
        x=prov["lon"], y=prov["lat"], mode="text", hoverinfo="skip", showlegend=False,
        text=prov["name_zh" if lang == "zh" else "name_en"], textfont=dict(color="#777", size=13),
        meta={"layer": "labels"}))
    used = set(s.plan.flows["from_site"]) | set(s.plan.flows["to_site"])
    if isinstance(s.plan.activity, pd.DataFrame) and len(s.plan.activity):
        used |= set(s.plan.activity.loc[s.plan.activity["built"].astype(bool), "site"])
    markers = []
    for role, (symbol, colour, size) in ROLE_STYLE.items():
        r = sites[sites["roles"].str.split(";").map(lambda x, role=role: role in x)]
        r = r[r.index.isin(used)]
        if r.empty:
            continue
        markers.append(go.Scatter(
            x=r["lon"], y=r["lat"], mode="markers", name=_t(lang, *ROLE_NAME[role]),
            marker=dict(symbol=symbol, color=colour, size=size,
                        line=dict(color=colour if symbol.endswith("open") else "white", width=1)),
            text=r["name_zh" if lang == "zh" else "name_en"],
            hovertemplate="%{text}<extra>" + _t(lang, *ROLE_NAME[role]) + "</extra>",
            meta={"layer": "sites", "role": role}).to_plotly_json())
    fig.update_xaxes(visible=False, showgrid=False)
    # Plate carrée stretched by 1/cos(latitude) so the region keeps its shape.
    lat0 = float(np.nanmean(sites["lat"])) if len(sites) else 39.0
    fig.update_yaxes(visible=False, showgrid=False, scaleanchor="x",
                     scaleratio=1 / math.cos(math.radians(lat0)))
    fig.update_layout(legend=dict(orientation="v", x=1.0, y=1.0, bgcolor="rgba(255,255,255,.8)"),
                      hovermode="closest", dragmode="pan")
    doc = _layout(fig, _t(lang, "区域、站点与物料流向", "Region, sites and material flows"),
                  640).to_plotly_json()
    # Flow traces are plain dicts: hundreds of validated plotly objects would take seconds.
    doc["data"] += _flow_traces(s, sites, lang) + markers
    return doc


def _flow_traces(s: PlanSummary, sites: pd.DataFrame, lang: str) -> list[dict]:
    """One line trace per (year, material, mode, width class) and one hover-marker trace."""
    f = s.plan.flows
    f = f[f["t"] > 0].groupby(["year", "from_site", "to_site", "material", "mode"],
                              as_index=False)["t"].sum()
    f = f[f["from_site"].isin(sites.index) & f["to_site"].isin(sites.index)]
    if f.empty:
        return []
    t_max = float(f["t"].max())
    f["bin"] = pd.cut(np.sqrt(f["t"] / t_max), [0, 0.25, 0.5, 1.0001], labels=False)
    for end, col in (("a", "from_site"), ("z", "to_site")):
        f[f"x{end}"] = f[col].map(sites["lon"]).astype(float).round(4)
        f[f"y{end}"] = f[col].map(sites["lat"]).astype(float).round(4)
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(f["material"].unique()))}
    name = s.names
    site_name = {k: name("site", k, lang) for k in set(f["from_site"]) | set(f["to_site"])}
    traces: list[dict] = []
    for (year, material, mode), g in f.groupby(["year", "material", "mode"]):
        label = f"{name('material', material, lang)} · {name('mode', mode, lang)}"
        common = {"type": "scatter", "name": label, "legendgroup": f"{year}|{material}|{mode}",
                  "meta": {"layer": "flows", "year": int(year), "material": str(material),
                           "mode": str(mode)}}
        for i, (_, gb) in enumerate(g.groupby("bin")):
            n = len(gb)
            xs = np.column_stack([gb["xa"], gb["xz"], np.full(n, np.nan)]).ravel()
            ys = np.column_stack([gb["ya"], gb["yz"], np.full(n, np.nan)]).ravel()
            traces.append({**common, "mode": "lines", "showlegend": i == 0, "hoverinfo": "skip",
                           "opacity": 0.75, "x": _nulls(xs), "y": _nulls(ys),
                           "line": {"color": colours[material],
                                    "dash": MODE_DASH.get(mode, "solid"),
                                    "width": round(_width(float(gb["t"].max()), t_max), 2)}})
        text = [f"{site_name[a]} → {site_name[z]}<br>{label}<br>{quantity(t, 't', lang)}"
                for a, z, t in zip(g["from_site"], g["to_site"], g["t"], strict=True)]
        traces.append({**common, "mode": "markers", "showlegend": False, "text": text,
                       "x": ((g["xa"] + g["xz"]) / 2).round(4).tolist(),
                       "y": ((g["ya"] + g["yz"]) / 2).round(4).tolist(),
                       "marker": {"size": 6, "color": colours[material], "opacity": 0.01},
                       "hovertemplate": "%{text}<extra></extra>"})
    return traces


def _nulls(a: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in a]


# --- Sankey ---------------------------------------------------------------------------

def sankey_figure(s: PlanSummary, lang: str, year: int | None = None) -> go.Figure:
    """Materials → processes → materials, from generation and legacy stock to disposal and
    delivered demand. A process whose output feeds back into an earlier step draws a loop."""
    p = s.plan
    year = year if year is not None else (s.years[-1] if s.years else None)
    links: list[tuple[str, str, float]] = []
    src_gen, src_stock = _t(lang, "当年产生", "generated"), _t(lang, "历史堆存", "legacy stock")
    sink_disp, sink_dem = _t(lang, "处置", "disposal"), _t(lang, "交付需求", "delivered to demand")
    mat = lambda m: "▣ " + s.names("material", m, lang)  # noqa: E731
    proc = lambda x: "⚙ " + s.names("process", x, lang)  # noqa: E731

    def of_year(df: pd.DataFrame | None) -> pd.DataFrame:
        if not isinstance(df, pd.DataFrame) or df.empty:
            return pd.DataFrame()
        return df[df["year"] == year] if year is not None else df

    su = of_year(p.supply_use)
    if len(su):
        g = su.groupby("material")[["generation_t", "stock_drawn_t", "disposed_t"]].sum()
        for m, r in g.iterrows():
            links += [(src_gen, mat(m), r["generation_t"]), (src_stock, mat(m), r["stock_drawn_t"]),
                      (mat(m), sink_disp, r["disposed_t"])]
    fio = of_year(p.facility_io)
    if len(fio):
        g = fio.groupby(["process", "material", "direction"], as_index=False)["t"].sum()
        for _, r in g.iterrows():
            a, b = (mat(r["material"]), proc(r["process"])) if r["direction"] == "in" else (
                proc(r["process"]), mat(r["material"]))
            links.append((a, b, r["t"]))
    dl = of_year(p.deliveries)
    if len(dl):
        for m, t in dl.groupby("material")["delivered_t"].sum().items():
            links.append((mat(m), sink_dem, t))
    links = [(a, b, float(t)) for a, b, t in links if t and t > 0]
    nodes = list(dict.fromkeys([a for a, _, _ in links] + [b for _, b, _ in links]))
    index = {n: i for i, n in enumerate(nodes)}
    colour = ["#999" if n in (src_gen, src_stock, sink_disp, sink_dem) else
              "#2ca02c" if n.startswith("⚙") else "#1f77b4" for n in nodes]
    fig = go.Figure(go.Sankey(
        arrangement="snap", valueformat=",.0f", valuesuffix=_t(lang, " 吨", " t"),
        node=dict(label=nodes, color=colour, pad=12, thickness=14),
        link=dict(source=[index[a] for a, _, _ in links], target=[index[b] for _, b, _ in links],
                  value=[t for _, _, t in links], color="rgba(120,120,120,0.25)")))
    title = _t(lang, f"物料流（{year}年）", f"Material flows ({year})")
    return _layout(fig, title, 720)


# --- targets ---------------------------------------------------------------------------

def _target_label(r: pd.Series, s: PlanSummary, lang: str) -> str:
    name = r.get("name_zh" if lang == "zh" else "name_en") or indicator_name(r["indicator"], lang)
    scope = [s.names(k, r[k], lang) for k in ("region", "material") if r[k]]
    return f"{name}{' · ' + ' · '.join(scope) if scope else ''} ({r['year']})"


def attainment_figure(s: PlanSummary, lang: str) -> go.Figure:
    t = s.targets.iloc[::-1]
    labels = [_target_label(r, s, lang) for _, r in t.iterrows()]
    pct = (t["attainment"].fillna(0.0) * 100).clip(upper=200)
    hover = [f"{status(r['status'], lang)}<br>{_t(lang, '目标', 'target')} "
             f"{quantity(r['target'], r['unit'], lang)}<br>{_t(lang, '数值', 'value')} "
             f"{quantity(r['value'], r['unit'], lang)}" for _, r in t.iterrows()]
    fig = go.Figure(go.Bar(
        x=pct, y=labels, orientation="h", text=[f"{v:.0f}%" for v in pct],
        marker_color=[STATUS_COLOUR.get(x, "#999") for x in t["status"]],
        hovertext=hover, hoverinfo="text+y"))
    fig.add_vline(x=100, line=dict(color="#333", dash="dash"))
    fig.update_xaxes(title=_t(lang, "完成率（%，最多显示200%）", "attainment (%, capped at 200)"),
                     gridcolor="#eee", automargin=True)
    fig.update_yaxes(automargin=True)
    return _layout(fig, _t(lang, "目标完成率", "Target attainment"), 120 + 32 * len(t))


def trajectory_figure(s: PlanSummary, lang: str) -> go.Figure:
    """Attainment of each target over the years with values, and its projection."""
    fig = go.Figure()
    traj = s.monitor.trajectory
    targets = s.targets.set_index("id")
    for i, (tid, g) in enumerate(traj.groupby("id", sort=False)):
        r = targets.loc[tid]
        ratio = g["value"] / r["target"] if r["target"] else g["value"] * np.nan
        colour = PALETTE[i % len(PALETTE)]
        for kind, dash in (("actual", "solid"), ("projected", "dot")):
            gg = g[g["kind"] == kind]
            if gg.empty:
                continue
            fig.add_trace(go.Scatter(
                x=gg["year"], y=ratio[gg.index] * 100, mode="lines+markers",
                name=_target_label(r, s, lang), legendgroup=str(tid),
                showlegend=kind == "actual", line=dict(color=colour, dash=dash)))
        fig.add_trace(go.Scatter(x=[r["year"]], y=[100], mode="markers", showlegend=False,
                                 marker=dict(symbol="star", size=12, color=colour),
                                 hovertext=_t(lang, "目标", "target"), legendgroup=str(tid)))
    fig.add_hline(y=100, line=dict(color="#333", dash="dash"))
    fig.update_xaxes(title=_t(lang, "年份", "year"), dtick=1, gridcolor="#eee")
    fig.update_yaxes(title=_t(lang, "数值 / 目标（%）", "value / target (%)"), gridcolor="#eee")
    fig.update_layout(legend=dict(orientation="h", y=-0.2, yanchor="top"))
    title = _t(lang, "目标轨迹（★为目标年份；虚线为按趋势外推）",
               "Trajectory to the target year (★; dotted: projected by trend)")
    return _layout(fig, title, 460 + 22 * len(targets))


# --- costs and CO2 ---------------------------------------------------------------------

def _scale(unit: str, vmax: float, lang: str) -> tuple[float, str]:
    if unit == "yuan":
        opts = ((1e8, "亿元"), (1e4, "万元"), (1, "元")) if lang == "zh" else (
            (1e9, "bn yuan"), (1e6, "m yuan"), (1, "yuan"))
    else:  # kg CO2, shown in tonnes
        opts = ((1e11, "亿吨CO₂"), (1e7, "万吨CO₂"), (1e3, "吨CO₂")) if lang == "zh" else (
            (1e12, "Gt CO₂"), (1e9, "Mt CO₂"), (1e6, "kt CO₂"), (1e3, "t CO₂"))
    for factor, label in opts:
        if abs(vmax) >= factor:
            return factor, label
    return opts[-1]


def _bars(df: pd.DataFrame, col: str, lang: str, title: str, extra=()) -> go.Figure:
    rows = [(component(str(c), lang), float(v)) for c, v in zip(df["component"], df[col],
                                                               strict=True)] + list(extra)
    vmax = max((abs(v) for _, v in rows), default=0.0)
    factor, unit = _scale(col, vmax, lang)
    fig = go.Figure(go.Bar(
        x=[c for c, _ in rows], y=[v / factor for _, v in rows],
        text=[f"{v / factor:,.2f}" for _, v in rows], textposition="outside",
        marker_color=["#d62728" if v < 0 else "#1f77b4" for _, v in rows]))
    fig.update_yaxes(title=unit, gridcolor="#eee", zerolinecolor="#999")
    return _layout(fig, title, 380)


def costs_figure(s: PlanSummary, lang: str) -> go.Figure:
    return _bars(s.plan.costs, "yuan", lang, _t(lang, "费用构成", "Cost breakdown") + s.period(lang))


def co2_figure(s: PlanSummary, lang: str) -> go.Figure:
    # CO2 of the virgin products the plan's products displace, over the same years as the
    # emission components: avoided + emitted = displaced (indicator co2_avoided's definition).
    displaced = sum(s.indicator("co2_avoided", y) + s.indicator("co2", y) for y in s.years)
    extra = [] if math.isnan(displaced) or not s.years else [
        (_t(lang, "替代原生产品（减排）", "virgin products displaced (avoided)"), -displaced)]
    return _bars(s.plan.emissions, "kg", lang,
                 _t(lang, "二氧化碳：排放与替代减排", "CO2: emitted and avoided") + s.period(lang),
                 extra)


FIGURES = {"map": map_figure, "sankey": sankey_figure, "attainment": attainment_figure,
           "trajectory": trajectory_figure, "costs": costs_figure, "co2": co2_figure}
