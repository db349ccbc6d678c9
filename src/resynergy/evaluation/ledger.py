"""An enterprise's monthly industrial-solid-waste ledger (一般工业固废台账, Solid Waste Law Art 36)
with its products, read from the XLSX template or built from actual flows, and its mass balance.

Frames (columns as in :mod:`resynergy.schema` tables ``ledger_*``):

- ``waste`` — one row per month × material: month "YYYY-MM", material (materials.code),
  opening_t, generated_t, received_t, utilized_t, stored_t (compliant storage), disposed_t
  (compliant disposal), transferred_t (sent to others), closing_t;
- ``receipts`` — month, material, from_org, from_site, t, manifest: where received waste came from;
- ``use`` — month, material, product, grade, t: waste utilized into each product (and grade);
- ``products`` — month, product, grade, raw_materials_t (all raw materials or fuel, dry: the
  blending share's denominator), produced_t, sold_t, sales_yuan (excl. VAT), vat_rate (NaN =
  the product's usual rate), input_vat_yuan (0 = not given);
- ``firm`` — uscc, name, province, region, credit_rating (A|B|M|C|D), penalties_6m,
  separate_accounting, restricted_industry.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from resynergy import catalog, schema
from resynergy.evaluation.rules import Rules, load_rules
from resynergy.scenario import io as scenario_io
from resynergy.scenario import uscc
from resynergy.schema.cells import plain
from resynergy.schema.coerce import RawTable, check_keys, coerce
from resynergy.schema.issues import Issue, ScenarioError

FRAMES: tuple[str, ...] = ("waste", "receipts", "use", "products")
TABLES: dict[str, str] = {
    "waste": "ledger_waste", "receipts": "ledger_receipts", "use": "ledger_use",
    "products": "ledger_products", "firm": "ledger_firm",
}
# Sheet titles of the template (zh first); the table keys are accepted too.
SHEETS: dict[str, str] = {
    "ledger_firm": "企业信息", "ledger_waste": "固废台账", "ledger_receipts": "接收来源",
    "ledger_use": "利用去向", "ledger_products": "产品产销",
}
FLOWS_OUT = ("utilized_t", "stored_t", "disposed_t", "transferred_t")
TOLERANCE_T = 0.5  # t: the weighbridge resolution of a month's total (an estimate, stated in messages)
TOLERANCE_SHARE = 0.001  # 0.1 % of the month's inflow, whichever is larger
# the tolerance in words, for the template's guide and the report
TOLERANCE_ZH = f"允许误差 {TOLERANCE_T:g} 吨或流入量的 {TOLERANCE_SHARE * 100:g}%，取大者"
TOLERANCE_EN = f"tolerance {TOLERANCE_T:g} t or {TOLERANCE_SHARE * 100:g} % of the inflow, whichever is larger"
MAX_BYTES = 20 * 1024 * 1024
WASTE_KINDS = ("industrial_waste", "recycled_resource", "urban_waste")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
DATE_COLUMNS = ("received_on", "date", "shipped_on")  # flows' dates a month may be read from


def columns(frame: str) -> list[str]:
    """The columns of a ledger frame (``waste``, ``receipts``, ``use``, ``products``, ``firm``)."""
    return [c.name for c in schema.columns(TABLES[frame])]


MESSAGES: dict[str, tuple[str, str]] = {
    "missing_sheet": ("缺少工作表「{sheet}」（{table}）", "sheet {sheet} ({table}) is missing"),
    "bad_month": ("月份应为「年-月」，如 2022-03", "a month reads YYYY-MM, e.g. 2022-03"),
    "not_waste": ("「{material_code}」是产品，不是固废；应为固废或再生资源的物料代码",
                  "{material_code} is a product, not a waste; expected a waste or recycled-resource code"),
    "unknown_product": ("未知产品代码（应为：{choices}）", "unknown product code (expected one of: {choices})"),
    "grade_required": ("{product} 须填写强度等级（如 42.5、32.5）", "{product} needs its grade (e.g. 42.5, 32.5)"),
    "bad_grade": ("等级应以数字开头，如 42.5、42.5R、32.5", "a grade starts with a number, e.g. 42.5, 42.5R, 32.5"),
    "firm_rows": ("企业信息应恰好填写 1 行，实有 {count} 行", "the firm sheet needs exactly 1 row, it has {count}"),
    "too_big": ("文件过大（{size} 字节，上限 {limit} 字节）", "file too large ({size} bytes, limit {limit})"),
    "balance": ("{month} {material}：月初 + 产生 + 接收 − 利用 − 贮存 − 处置 − 转移 = {computed} t，月末库存填 {closing} t，相差 {diff} t（允许误差 ±{tol} t：{tol_t} t 或流入量的 {tol_pct}%，取大者）",
                "{month} {material}: opening + generated + received − utilized − stored − disposed − transferred = {computed} t but closing stock is {closing} t, off by {diff} t (tolerance ±{tol} t: {tol_t} t or {tol_pct} % of the inflow, whichever is larger)"),
    "continuity": ("{material}：{prev} 月末库存 {closing} t 与 {month} 月初库存 {opening} t 不一致（允许误差 ±{tol} t）",
                   "{material}: closing stock of {prev} ({closing} t) differs from opening stock of {month} ({opening} t) (tolerance ±{tol} t)"),
    "use_sum": ("{month} {material}：利用量 {utilized} t，但「利用去向」合计 {used} t（允许误差 ±{tol} t）",
                "{month} {material}: utilized {utilized} t but the use sheet totals {used} t (tolerance ±{tol} t)"),
    "receipts_sum": ("{month} {material}：接收量 {received} t，但「接收来源」合计 {listed} t（允许误差 ±{tol} t）",
                     "{month} {material}: received {received} t but the receipts sheet totals {listed} t (tolerance ±{tol} t)"),
    "use_above_raw": ("{month} {product}：利用固废合计 {used} t 大于原料总量 {raw} t（掺量不能超过 100%）",
                      "{month} {product}: waste utilized {used} t exceeds all raw materials {raw} t (a share cannot exceed 100 %)"),
    "no_product_row": ("{month} {product}：有利用记录，但「产品产销」没有该产品（及等级）的行",
                       "{month} {product}: waste is used into it but the products sheet has no row for it (and its grade)"),
    "missing_months": ("台账缺少评价期间内的月份：{months}（这些月份按无数据计）",
                       "the ledger has no rows for these months of the period: {months} (counted as no data)"),
    "flows_no_month": ("实际流向只有年份：{year} 年合计记入 {month}，月度数据需补充",
                       "actual flows give the year only: the {year} total is booked in {month}; monthly figures are needed"),
    "flows_unknown": ("由实际流向生成：利用、贮存、处置和产品产销无法从联单得知，需企业补填；接收量暂记为库存，转出多于接收的部分暂记为产生量（下限）",
                      "built from actual flows: use, storage, disposal and products are not in manifests and must be filled in by the firm; received tonnes are booked as stock, and tonnes sent out beyond those received as generation (a lower bound)"),
}
HINTS: dict[str, tuple[str, str]] = {
    "missing_sheet": ("请使用 resynergy evaluate --template 生成的模板", "use the template from resynergy evaluate --template"),
    "bad_month": ("月份填文本「2022-03」，不要填日期", "enter the month as text 2022-03, not a date"),
    "unknown_product": ("请从下拉列表或「参考 产品」工作表中选择", "pick from the drop-down or the 参考 产品 sheet"),
    "balance": ("核对各项数量，或在月末库存填实际盘点数", "check the quantities, or enter the counted stock as closing stock"),
}


@dataclass(frozen=True)
class LedgerIssue(Issue):
    """A located ledger problem (sheet, row, column label, value, what was expected)."""

    messages: ClassVar[dict[str, tuple[str, str]]] = {**Issue.messages, **MESSAGES}
    hints: ClassVar[dict[str, tuple[str, str]]] = {**Issue.hints, **HINTS}


class LedgerError(ScenarioError):
    """A ledger that cannot be read; ``issues`` locates every problem, nothing is half-read."""


@dataclass
class Ledger:
    """A firm's ledger: the four frames, the firm profile, and notes on what is missing."""

    waste: pd.DataFrame
    receipts: pd.DataFrame
    use: pd.DataFrame
    products: pd.DataFrame
    firm: dict[str, Any]
    notes: list[Issue] = field(default_factory=list)  # flags (e.g. built from flows: what is missing)
    rows: dict[str, list[int]] = field(default_factory=dict)  # frame → sheet row of each frame row
    source: str = "ledger"  # the file name the rows refer to

    def months(self) -> list[str]:
        """Every month the ledger holds, sorted."""
        found: set[str] = set()
        for name in FRAMES:
            found |= set(getattr(self, name)["month"])
        return sorted(found)

    def row_of(self, frame: str, index: int) -> int | None:
        rows = self.rows.get(frame)
        return rows[index] if rows is not None and index < len(rows) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each frame as a list of records (NaN → None), and the firm."""
        out: dict[str, Any] = {name: _records(getattr(self, name)) for name in FRAMES}
        out["firm"] = {k: _plain(v) for k, v in self.firm.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        """The inverse of :meth:`to_dict` (columns in schema order, defaults filled)."""
        frames = {name: _typed(name, pd.DataFrame.from_records(data.get(name) or [])) for name in FRAMES}
        firm = _typed("firm", pd.DataFrame.from_records([data.get("firm") or {}]))
        return cls(firm={k: _plain(v) for k, v in firm.iloc[0].items()} if len(firm) else {}, **frames)


def empty_ledger(firm: dict[str, Any] | None = None) -> Ledger:
    """A ledger with no rows (the firm's profile filled with defaults)."""
    frames = {name: _typed(name, pd.DataFrame()) for name in FRAMES}
    base = {c.name: c.default_value() for c in schema.columns(TABLES["firm"])}
    return Ledger(firm={**base, **(firm or {})}, **frames)


def _typed(frame: str, data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with the frame's columns in schema order, defaults filled, dtypes as the schema."""
    out = pd.DataFrame(index=range(len(data)))
    for col in schema.columns(TABLES[frame]):
        if col.name in data:
            values = data[col.name].reset_index(drop=True)
        else:
            values = pd.Series([col.default_value()] * len(data), dtype=object)
        if col.dtype == "float":
            out[col.name] = pd.to_numeric(values, errors="coerce").astype(float)
            if col.default != "":
                out[col.name] = out[col.name].fillna(float(col.default))
        elif col.dtype == "bool":
            out[col.name] = values.map(lambda v: str(v).lower() in ("true", "1", "是", "yes")).astype(bool)
        else:
            out[col.name] = values.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)).astype(object)
    return out


