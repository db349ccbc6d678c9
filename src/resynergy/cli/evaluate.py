"""``resynergy evaluate LEDGER.xlsx``: a quick offline check of a firm's ledger (issue 13) — the
blending shares, the VAT / EIT / environmental-protection-tax figures with the rule behind each
and the reasons; ``--template FILE.xlsx`` writes the blank ledger template. Calls
:mod:`resynergy.evaluation` and :func:`resynergy.report.evaluation.render_evaluation`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from resynergy.cli import console
from resynergy.cli.console import Lang, say
from resynergy.cli.data import print_issues


def evaluate(
    ledger: Annotated[Path | None, typer.Argument(help="The ledger workbook (the template filled in) 企业台账工作簿")] = None,
    period: Annotated[str | None, typer.Option("--period", help="2022, 2022H1, 2022Q1 or 2022-03 (default: the ledger's year) 评价期间")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessment as JSON on stdout only")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write the printable HTML report here 输出评价报告")] = None,
    template: Annotated[Path | None, typer.Option("--template", help="Write the blank ledger template here and stop 生成空白台账模板")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="zh | en")] = Lang.zh,
) -> None:
    """Evaluate a firm's ISW ledger: blending shares, VAT refund, EIT, environmental-protection tax. 资源综合利用评价与税收优惠测算。"""
    from resynergy.evaluation import (
        LedgerError,
        Period,
        PeriodError,
        assess,
        read_ledger,
        write_template,
    )

    if template is not None:
        path = write_template(template)
        console.err.print(say(lang, f"已生成台账模板：{path}", f"Ledger template written: {path}"), markup=False)
        return
    if ledger is None:
        console.err.print(say(lang, "请给出台账文件，或用 --template 生成模板", "give a ledger file, or --template to write one"))
        raise typer.Exit(2)
    if not ledger.is_file():
        console.err.print(say(lang, f"找不到文件：{ledger}", f"no such file: {ledger}"), markup=False)
        raise typer.Exit(2)
    try:
        book = read_ledger(ledger)
        months = book.months()
        if period is None:
            years = sorted({m[:4] for m in months})
            if len(years) != 1:
                console.err.print(say(lang, f"台账跨 {len(years)} 个年度，请用 --period 指定评价期间",
                                      f"the ledger spans {len(years)} years: choose one with --period"))
                raise typer.Exit(2)
            period = years[0]
        when = Period.parse(period, "--period")
    except (LedgerError, PeriodError) as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    result = assess(book, when)
    if report is not None:
        from resynergy.report.evaluation import render_evaluation

        report.write_text(render_evaluation(result, book, lang=lang.value), encoding="utf-8")
        console.err.print(say(lang, f"评价报告：{report}", f"Evaluation report: {report}"), markup=False)
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        _show(result, lang)
    if result.balance:
        from resynergy.evaluation import LedgerError as _Error

        print_issues(_Error(result.balance), lang)
        raise typer.Exit(1)


