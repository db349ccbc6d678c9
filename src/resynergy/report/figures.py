"""Plotly figures of a plan, one builder per chart, each in zh or en.

The map is drawn with plain cartesian traces of longitude/latitude (plotly's ``geo`` fetches
a world outline from a CDN); outlines come from the packaged GeoJSON boundaries.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from resynergy import datasets
from resynergy.network.regions import ancestors
from resynergy.report.findings import PlanFindings, indicator_name
from resynergy.report.labels import component, status
from resynergy.schema.numbers import quantity

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
    """Title, size and fonts of every chart; ``meta.download`` names its PNG after the title
    (charts.js passes it to plotly's toImageButtonOptions)."""
    fig.update_layout(title=dict(text=title, x=0.01), height=height, font=dict(family=FONT),
                      margin=dict(l=60, r=20, t=50, b=40), paper_bgcolor="white",
                      plot_bgcolor="white", meta={"download": download_name(title)})
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
    xs, ys = _outline_xy(path, path.stat().st_mtime_ns)
    return list(xs), list(ys)


@functools.lru_cache(maxsize=8)
def _outline_xy(path: Path, mtime_ns: int) -> tuple[tuple[float | None, ...],
                                                     tuple[float | None, ...]]:
    """:func:`outline_xy`, once per file version (the map of each language draws it)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for feat in _features(path):
        for ring in _rings(feat.get("geometry") or {"type": ""}):
            xs += [round(p[0], 4) for p in ring] + [None]
            ys += [round(p[1], 4) for p in ring] + [None]
    return tuple(xs), tuple(ys)


def _features(path: Path) -> list[dict]:
    """The features of a GeoJSON file, parsed once per file version (callers only read them)."""
    return _parsed(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8")).get("features", [])


def warm_boundaries() -> None:
    """Read and measure the packaged outlines now (they are the same for every plan), so that
    drawing the map later reuses them."""
    for path in boundary_files().values():
        outline_xy(path)
    _outline_bbox()
    _centroids()


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


# --- shared: filters, download names, magnitudes --------------------------------------

MAX_SITE_POINTS = 2000  # above this, sites are drawn one marker per prefecture and role
WIDTHS = (1.2, 2.4, 4.0, 6.5)  # px of the flow-line classes, thinnest first
CLASS_EDGES = (1 / 16, 1 / 4, 9 / 16)  # class bounds as shares of the largest pair's tonnes
GROUP = {  # material kind: zh, en, colour (node) and the link colour
    "industrial_waste": ("工业固废", "industrial solid waste", "#8c564b", "rgba(140,86,75,0.35)"),
    "recycled_resource": ("再生资源", "recycled resources", "#1f77b4", "rgba(31,119,180,0.35)"),
    "urban_waste": ("城市固废", "urban waste", "#9467bd", "rgba(148,103,189,0.35)"),
    "product": ("再生产品", "recycled products", "#2ca02c", "rgba(44,160,44,0.35)"),
    "": ("其他", "other", "#7f7f7f", "rgba(127,127,127,0.3)"),
}
MODE_COLOUR = {"rail": "#1f4e9a", "road_nev": "#2a9d4b", "road_diesel": "#b5651d"}
ALL = "*"


CHARTS_JS = Path(__file__).with_name("charts.js")


def charts_js() -> str:
    """The chart script (ResynergyCharts.plot / .filter) that pages inline or serve next to
    plotly.js; it holds no '</script' or '<!--', so it is safe inside a <script> element."""
    return CHARTS_JS.read_text(encoding="utf-8")


def download_name(title: str) -> str:
    """A file name for a chart's PNG: its title without characters file systems refuse."""
    name = "".join(c for c in title if c not in '\\/:*?"<>|').strip()
    return name[:80] or "chart"


def tonne_scales(lang: str) -> list[list]:
    """The magnitudes :func:`quantity` writes tonnes in (largest first), for the chart script,
    read off quantity itself so the page and the report say the same."""
    out: list[list] = []
    for f in (1e9, 1e8, 1e6, 1e4, 1e3, 1.0):
        num, unit = quantity(f, "t", lang).split(" ", 1)
        if float(num.replace(",", "")) == 1.0:
            out.append([f, unit])
    return out


def compact(t: float, lang: str) -> str:
    """Tonnes in three significant figures at most, in :func:`quantity`'s magnitudes
    ('9,227 万吨', '1.3 亿吨'): the labels written on charts."""
    for f, unit in tonne_scales(lang):
        if abs(t) >= f or f == 1.0:
            v = t / f
            return f"{v:,.{0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2}f} {unit}"
    return f"{t:,.0f}"


def _menus(menus: list[tuple[str, list[tuple[str, str]], int]]) -> tuple[list[dict], list[int]]:
    """In-figure dropdowns in a row above the plot, and each one's estimated width in px
    (charts.js packs them into rows that fit the page)."""
    out, widths, x = [], [], 0.0
    for key, options, active in menus:
        opts = [(v, _short(lbl)) for v, lbl in options]
        w = int(max((_text_px(lbl, 12) for _, lbl in opts), default=40) + 44)
        out.append(_menu(key, opts, active, x, 1.01))
        widths.append(w)
        x += w / 1100
    return out, widths


def menu_title(base: str, menus: list[dict], lang: str) -> str:
    """The title with the menus' choices that narrow the view, e.g. 区域地图（2022年 · 尾矿）:
    what a downloaded PNG shows (charts.js writes the same when a menu changes)."""
    parts = [m["buttons"][m.get("active", 0)]["label"] for m in menus
             if m["buttons"] and (m.get("active", 0) or m["buttons"][0]["name"] != ALL)]
    if not parts:
        return base
    return f"{base}（{' · '.join(parts)}）" if lang == "zh" else f"{base} ({' · '.join(parts)})"


def _menu(key: str, options: list[tuple[str, str]], active: int, x: float, y: float) -> dict:
    """An in-figure dropdown; its buttons do nothing by themselves ("skip"): charts.js reads
    the active entries of every menu and filters (plotly cannot combine two menus' choices)."""
    return {"type": "dropdown", "name": key, "active": active, "x": x, "y": y,
            "xanchor": "left", "yanchor": "bottom", "showactive": True,
            "pad": {"r": 2, "t": 2, "b": 2, "l": 2}, "font": {"size": 12},
            "bgcolor": "white", "bordercolor": "#bbb",
            "buttons": [{"label": label, "method": "skip", "args": [], "name": value}
                        for value, label in options]}


def _short(name: str) -> str:
    """A menu label: the name without its parenthesised detail."""
    return name.split("（")[0].split(" (")[0]


# --- places: where each site lies --------------------------------------------------------

def places(scenario) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Map places (prefectures, and province-level cities that have none) with seat coordinates,
    names and province; and each site's place and province. Sites without a known region are
    left out (NaN)."""
    regions = scenario.table("regions")
    chains = ancestors(regions)
    level = dict(zip(regions["code"].astype(str), regions["level"].astype(str), strict=True))
    sites = scenario.table("sites")
    codes = sites["region"].fillna("").astype(str)

    def place(code: str) -> tuple[str, str]:
        if not code:
            return "", ""
        chain = chains.get(code) or (code, code[:2] + "0000")
        prov = next((c for c in chain if level.get(c) == "province"), chain[-1])
        pref = next((c for c in chain if level.get(c) == "prefecture"), prov)
        return pref, prov

    lookup = {c: place(c) for c in codes.unique()}
    site_place = pd.Series([lookup[c][0] for c in codes], index=sites["id"].astype(str))
    site_prov = pd.Series([lookup[c][1] for c in codes], index=site_place.index)
    site_place, site_prov = site_place.replace("", np.nan), site_prov.replace("", np.nan)
    r = regions.set_index(regions["code"].astype(str))
    used = sorted(set(site_place.dropna()))
    seat = pd.DataFrame(index=pd.Index(used, name="code"))
    mean = sites.assign(place=site_place.to_numpy()).groupby("place")[["lon", "lat"]].mean()
    for col in ("lon", "lat"):
        seat[col] = r[col].reindex(used).astype(float).fillna(mean[col].reindex(used))
    for col in ("name_zh", "name_en"):
        seat[col] = r[col].reindex(used).fillna(pd.Series(used, index=used))
    seat["province"] = [lookup.get(c, (c, c[:2] + "0000"))[1] if c in lookup else
                        (next((x for x in (chains.get(c) or (c,)) if level.get(x) == "province"),
                              c[:2] + "0000")) for c in used]
    return seat, site_place, site_prov


def _places(s: PlanFindings) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """:func:`places` of the plan's scenario, computed once per findings."""
    return s.once("places", lambda: places(s.scenario))


def flow_pairs(s: PlanFindings, site_place: pd.Series | None = None) -> pd.DataFrame:
    """Transported tonnes by year, material, mode and (origin place, destination place): the
    flows the map draws. Every leg counts (an intermodal route's road and rail legs apart);
    co-located use is not transport and is left out. Columns year, material, mode, a, b, t."""
    f = s.transport_flows()
    cols = ["year", "material", "mode", "a", "b", "t"]
    if f.empty:
        return pd.DataFrame(columns=cols)
    site_place = places(s.scenario)[1] if site_place is None else site_place
    f = f[f["t"] > 0]
    f = f.assign(a=_str(f["from_site"]).map(site_place),
                 b=_str(f["to_site"]).map(site_place)).dropna(subset=["a", "b"])
    out = f.groupby(["year", "material", "mode", "a", "b"], as_index=False)["t"].sum()
    out["year"] = out["year"].astype(int)
    return out[cols]


# --- map ------------------------------------------------------------------------------

def _outline_bbox(codes: list[str] | None = None) -> dict[str, list[float]]:
    """Bounding boxes (lon0, lon1, lat0, lat1) of the packaged province outlines."""
    path = boundary_files().get("provinces")
    if path is None:
        return {}
    return {code: list(box) for code, box in _bboxes(path, path.stat().st_mtime_ns).items()
            if codes is None or code in codes}


@functools.lru_cache(maxsize=4)
def _bboxes(path: Path, mtime_ns: int) -> dict[str, tuple[float, ...]]:
    """:func:`_outline_bbox` of every feature of ``path``, read once per file version (the map
    of each language asks for them)."""
    out: dict[str, tuple[float, ...]] = {}
    for feat in _features(path):
        code = str((feat.get("properties") or {}).get("code", ""))
        pts = [p for ring in _rings(feat.get("geometry") or {"type": ""}) for p in ring]
        if pts:
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            out[code] = (min(xs), max(xs), min(ys), max(ys))
    return out


def _centroids() -> dict[str, tuple[float, float]]:
    """Area centroid of each province's largest outline ring (where its name is written)."""
    path = boundary_files().get("provinces")
    return dict(_centroids_of(path, path.stat().st_mtime_ns)) if path else {}


@functools.lru_cache(maxsize=4)
def _centroids_of(path: Path, mtime_ns: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for feat in _features(path):
        best = (0.0, 0.0, 0.0)
        for ring in _rings(feat.get("geometry") or {"type": ""}):
            x, y = np.asarray([p[0] for p in ring]), np.asarray([p[1] for p in ring])
            cross = x[:-1] * y[1:] - x[1:] * y[:-1]
            a = cross.sum() / 2
            if abs(a) > abs(best[0]):
                best = (a, ((x[:-1] + x[1:]) * cross).sum() / (6 * a),
                        ((y[:-1] + y[1:]) * cross).sum() / (6 * a))
        if best[0]:
            out[str(feat["properties"]["code"])] = (round(best[1], 3), round(best[2], 3))
    return out


def _pad(box: list[float], share: float = 0.04) -> list[float]:
    dx, dy = (box[1] - box[0]) or 1.0, (box[3] - box[2]) or 1.0
    return [box[0] - share * dx, box[1] + share * dx, box[2] - share * dy, box[3] + share * dy]


def _union(boxes: list[list[float]]) -> list[float]:
    return [min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes),
            max(b[3] for b in boxes)]


LABEL_SPOTS = (  # textposition, and where the label's box lies from the point (px, y up)
    ("top center", 0.0, 7.0, "c"), ("bottom center", 0.0, -7.0, "c"),
    ("middle right", 6.0, 0.0, "l"), ("middle left", -6.0, 0.0, "r"),
    ("top right", 4.0, 6.0, "l"), ("top left", -4.0, 6.0, "r"),
    ("bottom right", 4.0, -6.0, "l"), ("bottom left", -4.0, -6.0, "r"))


def _text_px(text: str, size: float) -> float:
    return sum(size if ord(c) > 0x2E80 else 0.58 * size for c in text)


def place_labels(x: np.ndarray, y: np.ndarray, texts: list[str], obstacles: np.ndarray,
                 box: list[float], size: float = 10.0, canvas: tuple[int, int] = (900, 700)
                 ) -> list[str]:
    """A textposition for each label that covers the fewest markers (``obstacles``, an n×2
    array of lon, lat) and earlier labels, at the map's first view (``box`` in ``canvas`` px)."""
    k = 1 / math.cos(math.radians((box[2] + box[3]) / 2))
    ppd = min(canvas[0] / max(box[1] - box[0], 1e-6), canvas[1] / max((box[3] - box[2]) * k, 1e-6))
    ox, oy = obstacles[:, 0] * ppd, obstacles[:, 1] * ppd * k  # in px
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for xi, yi, text in zip(x * ppd, y * ppd * k, texts, strict=True):
        w, h = _text_px(text, size), size * 1.2
        best, best_score = LABEL_SPOTS[0][0], math.inf
        for spot, dx, dy, anchor in LABEL_SPOTS:
            x0 = xi + dx - (w / 2 if anchor == "c" else w if anchor == "r" else 0)
            y0 = yi + dy - (h / 2 if dy == 0 else h if dy < 0 else 0)
            x1, y1 = x0 + w, y0 + h
            hits = int(((ox > x0 - 2) & (ox < x1 + 2) & (oy > y0 - 2) & (oy < y1 + 2)).sum())
            over = sum(1 for a in placed if a[0] < x1 and x0 < a[2] and a[1] < y1 and y0 < a[3])
            score = hits + 3 * over
            if score < best_score:
                best, best_score, rect = spot, score, (x0, y0, x1, y1)
            if score == 0:
                break
        placed.append(rect)
        out.append(best)
    return out


def _site_codes(s: PlanFindings, years: list[int], materials: list[str]) -> pd.DataFrame:
    """Which (year, material) codes each site handles (code = year index × len(materials) +
    material index): what the material and year filters keep a site for. Columns site, code,
    one row per pair."""
    yi = {y: i for i, y in enumerate(years)}
    mi = {m: i for i, m in enumerate(materials)}
    parts = []
    p = s.plan
    f = p.flows
    if len(f):
        parts += [f[["year", "from_site", "material"]].set_axis(["year", "site", "material"], axis=1),
                  f[["year", "to_site", "material"]].set_axis(["year", "site", "material"], axis=1)]
    for df, col in ((p.supply_use, "generation_t"), (p.facility_io, "t"), (p.deliveries, "delivered_t")):
        if isinstance(df, pd.DataFrame) and len(df) and col in df:
            parts.append(df.loc[df[col] > 0, ["year", "site", "material"]])
    d = pd.concat(parts, ignore_index=True).drop_duplicates() if parts else None
    if d is not None:
        d = d[d["year"].isin(yi) & d["material"].isin(mi)]
    if d is None or d.empty:  # nothing handled: no codes (an empty text column maps to text)
        return pd.DataFrame({"site": pd.Series(dtype=str), "code": pd.Series(dtype=int)})
    code = d["year"].map(yi) * len(materials) + d["material"].map(mi)
    return pd.DataFrame({"site": _str(d["site"]).to_numpy(), "code": code.astype(int).to_numpy()})


def _str(col: pd.Series) -> pd.Series:
    """``col`` as Python strings, converting each distinct value once (fast on 10^5 rows)."""
    return col.map({v: str(v) for v in col.unique()})


def _keys_by(codes: pd.DataFrame, unit: pd.Series, index: pd.Index) -> list[list[int]]:
    """Sorted codes per unit (a site, or a place when sites are aggregated), for ``index``."""
    d = codes.assign(unit=codes["site"].map(unit)).dropna(subset=["unit"])
    d = d[d["unit"].isin(index)].drop_duplicates(["unit", "code"]).sort_values(["unit", "code"])
    by = d.groupby("unit")["code"].agg(list)
    return [by.get(u, []) for u in index]


class _Selection:
    """The map's and Sankey's filter: year, material ('*', a code or 'kind:<kind>'), mode and
    province ('*' = all). charts.js applies the same rules in the page."""

    def __init__(self, year, material=ALL, mode=ALL, province=ALL):
        self.year, self.material, self.mode = year, material or ALL, mode or ALL
        self.province = province or ALL

    def material_ok(self, materials: pd.Series, kinds: pd.Series) -> pd.Series:
        if self.material == ALL:
            return pd.Series(True, index=materials.index)
        if self.material.startswith("kind:"):
            return materials.map(kinds).fillna("") == self.material[5:]
        return materials == self.material


def _flow_view(rows: pd.DataFrame, seat: pd.DataFrame, kinds: pd.Series, sel: _Selection,
               bounds: list[float | None], names: dict[str, dict[str, str]], lang: str,
               modes: list[str]) -> dict:
    """x/y of each (mode, width class) line trace, the hover points and the within-place
    circles for one selection (charts.js ``flowView`` is the same computation)."""
    r = rows[(rows["year"] == sel.year) & sel.material_ok(rows["material"], kinds)]
    if sel.mode != ALL:
        r = r[r["mode"] == sel.mode]
    if sel.province != ALL:
        prov = seat["province"]
        r = r[(r["a"].map(prov) == sel.province) | (r["b"].map(prov) == sel.province)]
    out: dict = {"lines": {(m, k): ([], []) for m in modes for k in range(len(WIDTHS))},
                 "hover": ([], [], []), "within": ([], [], [], [])}
    if r.empty:
        return out
    q = lambda t: quantity(t, "t", lang)  # noqa: E731
    total = _t(lang, "合计", "total")
    # rows by (a, b, mode) in key order, each group's rows in their order (as a sorted
    # groupby iterates them), in plain Python: hundreds of small pandas groupbys cost seconds
    groups: dict[tuple[str, str, str], tuple[list[str], list[float]]] = {}
    for a, b, m, mat, t in zip(r["a"].tolist(), r["b"].tolist(), r["mode"].tolist(),
                               r["material"].tolist(), r["t"].tolist(), strict=True):
        g = groups.setdefault((a, b, m), ([], []))
        g[0].append(mat)
        g[1].append(t)
    lon, lat = seat["lon"].to_dict(), seat["lat"].to_dict()
    for (a, b, m) in sorted(groups):
        mats, ts = groups[(a, b, m)]
        t = float(np.sum(np.asarray(ts, dtype=float)))  # numpy's sum, as pandas' Series.sum
        by = _by_material(mats, ts)
        detail = " · ".join(f"{names['material'].get(k, k)} {q(v)}" for k, v in by[:3])
        if len(by) > 3:
            detail += " …"
        xa, ya, xb, yb = float(lon[a]), float(lat[a]), float(lon[b]), float(lat[b])
        head = (f"{names['place'].get(a, a)} → {names['place'].get(b, b)} · "
                f"{names['mode'].get(m, m)}") if a != b else (
            f"{names['place'].get(a, a)} {_t(lang, '市内', 'within')} · {names['mode'].get(m, m)}")
        text = f"{head}<br>{total} {q(t)}<br>{detail}"
        if a == b:
            w = out["within"]
            w[0].append(xa), w[1].append(ya), w[2].append(t), w[3].append(text)
            continue
        k = sum(1 for edge in bounds if edge is not None and t >= edge)
        xs, ys = out["lines"][(m, k)]
        xs += [xa, xb, None]
        ys += [ya, yb, None]
        h = out["hover"]
        h[0].append(round(xa + 0.45 * (xb - xa), 4)), h[1].append(round(ya + 0.45 * (yb - ya), 4))
        h[2].append(text)
    return out


def _by_material(mats: list[str], ts: list[float]) -> list[tuple[str, float]]:
    """Tonnes by material, largest first (ties in material order): what
    ``groupby("material").sum().sort_values(ascending=False, kind="stable")`` gives."""
    sums: dict[str, float] = {}
    for mat, t in zip(mats, ts, strict=True):
        sums[mat] = sums[mat] + t if mat in sums else t
    return sorted(sorted(sums.items()), key=lambda kv: -kv[1])


def _nice(v: float) -> float:
    """``v`` rounded to two significant digits (class bounds that read well)."""
    if v <= 0:
        return 0.0
    e = 10 ** (math.floor(math.log10(v)) - 1)
    return round(v / e) * e


def map_figure(s: PlanFindings, lang: str, year: int | None = None, material: str | None = None,
               mode: str | None = None, province: str | None = None) -> dict:
    """Province outlines, prefecture labels, sites by type and transport flows aggregated by
    place pair (prefecture, or province-level city) with width classes by tonnes a year.

    The number of traces is fixed (sites by type, one line trace per mode and width class, a
    hover layer, within-place circles), so it does not grow with the flows; sites are
    aggregated by place and type above :data:`MAX_SITE_POINTS`. In-figure dropdowns choose
    year, material (or material group), mode and province; the figure's ``layout.meta`` holds
    the aggregated rows that charts.js re-sums when a filter changes. The arguments give the
    initial selection (year defaults to the plan's last year)."""
    names_of = s.names
    seat, site_place, site_prov = _places(s)
    rows = s.once("flow_pairs", lambda: flow_pairs(s, site_place))
    years = s.years or sorted(set(rows["year"]))
    mats = s.scenario.table("materials")
    kinds = pd.Series(mats["kind"].astype(str).to_numpy(), index=mats["code"].astype(str))
    flow_materials = sorted(set(rows["material"]))
    all_materials = sorted(set(flow_materials) | set(s.plan.facility_io["material"])
                           if isinstance(s.plan.facility_io, pd.DataFrame) and len(s.plan.facility_io)
                           else set(flow_materials))
    modes = [m for m in MODE_COLOUR if m in set(rows["mode"])] + sorted(
        set(rows["mode"]) - set(MODE_COLOUR))
    sel = _Selection(year if year is not None else (years[-1] if years else None),
                     material, mode, province)
    names = {"place": {c: str(seat.at[c, "name_zh" if lang == "zh" else "name_en"])
                       for c in seat.index},
             "material": {m: names_of("material", m, lang) for m in all_materials},
             "mode": {m: names_of("mode", m, lang) for m in modes}}
    # one width scale for every filter: classes are shares of the largest pair of any year
    pair = rows[rows["a"] != rows["b"]].groupby(["year", "a", "b", "mode"])["t"].sum()
    t_ref = float(pair.max()) if len(pair) else 0.0
    bounds: list[float | None] = ([_nice(t_ref * e) for e in CLASS_EDGES] if t_ref > 0
                                  else [None] * len(CLASS_EDGES))
    view = _flow_view(rows, seat, kinds, sel, bounds, names, lang, modes)

    fig = go.Figure()
    prov_box = _outline_bbox()
    path = boundary_files().get("provinces")
    if path is not None:
        xs, ys = outline_xy(path)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False, fill="toself",
            fillcolor="rgba(18,53,91,0.04)", line=dict(color="#8a8a8a", width=1.2),
            name=_t(lang, "省界", "provinces"), meta={"layer": "boundary"}))
    traces: list[dict] = fig.to_plotly_json()["data"]
    # --- sites (legend first) ---
    sites = s.scenario.table("sites")
    sites["id"] = sites["id"].astype(str)
    sites = sites.set_index("id")
    ids = lambda col: {str(v) for v in col.unique()}  # noqa: E731
    used = ids(s.plan.flows["from_site"]) | ids(s.plan.flows["to_site"])
    if isinstance(s.plan.activity, pd.DataFrame) and len(s.plan.activity):
        used |= ids(s.plan.activity.loc[s.plan.activity["built"].astype(bool), "site"])
    for df in (s.plan.supply_use, s.plan.deliveries):
        if isinstance(df, pd.DataFrame) and len(df):
            used |= ids(df["site"])
    codes = s.once(("site_codes", tuple(years), tuple(all_materials)),
                   lambda: _site_codes(s, years, all_materials))
    # plain object ids: pandas' arrow strings test membership element by element
    sites.index = pd.Index([str(v) for v in sites.index], dtype=object)
    in_used = np.fromiter((i in used for i in sites.index), bool, len(sites))
    m_index = {m: i for i, m in enumerate(all_materials)}
    y_index = {y: i for i, y in enumerate(years)}
    prov_codes = sorted(set(seat["province"]))
    role_of = {v: {x.strip() for x in str(v).split(";")} for v in sites["roles"].unique()}
    has_role = {role: sites["roles"].map(lambda v, role=role: role in role_of[v]).to_numpy(bool)
                for role in ROLE_STYLE}
    aggregate = len(used) > MAX_SITE_POINTS
    markers_xy: list[np.ndarray] = []
    for rank, (role, (symbol, colour, size)) in enumerate(ROLE_STYLE.items()):
        r = sites[has_role[role] & in_used]
        if r.empty:
            continue
        pv = site_prov.reindex(r.index).fillna("")
        mine = codes[codes["site"].isin(r.index)]
        if aggregate:  # one marker per place: its seat, count in the hover
            count = site_place.reindex(r.index).dropna().value_counts().sort_index()
            x = seat.loc[count.index, "lon"].to_numpy()
            y = seat.loc[count.index, "lat"].to_numpy()
            text = [f"{names['place'][c]} · {_t(lang, *ROLE_NAME[role])} {n:,}"
                    + _t(lang, " 个", "") for c, n in count.items()]
            pkeys = s.once(("map_keys", role, tuple(years), tuple(all_materials)),
                           lambda mine=mine, at=count.index: _keys_by(mine, site_place, at))
            pprov = [seat.at[c, "province"] for c in count.index]
            msize = (size + 3 * np.log10(count.to_numpy())).round(1).tolist()
        else:
            x, y = r["lon"].astype(float).to_numpy(), r["lat"].astype(float).to_numpy()
            text = names_of.series("site", r.index.to_series(), lang).tolist()
            pkeys = s.once(("site_keys", role, tuple(years), tuple(all_materials)),
                           lambda mine=mine, at=r.index: _keys_by(
                               mine, pd.Series(at, index=at), at))
            pprov, msize = pv.tolist(), size
        markers_xy.append(np.column_stack([x, y]))
        keep = _site_mask(pkeys, pprov, sel, years, all_materials, kinds, y_index, m_index)
        traces.append({
            "type": "scatter", "mode": "markers", "name": _t(lang, *ROLE_NAME[role]),
            "legendgroup": "sites", "legendrank": 100 + rank,
            **({"legendgrouptitle": {"text": _t(lang, "站点类型", "Site types")}}
               if rank == 0 or not any(t.get("legendgroup") == "sites" for t in traces) else {}),
            "x": [round(float(v), 4) if ok else None for v, ok in zip(x, keep, strict=True)],
            "y": [round(float(v), 4) if ok else None for v, ok in zip(y, keep, strict=True)],
            "text": text, "hovertemplate": "%{text}<extra>" + _t(lang, *ROLE_NAME[role]) + "</extra>",
            "marker": {"symbol": symbol, "color": colour, "size": msize,
                       "line": {"color": colour if symbol.endswith("open") else "white", "width": 1}},
            "meta": {"layer": "sites", "role": role, "keys": pkeys,
                     "prov": [prov_codes.index(p) if p in prov_codes else -1 for p in pprov],
                     "x": [round(float(v), 4) for v in x], "y": [round(float(v), 4) for v in y]}})
    # --- flows: legend entries by mode and width class, then the lines themselves ---
    dummy = {"type": "scatter", "x": [None], "y": [None], "mode": "lines", "hoverinfo": "skip"}
    for i, m in enumerate(modes):
        traces.append({**dummy, "name": names["mode"][m], "legendgroup": f"mode:{m}",
                       "legendrank": 200 + i, "line": {"color": MODE_COLOUR.get(m, "#555"),
                                                       "width": 3, "dash": MODE_DASH.get(m, "solid")},
                       **({"legendgrouptitle": {"text": _t(lang, "运输方式", "Transport mode")}}
                          if i == 0 else {}),
                       "meta": {"layer": "legend"}})
    q = lambda t: compact(t, lang)  # noqa: E731
    if t_ref > 0:
        labels = [f"< {q(bounds[0])}"] + [f"{q(a)} – {q(b)}" for a, b in zip(bounds, bounds[1:],
                                                                                 strict=False)] + [f"≥ {q(bounds[-1])}"]
        for k, w in enumerate(WIDTHS):
            traces.append({**dummy, "name": labels[k], "legendgroup": "width", "legendrank": 300 + k,
                           "line": {"color": "#777", "width": w},
                           **({"legendgrouptitle": {"text": _t(lang, "线宽：年运量", "Line width: t a year")}}
                              if k == 0 else {}), "meta": {"layer": "legend", "width": True}})
    for m in modes:
        for k, w in enumerate(WIDTHS):
            xs, ys = view["lines"][(m, k)]
            traces.append({"type": "scatter", "mode": "lines", "showlegend": False,
                           "legendgroup": f"mode:{m}", "hoverinfo": "skip", "opacity": 0.8,
                           "x": xs, "y": ys, "name": names["mode"][m],
                           "line": {"color": MODE_COLOUR.get(m, "#555"), "width": w,
                                    "dash": MODE_DASH.get(m, "solid")},
                           "meta": {"layer": "flows", "mode": m, "cls": k}})
    wx, wy, wt, wtext = view["within"]
    traces.append({"type": "scatter", "mode": "markers", "legendrank": 400,
                   "name": _t(lang, "市内运输（圆按吨数）", "within a city (circle by t)"),
                   "x": wx, "y": wy, "text": wtext, "hovertemplate": "%{text}<extra></extra>",
                   "marker": {"size": _within_size(wt, t_ref), "color": "rgba(120,120,120,0.25)",
                              "line": {"color": "#777", "width": 1}},
                   "meta": {"layer": "within"}})
    hx, hy, htext = view["hover"]
    traces.append({"type": "scatter", "mode": "markers", "showlegend": False, "x": hx, "y": hy,
                   "text": htext, "hovertemplate": "%{text}<extra></extra>",
                   "marker": {"size": 8, "color": "#333", "opacity": 0.01},
                   "meta": {"layer": "flow_hover"}})
    # --- labels: provinces at their outline's centroid, prefectures clear of markers ---
    cen = _centroids()
    provs = s.scenario.table("regions").query("level == 'province'")
    if len(provs):
        px = [cen.get(str(c), (lo, la))[0] for c, lo, la in zip(provs["code"], provs["lon"], provs["lat"], strict=True)]
        py = [cen.get(str(c), (lo, la))[1] for c, lo, la in zip(provs["code"], provs["lon"], provs["lat"], strict=True)]
        traces.insert(1, {"type": "scatter", "mode": "text", "x": px, "y": py, "showlegend": False,
                          "hoverinfo": "skip", "text": provs["name_zh" if lang == "zh" else "name_en"].tolist(),
                          "textfont": {"color": "rgba(18,53,91,0.45)", "size": 15},
                          "meta": {"layer": "labels"}})
    prefs = seat[seat.index.map(lambda c: c not in set(provs["code"].astype(str)))]
    boxes = list(prov_box.values()) or [[float(seat["lon"].min()), float(seat["lon"].max()),
                                         float(seat["lat"].min()), float(seat["lat"].max())]]
    site_box = [float(sites["lon"].min()), float(sites["lon"].max()),
                float(sites["lat"].min()), float(sites["lat"].max())] if len(sites) else boxes[0]
    full = _pad(_union(boxes + [site_box]) if prov_box else site_box)
    box = _pad(prov_box[sel.province]) if sel.province in prov_box else full
    if len(prefs):
        obstacles = np.vstack(markers_xy + [prefs[["lon", "lat"]].to_numpy(float)]) if markers_xy \
            else prefs[["lon", "lat"]].to_numpy(float)
        ptext = [names["place"][c] for c in prefs.index]
        spots = place_labels(prefs["lon"].to_numpy(float), prefs["lat"].to_numpy(float), ptext,
                             obstacles, full)
        traces.insert(2, {"type": "scatter", "mode": "markers+text", "x": prefs["lon"].round(4).tolist(),
                          "y": prefs["lat"].round(4).tolist(), "text": ptext, "textposition": spots,
                          "textfont": {"size": 10, "color": "#555"}, "showlegend": False,
                          "name": _t(lang, "地级市驻地", "prefecture seats"),
                          "hovertemplate": "%{text}<extra></extra>",
                          "marker": {"symbol": "circle-open", "size": 4, "color": "#999"},
                          "meta": {"layer": "seats"}})
    title = _t(lang, "区域地图：站点与物料流向", "Map: sites and material flows")
    lat0 = (full[2] + full[3]) / 2
    prov_names = {c: names_of("region", c, lang) for c in prov_codes}
    menus = [
        ("year", [(str(y), _t(lang, f"{y}年", str(y))) for y in years],
         years.index(sel.year) if sel.year in years else 0),
        ("material", _material_options(all_materials, flow_materials, kinds, names, lang),
         None),
        ("mode", [(ALL, _t(lang, "全部运输方式", "all modes"))] + [(m, names["mode"][m]) for m in modes],
         None),
        ("province", [(ALL, _t(lang, "全部省份", "all provinces"))] + list(prov_names.items()),
         None)]
    resolved = []
    for key, options, active in menus:
        values = [v for v, _ in options]
        current = {"material": sel.material, "mode": sel.mode, "province": sel.province}.get(key)
        if active is None:
            active = values.index(current) if current in values else 0
        resolved.append((key, options, active))
    updatemenus, menu_px = _menus(resolved)
    base_title, title = title, menu_title(title, updatemenus, lang)
    layout = {
        "title": {"text": title, "x": 0.01, "y": 0.985, "yanchor": "top"}, "height": 720,
        "font": {"family": FONT}, "paper_bgcolor": "white", "plot_bgcolor": "white",
        "margin": {"l": 10, "r": 10, "t": 92, "b": 10}, "hovermode": "closest", "dragmode": "pan",
        "xaxis": {"visible": False, "range": [round(box[0], 3), round(box[1], 3)]},
        "yaxis": {"visible": False, "range": [round(box[2], 3), round(box[3], 3)],
                  "scaleanchor": "x", "scaleratio": round(1 / math.cos(math.radians(lat0)), 4)},
        "legend": {"x": 1.0, "xanchor": "right", "y": 1.0, "bgcolor": "rgba(255,255,255,.85)",
                   "bordercolor": "#ddd", "borderwidth": 1, "font": {"size": 11},
                   "groupclick": "toggleitem", "tracegroupgap": 6},
        "updatemenus": updatemenus,
        "meta": {"chart": "map", "lang": lang, "download": download_name(title), "menu_px": menu_px,
                 "title": base_title,
                 "filter": {"year": str(sel.year), "material": sel.material, "mode": sel.mode,
                            "province": sel.province},
                 "rows": {"year": rows["year"].astype(int).tolist(),
                          "material": rows["material"].map(m_index).astype(int).tolist(),
                          "mode": rows["mode"].map({m: i for i, m in enumerate(modes)}).astype(int).tolist(),
                          "a": rows["a"].map({c: i for i, c in enumerate(seat.index)}).astype(int).tolist(),
                          "b": rows["b"].map({c: i for i, c in enumerate(seat.index)}).astype(int).tolist(),
                          "t": rows["t"].round(3).tolist()},
                 "places": {"code": seat.index.tolist(), "x": seat["lon"].round(4).tolist(),
                            "y": seat["lat"].round(4).tolist(),
                            "name": [names["place"][c] for c in seat.index],
                            "prov": seat["province"].tolist()},
                 "years": [int(y) for y in years], "materials": all_materials,
                 "material_names": [names["material"][m] for m in all_materials],
                 "kinds": [str(kinds.get(m, "")) for m in all_materials],
                 "modes": modes, "mode_names": [names["mode"][m] for m in modes],
                 "provinces": prov_codes, "bounds": bounds, "t_ref": t_ref,
                 "scales": tonne_scales(lang),
                 "words": {"total": _t(lang, "合计", "total"), "within": _t(lang, "市内", "within"),
                           "to": "→"},
                 "bbox": {ALL: [round(v, 3) for v in full],
                          **{c: [round(v, 3) for v in _pad(b)] for c, b in prov_box.items()}}}}
    return {"data": traces, "layout": layout}