def _plain(value: object) -> object:
    return plain(value, finite=True)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


# --- reading ---------------------------------------------------------------------------------

def read_ledger(source: str | Path | bytes, name: str = "ledger.xlsx", rules: Rules | None = None) -> Ledger:
    """A ledger from the XLSX template (a path or the file's bytes). Every problem is reported at
    once as a :class:`LedgerError` (sheet, row, column, value, what was expected); nothing is
    half-read. The mass balance is not a reading error: see :func:`check_balance`."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_BYTES:
            raise LedgerError([LedgerIssue("too_big", source=name, params={"size": len(source), "limit": MAX_BYTES})])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / (Path(name).name or "ledger.xlsx")
            path.write_bytes(bytes(source))
            return read_ledger(path, name, rules)
    path = Path(source)
    name = name if name != "ledger.xlsx" else path.name
    raws, issues = _read_workbook(path, name)
    if issues and not raws:
        raise LedgerError(issues)
    frames: dict[str, pd.DataFrame] = {}
    rows: dict[str, list[int]] = {}
    for frame, table in TABLES.items():
        raw = raws.get(table)
        if raw is None:
            frames[frame] = _typed(frame, pd.DataFrame())
            continue
        if "month" in raw.frame:  # Excel turns a typed 2022-03 into a date: read it back as the month
            raw.frame["month"] = raw.frame["month"].map(_month_text)
        typed, found = coerce(raw)
        issues += found
        if frame != "firm":
            issues += check_keys(table, typed, raw)
        frames[frame] = typed
        rows[frame] = list(raw.rows)
    firm_frame = frames.pop("firm")
    ledger = Ledger(firm={k: _plain(v) for k, v in firm_frame.iloc[0].items()} if len(firm_frame) == 1 else {},
                    rows=rows, source=name, **frames)
    if "ledger_firm" in raws and len(firm_frame) != 1:
        issues.append(LedgerIssue("firm_rows", "ledger_firm", _sheet_source(name, "ledger_firm"),
                                  params={"count": len(firm_frame)}))
    issues += check_content(ledger, rules)
    if issues:
        raise LedgerError(issues)
    return ledger


def _month_text(value: object) -> object:
    """A cell of a month column: a date or datetime (what Excel makes of 2022-03) as "YYYY-MM"."""
    if isinstance(value, (datetime, date)):
        return f"{value.year}-{value.month:02d}"
    return value


def _sheet_source(name: str, table: str) -> str:
    return f"{name} [{SHEETS[table]}]"


def _read_workbook(path: Path, name: str) -> tuple[dict[str, RawTable], list[Issue]]:
    from openpyxl import load_workbook

    problem = scenario_io._check_zip(path)
    if problem:
        return {}, [Issue("unreadable", source=name, params={"detail": problem})]
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the user's to see
        return {}, [Issue("unreadable", source=name, params={"detail": str(exc)[:200]})]
    by_title = {title: table for table, title in SHEETS.items()} | {t: t for t in SHEETS}
    raws: dict[str, RawTable] = {}
    issues: list[Issue] = []
    try:
        for ws in wb.worksheets:
            table = by_title.get(ws.title.strip())
            if table is None:
                continue  # instructions and look-up sheets
            raw, found = scenario_io._read_sheet(list(ws.iter_rows(values_only=True)), table,
                                                 f"{name} [{ws.title.strip()}]")
            issues += found
            if raw is not None:
                raws[table] = raw
    finally:
        wb.close()
    for table in SHEETS:
        if table not in raws and not any(i.table == table for i in issues):
            issues.append(LedgerIssue("missing_sheet", table, name, params={"sheet": SHEETS[table], "table": table}))
    return raws, issues


def check_content(ledger: Ledger, rules: Rules | None = None) -> list[Issue]:
    """Months, material and product codes, grades and the firm's code: every problem located."""
    rules = rules or load_rules()
    materials = catalog.table("materials").set_index("code")["kind"]
    products = rules.products.set_index("product")
    issues: list[Issue] = []

    def at(frame: str, i: int, column: str, value: object, code: str, **params: object) -> None:
        table = TABLES[frame]
        issues.append(LedgerIssue(code, table, _sheet_source(ledger.source, table),
                                  ledger.row_of(frame, i), column, value, params))

    for frame in FRAMES:
        data = getattr(ledger, frame)
        for i, month in enumerate(data["month"]):
            if month and not valid_month(month):
                at(frame, i, "month", month, "bad_month")
        if "material" in data:
            for i, code in enumerate(data["material"]):
                if not code:
                    continue
                if code not in materials.index:
                    at(frame, i, "material", code, "unknown_ref", ref_table="materials", ref_column="code")
                elif materials[code] not in WASTE_KINDS:
                    at(frame, i, "material", code, "not_waste", material_code=code)
        if "product" in data:
            for i, (code, grade) in enumerate(zip(data["product"], data["grade"], strict=True)):
                if not code:
                    continue
                if code not in products.index:
                    at(frame, i, "product", code, "unknown_product", choices=", ".join(products.index[:12]) + " …")
                elif bool(products.loc[code, "grade_required"]) and not grade:
                    at(frame, i, "grade", grade, "grade_required", product=code)
                if grade and grade_value(grade) is None:
                    at(frame, i, "grade", grade, "bad_grade")
    code = str(ledger.firm.get("uscc") or "")
    if code and not uscc.is_valid(code):
        check = uscc.check_char(code[:17]) if len(code) >= 17 and all(
            ch in uscc.ALPHABET for ch in code[:17].upper()) else "?"
        issues.append(LedgerIssue("bad_uscc", "ledger_firm", _sheet_source(ledger.source, "ledger_firm"),
                                  ledger.row_of("firm", 0), "uscc", code, {"check": check}))
    return issues


