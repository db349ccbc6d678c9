"""Which products of a firm qualify for the VAT refund and the 90 % income rule, and how much
environmental-protection tax its utilization saves, for one period, from its ledger and the
rules (each answer names its rule row and says why, in zh and en).

- Blending share = waste of the rule's resource families used into the product ÷ all its raw
  materials (or fuel), per month and over the period, compared with ``>=`` on exact decimals
  (以上 includes the number: Civil Code Art 1259). A month below the threshold loses that month.
- VAT refund (即征即退) per month = (sales × VAT rate − input VAT) × refund %; with no input VAT
  given, the estimate is sales × VAT rate × refund % (an upper bound, said in the reason).
- EIT: revenue counted at 90 %; the 2021 catalogue's rows were not seen, so the verdict is
  "indeterminate" (with the share against the assumed threshold) until a row is verified.
- EPT base = generated − compliant storage − compliant disposal − transferred − utilized (own
  waste: received waste is taken as utilized first); tax = base × rate; exempt = utilized own
  waste × rate.
- Rows tagged P or U never give "eligible": "indeterminate — needs legal review".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pandas as pd

from resynergy import catalog
from resynergy.evaluation.ledger import Ledger, LedgerIssue, check_balance, grade_value
from resynergy.evaluation.periods import Period, month_first_day
from resynergy.evaluation.rules import SOLID, Rules, load_rules, weakest
from resynergy.schema.cells import plain
from resynergy.schema.issues import Issue


class Verdict(StrEnum):
    """The answer for one product (or month): eligible, partly (some months), not, unknown, not an item."""

    ELIGIBLE = "eligible"
    PARTIAL = "partial"
    NOT_ELIGIBLE = "not_eligible"
    INDETERMINATE = "indeterminate"
    NOT_LISTED = "not_listed"


VERDICT_TEXT: dict[str, tuple[str, str]] = {
    Verdict.ELIGIBLE: ("符合", "eligible"),
    Verdict.PARTIAL: ("部分月份符合", "eligible in some months"),
    Verdict.NOT_ELIGIBLE: ("不符合", "not eligible"),
    Verdict.INDETERMINATE: ("待定（需核实）", "indeterminate (to be verified)"),
    Verdict.NOT_LISTED: ("不属于目录产品", "not a catalogue product"),
}


def pct(x: float | None, digits: int = 1) -> str:
    """A share as a percentage: 0.62 → "62.0%"; a threshold keeps only the digits it needs."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    text = f"{x * 100:.{digits}f}"
    return f"{text}%"


