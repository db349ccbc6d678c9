"""Why a target is missed: one cause per missed target, on cases worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from resynergy.planner import solve
from resynergy.scenario import Scenario
from support.cases import road, transport_case

SOLVER_WORDS = ("软约束", "影子价格", "罚金", "designation", "penalty", "shadow price", "slack")


def cause(plan, tid: str) -> pd.Series:
    d = plan.diagnosis
    rows = d[d["subject"] == tid]
    assert len(rows) == 1, d[["kind", "subject", "message_en"]]
    return rows.iloc[0]


def soft(value: float, **kw) -> dict:
    return {"id": "t1", "indicator": "isw_utilized", "value": value, "kind": "soft",
            "penalty": 10.0, "name_zh": "利用量", "name_en": "Utilized", **kw}


def cheap_demand(s: Scenario) -> Scenario:
    return s.with_tables(demands=s.table("demands").assign(value=20.0))  # not worth using


def no_solver_words(plan) -> None:
    for text in pd.concat([plan.diagnosis["message_zh"], plan.diagnosis["message_en"]]):
        assert not any(w in text for w in SOLVER_WORDS), text


def test_data_ceiling_states_the_most_the_scenario_can_deliver():
    # 150 t wanted, 100 t of tailings exist: nothing can close the gap.
    plan = solve(cheap_demand(transport_case(targets=[soft(150.0)])))
    c = cause(plan, "t1")
    assert c["kind"] == "data_ceiling"
    assert c["amount"] == pytest.approx(100.0)
    assert "100.0 t" in c["message_en"] and "100.0 吨" in c["message_zh"]
    assert "数据上限" in c["message_zh"]
    gap = plan.diagnosis[plan.diagnosis["kind"] == "gap"]
    assert gap["subject"].tolist() == ["t1/130000/tailings"]  # by province and material
    no_solver_words(plan)


def test_cost_gives_the_marginal_cost_of_a_tonne():
    # 50 t reachable with the plant in place; each tonne costs haul in + opex + haul out,
    # less the disposal (40) and virgin purchase (20) it avoids.
    plan = solve(cheap_demand(transport_case(targets=[soft(50.0)])))
    c = cause(plan, "t1")
    assert c["kind"] == "cost"
    marginal = road(1.0) + 10 + road(1.0) - 40 - 20
    assert c["amount"] == pytest.approx(marginal, rel=1e-6)
    assert f"{marginal:,.0f}" in c["message_zh"] and "每多完成1吨的边际成本" in c["message_zh"]
    no_solver_words(plan)


def test_capacity_names_the_expansion_that_closes_the_gap():
    # The plant takes 30 t; 50 t need 20 t/yr more, at capex 100 yuan per t/yr over 10 years
    # (discount 0): 10 yuan a year per t/yr on top of the haul-and-process margin.
    s = cheap_demand(transport_case(targets=[soft(50.0)]))
    fac = s.table("facilities").assign(capacity_t=30.0, expandable=True, max_capacity_t=200.0)
    plan = solve(s.with_tables(facilities=fac))
    c = cause(plan, "t1")
    assert c["kind"] == "capacity"
    assert c["amount"] == pytest.approx(road(1.0) + 10 + road(1.0) - 60 + 10, rel=1e-6)
    assert "expand" in c["message_en"] and "20.0 t" in c["message_en"]
    assert "扩建" in c["message_zh"]
    # the same expansion as an action row: the facility and the 20 t/yr it must add
    [action] = plan.diagnosis[plan.diagnosis["kind"] == "action"].to_dict("records")
    assert action["subject"] == f"t1/{fac['id'].iloc[0]}" and action["unit"] == "t/yr"
    assert action["amount"] == pytest.approx(20.0, rel=1e-6)
    assert "扩建" in action["message_zh"] and "20.0 t" in action["message_en"]
    no_solver_words(plan)


def test_count_target_is_decided_outside_the_model():
    s = transport_case(targets=[{"id": "bases", "indicator": "isw_bases", "value": 3,
                                 "unit": "count", "kind": "report", "name_zh": "基地",
                                 "name_en": "Bases"}])
    prog = pd.DataFrame([
        {"id": "P1", "kind": "isw_base", "name_zh": "甲基地", "name_en": "Base A",
         "region": "130800", "status": "built", "built_year": 2021},
        {"id": "P2", "kind": "isw_base", "name_zh": "乙基地", "name_en": "Base B",
         "region": "130800", "status": "approved", "approved_year": 2021},
    ])
    plan = solve(s.with_tables(programmes=prog))
    c = cause(plan, "bases")
    assert c["kind"] == "outside_model"
    assert c["amount"] == 2
    assert "1 built or accepted by 2022 of 3 required" in c["message_en"]
    assert "Base B (approved)" in c["message_en"] and "乙基地（已批复）" in c["message_zh"]
    gap = plan.diagnosis[plan.diagnosis["kind"] == "gap"]
    assert dict(zip(gap["subject"], gap["amount"], strict=True)) == {"bases/130000/": 1.0}


def test_builtin_recycled_resources_miss_is_a_data_ceiling(builtin_plan):
    plan = builtin_plan
    c = cause(plan, "plan2022_recycled_resources")
    assert c["kind"] == "data_ceiling"
    supply = 115e6  # about 115 Mt of recycled resources in the scenario in 2022
    assert c["amount"] < 150e6 and c["amount"] <= supply * 1.01
    assert f"{c['amount'] / 1e6:,.2f} Mt" in c["message_en"]
    no_solver_words(plan)
    # every missed target has exactly one cause
    missed = plan.targets.loc[plan.targets["status"] == "missed", "id"]
    for tid in missed:
        assert cause(plan, tid)["kind"] in ("data_ceiling", "cost", "capacity", "outside_model",
                                            "report_only")


def test_report_only_target_gets_a_cause_too():
    plan = solve(cheap_demand(transport_case(targets=[soft(150.0, kind="report")])))
    c = cause(plan, "t1")
    assert c["kind"] == "data_ceiling" and c["amount"] == pytest.approx(100.0)


def test_capacity_names_a_full_rail_terminal():
    # Tailings 2° south of the plant go by rail through terminals that take only 20 t; the
    # plant (30 t) must grow to meet 50 t, and the plan's binding terminal is named.
    from support.cases import tiny

    s = tiny([("A", 40.0, "generator;terminal"), ("B", 42.0, "facility;terminal"),
              ("C", 42.0, "demand")],
             supplies=[("A", "tailings", 100.0)],
             facilities=[("F", "B", "sand", 30.0, {"expandable": True, "max_capacity_t": 200.0})],
             demands=[("C", "manufactured_sand", 100.0, 20.0)],
             terminals=[("A", 1.0, 20.0), ("B", 1.0, 20.0)], rail=True,
             targets=[soft(50.0)])
    plan = solve(s)
    c = cause(plan, "t1")
    assert c["kind"] == "capacity"
    assert "2 rail terminal(s) are full" in c["message_en"] and "2 个铁路货场能力已用满" in c["message_zh"]
    assert "expand Sand at Site B by 20.0 t/yr (about 200 yuan a year)" in c["message_en"]


def test_a_ceiling_the_solver_proves_is_a_data_ceiling_even_when_its_height_is_not_found(
        monkeypatch, tmp_path):
    """At 10^5 synthetic sites the "reachable" probe ran to its time limit, and the probe that
    makes the target binding was proved infeasible; the diagnosis said "allow more time to
    learn why" when the solver had proved that no plan meets the target."""
    from resynergy.planner.resolve import Probes

    monkeypatch.setattr(Probes, "reachable", lambda self, data, i: None)  # ran out of time
    scenario = cheap_demand(transport_case(targets=[soft(150.0)]))
    plan = solve(scenario)
    c = cause(plan, "t1")
    assert c["kind"] == "data_ceiling" and pd.isna(c["amount"])
    assert "proved it infeasible" in c["message_en"] and "已证明不可行" in c["message_zh"]
    assert "not found within the time limit" in c["message_en"]
    assert "allow more time" not in c["message_en"] and "放宽时间限制" not in c["message_zh"]
    assert "100.0 t of the materials counted" in c["message_en"]  # what the scenario holds
    no_solver_words(plan)
    # every output carries it: the amount it does not know is empty, not 0 or NaN
    import json

    from resynergy.report import write_outputs
    from resynergy.report.findings import findings

    write_outputs(findings(plan, scenario), tmp_path)
    doc = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    row = next(d for d in doc["diagnosis"] if d["kind"] == "data_ceiling")
    assert row["amount"] is None and "proved it infeasible" in row["message_en"]
    assert "已证明不可行" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "plan.xlsx").stat().st_size > 0


def test_a_target_only_fractions_of_plants_would_reach_is_a_data_ceiling(monkeypatch):
    """The 'reachable' probe is the LP relaxation: it may reach a target that no plan with whole
    plants meets. Said so when the binding probe is proved infeasible (the probe is stubbed to
    report the target reachable; the scenario cannot deliver it)."""
    from resynergy.planner.resolve import Probes

    monkeypatch.setattr(Probes, "reachable", lambda self, data, i: 0.0)  # no shortfall
    plan = solve(cheap_demand(transport_case(targets=[soft(150.0)])))
    c = cause(plan, "t1")
    assert c["kind"] == "data_ceiling"
    assert "only fractions of plants" in c["message_en"] and "按比例建设部分设施" in c["message_zh"]
    assert "proved it infeasible" in c["message_en"]
    no_solver_words(plan)
