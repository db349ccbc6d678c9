"""report.html: one self-contained page (plotly.js inlined, no external request), zh first."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from plotly.offline import get_plotlyjs

from resynergy import __version__
from resynergy.datasets import provenance
from resynergy.indicators import INDICATORS
from resynergy.monitor import status_lines
from resynergy.planner.results import split_costs
from resynergy.report.exports import write_text_atomic
from resynergy.report.figures import FIGURES, boundary_files, charts_js, warm_boundaries
from resynergy.report.findings import PlanFindings, indicator_name
from resynergy.report.labels import LANGS, component, status
from resynergy.schema import outputs
from resynergy.schema.numbers import quantity

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
                 "showSendToCloud": False, "showEditInChartStudio": False}


_ENV: list[Environment] = []
_ENV_LOCK = threading.Lock()


def environment() -> Environment:
    """The report templates' environment, made once per process (its compiled templates are
    kept, and recompiled when a template file changes)."""
    with _ENV_LOCK:
        if not _ENV:
            _ENV.append(Environment(
                loader=FileSystemLoader(str(files("resynergy.report") / "templates")),
                autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                lstrip_blocks=True))
        return _ENV[0]


# Characters that can end or change a <script> element (or an HTML attribute) from inside a JSON
# string: "</script>", "<!--" (the parser's double-escaped state), "&" entities; U+2028/U+2029 end
# a JavaScript line. JSON's \\u escapes keep the value the same.
_INLINE_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                   0x2028: "\\u2028", 0x2029: "\\u2029"}


def inline_json(value: Any) -> str:
    """``value`` as JSON safe to embed in HTML (a <script> element or an attribute); the one
    definition for every report, comparison and page that embeds JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).translate(
        _INLINE_ESCAPES)


def figure_json(figs: dict[str, dict[str, Any]]) -> str:
    """Figures as JSON safe to embed in a <script> element."""
    return inline_json({k: {lang: json.loads(pio.to_json(f, validate=False)) for lang, f in v.items()}
                        for k, v in figs.items()})


class Table:
    """A table to render in both languages: header and rows per language."""

    def __init__(self, key: str, head: dict[str, list[str]], rows: dict[str, list[list[str]]],
                 classes: list[str] | None = None, attrs: list[dict[str, str]] | None = None):
        self.key, self.head, self.rows = key, head, rows
        self.classes = classes or []
        # per row, the ``data-*`` attributes the page's selector filters on (report/province.py)
        self.attrs = attrs or []

    def body(self, lang: str) -> Markup:
        """The rows of the table in ``lang`` as HTML, each cell escaped: what the template's
        ``table`` macro wrote row by row (a tenth of the time for a report's 130 k cells)."""
        rows = self.rows[lang]
        if not rows:
            text = "（无）" if lang == "zh" else "(none)"
            return Markup(f'    <tr class="none"><td colspan="{len(self.head[lang])}">'
                          f"{escape(text)}</td></tr>")
        suffix = "" if lang == "zh" else "-en"
        out = []
        for i, row in enumerate(rows):
            tag = "    <tr"
            if self.classes:
                tag += f' class="st-{escape(self.classes[i])}"'
            for k, v in (self.attrs[i] if self.attrs else {}).items():
                tag += (f' id="why-{escape(v)}{suffix}"' if k == "id"
                        else f' data-{escape(k)}="{escape(v)}"')
            out.append(tag + ">" + "".join([f"<td>{escape(c)}</td>" for c in row]) + "</tr>")
        return Markup("\n".join(out))


def _table(key: str, cols: list[str], make_row) -> Table:
    return Table(key, {lang: [outputs.label(c, lang) for c in cols] for lang in LANGS},
                 {lang: make_row(lang) for lang in LANGS})


