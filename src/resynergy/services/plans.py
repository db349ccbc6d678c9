"""Glue between a run and the core: options → ``PlanOptions``, a ``Plan`` → stored results
(tables, summary, figures, report) using ``resynergy.report`` so pages show the report's own
figures, and comparison of two runs' summaries."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.io as pio

from resynergy.planner.plan import TABLES
from resynergy.scenario import Scenario
from resynergy.schema.cells import plain

# Every result table of a plan (the planner's one list); a run keeps them all.
PLAN_TABLES: tuple[str, ...] = TABLES
# Figures anyone may see once a plan is published (aggregates); the map shows sites and flows
# between them, so it is for signed-in staff only.
PUBLIC_FIGURES = ("sankey", "attainment", "trajectory", "costs", "co2")
LANGS = ("zh", "en")


def plan_options(options: dict[str, Any]):
    """The planner's options from a run's stored options."""
    from resynergy.planner import PlanOptions

    return PlanOptions(objective=options.get("objective", "cost"), years=options.get("years") or None,
                       time_limit=float(options.get("time_limit_s", 60.0)),
                       mip_gap=float(options.get("mip_gap", 0.01)))


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
    from resynergy.report.labels import quantity
    from resynergy.report.summary import indicator_name

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


def outputs(plan: Any, scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Everything a run keeps: {name: {"kind": ..., "data" | "blob": ...}}."""
    from resynergy.report import summarize
    from resynergy.report.figures import FIGURES
    from resynergy.report.html import write_report

    s = summarize(plan, scenario)
    out: dict[str, dict[str, Any]] = {
        name: {"kind": "table", "data": records(getattr(plan, name, None))} for name in PLAN_TABLES}
    out["summary"] = {"kind": "json", "data": {
        "status": str(getattr(plan, "status", "")), "objective": _clean(getattr(plan, "objective", None)),
        "mip_gap": _clean(getattr(plan, "mip_gap", None)),
        "timings": {k: _clean(v) for k, v in (getattr(plan, "timings", None) or {}).items()},
        "totals": {k: _clean(v) for k, v in s.totals.items()},
        "shortage_totals": s.shortage_totals(),
        "headline": headline(s), "targets": records(s.targets), "years": s.years}}
    figures = {}
    for name, build in FIGURES.items():
        figures[name] = {lang: pio.to_json(build(s, lang), validate=False) for lang in LANGS}
    out["figures"] = {"kind": "json", "data": figures}
    with tempfile.TemporaryDirectory() as tmp:
        html = write_report(s, Path(tmp) / "report.html").read_bytes()
    out["report"] = {"kind": "html.gz", "blob": gzip.compress(html, 6)}
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Side-by-side of two run summaries: totals, headline indicators and target attainment."""
    def by(rows: list[dict], *keys: str) -> dict[tuple, dict]:
        return {tuple(r.get(k) for k in keys): r for r in rows}

    totals = [{"name": k, "a": a["totals"].get(k), "b": b["totals"].get(k)}
              for k in dict.fromkeys([*a.get("totals", {}), *b.get("totals", {})])]
    ha, hb = by(a.get("headline", []), "indicator"), by(b.get("headline", []), "indicator")
    headline = [{**{k: v for k, v in (ha.get(k) or hb.get(k) or {}).items() if k != "value"},
                 "a": (ha.get(k) or {}).get("value"), "b": (hb.get(k) or {}).get("value")}
                for k in dict.fromkeys([*ha, *hb])]
    ta, tb = by(a.get("targets", []), "id"), by(b.get("targets", []), "id")
    targets = [{"id": k[0], "name_zh": (ta.get(k) or tb.get(k) or {}).get("name_zh", ""),
                "name_en": (ta.get(k) or tb.get(k) or {}).get("name_en", ""),
                "a": (ta.get(k) or {}).get("attainment"), "b": (tb.get(k) or {}).get("attainment"),
                "status_a": (ta.get(k) or {}).get("status"), "status_b": (tb.get(k) or {}).get("status")}
               for k in dict.fromkeys([*ta, *tb])]
    return {"totals": totals, "headline": headline, "targets": targets}