def valid_month(text: str) -> bool:
    m = _MONTH.match(str(text))
    return m is not None and 2000 <= int(m.group(1)) <= 2100 and 1 <= int(m.group(2)) <= 12


def grade_value(grade: str) -> float | None:
    """The number a grade starts with ("42.5R" → 42.5), or None."""
    m = re.match(r"^\s*(\d+(?:\.\d+)?)", str(grade))
    return float(m.group(1)) if m else None


# --- mass balance ----------------------------------------------------------------------------

def _tol(inflow: float, tolerance_t: float, tolerance_share: float) -> float:
    return max(tolerance_t, tolerance_share * max(inflow, 0.0))


def _fmt(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".") if abs(x) < 1e15 else str(x)


def check_balance(ledger: Ledger, tolerance_t: float = TOLERANCE_T,
                  tolerance_share: float = TOLERANCE_SHARE) -> list[Issue]:
    """The ledger's mass balance, each failure located with its month and material:
    opening + generated + received − utilized − stored − disposed − transferred = closing (per
    month × material), one month's closing = the next month's opening, utilized = Σ use,
    received = Σ receipts, waste used into a product ≤ its raw materials, and a product row for
    every product used into. Tolerance: ``tolerance_t`` tonnes or ``tolerance_share`` of the
    month's inflow, whichever is larger (stated in each message)."""
    issues: list[Issue] = []
    w = ledger.waste.reset_index(drop=True)
    tol_params = {"tol_t": _fmt(tolerance_t), "tol_pct": _fmt(tolerance_share * 100)}

    def add(code: str, frame: str, i: int | None, column: str, value: object, **params: object) -> None:
        table = TABLES[frame]
        source = _sheet_source(ledger.source, table) if ledger.rows else table
        issues.append(LedgerIssue(code, table, source, ledger.row_of(frame, i) if i is not None else None,
                                  column, value, dict(params)))

    used = ledger.use.groupby(["month", "material"])["t"].sum() if len(ledger.use) else pd.Series(dtype=float)
    listed = ledger.receipts.groupby(["month", "material"])["t"].sum() if len(ledger.receipts) else pd.Series(dtype=float)
    for i, r in w.iterrows():
        idx = int(str(i))
        inflow = float(r["opening_t"] + r["generated_t"] + r["received_t"])
        tol = _tol(inflow, tolerance_t, tolerance_share)
        computed = inflow - float(sum(r[c] for c in FLOWS_OUT))
        if abs(computed - r["closing_t"]) > tol:
            add("balance", "waste", idx, "closing_t", _fmt(r["closing_t"]), month=r["month"],
                material=_name(r["material"]), computed=_fmt(computed), closing=_fmt(r["closing_t"]),
                diff=_fmt(computed - r["closing_t"]), tol=_fmt(tol), **tol_params)
        u = float(used.get((r["month"], r["material"]), 0.0))
        if abs(u - r["utilized_t"]) > tol:
            add("use_sum", "waste", idx, "utilized_t", _fmt(r["utilized_t"]), month=r["month"],
                material=_name(r["material"]), utilized=_fmt(r["utilized_t"]), used=_fmt(u), tol=_fmt(tol))
        got = float(listed.get((r["month"], r["material"]), 0.0))
        if abs(got - r["received_t"]) > tol:
            add("receipts_sum", "waste", idx, "received_t", _fmt(r["received_t"]), month=r["month"],
                material=_name(r["material"]), received=_fmt(r["received_t"]), listed=_fmt(got), tol=_fmt(tol))
    # continuity: a month's closing stock is the next month's opening stock
    order = w.assign(_i=range(len(w))).sort_values(["material", "month"])
    for _, group in order.groupby("material"):
        prev = None
        for _, r in group.iterrows():
            if prev is not None and _next_month(prev["month"]) == r["month"]:
                tol = _tol(float(prev["closing_t"]), tolerance_t, tolerance_share)
                if abs(prev["closing_t"] - r["opening_t"]) > tol:
                    add("continuity", "waste", int(r["_i"]), "opening_t", _fmt(r["opening_t"]),
                        material=_name(r["material"]), prev=prev["month"], month=r["month"],
                        closing=_fmt(prev["closing_t"]), opening=_fmt(r["opening_t"]), tol=_fmt(tol))
            prev = r
    # waste with no ledger row: used or received but never booked
    booked = set(zip(w["month"], w["material"], strict=True))
    for i, r in ledger.use.reset_index(drop=True).iterrows():
        if (r["month"], r["material"]) not in booked:
            add("use_sum", "use", int(str(i)), "material", r["material"], month=r["month"],
                material=_name(r["material"]), utilized="0", used=_fmt(float(used.get((r["month"], r["material"]), 0.0))),
                tol=_fmt(tolerance_t))
    # products: waste used ≤ raw materials; every product used into has a row
    if len(ledger.use):
        per_product = ledger.use.groupby(["month", "product", "grade"])["t"].sum()
        prods = ledger.products.reset_index(drop=True)
        keyed = {(r["month"], r["product"], r["grade"]): int(str(i)) for i, r in prods.iterrows()}
        for (month, product, grade), t in per_product.items():
            label = f"{product} {grade}".strip()
            i = keyed.get((month, product, grade))
            if i is None:
                add("no_product_row", "products", None, "product", label, month=month, product=label)
                continue
            raw = float(prods.loc[i, "raw_materials_t"])
            if t > raw + _tol(raw, tolerance_t, tolerance_share):
                add("use_above_raw", "products", i, "raw_materials_t", _fmt(raw), month=month,
                    product=label, used=_fmt(float(t)), raw=_fmt(raw))
    return issues


