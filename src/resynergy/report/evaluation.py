"""The printable evaluation report: one self-contained HTML page (no script, no external request)
with the fields the 2018 MIIT rules and the provincial implementations ask for — firm profile,
period, ISW utilized by type and source with the mass balance, blending shares against the
catalogue conditions, the tax figures with the rule behind each, problems found, evaluator and
date — zh-CN first, English with ``lang="en"``. The CLI and the platform call this one function.
"""

from __future__ import annotations

from datetime import date
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from resynergy.evaluation.eligibility import VERDICT_TEXT, Assessment, Verdict, pct, threshold, tri
from resynergy.evaluation.ledger import TOLERANCE_EN, TOLERANCE_ZH, Ledger
from resynergy.evaluation.rules import load_rules
from resynergy.schema.cells import plain

LANGS = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "工业固体废物资源综合利用评价报告", "generated_on": "生成日期",
        "disclaimer": "本报告由系统依据企业台账和规则库测算生成，税额为估算值；标注 P、U 的规则未经核实，相关结论须经评价机构和税务机关确认。",
        "blocked": "物料平衡未通过：以下结论不能作为评价结论，请先更正台账。",
        "firm": "企业概况", "period": "评价期间", "utilized": "综合利用的工业固体废物（按种类和来源）",
        "material": "固废种类", "utilized_t": "利用量（吨）", "own_t": "其中自产（吨）", "received_t": "其中接收（吨）",
        "sources": "来源单位（吨，联单数）", "balance": "物料平衡", "balance_ok": "物料平衡核对通过。",
        "balance_rule": f"月初库存 + 产生 + 接收 − 利用 − 贮存 − 处置 − 转移 = 月末库存；{TOLERANCE_ZH}。",
        "shares": "掺量与目录技术条件", "product": "产品", "months": "月份", "waste_t": "所列固废（吨）",
        "raw_t": "原料总量（吨）", "share": "掺量", "minimum": "门槛", "verdict": "结论", "rule": "规则",
        "reason": "说明",
        "catalogue_note": "工信部《国家工业固体废物资源综合利用产品目录》的技术条件（掺量、质量）未能从原文核实，表中门槛为增值税目录条件；目录条件由评价机构依原文判定。",
        "incentives": "税收优惠测算", "vat": "增值税即征即退", "item": "目录条目", "sales": "销售额（元）",
        "vat_rate": "税率", "refund_pct": "退税比例", "refund": "估算退税额（元）", "legal_review": "需法律审核", "alternatives": "其他途径（不自动选择）",
        "eit": "企业所得税（收入减按 90% 计入）", "income": "收入（元）", "counted": "计入收入（元）",
        "ept": "环境保护税（固体废物）", "generated": "产生量（吨）", "base": "计税排放量（吨）", "rate": "税额标准（元/吨）",
        "tax": "应纳税额（元）", "exempt": "综合利用免征额（元）", "totals": "合计",
        "screens": "纳税人条件", "problems": "发现的问题", "no_problems": "未发现问题。",
        "basis": "依据的规则", "source": "来源", "confidence": "可信度",
        "tags": "可信度：V 已见原文；S 见二手来源；P 部分核实；U 未核实（不得据此认定“符合”）。",
        "evaluator": "评价机构", "sign_evaluator": "评价机构（盖章）及评价人员签字", "sign_firm": "企业（盖章）",
        "passed": "符合", "failed": "不符合", "unknown": "待确认",
        "t_refund": "增值税估算退税额（元）", "t_potential": "条件核实后可能的退税额（元）",
        "t_eit": "所得税减计收入（元，已认定）", "t_eit_open": "所得税减计收入（元，待核实）",
        "t_ept_tax": "环境保护税应纳税额（元）", "t_ept_exempt": "环境保护税免征额（元）", "t_utilized": "综合利用量（吨）",
        "uscc": "统一社会信用代码", "name": "企业名称", "province": "省份", "region": "地区",
        "credit_rating": "纳税信用级别", "penalties_6m": "近 6 个月处罚", "separate_accounting": "单独核算",
        "restricted_industry": "限制或淘汰类", "yes": "是", "no": "否",
        "ev_name": "评价机构名称", "ev_person": "评价人员", "ev_date": "评价日期", "ev_id": "评价编号",
        "filed_with": "备案部门", "filed_on": "备案日期", "due": "备案期限", "not_given": "（未填写）",
        "opening": "月初", "gen": "产生", "rec": "接收", "use": "利用", "store": "贮存", "disp": "处置",
        "transf": "转移", "closing": "月末", "month": "月份",
    },
    "en": {
        "title": "Industrial solid waste comprehensive-utilization evaluation report", "generated_on": "generated",
        "disclaimer": "Computed by the system from the firm's ledger and the rule tables; tax figures are estimates. Rules tagged P or U are unverified: conclusions resting on them need confirmation by the evaluator and the tax office.",
        "blocked": "The mass balance fails: the findings below cannot serve as an evaluation result until the ledger is corrected.",
        "firm": "Firm profile", "period": "Evaluation period", "utilized": "Industrial solid waste utilized (by type and source)",
        "material": "Waste", "utilized_t": "Utilized (t)", "own_t": "own (t)", "received_t": "received (t)",
        "sources": "Suppliers (t, manifests)", "balance": "Mass balance", "balance_ok": "The mass balance holds.",
        "balance_rule": f"opening + generated + received − utilized − stored − disposed − transferred = closing; {TOLERANCE_EN}.",
        "shares": "Blending shares and catalogue conditions", "product": "Product", "months": "Months",
        "waste_t": "Listed waste (t)", "raw_t": "Raw materials (t)", "share": "Share", "minimum": "Threshold",
        "verdict": "Verdict", "rule": "Rule", "reason": "Why",
        "catalogue_note": "The technical conditions (share, quality) of the MIIT product catalogue could not be verified from the annex; the thresholds shown are the VAT catalogue's. The evaluator judges the catalogue conditions from the annex.",
        "incentives": "Tax incentives (estimates)", "vat": "VAT refund on collection", "item": "Item", "sales": "Sales (CNY)",
        "vat_rate": "VAT rate", "refund_pct": "Refund", "refund": "Estimated refund (CNY)", "legal_review": "needs legal review", "alternatives": "Other routes (not chosen for you)",
        "eit": "Income tax (revenue counted at 90 %)", "income": "Revenue (CNY)", "counted": "Counted (CNY)",
        "ept": "Environmental-protection tax (solid waste)", "generated": "Generated (t)", "base": "Taxable discharge (t)",
        "rate": "Rate (CNY/t)", "tax": "Tax (CNY)", "exempt": "Exempt for utilization (CNY)", "totals": "Totals",
        "screens": "Taxpayer screens", "problems": "Problems found", "no_problems": "None found.",
        "basis": "Rules applied", "source": "Source", "confidence": "Confidence",
        "tags": "Confidence: V primary text seen; S secondary source; P partly verified; U unverified (never gives \"eligible\").",
        "evaluator": "Evaluator", "sign_evaluator": "Evaluator (seal) and signatures", "sign_firm": "Firm (seal)",
        "passed": "met", "failed": "not met", "unknown": "to confirm",
        "t_refund": "Estimated VAT refund (CNY)", "t_potential": "Possible refund once rules are confirmed (CNY)",
        "t_eit": "EIT revenue reduction (CNY, eligible)", "t_eit_open": "EIT revenue reduction (CNY, to verify)",
        "t_ept_tax": "Environmental-protection tax due (CNY)", "t_ept_exempt": "EPT exempt for utilization (CNY)",
        "t_utilized": "Utilized (t)",
        "uscc": "Unified social credit code", "name": "Name", "province": "Province", "region": "Region",
        "credit_rating": "Tax credit rating", "penalties_6m": "Penalty in last 6 months", "separate_accounting": "Separate accounting",
        "restricted_industry": "Restricted industry", "yes": "yes", "no": "no",
        "ev_name": "Evaluation agency", "ev_person": "Evaluators", "ev_date": "Date", "ev_id": "Evaluation no.",
        "filed_with": "Filed with", "filed_on": "Filed on", "due": "Filing due", "not_given": "(not given)",
        "opening": "Opening", "gen": "Generated", "rec": "Received", "use": "Utilized", "store": "Stored", "disp": "Disposed",
        "transf": "Transferred", "closing": "Closing", "month": "Month",
    },
}


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(files("resynergy.report") / "templates")),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def _t(x: float | None) -> str:
    return "—" if x is None or x != x else f"{x:,.1f}".removesuffix(".0")