def _show(result: object, lang: Lang) -> None:
    from rich.table import Table

    from resynergy.evaluation import load_rules
    from resynergy.evaluation.eligibility import VERDICT_TEXT, Assessment, pct, threshold, tri

    assert isinstance(result, Assessment)
    zh = lang is Lang.zh
    rs = "reason_zh" if zh else "reason_en"
    names = load_rules().products.set_index("product")["name_zh" if zh else "name_en"].to_dict()

    def product(code: str, grade: str) -> str:
        return f"{names.get(code, code)} {grade}".strip()

    def verdict(s: str) -> str:
        return VERDICT_TEXT.get(s, (s, s))[0 if zh else 1]

    out = console.out
    out.print(say(lang, f"{result.firm.get('name', '')} · {result.period.label_zh}",
                  f"{result.firm.get('name', '')} · {result.period.label_en}"), markup=False)
    shares = Table(title=say(lang, "掺量", "Blending shares"), show_lines=False)
    for h in (say(lang, "产品", "Product"), say(lang, "月份", "Months"), say(lang, "掺量", "Share"),
              say(lang, "门槛", "Threshold"), say(lang, "结论", "Verdict"), say(lang, "规则", "Rule"),
              say(lang, "说明", "Why")):
        shares.add_column(h, overflow="fold")
    for r in result.shares.itertuples(index=False):
        shares.add_row(product(r.product, r.grade), r.months, pct(r.share), threshold(r.minimum),
                       verdict(r.status), r.rule_id, getattr(r, rs))
    out.print(shares)
    vat = Table(title=say(lang, "增值税即征即退", "VAT refund"))
    for h in (say(lang, "产品", "Product"), say(lang, "销售额（元）", "Sales (CNY)"), say(lang, "退税比例", "Refund %"),
              say(lang, "估算退税（元）", "Refund (CNY)"), say(lang, "结论", "Verdict"), say(lang, "规则", "Rule"),
              say(lang, "说明", "Why")):
        vat.add_column(h, overflow="fold")
    for r in result.vat.itertuples(index=False):
        vat.add_row(product(r.product, r.grade), f"{r.sales_yuan:,.0f}", threshold(r.refund_pct),
                    f"{r.refund_yuan:,.2f}", verdict(r.status) + (say(lang, "（需法律审核）", " (legal review)") if r.legal_review else ""),
                    r.rule_id, getattr(r, rs) + (f" — {getattr(r, 'alternatives_zh' if zh else 'alternatives_en')}"
                                                 if r.alternatives_zh else ""))
    out.print(vat)
    eit = Table(title=say(lang, "企业所得税（收入减按 90% 计入）", "Income tax (revenue at 90 %)"))
    for h in (say(lang, "产品", "Product"), say(lang, "收入（元）", "Revenue (CNY)"), say(lang, "减计收入（元）", "Reduction (CNY)"),
              say(lang, "结论", "Verdict"), say(lang, "规则", "Rule"), say(lang, "说明", "Why")):
        eit.add_column(h, overflow="fold")
    for r in result.eit.itertuples(index=False):
        eit.add_row(product(r.product, r.grade), f"{r.income_yuan:,.0f}", f"{r.reduction_income_yuan:,.0f}",
                    verdict(r.status), ", ".join(x for x in (r.rule_id, r.mechanism_rule_id) if x), getattr(r, rs))
    out.print(eit)
    ept = Table(title=say(lang, "环境保护税（固体废物）", "Environmental-protection tax (solid waste)"))
    for h in (say(lang, "固废", "Waste"), say(lang, "产生（吨）", "Generated (t)"), say(lang, "计税排放（吨）", "Taxable (t)"),
              say(lang, "应纳税额（元）", "Tax (CNY)"), say(lang, "免征额（元）", "Exempt (CNY)"), say(lang, "规则", "Rule"),
              say(lang, "说明", "Why")):
        ept.add_column(h, overflow="fold")
    for r in result.ept.itertuples(index=False):
        ept.add_row(r.name_zh if zh else r.name_en, f"{r.generated_t:,.0f}", f"{r.base_t:,.0f}", f"{r.tax_yuan:,.2f}",
                    f"{r.exempt_yuan:,.2f}", ", ".join(x for x in (r.rule_id, r.base_rule_id) if x), getattr(r, rs))
    out.print(ept)
    screens = Table(title=say(lang, "纳税人条件", "Taxpayer screens"))
    for h in (say(lang, "规则", "Rule"), say(lang, "结论", "Verdict"), say(lang, "说明", "Why")):
        screens.add_column(h, overflow="fold")
    for r in result.screens.itertuples(index=False):
        passed = tri(r.passed)
        screens.add_row(r.rule_id, say(lang, "符合", "met") if passed is True else say(lang, "不符合", "not met")
                        if passed is False else say(lang, "待确认", "to confirm"), getattr(r, rs))
    out.print(screens)
    t = result.totals()
    out.print(say(lang, f"合计：估算退税 {t['refund_yuan']:,.2f} 元；所得税减计收入 {t['eit_reduction_income_yuan']:,.2f} 元"
                        f"（待核实 {t['eit_reduction_income_indeterminate_yuan']:,.2f} 元）；环境保护税应纳 {t['ept_tax_yuan']:,.2f} 元、"
                        f"免征 {t['ept_exempt_yuan']:,.2f} 元；综合利用 {t['utilized_t']:,.1f} 吨",
                  f"Totals: estimated refund {t['refund_yuan']:,.2f} CNY; EIT revenue reduction {t['eit_reduction_income_yuan']:,.2f} CNY"
                  f" (to verify {t['eit_reduction_income_indeterminate_yuan']:,.2f}); EPT due {t['ept_tax_yuan']:,.2f} CNY, exempt "
                  f"{t['ept_exempt_yuan']:,.2f} CNY; utilized {t['utilized_t']:,.1f} t"), markup=False)
