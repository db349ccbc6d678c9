"""The result tables of a plan are declared once (schema/output_tables.csv, schema/outputs.csv;
issue 16 item 4): the planner's frames have exactly the declared columns in order, whatever the
outcome, and the workbook, the platform's stored results and the API read names, labels and
units from that one declaration."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from resynergy.planner import PlanOptions, greedy, solve
from resynergy.planner.plan import TABLES, Plan
from resynergy.report import exports, findings
from resynergy.schema import outputs
from support.cases import rail_case, transport_case

DTYPES = {"str", "float", "int", "bool"}


def corridor_case():
    return rail_case(handling=200.0, corridors=[{
        "id": "c1", "from_region": "130800", "to_region": "130800", "material": "tailings",
        "min_rail_share": 0.5}])


@pytest.fixture(scope="module")
def plans() -> dict[str, tuple[Plan, object]]:
    """An optimal plan with corridors, a greedy one and an infeasible one (no solution)."""
    short = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 1000.0}])
    s = corridor_case()
    return {"optimal": (solve(s), s), "greedy": (greedy(s), s),
            "infeasible": (solve(short, PlanOptions(relax_on_infeasible=False)), short)}


def test_the_declaration_is_whole():
    cols, tables = outputs.all_columns(), outputs.all_tables()
    for c in cols.values():
        assert c.dtype in DTYPES, c
        assert c.label_zh and c.label_en and c.description and c.description_zh, c
    for t in tables.values():
        assert t.source in ("plan", "report") and t.sheet and len(t.sheet) <= 31, t
        assert len(set(t.columns + t.names)) == len(t.columns + t.names), t.name
        undeclared = [c for c in (*t.columns, *t.names) if c not in cols]
        assert not undeclared, (t.name, undeclared)
        heads = [cols[c].bilingual() for c in (*t.columns, *t.names)]
        assert len(set(heads)) == len(heads), (t.name, heads)  # headers tell columns apart
    # the Plan's DataFrame fields are exactly the declared plan tables
    frames = {f for f, v in Plan.__dataclass_fields__.items() if "DataFrame" in str(v.type)}
    assert frames == set(TABLES) == set(outputs.plan_tables())


@pytest.mark.parametrize("outcome", ["optimal", "greedy", "infeasible"])
def test_every_plan_table_has_its_declared_columns_in_order(plans, outcome):
    plan, _ = plans[outcome]
    for name in TABLES:
        assert list(getattr(plan, name).columns) == outputs.column_names(name), (outcome, name)


def test_plan_values_have_their_declared_types(plans):
    plan, _ = plans["optimal"]
    kinds = {"float": pd.api.types.is_float_dtype, "int": pd.api.types.is_integer_dtype,
             "bool": pd.api.types.is_bool_dtype,
             "str": lambda s: s.map(lambda v: isinstance(v, str)).all()}
    checked = 0
    for name in TABLES:
        df = getattr(plan, name)
        if df.empty:
            continue
        for c in df.columns:
            want = outputs.column(c).dtype
            assert kinds[want](df[c]), (name, c, want, df[c].dtype)
            checked += 1
    assert checked > 50


def test_a_table_that_drifts_from_its_declaration_is_refused():
    flows = outputs.table("flows").empty()
    with pytest.raises(ValueError, match=r"'flows'.*missing \['to_facility'\].*undeclared \['x'\]"):
        outputs.conform("flows", flows.drop(columns=["to_facility"]).assign(x=1.0))
    shuffled = flows[list(reversed(flows.columns))]
    assert list(outputs.conform("flows", shuffled).columns) == outputs.column_names("flows")
    assert list(outputs.conform("shortages", pd.DataFrame()).columns) == \
        outputs.column_names("shortages")
    with pytest.raises(KeyError, match="unknown output table 'flow'"):
        outputs.table("flow")


def test_the_workbook_reads_sheets_and_headers_from_the_declaration(plans, tmp_path):
    plan, s = plans["optimal"]
    path = exports.write_xlsx(findings(plan, s), tmp_path / "plan.xlsx")
    wb = load_workbook(path, read_only=True)
    declared = outputs.all_tables()
    assert wb.sheetnames == [t.sheet for t in declared.values()]  # every table, in order
    for t in declared.values():
        header = [c.value for c in next(wb[t.sheet].iter_rows(max_row=1))]
        assert header == [outputs.bilingual(c) for c in (*t.columns, *t.names)], t.name
    wb.close()
    notes = load_workbook(path)[outputs.table("flows").sheet]  # notes: full mode only
    note = notes.cell(1, outputs.column_names("flows").index("distance_km") + 1).comment
    assert note is not None and "运输段距离" in note.text and "[km]" in note.text


def test_stored_results_and_the_api_name_the_declared_columns(plans):
    from resynergy.services import plans as service

    plan, s = plans["optimal"]
    kept = service.stored_results(plan, s)
    for name in outputs.plan_tables():
        assert kept[name]["kind"] == "table"
        if kept[name]["data"]:
            assert list(kept[name]["data"][0]) == outputs.column_names(name), name
    cols = service.result_columns("activity")
    assert [c["name"] for c in cols] == outputs.column_names("activity")
    cap = next(c for c in cols if c["name"] == "capacity_t")
    assert cap == {"name": "capacity_t", "unit": "t/yr", "label_zh": "能力（吨/年）",
                   "label_en": "Capacity (t/yr)", "description_zh": "在位处理能力",
                   "description": "Input capacity in place"}
    assert service.result_columns("summary") == []


def test_the_plans_scalars_agree_with_its_findings():
    """Plan.scalars() and PlanFindings.totals share keys only where they mean the same: a
    scenario whose on-site mode is not called 'onsite' once made them disagree on onsite_t."""
    from test_outputs_agree import scenario

    s = scenario()  # the belt is an on-site mode
    plan = solve(s)
    totals, scalars = findings(plan, s).totals, plan.scalars()
    shared = set(totals) & set(scalars)
    assert {"objective_yuan", "shortage_t"} <= shared
    for key in shared:
        assert scalars[key] == pytest.approx(totals[key]), key



def test_plan_json_says_what_every_column_holds(plans):
    plan, s = plans["optimal"]
    doc = exports.plan_json(findings(plan, s))
    flows = doc["columns"]["flows"]
    assert [c["name"] for c in flows] == outputs.column_names("flows") + list(
        outputs.table("flows").names)  # the columns of flows.csv, in order
    units = {c["name"]: c["unit"] for c in flows}
    assert units["distance_km"] == "km" and units["tkm"] == "tkm" and units["co2_kg"] == "kg"
    assert set(doc["columns"]) == set(outputs.all_tables())


@pytest.mark.parametrize("outcome", ["optimal", "greedy"])
def test_every_cost_and_emission_component_is_declared_and_labelled(plans, outcome):
    from resynergy.report.labels import component

    plan, _ = plans[outcome]
    for name in ("costs", "emissions"):
        made = list(getattr(plan, name)["component"])
        assert made == outputs.values(name, "component"), name
        for c in made:
            zh, en = component(c, "zh"), component(c, "en")
            assert zh != c and en and zh != en, (name, c)  # worded, not shown as its code