def _next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y + (m == 12)}-{1 if m == 12 else m + 1:02d}"


def _name(material: str) -> str:
    try:
        return f"{catalog.material_name(material)}({material})"
    except KeyError:
        return material


# --- from actual flows -----------------------------------------------------------------------

def ledger_from_flows(flows: pd.DataFrame, org_sites: Iterable[str], firm: dict[str, Any],
                      months: Iterable[str] | None = None) -> Ledger:
    """The receipts and transfers of a firm's sites (``org_sites``) from actual flows (columns
    month "YYYY-MM" — or a date in received_on, date or shipped_on, or the year only —,
    from_site, to_site, material, t, manifest; optional from_org): received_t from flows
    into its sites, transferred_t from flows out of them. Flows between its own sites are
    internal and left out. What flows cannot say (generation, utilization, storage, disposal,
    stock, products) stays 0 and is flagged in ``notes``; flows with a year only are booked in
    December of that year and flagged."""
    sites = set(org_sites)
    f = flows.copy()
    notes: list[Issue] = [LedgerIssue("flows_unknown", source="actual_flows")]
    dated = next((c for c in DATE_COLUMNS if c in f and "month" not in f), None)
    if dated is not None:  # a manifest's receipt date gives the month
        f["month"] = f[dated].astype(str).str.slice(0, 7)
    if "month" not in f or f["month"].astype(str).str.strip().eq("").all():
        years = sorted({int(y) for y in f.get("year", pd.Series(dtype=int))})
        f["month"] = [f"{int(y)}-12" for y in f.get("year", pd.Series(dtype=int))]
        notes += [LedgerIssue("flows_no_month", source="actual_flows", params={"year": y, "month": f"{y}-12"})
                  for y in years]
    f["month"] = f["month"].astype(str)
    if "manifest" not in f:
        f["manifest"] = ""
    f["manifest"] = f["manifest"].fillna("").astype(str)
    if months is not None:
        f = f[f["month"].isin(set(months))]
    inside_from, inside_to = f["from_site"].isin(sites), f["to_site"].isin(sites)
    incoming = f[inside_to & ~inside_from]
    outgoing = f[inside_from & ~inside_to]
    receipts = pd.DataFrame({
        "month": incoming["month"], "material": incoming["material"], "from_org": incoming.get(
            "from_org", incoming["from_site"]), "from_site": incoming["from_site"], "t": incoming["t"].astype(float),
        "manifest": incoming["manifest"]})
    rec = incoming.groupby(["month", "material"])["t"].sum().rename("received_t")
    out = outgoing.groupby(["month", "material"])["t"].sum().rename("transferred_t")
    both = pd.concat([rec, out], axis=1).fillna(0.0).reset_index()
    if len(both):
        both["closing_t"] = 0.0
        # unknown use: stock is what was received minus what left, so the balance holds as built
        both = both.sort_values(["material", "month"]).reset_index(drop=True)
        opening = []
        for _, g in both.groupby("material", sort=False):
            stock = 0.0
            for i, r in g.iterrows():
                opening.append((i, stock))
                stock = max(0.0, stock + r["received_t"] - r["transferred_t"])
                both.loc[i, "closing_t"] = stock
        for i, stock in opening:
            both.loc[i, "opening_t"] = stock
        both["generated_t"] = (both["closing_t"] - both["opening_t"] - both["received_t"]
                               + both["transferred_t"]).clip(lower=0.0)
    waste = _typed("waste", both)
    base = {c.name: c.default_value() for c in schema.columns(TABLES["firm"])}
    return Ledger(waste=waste, receipts=_typed("receipts", receipts), use=_typed("use", pd.DataFrame()),
                  products=_typed("products", pd.DataFrame()), firm={**base, **firm}, notes=notes,
                  source="actual_flows")


