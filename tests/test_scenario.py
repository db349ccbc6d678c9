"""Scenario validation, errors people can act on, and lossless round trips."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resynergy.scenario import Scenario, ScenarioError
from resynergy.scenario.uscc import check_char, is_valid


def tiny_tables() -> dict[str, pd.DataFrame]:
    """A self-contained two-site scenario with its own reference tables."""
    return {
        "materials": pd.DataFrame({
            "code": ["slag", "binder"], "name_zh": ["钢渣", "胶凝材料"], "name_en": ["Slag", "Binder"],
            "kind": ["industrial_waste", "product"], "source": ["test", "test"], "confidence": ["U", "U"]}),
        "processes": pd.DataFrame({
            "id": ["grind"], "name_zh": ["粉磨"], "name_en": ["Grinding"], "mass_yield": [0.9],
            "opex": [20.0], "capex": [100.0], "co2": [5.0], "source": ["test"], "confidence": ["U"]}),
        "process_io": pd.DataFrame({
            "process": ["grind", "grind"], "material": ["slag", "binder"], "direction": ["in", "out"],
            "rate": [1.0, 0.9]}),
        "modes": pd.DataFrame({
            "id": ["road"], "name_zh": ["公路"], "name_en": ["Road"], "cost_per_tkm": [0.45],
            "co2_per_tkm": [0.06], "source": ["test"], "confidence": ["U"]}),
        "incentives": pd.DataFrame(columns=["id"]),
        "regions": pd.DataFrame({
            "code": ["130000", "130200"], "name_zh": ["河北省", "唐山市"], "name_en": ["Hebei", "Tangshan"],
            "level": ["province", "prefecture"], "parent": ["", "130000"], "lat": [38.04, 39.63],
            "lon": [114.51, 118.18]}),
        "organisations": pd.DataFrame({
            "uscc": ["91130200MA0000000" + check_char("91130200MA0000000")],
            "name_zh": ["唐山示例钢铁有限公司"]}),
        "sites": pd.DataFrame({
            "id": ["G1", "F1", "D1"], "name_zh": ["钢厂", "粉磨站", "搅拌站"],
            "name_en": ["Mill", "Grinder", "Batching plant"],
            "org_uscc": ["91130200MA0000000" + check_char("91130200MA0000000"), "", ""],
            "region": ["130200"] * 3, "lat": [39.6, 39.7, 39.9], "lon": [118.1, 118.3, 118.5],
            "roles": ["generator", "facility", "demand"]}),
        "supplies": pd.DataFrame({
            "site": ["G1", "G1"], "material": ["slag", "slag"], "year": [2021, 2022],
            "generation_t": [1000.0, 1200.0], "stock_t": [5000.0, 4000.0]}),
        "facilities": pd.DataFrame({
            "id": ["F1-grind"], "site": ["F1"], "process": ["grind"], "capacity_t": [800.0]}),
        "demands": pd.DataFrame({
            "site": ["D1"], "material": ["binder"], "year": [2022], "quantity_t": [500.0], "value": [200.0]}),
    }


def test_valid_tables_load_with_defaults_and_types():
    s = Scenario.from_tables(tiny_tables(), name="tiny")
    sup = s.table("supplies")
    assert list(sup["disposal_cost"]) == [40.0, 40.0]  # schema default
    assert sup["year"].dtype == "int64" and sup["must_use"].dtype == bool
    assert s.years == [2021, 2022]
    assert s.table("sites")["org_uscc"].iloc[1] == ""
    assert len(s.table("lanes")) == 0 and "capacity_t" in s.table("lanes").columns


def test_all_errors_reported_at_once_with_row_column_value():
    t = tiny_tables()
    t["supplies"].loc[1, "generation_t"] = -5
    t["supplies"].loc[0, "material"] = "unobtainium"
    t["sites"].loc[2, "lat"] = 60.0
    t["sites"].loc[0, "org_uscc"] = "91130200MA00000000"
    with pytest.raises(ScenarioError) as err:
        Scenario.from_tables(t)
    # coercion issues first: negative tonnage and coordinate; cross-table ones need a clean parse
    codes = {(i.code, i.table, i.row, i.column) for i in err.value.issues}
    assert ("below_min", "supplies", 3, "generation_t") in codes
    assert ("outside_china", "sites", 4, "lat") in codes
    msg = err.value.report("en")
    assert "supplies, row 3, column generation_t, value -5" in msg
    assert "至少" in err.value.report("zh") or "不小于" in err.value.report("zh")


def test_cross_table_errors():
    t = tiny_tables()
    t["supplies"].loc[0, "material"] = "unobtainium"
    t["sites"].loc[0, "org_uscc"] = "91130200MA00000000"
    t["process_io"].loc[1, "rate"] = 0.8
    t["demands"].loc[0, "material"] = "slag"
    with pytest.raises(ScenarioError) as err:
        Scenario.from_tables(t)
    codes = {(i.code, i.table, i.column) for i in err.value.issues}
    assert ("unknown_ref", "supplies", "material") in codes
    assert ("bad_uscc", "sites", "org_uscc") in codes
    assert ("unbalanced", "processes", "mass_yield") in codes
    assert ("wrong_kind", "demands", "material") in codes


def test_duplicate_key_and_missing_column():
    t = tiny_tables()
    t["supplies"].loc[1, "year"] = 2021
    t["demands"] = t["demands"].drop(columns=["value"])
    with pytest.raises(ScenarioError) as err:
        Scenario.from_tables(t)
    codes = {(i.code, i.table, i.row) for i in err.value.issues}
    assert ("duplicate", "supplies", 3) in codes
    assert ("missing_column", "demands", 1) in codes


def test_non_numeric_and_bad_bool_are_named():
    t = tiny_tables()
    t["supplies"]["generation_t"] = t["supplies"]["generation_t"].astype(object)
    t["supplies"].loc[0, "generation_t"] = "lots"
    t["supplies"]["must_use"] = ["maybe", "是"]
    with pytest.raises(ScenarioError) as err:
        Scenario.from_tables(t)
    found = {(i.code, i.row, i.column, str(i.value)) for i in err.value.issues}
    assert ("not_number", 2, "generation_t", "lots") in found
    assert ("not_bool", 2, "must_use", "maybe") in found
    assert len(err.value.issues) == 2


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_round_trip_is_lossless(tmp_path, fmt):
    t = tiny_tables()
    t["sites"].loc[1, "name_en"] = "=HYPERLINK(\"http://x\")"  # formula-like text stays text
    s = Scenario.from_tables(t, name="tiny")
    target = tmp_path / ("s.xlsx" if fmt == "xlsx" else "s")
    s.save(target, format=fmt)
    back = Scenario.load(target)
    assert back.equals(s)


def test_xlsx_error_names_sheet_and_excel_row(tmp_path):
    from openpyxl import load_workbook

    s = Scenario.from_tables(tiny_tables())
    path = s.save(tmp_path / "s.xlsx", format="xlsx")
    wb = load_workbook(path)
    ws = wb["supplies"]
    col = [c.value for c in ws[2]].index("generation_t") + 1
    ws.cell(4, col, -1)  # the second data row: Excel row 4
    wb.save(path)
    with pytest.raises(ScenarioError) as err:
        Scenario.load(path)
    (issue,) = err.value.issues
    assert (issue.source, issue.row, issue.column, issue.value) == ("s.xlsx [supplies]", 4, "generation_t", -1)


def test_uscc_check_digit():
    assert is_valid("91350100M000100Y43")  # a published example code
    assert not is_valid("91350100M000100Y44")
    assert not is_valid("91350100M000100Y4")


_cell = st.one_of(st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=False),
                  st.integers(-10**6, 10**6), st.none(), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_cell, min_size=1, max_size=4), column=st.sampled_from(
    ["generation_t", "year", "must_use", "material", "stock_t"]))
def test_random_cells_either_load_or_fail_with_located_issues(values, column):
    """Any garbage in a supplies column is either accepted as valid or reported, never crashes."""
    t = tiny_tables()
    n = len(values)
    sup = pd.DataFrame({"site": ["G1"] * n, "material": ["slag"] * n, "year": list(range(2000, 2000 + n)),
                        "generation_t": [1.0] * n})
    sup[column] = pd.Series(values, dtype=object)
    t["supplies"] = sup
    try:
        s = Scenario.from_tables(t)
    except ScenarioError as err:
        for issue in err.issues:
            assert issue.table == "supplies" and issue.row is not None and issue.row >= 2
            assert issue.message("zh") and issue.message("en")
    else:
        sup = s.table("supplies")
        assert (sup["generation_t"] >= 0).all() and sup["year"].between(2000, 2100).all()


def test_control_characters_are_refused_with_their_cell():
    t = tiny_tables()
    t["sites"].loc[1, "name_zh"] = "粉磨\x07站"
    with pytest.raises(ScenarioError) as err:
        Scenario.from_tables(t)
    (issue,) = err.value.issues
    assert (issue.code, issue.table, issue.row, issue.column) == ("control_chars", "sites", 3, "name_zh")