def targets_table(s: PlanFindings) -> Table:
    """Every target, status first (it stays in view on a phone); a target that is not met
    links to its cause and levers."""
    from resynergy.report.province import Places

    pl = Places.of(s)
    missed = set(s.failing()["id"].astype(str))

    def rows(lang: str) -> list[list[Any]]:
        out: list[list[Any]] = []
        for _, r in s.targets.iterrows():
            name = r.get("name_zh" if lang == "zh" else "name_en") or indicator_name(
                r["indicator"], lang)
            if str(r["id"]) in missed:
                name = Markup('<a href="#why-{0}" data-goto-why="{0}">{1}</a>').format(
                    str(r["id"]), name)
            scope = s.names("region", r["region"], lang) + (
                " · " + s.names("material", r["material"], lang) if r["material"] else "")
            out.append([status(r["status"], lang), name, scope, str(r["year"]), str(r["kind"]),
                        quantity(r["target"], r["unit"], lang), quantity(r["value"], r["unit"], lang),
                        f"{r['attainment']:.1%}" if pd.notna(r["attainment"]) else "—"])
        return out
    t = _table("targets", ["status", "indicator", "region", "year", "kind", "target", "value",
                           "attainment"], rows)
    t.classes = [str(x) for x in s.targets["status"]]
    t.attrs = [{"y": str(r["year"]), "t": str(r["id"]),
                **({"p": pl.province(r["region"])} if r["region"] else {}),
                **({"m": str(r["material"])} if r["material"] else {})}
               for _, r in s.targets.iterrows()]
    return t


def failing_table(s: PlanFindings) -> Table:
    f = s.failing()

    def rows(lang: str) -> list[list[str]]:
        out = []
        for _, r in f.iterrows():
            name = r.get("name_zh" if lang == "zh" else "name_en") or indicator_name(
                r["indicator"], lang)
            why = r["why_zh" if lang == "zh" else "why_en"] or _default_why(r, lang)
            sp = "" if pd.isna(r.get("shadow_price")) else f"{r['shadow_price']:,.2f}"
            out.append([name, str(r["year"]), quantity(r["shortfall"], r["unit"], lang), sp, why])
        return out
    return _table("failing", ["indicator", "year", "shortfall", "shadow_price", "basis"], rows)


def _default_why(r: pd.Series, lang: str) -> str:
    ind = INDICATORS.get(r["indicator"])
    if ind and ind.basis == "programmes":
        return ("由规划外认定：只计已建成或已验收的项目（情景的项目表），优化不会新认定基地或园区"
                if lang == "zh" else "decided outside the model: only programmes built or "
                "accepted (the scenario's programmes table) count; the optimiser does not "
                "designate bases or parks")
    if pd.isna(r["value"]):
        return "无数据" if lang == "zh" else "no value available"
    if r["kind"] == "report":
        return ("仅报告的目标：未作为约束参与优化" if lang == "zh"
                else "report-only target: not a constraint of the optimisation")
    return ("未达到：受产生量、能力、需求或成本限制，详见原因分析" if lang == "zh" else
            "missed: supply, capacity, demand or cost limit it; see the causes")


def flows_table(s: PlanFindings, n: int = 15) -> Table:
    def rows(lang: str) -> list[list[str]]:
        f = s.largest_flows(n, lang)
        return [[r["from_name"], r["to_name"], r["material_name"], s.names("mode", r["mode"], lang),
                 quantity(r["t"], "t", lang), f"{r['tkm'] / r['t']:,.0f}" if r["t"] else ""]
                for _, r in f.iterrows()]
    return _table("flows", ["from_name", "to_name", "material_name", "mode", "t",
                            "distance_km"], rows)


def shortage_table(s: PlanFindings) -> Table:
    """Every shortage (demand met by neither recycled nor virgin supply), largest first, and
    their total."""
    cols = ["year", "site_name", "material_name", "demand_t", "delivered_t", "virgin_t",
            "shortage_t", "shortage_cost"]

    def rows(lang: str) -> list[list[str]]:
        d = s.shortages(lang)
        if d.empty:
            return []
        out = [[str(r["year"]), str(r["site_name"]), str(r["material_name"]),
                *(quantity(r[c], "t", lang) for c in cols[3:7]),
                _per_t(r["shortage_cost"], lang)] for _, r in d.iterrows()]
        out.append(["合计" if lang == "zh" else "total", "", "", "", "", "",
                    quantity(s.totals.get("shortage_t", 0.0), "t", lang), ""])
        return out
    return _table("shortages", cols, rows)


def _per_t(v: float, lang: str) -> str:
    return "—" if pd.isna(v) else f"{v:,.0f} " + ("元/吨" if lang == "zh" else "yuan/t")