# --- template --------------------------------------------------------------------------------

_EXAMPLES: dict[str, dict[str, object]] = {
    "ledger_firm": {"uscc": "91130200MA0B7XKQ10", "name": "示例建材有限公司", "province": "河北省",
                    "region": "130200", "credit_rating": "B", "penalties_6m": "否",
                    "separate_accounting": "是", "restricted_industry": "否"},
    "ledger_waste": {"month": "2022-01", "material": "fly_ash", "opening_t": 1200, "generated_t": 0,
                     "received_t": 5000, "utilized_t": 5100, "stored_t": 0, "disposed_t": 0,
                     "transferred_t": 0, "closing_t": 1100},
    "ledger_receipts": {"month": "2022-01", "material": "fly_ash", "from_org": "示例热电厂",
                        "from_site": "", "t": 5000, "manifest": "HB2022010001"},
    "ledger_use": {"month": "2022-01", "material": "fly_ash", "product": "bricks_blocks", "grade": "", "t": 5100},
    "ledger_products": {"month": "2022-01", "product": "bricks_blocks", "grade": "", "raw_materials_t": 7200,
                        "produced_t": 6800, "sold_t": 6500, "sales_yuan": 1950000, "vat_rate": 0.13,
                        "input_vat_yuan": 0},
}
LAST_ROW = 2000


