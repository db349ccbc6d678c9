"""Re-plan from actuals: the planned years up to --through carry exactly what was recorded, later
years are planned on top of it; a recorded pair the network cannot carry is refused, located."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from resynergy.cli.main import app
from resynergy.planner import PlanOptions, solve
from resynergy.planner.actuals import Actuals, ActualsError
from support.cases import tiny

runner = CliRunner()


def two_year_siting():
    """100 t tailings at A each year, 100 t sand wanted back at A; two candidate sand plants:
    B next door (fixed 1 000 a year) and C 0.1° away (fixed 5 000 a year, ≈ 11 km each way).
    Left alone the plan builds B in 2021 and uses it both years. Once C is built it stays open
    (its fixed cost is paid either way), so hauling to C (≈ 2 × 100 × 0.5 × 11.1 ≈ 1 112 a year)
    is cheaper than building B too (1 000 fixed + its capital charge)."""
    s = tiny([("A", 40.0, "generator;demand"), ("B", 40.0, "facility"), ("C", 40.1, "facility")],
             supplies=[("A", "tailings", 100.0)],
             facilities=[("FB", "B", "sand", 200.0, {"candidate": True, "fixed_cost": 1000.0}),
                         ("FC", "C", "sand", 200.0, {"candidate": True, "fixed_cost": 5000.0})],
             demands=[("A", "manufactured_sand", 100.0, 400.0)])

    def both(f: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([f.assign(year=2021), f], ignore_index=True)

    return s.with_tables(supplies=both(s.table("supplies")), demands=both(s.table("demands")),
                         facilities=s.table("facilities").assign(year=2021))


def records(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["manifest", "year", "from_site", "to_site", "material", "t"])


TO_C = records(("LD1", 2021, "A", "C", "tailings", 100.0), ("LD2", 2021, "C", "A", "manufactured_sand", 100.0))


def moved(plan, year: int) -> dict[tuple[str, str, str], float]:
    f = plan.flows[plan.flows["year"] == year]
    return {k: round(float(v), 6) for k, v in f.groupby(["from_site", "to_site", "material"])["t"].sum().items()}


def test_fixing_the_first_year_moves_the_second_year_plan():
    s = two_year_siting()
    free = solve(s)
    assert moved(free, 2022) == {("A", "B", "tailings"): 100.0, ("B", "A", "manufactured_sand"): 100.0}
    fixed = solve(s, PlanOptions(actuals=Actuals.from_frame(TO_C)))
    assert fixed.status == "optimal"
    assert moved(fixed, 2021) == {("A", "C", "tailings"): 100.0, ("C", "A", "manufactured_sand"): 100.0}
    # 2022 is planned, not fixed: it keeps to the plant reality built, and B is never built
    assert moved(fixed, 2022) == {("A", "C", "tailings"): 100.0, ("C", "A", "manufactured_sand"): 100.0}
    built = fixed.activity.groupby("facility")["built"].any()
    assert built["FC"] and not built["FB"]
    assert fixed.objective > free.objective  # reality cost more than the plan would have
    note = fixed.diagnosis[fixed.diagnosis["kind"] == "actuals"]
    assert len(note) == 1 and note["subject"].iloc[0] == "2021" and note["amount"].iloc[0] == pytest.approx(200.0)
    assert "2021" in note["message_zh"].iloc[0] and "fixed to actual flows" in note["message_en"].iloc[0]


PART = records(("LD1", 2021, "A", "C", "tailings", 60.0), ("LD2", 2021, "C", "A", "manufactured_sand", 60.0))


def test_complete_records_fix_the_year_to_the_record_and_nothing_else():
    """60 t manifested to C in 2021, the records complete: exactly 60 t move (no other haul that
    year), the other 40 t of tailings are disposed of and 40 t of sand bought as virgin; 2022
    plans freely."""
    s = two_year_siting()
    plan = solve(s, PlanOptions(actuals=Actuals.from_frame(PART, complete=True)))
    assert moved(plan, 2021) == {("A", "C", "tailings"): 60.0, ("C", "A", "manufactured_sand"): 60.0}
    use = plan.supply_use.set_index("year")
    assert use.at[2021, "disposed_t"] == pytest.approx(40.0)
    assert plan.deliveries.set_index("year").at[2021, "unmet_t"] == pytest.approx(40.0)
    assert sum(moved(plan, 2022).values()) == pytest.approx(200.0)
    assert "no other transport" in plan.diagnosis.query("kind == 'actuals'")["message_en"].iloc[0]


def test_partial_records_fix_their_pairs_and_the_rest_of_the_year_is_planned():
    """The same 60 t, records partial (the default: what went through the exchange is never all
    that moved): the recorded pair carries exactly 60 t and the other 40 t are planned, not
    assumed disposed of."""
    s = two_year_siting()
    plan = solve(s, PlanOptions(actuals=Actuals.from_frame(PART)))
    got = moved(plan, 2021)
    assert got[("A", "C", "tailings")] == 60.0 and got[("C", "A", "manufactured_sand")] == 60.0
    assert sum(t for (_, _, m), t in got.items() if m == "tailings") == pytest.approx(100.0)
    assert plan.supply_use.set_index("year").at[2021, "disposed_t"] == pytest.approx(0.0)
    assert "still planned" in plan.diagnosis.query("kind == 'actuals'")["message_en"].iloc[0]


def test_through_limits_the_fixed_years():
    """Records of 2021 and 2022, fixed through 2021 only: 2022 is planned, not fixed."""
    s = two_year_siting()
    recs = pd.concat([TO_C, TO_C.assign(year=2022, manifest=["LD3", "LD4"], t=[10.0, 10.0])])
    plan = solve(s, PlanOptions(actuals=Actuals.from_frame(recs, through=2021)))
    assert sum(moved(plan, 2022).values()) == pytest.approx(200.0)  # the full 100 t, not 10
    every = solve(s, PlanOptions(actuals=Actuals.from_frame(recs, complete=True)))  # default: the last recorded year
    assert moved(every, 2022) == {("A", "C", "tailings"): 10.0, ("C", "A", "manufactured_sand"): 10.0}


def test_a_pair_outside_the_network_is_refused_with_its_manifest():
    s = two_year_siting()
    odd = pd.concat([TO_C, records(("LD9", 2021, "C", "A", "tailings", 5.0))])  # nothing takes tailings at A
    with pytest.raises(ActualsError) as err:
        solve(s, PlanOptions(actuals=Actuals.from_frame(odd)))
    (zh,), (en,) = err.value.text("zh"), err.value.text("en")
    assert "C → A" in en and "tailings" in en and "LD9" in en and "5 t" in en and "lane" in en
    assert "运输网络之外" in zh and "LD9" in zh
    with pytest.raises(ActualsError, match="2021 has no actual flow"):  # a fixed year without records
        solve(s, PlanOptions(actuals=Actuals.from_frame(TO_C.assign(year=2020), through=2021)))
    with pytest.raises(ActualsError, match="every planned year"):  # nothing planned up to 2020
        solve(s, PlanOptions(actuals=Actuals.from_frame(TO_C.assign(year=2020))))


def test_cli_plan_from_actuals(tmp_path):
    folder = two_year_siting().save(tmp_path / "toy")
    flows = tmp_path / "flows.csv"
    TO_C.to_csv(flows, index=False)
    out = tmp_path / "out"
    r = runner.invoke(app, ["plan", str(folder), "--actuals", str(flows), "--out", str(out), "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "Years up to 2021 (2021) are fixed to actual flows (flows.csv): 2 records, 200 t" in r.output
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert [d["subject"] for d in doc["diagnosis"] if d["kind"] == "actuals"] == ["2021"]
    plan_flows = pd.read_csv(out / "flows.csv")
    assert set(plan_flows.loc[plan_flows["year"] == 2022, "to_site"]) == {"C", "A"}
    # an unmatched pair: a located message, exit 1, no traceback
    records(("LD9", 2021, "C", "A", "tailings", 5.0)).to_csv(flows, index=False)
    r = runner.invoke(app, ["plan", str(folder), "--actuals", str(flows), "--out", str(out), "--lang", "en"])
    assert r.exit_code == 1 and "LD9" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["plan", str(folder), "--through", "2021", "--out", str(out)])
    assert r.exit_code == 2


def test_a_plan_fixed_to_its_own_flows_is_the_same_plan():
    """A plan's flows (rail routes as three legs) fed back as actuals: each route counts once,
    from its first mile's origin to its last mile's destination, and the plan is reproduced."""
    from support.cases import rail_case

    s = rail_case()
    first = solve(s)
    assert set(first.flows["leg"]) >= {"first_mile", "rail", "last_mile"}
    again = solve(s, PlanOptions(actuals=Actuals.from_frame(first.flows)))
    assert again.objective == pytest.approx(first.objective, rel=1e-9)
    assert moved(again, 2022) == moved(first, 2022)
