"""``resynergy plan`` / ``resynergy compare`` through typer's runner.

The solver is replaced by a stand-in returning the hand-made plan, so these tests check the
command itself (options, outputs, exit codes, stdout hygiene); the planner has its own tests.
"""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

import resynergy.cli.plan as cli
import resynergy.planner.sweep as sweep
from support.toys import toy_plan, toy_scenario

runner = CliRunner()


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("plan")(cli.plan)
    app.command("compare")(cli.compare)

    @app.callback()
    def main() -> None:
        """resynergy (test app)."""
    return app


@pytest.fixture
def solved(monkeypatch):
    """Record solver calls; every scenario reference opens the toy scenario."""
    calls = []

    def fake_solve(scenario, objective, year, time_limit, mip_gap, progress, iis=False):
        calls.append(dict(scenario=scenario, objective=objective.value, year=year,
                          time_limit=time_limit, mip_gap=mip_gap, iis=iis))
        progress("solve", 0.5)
        plan = toy_plan()
        plan.costs = plan.costs.assign(yuan=plan.costs["yuan"] * (
            1 + scenario.policy("carbon_price", 0.0) / 100))
        return plan

    def fake_open(ref, lang):
        if ref == "missing":
            raise typer.Exit(1)
        return toy_scenario()
    monkeypatch.setattr(cli, "solve_scenario", fake_solve)
    monkeypatch.setattr(sweep, "solve", lambda scenario, options, progress, sweep=None: fake_solve(
        scenario, cli.Objective(options.objective), (options.years or [None])[0],
        options.time_limit, options.mip_gap, progress, options.iis))
    monkeypatch.setattr(cli, "open_or_exit", fake_open)
    return calls


def test_json_on_stdout_only_and_all_outputs(solved, tmp_path):
    r = runner.invoke(make_app(), ["plan", "toy", "--json", "--out", str(tmp_path),
                                   "--objective", "co2", "--year", "2022", "--time-limit", "5",
                                   "--mip-gap", "0.02"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["status"] == "relaxed" and doc["objective_yuan"] == pytest.approx(
        toy_plan().objective)
    assert {t["id"]: t["status"] for t in doc["targets"]}["t_disp"] == "missed"
    assert doc["totals"]["cost_yuan"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "flows.csv", "flows.parquet", "plan.json", "plan.xlsx", "report.html"]
    assert solved == [dict(scenario=solved[0]["scenario"], objective="co2", year=2022,
                           time_limit=5.0, mip_gap=0.02, iis=False)]


def test_iis_is_asked_for_on_request(solved, tmp_path):
    r = runner.invoke(make_app(), ["plan", "toy", "--iis", "--quiet", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert solved[-1]["iis"] is True


def test_terminal_summary_zh_and_en(solved, tmp_path):
    r = runner.invoke(make_app(), ["plan", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    for text in ("目标完成情况", "费用构成", "铁路运输占比", "最大的", "诊断", "report.html"):
        assert text in r.stdout
    r = runner.invoke(make_app(), ["plan", "--out", str(tmp_path), "--lang", "en"])
    for text in ("Target attainment", "Costs", "Rail share of tonne-km", "Largest",
                 "Diagnosis", "Hebei co-use short by 10 t"):
        assert text in r.stdout
    # an action is shown under its cause, as an action
    assert "  • Hebei co-use short by 10 t" in r.stdout
    assert "      → action: expand the Tangshan binder plant by 10 t/yr" in r.stdout


def test_quiet_prints_nothing(solved, tmp_path):
    r = runner.invoke(make_app(), ["plan", "--quiet", "--out", str(tmp_path)])
    assert r.exit_code == 0 and r.stdout == ""
    assert (tmp_path / "report.html").exists()


def test_infeasible_exit_code_and_diagnosis(solved, monkeypatch, tmp_path):
    def infeasible(*a, **k):
        plan = toy_plan()
        plan.status = "infeasible"
        return plan
    monkeypatch.setattr(cli, "solve_scenario", infeasible)
    r = runner.invoke(make_app(), ["plan", "--out", str(tmp_path), "--lang", "en"])
    assert r.exit_code == cli.EXIT_INFEASIBLE
    assert "infeasible" in r.stdout and "Hebei co-use short by 10 t" in r.stdout


def test_unknown_year_is_a_usage_error(solved, tmp_path):
    r = runner.invoke(make_app(), ["plan", "--year", "1999", "--out", str(tmp_path),
                                   "--lang", "en"])
    assert r.exit_code == 2
    assert "has no data for 1999" in r.stderr
    assert not tmp_path.joinpath("report.html").exists()


def test_parse_variant():
    v = cli.parse_variant("jjj-2022@policy.carbon_price=100,corridors=none", [])
    assert (v.ref, v.policy, v.emptied) == ("jjj-2022", {"carbon_price": 100.0}, ["corridors"])
    v = cli.parse_variant("a.xlsx", ["objective=co2"])
    assert v.objective == cli.Objective.co2 and v.label == "a.xlsx [objective=co2]"
    for bad in ("x@policy.carbon_price=abc", "x@nonsense=1", "x@policy.carbon_price",
                "@policy.carbon_price=1", "x@objective=fast"):
        with pytest.raises(typer.BadParameter):
            cli.parse_variant(bad, [])


def test_compare_side_by_side(solved, tmp_path):
    r = runner.invoke(make_app(), ["compare", "toy", "toy@policy.carbon_price=100",
                                   "toy@corridors=none", "--out", str(tmp_path), "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "toy@policy.carbon_price=100" in r.stdout and "plan cost total" in r.stdout
    assert (tmp_path / "compare.html").exists()
    assert solved[1]["scenario"].policy("carbon_price") == 100.0
    assert solved[2]["scenario"].table("corridors").empty
    r = runner.invoke(make_app(), ["compare", "toy", "toy@policy.carbon_price=100", "--json",
                                   "--out", str(tmp_path)])
    doc = json.loads(r.stdout)
    total = next(row for row in doc["table"] if row["key"] == "cost.total")
    # The stand-in solver scales costs by 1 + carbon price / 100: 50 in the toy, 100 here.
    assert total["toy@policy.carbon_price=100"] == pytest.approx(total["toy"] * 2.0 / 1.5)


def test_built_in_scenario_end_to_end(builtin_outputs):
    """The real planner on the built-in data: what the README's first command runs (once per
    session, in the ``builtin_outputs`` fixture)."""
    tmp_path, doc = builtin_outputs
    assert doc["status"] in ("optimal", "time_limit", "relaxed")
    assert doc["years"] == [2022]
    from resynergy.scenario import Scenario

    assert len(doc["targets"]) == len(Scenario.from_builtin("jjj-2022").table("targets"))
    isw = next(t for t in doc["targets"] if t["indicator"] == "isw_utilized" and not t["region"])
    assert isw["value"] > 0
    assert (isw["status"] == "met") == (isw["value"] >= isw["target"])
    assert (tmp_path / "report.html").stat().st_size > 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "flows.csv", "flows.parquet", "plan.json", "plan.xlsx", "report.html"]