def _y(x: float | None) -> str:
    return "—" if x is None or x != x else f"{x:,.2f}"


def _css(status: str) -> str:
    return {Verdict.ELIGIBLE: "ok", Verdict.PARTIAL: "open", Verdict.INDETERMINATE: "open"}.get(status, "no")


def _verdict(status: str, lang: str) -> str:
    zh, en = VERDICT_TEXT.get(status, (status, status))
    return zh if lang == "zh" else en


def render_evaluation(assessment: Assessment, ledger: Ledger, *, lang: str = "zh",
                      evaluator: dict[str, Any] | None = None, filing: dict[str, Any] | None = None,
                      today: date | None = None) -> str:
    """The report of ``assessment`` (of ``ledger``) as one printable HTML page in ``lang``.
    ``evaluator``: name, persons, date, id; ``filing``: filed_with, filed_on, due (all optional)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    t = TEXT[lang]
    zh = lang == "zh"
    a = assessment
    names = load_rules().products.set_index("product")
    name_col = "name_zh" if zh else "name_en"

    def pname(product: str, grade: str) -> str:
        base = str(names.loc[product, name_col]) if product in names.index else product
        return f"{base} {grade}".strip()

    def yes(v: object) -> str:
        v = plain(v)
        if isinstance(v, bool):
            return t["yes"] if v else t["no"]
        return str(v) if v not in (None, "") else t["not_given"]

    firm_rows = [(t[k], yes(a.firm.get(k))) for k in ("name", "uscc", "province", "region", "credit_rating",
                                                      "penalties_6m", "separate_accounting", "restricted_industry")]
    months = set(a.period.months)
    waste = ledger.waste[ledger.waste["month"].isin(months)].sort_values(["material", "month"])
    mat_col = "name_zh" if zh else "name_en"
    mat_names = dict(zip(a.utilized["material"], a.utilized[mat_col], strict=True)) if len(a.utilized) else {}
    balance_rows = [[mat_names.get(r.material, r.material), r.month, _t(r.opening_t), _t(r.generated_t),
                     _t(r.received_t), _t(r.utilized_t), _t(r.stored_t), _t(r.disposed_t), _t(r.transferred_t),
                     _t(r.closing_t)] for r in waste.itertuples(index=False)]
    balance_head = [t["material"], t["month"], t["opening"], t["gen"], t["rec"], t["use"], t["store"], t["disp"],
                    t["transf"], t["closing"]]
    rs = "reason_zh" if zh else "reason_en"
    shares = [{"product": pname(r.product, r.grade), "months": r.months, "waste_t": _t(r.waste_t),
               "raw_t": _t(r.raw_materials_t), "share": pct(r.share), "minimum": threshold(r.minimum),
               "verdict": _verdict(r.status, lang), "css": _css(r.status), "rule_id": r.rule_id,
               "reason": getattr(r, rs)} for r in a.shares.itertuples(index=False)]
    vat = [{"product": pname(r.product, r.grade), "item": r.item, "sales": _y(r.sales_yuan), "vat_rate": pct(r.vat_rate, 0),
            "refund_pct": threshold(r.refund_pct), "refund": _y(r.refund_yuan), "verdict": _verdict(r.status, lang),
            "css": _css(r.status), "legal_review": bool(r.legal_review), "rule_id": r.rule_id,
            "confidence": r.confidence, "reason": getattr(r, rs),
            "alternatives": getattr(r, "alternatives_zh" if zh else "alternatives_en")} for r in a.vat.itertuples(index=False)]
    eit = [{"product": pname(r.product, r.grade), "income": _y(r.income_yuan), "counted": _y(r.income_counted_yuan),
            "verdict": _verdict(r.status, lang), "css": _css(r.status),
            "rule_id": ", ".join(x for x in (r.rule_id, r.mechanism_rule_id) if x), "reason": getattr(r, rs)}
           for r in a.eit.itertuples(index=False)]
    ept = [{"name": getattr(r, mat_col), "generated": _t(r.generated_t), "base": _t(r.base_t), "rate": f"{r.rate_yuan_t:g}",
            "tax": _y(r.tax_yuan), "exempt": _y(r.exempt_yuan),
            "rule_id": ", ".join(x for x in (r.rule_id, r.base_rule_id, r.exempt_rule_id) if x),
            "reason": getattr(r, rs)} for r in a.ept.itertuples(index=False)]
    tot = a.totals()
    totals = [(t["t_refund"], _y(tot["refund_yuan"])), (t["t_potential"], _y(tot["potential_refund_yuan"])),
              (t["t_eit"], _y(tot["eit_reduction_income_yuan"])),
              (t["t_eit_open"], _y(tot["eit_reduction_income_indeterminate_yuan"])),
              (t["t_ept_tax"], _y(tot["ept_tax_yuan"])), (t["t_ept_exempt"], _y(tot["ept_exempt_yuan"])),
              (t["t_utilized"], _t(tot["utilized_t"]))]
    screens = [{"rule_id": r.rule_id, "verdict": t["passed"] if tri(r.passed) is True else t["failed"] if tri(r.passed) is False
                else t["unknown"], "css": "ok" if tri(r.passed) is True else "no" if tri(r.passed) is False else "open",
                "reason": getattr(r, rs), "source": r.source, "confidence": r.confidence}
               for r in a.screens.itertuples(index=False)]
    problems = [i.message(lang) for i in a.balance] + [i.message(lang) for i in a.notes]
    problems += [f"{pname(r.product, r.grade)}: {getattr(r, rs)}" for r in a.vat.itertuples(index=False)
                 if r.status != Verdict.ELIGIBLE]
    problems += [f"{r.rule_id}: {getattr(r, rs)}" for r in a.screens.itertuples(index=False) if tri(r.passed) is not True]
    used_ids: list[str] = []
    for frame, col in ((a.vat, "rule_id"), (a.eit, "rule_id"), (a.eit, "mechanism_rule_id"), (a.ept, "rule_id"),
                       (a.ept, "base_rule_id"), (a.ept, "exempt_rule_id"), (a.ept, "transfer_rule_id"),
                       (a.screens, "rule_id")):
        if len(frame):
            for cell in frame[col]:
                used_ids += [x.strip() for x in str(cell).split(",") if x.strip()]
    rules = load_rules()
    basis = []
    for rule_id in dict.fromkeys(used_ids):
        try:
            row = rules.rule(rule_id)
        except KeyError:
            continue
        basis.append({"rule_id": rule_id, "source": row.get("source", ""), "confidence": row.get("confidence", "")})
    ev = evaluator or {}
    evaluator_rows = [(t["ev_name"], ev.get("name") or t["not_given"]), (t["ev_person"], ev.get("persons") or t["not_given"]),
                      (t["ev_date"], ev.get("date") or t["not_given"])]
    if ev.get("id"):
        evaluator_rows.append((t["ev_id"], ev["id"]))
    fl = filing or {}
    filing_rows = [(t[k], fl[k]) for k in ("filed_with", "filed_on", "due") if fl.get(k)]
    html: str = _env().get_template("evaluation.html.j2").render(
        lang=lang, t=t, firm=a.firm, firm_rows=firm_rows, period=a.period,
        period_label=a.period.label(lang), today=(today or date.today()).isoformat(), balanced=a.balanced,
        utilized=[{"name": getattr(r, mat_col), "utilized_t": _t(r.utilized_t), "own_t": _t(r.own_t),
                   "received_t": _t(r.received_t), "sources": r.sources} for r in a.utilized.itertuples(index=False)],
        balance_head=balance_head, balance_rows=balance_rows, balance_issues=[i.message(lang) for i in a.balance],
        shares=shares, vat=vat, eit=eit, ept=ept, totals=totals, screens=screens, problems=problems, basis=basis,
        evaluator_rows=evaluator_rows, filing_rows=filing_rows)
    return html
