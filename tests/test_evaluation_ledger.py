"""Ledgers (#13 item 2): periods, the XLSX template round trip, located reading errors (all at
once, nothing half-read), the mass balance with its tolerance, and ledgers built from actual flows."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from resynergy.evaluation import (
    LedgerError,
    Period,
    PeriodError,
    check_balance,
    ledger_from_flows,
    ledger_to_xlsx,
    read_ledger,
    write_template,
)
from resynergy.evaluation.ledger import FRAMES, SHEETS
from support.evaluation import block_plant, ledger, received


@pytest.mark.parametrize(("text", "start", "end", "months", "zh", "en"), [
    ("2022Q1", "2022-01-01", "2022-03-31", 3, "2022年第1季度", "Q1 2022"),
    ("2022-03", "2022-03-01", "2022-03-31", 1, "2022年3月", "March 2022"),
    ("2022H2", "2022-07-01", "2022-12-31", 6, "2022年下半年", "H2 2022"),
    ("2022", "2022-01-01", "2022-12-31", 12, "2022年度", "year 2022"),
    (" 2024q4 ", "2024-10-01", "2024-12-31", 3, "2024年第4季度", "Q4 2024"),
])
def test_periods(text, start, end, months, zh, en):
    p = Period.parse(text)
    assert (p.start.isoformat(), p.end.isoformat(), len(p.months)) == (start, end, months)
    assert (p.label_zh, p.label_en) == (zh, en)
    assert p.months[0] == start[:7] and p.months[-1] == end[:7]


@pytest.mark.parametrize("text", ["2022Q5", "2022-13", "22Q1", "2022H3", "Q1 2022", "", "1999"])
def test_bad_periods_are_located(text):
    with pytest.raises(PeriodError) as err:
        Period.parse(text, "--period")
    issue = err.value.issues[0]
    assert issue.source == "--period" and "2022Q1" in issue.text("zh") and "2022Q1" in issue.text("en")


def test_template_round_trip(tmp_path):
    lg = block_plant(71_000)
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(ledger_to_xlsx(lg))
    back = read_ledger(path)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(lg, name), check_dtype=False)
    assert {k: back.firm[k] for k in lg.firm} == lg.firm and type(back.firm["penalties_6m"]) is bool
    assert back.rows["waste"] == [4, 5]  # rows 1–2 headers, 3 the example (ignored)
    assert read_ledger(path.read_bytes(), "upload.xlsx").source == "upload.xlsx"


def test_blank_template_has_zh_headers_example_rows_and_drop_downs(tmp_path):
    path = write_template(tmp_path / "blank.xlsx")
    wb = load_workbook(path)
    assert set(SHEETS.values()) <= set(wb.sheetnames)
    ws = wb[SHEETS["ledger_waste"]]
    assert ws.cell(1, 1).value.startswith("月份") and ws.cell(2, 1).value == "month"
    assert "示例行" in str(ws.cell(3, 11).value)
    formulas = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert any("参考 物料" in f for f in formulas)
    firm = wb[SHEETS["ledger_firm"]]
    assert any("A,B,M,C,D" in dv.formula1 for dv in firm.data_validations.dataValidation)
    products = wb[SHEETS["ledger_products"]]
    assert any("参考 产品" in dv.formula1 for dv in products.data_validations.dataValidation)
    with pytest.raises(LedgerError) as err:  # the example rows alone are no ledger: the firm is missing
        read_ledger(path)
    assert any(i.code == "firm_rows" for i in err.value.issues)


def _edit(path, sheet, row, col, value):
    wb = load_workbook(path)
    wb[sheet].cell(row, col, value)
    wb.save(path)


def test_every_problem_is_located_at_once(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(ledger_to_xlsx(block_plant(71_000)))
    _edit(path, SHEETS["ledger_waste"], 4, 4, "12吨")  # generated_t: a bad number
    _edit(path, SHEETS["ledger_use"], 5, 2, "unobtainium")  # an unknown material
    _edit(path, SHEETS["ledger_products"], 4, 2, "bricks")  # an unknown product
    _edit(path, SHEETS["ledger_receipts"], 4, 1, "2022/6")  # a bad month
    with pytest.raises(LedgerError) as err:
        read_ledger(path)
    found = {(i.source, i.row, i.column, i.code) for i in err.value.issues}
    assert ("bad.xlsx [固废台账]", 4, "generated_t", "not_number") in found
    assert ("bad.xlsx [利用去向]", 5, "material", "unknown_ref") in found
    assert ("bad.xlsx [产品产销]", 4, "product", "unknown_product") in found
    assert ("bad.xlsx [接收来源]", 4, "month", "bad_month") in found
    text = err.value.report("zh")
    assert "「产生量」" in text and "值「12吨」" in text and "应为数字" in text and "unobtainium" in text
    assert "expected a number" in err.value.report("en")


def test_a_month_excel_turned_into_a_date_is_read_as_the_month(tmp_path):
    from datetime import datetime

    path = tmp_path / "dated.xlsx"
    path.write_bytes(ledger_to_xlsx(block_plant(71_000)))
    _edit(path, SHEETS["ledger_waste"], 4, 1, datetime(2022, 6, 1))
    assert read_ledger(path).waste.loc[0, "month"] == "2022-06"


def test_a_product_used_as_waste_and_a_missing_grade_are_refused(tmp_path):
    lg = block_plant(71_000)
    lg.use.loc[0, "material"] = "cement"
    lg.products.loc[0, "product"] = "cement"
    lg.use.loc[:, "product"] = "cement"
    with pytest.raises(LedgerError) as err:
        read_ledger(ledger_to_xlsx(lg), "x.xlsx")
    codes = {i.code for i in err.value.issues}
    assert {"not_waste", "grade_required"} <= codes


def test_a_broken_balance_names_month_material_and_tolerance(tmp_path):
    lg = block_plant(71_000)
    lg.waste.loc[0, "closing_t"] = 100.0  # fly ash: in 42,600 − out 42,600 = 0, closing says 100
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(ledger_to_xlsx(lg))
    issues = check_balance(read_ledger(path))
    assert [(i.code, i.source, i.row, i.column) for i in issues] == [
        ("balance", "ledger.xlsx [固废台账]", 4, "closing_t")]
    zh, en = issues[0].message("zh"), issues[0].message("en")
    assert "2022-06" in zh and "粉煤灰" in zh and "相差 -100 t" in zh and "允许误差 ±42.6 t" in zh
    assert "0.5 t" in en and "0.1 %" in en and "off by -100 t" in en
    # inside the tolerance: 0.1 % of 42,600 t = 42.6 t
    lg.waste.loc[0, "closing_t"] = 40.0
    assert check_balance(lg) == []


def test_balance_continuity_use_and_receipts_sums():
    w1, r1 = received("2022-01", "fly_ash", 100)
    w2, r2 = received("2022-02", "fly_ash", 100)
    w1 = {**w1, "utilized_t": 90, "closing_t": 10}
    lg = ledger([w1, w2], [r1, r2],
                [{"month": "2022-01", "material": "fly_ash", "product": "bricks_blocks", "t": 80},
                 {"month": "2022-02", "material": "fly_ash", "product": "bricks_blocks", "t": 100}],
                [{"month": "2022-01", "product": "bricks_blocks", "raw_materials_t": 50},
                 {"month": "2022-02", "product": "bricks_blocks", "raw_materials_t": 200}])
    lg.receipts.loc[1, "t"] = 60
    codes = sorted((i.code, i.params.get("month")) for i in check_balance(lg))
    assert codes == [("continuity", "2022-02"), ("receipts_sum", "2022-02"), ("use_above_raw", "2022-01"),
                     ("use_sum", "2022-01")]


def test_ledger_from_flows():
    flows = pd.DataFrame([
        {"month": "2022-03", "from_site": "plant_a", "to_site": "mine_1", "material": "tailings", "t": 40.0, "manifest": "M1"},
        {"month": "2022-03", "from_site": "power_1", "to_site": "plant_a", "material": "fly_ash", "t": 500.0, "manifest": "M2"},
        {"month": "2022-03", "from_site": "power_1", "to_site": "plant_b", "material": "fly_ash", "t": 200.0, "manifest": "M3"},
        {"month": "2022-04", "from_site": "power_2", "to_site": "plant_b", "material": "fly_ash", "t": 300.0, "manifest": ""},
        {"month": "2022-04", "from_site": "plant_a", "to_site": "plant_b", "material": "fly_ash", "t": 99.0, "manifest": "M4"},
        {"month": "2022-04", "from_site": "x", "to_site": "y", "material": "fly_ash", "t": 1.0, "manifest": "M5"},
    ])
    lg = ledger_from_flows(flows, {"plant_a", "plant_b"}, {"uscc": "91130200770000000Y", "name": "甲"})
    rec = lg.waste.set_index(["month", "material"])
    assert rec.loc[("2022-03", "fly_ash"), "received_t"] == 700 and rec.loc[("2022-04", "fly_ash"), "received_t"] == 300
    assert rec.loc[("2022-03", "tailings"), "transferred_t"] == 40
    assert sorted(lg.receipts["manifest"]) == ["", "M2", "M3"]  # internal (M4) and foreign (M5) flows left out
    assert lg.firm["name"] == "甲" and lg.products.empty and lg.use.empty
    assert [n.code for n in lg.notes] == ["flows_unknown"]
    # what flows cannot say is flagged; as built the frames balance: what was received stays in
    # stock, and what left without being received is the least the site generated
    assert check_balance(lg) == []
    assert rec.loc[("2022-03", "fly_ash"), "closing_t"] == 700 and rec.loc[("2022-04", "fly_ash"), "opening_t"] == 700
    assert rec.loc[("2022-03", "tailings"), "generated_t"] == 40
    dated = ledger_from_flows(flows.drop(columns=["month"]).assign(received_on="2022-05-17"), {"plant_a"}, {})
    assert set(dated.waste["month"]) == {"2022-05"} and [n.code for n in dated.notes] == ["flows_unknown"]
    yearly = ledger_from_flows(flows.drop(columns=["month"]).assign(year=2022), {"plant_a"}, {})
    assert set(yearly.waste["month"]) == {"2022-12"} and "flows_no_month" in [n.code for n in yearly.notes]


def test_ledger_json_round_trip_and_an_empty_period():
    from resynergy.evaluation import Ledger, assess

    lg = block_plant(71_000, input_vat=1.0)
    back = Ledger.from_dict(lg.to_dict())
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(lg, name), check_dtype=False)
    assert back.firm == lg.firm
    nothing = assess(lg, Period.parse("2021"))
    assert nothing.vat.empty and nothing.ept.empty and nothing.balanced
    assert nothing.totals()["refund_yuan"] == 0.0 and nothing.to_dict()["vat"] == []