def write_template(path: str | Path, ledger: Ledger | None = None, rules: Rules | None = None) -> Path:
    """The ledger workbook to fill in: an instructions sheet, one sheet per table with Chinese
    headers (and the key below), an example row (marked, ignored on import), drop-downs for
    materials, products, grades and ratings, and look-up sheets. With ``ledger``, its rows are
    filled in from row 4 (:func:`read_ledger` reads them back)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from resynergy.scenario import template

    rules = rules or load_rules()
    wb = Workbook()
    guide = wb.active
    guide.title = scenario_io.INSTRUCTIONS_SHEET
    for line in _GUIDE:
        guide.append([line])
    guide.column_dimensions["A"].width = 120
    materials = catalog.table("materials")
    wastes = materials[materials["kind"].isin(WASTE_KINDS)]
    lookups = {
        "物料": wastes[["code", "name_zh", "name_en", "kind"]],
        "产品": rules.products[["product", "name_zh", "name_en", "grade_required", "vat_rate"]],
    }
    lists = {"material": f"'{scenario_io.LOOKUP_PREFIX}物料'!$A$3:$A${len(wastes) + 2}",
             "product": f"'{scenario_io.LOOKUP_PREFIX}产品'!$A$3:$A${len(rules.products) + 2}"}
    for table, title in SHEETS.items():
        ws = wb.create_sheet(title)
        frame = None
        if ledger is not None:
            key = next(k for k, v in TABLES.items() if v == table)
            frame = pd.DataFrame([{k: ("是" if v else "否") if isinstance(plain(v), bool) else v
                                   for k, v in ledger.firm.items()}]) if key == "firm" else getattr(ledger, key)
            frame = frame.reindex(columns=[c.name for c in schema.columns(table)])
        scenario_io.table_sheet(ws, table, frame, first=4)
        template.example_row(ws, table, _EXAMPLES[table])
        for j, col in enumerate(schema.columns(table), start=1):
            letter = get_column_letter(j)
            strict = True
            if col.choices:
                formula = '"' + ",".join(col.choices) + '"'
            elif col.dtype == "bool":
                formula = '"是,否"'
            elif col.name == "grade":
                formula, strict = '"42.5,52.5,62.5,32.5,42.5R,52.5R,32.5R"', False
            elif col.name in lists:
                formula, strict = lists[col.name], False
            else:
                continue
            template.drop_down(ws, letter, formula, strict, LAST_ROW)
    for title, frame in lookups.items():
        template.lookup_sheet(wb, f"{scenario_io.LOOKUP_PREFIX}{title}", frame)
    out = Path(path)
    buffer = io.BytesIO()
    wb.save(buffer)
    out.write_bytes(buffer.getvalue())
    return out


def ledger_to_xlsx(ledger: Ledger) -> bytes:
    """The ledger as template bytes (what :func:`read_ledger` reads back)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(Path(tmp) / "ledger.xlsx", ledger)
        return path.read_bytes()


