"""Machine outputs of a plan: flows.csv / flows.parquet, plan.xlsx and plan.json."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from resynergy.monitor import status_lines
from resynergy.report.findings import PlanFindings
from resynergy.schema import outputs as declared
from resynergy.schema.cells import plain


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


def flows_table(s: PlanFindings) -> pd.DataFrame:
    """The plan's flows with site and material names in both languages."""
    f = s.plan.flows.copy()
    for col, kind in (("from_site", "site"), ("to_site", "site"), ("material", "material")):
        for lang in ("zh", "en"):
            f[f"{col}_{lang}"] = s.names.series(kind, f[col], lang)
    return f


def shortages_table(s: PlanFindings) -> pd.DataFrame:
    """The shortages every output shows (largest first), with site and material names in both
    languages."""
    d = s.shortages().drop(columns=["site_name", "material_name"])
    for col, kind in (("site", "site"), ("material", "material")):
        for lang in ("zh", "en"):
            d[f"{col}_{lang}"] = s.names.series(kind, d[col], lang)
    return d


def corridors_table(s: PlanFindings) -> pd.DataFrame:
    """Rail and new-energy shares per corridor and year, with the corridor named in both
    languages."""
    c = s.corridors("zh").rename(columns={"corridor_name": "corridor_zh"})
    c.insert(1, "corridor_en", s.corridors("en")["corridor_name"])
    return c


def write_flows(s: PlanFindings, out: Path, flows: pd.DataFrame | None = None) -> list[Path]:
    """flows.csv and flows.parquet: :func:`flows_table` (given as ``flows``, or made here)."""
    f = flows_table(s) if flows is None else flows
    csv, parquet = out / "flows.csv", out / "flows.parquet"
    f.to_csv(csv, index=False, encoding="utf-8-sig")  # the BOM lets Excel read the Chinese names
    f.to_parquet(parquet, index=False)
    return [csv, parquet]


def result_tables(s: PlanFindings) -> dict[str, pd.DataFrame]:
    """Every result table of the plan, in workbook order (schema/output_tables.csv), each with
    its declared columns in order and the name columns the exports add after them. The
    ``targets`` sheet is the monitor's evaluation (every scope, with status), not the planner's
    table; both have the declared ``targets`` columns."""
    made = {"summary": lambda: summary_table(s), "targets": lambda: s.targets,
            "indicators": lambda: s.values, "provinces": s.by_province,
            "flows": lambda: flows_table(s), "shortages": lambda: shortages_table(s),
            "corridor_shares": lambda: corridors_table(s)}
    tables: dict[str, pd.DataFrame] = {}
    for name, decl in declared.all_tables().items():
        df = made[name]() if name in made else getattr(s.plan, name, None)
        if isinstance(df, pd.DataFrame):
            tables[name] = decl.arrange(df)
    return tables


def summary_table(s: PlanFindings) -> pd.DataFrame:
    rows = [("scenario", str(s.plan.scenario)), ("status", str(s.plan.status)),
            ("objective", s.plan.objective), ("mip_gap", getattr(s.plan, "mip_gap", None))]
    rows += [(k, v) for k, v in s.totals.items()]
    rows += [("summary_zh", "\n".join(status_lines(s.monitor, "zh", s.names))),
             ("summary_en", "\n".join(status_lines(s.monitor, "en", s.names)))]
    return pd.DataFrame(rows, columns=["key", "value"])


def safe_cell_value(value: Any) -> Any:
    """Cell value: NaN → empty, numpy scalars → Python."""
    return plain(value)


# Rows a worksheet holds (Excel's limit); longer tables continue on "NAME (2)", "NAME (3)", …
MAX_ROWS = 1_048_576
# XlsxWriter options: text is always written as text. By default XlsxWriter would turn text
# starting with "=" into a formula, and could turn URL-like text into links and number-like
# text into numbers; these options switch all three off, and constant_memory writes each row
# as it comes (memory stays flat on large plans).
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False, "constant_memory": True}


