"""Programmes (bases, parks, centres…): count targets count programmes that stand, by year."""

from __future__ import annotations

import pandas as pd
import pytest

from resynergy.indicators import attainment, evaluate, evaluate_plan
from resynergy.scenario import Scenario, ScenarioError
from support.toys import toy_flows, toy_plan, toy_scenario


def _years(flows: pd.DataFrame, years=(2020, 2021, 2022)) -> pd.DataFrame:
    return pd.concat([flows.assign(year=y) for y in years], ignore_index=True)


def _prog(**kw) -> dict:
    base = dict(kind="isw_base", name_zh="基地", name_en="Base", region="130800", status="proposed")
    return {**base, **kw}


PROGRAMMES = [
    _prog(id="A", status="built", built_year=2021),                       # counts 2021, 2022
    _prog(id="B", status="accepted", built_year=2020, accepted_year=2021, region="130200"),
    _prog(id="C", status="approved", approved_year=2020),                 # never counts
    _prog(id="D", status="proposed", facilities="f5"),                     # only when f5 runs
    _prog(id="E", status="built", built_year=2023),                        # after the horizon
    _prog(id="P", kind="recycling_park", status="built", built_year=2020),
]


def counts(activity=None, programmes=PROGRAMMES, indicator="isw_bases") -> dict[int, float]:
    s = toy_scenario().with_tables(programmes=pd.DataFrame(programmes))
    v = evaluate(indicator, _years(toy_flows()), s, level="total", by_material=False,
                 activity=activity)
    return dict(zip(v["year"].astype(int), v["value"], strict=True))


def test_status_and_year_decide_what_counts():
    # 2021: A, B; 2022: A, B (C approved only, E built 2023; f1 at F1 takes all F1 receives, so
    # the flows do not show D's candidate f5 working). 2020: B, and D: the flows reach F1 before
    # its registered line f1 opens (2021), which shows another line working there, so f5 shares
    # them (by capacity) and the programme linked to it stands (indicators.evaluate.flow_activity).
    assert counts() == {2020: 2.0, 2021: 2.0, 2022: 2.0}
    assert counts(indicator="recycling_parks") == {2020: 1.0, 2021: 1.0, 2022: 1.0}


def test_candidate_programme_counts_only_when_built_and_running():
    act = toy_plan().activity
    # The toy plan builds f5 in 2022 but runs it at 0 t: a plant that never runs is no centre.
    assert counts(activity=act)[2022] == 2.0
    running = act.assign(input_t=act["input_t"].where(act["facility"] != "f5", 50.0))
    assert counts(activity=running)[2022] == 3.0
    # Built (status) but linked to a candidate the plan does not run: still not counted.
    linked = [p | ({"facilities": "f5"} if p["id"] == "A" else {}) for p in PROGRAMMES]
    assert counts(activity=act, programmes=linked)[2022] == 1.0


def test_region_of_the_programme():
    s = toy_scenario().with_tables(programmes=pd.DataFrame(PROGRAMMES))
    v = evaluate("isw_bases", _years(toy_flows()), s, level="prefecture", by_material=False)
    got = v[v["year"] == 2022].set_index("region")["value"].to_dict()
    assert got == {"130800": 1.0, "130200": 1.0}


@pytest.fixture(scope="module")
def builtin(builtin_scenario) -> Scenario:
    return builtin_scenario


def _with_programmes(s: Scenario, prog: pd.DataFrame) -> dict[str, pd.DataFrame]:
    tables = {t: s.table(t) for t in ("regions", "organisations", "sites", "supplies",
                                      "facilities", "demands", "terminals", "lanes",
                                      "corridors", "policy")}
    return tables | {"programmes": prog}


def test_programmes_are_validated_with_location(builtin):
    prog = builtin.table("programmes").copy()
    prog.loc[0, "sites"] = "S-nowhere"
    prog.loc[1, "built_year"] = 0  # built without a year
    prog.loc[2, ["approved_year", "built_year"]] = [2021, 2019]  # approved after built
    with pytest.raises(ScenarioError) as err:
        Scenario.from_tables(_with_programmes(builtin, prog))
    found = {(i.code, i.row, i.column) for i in err.value.issues}
    assert ("unknown_ref", 2, "sites") in found
    assert ("status_year", 3, "built_year") in found
    assert ("year_order", 4, "built_year") in found
    prog = builtin.table("programmes").copy()
    prog.loc[3, "status"] = "finished"
    with pytest.raises(ScenarioError) as err:
        Scenario.from_tables(_with_programmes(builtin, prog))
    assert ("bad_choice", 5, "status") in {(i.code, i.row, i.column) for i in err.value.issues}


def test_builtin_programmes_are_sourced_and_counted_honestly(builtin):
    prog = builtin.table("programmes")
    assert (prog["source"].str.len() > 0).all()
    standing = prog[prog["status"].isin(["built", "accepted"])]
    # What the plan and public sources name as existing: the Shuozhou base and the 5 parks.
    assert standing.groupby("kind")["id"].count().to_dict() == {"isw_base": 1, "recycling_park": 5}


def test_deleting_paper_centres_reports_zero_missed(builtin, builtin_plan):
    plan = builtin_plan
    t = plan.targets.set_index("indicator")
    centres = t.at["paper_centres", "value"]
    act = plan.activity
    running = set(act.loc[act["built"] & (act["input_t"] > 1e-6), "facility"])
    prog = builtin.table("programmes")
    paper = prog[prog["kind"] == "paper_centre"]
    assert centres == sum(f in running for f in paper["facilities"])
    assert t.at["isw_bases", "value"] == 1 and t.at["recycling_parks", "value"] == 5
    without = builtin.table("programmes").pipe(lambda p: p[p["kind"] != "paper_centre"])
    s2 = Scenario.from_tables(_with_programmes(builtin, without) | {
        "targets": builtin.table("targets")}, "no-paper")
    values = evaluate_plan(plan, s2, indicators=["paper_centres"])
    got = attainment(builtin.table("targets").query("indicator == 'paper_centres'"), values,
                     complete=True)
    assert got["value"].iloc[0] == 0 and got["status"].iloc[0] == "missed"
