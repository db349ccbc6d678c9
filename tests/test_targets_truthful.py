"""Targets counted the way the plan means them (issue 8): units, scopes, cumulative capacity,
validation before planning, and honest outputs. Tiny scenarios from ``test_planner``."""

from __future__ import annotations

import pandas as pd
import pytest

from resynergy import schema
from resynergy.monitor.actuals import monitor_actuals
from resynergy.planner import solve
from resynergy.report import summarize
from resynergy.report.exports import plan_json
from resynergy.scenario import ScenarioError
from resynergy.schema import units
from test_planner import transport_case

# --- item 1: target units -------------------------------------------------------------------


def test_unit_choices_are_the_unit_table():
    col = next(c for c in schema.columns("targets") if c.name == "unit")
    assert set(col.choices) == set(units.UNITS)
    assert units.factor("亿吨", "t") == 1e8 and units.factor("t", "kg") == 1e3
    with pytest.raises(ValueError):
        units.factor("t", "yuan")


def _hard(unit: str, value: float):
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": value,
                                 "unit": unit}])
    return s.with_tables(demands=s.table("demands").assign(value=20.0))


def test_same_target_in_t_kt_wan_and_yi_tonnes_gives_the_same_plan():
    runs = {}
    for unit, value in (("t", 50.0), ("kt", 0.05), ("万吨", 0.005), ("亿吨", 5e-7)):
        s = _hard(unit, value)
        assert s.table("targets").at[0, "value"] == pytest.approx(50.0)
        assert s.table("targets").at[0, "unit"] == "t"
        plan = solve(s)
        runs[unit] = (plan, summarize(plan, s))
    plan_t, sum_t = runs["t"]
    for plan, summ in runs.values():
        assert plan.objective == pytest.approx(plan_t.objective, rel=1e-9)
        assert plan.flows["t"].sum() == pytest.approx(plan_t.flows["t"].sum())
        for a, b in ((plan.targets, plan_t.targets), (summ.targets, sum_t.targets)):
            r, r0 = a.set_index("id").loc["t1"], b.set_index("id").loc["t1"]
            assert r["target"] == pytest.approx(r0["target"]) == pytest.approx(50.0)
            assert r["value"] == pytest.approx(50.0) and r["status"] == r0["status"] == "met"
        assert plan.targets.set_index("id").at["t1", "shadow_price"] == pytest.approx(
            plan_t.targets.set_index("id").at["t1", "shadow_price"], rel=1e-6)


def test_a_target_of_0_2_kt_with_100_t_available_is_missed_everywhere():
    s = transport_case(targets=[{"id": "t1", "indicator": "isw_utilized", "value": 0.2,
                                 "unit": "kt", "kind": "soft", "penalty": 1e6}])
    plan = solve(s)
    assert plan.targets.set_index("id").at["t1", "status"] == "missed"
    summ = summarize(plan, s)
    row = summ.targets.set_index("id").loc["t1"]
    assert row["target"] == pytest.approx(200.0) and row["value"] == pytest.approx(100.0)
    assert row["status"] == "missed" and row["shortfall"] == pytest.approx(100.0)
    assert summ.monitor.counts()["missed"] == 1
    doc = plan_json(summ)
    assert [t["status"] for t in doc["targets"]] == ["missed"]
    actual = plan.flows[["year", "from_site", "to_site", "material", "t", "mode"]].assign(
        distance_km=float("nan"))
    assert monitor_actuals(actual, s).table.set_index("id").at["t1", "status"] == "missed"


def test_a_mass_target_in_yuan_and_an_unknown_unit_or_indicator_are_located_errors():
    s = transport_case()
    bad = pd.DataFrame([
        {"id": "a", "indicator": "isw_utilized", "year": 2022, "value": 1.0, "unit": "yuan",
         "kind": "report", "name_zh": "a", "name_en": "a"},
        {"id": "b", "indicator": "isw_utilized", "year": 2022, "value": 1.0, "unit": "吨",
         "kind": "report", "name_zh": "b", "name_en": "b"},
        {"id": "c", "indicator": "no_such_indicator", "year": 2022, "value": 1.0, "unit": "t",
         "kind": "report", "name_zh": "c", "name_en": "c"},
    ])
    with pytest.raises(ScenarioError) as exc:
        s.with_tables(targets=bad)
    by_code = {i.code: i for i in exc.value.issues}
    assert set(by_code) == {"unit_dimension", "bad_choice", "unknown_indicator"}
    assert by_code["unit_dimension"].row == 2 and "万吨" in by_code["unit_dimension"].text("zh")
    assert by_code["bad_choice"].row == 3 and "万吨" in by_code["bad_choice"].text("en")
    assert by_code["unknown_indicator"].row == 4
    assert "isw_utilized" in by_code["unknown_indicator"].text("en")