_GUIDE: tuple[str, ...] = (
    "一般工业固体废物台账及产品产销表（资源综合利用评价、税收优惠测算用）",
    "Industrial solid waste ledger with product output and sales (for the utilization evaluation and tax-incentive estimates)",
    "",
    "1. 每个工作表第 1 行为中文表头（第 2 行为英文代码，请勿修改）；第 3 行为示例行（灰色，最后一列标注），导入时忽略；请从第 4 行起填写。",
    "   Row 1 holds the Chinese headers, row 2 the keys (do not edit); row 3 is an example (grey, marked in the last column) and is ignored; fill in from row 4.",
    f"2. 企业信息：填 1 行。固废台账：每月每种固废 1 行，月初库存 + 产生 + 接收 − 利用 − 贮存 − 处置 − 转移 = 月末库存（{TOLERANCE_ZH}）。",
    f"   Firm: one row. Waste ledger: one row per month and waste; opening + generated + received − utilized − stored − disposed − transferred = closing ({TOLERANCE_EN}).",
    "3. 接收来源：每批接收的来源单位和联单号，合计应等于固废台账的接收量。利用去向：每月每种固废投入各产品（及等级）的数量，合计应等于利用量。",
    "   Receipts: each supplier and manifest; they total the received tonnes. Use: tonnes of each waste into each product (and grade) per month; they total the utilized tonnes.",
    "4. 产品产销：每月每种产品（水泥分等级）1 行；原料总量为全部原料（发电为全部燃料）干基投入量，即掺量的分母。",
    "   Products: one row per month and product (cement per grade); raw materials = all raw materials (fuel for power), dry: the share's denominator.",
    "5. 月份填文本「2022-03」；数量单位为吨（电力产销为兆瓦时）；金额为元（不含增值税）；是/否列填「是」或「否」。",
    "   Months as text 2022-03; tonnes (electricity output and sales in MWh); money in CNY excluding VAT; yes/no columns 是 or 否.",
    "6. 以「参考」开头的工作表列出物料代码和产品代码，导入时忽略。",
    "   Sheets starting with 参考 list the material and product codes and are ignored on import.",
)
