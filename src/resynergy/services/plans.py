"""Glue between a run and the core: options → ``PlanOptions``, a ``Plan`` → stored results
(tables, overview, figures, report) using ``resynergy.report`` so pages show the report's own
figures, and comparison of two runs' overviews."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.io as pio

from resynergy.report.labels import LANGS
from resynergy.scenario import Scenario
from resynergy.schema import outputs as declared
from resynergy.schema.cells import plain

# Every result table of a plan (declared in schema/output_tables.csv); a run keeps them all,
# each stored under its table name.
PLAN_TABLES: tuple[str, ...] = declared.plan_tables()
# The stored result holding a run's overview (:func:`run_overview`). Its name stays "summary":
# runs already stored, the API route /runs/{id}/results/summary and the pages read it so.
OVERVIEW = "summary"
# Figures anyone may see once a plan is published (aggregates); the map shows sites and flows
# between them, so it is for signed-in staff only.
PUBLIC_FIGURES = ("sankey", "attainment", "trajectory", "costs", "co2")


def plan_options(options: dict[str, Any]):
    """The planner's options from a run's stored options."""
    from resynergy.planner import PlanOptions
    from resynergy.services.actuals import run_actuals

    return PlanOptions(objective=options.get("objective", "cost"), years=options.get("years") or None,
                       time_limit=float(options.get("time_limit_s", 60.0)),
                       mip_gap=float(options.get("mip_gap", 0.01)),
                       actuals=run_actuals(options))  # from_actuals: the stored flows


def prepare(scenario: Scenario, options: dict[str, Any]) -> tuple[Scenario, Any]:
    """The scenario with the run's policy overrides applied, and the planner options."""
    policies = options.get("policies") or {}
    if policies:
        scenario = scenario.with_policy(**{k: float(v) for k, v in policies.items()})
    return scenario, plan_options(options)


def _clean(value: Any) -> Any:
    """JSON-safe: numpy → Python, NaN and ±infinity → None."""
    return plain(value, finite=True)