def corridor_table(s: PlanFindings) -> Table:
    """Rail share of tonnes and new-energy share of road t·km per corridor and year, beside the
    corridor's minimums."""
    cols = ["corridor_name", "year", "t", "rail_t", "rail_share", "min_rail_share", "road_tkm",
            "nev_share", "min_nev_share"]

    def rows(lang: str) -> list[list[str]]:
        return [[str(r["corridor_name"]), str(r["year"]), quantity(r["t"], "t", lang),
                 quantity(r["rail_t"], "t", lang), quantity(r["rail_share"], "share", lang),
                 quantity(r["min_rail_share"], "share", lang), f"{r['road_tkm']:,.0f}",
                 quantity(r["nev_share"], "share", lang),
                 quantity(r["min_nev_share"], "share", lang)]
                for _, r in s.corridors(lang).iterrows()]
    return _table("corridors", cols, rows)


def _indicator_grid(key: str, values: pd.DataFrame, by: str, keys: list, heads,
                    change: bool = False) -> Table:
    """One row per indicator, one column per value of ``by`` (``heads(k, lang)`` labels it);
    with ``change``, a last column: the last key against the first (the base year)."""
    from resynergy.report.province import change_text

    change = change and len(keys) > 1

    def rows(lang: str) -> list[list[str]]:
        out = []
        for iid, g in values.groupby("indicator", sort=False):
            vals = dict(zip(g[by], g["value"], strict=True))
            unit = str(g["unit"].iloc[0])
            row = [indicator_name(str(iid), lang)] + [quantity(vals.get(k), unit, lang)
                                                      for k in keys]
            if change:
                row.append(change_text(vals.get(keys[-1]), vals.get(keys[0]), unit, lang))
            out.append(row)
        return out

    def head(lang: str) -> list[str]:
        extra = [f"较{keys[0]}年" if lang == "zh" else f"Change since {keys[0]}"] if change else []
        return [outputs.label("indicator", lang)] + [heads(k, lang) for k in keys] + extra
    return Table(key, {lang: head(lang) for lang in LANGS}, {lang: rows(lang) for lang in LANGS})


def indicators_table(s: PlanFindings) -> Table:
    head = s.headline()
    return _indicator_grid("indicators", head, "year", sorted(head["year"].unique()),
                           lambda y, lang: str(y), change=True)


def province_table(s: PlanFindings) -> Table:
    """Every indicator of the last year by province (all materials)."""
    p = s.by_province(s.years[-1] if s.years else None)
    return _indicator_grid("provinces", p, "province", sorted(p["province"].unique()),
                           lambda c, lang: s.names("region", c, lang))


# Emission components not emitted by the plan itself (the virgin products bought for unmet
# demand are made elsewhere): listed apart from the plan's own total, like the costs' APART.
EMISSIONS_APART = ("virgin_alternative",)


def breakdown_table(df: pd.DataFrame, col: str, key: str) -> Table:
    """Components and their total; the plan's own costs (or emissions) are totalled and the
    objective's other parts (virgin purchases, priced shortages and target shortfalls; for CO2,
    the virgin products bought) follow apart, labelled."""
    if col == "yuan":
        own, apart = split_costs(df)
    elif isinstance(df, pd.DataFrame) and len(df):
        out = df["component"].isin(EMISSIONS_APART)
        own, apart = df[~out], df[out]
    else:
        own, apart = df, None

    def rows(lang: str) -> list[list[str]]:
        if not isinstance(df, pd.DataFrame) or df.empty:
            return []
        body = [[component(str(c), lang), quantity(v, col, lang)]
                for c, v in zip(own["component"], own[col], strict=True)]
        total = ("规划费用合计" if lang == "zh" else "plan cost total") if col == "yuan" else (
            "方案排放合计" if lang == "zh" else "emitted by the plan")
        body.append([total, quantity(own[col].sum(), col, lang)])
        if apart is not None and len(apart):
            body += [[("另计：" if lang == "zh" else "separately: ") + component(str(c), lang),
                      quantity(v, col, lang)]
                     for c, v in zip(apart["component"], apart[col], strict=True)]
            body.append([("目标函数（含另计项）" if lang == "zh" else
                          "objective (incl. the items listed separately)") if col == "yuan" else
                         ("合计（含另计项）" if lang == "zh" else "total (incl. the item listed separately)"),
                         quantity(df[col].sum(), col, lang)])
        return body
    return _table(key, ["component", "value"], rows)