def write_xlsx(s: PlanFindings, path: Path,
               tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """One sheet per result table (``tables`` as from :func:`result_tables`, computed when not
    given), sheet names and headers ``中文 / English`` from the declaration
    (:mod:`resynergy.schema.outputs`); text is never a formula.

    Written with XlsxWriter (≈ 2 × faster than openpyxl's write-only mode on the built-in
    plan; benchmarks/README.md). Every text cell goes through ``write_string`` with
    :data:`XLSX_OPTIONS`, so text starting with = + - @ (schema.cells.formula_like) stays text.
    """
    import xlsxwriter

    tables = result_tables(s) if tables is None else tables
    with xlsxwriter.Workbook(str(path), XLSX_OPTIONS) as wb:
        bold = wb.add_format({"bold": True})
        for name, df in tables.items():
            title = declared.table(name).sheet if name in declared.all_tables() else name
            per_sheet = MAX_ROWS - 1
            for part, start in enumerate(range(0, max(len(df), 1), per_sheet)):
                sheet = title[:31] if part == 0 else f"{title[:25]} ({part + 1})"
                _write_sheet(wb.add_worksheet(sheet), df.iloc[start:start + per_sheet], bold)
    return path


def _write_sheet(ws: Any, df: pd.DataFrame, bold: Any) -> None:
    """A header row (each declared column's header carries what it holds, zh and en, as a
    note), then every row of ``df``: numbers as numbers, text as text, NaN empty."""
    heads = [declared.bilingual(c) for c in df.columns]
    for i, h in enumerate(heads):
        ws.set_column(i, i, max(10, min(40, len(h))))
    ws.freeze_panes(1, 0)
    ws.write_row(0, 0, heads, bold)
    for i, name in enumerate(df.columns):
        col = declared.column(str(name))
        if col is not None:
            ws.write_comment(0, i, col.note(), {"author": "resynergy"})
    columns = [df[c].tolist() for c in df.columns]  # Python scalars, column by column
    number, text, boolean = ws.write_number, ws.write_string, ws.write_boolean
    for r in range(len(df)):
        row = r + 1
        for c, col in enumerate(columns):
            v = col[r]
            kind = type(v)
            if kind is float:
                if math.isfinite(v):
                    number(row, c, v)
                elif not math.isnan(v):
                    text(row, c, str(v))  # inf, -inf: no number a worksheet can hold
            elif kind is str:
                text(row, c, v)
            elif kind is int:
                number(row, c, v)
            elif kind is bool:
                boolean(row, c, v)
            elif v is not None:
                _write_other(ws, row, c, safe_cell_value(v))


def _write_other(ws: Any, row: int, col: int, value: Any) -> None:
    """Values of object columns that are not plain float, int, str or bool."""
    if value is None or pd.isna(value):
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, int | float) and math.isfinite(value):
        ws.write_number(row, col, value)
    else:
        ws.write_string(row, col, str(value))


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", force_ascii=False))


def plan_json(s: PlanFindings, outputs: dict[str, str] | None = None,
              tables: dict[str, pd.DataFrame] | None = None) -> dict:
    """The machine summary: status, objective, totals, indicators, targets, diagnosis.

    ``tables`` (from :func:`result_tables`) are reused when given, so the workbook and the
    JSON are made from the same frames, computed once."""
    p = s.plan
    tables = tables or {}
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
        "indicators_by_province": _records(_table(tables, "provinces", s.by_province)),
        "targets": _records(s.targets),
        "target_counts": s.monitor.counts(),
        "diagnosis": _records(p.diagnosis) if isinstance(p.diagnosis, pd.DataFrame) else [],
        # demand met by neither recycled nor virgin supply: totals, then every row
        "shortage_totals": s.shortage_totals(),
        "shortages": _records(_table(tables, "shortages", lambda: shortages_table(s))),
        "corridor_shares": _records(_table(tables, "corridor_shares", lambda: corridors_table(s))),
        "summary": {"zh": status_lines(s.monitor, "zh", s.names),
                    "en": status_lines(s.monitor, "en", s.names)},
        "timings_s": {str(k): _num(v) for k, v in (getattr(p, "timings", None) or {}).items()},
        # what the columns of plan.xlsx and flows.csv hold: name, unit, zh/en label, by table
        "columns": {name: declared.column_records(name, with_names=True)
                    for name in declared.all_tables()},
    }
    if outputs:
        doc["outputs"] = outputs
    return doc


def _table(tables: dict[str, pd.DataFrame], name: str, make) -> pd.DataFrame:
    return tables[name] if name in tables else make()


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def write_json(s: PlanFindings, path: Path, outputs: dict[str, str] | None = None,
               tables: dict[str, pd.DataFrame] | None = None) -> Path:
    return write_text_atomic(path, json.dumps(plan_json(s, outputs, tables), ensure_ascii=False,
                                              indent=1))