def threshold(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{Decimal(str(x)) * 100:f}".rstrip("0").rstrip(".") + "%"


def yuan(x: float) -> str:
    return f"{x:,.2f}"


def _met(waste_t: float, raw_t: float, minimum: float) -> bool:
    """waste / raw ≥ minimum on exact decimals (no rounding before the comparison)."""
    return Decimal(repr(float(waste_t))) >= Decimal(repr(float(minimum))) * Decimal(repr(float(raw_t)))


@dataclass
class Assessment:
    """The answers for one firm and period (frames, see the module doc) and the balance found."""

    period: Period
    firm: dict[str, Any]
    shares: pd.DataFrame
    vat: pd.DataFrame
    eit: pd.DataFrame
    ept: pd.DataFrame
    screens: pd.DataFrame
    balance: list[Issue] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)
    utilized: pd.DataFrame = field(default_factory=pd.DataFrame)  # by material: own, received, by source

    def totals(self) -> dict[str, float]:
        """refund_yuan, potential_refund_yuan, eit_reduction_income_yuan (eligible only),
        eit_reduction_income_indeterminate_yuan (unverified rows whose assumed threshold is met),
        eit_saving_yuan, ept_tax_yuan, ept_exempt_yuan,
        utilized_t."""
        eit_ok = self.eit[self.eit["status"] == Verdict.ELIGIBLE] if len(self.eit) else self.eit
        eit_open = self.eit[(self.eit["status"] == Verdict.INDETERMINATE) & self.eit["assumed_met"]] if len(
            self.eit) else self.eit
        return {
            "refund_yuan": _sum(self.vat, "refund_yuan"),
            "potential_refund_yuan": _sum(self.vat, "potential_refund_yuan"),
            "eit_reduction_income_yuan": _sum(eit_ok, "reduction_income_yuan"),
            "eit_reduction_income_indeterminate_yuan": _sum(eit_open, "reduction_income_yuan"),
            "eit_saving_yuan": _sum(eit_ok, "saving_yuan"),
            "ept_tax_yuan": _sum(self.ept, "tax_yuan"),
            "ept_exempt_yuan": _sum(self.ept, "exempt_yuan"),
            "utilized_t": _sum(self.utilized, "utilized_t"),
        }

    def published(self, evaluator: str = "") -> dict[str, Any]:
        """The fields a filed evaluation publishes (note §1.2 step 7): firm, the ISW types and
        tonnes utilized, the products, and the evaluator — nothing else of the ledger."""
        products = self.vat[["product", "grade", "name_zh", "name_en"]].drop_duplicates() if len(self.vat) else self.vat
        return {
            "firm": {"name": self.firm.get("name", ""), "uscc": self.firm.get("uscc", "")},
            "period": self.period.text,
            "wastes": [{"material": r.material, "name_zh": r.name_zh, "name_en": r.name_en, "utilized_t": float(r.utilized_t)}
                       for r in self.utilized.itertuples(index=False) if r.utilized_t > 0],
            "products": _records(products) if len(products) else [],
            "evaluator": evaluator,
        }

    @property
    def balanced(self) -> bool:
        """True when the mass balance holds (a failed balance blocks the report's conclusion)."""
        return not self.balance

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the same numbers as the frames and :meth:`totals`."""
        return {
            "period": {"text": self.period.text, "start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat(), "label_zh": self.period.label_zh,
                       "label_en": self.period.label_en},
            "firm": {k: _plain(v) for k, v in self.firm.items()},
            "balanced": self.balanced,
            "totals": self.totals(),
            "shares": _records(self.shares),
            "vat": _records(self.vat),
            "eit": _records(self.eit),
            "ept": _records(self.ept),
            "screens": _records(self.screens),
            "utilized": _records(self.utilized),
            "balance": [issue_dict(i) for i in self.balance],
            "notes": [issue_dict(i) for i in self.notes],
        }


def issue_dict(issue: Issue) -> dict[str, Any]:
    """A located issue as JSON: where, and the message in zh and en."""
    return {"code": issue.code, "table": issue.table, "source": issue.source, "row": issue.row,
            "column": issue.column, "value": _plain(issue.value),
            "message_zh": issue.message("zh"), "message_en": issue.message("en")}


def _sum(frame: pd.DataFrame, col: str) -> float:
    return float(frame[col].sum()) if len(frame) and col in frame else 0.0


def _plain(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return plain(value, finite=True)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


# --- the engine --------------------------------------------------------------------------------

def assess(ledger: Ledger, period: Period, rules: Rules | None = None) -> Assessment:
    """Blending shares, VAT refund, EIT income rule, EPT and the taxpayer screens of ``ledger``
    over ``period`` (each month read against the rules in force on its first day)."""
    rules = rules or load_rules()
    months = [m for m in period.months]
    use = ledger.use[ledger.use["month"].isin(months)].copy()
    use["family"] = use["material"].map(lambda m: rules.family(str(m)))
    products = ledger.products[ledger.products["month"].isin(months)].copy()
    screens = _screens(ledger.firm, rules, months)
    shares, vat = _vat(use, products, rules, months, screens)
    eit = _eit(use, products, rules, period, screens)
    waste = ledger.waste[ledger.waste["month"].isin(months)]
    notes = list(ledger.notes)
    held = set(ledger.months())
    missing = [m for m in months if m not in held]
    if held & set(months) and missing:  # part of the period is not in the ledger
        notes.append(LedgerIssue("missing_months", source=ledger.source, params={"months": ", ".join(missing)}))
    return Assessment(
        period=period, firm=dict(ledger.firm), shares=shares, vat=vat, eit=eit,
        ept=_ept(waste, rules.on(period.end)), screens=screens,
        balance=check_balance(_in_period(ledger, months)), notes=notes,
        utilized=_utilized(waste, ledger.receipts[ledger.receipts["month"].isin(months)]))


def _in_period(ledger: Ledger, months: list[str]) -> Ledger:
    """The ledger's rows of ``months`` (row numbers kept, so issues still point at the sheet)."""
    frames: dict[str, pd.DataFrame] = {}
    rows: dict[str, list[int]] = {}
    for name in ("waste", "receipts", "use", "products"):
        data = getattr(ledger, name)
        keep = data["month"].isin(months).to_numpy()
        frames[name] = data[keep].reset_index(drop=True)
        if name in ledger.rows:
            rows[name] = [r for r, k in zip(ledger.rows[name], keep, strict=False) if k]
    return Ledger(firm=ledger.firm, notes=ledger.notes, rows=rows if ledger.rows else {},
                  source=ledger.source, **frames)


