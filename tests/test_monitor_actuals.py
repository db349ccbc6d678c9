"""Monitoring targets on actual, manifested flows: reading, checking, counting, projecting."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from resynergy import catalog
from resynergy.cli.main import app
from resynergy.monitor.actuals import load_actual_flows, monitor_actuals
from resynergy.scenario import Scenario, ScenarioError

runner = CliRunner()
MINE, PLANT = "G-130800-mine-shuangluan", "S-luanping"


@pytest.fixture(scope="module")
def jjj() -> Scenario:
    return Scenario.from_builtin("jjj-2022")


def manifests(tmp_path, rows, name="flows.csv"):
    cols = ["manifest", "year", "from_site", "to_site", "material", "mode", "t"]
    path = tmp_path / name
    frame = pd.DataFrame(rows, columns=cols)
    if name.endswith(".xlsx"):
        frame.to_excel(path, sheet_name="actual_flows", index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def test_targets_are_projected_from_the_reported_years(jjj, tmp_path):
    """40 Mt of tailings utilized in 2020 and 50 Mt in 2021: the 2022 ISW target (800 Mt) is
    projected on the least-squares line to 60 Mt — at risk, 740 Mt short."""
    path = manifests(tmp_path, [("LD-1", 2020, MINE, PLANT, "tailings", "road_diesel", 40e6),
                                ("LD-2", 2021, MINE, PLANT, "tailings", "road_diesel", 30e6),
                                ("LD-3", 2021, MINE, PLANT, "tailings", "rail", 20e6)])
    flows = load_actual_flows(path, jjj)
    assert flows["distance_km"].gt(0).all()  # filled from coordinates for tonne-km
    m = monitor_actuals(flows, jjj)
    row = m.table.set_index("indicator").loc["isw_utilized"]
    assert row["status"] == "at_risk"
    assert row["projected"] == pytest.approx(60e6)
    assert row["shortfall"] == pytest.approx(740e6)
    assert "least-squares" in row["method_en"]
    traj = m.trajectory[m.trajectory["id"] == row["id"]].set_index("year")["value"]
    assert traj.loc[2020] == pytest.approx(40e6) and traj.loc[2021] == pytest.approx(50e6)
    assert "存在风险" in m.status_text("zh") or "风险" in m.status_text("zh")


def test_a_reported_target_year_is_met_or_missed_not_projected(jjj, tmp_path):
    path = manifests(tmp_path, [("LD-9", 2022, MINE, PLANT, "tailings", "", 5e6)], "f.xlsx")
    m = monitor_actuals(load_actual_flows(path, jjj), jjj)
    row = m.table.set_index("indicator").loc["isw_utilized"]
    assert row["status"] == "missed" and row["value"] == pytest.approx(5e6)
    assert pd.isna(row["projected"])


def test_bad_records_are_all_named_and_nothing_loads(jjj, tmp_path):
    path = manifests(tmp_path, [("LD-1", 2021, MINE, "S-nowhere", "tailings", "road_diesel", 1e6),
                                ("LD-2", 2021, MINE, PLANT, "tailings", "road_diesel", -5),
                                ("LD-3", 2021, MINE, PLANT, "kryptonite", "truck", 1e6)])
    with pytest.raises(ScenarioError) as err:
        load_actual_flows(path, jjj)
    found = {(i.code, i.row, i.column) for i in err.value.issues}
    assert ("below_min", 3, "t") in found
    # references are checked once the cells are clean; fix the tonnage and see them
    path = manifests(tmp_path, [("LD-1", 2021, MINE, "S-nowhere", "tailings", "road_diesel", 1e6),
                                ("LD-3", 2021, MINE, PLANT, "kryptonite", "truck", 1e6)])
    with pytest.raises(ScenarioError) as err:
        load_actual_flows(path, jjj)
    found = {(i.code, i.row, i.column, i.value) for i in err.value.issues}
    assert found == {("unknown_ref", 2, "to_site", "S-nowhere"), ("unknown_ref", 3, "material", "kryptonite"),
                     ("unknown_ref", 3, "mode", "truck")}


def test_monitor_command(tmp_path):
    path = manifests(tmp_path, [("LD-1", 2020, MINE, PLANT, "tailings", "road_diesel", 40e6),
                                ("LD-2", 2021, MINE, PLANT, "tailings", "rail", 50e6)])
    res = runner.invoke(app, ["monitor", str(path), "--json", "--lang", "en"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["counts"]["at_risk"] >= 1 and len(doc["targets"]) == len(catalog.table("targets"))
    res = runner.invoke(app, ["monitor", str(path)])
    assert res.exit_code == 0 and "目标完成情况" in res.stdout and "预测值" in res.stdout
    bad = manifests(tmp_path, [("LD-1", 2021, MINE, PLANT, "tailings", "road_diesel", "lots")], "bad.csv")
    res = runner.invoke(app, ["monitor", str(bad), "--lang", "en"])
    assert res.exit_code == 1 and "bad.csv, row 2, column t, value 'lots': expected a number" in res.output
