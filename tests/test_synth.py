"""Synthetic scenarios: valid, reproducible, structured, plannable."""

from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from resynergy import synth
from resynergy.cli.synth import synth as synth_command
from resynergy.planner import solve
from resynergy.scenario import Scenario


def test_synthetic_scenario_is_valid_and_reproducible():
    a = synth.scenario(200, seed=3)
    b = synth.scenario(200, seed=3)
    c = synth.scenario(200, seed=4)
    assert len(a.table("sites")) == 200
    for t in ("sites", "supplies", "facilities", "demands", "terminals"):
        pd.testing.assert_frame_equal(a.table(t), b.table(t))
    assert not a.table("supplies").equals(c.table("supplies"))


def test_synthetic_structure_looks_like_the_region():
    s = synth.scenario(600, seed=1)
    sites = s.table("sites")
    roles = sites["roles"].str.split(";").explode().value_counts()
    assert roles["generator"] > roles["demand"] > roles["facility"] > roles["terminal"] >= 2
    # demand leans to Beijing/Tianjin, generation to the industrial provinces
    dem_sites = sites.set_index("id").loc[s.table("demands")["site"].unique(), "region"]
    gen_sites = sites.set_index("id").loc[s.table("supplies")["site"].unique(), "region"]
    assert dem_sites.isin(["110000", "120000"]).mean() > gen_sites.isin(["110000", "120000"]).mean()
    fac = s.table("facilities")
    assert 0.05 < fac["candidate"].mean() < 0.4
    # every supplied material is an input of some facility's process
    pio = s.table("process_io")
    used = set(pio[(pio["direction"] == "in") & pio["process"].isin(fac["process"])]["material"])
    assert set(s.table("supplies")["material"]) <= used


def test_synthetic_multi_year_grows():
    s = synth.scenario(100, seed=2, years=(2021, 2022))
    assert s.years == [2021, 2022]
    g = s.table("supplies").groupby("year")["generation_t"].sum()
    assert g[2022] > g[2021]


def test_synthetic_scenario_plans():
    plan = solve(synth.scenario(150, seed=5))
    assert plan.status == "optimal"
    assert plan.balance_residual < 1e-6
    assert plan.activity["input_t"].sum() > 0


def test_too_few_sites_are_refused():
    with pytest.raises(ValueError, match="at least 10"):
        synth.synthesize(5)


def test_cli_writes_a_loadable_scenario(tmp_path):
    app = typer.Typer()
    app.command()(synth_command)
    out = tmp_path / "s"
    res = CliRunner().invoke(app, ["--sites", "50", "--seed", "7", str(out), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "50 sites" in res.output
    s = Scenario.load(out)
    assert len(s.table("sites")) == 50
    again = CliRunner().invoke(app, ["--sites", "50", str(out)])
    assert again.exit_code == 2  # refuses to overwrite a non-empty folder
