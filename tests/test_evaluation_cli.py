"""``resynergy evaluate`` (#13 item 6) and the printable report: JSON equals assess(...).to_dict(),
a bad ledger exits 1 with located errors, the template and the shipped sample work offline."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from typer.testing import CliRunner

from resynergy.cli.main import app
from resynergy.evaluation import Period, assess, ledger_to_xlsx, read_ledger
from resynergy.report.evaluation import render_evaluation
from support.evaluation import block_plant

SAMPLE = files("resynergy.evaluation").joinpath("data/samples/block-plant-2022.xlsx")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_json_equals_the_assessment(runner, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(ledger_to_xlsx(block_plant(71_000, input_vat=3.0e6)))
    res = runner.invoke(app, ["evaluate", str(path), "--period", "2022Q2", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    expected = assess(read_ledger(path), Period.parse("2022Q2")).to_dict()
    assert doc["totals"] == pytest.approx(expected["totals"])
    assert doc["totals"]["refund_yuan"] == pytest.approx(3.36e6)
    assert [(v["rule_id"], v["status"]) for v in doc["vat"]] == [("VAT22-2.1", "eligible")]
    assert doc == json.loads(json.dumps(expected, ensure_ascii=False))


def test_table_names_the_rules_and_reasons(runner, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(ledger_to_xlsx(block_plant(69_000)))
    res = runner.invoke(app, ["evaluate", str(path)])
    assert res.exit_code == 0, res.output
    assert "VAT22-2.1" in res.stdout and "掺量 69.0% < 70%" in res.stdout and "EPT" not in res.stderr
    en = runner.invoke(app, ["evaluate", str(path), "--lang", "en"])
    assert "share 69.0% < 70%" in en.stdout


def test_bad_ledger_exits_1_with_located_errors(runner, tmp_path):
    lg = block_plant(71_000)
    lg.waste.loc[1, "closing_t"] = 500.0
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(ledger_to_xlsx(lg))
    res = runner.invoke(app, ["evaluate", str(path), "--lang", "en"])
    assert res.exit_code == 1
    assert "ledger.xlsx [固废台账], row 5, column closing_t" in res.stderr and "2022-06" in res.stderr
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb["产品产销"].cell(4, 4, "lots")
    wb.save(path)
    res = runner.invoke(app, ["evaluate", str(path)])
    assert res.exit_code == 1 and "第 4 行" in res.stderr and "「原料总量」" in res.stderr and "lots" in res.stderr
    res = runner.invoke(app, ["evaluate", str(path), "--period", "2022Q9"])
    assert res.exit_code == 1


def test_template_and_sample(runner, tmp_path):
    out = tmp_path / "blank.xlsx"
    res = runner.invoke(app, ["evaluate", "--template", str(out)])
    assert res.exit_code == 0 and out.stat().st_size > 5000
    report = tmp_path / "report.html"
    res = runner.invoke(app, ["evaluate", str(SAMPLE), "--period", "2022", "--report", str(report), "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert "合成示例" in doc["firm"]["name"]
    vat = doc["vat"][0]
    assert vat["status"] == "partial" and vat["months_failed"] == ["2022-02"]
    assert doc["ept"][0]["material"] == "furnace_slag" and doc["totals"]["ept_tax_yuan"] > 0
    html = report.read_text(encoding="utf-8")
    assert "工业固体废物资源综合利用评价报告" in html and "VAT15-2.1" in html and "VAT22-2.1" in html


def test_report_fields_in_both_languages():
    lg = block_plant(71_000, credit_rating="C")
    a = assess(lg, Period.parse("2022-06"))
    zh = render_evaluation(a, lg, evaluator={"name": "某评价机构", "persons": "张三", "date": "2022-07-20"},
                           filing={"filed_with": "唐山市工业和信息化局", "due": "2022-08-19"})
    for text in ("企业概况", "评价期间", "2022年6月", "综合利用的工业固体废物", "物料平衡", "掺量与目录技术条件",
                 "发现的问题", "某评价机构", "唐山市工业和信息化局", "VAT22-T4", "供应单位", "合计"):
        assert text in zh, text
    assert "<script" not in zh and 'lang="zh-CN"' in zh
    en = render_evaluation(a, lg, lang="en")
    assert "Evaluation period" in en and "June 2022" in en and "(not given)" in en and 'lang="en"' in en
    lg.firm["name"] = "<b>x</b>"
    assert "&lt;b&gt;x&lt;/b&gt;" in render_evaluation(assess(lg, Period.parse("2022-06")), lg)
    with pytest.raises(ValueError):
        render_evaluation(a, lg, lang="fr")


def test_failed_balance_marks_the_report():
    lg = block_plant(71_000)
    lg.waste.loc[0, "closing_t"] = 999.0
    a = assess(lg, Period.parse("2022-06"))
    assert not a.balanced
    assert "物料平衡未通过" in render_evaluation(a, lg)