def records(frame: Any) -> list[dict[str, Any]]:
    """JSON-safe records of a table (NaN/inf → None, numpy → Python)."""
    if not isinstance(frame, pd.DataFrame):
        return []
    return [{str(k): _clean(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def headline(s: Any) -> list[dict[str, Any]]:
    """The main indicators of the last year, with names and display text in both languages."""
    from resynergy.report.findings import indicator_name
    from resynergy.schema.numbers import quantity

    h = s.headline()
    if h.empty:
        return []
    rows = []
    for r in h[h["year"] == h["year"].max()].itertuples(index=False):
        value = _clean(r.value)
        rows.append({"indicator": r.indicator, "year": int(r.year), "value": value, "unit": r.unit,
                     **{f"name_{lang}": indicator_name(r.indicator, lang) for lang in LANGS},
                     **{f"text_{lang}": quantity(value, r.unit, lang) if value is not None else "–" for lang in LANGS}})
    return rows


def result_columns(name: str) -> list[dict[str, str]]:
    """The declared columns of stored result ``name``: name, unit, zh/en labels and what each
    holds, in order (none for results that are not tables)."""
    return declared.column_records(name) if name in PLAN_TABLES else []


def run_overview(plan: Any, s: Any) -> dict[str, Any]:
    """What a run's pages, comparisons and the public API read first (stored as
    :data:`OVERVIEW`): status, objective, timings, totals, headline indicators, targets, years,
    comparison quantities and indicators by province, JSON-ready; ``s`` is the plan's
    :class:`resynergy.report.PlanFindings`."""
    from resynergy.report.compare import quantities

    return {
        "status": str(getattr(plan, "status", "")), "objective": _clean(getattr(plan, "objective", None)),
        "mip_gap": _clean(getattr(plan, "mip_gap", None)),
        "timings": {k: _clean(v) for k, v in (getattr(plan, "timings", None) or {}).items()},
        "totals": {k: _clean(v) for k, v in s.totals.items()},
        "shortage_totals": s.shortage_totals(),
        "headline": headline(s), "targets": records(s.targets), "years": s.years,
        "quantities": quantities(s), "provinces": records(s.by_province())}


def stored_results(plan: Any, scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Everything a run keeps: {name: {"kind": ..., "data" | "blob": ...}}."""
    from resynergy.report import findings
    from resynergy.report.figures import FIGURES
    from resynergy.report.html import write_report

    s = findings(plan, scenario)
    out: dict[str, dict[str, Any]] = {
        name: {"kind": "table", "data": records(getattr(plan, name, None))} for name in PLAN_TABLES}
    out[OVERVIEW] = {"kind": "json", "data": run_overview(plan, s)}
    figures = {}
    for name, build in FIGURES.items():
        figures[name] = {lang: pio.to_json(build(s, lang), validate=False) for lang in LANGS}
    out["figures"] = {"kind": "json", "data": figures}
    with tempfile.TemporaryDirectory() as tmp:
        html = write_report(s, Path(tmp) / "report.html").read_bytes()
    out["report"] = {"kind": "html.gz", "blob": gzip.compress(html, 6)}
    return out


def stored_quantities(overview: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored run overview's comparison rows (``report.compare.quantities``); runs stored before
    those rows were kept give their headline indicators and targets."""
    if overview.get("quantities"):
        return overview["quantities"]
    from resynergy.report.findings import indicator_name

    rows = [{"key": "status", "kind": "status", "unit": "", "name_zh": "求解状态", "name_en": "status",
             "value": str(overview.get("status", ""))}]
    for h in overview.get("headline", []):
        rows.append({"key": f"indicator.{h['indicator']}.{h['year']}", "kind": "indicator", "unit": h["unit"],
                     "name_zh": f"{indicator_name(h['indicator'], 'zh')}（{h['year']}）",
                     "name_en": f"{indicator_name(h['indicator'], 'en')} ({h['year']})", "value": h["value"]})
    for t in overview.get("targets", []):
        rows.append({"key": f"target.{t['id']}", "kind": "attainment", "unit": "share",
                     "name_zh": f"目标完成率：{t.get('name_zh') or indicator_name(t['indicator'], 'zh')}",
                     "name_en": f"attainment: {t.get('name_en') or indicator_name(t['indicator'], 'en')}",
                     "value": t.get("attainment")})
    return rows


def province_view(overview: dict[str, Any], province: str) -> dict[str, Any]:
    """What a province reads in a plan: the targets set for it or its prefectures (the provincial
    breakdown), the region-wide ones apart, and its own indicator values in the last year."""
    from resynergy.scenario.regions import province_code

    targets = overview.get("targets", [])
    own = [t for t in targets if province_code(str(t.get("region", ""))) == province]
    year = max(overview.get("years") or [0])
    values = [r for r in overview.get("provinces", []) if r.get("province") == province and r.get("year") == year]
    return {"targets": own, "others": [t for t in targets if t not in own], "indicators": values, "year": year}


def compare(a: dict[str, Any], b: dict[str, Any], lang: str = "zh") -> list[dict[str, Any]]:
    """Two run overviews side by side, one row per quantity (``report.compare``'s one definition):
    key, kind, unit, name, A and B as read, B − A, and which way B moved."""
    from resynergy.report.compare import cell, delta_text, difference, side_by_side

    table = side_by_side({"a": stored_quantities(a), "b": stored_quantities(b)})
    rows = []
    for r in table.to_dict("records"):
        va, vb = (None if not isinstance(x, str) and pd.isna(x) else x for x in (r["a"], r["b"]))
        d = difference(va, vb)
        rows.append({"key": r["key"], "kind": r["kind"], "unit": r["unit"],
                     "name": r["name_zh"] if lang == "zh" else r["name_en"], "a": va, "b": vb,
                     "a_text": "—" if va is None else cell(va, r["unit"], lang),
                     "b_text": "—" if vb is None else cell(vb, r["unit"], lang),
                     "delta": d, "delta_text": delta_text(d, r["unit"], lang) if not isinstance(va, str) else
                     ("=" if va == vb else "≠")})
    return rows
