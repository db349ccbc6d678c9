"""Machine outputs of a plan: flows.csv / flows.parquet, plan.xlsx and plan.json."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from resynergy.monitor import summary_lines
from resynergy.planner.plan import TABLES
from resynergy.report.labels import bilingual
from resynergy.report.summary import PlanSummary
from resynergy.schema.cells import formula_like, plain

# A spreadsheet treats text starting with these as a formula (OWASP CSV/formula injection).

# The plan's own tables (planner.plan.TABLES, the one list); ``targets`` comes from the
# monitor's evaluation (every scope, with status), not the planner's table.
PLAN_TABLES = tuple(t for t in TABLES if t != "targets")
SHEET_NAMES = {
    "summary": "摘要 summary", "targets": "目标 targets", "indicators": "指标 indicators",
    "provinces": "分省指标 provinces",
    "flows": "流向 flows", "facility_io": "设施投入产出 facility_io", "activity": "设施 activity",
    "supply_use": "产废去向 supply_use", "deliveries": "产品供应 deliveries",
    "market": "外销产品 market", "costs": "费用 costs", "emissions": "排放 emissions",
    "incentives": "税收优惠 incentives", "diagnosis": "诊断 diagnosis",
    "shortages": "供应短缺 shortages", "corridor_shares": "通道运输结构 corridor shares",
}


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then move it in place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary shareable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def flows_table(s: PlanSummary) -> pd.DataFrame:
    """The plan's flows with site and material names in both languages."""
    f = s.plan.flows.copy()
    for col, kind in (("from_site", "site"), ("to_site", "site"), ("material", "material")):
        for lang in ("zh", "en"):
            f[f"{col}_{lang}"] = s.names.series(kind, f[col], lang)
    return f


def shortages_table(s: PlanSummary) -> pd.DataFrame:
    """The shortages every output shows (largest first), with site and material names in both
    languages."""
    d = s.shortages().drop(columns=["site_name", "material_name"])
    for col, kind in (("site", "site"), ("material", "material")):
        for lang in ("zh", "en"):
            d[f"{col}_{lang}"] = s.names.series(kind, d[col], lang)
    return d


def corridors_table(s: PlanSummary) -> pd.DataFrame:
    """Rail and new-energy shares per corridor and year, with the corridor named in both
    languages."""
    c = s.corridors("zh").rename(columns={"corridor_name": "corridor_zh"})
    c.insert(1, "corridor_en", s.corridors("en")["corridor_name"])
    return c


def write_flows(s: PlanSummary, out: Path) -> list[Path]:
    f = flows_table(s)
    csv, parquet = out / "flows.csv", out / "flows.parquet"
    f.to_csv(csv, index=False, encoding="utf-8-sig")  # the BOM lets Excel read the Chinese names
    f.to_parquet(parquet, index=False)
    return [csv, parquet]


def result_tables(s: PlanSummary) -> dict[str, pd.DataFrame]:
    """Every result table of the plan, in workbook order."""
    tables: dict[str, pd.DataFrame] = {"summary": summary_table(s), "targets": s.targets,
                                       "indicators": s.values, "provinces": s.by_province()}
    for name in PLAN_TABLES:
        df = getattr(s.plan, name, None)
        if isinstance(df, pd.DataFrame):
            named = {"flows": flows_table, "shortages": shortages_table,
                     "corridor_shares": corridors_table}.get(name)
            tables[name] = named(s) if named else df
    return tables


def summary_table(s: PlanSummary) -> pd.DataFrame:
    rows = [("scenario", str(s.plan.scenario)), ("status", str(s.plan.status)),
            ("objective", s.plan.objective), ("mip_gap", getattr(s.plan, "mip_gap", None))]
    rows += [(k, v) for k, v in s.totals.items()]
    rows += [("summary_zh", "\n".join(summary_lines(s.monitor, "zh", s.names))),
             ("summary_en", "\n".join(summary_lines(s.monitor, "en", s.names)))]
    return pd.DataFrame(rows, columns=["key", "value"])


def safe_cell_value(value: Any) -> Any:
    """Cell value for openpyxl: NaN → empty, numpy scalars → Python."""
    return plain(value)


def write_xlsx(s: PlanSummary, path: Path) -> Path:
    """One sheet per result table, headers ``中文 / English``; text is never a formula."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, df in result_tables(s).items():
        ws = wb.create_sheet(SHEET_NAMES.get(name, name)[:31])
        for i, c in enumerate(df.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(bilingual(c))))
        ws.freeze_panes = "A2"
        header = []
        for c in df.columns:
            cell = WriteOnlyCell(ws, value=bilingual(c))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in df.itertuples(index=False):
            ws.append([_cell(ws, v) for v in row])
    wb.save(path)
    return path


def _cell(ws, value: Any) -> Any:
    """A plain value, or for text a spreadsheet would read as a formula, a text cell."""
    value = safe_cell_value(value)
    if formula_like(value):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", force_ascii=False))


def plan_json(s: PlanSummary, outputs: dict[str, str] | None = None) -> dict:
    """The machine summary: status, objective, totals, indicators, targets, diagnosis."""
    p = s.plan
    head = s.headline()
    doc = {
        "scenario": str(p.scenario),
        "status": str(p.status),
        "objective_yuan": _num(p.objective),
        "mip_gap": _num(getattr(p, "mip_gap", None)),
        "years": s.years,
        "totals": {k: _num(v) for k, v in s.totals.items()},
        "costs_yuan": {str(k): _num(v) for k, v in zip(p.costs["component"], p.costs["yuan"],
                                                       strict=True)},
        "emissions_kg": {str(k): _num(v) for k, v in zip(p.emissions["component"],
                                                         p.emissions["kg"], strict=True)},
        "indicators": _records(head),
        "indicators_by_province": _records(s.by_province()),
        "targets": _records(s.targets),
        "target_counts": s.monitor.counts(),
        "diagnosis": _records(p.diagnosis) if isinstance(p.diagnosis, pd.DataFrame) else [],
        # demand met by neither recycled nor virgin supply: totals, then every row
        "shortage_totals": s.shortage_totals(),
        "shortages": _records(shortages_table(s)),
        "corridor_shares": _records(corridors_table(s)),
        "summary": {"zh": summary_lines(s.monitor, "zh", s.names),
                    "en": summary_lines(s.monitor, "en", s.names)},
        "timings_s": {str(k): _num(v) for k, v in (getattr(p, "timings", None) or {}).items()},
    }
    if outputs:
        doc["outputs"] = outputs
    return doc


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def write_json(s: PlanSummary, path: Path, outputs: dict[str, str] | None = None) -> Path:
    return write_text_atomic(path, json.dumps(plan_json(s, outputs), ensure_ascii=False, indent=1))
