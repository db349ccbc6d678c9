"""plan.xlsx written with XlsxWriter, and indicators evaluated once per plan (issue 11, goal 1).

The workbook is read back with openpyxl: text stays text whatever it starts with (no formula,
no link, no number made of text), numbers stay numbers, NaN is an empty cell, and a table
longer than a worksheet continues on further sheets. The planner evaluates every indicator
once; the summary (report, workbook, JSON) reuses those values unless the plan was changed.
"""

from __future__ import annotations

import dataclasses
import importlib
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from resynergy import synth
from resynergy.indicators.evaluate import LEVELS, evaluate_all
from resynergy.planner import PlanOptions, solve
from resynergy.report import exports, findings
from resynergy.schema import outputs

# the module (the package's name ``evaluate`` is its function)
evaluate = importlib.import_module("resynergy.indicators.evaluate")
HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1", "http://example.com", "1e5", "007", "TRUE"]


def ooxml(text: str) -> str:
    """Text as a spreadsheet shows it: OOXML escapes control characters as _xHHHH_ (Excel
    decodes them; openpyxl's reader leaves them)."""
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def write(tmp_path, tables: dict[str, pd.DataFrame]):
    path = exports.write_xlsx(None, tmp_path / "plan.xlsx", tables)  # type: ignore[arg-type]
    return load_workbook(path)


def test_text_is_written_as_text_whatever_it_starts_with(tmp_path):
    df = pd.DataFrame({"name": HOSTILE, "t": np.arange(len(HOSTILE), dtype=float)})
    ws = write(tmp_path, {"flows": df})[outputs.table("flows").sheet]
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    assert [ooxml(c.value) for c in cells] == HOSTILE
    assert all(c.data_type == "s" for c in cells)  # no formula, number or boolean made of text
    assert all(c.hyperlink is None for c in cells)
    assert [row[1].value for row in ws.iter_rows(min_row=2)] == list(range(len(HOSTILE)))


def test_numbers_missing_values_and_other_types(tmp_path):
    df = pd.DataFrame({"x": [1.5, np.nan, np.inf, -np.inf], "n": [1, 2, 3, 4],
                       "ok": [True, False, True, False],
                       "mixed": [np.float64(2.0), None, np.int64(7), pd.NA]})
    ws = write(tmp_path, {"costs": df})[outputs.table("costs").sheet]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert rows == [[1.5, 1, True, 2], [None, 2, False, None], ["inf", 3, True, 7],
                    ["-inf", 4, False, None]]
    assert ws.max_row == len(df) + 1  # a header row, then the rows


def test_a_table_longer_than_a_sheet_continues_on_the_next(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "MAX_ROWS", 4)  # 3 data rows per sheet
    df = pd.DataFrame({"t": np.arange(7.0)})
    wb = write(tmp_path, {"flows": df, "costs": df.iloc[:0]})
    title = outputs.table("flows").sheet
    assert wb.sheetnames == [title, f"{title[:25]} (2)", f"{title[:25]} (3)",
                             outputs.table("costs").sheet]
    values = [r[0].value for name in wb.sheetnames[:3] for r in wb[name].iter_rows(min_row=2)]
    assert values == list(range(7))
    assert wb[outputs.table("costs").sheet].max_row == 1  # an empty table keeps its header


@pytest.fixture(scope="module")
def planned():
    s = synth.scenario(12, 0)
    assert len(s.table("targets")), "the synthetic scenario should have targets"
    return s, solve(s, PlanOptions(time_limit=120))


def test_the_planner_evaluates_indicators_once_and_the_summary_reuses_them(planned, monkeypatch):
    s, plan = planned
    assert plan.evaluated is not None and plan.evaluated.holds_for(plan, s)
    calls = []
    monkeypatch.setattr(evaluate, "evaluate_all",
                        lambda *a, **k: calls.append(1) or evaluate_all(*a, **k))
    summary = findings(plan, s)
    assert calls == []  # nothing evaluated again
    fresh = evaluate_all(plan.flows, s, facility_io=plan.facility_io, activity=plan.activity,
                         supply_use=plan.supply_use, deliveries=plan.deliveries, levels=LEVELS)
    pd.testing.assert_frame_equal(summary.values, fresh)


def test_a_changed_or_copied_plan_is_evaluated_again(planned, monkeypatch):
    s, plan = planned
    calls = []
    monkeypatch.setattr(evaluate, "evaluate_all",
                        lambda *a, **k: calls.append(1) or evaluate_all(*a, **k))
    halved = dataclasses.replace(plan, flows=plan.flows.assign(t=plan.flows["t"] / 2))
    findings(halved, s)
    assert len(calls) == 1
    findings(pickle.loads(pickle.dumps(plan)), s)  # the scenario does not travel with a plan
    assert len(calls) == 2
    findings(plan, s.with_policy(carbon_price=1.0))  # another scenario
    assert len(calls) == 3