def _screens(firm: dict[str, Any], rules: Rules, months: list[str]) -> pd.DataFrame:
    """Every taxpayer screen in force in any month of the period, passed or not, and why."""
    seen: dict[str, dict[str, Any]] = {}
    for month in months:
        for r in rules.on(month_first_day(month)).screens.itertuples(index=False):
            if r.rule_id in seen:
                continue
            value = plain(firm.get(r.field))
            if value is None or (isinstance(value, str) and not value.strip()):
                passed: bool | None = None
            else:
                text = ("true" if value else "false") if isinstance(value, bool) else str(value).strip().upper()
                passed = text.lower() not in {v.lower() for v in r.fail_values}
            shown = _shown(value)
            if passed is None:
                why_zh, why_en = f"未填写：{r.text_zh}", f"not given: {r.text_en}"
            elif passed:
                why_zh, why_en = f"符合：{r.text_zh}（{shown[0]}）", f"met: {r.text_en} ({shown[1]})"
            else:
                why_zh, why_en = f"不符合：{r.text_zh}（实为 {shown[0]}）", f"not met: {r.text_en} (is {shown[1]})"
            seen[r.rule_id] = {
                "rule_id": r.rule_id, "screen": r.screen, "applies": r.applies, "value": _plain(value),
                "passed": passed, "reason_zh": why_zh, "reason_en": why_en,
                "valid_from": r.valid_from.isoformat() if r.valid_from else "",
                "valid_to": r.valid_to.isoformat() if r.valid_to else "",
                "source": r.source, "confidence": r.confidence}
    cols = ["rule_id", "screen", "applies", "value", "passed", "reason_zh", "reason_en", "valid_from",
            "valid_to", "source", "confidence"]
    return pd.DataFrame(list(seen.values()), columns=cols)


def tri(value: object) -> bool | None:
    """A yes / no / unknown cell as True, False or None (numpy booleans and NaN included)."""
    value = plain(value)
    return None if value is None else bool(value)


def _shown(value: object) -> tuple[str, str]:
    if isinstance(value, bool):
        return ("是" if value else "否"), ("yes" if value else "no")
    return str(value), str(value)


def _gates(screens: pd.DataFrame, applies: str, day: pd.Timestamp | None = None,
           month: str | None = None) -> tuple[bool | None, list[str], list[str], list[str]]:
    """(all pass? None = some unknown or unverified, zh reasons, en reasons, rule ids) of the
    screens of one tax in force in ``month``."""
    rows = screens[screens["applies"] == applies]
    if month is not None:
        first = month_first_day(month).isoformat()
        rows = rows[(rows["valid_from"] <= first) & ((rows["valid_to"] == "") | (rows["valid_to"] >= first))]
    zh: list[str] = []
    en: list[str] = []
    ids: list[str] = []
    verdict: bool | None = True
    for r in rows.itertuples(index=False):
        passed = tri(r.passed)
        if passed is True:
            continue
        ids.append(r.rule_id)
        if passed is None:
            zh.append(f"{r.reason_zh}［{r.rule_id}］")
            en.append(f"{r.reason_en} [{r.rule_id}]")
            verdict = None if verdict is not False else False
        elif r.confidence in SOLID:
            zh.append(f"{r.reason_zh}［{r.rule_id}］")
            en.append(f"{r.reason_en} [{r.rule_id}]")
            verdict = False
        else:  # failed, but the screen itself is unverified
            zh.append(f"{r.reason_zh}［{r.rule_id}，规则未核实 {r.confidence}］")
            en.append(f"{r.reason_en} [{r.rule_id}, rule unverified {r.confidence}]")
            verdict = None if verdict is not False else False
    return verdict, zh, en, ids


def _fits_grade(rule: Any, grade: str) -> bool:
    g = grade_value(grade) if grade else None
    if rule.grade_min is not None and (g is None or g < rule.grade_min):
        return False
    return not (rule.grade_below is not None and g is not None and g >= rule.grade_below)


def _choose(rules: Rules, table: str, kind: str, product: str, grade: str,
            by_family: pd.Series, raw_t: float) -> tuple[Any | None, float, list[Any]]:
    """(the rule that decides, waste of its families, candidate rules) for one product: among
    the rows of ``table`` listing the product and fitting its grade, the one whose share is met
    with the best benefit, else the one closest to its threshold."""
    frame: pd.DataFrame = getattr(rules, table)
    cands = [r for r in frame[frame["kind"] == kind].itertuples(index=False)
             if product in r.products and _fits_grade(r, grade)]
    best: tuple[tuple[int, float, float], Any, float] | None = None
    for r in cands:
        t = float(sum(by_family.get(f, 0.0) for f in r.families))
        if t <= 0:
            continue
        share = t / raw_t if raw_t > 0 else 0.0
        met = r.min_share is not None and raw_t > 0 and _met(t, raw_t, r.min_share)
        benefit = float(r.refund_pct if table == "vat" and r.refund_pct is not None else 0.0)
        key = (int(met), benefit, share - (r.min_share or 0.0))
        if best is None or key > best[0]:
            best = (key, r, t)
    return (best[1], best[2], cands) if best else (None, 0.0, cands)