def sources(s: PlanFindings, cov: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Where the scenario's rows come from: per table, sources by row count, and rows by
    confidence under the weakest-tag rule (:func:`resynergy.datasets.provenance.coverage`)."""
    return _sources(s.scenario, cov if cov is not None else coverage(s))


def _sources(scenario: Any, cov: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, df in scenario.tables.items():
        if df.empty or "source" not in df:
            continue
        src = df["source"].fillna("").astype(str).str.strip().replace("", "—")
        top = src.value_counts()
        counts = cov["tables"].get(name, {})
        conf = {lv: counts[lv] for lv in (*provenance.LEVELS, provenance.UNSOURCED) if counts.get(lv)}
        out.append({"table": name, "rows": len(df), "confidence": conf,
                    "sources": [(k, int(v)) for k, v in top.head(8).items()],
                    "more": max(0, len(top) - 8)})
    return out


def coverage(s: PlanFindings) -> dict[str, Any]:
    """The provenance coverage of the plan's scenario (the same function as ``data info --sources``)."""
    return provenance.coverage(s.scenario, s.scenario.sources)


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def provenance_tables(s: PlanFindings, cov: dict[str, Any]) -> tuple[Table, Table]:
    """The data section's provenance: the issue's goals (value, met) and the shares backed by
    province, both from :func:`resynergy.datasets.provenance.coverage`."""
    goal_head = {"zh": ["项目", "要求", "现值", "是否达到"], "en": ["measure", "required", "now", "met"]}
    goal_rows: dict[str, list[list[str]]] = {lang: [] for lang in LANGS}
    for lang in LANGS:
        for g in cov["goals"]:
            fmt = str if g["id"] == "organisations" else _pct
            goal_rows[lang].append([provenance.words(provenance.MEASURE_NAMES, g["id"], lang),
                                    "≥ " + fmt(g["target"]), fmt(g["value"]),
                                    ("达到" if lang == "zh" else "met") if g["met"] else
                                    ("未达到" if lang == "zh" else "not met")])
    measures = cov["measures"]
    regions = s.scenario.table("regions").set_index("code")
    codes = sorted({c for m in measures.values() for c in m["by_province"]}
                   | set(cov["organisations"]["by_province"]))
    head = {lang: [("省份" if lang == "zh" else "province")]
            + [provenance.words(provenance.MEASURE_SHORT, m, lang) for m in measures]
            + [provenance.words(provenance.MEASURE_SHORT, "organisations", lang)] for lang in LANGS}
    rows = {lang: [[str(regions[f"name_{lang}"].get(code, code) or code)]
                   + [_pct(m["by_province"].get(code, {}).get("share")) for m in measures.values()]
                   + [str(cov["organisations"]["by_province"].get(code, 0))] for code in codes]
            for lang in LANGS}
    return (Table("provenance-goals", goal_head, goal_rows),
            Table("provenance-provinces", head, rows))


def boundary_note() -> dict[str, str]:
    """Provenance of the map outlines: the distinct ``source`` of their features, per file."""
    note = {}
    for level, p in boundary_files().items():
        feats = json.loads(p.read_text(encoding="utf-8")).get("features", [])
        srcs = sorted({str((f.get("properties") or {}).get("source", "")) for f in feats} - {""})
        note[level] = "; ".join(srcs) or "—"
    return note


CST = timezone(timedelta(hours=8), "CST")


def china_time(when: datetime | None = None) -> str:
    """A time as China Standard Time (UTC+8), the time the report's readers live in."""
    return (when or datetime.now(UTC)).astimezone(CST).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


def report_tables(s: PlanFindings) -> dict[str, Table]:
    """Every table of report.html by key; each builder is a function of the summary alone, so
    other pages (the web results page) can take the ones they need."""
    from resynergy.report import province as pv

    return {t.key: t for t in (
        targets_table(s), flows_table(s), shortage_table(s), corridor_table(s),
        indicators_table(s),
        breakdown_table(s.plan.costs, "yuan", "costs"),
        breakdown_table(s.plan.emissions, "kg", "emissions"),
        pv.province_targets_table(s), pv.province_indicators_table(s), pv.causes_table(s),
        pv.gaps_table(s), pv.actions_table(s), pv.levers_table(s), pv.city_flows_table(s), pv.facilities_table(s),
        pv.reconcile_table(s))}


# The output table (schema/output_tables.csv) whose plan.xlsx sheet holds each report table's
# numbers unformatted.
TABLE_SHEETS = {"targets": "targets", "failing": "targets", "causes": "diagnosis",
                "gaps": "diagnosis", "actions": "diagnosis", "flows": "flows", "city-flows": "flows",
                "shortages": "shortages", "corridors": "corridor_shares",
                "indicators": "indicators", "provinces": "provinces",
                "province-targets": "provinces", "province-indicators": "indicators",
                "facilities": "activity", "costs": "costs", "emissions": "emissions",
                "reconcile": "costs"}


class Ready:
    """What report.html needs before its plan exists: the compiled template, plotly.js, the
    chart script and the scenario's provenance (coverage and sources), made from the scenario
    alone — ``resynergy plan`` makes it while the solver runs (cli/plan.py). The page is the
    same with or without it."""

    def __init__(self, scenario: Any) -> None:
        self.scenario = scenario
        self.template = environment().get_template("report.html.j2")
        self.plotly_js = get_plotlyjs()
        self.charts_js = charts_js()
        self.coverage = provenance.coverage(scenario, scenario.sources)
        self.sources = _sources(scenario, self.coverage)
        warm_boundaries()
        # plotly loads its figure classes and validators on first use: load them now
        pio.to_json(go.Figure([go.Scatter(), go.Bar()], layout={"title": {"text": ""}}),
                    validate=False)

    def holds_for(self, s: PlanFindings) -> bool:
        return self.scenario is s.scenario


def write_report(s: PlanFindings, path: Path, ready: Ready | None = None) -> Path:
    """Render report.html (atomically: written next to ``path`` then moved in place); ``ready``
    (for this scenario) saves making its plan-independent parts again."""
    from resynergy.report import province as pv

    if ready is None or not ready.holds_for(s):
        ready = Ready(s.scenario)
    figs = {k: {lang: build(s, lang) for lang in LANGS} for k, build in FIGURES.items()}
    cov = ready.coverage
    materials = sorted(set(s.plan.flows["material"]))
    modes = sorted(set(s.plan.flows["mode"]))
    html = ready.template.render(
        s=s, plan=s.plan, version=__version__, langs=LANGS,
        generated=china_time(),
        plotly_js=ready.plotly_js, charts_js=ready.charts_js, figures=figure_json(figs),
        config=inline_json(PLOTLY_CONFIG),
        filters={"material": [(m, s.names("material", m, "zh"), s.names("material", m, "en"))
                              for m in materials],
                 "mode": [(m, s.names("mode", m, "zh"), s.names("mode", m, "en")) for m in modes],
                 "year": [(y, str(y), str(y)) for y in s.years]},
        last_year=s.years[-1] if s.years else "", base_year=s.years[0] if s.years else "",
        status_zh=status(str(s.plan.status), "zh"), status_en=status(str(s.plan.status), "en"),
        cards=cards(s), summary={lang: status_lines(s.monitor, lang, s.names) for lang in LANGS},
        tables=report_tables(s), headline=pv.headline(s),
        report_data=inline_json(pv.report_data(s)), province_map=Markup(pv.province_map_svg(s)),
        sheets={k: outputs.table(v).sheet for k, v in TABLE_SHEETS.items()},
        diagnosis=s.plan.diagnosis if isinstance(s.plan.diagnosis, pd.DataFrame) else None,
        sources=ready.sources, provenance=cov, provenance_tables=provenance_tables(s, cov),
        boundaries=boundary_note(),
        has_boundaries=bool(boundary_files()), indicators=list(INDICATORS.values()),
        timings=getattr(s.plan, "timings", None) or {}, quantity=quantity)
    return write_text_atomic(path, html)


def cards(s: PlanFindings) -> list[dict[str, str]]:
    """Headline numbers of the last year."""
    out = []
    for iid in ("isw_utilized", "recycled_resources", "output_value", "rail_share", "co2",
                "co2_avoided"):
        ind = INDICATORS[iid]
        v = s.indicator(iid)
        out.append({"id": iid, "zh": ind.name("zh"), "en": ind.name("en"),
                    "value_zh": quantity(v, ind.unit, "zh"), "value_en": quantity(v, ind.unit, "en")})
    c = s.totals.get("cost_yuan")
    out.append({"id": "", "zh": "规划费用（不含外购原生替代品、供应短缺折算与目标缺口折算）" + s.period("zh"),
                "en": "Plan cost (without virgin purchases, priced shortages and target shortfalls)" + s.period("en"),
                "value_zh": quantity(c, "yuan", "zh"),
                "value_en": quantity(c, "yuan", "en")})
    return out