def _within_size(t: list[float], t_ref: float) -> list[float]:
    return [round(6 + 22 * math.sqrt(v / t_ref), 1) if t_ref > 0 else 6 for v in t]


def _material_options(all_materials: list[str], flow_materials: list[str], kinds: pd.Series,
                      names: dict, lang: str) -> list[tuple[str, str]]:
    """'All', the material groups present, then each material that moves."""
    opts = [(ALL, _t(lang, "全部物料", "all materials"))]
    present = {str(kinds.get(m, "")) for m in flow_materials}
    opts += [(f"kind:{k}", _t(lang, f"全部{GROUP[k][0]}", f"all {GROUP[k][1]}"))
             for k in GROUP if k and k in present]
    return opts + [(m, names["material"][m]) for m in flow_materials]


def _site_mask(pkeys: list[list[int]], pprov: list[str], sel: _Selection, years: list[int],
               materials: list[str], kinds: pd.Series, y_index: dict, m_index: dict) -> list[bool]:
    n = len(materials) or 1
    yi = y_index.get(sel.year)
    if sel.material == ALL:
        ok_m = set(range(len(materials)))
    elif sel.material.startswith("kind:"):
        ok_m = {i for m, i in m_index.items() if str(kinds.get(m, "")) == sel.material[5:]}
    else:
        ok_m = {m_index[sel.material]} if sel.material in m_index else set()
    out = []
    for ks, pv in zip(pkeys, pprov, strict=True):
        hit = any(c // n == yi and c % n in ok_m for c in ks)
        out.append(hit and (sel.province == ALL or pv == sel.province))
    return out


# --- Sankey ---------------------------------------------------------------------------

SMALL_SHARE = 0.005  # materials and processes under this share of a view's tonnes are grouped


def sankey_tables(s: PlanFindings) -> dict[str, pd.DataFrame]:
    """The plan's tables the Sankey reads, summed by year, province and material (and process),
    once for every view: supply_use, facility_io, deliveries, market, and journeys (transport
    with intermodal routes counted once) with their origin and destination province."""
    p = s.plan
    _, _, site_prov = _places(s)
    out: dict[str, pd.DataFrame] = {}
    for name, cols in (("supply_use", ["generation_t", "stock_drawn_t", "disposed_t"]),
                       ("facility_io", ["t"]), ("deliveries", ["delivered_t"]), ("market", ["t"])):
        df = getattr(p, name, None)
        if not isinstance(df, pd.DataFrame) or df.empty:
            continue
        keys = ["year", "prov", "material"] + (["process", "direction"] if name == "facility_io" else [])
        out[name] = df.assign(prov=df["site"].astype(str).map(site_prov).fillna("")).groupby(
            keys, as_index=False)[cols].sum()
    f = s.journeys() if len(p.flows) else pd.DataFrame()
    if len(f):
        f = f.assign(a=f["from_site"].astype(str).map(site_prov).fillna(""),
                     b=f["to_site"].astype(str).map(site_prov).fillna(""))
        out["journeys"] = f[f["a"] != f["b"]].groupby(["year", "a", "b", "material"],
                                                      as_index=False)["t"].sum()
    return out


def sankey_links(s: PlanFindings, lang: str, year: int | None, province: str | None = None,
                 tables: dict[str, pd.DataFrame] | None = None) -> list[tuple[str, str, float, str]]:
    """(source, target, tonnes, material kind) links of one year, for the whole region or one
    province: generation and legacy stock into materials, materials into processes and out
    again, and on to disposal, delivered demand, the market, or across the province border.
    ``tables`` is :func:`sankey_tables` (when not given: computed, with the links of each view,
    once per findings and shared by both languages)."""
    ends = _ends(lang)
    label = {"mat": lambda m: "▣ " + s.names("material", m, lang),
             "proc": lambda x: "⚙ " + s.names("process", x, lang), "end": ends.__getitem__}
    return [(label[a[0]](a[1]), label[b[0]](b[1]), t, k)
            for a, b, t, k in _link_keys(s, year, province, tables)]


def _link_keys(s: PlanFindings, year: int | None, province: str | None,
               tables: dict[str, pd.DataFrame] | None
               ) -> list[tuple[tuple[str, str], tuple[str, str], float, str]]:
    """:func:`sankey_links` with nodes as keys, ('mat', code), ('proc', code) or ('end', name):
    the same in every language (with ``tables`` not given: computed once per findings)."""
    if tables is None:
        views = s.once("sankey_views", lambda: _views(s.once("sankey_tables",
                                                              lambda: sankey_tables(s))))
    else:
        views = _views(tables)
    mats = s.scenario.table("materials")
    kinds = dict(zip(mats["code"].astype(str), mats["kind"].astype(str), strict=True))
    p = province or None  # '' (sites of no known province) is the whole region, as None

    def mat(m):
        return ("mat", m)

    def proc(x):
        return ("proc", x)

    ends = {k: ("end", k) for k in ("gen", "stock", "disposal", "demand", "market", "out", "in")}
    links: list = []
    for m, gen, stock, disp in views["supply_use"].get((year, p), []):
        k = kinds.get(str(m), "")
        links += [(ends["gen"], mat(m), gen, k), (ends["stock"], mat(m), stock, k),
                  (mat(m), ends["disposal"], disp, k)]
    for pr, m, d, t in views["facility_io"].get((year, p), []):
        a, b = (mat(m), proc(pr)) if d == "in" else (proc(pr), mat(m))
        links.append((a, b, t, kinds.get(str(m), "")))
    for name, end in (("deliveries", ends["demand"]), ("market", ends["market"])):
        for m, t in views[name].get((year, p), []):
            links.append((mat(m), end, t, kinds.get(str(m), "")))
    if p is not None:  # journeys across the province border
        for m, t in views["journeys_out"].get((year, p), []):
            links.append((mat(m), ends["out"], t, kinds.get(str(m), "")))
        for m, t in views["journeys_in"].get((year, p), []):
            links.append((ends["in"], mat(m), t, kinds.get(str(m), "")))
    return [(a, b, float(t), k) for a, b, t, k in links if t and t > 1e-9]


# The Sankey's tables: how each is keyed within a view (in the order its links are listed) and
# the tonnes it sums.
VIEW_KEYS = {"supply_use": (["material"], ["generation_t", "stock_drawn_t", "disposed_t"]),
             "facility_io": (["process", "material", "direction"], ["t"]),
             "deliveries": (["material"], ["delivered_t"]), "market": (["material"], ["t"])}


def _views(tables: dict[str, pd.DataFrame]) -> dict[str, dict[tuple, list[tuple]]]:
    """Every Sankey view's sums at once: per table, {(year, province): rows (keys..., tonnes...)}
    sorted by the keys, with year None for all years and province None for the whole region.
    The sums are pandas groupby sums over the same rows in the same order as filtering the view
    and grouping it, so each view's numbers are those of summing it on its own."""
    out: dict[str, dict[tuple, list[tuple]]] = {}
    for name, (keys, cols) in VIEW_KEYS.items():
        out[name] = _view_sums(tables.get(name, pd.DataFrame()), "prov", keys, cols)
    j = tables.get("journeys", pd.DataFrame())
    out["journeys_out"] = _view_sums(j, "a", ["material"], ["t"], whole=False)
    out["journeys_in"] = _view_sums(j, "b", ["material"], ["t"], whole=False)
    return out


def _view_sums(d: pd.DataFrame, prov: str, keys: list[str], cols: list[str],
               whole: bool = True) -> dict[tuple, list[tuple]]:
    views: dict[tuple, list[tuple]] = {}
    if d.empty:
        return views
    for by_year in (True, False):
        for by_prov in (True, False) if whole else (True,):
            group = (["year"] if by_year else []) + ([prov] if by_prov else []) + keys
            g = d.groupby(group, as_index=False)[cols].sum()
            y = g["year"].tolist() if by_year else [None] * len(g)
            pv = g[prov].tolist() if by_prov else [None] * len(g)
            for yi, pi, *row in zip(y, pv, *(g[c].tolist() for c in keys + cols), strict=True):
                views.setdefault((yi, pi), []).append(tuple(row))
    return views


def _ends(lang: str) -> dict[str, str]:
    return {"gen": _t(lang, "当年产生", "generated"), "stock": _t(lang, "历史堆存", "legacy stock"),
            "disposal": _t(lang, "处置（填埋等）", "disposal (landfill etc.)"),
            "demand": _t(lang, "交付需求", "delivered to demand"),
            "market": _t(lang, "区外市场", "market outside the model"),
            "out": _t(lang, "调出省外", "to other provinces"),
            "in": _t(lang, "省外调入", "from other provinces")}


def _group_small(links: list[tuple[str, str, float, str]], lang: str
                 ) -> list[tuple[str, str, float, str]]:
    """Materials and processes carrying under :data:`SMALL_SHARE` of the view's tonnes merged
    into one node per material group ('其他工业固废') or '其他工艺', so the big flows read."""
    through: dict[str, float] = {}
    for a, b, t, _ in links:
        through[a] = through.get(a, 0.0) + t
        through[b] = through.get(b, 0.0) + t
    total = sum(t for _, _, t, _ in links) or 1.0

    def node(n: str, kind: str) -> str:
        if through.get(n, 0.0) >= SMALL_SHARE * total or n[:1] not in "▣⚙":
            return n
        if n.startswith("⚙"):
            return "⚙ " + _t(lang, "其他工艺", "other processes")
        g = GROUP.get(kind, GROUP[""])
        return "▣ " + _t(lang, f"其他{g[0]}", f"other {g[1]}")

    merged: dict[tuple[str, str, str], float] = {}
    for a, b, t, k in links:
        key = (node(a, k), node(b, k), k)
        merged[key] = merged.get(key, 0.0) + t
    return [(a, b, t, k) for (a, b, k), t in merged.items() if a != b]


def _sankey_trace(links: list[tuple[str, str, float, str]], lang: str, visible: bool,
                  meta: dict) -> dict:
    ends = set(_ends(lang).values())
    nodes = list(dict.fromkeys([a for a, _, _, _ in links] + [b for _, b, _, _ in links]))
    index = {n: i for i, n in enumerate(nodes)}
    inflow = dict.fromkeys(nodes, 0.0)
    outflow = dict.fromkeys(nodes, 0.0)
    kind_of: dict[str, str] = {}
    for a, b, t, k in links:
        outflow[a] += t
        inflow[b] += t
        kind_of.setdefault(a if a.startswith("▣") else b, k)
    size = {n: max(inflow[n], outflow[n]) for n in nodes}
    big = max(size.values(), default=0.0)
    # Tonnes written on every node of at least 3 % of the largest: the big flows read at once.
    labels = [f"{_short(n)} {compact(size[n], lang)}" if size[n] >= 0.03 * big else _short(n)
              for n in nodes]
    disposal = _ends(lang)["disposal"]
    colour = ["#d62728" if n == disposal else "#888" if n in ends else
              "#444" if n.startswith("⚙") else GROUP.get(kind_of.get(n, ""), GROUP[""])[2]
              for n in nodes]
    return {"type": "sankey", "visible": visible, "arrangement": "snap",
            "valueformat": ",.0f", "valuesuffix": _t(lang, " 吨", " t"),
            "node": {"label": labels, "customdata": nodes, "color": colour, "pad": 10,
                     "thickness": 14, "hovertemplate": "%{customdata}<br>%{value:,.0f}"
                     + _t(lang, " 吨", " t") + "<extra></extra>"},
            "link": {"source": [index[a] for a, _, _, _ in links],
                     "target": [index[b] for _, b, _, _ in links],
                     "value": [round(t, 3) for _, _, t, _ in links],
                     "color": ["rgba(214,39,40,0.35)" if b == disposal else
                               GROUP.get(k, GROUP[""])[3] for _, b, _, k in links],
                     "customdata": [GROUP.get(k, GROUP[""])[0 if lang == "zh" else 1]
                                    for _, _, _, k in links]},
            "meta": {**meta, "labels": labels, "big": [size[n] >= 0.03 * big for n in nodes]}}


def _headline(links: list[tuple[str, str, float, str]], lang: str) -> str:
    """The view's main message: generated, disposed and the disposed share, delivered."""
    e = _ends(lang)
    gen = sum(t for a, _, t, _ in links if a in (e["gen"], e["stock"]))
    disp = sum(t for _, b, t, _ in links if b == e["disposal"])
    dem = sum(t for _, b, t, _ in links if b == e["demand"])
    q = lambda t: quantity(t, "t", lang)  # noqa: E731
    share = f"（{disp / gen:.0%}）" if gen else ""
    if lang == "zh":
        return f"产生及堆存消纳 {q(gen)}，处置 {q(disp)}{share}，交付需求 {q(dem)}"
    share = f" ({disp / gen:.0%})" if gen else ""
    return f"generated and stock drawn {q(gen)}, disposed {q(disp)}{share}, delivered {q(dem)}"


def sankey_figure(s: PlanFindings, lang: str, year: int | None = None,
                  province: str | None = None) -> go.Figure:
    """Materials → processes → materials, from generation and legacy stock to disposal and
    delivered demand, coloured by material group; tonnes written on the large nodes. One
    Sankey per (province or whole region, year), chosen with the in-figure dropdowns (the
    arguments give the one shown first). A process whose output feeds back into an earlier
    step draws a loop."""
    years = s.years or [None]
    year = year if year is not None else years[-1]
    _, _, site_prov = _places(s)
    regions = s.scenario.table("regions")
    provs = [c for c in regions.loc[regions["level"] == "province", "code"].astype(str)
             if c in set(site_prov.dropna())]
    views = [(p, y) for p in [None, *provs] for y in years]
    views.sort(key=lambda v: (v != (province, year)))  # the first view is shown first
    traces, heads = [], {}
    for p, y in views:
        links = _group_small(sankey_links(s, lang, y, p), lang)
        key = f"{p or ALL}|{y}"
        heads[key] = _headline(links, lang)
        traces.append(_sankey_trace(links, lang, not traces,
                                    {"layer": "sankey", "province": p or ALL, "year": str(y)}))
    def title_of(p, y):
        where = s.names("region", p, lang) if p else _t(lang, "全区域", "whole region")
        return _t(lang, f"物料流（{where}，{y}年）", f"Material flows ({where}, {y})")
    title = title_of(province, year)
    layout = _layout(go.Figure(), title, 760).to_plotly_json()["layout"]
    layout["margin"] = {"l": 10, "r": 10, "t": 110, "b": 20}
    # the view's main message under the title (charts.js swaps it with the view)
    layout["title"]["subtitle"] = {"text": heads[f"{province or ALL}|{year}"],
                                   "font": {"size": 13, "color": "#333"}}
    prov_opts = [(ALL, _t(lang, "全区域", "whole region"))] + [
        (c, s.names("region", c, lang)) for c in provs]
    year_opts = [(str(y), _t(lang, f"{y}年", str(y))) for y in years]
    pv = [v for v, _ in prov_opts]
    layout["updatemenus"], menu_px = _menus([
        ("province", prov_opts, pv.index(province) if province in pv else 0),
        ("year", year_opts, [str(y) for y in years].index(str(year)))])
    layout["title"]["y"] = 0.985
    layout["title"]["yanchor"] = "top"
    layout["meta"] = {**layout["meta"], "chart": "sankey", "lang": lang, "menu_px": menu_px,
                      "headlines": heads,
                      "titles": {f"{p or ALL}|{y}": title_of(p, y) for p, y in views},
                      "filter": {"province": province or ALL, "year": str(year)}}
    # plain dicts made here, not checked property by property: plotly's validation of the 2 × 24
    # Sankey traces took ~0.5 s (the same JSON; tests/test_figures.py checks the figure)
    return go.Figure({"data": traces, "layout": layout}, _validate=False)

# --- targets ---------------------------------------------------------------------------

def _target_label(r: pd.Series, s: PlanFindings, lang: str) -> str:
    name = r.get("name_zh" if lang == "zh" else "name_en") or indicator_name(r["indicator"], lang)
    scope = [s.names(k, r[k], lang) for k in ("region", "material") if r[k]]
    return f"{name}{' · ' + ' · '.join(scope) if scope else ''} ({r['year']})"


def attainment_figure(s: PlanFindings, lang: str) -> go.Figure:
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


def trajectory_figure(s: PlanFindings, lang: str) -> go.Figure:
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


def costs_figure(s: PlanFindings, lang: str) -> go.Figure:
    return _bars(s.plan.costs, "yuan", lang, _t(lang, "费用构成", "Cost breakdown") + s.period(lang))


def co2_figure(s: PlanFindings, lang: str) -> go.Figure:
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