def _vat(use: pd.DataFrame, products: pd.DataFrame, rules: Rules, months: list[str],
         screens: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    share_rows: list[dict[str, Any]] = []
    vat_rows: list[dict[str, Any]] = []
    info = rules.products.set_index("product")
    for (product, grade), prows in products.groupby(["product", "grade"], sort=True):
        label_zh = f"{info.loc[product, 'name_zh'] if product in info.index else product} {grade}".strip()
        label_en = f"{info.loc[product, 'name_en'] if product in info.index else product} {grade}".strip()
        monthly: list[dict[str, Any]] = []
        for _, p in prows.sort_values("month").iterrows():
            month = str(p["month"])
            day = month_first_day(month)
            r_day = rules.on(day)
            u = use[(use["month"] == month) & (use["product"] == product) & (use["grade"] == grade)]
            by_family = u.groupby("family")["t"].sum()
            raw = float(p["raw_materials_t"])
            rule, waste_t, cands = _choose(r_day, "vat", "refund", str(product), str(grade), by_family, raw)
            vat_rate = float(p["vat_rate"]) if not pd.isna(p["vat_rate"]) else float(
                info.loc[product, "vat_rate"]) if product in info.index else 0.13
            sales, input_vat = float(p["sales_yuan"]), float(p["input_vat_yuan"])
            output_vat = sales * vat_rate
            m = _vat_month(r_day, rule, cands, str(product), str(grade), by_family, waste_t, raw, month,
                           screens, sales, vat_rate, input_vat)
            m.update(families={str(f) for f, t in by_family.items() if t > 0}, month=month, sales_yuan=sales, vat_rate=vat_rate, output_vat_yuan=output_vat,
                     input_vat_yuan=input_vat, all_waste_t=float(u["t"].sum()), raw_materials_t=raw)
            monthly.append(m)
            share_rows.append(_share_row(product, grade, month, month, m, rules))
        if not monthly:
            continue
        share_rows.append(_period_share(product, grade, monthly, use, rules, months))
        row = _vat_product(product, grade, label_zh, label_en, monthly)
        alts = _alternatives(rules, str(product), [m["month"] for m in monthly])
        row["alternatives_zh"] = "；".join(f"{a.name_zh}［{a.rule_id}，{a.confidence}］：{a.conditions_zh}" for a in alts)
        row["alternatives_en"] = "; ".join(f"{a.name_en} [{a.rule_id}, {a.confidence}]: {a.conditions_en}" for a in alts)
        vat_rows.append(row)
    share_cols = ["product", "grade", "scope", "months", "waste_t", "all_waste_t", "raw_materials_t", "share",
                  "rule_id", "minimum", "met", "status", "reason_zh", "reason_en", "catalogue_rule_ids",
                  "catalogue_status", "catalogue_reason_zh", "catalogue_reason_en"]
    vat_cols = ["product", "grade", "name_zh", "name_en", "item", "rule_id", "refund_pct", "sales_yuan",
                "vat_rate", "output_vat_yuan", "input_vat_yuan", "vat_yuan", "refund_yuan",
                "potential_refund_yuan", "status", "eligible", "legal_review", "months_met", "months_failed",
                "reason_zh", "reason_en", "alternatives_zh", "alternatives_en", "source", "confidence"]
    return pd.DataFrame(share_rows, columns=share_cols), pd.DataFrame(vat_rows, columns=vat_cols)


def _alternatives(rules: Rules, product: str, months: list[str]) -> list[Any]:
    """Other routes the rules name for this product (new-wall-materials refund, the 3 % simplified
    method), shown beside the verdict and never chosen for the user (note §6 item 11)."""
    seen: dict[str, Any] = {}
    for month in months:
        vat = rules.on(month_first_day(month)).vat
        for r in vat[vat["kind"] == "alternative"].itertuples(index=False):
            if product in r.products:
                seen.setdefault(r.rule_id, r)
    return list(seen.values())


def _vat_month(rules: Rules, rule: Any, cands: list[Any], product: str, grade: str, by_family: pd.Series,
               waste_t: float, raw: float, month: str, screens: pd.DataFrame, sales: float,
               vat_rate: float, input_vat: float) -> dict[str, Any]:
    """The verdict of one product in one month."""
    refund_base = max(0.0, sales * vat_rate - input_vat)
    out: dict[str, Any] = {"rule": rule, "waste_t": waste_t, "share": waste_t / raw if raw > 0 else None,
                           "refund_yuan": 0.0, "potential_refund_yuan": 0.0, "legal_review": False, "met": None}
    if rule is None:
        used = {f for f, t in by_family.items() if t > 0}
        listed = [r for r in rules.vat[rules.vat["kind"] == "not_listed"].itertuples(index=False)
                  if product in r.products and used & set(r.families)]
        if listed:
            nl = listed[0]
            out.update(status=Verdict.NOT_LISTED, rule=nl, legal_review=True,
                       reason_zh=f"{nl.name_zh}：{nl.conditions_zh}（可信度 {nl.confidence}，需法律审核）",
                       reason_en=f"{nl.name_en}: {nl.conditions_en} (confidence {nl.confidence}, needs legal review)")
        elif cands:
            c = cands[0]
            out.update(status=Verdict.NOT_ELIGIBLE, rule=c, met=False,
                       reason_zh=f"未使用目录所列资源（{c.rule_id} 要求：{c.conditions_zh}）",
                       reason_en=f"uses none of the listed resources ({c.rule_id} needs: {c.conditions_en})")
        else:
            out.update(status=Verdict.NOT_LISTED,
                       reason_zh="该产品（及等级）不在当期增值税资源综合利用目录内",
                       reason_en="this product (and grade) is not in the VAT catalogue in force")
        return out
    share = out["share"]
    if rule.min_share is None:
        out.update(status=Verdict.INDETERMINATE, legal_review=True, potential_refund_yuan=refund_base * (rule.refund_pct or 0),
                   reason_zh=f"掺量 {pct(share)}；{rule.rule_id} 的比重门槛未见（{rule.share_confidence}），需核实目录原文",
                   reason_en=f"share {pct(share)}; the threshold of {rule.rule_id} was not seen ({rule.share_confidence}): check the catalogue text")
        return out
    met = raw > 0 and _met(waste_t, raw, rule.min_share)
    out["met"] = met
    if not met:
        need = max(0.0, rule.min_share * raw - waste_t)
        out.update(status=Verdict.NOT_ELIGIBLE,
                   reason_zh=f"掺量 {pct(share)} < {threshold(rule.min_share)}（{rule.rule_id}；还需约 {need:,.0f} t 所列固废）",
                   reason_en=f"share {pct(share)} < {threshold(rule.min_share)} ({rule.rule_id}; about {need:,.0f} t more listed waste needed)")
        return out
    refund = refund_base * float(rule.refund_pct or 0.0)
    out["potential_refund_yuan"] = refund
    conf = weakest(rule.confidence, rule.share_confidence, rule.refund_confidence)
    gate, gzh, gen, _ = _gates(screens, "vat", month=month)
    basis_zh = "" if input_vat > 0 else "；进项税额未填，按销项税额估算（上限）"
    basis_en = "" if input_vat > 0 else "; no input VAT given: estimated on output VAT (an upper bound)"
    head_zh = f"掺量 {pct(share)} ≥ {threshold(rule.min_share)}（{rule.rule_id}）"
    head_en = f"share {pct(share)} ≥ {threshold(rule.min_share)} ({rule.rule_id})"
    if rule.basis == "fuel_mass":  # note §5.3: mass or heat basis is unverified, and it matters
        head_zh += "，按燃料质量计（质量或热值基准未核实，需核实）"
        head_en += ", by fuel mass (mass or heat basis unverified: to check)"
    if gate is False:
        out.update(status=Verdict.NOT_ELIGIBLE, reason_zh=f"{head_zh}，但纳税人条件不符：" + "；".join(gzh),
                   reason_en=f"{head_en}, but the taxpayer screens fail: " + "; ".join(gen))
    elif conf not in SOLID:
        out.update(status=Verdict.INDETERMINATE, legal_review=True,
                   reason_zh=f"{head_zh}，但规则可信度为 {conf}（未核实），需法律审核后方可认定{basis_zh}",
                   reason_en=f"{head_en}, but the rule's confidence is {conf} (unverified): needs legal review{basis_en}")
    elif gate is None:
        out.update(status=Verdict.INDETERMINATE,
                   reason_zh=f"{head_zh}；纳税人条件待确认：" + "；".join(gzh),
                   reason_en=f"{head_en}; taxpayer screens to confirm: " + "; ".join(gen))
    else:
        out.update(status=Verdict.ELIGIBLE, refund_yuan=refund,
                   reason_zh=f"{head_zh}，退税 {threshold(rule.refund_pct)}{basis_zh}",
                   reason_en=f"{head_en}, refund {threshold(rule.refund_pct)}{basis_en}")
    return out


def _catalogue(families: set[str], rules: Rules) -> tuple[str, str, str, str]:
    """(rule ids, status, reason zh, reason en) of the MIIT evaluation catalogue for the families used."""
    rows = rules.catalogue[rules.catalogue["family"].isin(families)]
    if rows.empty:
        return "", Verdict.INDETERMINATE, "评价目录中未找到对应固废类别", "no family of the evaluation catalogue matches"
    ids = ", ".join(rows["rule_id"])
    if rows["min_share"].map(lambda v: v is None or v != v).all():
        return (ids, Verdict.INDETERMINATE, "工信部《产品目录》技术条件（掺量、质量）未能核实（U），由评价机构依目录原文判定",
                "the MIIT catalogue's technical conditions (share, quality) were not verified (U): the evaluator judges them from the annex")
    return ids, Verdict.INDETERMINATE, "评价目录条件需评价机构核对", "the evaluator checks the catalogue conditions"


def _share_row(product: str, grade: str, scope: str, months: str, m: dict[str, Any], rules: Rules) -> dict[str, Any]:
    rule = m["rule"]
    ids, cstatus, czh, cen = _catalogue(set(m.get("families", ())), rules)
    return {"product": product, "grade": grade, "scope": scope, "months": months, "waste_t": m["waste_t"],
            "all_waste_t": m["all_waste_t"], "raw_materials_t": m["raw_materials_t"], "share": m["share"],
            "rule_id": rule.rule_id if rule is not None else "",
            "minimum": getattr(rule, "min_share", None) if rule is not None else None,
            "met": m["met"], "status": str(m["status"]), "reason_zh": m["reason_zh"], "reason_en": m["reason_en"],
            "catalogue_rule_ids": ids, "catalogue_status": str(cstatus), "catalogue_reason_zh": czh,
            "catalogue_reason_en": cen}


def _period_share(product: str, grade: str, monthly: list[dict[str, Any]], use: pd.DataFrame,
                  rules: Rules, months: list[str]) -> dict[str, Any]:
    """The share over the whole period (against the rule of the last month)."""
    last = monthly[-1]
    rule = last["rule"]
    waste_t = sum(m["waste_t"] for m in monthly)
    raw = sum(m["raw_materials_t"] for m in monthly)
    share = waste_t / raw if raw > 0 else None
    minimum = getattr(rule, "min_share", None) if rule is not None else None
    met = None if minimum is None or rule is None or getattr(rule, "kind", "") != "refund" else (
        raw > 0 and _met(waste_t, raw, minimum))
    statuses = {m["status"] for m in monthly}
    status = _combine(statuses)
    if met is None:
        zh, en = last["reason_zh"], last["reason_en"]
    elif met:
        zh = f"期间掺量 {pct(share)} ≥ {threshold(minimum)}（{rule.rule_id}）"
        en = f"period share {pct(share)} ≥ {threshold(minimum)} ({rule.rule_id})"
    else:
        zh = f"期间掺量 {pct(share)} < {threshold(minimum)}（{rule.rule_id}）"
        en = f"period share {pct(share)} < {threshold(minimum)} ({rule.rule_id})"
    fams = set(use[(use["product"] == product) & (use["grade"] == grade)]["family"])
    row = {"rule": rule, "waste_t": waste_t, "share": share, "met": met, "status": status,
           "reason_zh": zh, "reason_en": en, "families": fams,
           "all_waste_t": sum(m["all_waste_t"] for m in monthly), "raw_materials_t": raw}
    span = f"{monthly[0]['month']}..{monthly[-1]['month']}" if len(monthly) > 1 else monthly[0]["month"]
    return _share_row(product, grade, "period", span, row, rules)


def _combine(statuses: set[Any]) -> Verdict:
    if statuses == {Verdict.ELIGIBLE}:
        return Verdict.ELIGIBLE
    if Verdict.ELIGIBLE in statuses:
        return Verdict.PARTIAL
    if Verdict.INDETERMINATE in statuses:
        return Verdict.INDETERMINATE
    if statuses == {Verdict.NOT_LISTED}:
        return Verdict.NOT_LISTED
    return Verdict.NOT_ELIGIBLE


def _vat_product(product: str, grade: str, name_zh: str, name_en: str, monthly: list[dict[str, Any]]) -> dict[str, Any]:
    status = _combine({m["status"] for m in monthly})
    ok = [m["month"] for m in monthly if m["status"] == Verdict.ELIGIBLE]
    bad = [m["month"] for m in monthly if m["status"] != Verdict.ELIGIBLE]
    rules_used = list(dict.fromkeys(m["rule"].rule_id for m in monthly if m["rule"] is not None))
    last_rule = next((m["rule"] for m in reversed(monthly) if m["rule"] is not None), None)
    if len(monthly) == 1:
        zh, en = monthly[0]["reason_zh"], monthly[0]["reason_en"]
    else:  # the months that qualify in one phrase, each other month with its own reason
        good = [m for m in monthly if m["status"] == Verdict.ELIGIBLE]
        zh_parts, en_parts = [], []
        if good:
            shares = [m["share"] for m in good if m["share"] is not None]
            span = pct(min(shares)) if min(shares) == max(shares) else f"{pct(min(shares))}–{pct(max(shares))}"
            ids = ", ".join(dict.fromkeys(m["rule"].rule_id for m in good))
            zh_parts.append(f"{len(good)} 个月符合（掺量 {span}，{ids}）")
            en_parts.append(f"{len(good)} months qualify (share {span}, {ids})")
        zh_parts += [f"{m['month']}：{m['reason_zh']}" for m in monthly if m["status"] != Verdict.ELIGIBLE]
        en_parts += [f"{m['month']}: {m['reason_en']}" for m in monthly if m["status"] != Verdict.ELIGIBLE]
        zh, en = "；".join(zh_parts), "; ".join(en_parts)
    sales = sum(m["sales_yuan"] for m in monthly)
    output_vat = sum(m["output_vat_yuan"] for m in monthly)
    input_vat = sum(m["input_vat_yuan"] for m in monthly)
    sources = list(dict.fromkeys(m["rule"].source for m in monthly if m["rule"] is not None))
    confs = [weakest(m["rule"].confidence, getattr(m["rule"], "share_confidence", "U"),
                     getattr(m["rule"], "refund_confidence", "U")) for m in monthly if m["rule"] is not None]
    return {
        "product": product, "grade": grade, "name_zh": name_zh, "name_en": name_en,
        "item": getattr(last_rule, "item", "") if last_rule is not None else "",
        "rule_id": ", ".join(rules_used),
        "refund_pct": getattr(last_rule, "refund_pct", None) if last_rule is not None else None,
        "sales_yuan": sales, "vat_rate": monthly[-1]["vat_rate"], "output_vat_yuan": output_vat,
        "input_vat_yuan": input_vat, "vat_yuan": max(0.0, output_vat - input_vat),
        "refund_yuan": sum(m["refund_yuan"] for m in monthly),
        "potential_refund_yuan": sum(m["potential_refund_yuan"] for m in monthly),
        "status": str(status), "eligible": status in (Verdict.ELIGIBLE, Verdict.PARTIAL),
        "legal_review": any(m["legal_review"] for m in monthly),
        "months_met": ok, "months_failed": bad, "reason_zh": zh, "reason_en": en,
        "source": "; ".join(sources), "confidence": weakest(*confs) if confs else "",
    }


def _eit(use: pd.DataFrame, products: pd.DataFrame, rules: Rules, period: Period,
         screens: pd.DataFrame) -> pd.DataFrame:
    """The 90 % income rule per product over the period (rules in force at the period's end)."""
    r_end = rules.on(period.end)
    mech = r_end.eit[r_end.eit["kind"] == "mechanism"]
    rows = []
    for (product, grade), prows in products.groupby(["product", "grade"], sort=True):
        u = use[(use["product"] == product) & (use["grade"] == grade)]
        raw = float(prows["raw_materials_t"].sum())
        income = float(prows["sales_yuan"].sum())
        rule, waste_t, _ = _choose(r_end, "eit", "item", str(product), str(grade), u.groupby("family")["t"].sum(), raw)
        share = waste_t / raw if raw > 0 else None
        m = mech.iloc[0] if len(mech) else None
        income_share = float(rule.income_share if rule is not None else (m["income_share"] if m is not None else 0.9))
        eit_rate = float(rule.eit_rate if rule is not None else (m["eit_rate"] if m is not None else 0.25))
        gate, gzh, gen, _ = _gates(screens, "eit")
        met = False
        if rule is None or m is None:
            status = Verdict.NOT_LISTED
            zh = "未找到对应的所得税目录条目（2021 年目录条目未能核实）"
            en = "no matching EIT catalogue row (the 2021 rows were not verified)"
        else:
            met = rule.min_share is not None and raw > 0 and _met(waste_t, raw, rule.min_share)
            cmp = "≥" if met else "<"
            assumed_zh = f"若门槛为 {threshold(rule.min_share)}（推测，{rule.share_confidence}）：掺量 {pct(share)} {cmp} {threshold(rule.min_share)}"
            assumed_en = f"if the threshold is {threshold(rule.min_share)} (assumed, {rule.share_confidence}): share {pct(share)} {cmp} {threshold(rule.min_share)}"
            conf = weakest(rule.confidence, rule.share_confidence)
            if gate is False:
                status = Verdict.NOT_ELIGIBLE
                zh, en = "不符合：" + "；".join(gzh), "not met: " + "; ".join(gen)
            elif not met and conf in SOLID:
                status = Verdict.NOT_ELIGIBLE
                zh, en = assumed_zh, assumed_en
            elif conf not in SOLID:
                status = Verdict.INDETERMINATE
                zh = f"{rule.rule_id}：{rule.conditions_zh}。{assumed_zh}"
                en = f"{rule.rule_id}: {rule.conditions_en}. {assumed_en}"
            else:
                status = Verdict.ELIGIBLE if gate else Verdict.INDETERMINATE
                zh, en = assumed_zh, assumed_en
        counted = income * income_share
        reduction = income - counted
        rows.append({
            "product": product, "grade": grade, "rule_id": rule.rule_id if rule is not None else "",
            "mechanism_rule_id": m["rule_id"] if m is not None else "", "share": share,
            "assumed_minimum": rule.min_share if rule is not None else None,
            "income_yuan": income, "income_counted_yuan": counted, "reduction_income_yuan": reduction,
            "eit_rate": eit_rate, "saving_yuan": reduction * eit_rate, "status": str(status),
            "eligible": status == Verdict.ELIGIBLE, "assumed_met": bool(met), "reason_zh": zh, "reason_en": en,
            "source": rule.source if rule is not None else "",
            "confidence": weakest(rule.confidence, rule.share_confidence) if rule is not None else ""})
    cols = ["product", "grade", "rule_id", "mechanism_rule_id", "share", "assumed_minimum", "income_yuan",
            "income_counted_yuan", "reduction_income_yuan", "eit_rate", "saving_yuan", "status", "eligible",
            "assumed_met", "reason_zh", "reason_en", "source", "confidence"]
    return pd.DataFrame(rows, columns=cols)


def _ept(waste: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Environmental-protection tax on the firm's own solid waste, per material over the period."""
    base_rule = rules.ept[rules.ept["kind"] == "formula"]
    exempt_rule = rules.ept[rules.ept["kind"] == "exemption"]
    transfer_rule = rules.ept[rules.ept["kind"] == "attribution"]
    rows = []
    sums = waste.groupby("material")[["generated_t", "received_t", "utilized_t", "stored_t", "disposed_t",
                                      "transferred_t"]].sum()
    for material, s in sums.iterrows():
        gen = float(s["generated_t"])
        if gen <= 0:
            continue  # received waste is not the receiver's generation (EPT-SW-TRANSFER)
        rule_id, rate = rules.ept_rate(str(material))
        own_used = min(gen, max(0.0, float(s["utilized_t"] - s["received_t"])))
        base = max(0.0, gen - float(s["stored_t"]) - float(s["disposed_t"]) - float(s["transferred_t"]) - own_used)
        name = catalog.material_name(str(material))
        formula_zh = (f"排放量 = 产生 {gen:,.0f} − 贮存 {s['stored_t']:,.0f} − 处置 {s['disposed_t']:,.0f} − 转移 "
                      f"{s['transferred_t']:,.0f} − 自行利用 {own_used:,.0f} = {base:,.0f} t")
        formula_en = (f"discharge = generated {gen:,.0f} − stored {s['stored_t']:,.0f} − disposed {s['disposed_t']:,.0f} − "
                      f"transferred {s['transferred_t']:,.0f} − utilized {own_used:,.0f} = {base:,.0f} t")
        if not rule_id:
            zh, en = f"{name} 不属于环境保护税固体废物税目；{formula_zh}", f"not a taxable solid-waste item; {formula_en}"
        else:
            zh = f"{formula_zh}；税额 {rate:g} 元/吨（{rule_id}）"
            en = f"{formula_en}; rate {rate:g} CNY/t ({rule_id})"
        growth = float(s["generated_t"] + s["received_t"] - s["utilized_t"] - s["stored_t"] - s["disposed_t"]
                       - s["transferred_t"])
        if base > 0 and growth > 0:
            zh += f"。期间库存增加 {growth:,.0f} t，未计为贮存、处置或利用，按排放计；若存放于符合标准的贮存设施，请计入贮存量"
            en += (f". Stock grew by {growth:,.0f} t, not booked as storage, disposal or use, so it counts as discharged;"
                   " if it lies in a compliant storage facility, book it as stored")
        conf = rules.ept.loc[rules.ept["rule_id"] == rule_id, "confidence"] if rule_id else pd.Series(dtype=str)
        rows.append({
            "material": material, "name_zh": name, "name_en": catalog.material_name(str(material), "en"),
            "generated_t": gen, "received_t": float(s["received_t"]), "stored_t": float(s["stored_t"]),
            "disposed_t": float(s["disposed_t"]), "transferred_t": float(s["transferred_t"]),
            "utilized_t": float(s["utilized_t"]), "utilized_own_t": own_used, "base_t": base,
            "rate_yuan_t": rate, "tax_yuan": base * rate, "exempt_yuan": own_used * rate, "rule_id": rule_id,
            "base_rule_id": base_rule["rule_id"].iloc[0] if len(base_rule) else "",
            "exempt_rule_id": exempt_rule["rule_id"].iloc[0] if len(exempt_rule) else "",
            "transfer_rule_id": transfer_rule["rule_id"].iloc[0] if len(transfer_rule) else "",
            "confidence": conf.iloc[0] if len(conf) else "", "reason_zh": zh, "reason_en": en})
    cols = ["material", "name_zh", "name_en", "generated_t", "received_t", "stored_t", "disposed_t",
            "transferred_t", "utilized_t", "utilized_own_t", "base_t", "rate_yuan_t", "tax_yuan", "exempt_yuan",
            "rule_id", "base_rule_id", "exempt_rule_id", "transfer_rule_id", "confidence", "reason_zh", "reason_en"]
    return pd.DataFrame(rows, columns=cols)


def _utilized(waste: pd.DataFrame, receipts: pd.DataFrame) -> pd.DataFrame:
    """ISW utilized by material: own-generated and received (received taken as used first), and
    the suppliers of received waste with tonnes and (number of manifests) — the report's
    "utilized by type and source" and its evidence."""
    rows = []
    sums = waste.groupby("material")[["generated_t", "received_t", "utilized_t"]].sum()
    for material, s in sums.iterrows():
        received_used = min(float(s["received_t"]), float(s["utilized_t"]))
        mine = receipts[receipts["material"] == material]
        sources = mine.groupby("from_org")["t"].sum().sort_values(ascending=False)
        manifests = mine[mine["manifest"] != ""].groupby("from_org")["manifest"].nunique()
        rows.append({"material": material, "name_zh": catalog.material_name(str(material)),
                     "name_en": catalog.material_name(str(material), "en"),
                     "utilized_t": float(s["utilized_t"]), "own_t": float(s["utilized_t"]) - received_used,
                     "received_t": received_used,
                     "sources": "; ".join(f"{k} {v:,.0f} t ({int(manifests.get(k, 0))})" for k, v in sources.items()),
                     "manifests": int(mine.loc[mine["manifest"] != "", "manifest"].nunique())})
    return pd.DataFrame(rows, columns=["material", "name_zh", "name_en", "utilized_t", "own_t", "received_t", "sources",
                                       "manifests"])
